//! The README's main example: compiles three parameter graphs, prints their
//! plans, evaluates them, shows the case where the unfused graph gives `-inf`
//! and the fused one stays finite, fits a sum layer's weights by gradient
//! descent with the generated VJP, and times optimized against
//! `optimize = false`.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use std::hint::black_box;
use std::time::Instant;

param_graph! {
    /// Outputs and inputs of the sum layer.
    pub const OUTPUTS: usize = 3;
    pub const INPUTS: usize = 4;
    /// Folds, units and categories of the two categorical layers.
    pub const FOLDS: usize = 4;
    pub const UNITS: usize = 8;
    pub const CATEGORIES: usize = 32;
    /// Side of each Kronecker factor, and the batch it is applied to.
    pub const SIDE: usize = 8;
    pub const BATCH: usize = 4;

    /// Log-normalized weights of a sum layer with `OUTPUTS` outputs and
    /// `INPUTS` inputs, with its VJP (`log_weights_vjp`) for training.
    #[param_graph(vjp)]
    pub fn log_weights(theta: &SMatrix<f64, OUTPUTS, INPUTS>) -> SMatrix<f64, OUTPUTS, INPUTS> {
        let p = softmax(theta, axis = 1);
        log(p)
    }

    /// The same graph compiled as written: the honest baseline.
    #[param_graph(optimize = false)]
    pub fn log_weights_unfused(theta: &SMatrix<f64, OUTPUTS, INPUTS>) -> SMatrix<f64, OUTPUTS, INPUTS> {
        let p = softmax(theta, axis = 1);
        log(p)
    }

    /// Partition function of a product of two categorical layers (a squared
    /// circuit's normalizer): the outer product is never formed.
    pub fn partition(
        a: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
        b: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
    ) -> [SVector<f64, CATEGORIES>; FOLDS] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }

    #[param_graph(optimize = false)]
    pub fn partition_unfused(
        a: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
        b: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
    ) -> [SVector<f64, CATEGORIES>; FOLDS] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }

    /// A Kronecker-structured weight applied to a batch, by the tensor-dot
    /// trick: `A ⊗ B` has `SIDE * SIDE` rows and columns.
    pub fn kron_layer(
        a: &SMatrix<f64, SIDE, SIDE>,
        b: &SMatrix<f64, SIDE, SIDE>,
        x: &SMatrix<f64, { SIDE * SIDE }, BATCH>,
    ) -> SMatrix<f64, { SIDE * SIDE }, BATCH> {
        matmul(kron(a, b), x)
    }
}

