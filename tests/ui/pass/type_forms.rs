//! Every form of the type grammar, by value and by reference.
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    // An f64 scalar leaf, by value, with a scalar result.
    fn scale(s: f64, v: SVector<f64, 3>) -> f64 {
        let total = reduce_sum(v);
        add(s, total)
    }

    // f32 throughout: a scalar, vectors and matrices, by value and by reference.
    fn single(
        k: &f32,
        a: SMatrix<f32, 2, 3>,
        b: &SMatrix<f32, 3, 2>,
        v: &SVector<f32, 2>,
    ) -> (SMatrix<f32, 2, 2>, SVector<f32, 2>, f32) {
        (matmul(a, b), softmax(v), square(k))
    }

    // Arrays of scalars, nested to rank 4, and of matrices to rank 4.
    fn arrays(
        s: &[[[[f64; 2]; 3]; 2]; 2],
        m: &[[SMatrix<f64, 2, 3>; 2]; 2],
    ) -> ([[[[f64; 2]; 3]; 2]; 2], [[SMatrix<f64, 2, 3>; 2]; 2], [f64; 2]) {
        let sm = softmax(s, axis = -3);
        (sm, log_softmax(m, axis = -4), reduce_sum(flatten(m, start = 1), axis = -1))
    }

    // The full path of the re-exported nalgebra, and a vector of arrays.
    fn full_path(x: &param_graph::nalgebra::SMatrix<f64, 2, 2>, v: [SVector<f64, 3>; 2]) -> param_graph::nalgebra::SMatrix<f64, 2, 2> {
        let _unused = exp(v);
        exp(x)
    }

    // A scalar result, and a result that is a parameter itself.
    fn passthrough(x: &SVector<f64, 4>) -> (SVector<f64, 4>, f64) {
        (x, reduce_lse(x))
    }

    // No parameters at all.
    fn ones() -> SMatrix<f64, 2, 2> {
        constant(1.0, shape = [2, 2])
    }
}

fn main() {
    let v = SVector::<f64, 3>::new(1.0, 2.0, 3.0);
    assert_eq!(scale(4.0, v), 10.0);

    let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i + j) as f32);
    let b = SMatrix::<f32, 3, 2>::from_fn(|i, j| (i * j) as f32);
    let w = SVector::<f32, 2>::new(1.0, -1.0);
    let (ab, sm, k2) = single(&3.0, a, &b, &w);
    assert_eq!(ab, a * b);
    assert!((sm.sum() - 1.0).abs() < 1e-6 && sm[0] > sm[1]);
    assert_eq!(k2, 9.0);

    let s = [[[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [[1.0; 2]; 3]]; 2];
    let m = [[SMatrix::<f64, 2, 3>::from_fn(|i, j| (i * 3 + j) as f64); 2]; 2];
    let (sm, lsm, sums) = arrays(&s, &m);
    assert!((sm[0][0][1][0] - 2f64.exp() / (2f64.exp() + 1f64.exp())).abs() < 1e-12);
    assert!((lsm[1][0][(1, 2)] - 0.5f64.ln()).abs() < 1e-12);
    assert_eq!(sums, [30.0, 30.0]);

    let x = param_graph::nalgebra::SMatrix::<f64, 2, 2>::identity();
    // The vectorized exp is within 1 ulp of libm, not bit-identical.
    let e = full_path(&x, [SVector::zeros(); 2]);
    assert!((e - x.map(f64::exp)).abs().max() <= 1e-15 * std::f64::consts::E);

    let x = SVector::<f64, 4>::new(1.0, 2.0, 3.0, 4.0);
    let (same, lse) = passthrough(&x);
    assert_eq!(same, x);
    assert!(lse > 4.0);

    assert_eq!(ones(), SMatrix::<f64, 2, 2>::repeat(1.0));
}
