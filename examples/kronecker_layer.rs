//! A sum layer whose weight is a Kronecker product of two small stochastic
//! matrices (a Monarch-style structured layer), evaluated by the tensor-dot
//! trick and compared against the dense weight.
//!
//! The layer maps 256 input units to 64 output units with weight
//! `W = softmax(θ_A) ⊗ softmax(θ_B)`, `A, B: 8×16`: every row of `W` sums to 1,
//! so the layer mixes normalized inputs into normalized outputs, yet it holds
//! 256 parameters instead of 16 384. Its inputs are the 16 × 16 units of a
//! Kronecker (Tucker) product layer over two variable groups, given as log-
//! likelihoods far below `log(1)`, so the layer runs in log space the way
//! cirkit's log-sum-exp semiring does: the caller shifts each column by its
//! maximum, the graph computes `log(W · exp(x − m))`, and the caller adds `m`
//! back. The optimizer rewrites `matmul(kron(a, b), x)` so that `W` is
//! never formed.
//!
//! ```sh
//! cargo run --release --example kronecker_layer
//! ```

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use param_graph::runtime::Kron;

param_graph! {
    /// Rows (output units) and columns (input units) of each factor.
    pub const ROWS: usize = 8;
    pub const COLS: usize = 16;
    /// Columns of the batch.
    pub const BATCH: usize = 4;

    /// The layer on a batch of `BATCH` max-shifted log-input columns.
    pub fn kron_sum_layer(theta_a: &SMatrix<f64, ROWS, COLS>, theta_b: &SMatrix<f64, ROWS, COLS>, x: &SMatrix<f64, { COLS * COLS }, BATCH>) -> SMatrix<f64, { ROWS * ROWS }, BATCH> {
        let w = kron(softmax(theta_a, axis = 1), softmax(theta_b, axis = 1));
        log(matmul(w, exp(x)))
    }

    /// The same graph as written: it forms the 64 × 256 weight.
    #[param_graph(optimize = false)]
    pub fn kron_sum_layer_dense(theta_a: &SMatrix<f64, ROWS, COLS>, theta_b: &SMatrix<f64, ROWS, COLS>, x: &SMatrix<f64, { COLS * COLS }, BATCH>) -> SMatrix<f64, { ROWS * ROWS }, BATCH> {
        let w = kron(softmax(theta_a, axis = 1), softmax(theta_b, axis = 1));
        log(matmul(w, exp(x)))
    }

    /// Only the weight, kept factored for a layer that applies it itself.
    pub fn kron_weight(theta_a: &SMatrix<f64, ROWS, COLS>, theta_b: &SMatrix<f64, ROWS, COLS>) -> Kron<f64, ROWS, COLS, ROWS, COLS> {
        kron(softmax(theta_a, axis = 1), softmax(theta_b, axis = 1))
    }
}

