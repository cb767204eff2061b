//! Row kernels at every magnitude of the row maximum: `softmax`,
//! `log_softmax`, `reduce_lse` and their fusions (`log(softmax)` →
//! `log_softmax`, a softmax with another reader → shared row statistics,
//! `log(reduce_sum(exp))` → `reduce_lse`), in `f64` and `f32`, along a
//! contiguous and a strided axis, against a slow reference written here
//! (libm's `exp` and `ln`, in `f64`, torch's max-shifted definitions).
//!
//! The fast paths of the row kernels (a cheaper exponential for rows whose
//! shifted values lie in [−708, 0]) must be selected by a test that is exact
//! in floating point: `max − 708` rounds once `|max| ≥ 2⁵⁵`, and a row like
//! `[1e18, 1e18 − 768]` then reached the unguarded exponential (softmax
//! `[-1.07e-283, 1]`, log-softmax `[NaN, NaN]`). The property test draws row
//! maxima of every magnitude up to 1e300 (f32: up to its largest finite
//! values), ±0 and subnormals, with offsets straddling the −708 boundary.
//!
//! Tolerances (results differ from the reference only by the rounding of
//! the runtime's `exp`, within 1 ulp of libm, and of the sums):
//! - `f64`: softmax entries relative 1e-14, and absolute 1e-307 (entries
//!   in the subnormal range); log-softmax and log-sum-exp 1e-14 of
//!   `max(|want|, 1)`.
//! - `f32`: softmax entries relative `2⁻²²` plus, on the fused kernels
//!   (exponentials in `f32` lanes), the rounding of the shift `x − max` to
//!   `f32` as torch does (`2⁻²⁴·|x − max|` relative) and the sum's error
//!   (`2⁻²³` plus those shifts' errors averaged under the softmax weights),
//!   and absolute 1e-44; log-softmax and log-sum-exp `2⁻²²` of
//!   `max(|want|, 1)` plus the sum's error.

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use proptest::prelude::*;

/// Four ways of computing the row statistics of `x` along `axis`, each a
/// module of `f`s: `plain` (the ops), `fused` (`log(softmax)`), `shared`
/// (softmax and its log, sharing statistics) and `lse_rule`
/// (`log(reduce_sum(exp))`).
macro_rules! family {
    ($name:ident, $t:ident, $r:tt, $c:tt, $axis:tt, $k:tt) => {
        mod $name {
            use param_graph::nalgebra::{SMatrix, SVector};
            use param_graph::param_graph;
            param_graph! {
                pub fn plain(x: &SMatrix<$t, $r, $c>)
                    -> (SMatrix<$t, $r, $c>, SMatrix<$t, $r, $c>, SVector<$t, $k>) {
                    (softmax(x, axis = $axis), log_softmax(x, axis = $axis), reduce_lse(x, axis = $axis))
                }
                pub fn fused(x: &SMatrix<$t, $r, $c>) -> SMatrix<$t, $r, $c> {
                    log(softmax(x, axis = $axis))
                }
                pub fn shared(x: &SMatrix<$t, $r, $c>) -> (SMatrix<$t, $r, $c>, SMatrix<$t, $r, $c>) {
                    let p = softmax(x, axis = $axis);
                    (p, log(p))
                }
                pub fn lse_rule(x: &SMatrix<$t, $r, $c>) -> SVector<$t, $k> {
                    log(reduce_sum(exp(x), axis = $axis))
                }
            }
        }
    };
}

// Rows along axis 1 of a column-major 4×8 matrix are strided (4 lanes);
// along axis 0 of an 8×4 matrix they are contiguous.
family!(strided64, f64, 4, 8, 1, 4);
family!(contiguous64, f64, 8, 4, 0, 4);
family!(strided32, f32, 4, 8, 1, 4);
family!(contiguous32, f32, 8, 4, 0, 4);

