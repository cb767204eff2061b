//! A `Kron` result keeps the Kronecker product factored.
#![deny(warnings)]

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use param_graph::runtime::Kron;

param_graph! {
    fn factored(a: &SMatrix<f64, 2, 2>, b: &SMatrix<f64, 3, 1>) -> Kron<f64, 2, 2, 3, 1> {
        kron(softmax(a, axis = 1), exp(b))
    }

    fn factored_and_dense(a: &SMatrix<f32, 2, 2>, b: SMatrix<f32, 1, 2>) -> (param_graph::runtime::Kron<f32, 2, 2, 1, 2>, SMatrix<f32, 2, 4>) {
        let k = kron(a, b);
        (k, k)
    }
}

fn main() {
    let a = SMatrix::<f64, 2, 2>::new(0.0, 1.0, 2.0, 3.0);
    let b = SMatrix::<f64, 3, 1>::new(0.0, 1.0, -1.0);
    let k = factored(&a, &b);
    let dense: SMatrix<f64, 6, 2> = k.to_dense();
    let mut soft = a.map(f64::exp);
    for mut row in soft.row_iter_mut() {
        let total = row.sum();
        row /= total;
    }
    let want = soft.kronecker(&b.map(f64::exp));
    assert!((dense - want).abs().max() < 1e-12);

    let a = SMatrix::<f32, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
    let b = SMatrix::<f32, 1, 2>::new(1.0, -1.0);
    let (k, d) = factored_and_dense(&a, b);
    assert_eq!(k.to_dense::<2, 4>(), d);
    assert_eq!(d, a.kronecker(&b));
}
