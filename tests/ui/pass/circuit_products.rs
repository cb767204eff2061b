//! cirkit's circuit-product ops compile without warnings: as results, as
//! intermediates, shared (optimized) and as written, and the derivative that
//! vanishes (a buffer of zeros nothing writes).
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn mixing(v: &SMatrix<f64, 3, 2>) -> (SMatrix<f64, 3, 6>, SVector<f64, 3>) {
        let w = mixing_weight(v);
        (w, reduce_sum(w, axis = 1))
    }

    fn gaussians(m1: &SVector<f32, 3>, s1: &SVector<f32, 3>, m2: &[f32; 2], s2: &[f32; 2])
        -> (SVector<f32, 6>, [f32; 6], SVector<f32, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            exp(gaussian_product_log_partition(m1, s1, m2, s2)),
        )
    }

    #[param_graph(optimize = false)]
    fn gaussians_as_written(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &[f64; 2], s2: &[f64; 2])
        -> (SVector<f64, 6>, [f64; 6]) {
        (gaussian_product_mean(m1, s1, m2, s2), gaussian_product_stddev(s1, s2))
    }

    fn polynomials(p: &SMatrix<f64, 2, 3>, q: &[[f64; 2]; 3]) -> (SMatrix<f64, 6, 4>, SMatrix<f64, 6, 1>, [[f64; 1]; 6]) {
        let pq = polynomial_product(p, q);
        let gone = polynomial_differential(pq, order = 4);
        (pq, gone, add(gone, polynomial_differential(pq, order = 3)))
    }
}

fn main() {
    let (w, sums) = mixing(&SMatrix::from_fn(|i, j| (i * 2 + j) as f64));
    assert_eq!(w[(2, 2 + 3)], 5.0);
    assert_eq!(sums[1], 2.0 + 3.0);

    let (m, s, z) = gaussians(
        &SVector::repeat(0.5),
        &SVector::repeat(1.0),
        &[0.5, 0.5],
        &[1.0, 1.0],
    );
    assert_eq!(m, SVector::<f32, 6>::repeat(0.5));
    assert!(s.iter().all(|v| (v - 0.5f32.sqrt()).abs() < 1e-6));
    assert!(z.iter().all(|v| (v - 1.0 / (4.0 * std::f32::consts::PI).sqrt()).abs() < 1e-6));

    let (m, s) = gaussians_as_written(&SVector::repeat(1.0), &SVector::repeat(3.0), &[1.0; 2], &[4.0; 2]);
    assert_eq!((m[0], s[0]), (1.0, 2.4));

    let (pq, gone, top) = polynomials(&SMatrix::repeat(1.0), &[[1.0, 1.0]; 3]);
    // (1 + x + x²)(1 + x) = 1 + 2x + 2x² + x³.
    assert_eq!(pq.row(0).iter().copied().collect::<Vec<_>>(), [1.0, 2.0, 2.0, 1.0]);
    assert_eq!(gone, SMatrix::<f64, 6, 1>::zeros());
    assert_eq!(top, [[6.0]; 6]);
}