param_graph! {
    fn handed(x: &SMatrix<f64, 1, 2>) -> (SMatrix<f64, 1, 2>, SMatrix<f64, 1, 2>) {
        (softmax(x, axis = 1), log_softmax(x, axis = 1))
    }
    fn handed_fused(x: &SMatrix<f64, 1, 2>) -> SMatrix<f64, 1, 2> {
        log(softmax(x, axis = 1))
    }
}

/// The handed input: torch (and the exact values) give `[1, 0]` and
/// `[0, −768]`.
#[test]
fn softmax_of_1e18_and_1e18_minus_768() {
    let x = SMatrix::<f64, 1, 2>::new(1e18, 1e18 - 768.0);
    let (sm, lsm) = handed(&x);
    assert_eq!((sm[0], sm[1]), (1.0, 0.0));
    assert_eq!((lsm[0], lsm[1]), (0.0, -768.0));
    let fused = handed_fused(&x);
    assert_eq!((fused[0], fused[1]), (0.0, -768.0));
}

/// softmax, log-softmax and log-sum-exp of one row, by the definition.
fn reference(row: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    (
        e.iter().map(|v| v / s).collect(),
        row.iter().map(|v| (v - m) - s.ln()).collect(),
        m + s.ln(),
    )
}

/// Tolerances of one element type (see the module docs).
#[derive(Clone, Copy)]
struct Tol {
    rel: f64,
    abs: f64,
    /// f32: softmax's tolerance grows with `|x − max|`, and the wanted
    /// values are rounded to f32 first (so `-3.4e38 - 1e38` is `-inf`).
    single: bool,
}

impl Tol {
    fn round(&self, v: f64) -> f64 {
        if self.single {
            f64::from(v as f32)
        } else {
            v
        }
    }
}

const F64: Tol = Tol {
    rel: 1e-14,
    abs: 1e-307,
    single: false,
};
const F32: Tol = Tol {
    rel: 1.0 / 4_194_304.0, // 2⁻²²
    abs: 1e-44,
    single: true,
};

/// The rows of a matrix along `axis`, as f64.
fn rows_of<T: Copy + Into<f64>, const R: usize, const C: usize>(
    x: &SMatrix<T, R, C>,
    axis: usize,
) -> Vec<Vec<f64>> {
    if axis == 1 {
        (0..R)
            .map(|i| (0..C).map(|j| x[(i, j)].into()).collect())
            .collect()
    } else {
        (0..C)
            .map(|j| (0..R).map(|i| x[(i, j)].into()).collect())
            .collect()
    }
}

/// Every row of `got` against the reference's softmax (`log = false`) or
/// log-softmax, element by element within `bound(want)` (or equal).
fn check_rows(
    got: &[Vec<f64>],
    x: &[Vec<f64>],
    (log, tol): (bool, Tol),
    bound: impl Fn(f64) -> f64,
    what: &str,
) -> Result<(), TestCaseError> {
    let op = if log { "log_softmax" } else { "softmax" };
    for (g, row) in got.iter().zip(x) {
        let (sm, lsm, _) = reference(row);
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // f32 (README, Numerics): each shift `x − m` is rounded to f32 (as
        // torch), a relative error of `2⁻²⁴·|x − m|` in its exponential, and
        // the sum carries those of its terms (with 1 ulp each) averaged
        // under the softmax weights.
        let (shift_rel, sum_rel) = if tol.single && m.is_finite() {
            let mean: f64 = row
                .iter()
                .zip(&sm)
                .filter(|(v, _)| v.is_finite())
                .map(|(v, p)| p * (m - v))
                .sum();
            (2f64.powi(-24), 2f64.powi(-23) + 2f64.powi(-24) * mean)
        } else {
            (0.0, 0.0)
        };
        let want = if log { lsm } else { sm };
        for ((gv, wv), v) in g.iter().zip(&want).zip(row) {
            let wv = tol.round(*wv);
            let extra = if log {
                sum_rel
            } else {
                (shift_rel * (m - v).abs() + sum_rel) * wv.abs()
            };
            prop_assert!(
                *gv == wv || (gv - wv).abs() <= bound(wv) + extra,
                "{what}: {op} {g:?}, want {want:?} for row {row:?}"
            );
        }
    }
    Ok(())
}

