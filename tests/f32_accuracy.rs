//! f32 reductions on long rows (≥ 10⁵ elements), every reducing op and
//! fused kernel, against an independent f64 reference computed from the
//! same f32 inputs.
//!
//! The generated code accumulates every f32 sum in f64 (the runtime's row
//! kernels and contraction tiles), so a plain left-to-right f32 loop's error
//! of `n·2⁻²⁴·Σ|x|` (140084.78 for 1 392 640 × 0.1f32, exact 139264.002)
//! does not occur. Tolerances, as stated in the runtime's docs:
//!
//! - sums (`reduce_sum`, the fused sums of outer products): ½ ulp of f32
//!   plus `2⁻³⁰·Σ|xᵢ|`;
//! - contractions (`matmul`, the sum of an outer product over another axis):
//!   ½ ulp plus `2⁻¹⁸·Σ|aₖ·bₖ|` (blocks of 64 f32 steps added into f64);
//! - `reduce_lse`, `log_softmax` and their fusions: `2⁻²²·max(|want|, 1)`;
//! - `softmax` entries: relative `2⁻²²` (every path takes the shift
//!   `x − max` exactly in f64; torch rounds it to f32), plus 1e-44 for
//!   entries that underflow.

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use support::harness::{assert_f32_sum, on_stack, Lcg};

mod support;

const N: usize = 100_000;

param_graph! {
    fn sum_tenths(x: &SVector<f32, 1392640>) -> f32 {
        reduce_sum(x, axis = 0)
    }

    /// Reduced axis stored contiguously (axis 0 of a column-major matrix).
    fn contiguous(x: &SMatrix<f32, 100000, 2>)
        -> (SVector<f32, 2>, SVector<f32, 2>, SMatrix<f32, 100000, 2>, SMatrix<f32, 100000, 2>) {
        (reduce_sum(x, axis = 0), reduce_lse(x, axis = 0), softmax(x, axis = 0), log_softmax(x, axis = 0))
    }

    /// Reduced axis strided (axis 1 of a column-major matrix): 3 lanes.
    fn strided(x: &SMatrix<f32, 3, 100000>)
        -> (SVector<f32, 3>, SVector<f32, 3>, SMatrix<f32, 3, 100000>, SMatrix<f32, 3, 100000>) {
        (reduce_sum(x, axis = 1), reduce_lse(x, axis = 1), softmax(x, axis = 1), log_softmax(x, axis = 1))
    }

    /// The fusions: `log(softmax)` → `log_softmax`; a softmax with another
    /// reader → shared row statistics; `log(Σ exp)` → `reduce_lse`.
    fn fused(x: &SMatrix<f32, 3, 100000>, y: &SMatrix<f32, 3, 100000>)
        -> (SMatrix<f32, 3, 100000>, SMatrix<f32, 3, 100000>, SMatrix<f32, 3, 100000>, SVector<f32, 3>) {
        let p = softmax(y, axis = 1);
        (log(softmax(x, axis = 1)), p, log(p), log(reduce_sum(exp(x), axis = 1)))
    }

    /// The same, as written: the unfused kernels.
    #[param_graph(optimize = false)]
    fn unfused(x: &SMatrix<f32, 3, 100000>, y: &SMatrix<f32, 3, 100000>)
        -> (SMatrix<f32, 3, 100000>, SMatrix<f32, 3, 100000>, SMatrix<f32, 3, 100000>, SVector<f32, 3>) {
        let p = softmax(y, axis = 1);
        (log(softmax(x, axis = 1)), p, log(p), log(reduce_sum(exp(x), axis = 1)))
    }

    /// The sum of an outer product over another axis (one contraction over
    /// 10⁵ terms) and a long matrix product.
    fn contractions(a: &SMatrix<f32, 2, 100000>, b: &SMatrix<f32, 3, 100000>, c: &SMatrix<f32, 100000, 3>)
        -> (SVector<f32, 6>, SMatrix<f32, 2, 3>) {
        (reduce_sum(outer_product(a, b, axis = 0), axis = 1), matmul(a, c))
    }

    fn sum_outer_same(a: &SMatrix<f32, 2, 100000>, b: &SMatrix<f32, 2, 3>) -> SVector<f32, 2> {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }

    #[param_graph(optimize = false)]
    fn sum_outer_same_unfused(a: &SMatrix<f32, 2, 100000>, b: &SMatrix<f32, 2, 3>) -> SVector<f32, 2> {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }
}

