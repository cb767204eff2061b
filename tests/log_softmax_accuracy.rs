//! `log_softmax` and `softmax` of rows with a dominant maximum, where
//! `log p` of the maximum is tiny (`−Σ_{i≠max} exp(x_i − m)`) and `s ≈ 1`:
//! the shared-statistics path (a softmax also returned with its log) and
//! the fused one (`log(softmax)` alone), `f32` and `f64`, against a slow
//! reference that takes `log1p` of the excess `Σ_{i≠max} exp(x_i − m)`
//! summed in `f64` (exact to ~1e-16 relative for these rows).
//!
//! Bounds (see README "Numerics"):
//! - `f32`, shared: ½ ulp of the result plus `2⁻²⁴·|log s|` (the statistic
//!   is the excess `s − 1` rounded to `f32`, read through `log1p`); before,
//!   `s` itself was rounded to `f32`, and `[0, −12, −24]` gave
//!   `−6.198864e-6` for `−6.1442312e-6`, `[0, −17, −30]` gave 0 for
//!   `−4.139947e-8`.
//! - `f32`, fused: torch's `(x − m) − log s` in `f32` lanes with `log s`
//!   of the `f64` sum rounded to `f32`: ½ ulp of `x − m`, of `log s` and of
//!   the result, plus the sum's error `Σ_{xᵢ≠m} exp(xᵢ − m)·(2⁻²³ +
//!   2⁻²⁴·|xᵢ − m|) / s` (each exponential within 1 ulp, each shift rounded
//!   to `f32`): a few ulps of `log p` itself for a dominant maximum, where
//!   torch's `f32` sum rounds `s` to 1 and gives 0.
//! - `f64`, both: torch's `(x − m) − log s`, within `2⁻⁵²·(n + |x − m| +
//!   |log s|)` absolute: for `[0, −40]` both give `log p₀ = 0`
//!   (true `−4.248e-18`), as torch does.
//! - softmax entries: relative `2⁻²²` (`f32` shared, `f64` exponentials
//!   of the exact shift), `2⁻²² + 2⁻²⁴·|x − m|` plus the sum's error (`f32`
//!   fused: the shift rounded to `f32`, as torch), `2⁻⁵⁰` (`f64`), plus the
//!   spacing of subnormals.

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use proptest::prelude::*;

param_graph! {
    fn shared_f32(x: &SMatrix<f32, 1, 3>) -> (SMatrix<f32, 1, 3>, SMatrix<f32, 1, 3>) {
        let p = softmax(x, axis = 1);
        (p, log(p))
    }
    fn softmax_f32(x: &SMatrix<f32, 1, 3>) -> SMatrix<f32, 1, 3> {
        softmax(x, axis = 1)
    }
    fn alone_f32(x: &SMatrix<f32, 1, 3>) -> SMatrix<f32, 1, 3> {
        log(softmax(x, axis = 1))
    }
    fn shared_f64(x: &SMatrix<f64, 1, 3>) -> (SMatrix<f64, 1, 3>, SMatrix<f64, 1, 3>) {
        let p = softmax(x, axis = 1);
        (p, log(p))
    }
    fn alone_f64(x: &SMatrix<f64, 1, 3>) -> SMatrix<f64, 1, 3> {
        log(softmax(x, axis = 1))
    }
    /// Longer rows along a strided axis (rows of 7, 5 of them).
    fn shared_f32_cols(x: &SMatrix<f32, 7, 5>) -> (SMatrix<f32, 7, 5>, SMatrix<f32, 7, 5>) {
        let p = softmax(x, axis = 0);
        (p, log(p))
    }
    fn shared_f32_rows(x: &SMatrix<f32, 5, 7>) -> (SMatrix<f32, 5, 7>, SMatrix<f32, 5, 7>) {
        let p = softmax(x, axis = 1);
        (p, log(p))
    }
    fn shared_f64_rows(x: &SMatrix<f64, 5, 7>) -> (SMatrix<f64, 5, 7>, SMatrix<f64, 5, 7>) {
        let p = softmax(x, axis = 1);
        (p, log(p))
    }
    fn alone_f64_rows(x: &SMatrix<f64, 5, 7>) -> SMatrix<f64, 5, 7> {
        log(softmax(x, axis = 1))
    }
}

/// `(softmax, log_softmax)` of `row` in `f64`: `m` the maximum, the excess
/// `e = Σ_{x_i ≠ m} exp(x_i − m) + (ties − 1)`, `log p_i = (x_i − m) −
/// log1p(e)`, `p_i = exp(x_i − m) / (1 + e)`.
fn reference(row: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ties = row.iter().filter(|v| **v == m).count() as f64;
    let rest: f64 = row.iter().filter(|v| **v != m).map(|v| (v - m).exp()).sum();
    let e = (ties - 1.0) + rest;
    let ls = e.ln_1p();
    let sm = row.iter().map(|v| (v - m).exp() / (1.0 + e)).collect();
    let lsm = row.iter().map(|v| (v - m) - ls).collect();
    (sm, lsm)
}

