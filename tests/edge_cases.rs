//! Float edge cases: the generated code must give what torch (cirkit's
//! backend) gives for `±inf`, NaN and rows that are all `-inf`.
//!
//! Expected values are torch 2.x's documented/observed results for the same
//! op on the same row, e.g. `torch.softmax(tensor([-inf, -inf]), 0)` is
//! `[nan, nan]` and `torch.logsumexp(tensor([-inf, -inf]), 0)` is `-inf`.

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

param_graph! {
    fn softmax_rows(x: &SMatrix<f64, 4, 3>) -> SMatrix<f64, 4, 3> {
        softmax(x, axis = 1)
    }
    fn log_softmax_rows(x: &SMatrix<f64, 4, 3>) -> SMatrix<f64, 4, 3> {
        log_softmax(x, axis = 1)
    }
    fn lse_rows(x: &SMatrix<f64, 4, 3>) -> SVector<f64, 4> {
        reduce_lse(x, axis = 1)
    }
    fn sum_prod(x: &SMatrix<f64, 4, 3>) -> (SVector<f64, 4>, SVector<f64, 4>) {
        (reduce_sum(x, axis = 1), reduce_prod(x, axis = 1))
    }
    fn pointwise(x: &SVector<f64, 5>) -> (SVector<f64, 5>, SVector<f64, 5>, SVector<f64, 5>, SVector<f64, 5>, SVector<f64, 5>) {
        (log(x), exp(x), sigmoid(x), softplus(x), clamp(x, min = -1.0, max = 1.0))
    }
    fn matmul_inf(a: &SMatrix<f64, 1, 2>, b: &SMatrix<f64, 2, 1>) -> SMatrix<f64, 1, 1> {
        matmul(a, b)
    }
}

/// The rows used for the row-wise ops: all `-inf`, one `+inf`, a NaN, and
/// one finite entry among `-inf`s.
fn rows() -> SMatrix<f64, 4, 3> {
    SMatrix::<f64, 4, 3>::from_row_slice(&[
        -INF, -INF, -INF, //
        INF, 0.0, 1.0, //
        NAN, 0.0, 1.0, //
        -INF, 2.0, -INF,
    ])
}

fn same(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got == want
}

fn assert_row(got: &[f64], want: &[f64], what: &str) {
    let ok = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same(*g, *w));
    assert!(ok, "{what}: got {got:?}, torch gives {want:?}");
}

fn row(m: &SMatrix<f64, 4, 3>, i: usize) -> Vec<f64> {
    m.row(i).iter().copied().collect()
}

#[test]
fn softmax_matches_torch_on_non_finite_rows() {
    let y = softmax_rows(&rows());
    assert_row(&row(&y, 0), &[NAN, NAN, NAN], "all -inf row");
    assert_row(&row(&y, 1), &[NAN, NAN, NAN], "row holding +inf");
    assert_row(&row(&y, 2), &[NAN, NAN, NAN], "row holding NaN");
    assert_row(&row(&y, 3), &[0.0, 1.0, 0.0], "one finite entry");
}

#[test]
fn log_softmax_matches_torch_on_non_finite_rows() {
    let y = log_softmax_rows(&rows());
    assert_row(&row(&y, 0), &[NAN, NAN, NAN], "all -inf row");
    assert_row(&row(&y, 1), &[NAN, NAN, NAN], "row holding +inf");
    assert_row(&row(&y, 2), &[NAN, NAN, NAN], "row holding NaN");
    assert_row(&row(&y, 3), &[-INF, 0.0, -INF], "one finite entry");
}

#[test]
fn logsumexp_masks_infinite_maxima_like_torch() {
    let y = lse_rows(&rows());
    assert_row(y.as_slice(), &[-INF, INF, NAN, 2.0], "reduce_lse rows");
}

#[test]
fn sums_and_products_follow_ieee() {
    let x = SMatrix::<f64, 4, 3>::from_row_slice(&[
        INF, -INF, 1.0, //
        0.0, INF, 2.0, //
        NAN, 1.0, 1.0, //
        1.0, 2.0, 3.0,
    ]);
    let (s, p) = sum_prod(&x);
    assert_row(s.as_slice(), &[NAN, INF, NAN, 6.0], "reduce_sum");
    assert_row(p.as_slice(), &[-INF, NAN, NAN, 6.0], "reduce_prod");
}

#[test]
fn pointwise_ops_on_special_values() {
    let x = SVector::<f64, 5>::from_column_slice(&[-INF, -1.0, 0.0, INF, NAN]);
    let (l, e, s, sp, c) = pointwise(&x);
    assert_row(l.as_slice(), &[NAN, NAN, -INF, INF, NAN], "log");
    assert_row(e.as_slice(), &[0.0, (-1.0f64).exp(), 1.0, INF, NAN], "exp");
    assert_row(&[s[0], s[2], s[3], s[4]], &[0.0, 0.5, 1.0, NAN], "sigmoid");
    assert_row(&[sp[0], sp[3], sp[4]], &[0.0, INF, NAN], "softplus");
    assert_row(c.as_slice(), &[-1.0, -1.0, 0.0, 1.0, NAN], "clamp");
}

#[test]
fn matmul_zero_times_inf_is_nan() {
    let a = SMatrix::<f64, 1, 2>::new(0.0, 1.0);
    let b = SMatrix::<f64, 2, 1>::new(INF, 1.0);
    assert!(matmul_inf(&a, &b)[(0, 0)].is_nan());
}