fn fill<const R: usize, const C: usize>(
    m: &mut SMatrix<f32, R, C>,
    rng: &mut Lcg,
    lo: f64,
    hi: f64,
) {
    for v in m.iter_mut() {
        *v = rng.next(lo, hi);
    }
}

fn boxed<const R: usize, const C: usize>() -> Box<SMatrix<f32, R, C>> {
    Box::new(SMatrix::zeros())
}

#[track_caller]
fn check_sum(got: f32, terms: impl Iterator<Item = f64> + Clone, what: &str) {
    assert_f32_sum(got, terms, 2f64.powi(-30), what);
}

#[track_caller]
fn check_dot(got: f32, terms: impl Iterator<Item = f64> + Clone, what: &str) {
    assert_f32_sum(got, terms, 2f64.powi(-18), what);
}

/// Checks row `row` (f64 copies of its f32 values) against softmax,
/// log-softmax and log-sum-exp outputs read through `sm`, `lsm` (by
/// position) and `lse`.
#[track_caller]
fn check_row(
    row: &[f64],
    sm: Option<&dyn Fn(usize) -> f32>,
    lsm: impl Fn(usize) -> f32,
    lse: f32,
    what: &str,
) {
    let tol = 2f64.powi(-22);
    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = row.iter().map(|v| (v - mx).exp()).sum();
    let want_lse = mx + z.ln();
    // The sum's relative error (README, Numerics): 1 ulp per exponential
    // plus the f32 rounding of each shift `x − m` (as torch), `2⁻²⁴·|x − m|`
    // relative, averaged under the softmax weights.
    let mean_shift: f64 = row.iter().map(|v| (v - mx).exp() * (mx - v)).sum::<f64>() / z;
    let sum_err = 2f64.powi(-23) + 2f64.powi(-24) * mean_shift;
    let got = f64::from(lse);
    assert!(
        (got - want_lse).abs() <= tol * want_lse.abs().max(1.0) + sum_err,
        "{what} lse: {got} vs {want_lse}"
    );
    for (k, v) in row.iter().enumerate() {
        if let Some(sm) = sm {
            let want = (v - mx).exp() / z;
            let got = f64::from(sm(k));
            // Its own shift and exponential, the reciprocal and the
            // product, and the sum's error.
            let rel = tol + 2f64.powi(-24) * (mx - v) + sum_err;
            assert!(
                (got - want).abs() <= rel * want + 1e-44,
                "{what} softmax[{k}]: {got} vs {want}"
            );
        }
        let want = v - want_lse;
        let got = f64::from(lsm(k));
        assert!(
            (got - want).abs() <= tol * want.abs().max(1.0) + sum_err,
            "{what} log_softmax[{k}]: {got} vs {want}"
        );
    }
}

/// The handed input: torch gives 139264.016, a left-to-right f32 loop
/// 140084.78; the exact sum of the f32 values is 139264.00208.
#[test]
fn reduce_sum_of_1392640_tenths() {
    on_stack(512 << 20, || {
        let x = Box::new(SVector::<f32, 1392640>::repeat(0.1));
        let got = sum_tenths(&x);
        assert_eq!(got, 139264.0);
        check_sum(
            got,
            std::iter::repeat_n(f64::from(0.1f32), 1_392_640),
            "reduce_sum",
        );
    });
}