fn ulp32(v: f64) -> f64 {
    let a = (v as f32).abs();
    if a < f32::MIN_POSITIVE {
        f64::from(f32::from_bits(1))
    } else {
        f64::from(f32::from_bits(a.to_bits() + 1) - a)
    }
}

#[track_caller]
fn check_f32(row: &[f64], sm: Option<&[f32]>, lsm: &[f32], shared: bool, what: &str) {
    let (want_sm, want_lsm) = reference(row);
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ls = want_lsm
        .iter()
        .zip(row)
        .map(|(l, v)| (v - m) - l)
        .next()
        .unwrap();
    let n = row.len() as f64;
    // The fused kernel's sum: each term's exponential (1 ulp) of its shift
    // rounded to f32, relative to s.
    let s = ls.exp();
    let sum_err: f64 = row
        .iter()
        .filter(|v| **v != m)
        .map(|v| (v - m).exp() * (2f64.powi(-23) + 2f64.powi(-24) * (m - v)))
        .sum::<f64>()
        / s;
    for (k, (g, w)) in lsm.iter().zip(&want_lsm).enumerate() {
        let slack = if shared {
            2f64.powi(-24) * ls.abs()
        } else {
            // … and the f64 sum's own rounding, `n·2⁻⁵³` relative.
            0.5 * (ulp32(row[k] - m) + ulp32(ls)) + sum_err + 2f64.powi(-52) * n
        };
        let bound = 0.5 * ulp32(*w) + slack;
        let g = f64::from(*g);
        assert!(
            (g - w).abs() <= bound,
            "{what} log_softmax[{k}] of {row:?}: {g:e} vs {w:e} (bound {bound:e})"
        );
    }
    if let Some(sm) = sm {
        for (k, (g, w)) in sm.iter().zip(&want_sm).enumerate() {
            let rel = if shared {
                2f64.powi(-22)
            } else {
                2f64.powi(-22) + 2f64.powi(-24) * (m - row[k]) + sum_err
            };
            let bound = w * rel + f64::from(f32::from_bits(1));
            let g = f64::from(*g);
            assert!(
                (g - w).abs() <= bound,
                "{what} softmax[{k}] of {row:?}: {g:e} vs {w:e} (bound {bound:e})"
            );
        }
    }
}

#[track_caller]
fn check_f64(row: &[f64], sm: Option<&[f64]>, lsm: &[f64], what: &str) {
    let (want_sm, want_lsm) = reference(row);
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ls = ((row[0] - m) - want_lsm[0]).abs();
    let n = row.len() as f64;
    for (k, (g, w)) in lsm.iter().zip(&want_lsm).enumerate() {
        let bound = 2f64.powi(-52) * (n + (row[k] - m).abs() + ls);
        assert!(
            (g - w).abs() <= bound,
            "{what} log_softmax[{k}] of {row:?}: {g:e} vs {w:e} (bound {bound:e})"
        );
    }
    if let Some(sm) = sm {
        for (k, (g, w)) in sm.iter().zip(&want_sm).enumerate() {
            let bound = w * 2f64.powi(-50) + 1e-322;
            assert!(
                (g - w).abs() <= bound,
                "{what} softmax[{k}] of {row:?}: {g:e} vs {w:e} (bound {bound:e})"
            );
        }
    }
}

#[test]
fn reviewer_rows_f32() {
    // Before: −6.198864e-6 (true −6.1442312e-6) and 0.0 (true −4.139947e-8).
    // The fused kernel sums f32 exponentials (1 ulp each) in f64: within
    // one ulp here, where torch's f32 sum gives −6.198864e-6 and 0.
    for (row, want0, alone0) in [
        (
            [0.0f32, -12.0, -24.0],
            -6.144_231e-6_f32,
            -6.144_231_5e-6_f32,
        ),
        ([0.0, -17.0, -30.0], -4.139_947e-8, -4.139_946_7e-8),
    ] {
        let x = SMatrix::<f32, 1, 3>::from_row_slice(&row);
        let (p, lp) = shared_f32(&x);
        let alone = alone_f32(&x);
        assert_eq!(lp[0], want0, "shared {row:?}");
        assert_eq!(alone[0], alone0, "alone {row:?}");
        let r: Vec<f64> = row.iter().map(|v| f64::from(*v)).collect();
        check_f32(&r, Some(p.as_slice()), lp.as_slice(), true, "shared");
        check_f32(&r, None, alone.as_slice(), false, "alone");
    }
}

