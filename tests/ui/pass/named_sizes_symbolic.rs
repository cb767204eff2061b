//! Sizes only rustc knows: constants outside the block (by name and by
//! path), and const generic parameters instantiated at several sizes; with
//! `vjp`, `_into` and `_with`, a `Kron` result, and a relation between two
//! sizes the macro asserts at compile time.
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use param_graph::runtime::Kron;

/// Units per layer.
pub const UNITS: usize = 6;

mod sizes {
    /// Categories per input.
    pub const CATEGORIES: usize = 5;
    pub const SIDE: usize = 2;
}

param_graph! {
    #[param_graph(vjp)]
    fn layer(theta: &SMatrix<f64, UNITS, { sizes::CATEGORIES }>) -> SMatrix<f64, UNITS, { sizes::CATEGORIES }> {
        log(softmax(theta, axis = 1))
    }

    fn pairs(a: &SVector<f64, UNITS>, b: &SVector<f64, { sizes::CATEGORIES }>) -> SVector<f64, { UNITS * sizes::CATEGORIES }> {
        outer_product(a, b, axis = 0)
    }

    fn ends(a: &SMatrix<f64, UNITS, 3>) -> SMatrix<f64, 2, 3> {
        index(a, [0, 5], axis = 0)
    }

    #[param_graph(vjp)]
    fn generic_layer<const K: usize, const C: usize>(theta: &SMatrix<f64, K, C>) -> SMatrix<f64, K, C> {
        log(softmax(theta, axis = 1))
    }

    /// `KC` is `K * C`: asserted for each instance.
    fn generic_pairs<const K: usize, const C: usize, const KC: usize>(a: &SVector<f64, K>, b: &SVector<f64, C>) -> SVector<f64, KC> {
        outer_product(a, b, axis = 0)
    }

    /// The last row of any matrix: a position may be a difference.
    fn last_row<const N: usize, const C: usize>(x: &SMatrix<f64, N, C>) -> SMatrix<f64, 1, C> {
        index(x, [N - 1], axis = 0)
    }

    fn generic_kron<const P: usize>(a: &SMatrix<f64, P, P>, b: &SMatrix<f64, { sizes::SIDE }, 1>) -> Kron<f64, P, P, { sizes::SIDE }, 1> {
        kron(exp(a), b)
    }
}

fn main() {
    let theta = SMatrix::<f64, UNITS, { sizes::CATEGORIES }>::from_fn(|i, j| (i + j) as f64);
    let w = layer(&theta);
    assert!((w.row(2).map(f64::exp).sum() - 1.0).abs() < 1e-12);
    let ct = SMatrix::<f64, UNITS, { sizes::CATEGORIES }>::from_element(1.0);
    let g = layer_vjp(&theta, &ct);
    assert!(g.row(1).sum().abs() < 1e-12);
    let mut out = SMatrix::<f64, UNITS, { sizes::CATEGORIES }>::zeros();
    let mut ws = LayerWorkspace::new();
    layer_with(&theta, &mut ws, &mut out);
    assert_eq!(out, w);

    let a = SVector::<f64, UNITS>::from_element(2.0);
    let b = SVector::<f64, { sizes::CATEGORIES }>::from_element(3.0);
    assert_eq!(pairs(&a, &b)[UNITS * sizes::CATEGORIES - 1], 6.0);
    let e = ends(&SMatrix::<f64, UNITS, 3>::from_fn(|i, _| i as f64));
    assert_eq!(e[(1, 0)], 5.0);

    // The same generic graph at two sizes.
    let small = generic_layer(&SMatrix::<f64, 2, 3>::from_element(1.0));
    assert!((small[(0, 0)] + 3f64.ln()).abs() < 1e-12);
    let big = generic_layer(&SMatrix::<f64, 40, 70>::from_element(1.0));
    assert!((big[(39, 69)] + 70f64.ln()).abs() < 1e-12);
    let grad = generic_layer_vjp(&SMatrix::<f64, 40, 70>::zeros(), &SMatrix::<f64, 40, 70>::from_element(1.0));
    assert!(grad.iter().all(|g| g.abs() < 1e-12));
    let mut into = SMatrix::<f64, 40, 70>::zeros();
    generic_layer_into(&SMatrix::<f64, 40, 70>::from_element(1.0), &mut into);
    assert_eq!(into, big);

    let p: SVector<f64, 6> = generic_pairs(&SVector::<f64, 2>::from_element(2.0), &SVector::<f64, 3>::from_element(3.0));
    assert_eq!(p[5], 6.0);
    let last = last_row(&SMatrix::<f64, 4, 2>::from_fn(|i, j| (i * 10 + j) as f64));
    assert_eq!((last[(0, 0)], last[(0, 1)]), (30.0, 31.0));
    assert_eq!(last_row(&SMatrix::<f64, 1, 1>::from_element(7.0))[(0, 0)], 7.0);
    // Two instances in turn, each with its own workspace.
    for _ in 0..2 {
        let _ = generic_layer(&SMatrix::<f64, 40, 70>::zeros());
        let _ = generic_layer(&SMatrix::<f64, 41, 70>::zeros());
    }
    let k = generic_kron(&SMatrix::<f64, 3, 3>::zeros(), &SMatrix::<f64, { sizes::SIDE }, 1>::from_element(2.0));
    let dense: SMatrix<f64, 6, 3> = k.to_dense();
    assert_eq!(dense[(5, 2)], 2.0);
}
