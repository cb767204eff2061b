//! Sizes named by the block's `const` items: in leaf and result types, as
//! braced products, as array lengths, in `constant`'s shape and `index`'s
//! positions; the constants are ordinary items outside the block.
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use param_graph::runtime::Kron;

param_graph! {
    /// Units per layer.
    pub const K: usize = 4;
    /// Categories of each input.
    const CATEGORIES: usize = 2 * 3;
    const FOLDS: usize = K / 2;
    const LAST: usize = K - 1;

    fn mixture(theta: &SMatrix<f64, K, CATEGORIES>) -> SMatrix<f64, K, CATEGORIES> {
        softmax(theta, axis = 1)
    }

    fn folded(x: &[SMatrix<f64, K, K>; FOLDS]) -> [SMatrix<f64, K, K>; FOLDS] {
        exp(x)
    }

    fn products(a: &SVector<f64, K>, b: &SVector<f64, CATEGORIES>) -> SVector<f64, { K * CATEGORIES }> {
        outer_product(a, b, axis = 0)
    }

    fn flat(a: &[SVector<f64, K>; FOLDS]) -> SVector<f64, { FOLDS * K }> {
        flatten(a, start = 0, end = 1)
    }

    #[param_graph(vjp)]
    fn picked(a: &SMatrix<f64, K, CATEGORIES>) -> SMatrix<f64, FOLDS, CATEGORIES> {
        let c = constant(0.5, shape = [FOLDS, CATEGORIES]);
        hadamard(index(a, [0, LAST], axis = 0), c)
    }

    fn factored(a: &SMatrix<f64, FOLDS, FOLDS>, b: &SMatrix<f64, K, 1>) -> Kron<f64, FOLDS, FOLDS, K, 1> {
        kron(a, b)
    }
}

fn main() {
    let theta = SMatrix::<f64, K, CATEGORIES>::from_fn(|i, j| (i + j) as f64);
    let p = mixture(&theta);
    assert!((p.row(0).sum() - 1.0).abs() < 1e-12);
    let x = [SMatrix::<f64, K, K>::zeros(); FOLDS];
    assert_eq!(folded(&x)[1][(3, 3)], 1.0);
    let a = SVector::<f64, K>::from_element(2.0);
    let b = SVector::<f64, CATEGORIES>::from_element(3.0);
    assert_eq!(products(&a, &b)[K * CATEGORIES - 1], 6.0);
    assert_eq!(flat(&[a; FOLDS]).len(), FOLDS * K);
    let ct = SMatrix::<f64, FOLDS, CATEGORIES>::from_element(1.0);
    let g = picked_vjp(&theta, &ct);
    assert_eq!(g[(K - 1, 0)], 0.5);
    assert_eq!(picked(&theta)[(1, 0)], 0.5 * theta[(K - 1, 0)]);
    let k = factored(&SMatrix::<f64, FOLDS, FOLDS>::identity(), &SMatrix::<f64, K, 1>::from_element(1.0));
    let dense: SMatrix<f64, { FOLDS * K }, FOLDS> = k.to_dense();
    assert_eq!(dense[(K, 1)], 1.0);
}
