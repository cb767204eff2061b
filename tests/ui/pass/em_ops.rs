//! The EM ops and scalar broadcasting, compiled and run under
//! `deny(warnings)`, with their VJPs.
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    /// An M-step: the old weights kept by `keep`, the normalized flows plus
    /// a pseudocount mixed in by `eta`.
    #[param_graph(vjp)]
    fn m_step(keep: f64, w: &SMatrix<f64, 2, 3>, eta: f64, flows: &SMatrix<f64, 2, 3>, alpha: f64) -> SMatrix<f64, 2, 3> {
        add(hadamard(keep, w), hadamard(eta, normalize(add(flows, alpha), axis = 1)))
    }

    #[param_graph(vjp)]
    fn binary(a: &SVector<f32, 3>, b: &SVector<f32, 3>) -> (SVector<f32, 3>, SVector<f32, 3>, SVector<f32, 3>, SVector<f32, 3>, SVector<f32, 3>) {
        (div(a, b), maximum(a, b), minimum(a, b), logaddexp(a, b), sqrt(b))
    }

    fn scalar_left(s: &f64, x: &SVector<f64, 2>) -> SVector<f64, 2> {
        div(s, x)
    }
}

fn main() {
    let w = SMatrix::<f64, 2, 3>::new(0.2, 0.3, 0.5, 0.1, 0.1, 0.8);
    let flows = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 1.0, 0.0, 3.0, 1.0);
    let out = m_step(0.5, &w, 0.5, &flows, 0.0);
    // Rows still sum to 1: a convex mix of two distributions.
    for i in 0..2 {
        assert!((out.row(i).sum() - 1.0).abs() < 1e-15);
    }
    assert!((out[(0, 1)] - (0.5 * 0.3 + 0.5 * 0.5)).abs() < 1e-15);
    // ∂/∂eta of Σ out = Σ (normalized − ...) rows: Σ normalized = 2.
    let ones = SMatrix::<f64, 2, 3>::repeat(1.0);
    let (d_keep, _, d_eta, _, d_alpha) = m_step_vjp(0.5, &w, 0.5, &flows, 0.0, &ones);
    assert!((d_keep - w.sum()).abs() < 1e-15 && (d_eta - 2.0).abs() < 1e-15);
    // Normalized rows sum to 1 whatever alpha is: no gradient.
    assert!(d_alpha.abs() < 1e-15);
    let (a, b) = (SVector::<f32, 3>::new(1.0, 4.0, -1.0), SVector::<f32, 3>::new(2.0, 4.0, 9.0));
    let (q, hi, lo, lse, r) = binary(&a, &b);
    assert_eq!((q[0], hi[2], lo[2], r[2]), (0.5, 9.0, -1.0, 3.0));
    assert!((lse[1] - (4.0 + 2f32.ln())).abs() < 1e-6);
    let ct = SVector::<f32, 3>::repeat(1.0);
    let (da, db) = binary_vjp(&a, &b, (&ct, &ct, &ct, &ct, &ct));
    // At the tie a = b = 4, maximum and minimum each give half to both.
    assert!((da[1] - (1.0 / 4.0 + 0.5 + 0.5 + 0.5)).abs() < 1e-6);
    assert!(db[1].is_finite());
    assert_eq!(scalar_left(&1.0, &SVector::<f64, 2>::new(2.0, 4.0)), SVector::<f64, 2>::new(0.5, 0.25));
}