/// A deterministic pseudo-random number in `[0, 1)`.
fn unit(seed: usize) -> f64 {
    ((seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64
}

/// `log Σ exp(v)`, shifted by the maximum.
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = values.clone().fold(f64::NEG_INFINITY, f64::max);
    m + values.map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Each column minus its maximum, and the maxima.
fn shift_columns(
    x: &SMatrix<f64, { COLS * COLS }, BATCH>,
) -> (SMatrix<f64, { COLS * COLS }, BATCH>, SVector<f64, BATCH>) {
    let m = SVector::<f64, BATCH>::from_fn(|b, _| x.column(b).max());
    (SMatrix::from_fn(|i, b| x[(i, b)] - m[b]), m)
}

pub fn main() {
    println!("== Plan of kron_sum_layer ==\n");
    println!("{KRON_SUM_LAYER_PLAN}\n");

    let theta_a = SMatrix::<f64, ROWS, COLS>::from_fn(|i, j| 4.0 * unit(i * 16 + j) - 2.0);
    let theta_b = SMatrix::<f64, ROWS, COLS>::from_fn(|k, l| 4.0 * unit(500 + k * 16 + l) - 2.0);

    // Log-likelihoods of two 16-unit layers over disjoint variable groups, a
    // batch of 4, and their Kronecker product layer: x[j·16 + l] = u[j] + v[l].
    let u = SMatrix::<f64, COLS, BATCH>::from_fn(|j, b| -900.0 + 50.0 * unit(1000 + j * 4 + b));
    let v = SMatrix::<f64, COLS, BATCH>::from_fn(|l, b| -700.0 + 50.0 * unit(2000 + l * 4 + b));
    let x = SMatrix::<f64, { COLS * COLS }, BATCH>::from_fn(|i, b| u[(i / 16, b)] + v[(i % 16, b)]);
    let (shifted, m) = shift_columns(&x);

    // Log outputs relative to each column's shift, then absolute.
    let ys = kron_sum_layer(&theta_a, &theta_b, &shifted);
    let y = SMatrix::<f64, { ROWS * ROWS }, BATCH>::from_fn(|r, b| ys[(r, b)] + m[b]);
    println!("== Batch of 4, inputs around {:.0} ==\n", x.mean());
    for b in 0..4 {
        println!(
            "sample {b}: log outputs {:.4}, {:.4}, …, {:.4}",
            y[(0, b)],
            y[(1, b)],
            y[(63, b)]
        );
    }
    let naive = kron_sum_layer(&theta_a, &theta_b, &x);
    println!(
        "without the shift: {} (exp of every input underflows)\n",
        naive[(0, 0)]
    );
    assert_eq!(naive[(0, 0)], f64::NEG_INFINITY);

    // The dense weight, three ways, all on the shifted inputs.
    let ys_dense = kron_sum_layer_dense(&theta_a, &theta_b, &shifted);
    let w = kron_weight(&theta_a, &theta_b);
    let dense: SMatrix<f64, { ROWS * ROWS }, { COLS * COLS }> = w.to_dense();
    let log_w = dense.map(f64::ln);
    let ys_lse = SMatrix::<f64, { ROWS * ROWS }, BATCH>::from_fn(|r, b| {
        log_sum_exp((0..256).map(|i| log_w[(r, i)] + shifted[(i, b)]))
    });
    let mixed: SMatrix<f64, { ROWS * ROWS }, BATCH> = w.mul_mat(&shifted.map(f64::exp));
    let ys_mul = mixed.map(f64::ln);
    let d1 = (ys - ys_dense).abs().max();
    let d2 = (ys - ys_lse).abs().max();
    let d3 = (ys - ys_mul).abs().max();
    println!("== Tensor-dot trick vs. the dense 64 × 256 weight (max |diff| of log outputs) ==\n");
    println!("graph with optimize = false (forms A ⊗ B):          {d1:e}");
    println!("log-sum-exp over log(to_dense()) in plain Rust:     {d2:e}");
    println!("Kron::mul_mat on the factors returned by a graph:   {d3:e}");
    assert!(
        d1.max(d2).max(d3) < 1e-13,
        "the trick disagrees with the dense weight"
    );

    // Row sums of A ⊗ B are products of row sums of A and B: all 1.
    let worst_row = dense
        .row_iter()
        .map(|r| (r.sum() - 1.0).abs())
        .fold(0.0, f64::max);
    println!("\nevery row of A ⊗ B sums to 1: max |Σ − 1| = {worst_row:e}");
    assert!(worst_row < 1e-14);

    // (A ⊗ B)(p ⊗ q) = (A p) ⊗ (B q): the layer factorizes on Kronecker inputs.
    let (a, b) = (w.a, w.b);
    let mut worst_factor: f64 = 0.0;
    for s in 0..4 {
        let (mu, mv) = (u.column(s).max(), v.column(s).max());
        let left = (a * u.column(s).add_scalar(-mu).map(f64::exp)).map(f64::ln);
        let right = (b * v.column(s).add_scalar(-mv).map(f64::exp)).map(f64::ln);
        for r in 0..64 {
            let want = left[r / 8] + mu + right[r % 8] + mv;
            worst_factor = worst_factor.max((y[(r, s)] - want).abs());
        }
    }
    println!("log((A p) ⊗ (B q)) on the product-layer inputs: max |diff| = {worst_factor:e}");
    assert!(worst_factor < 1e-10);

    println!("\n== Cost per input column ==\n");
    println!("dense:       64 · 256 = 16384 multiply-adds, 16384 weights");
    println!("tensor-dot:  8·16·16 + 8·16·8 = 3072 multiply-adds, 2 · 128 = 256 weights");
    println!("\nall checks passed");
}