/// Median nanoseconds per call of `f` over `rounds` rounds of `iters` calls.
fn time_ns(mut f: impl FnMut(), iters: u32) -> f64 {
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

pub fn main() {
    println!("== Plans (also in each fn's rustdoc) ==\n");
    println!("log_weights:\n{LOG_WEIGHTS_PLAN}\n");
    println!("log_weights_unfused:\n{LOG_WEIGHTS_UNFUSED_PLAN}\n");
    println!("partition:\n{PARTITION_PLAN}\n");
    println!("kron_layer:\n{KRON_LAYER_PLAN}\n");

    println!("== Evaluation ==\n");
    let theta = SMatrix::<f64, OUTPUTS, INPUTS>::from_row_slice(&[
        0.5, -1.0, 2.0, 0.0, //
        1.0, 1.0, 1.0, 1.0, //
        -3.0, 0.25, 0.75, 2.5,
    ]);
    let w = log_weights(&theta);
    println!("log_weights(theta) ={w}");
    let row_sums: Vec<f64> = (0..OUTPUTS).map(|i| w.row(i).map(f64::exp).sum()).collect();
    println!("each row of exp(log_weights) sums to 1: {row_sums:?}\n");

    println!("== Extreme logits: where fusion matters ==\n");
    let extreme = SMatrix::<f64, OUTPUTS, INPUTS>::from_row_slice(&[
        0.0, -1000.0, 5.0, 800.0, //
        -3.0, -3.0, -3.0, 10000.0, //
        1.0, 2.0, 3.0, 4.0,
    ]);
    println!(
        "fused   (default)       row 0: {:?}",
        log_weights(&extreme).row(0).iter().collect::<Vec<_>>()
    );
    println!(
        "unfused (optimize=false) row 0: {:?}",
        log_weights_unfused(&extreme)
            .row(0)
            .iter()
            .collect::<Vec<_>>()
    );
    println!("(cirkit's optimizer gives the finite values; its unoptimized graph gives -inf)\n");

    let a: [SMatrix<f64, UNITS, CATEGORIES>; FOLDS] =
        std::array::from_fn(|f| SMatrix::from_fn(|i, j| ((f + i * 3 + j) % 7) as f64 / 7.0));
    let b: [SMatrix<f64, UNITS, CATEGORIES>; FOLDS] =
        std::array::from_fn(|f| SMatrix::from_fn(|i, j| ((f * 2 + i + j) % 5) as f64 / 5.0));
    let z = partition(&a, &b);
    let z_unfused = partition_unfused(&a, &b);
    let diff = z
        .iter()
        .zip(&z_unfused)
        .map(|(p, q)| (p - q).abs().max())
        .fold(0.0, f64::max);
    println!("partition: fused and unfused agree to {diff:e}");

    let ka = SMatrix::<f64, SIDE, SIDE>::from_fn(|i, j| ((i + 2 * j) % 5) as f64 - 2.0);
    let kb = SMatrix::<f64, SIDE, SIDE>::from_fn(|i, j| ((3 * i + j) % 4) as f64 * 0.5);
    let x = SMatrix::<f64, { SIDE * SIDE }, BATCH>::from_fn(|i, j| ((i * 4 + j) % 9) as f64 * 0.1);
    let y = kron_layer(&ka, &kb, &x);
    println!(
        "kron_layer: max |tensor-dot − dense| = {:e}\n",
        (y - ka.kronecker(&kb) * x).abs().max()
    );

    println!("== Gradients: fitting the weights by gradient descent ==\n");
    // Cross-entropy to a target distribution per row, L = −Σ t ⊙ log_weights(θ):
    // its cotangent with respect to log_weights is −t, and log_weights_vjp
    // turns that into ∂L/∂θ = softmax(θ)·Σt − t.
    let target = SMatrix::<f64, OUTPUTS, INPUTS>::from_row_slice(&[
        0.1, 0.2, 0.3, 0.4, //
        0.25, 0.25, 0.25, 0.25, //
        0.7, 0.1, 0.1, 0.1,
    ]);
    let cotangent = -target;
    let loss =
        |theta: &SMatrix<f64, OUTPUTS, INPUTS>| -target.component_mul(&log_weights(theta)).sum();
    let mut fit = SMatrix::<f64, OUTPUTS, INPUTS>::zeros();
    let mut grad = SMatrix::<f64, OUTPUTS, INPUTS>::zeros();
    let first = loss(&fit);
    for step in 0..=200 {
        if step % 50 == 0 {
            println!("step {step:3}: loss {:.6}", loss(&fit));
        }
        log_weights_vjp_into(&fit, &cotangent, &mut grad);
        fit -= 2.0 * grad;
    }
    let fitted = log_weights(&fit).map(f64::exp);
    let error = (fitted - target).abs().max();
    println!("softmax(θ) after 200 steps is the target to {error:.1e}\n");
    assert!(
        loss(&fit) < first && error < 1e-6,
        "gradient descent converges"
    );

    println!("== Quick timing (median per call; see `cargo bench` for the real numbers) ==\n");
    let t_fused = time_ns(
        || {
            black_box(log_weights(black_box(&theta)));
        },
        20_000,
    );
    let t_unfused = time_ns(
        || {
            black_box(log_weights_unfused(black_box(&theta)));
        },
        20_000,
    );
    println!(
        "log_weights 3×4:        optimized {t_fused:8.1} ns   optimize=false {t_unfused:8.1} ns"
    );
    let t_fused = time_ns(
        || {
            black_box(partition(black_box(&a), black_box(&b)));
        },
        2_000,
    );
    let t_unfused = time_ns(
        || {
            black_box(partition_unfused(black_box(&a), black_box(&b)));
        },
        200,
    );
    println!("partition 4×8×32:       optimized {t_fused:8.1} ns   optimize=false {t_unfused:8.1} ns   ({:.0}× faster)", t_unfused / t_fused);
}