fn check_softmax(
    got: &[Vec<f64>],
    x: &[Vec<f64>],
    tol: Tol,
    what: &str,
) -> Result<(), TestCaseError> {
    // (An element of -inf has weight 0 and an infinite shift.)
    let bound = |w: f64| {
        if w == 0.0 {
            tol.abs
        } else {
            tol.rel * w + tol.abs
        }
    };
    check_rows(got, x, (false, tol), bound, what)
}

fn check_log_softmax(
    got: &[Vec<f64>],
    x: &[Vec<f64>],
    tol: Tol,
    what: &str,
) -> Result<(), TestCaseError> {
    let bound = |w: f64| tol.rel * w.abs().max(1.0);
    check_rows(got, x, (true, tol), bound, what)
}

fn check_lse(got: &[f64], x: &[Vec<f64>], tol: Tol, what: &str) -> Result<(), TestCaseError> {
    for (g, row) in got.iter().zip(x) {
        let want = tol.round(reference(row).2);
        prop_assert!(
            *g == want || (g - want).abs() <= tol.rel * want.abs().max(1.0),
            "{what}: reduce_lse {g}, want {want} for row {row:?}"
        );
    }
    Ok(())
}

/// A row maximum of any magnitude: `±10^e` for `e` up to `max_exp`, ±0, or
/// a subnormal of the type.
fn maximum(max_exp: f64, min_exp: f64, subnormal: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (min_exp..max_exp, any::<bool>()).prop_map(|(e, neg)| {
            let m = 10f64.powf(e);
            if neg { -m } else { m }
        }),
        // Where `max − 708` starts to round (|max| ≥ 2⁵⁵) and shifts of a
        // few units in the last place cross −708.
        2 => (50.0..64.0f64, any::<bool>()).prop_map(|(e, neg)| {
            let m = 2f64.powf(e);
            if neg { -m } else { m }
        }),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => (1u32..1000, any::<bool>()).prop_map(move |(k, neg)| {
            let m = subnormal * f64::from(k);
            if neg { -m } else { m }
        }),
    ]
}

/// How far below the maximum an element lies: equal, close, straddling the
/// −708 boundary of the cheap exponential, far, a fraction of `|max|`, or a
/// few units in its last place.
fn offset() -> impl Strategy<Value = (u8, f64)> {
    prop_oneof![
        Just((0, 0.0)),
        (0.0..20.0).prop_map(|d| (1, d)),
        (690.0..800.0).prop_map(|d| (1, d)),
        (1e3..1e12).prop_map(|d| (1, d)),
        (0.0..2.0).prop_map(|f| (2, f)),
        (1.0..64.0).prop_map(|u| (3, u)),
        (1u32..16).prop_map(|k| (4, f64::from(k))),
    ]
}

/// The spacing of doubles at `|m|` (the smallest subnormal at 0).
fn ulp(m: f64) -> f64 {
    let a = m.abs();
    f64::from_bits(a.to_bits() + 1) - a
}

/// Rows of length `len` whose maxima span every magnitude; each element is
/// its row's maximum moved down by an offset.
fn rows(
    n: usize,
    len: usize,
    max_exp: f64,
    min_exp: f64,
    subnormal: f64,
) -> impl Strategy<Value = Vec<Vec<f64>>> {
    let row = (
        maximum(max_exp, min_exp, subnormal),
        prop::collection::vec(offset(), len - 1),
        0..len,
    )
        .prop_map(move |(m, offsets, at)| {
            let mut row: Vec<f64> = offsets
                .iter()
                .map(|&(kind, v)| match kind {
                    0 => m,
                    1 => m - v,
                    2 => m - m.abs() * v,
                    3 => m - m.abs() * v * f64::EPSILON,
                    // k units in the last place of |max| below it.
                    _ => m - v * ulp(m),
                })
                .collect();
            row.insert(at, m);
            row
        });
    prop::collection::vec(row, n)
}

