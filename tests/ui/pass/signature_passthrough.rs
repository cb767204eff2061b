//! Attributes, doc comments and visibility pass through to the generated fns;
//! `let` names may be reused and shadowed; negative axes resolve.
#![deny(warnings)]

mod weights {
    use param_graph::nalgebra::{SMatrix, SVector};
    use param_graph::param_graph;

    param_graph! {
        /// Log-normalized weights of a sum layer.
        ///
        /// Doc comments stay on the generated fn.
        #[inline]
        #[must_use]
        pub fn log_weights(theta: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
            let p = softmax(theta, axis = -1);
            let p = log(p);
            p
        }

        #[inline(always)]
        pub(crate) fn reused(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>) {
            let e = exp(x);
            let twice = e + e;
            (hadamard(e, twice), e)
        }

        #[param_graph(optimize = false)]
        pub(super) fn unoptimized(x: &SMatrix<f64, 2, 2>) -> SVector<f64, 2> {
            reduce_lse(log_softmax(x, axis = -2), axis = -1)
        }

        /// Shadowing a parameter with a `let`.
        pub fn shadow(x: SVector<f64, 2>) -> SVector<f64, 2> {
            let x = square(x);
            let x = add(x, x);
            x
        }

        /// User names never clash with the macro's own locals.
        pub fn hygiene(__pg_leaf: &SVector<f64, 2>, __pg_v0: SVector<f64, 2>) -> SVector<f64, 2> {
            let __pg_v1 = __pg_leaf + __pg_v0;
            __pg_v1
        }
    }
}

fn main() {
    use param_graph::nalgebra::{SMatrix, SVector};

    let theta = SMatrix::<f64, 3, 4>::from_fn(|i, j| (i * 4 + j) as f64 * 0.1);
    let w = weights::log_weights(&theta);
    for r in 0..3 {
        let total: f64 = w.row(r).iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    let x = SVector::<f64, 3>::new(0.0, 1.0, -1.0);
    let (h, e) = weights::reused(&x);
    assert_eq!(h, e.component_mul(&e) * 2.0);

    let m = SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
    let lse = weights::unoptimized(&m);
    assert!(lse.iter().all(|v| v.is_finite()));

    let one = SVector::<f64, 2>::new(1.0, 2.0);
    assert_eq!(weights::hygiene(&one, one), one * 2.0);

    assert_eq!(weights::shadow(SVector::<f64, 2>::new(1.0, 3.0)), SVector::<f64, 2>::new(2.0, 18.0));
}
