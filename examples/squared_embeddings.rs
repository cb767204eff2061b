//! The partition function of a squared circuit, whose outer product is never
//! formed: the case that made cirkit add its sum/outer-product rule.
//!
//! `c(x) = Σ_k w[k] Π_f E[f, k, x_f]` is a shallow circuit over 16
//! variables with 256 states each (a 4×4 patch of 8-bit pixels): one
//! embedding (categorical) input layer with 32 units per variable, whose
//! values may be negative, a product layer across the variables, and a sum
//! layer. Squaring it gives a distribution `p(x) = c(x)² / Z` (a subtractive
//! mixture). The input layer of `c · c` is the product of two embedding
//! layers, `E[f, k, v] · E[f, l, v]` with 32² units, and integrating it over
//! `v` is `reduce_sum(outer_product(e, e, axis = 1), axis = 2)`: the optimizer
//! turns that into one contraction, the Gram matrix of each variable's
//! embeddings, and the (16, 1024, 256) outer product never exists.
//!
//! ```sh
//! cargo run --release --example squared_embeddings
//! ```

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    /// `Z = Σ_x c(x)²` for 16 variables, 32 units, 256 states.
    pub fn squared_partition(e: &[SMatrix<f64, 32, 256>; 16], w: &SVector<f64, 32>) -> f64 {
        // Input layer of c·c, integrated over each variable: (16, 32·32).
        let gram = reduce_sum(outer_product(e, e, axis = 1), axis = 2);
        // Product layer across the variables, then the squared sum layer w ⊗ w.
        let product = reduce_prod(gram, axis = 0);
        reduce_sum(hadamard(outer_product(w, w, axis = 0), product), axis = 0)
    }

    /// The same graph compiled as written. Never called: its plan says how
    /// much stack it would need.
    #[param_graph(optimize = false)]
    #[allow(dead_code)]
    pub fn squared_partition_unfused(e: &[SMatrix<f64, 32, 256>; 16], w: &SVector<f64, 32>) -> f64 {
        let gram = reduce_sum(outer_product(e, e, axis = 1), axis = 2);
        let product = reduce_prod(gram, axis = 0);
        reduce_sum(hadamard(outer_product(w, w, axis = 0), product), axis = 0)
    }

    /// The same circuit, small enough to enumerate: 3 variables, 4 units,
    /// 5 states.
    pub fn small_partition(e: &[SMatrix<f64, 4, 5>; 3], w: &SVector<f64, 4>) -> f64 {
        let gram = reduce_sum(outer_product(e, e, axis = 1), axis = 2);
        let product = reduce_prod(gram, axis = 0);
        reduce_sum(hadamard(outer_product(w, w, axis = 0), product), axis = 0)
    }

    #[param_graph(optimize = false)]
    pub fn small_partition_unfused(e: &[SMatrix<f64, 4, 5>; 3], w: &SVector<f64, 4>) -> f64 {
        let gram = reduce_sum(outer_product(e, e, axis = 1), axis = 2);
        let product = reduce_prod(gram, axis = 0);
        reduce_sum(hadamard(outer_product(w, w, axis = 0), product), axis = 0)
    }
}