#[test]
fn softmax_near_the_f32_underflow_threshold() {
    // x₁ − m = −85.88566970825195 exactly; rounded to f32 (as torch's f32
    // kernel does) it is −85.88566589, 3.8e-6 off, and exp of it
    // 5.0156731e-38, 32 ulps above the true 5.01565414e-38, within the
    // bound `2⁻²⁴·|x − m|` relative. The shared path takes x − m exactly in
    // f64 and rounds only the result: 5.015654e-38; the fused softmax
    // kernel (exponentials in f32 lanes) rounds the shift as torch does.
    let row = [48.26f32, -37.625_67, -35.681_564];
    let x = SMatrix::<f32, 1, 3>::from_row_slice(&row);
    let (p, lp) = shared_f32(&x);
    let alone = softmax_f32(&x);
    let r: Vec<f64> = row.iter().map(|v| f64::from(*v)).collect();
    let (want, _) = reference(&r);
    assert_eq!(want[1] as f32, 5.015_654e-38);
    assert_eq!(p[1], 5.015_654e-38);
    assert_eq!(alone[1], 5.015_673e-38);
    check_f32(&r, Some(p.as_slice()), lp.as_slice(), true, "shared");
    check_f32(&r, Some(alone.as_slice()), lp.as_slice(), false, "alone");
}

#[test]
fn f64_dominant_maximum_matches_torch() {
    // torch: (x − m) − log(s) with s = fl(1 + 4.2e-18) = 1, so log p₀ = 0.
    let x = SMatrix::<f64, 1, 3>::from_row_slice(&[0.0, -40.0, -1000.0]);
    let (p, lp) = shared_f64(&x);
    let alone = alone_f64(&x);
    assert_eq!(lp[0], 0.0);
    assert_eq!(alone[0], 0.0);
    let r = [0.0, -40.0, -1000.0];
    check_f64(&r, Some(p.as_slice()), lp.as_slice(), "shared");
    check_f64(&r, None, alone.as_slice(), "alone");
}

/// A row: a maximum `top` and others `top − gap` with gaps drawn so that
/// `Σ exp(−gap)` spans from about 1 down to far below the unit roundoff.
fn dominant_rows(n: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    (-50.0f64..50.0, prop::collection::vec(lo..hi, n - 1), 0..n).prop_map(move |(top, gaps, at)| {
        let mut row: Vec<f64> = gaps.iter().map(|g| top - g).collect();
        row.insert(at, top);
        row
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn f32_rows_with_a_dominant_maximum(
        a in dominant_rows(3, 0.0, 60.0),
        b in prop::collection::vec(dominant_rows(7, 5.0, 110.0), 5),
    ) {
        let row: Vec<f32> = a.iter().map(|v| *v as f32).collect();
        let r: Vec<f64> = row.iter().map(|v| f64::from(*v)).collect();
        let x = SMatrix::<f32, 1, 3>::from_row_slice(&row);
        let (p, lp) = shared_f32(&x);
        check_f32(&r, Some(p.as_slice()), lp.as_slice(), true, "shared");
        check_f32(&r, None, alone_f32(&x).as_slice(), false, "alone");
        // 5 rows of 7: along a contiguous axis (columns of a 7×5) and a
        // strided one (rows of a 5×7).
        let rows: Vec<Vec<f32>> = b.iter().map(|r| r.iter().map(|v| *v as f32).collect()).collect();
        let cols = SMatrix::<f32, 7, 5>::from_fn(|i, j| rows[j][i]);
        let (pc, lpc) = shared_f32_cols(&cols);
        let xr = SMatrix::<f32, 5, 7>::from_fn(|i, j| rows[i][j]);
        let (pr, lpr) = shared_f32_rows(&xr);
        for (k, row) in rows.iter().enumerate() {
            let r: Vec<f64> = row.iter().map(|v| f64::from(*v)).collect();
            let (sc, lc): (Vec<f32>, Vec<f32>) = (0..7).map(|i| (pc[(i, k)], lpc[(i, k)])).unzip();
            check_f32(&r, Some(&sc), &lc, true, "shared, contiguous");
            let (sr, lr): (Vec<f32>, Vec<f32>) = (0..7).map(|i| (pr[(k, i)], lpr[(k, i)])).unzip();
            check_f32(&r, Some(&sr), &lr, true, "shared, strided");
        }
    }

    #[test]
    fn f64_rows_with_a_dominant_maximum(
        a in dominant_rows(3, 0.0, 800.0),
        b in prop::collection::vec(dominant_rows(7, 5.0, 800.0), 5),
    ) {
        let x = SMatrix::<f64, 1, 3>::from_row_slice(&a);
        let (p, lp) = shared_f64(&x);
        check_f64(&a, Some(p.as_slice()), lp.as_slice(), "shared");
        check_f64(&a, None, alone_f64(&x).as_slice(), "alone");
        let xr = SMatrix::<f64, 5, 7>::from_fn(|i, j| b[i][j]);
        let (pr, lpr) = shared_f64_rows(&xr);
        let ar = alone_f64_rows(&xr);
        for (k, row) in b.iter().enumerate() {
            let (sr, lr): (Vec<f64>, Vec<f64>) = (0..7).map(|i| (pr[(k, i)], lpr[(k, i)])).unzip();
            check_f64(row, Some(&sr), &lr, "shared");
            let al: Vec<f64> = (0..7).map(|i| ar[(k, i)]).collect();
            check_f64(row, None, &al, "alone");
        }
    }
}