#[test]
fn row_ops_on_contiguous_and_strided_long_rows() {
    on_stack(512 << 20, || {
        let mut rng = Lcg(1);
        let mut x = boxed::<100000, 2>();
        fill(&mut x, &mut rng, -20.0, 20.0);
        let (s, lse, sm, lsm) = contiguous(&x);
        for j in 0..2 {
            let row: Vec<f64> = (0..N).map(|i| f64::from(x[(i, j)])).collect();
            check_sum(s[j], row.iter().copied(), "contiguous reduce_sum");
            check_row(
                &row,
                Some(&|i| sm[(i, j)]),
                |i| lsm[(i, j)],
                lse[j],
                "contiguous",
            );
        }
        let mut x = boxed::<3, 100000>();
        fill(&mut x, &mut rng, 0.0, 1.0);
        let (s, lse, sm, lsm) = strided(&x);
        for i in 0..3 {
            let row: Vec<f64> = (0..N).map(|j| f64::from(x[(i, j)])).collect();
            check_sum(s[i], row.iter().copied(), "strided reduce_sum");
            check_row(
                &row,
                Some(&|j| sm[(i, j)]),
                |j| lsm[(i, j)],
                lse[i],
                "strided",
            );
        }
    });
}

#[test]
fn fused_and_unfused_softmax_forms_on_long_rows() {
    on_stack(512 << 20, || {
        let mut rng = Lcg(2);
        let (mut x, mut y) = (boxed::<3, 100000>(), boxed::<3, 100000>());
        fill(&mut x, &mut rng, -3.0, 3.0);
        fill(&mut y, &mut rng, -10.0, 10.0);
        for (name, (lsx, py, lpy, lse)) in [("fused", fused(&x, &y)), ("unfused", unfused(&x, &y))]
        {
            for i in 0..3 {
                let rx: Vec<f64> = (0..N).map(|j| f64::from(x[(i, j)])).collect();
                let ry: Vec<f64> = (0..N).map(|j| f64::from(y[(i, j)])).collect();
                // log(softmax(x)) and log Σ exp(x); softmax(y) and log(softmax(y)).
                check_row(&rx, None, |j| lsx[(i, j)], lse[i], name);
                check_row(
                    &ry,
                    Some(&|j| py[(i, j)]),
                    |j| lpy[(i, j)],
                    log_sum_exp(&ry) as f32,
                    name,
                );
            }
        }
    });
}

fn log_sum_exp(row: &[f64]) -> f64 {
    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    mx + row.iter().map(|v| (v - mx).exp()).sum::<f64>().ln()
}

#[test]
fn sums_of_outer_products_and_matmul_over_long_rows() {
    on_stack(512 << 20, || {
        let mut rng = Lcg(3);
        let (mut a, mut b, mut c) = (
            boxed::<2, 100000>(),
            boxed::<3, 100000>(),
            boxed::<100000, 3>(),
        );
        fill(&mut a, &mut rng, 0.0, 1.0);
        fill(&mut b, &mut rng, 0.0, 1.0);
        fill(&mut c, &mut rng, -1.0, 1.0);
        let (other, mm) = contractions(&a, &b, &c);
        for i in 0..2 {
            for j in 0..3 {
                let (ar, br) = (&a, &b);
                let terms = (0..N).map(move |k| f64::from(ar[(i, k)]) * f64::from(br[(j, k)]));
                check_dot(other[i * 3 + j], terms, "outer_contract");
                let (ar, cr) = (&a, &c);
                let terms = (0..N).map(move |k| f64::from(ar[(i, k)]) * f64::from(cr[(k, j)]));
                check_dot(mm[(i, j)], terms, "matmul");
            }
        }
        let mut b2 = SMatrix::<f32, 2, 3>::zeros();
        fill(&mut b2, &mut rng, 0.5, 1.5);
        for (name, got) in [
            ("fused", sum_outer_same(&a, &b2)),
            ("unfused", sum_outer_same_unfused(&a, &b2)),
        ] {
            for i in 0..2 {
                // Σ_{k,l} a[i,k]·b[i,l]: the product of the two row sums.
                let sa: f64 = (0..N).map(|k| f64::from(a[(i, k)])).sum();
                let sb: f64 = (0..3).map(|l| f64::from(b2[(i, l)])).sum();
                let want = sa * sb;
                let got = f64::from(got[i]);
                assert!(
                    (got - want).abs() <= 2f64.powi(-22) * want,
                    "{name} sum_outer: {got} vs {want}"
                );
            }
        }
    });
}