/// A deterministic pseudo-random number in `[-1, 1)` (splitmix64).
fn noise(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// Embeddings of `F` variables, built on the heap (1 MB at full size).
fn embeddings<const F: usize, const K: usize, const V: usize>(
    scale: f64,
) -> Box<[SMatrix<f64, K, V>; F]> {
    let folds: Vec<SMatrix<f64, K, V>> = (0..F)
        .map(|f| SMatrix::from_fn(|k, v| scale * noise(((f * K + k) * V + v) as u64)))
        .collect();
    folds.into_boxed_slice().try_into().expect("F folds")
}

/// `c(x) = Σ_k w[k] Π_f E[f, k, x_f]`.
fn circuit<const F: usize, const K: usize, const V: usize>(
    e: &[SMatrix<f64, K, V>; F],
    w: &SVector<f64, K>,
    x: &[usize; F],
) -> f64 {
    (0..K)
        .map(|k| w[k] * (0..F).map(|f| e[f][(k, x[f])]).product::<f64>())
        .sum()
}

/// The buffer bytes a call uses, from its plan's summary: the stack buffers
/// plus the workspace.
fn buffer_bytes(plan: &str) -> f64 {
    let figure = |label: &str| -> f64 {
        let tail = plan.rsplit(label).next().expect("plan summary");
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().expect("a byte count")
    };
    figure("stack buffers: ") + figure("workspace: ")
}

pub fn main() {
    println!("== Plan of squared_partition ==\n");
    println!("{SQUARED_PARTITION_PLAN}\n");

    let outer_bytes = (16 * 32 * 32 * 256 * 8) as f64;
    println!("== Memory ==\n");
    println!(
        "outer product of the two embedding layers, (16, 1024, 256) f64: {:.1} MB",
        outer_bytes / 1e6
    );
    println!(
        "buffers (stack and workspace), optimize = false: {:.1} MB; optimized: {:.1} kB\n",
        buffer_bytes(SQUARED_PARTITION_UNFUSED_PLAN) / 1e6,
        buffer_bytes(SQUARED_PARTITION_PLAN) / 1e3
    );
    assert!(buffer_bytes(SQUARED_PARTITION_UNFUSED_PLAN) >= outer_bytes);
    assert!(buffer_bytes(SQUARED_PARTITION_PLAN) < outer_bytes / 100.0);

    // Scaled so that Σ_v E[f, k, v]² is about 1.
    let e = embeddings::<16, 32, 256>(0.1);
    let w = SVector::<f64, 32>::from_fn(|k, _| noise(1_000_000 + k as u64));
    let z = squared_partition(&e, &w);

    // The same number from each variable's Gram matrix E_f · E_fᵀ.
    let mut product = SMatrix::<f64, 32, 32>::repeat(1.0);
    for e_f in e.iter() {
        product.component_mul_assign(&(e_f * e_f.transpose()));
    }
    let direct = (w.transpose() * product * w)[(0, 0)];
    let rel = (z - direct).abs() / direct.abs();
    println!("== 16 variables × 256 states, 32 units ==\n");
    println!(
        "Z = {z:.12e} (from the Gram matrices E_f·E_fᵀ: {direct:.12e}, relative diff {rel:.1e})"
    );
    assert!(rel < 1e-12, "Z disagrees with the Gram matrices: {rel}");

    let x: [usize; 16] = std::array::from_fn(|f| (f * 37 + 11) % 256);
    let c = circuit(&e, &w, &x);
    println!(
        "an image patch x: c(x) = {c:.6e}, log p(x) = log c(x)² − log Z = {:.4}\n",
        (c * c).ln() - z.ln()
    );

    // Small enough to sum c(x)² over every assignment, and to run unfused.
    let es = embeddings::<3, 4, 5>(0.8);
    let ws = SVector::<f64, 4>::new(1.0, -0.7, 0.4, -0.2);
    let zs = small_partition(&es, &ws);
    let zs_unfused = small_partition_unfused(&es, &ws);
    let mut enumerated = 0.0;
    for a in 0..5 {
        for b in 0..5 {
            for c in 0..5 {
                enumerated += circuit(&es, &ws, &[a, b, c]).powi(2);
            }
        }
    }
    println!("== 3 variables × 5 states, 4 units: enumerated ==\n");
    println!("Z                             = {zs:.15}");
    println!("Z, optimize = false           = {zs_unfused:.15}");
    println!("Σ_x c(x)² over 125 assignments = {enumerated:.15}");
    assert!((zs - enumerated).abs() < 1e-12 * enumerated);
    assert!((zs - zs_unfused).abs() < 1e-12 * enumerated);
    println!("\nall checks passed");
}