/// Rows aimed at the boundary of the cheap exponential: maxima `±2ᵉ` for
/// `e` up to 80 (a test against `max − 708` rounds from `2⁵⁵` on) and every
/// other element 600 to 1100 below, or equal.
fn boundary_rows(n: usize, len: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    let row = (
        0.0..80.0f64,
        any::<bool>(),
        prop::collection::vec(prop_oneof![Just(0.0), 600.0..1100.0f64], len - 1),
    )
        .prop_map(|(e, neg, offsets)| {
            let m = if neg { -(2f64.powf(e)) } else { 2f64.powf(e) };
            let mut row: Vec<f64> = offsets.iter().map(|d| m - d).collect();
            row.push(m);
            row
        });
    prop::collection::vec(row, n)
}

/// Builds the matrix whose rows along `axis` are `rows`.
fn matrix<T: param_graph::nalgebra::Scalar + Copy, const R: usize, const C: usize>(
    rows: &[Vec<f64>],
    axis: usize,
    conv: impl Fn(f64) -> T,
) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|i, j| {
        if axis == 1 {
            conv(rows[i][j])
        } else {
            conv(rows[j][i])
        }
    })
}

macro_rules! check_family {
    ($fam:ident, $t:ty, $r:literal, $c:literal, $axis:literal, $rows:expr, $tol:expr) => {{
        let x: SMatrix<$t, $r, $c> = matrix(&$rows, $axis, |v| v as $t);
        // The reference reads the stored values (f32: rounded).
        let xr = rows_of(&x, $axis);
        let what = stringify!($fam);
        let (sm, lsm, lse) = $fam::plain(&x);
        check_softmax(&rows_of(&sm, $axis), &xr, $tol, what)?;
        check_log_softmax(&rows_of(&lsm, $axis), &xr, $tol, what)?;
        let lse: Vec<f64> = lse.iter().map(|v| f64::from(*v)).collect();
        check_lse(&lse, &xr, $tol, what)?;
        check_log_softmax(&rows_of(&$fam::fused(&x), $axis), &xr, $tol, what)?;
        let (p, lp) = $fam::shared(&x);
        check_softmax(&rows_of(&p, $axis), &xr, $tol, what)?;
        check_log_softmax(&rows_of(&lp, $axis), &xr, $tol, what)?;
        let lse: Vec<f64> = $fam::lse_rule(&x).iter().map(|v| f64::from(*v)).collect();
        check_lse(&lse, &xr, $tol, what)?;
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn f64_rows_at_every_magnitude(
        strided in rows(4, 8, 300.0, -320.0, 4.9e-324),
        contiguous in rows(4, 8, 300.0, -320.0, 4.9e-324),
    ) {
        check_family!(strided64, f64, 4, 8, 1, strided, F64);
        check_family!(contiguous64, f64, 8, 4, 0, contiguous, F64);
    }

    #[test]
    fn f64_rows_around_the_fast_exp_boundary(
        strided in boundary_rows(4, 8),
        contiguous in boundary_rows(4, 8),
    ) {
        check_family!(strided64, f64, 4, 8, 1, strided, F64);
        check_family!(contiguous64, f64, 8, 4, 0, contiguous, F64);
    }

    #[test]
    fn f32_rows_at_every_magnitude(
        strided in rows(4, 8, 38.5, -45.0, 1.4e-45),
        contiguous in rows(4, 8, 38.5, -45.0, 1.4e-45),
    ) {
        check_family!(strided32, f32, 4, 8, 1, strided, F32);
        check_family!(contiguous32, f32, 8, 4, 0, contiguous, F32);
    }
}
