//! Every op of the language at least once (the circuit-product ops are in
//! `circuit_products.rs`), each result checked by hand.
#![deny(warnings)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn maps(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>) {
        let e = exp(x);
        let l = log(e);
        let s = square(l);
        let c = conjugate(s);
        (c, sigmoid(x), softplus(x), scaled_sigmoid(x, vmin = 1.0, vmax = 3.0))
    }

    fn clamps(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>) {
        (clamp(x, min = 0.0), clamp(x, max = 0.5), clamp(x, min = -0.5, max = 0.5))
    }

    fn reductions(m: &SMatrix<f64, 2, 3>) -> (SVector<f64, 2>, SVector<f64, 3>, SVector<f64, 2>) {
        (reduce_sum(m, axis = 1), reduce_prod(m, axis = 0), reduce_lse(m))
    }

    fn normalizers(m: &SMatrix<f64, 2, 3>) -> (SMatrix<f64, 2, 3>, SMatrix<f64, 2, 3>) {
        (softmax(m, axis = 1), log_softmax(m, axis = 0))
    }

    fn selections(m: &SMatrix<f64, 2, 3>) -> (SMatrix<f64, 2, 4>, SVector<f64, 6>, SMatrix<f64, 2, 3>) {
        (index(m, [2, 0, 0, 1], axis = 1), flatten(m), add(m, constant(0.5, shape = [2, 3])))
    }

    fn products(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 3, 2>) -> (SMatrix<f64, 2, 3>, SMatrix<f64, 6, 6>, SMatrix<f64, 2, 2>) {
        (hadamard(a, a) + a, kron(a, b), matmul(a, b))
    }

    fn outers(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 2, 2>) -> (SMatrix<f64, 2, 6>, SMatrix<f64, 2, 6>) {
        (outer_product(a, b, axis = 1), outer_sum(a, b))
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

fn main() {
    let x = SVector::<f64, 3>::new(-1.0, 0.25, 2.0);
    let (c, sig, sp, ss) = maps(&x);
    for i in 0..3 {
        assert!(close(c[i], x[i] * x[i]));
        assert!(close(sig[i], 1.0 / (1.0 + (-x[i]).exp())));
        assert!(close(sp[i], (1.0 + x[i].exp()).ln()));
        assert!(close(ss[i], 1.0 + 2.0 * sig[i]));
    }

    let (lo, hi, both) = clamps(&x);
    assert_eq!((lo[0], lo[1], lo[2]), (0.0, 0.25, 2.0));
    assert_eq!((hi[0], hi[1], hi[2]), (-1.0, 0.25, 0.5));
    assert_eq!((both[0], both[1], both[2]), (-0.5, 0.25, 0.5));

    let m = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
    let (rows, cols, lse) = reductions(&m);
    assert_eq!((rows[0], rows[1]), (6.0, 15.0));
    assert_eq!((cols[0], cols[1], cols[2]), (4.0, 10.0, 18.0));
    assert!(close(lse[0], (1f64.exp() + 2f64.exp() + 3f64.exp()).ln()));

    let (sm, lsm) = normalizers(&m);
    assert!(close(sm.row(0).sum(), 1.0) && close(sm.row(1).sum(), 1.0));
    assert!(close(lsm.column(2).map(f64::exp).sum(), 1.0));

    let (picked, flat, shifted) = selections(&m);
    assert_eq!(picked.row(0).iter().copied().collect::<Vec<_>>(), vec![3.0, 1.0, 1.0, 2.0]);
    assert_eq!(flat.iter().copied().collect::<Vec<_>>(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(shifted, m.add_scalar(0.5));

    let b = SMatrix::<f64, 3, 2>::new(1.0, 0.0, 0.0, 1.0, 1.0, 1.0);
    let (h, k, mm) = products(&m, &b);
    assert_eq!(h, m.component_mul(&m) + m);
    assert_eq!(k, m.kronecker(&b));
    assert_eq!(mm, m * b);

    let b = SMatrix::<f64, 2, 2>::new(1.0, 10.0, 100.0, 1000.0);
    let (op, os) = outers(&m, &b);
    assert_eq!(op[(0, 1)], m[(0, 0)] * b[(0, 1)]);
    assert_eq!(os[(1, 5)], m[(1, 2)] + b[(1, 1)]);
}
