//! Row-wise kernels (softmax, log-softmax, log-sum-exp) over a reduced axis,
//! dispatched to AVX-512, AVX2/FMA or portable code at run time
//! ([`crate::dispatch`]).
//!
//! Any dense layout of a tensor, reduced along one axis, is three nested
//! blocks in storage order: `outer` blocks (the axes stored outside the
//! reduced one), `len` positions along the reduced axis, and `inner`
//! contiguous elements (the axes stored inside it). Element `(o, k, i)` sits
//! at `(o·len + k)·inner + i`, and its row statistic at `o·inner + i`. The
//! code generator computes the three sizes from the layout; these kernels
//! then walk memory in contiguous runs: strips of up to a 4 KiB page, one pass
//! over a strip for log-softmax's and log-sum-exp's statistics (an online
//! maximum and rescaled sum, Milakov & Gimelshein 2018) and one for the
//! outputs (over blocks wider than a page, one sweep of the whole block in
//! storage order once every strip's statistics are taken).
//!
//! Fast path: a block takes a cheaper exponential (valid on `[-708, 0]`,
//! `f32`: `[-87, 0]`) only when `fl(min − shift)` is in that range for each
//! of its rows — the very subtraction the kernel evaluates, so the test is
//! exact (rounding is monotone); everywhere else the full, clamped
//! exponential runs.
//!
//! `f32` ([`softmax_f32`], [`logsumexp_f32`]): as torch, the shift `x − m`
//! is rounded to `f32` and exponentiated in `f32` lanes (8 per AVX2 vector,
//! within 1 ulp: [`crate::math::exp_f32`]); unlike torch, the exponentials
//! are summed in `f64` lanes and `log s` is taken of the `f64` sum. A
//! softmax entry is within `2⁻²² + 2⁻²⁴·|x − m|` relative of the exact
//! value plus the sum's relative error, `2⁻²³ + 2⁻²⁴·μ` (`μ` the mean of
//! `|x − m|` under the softmax weights); a log-softmax entry (`(x − m) −
//! log s` in `f32`, no cancellation since `x − m ≤ 0 ≤ log s`) within 1.5
//! ulp plus that. [`sum_f32`] and the shared statistics
//! [`excess_sum_exp_f32`] / [`normalize_excess_f32`] of the `log_softmax`
//! rule keep exponentials in `f64` of the exact shift: sums in 16 `f64`
//! lanes combined pairwise, one rounding to `f32` per result, an error of
//! at most `(n/16 + 4)·2⁻⁵³·Σ|xᵢ|` before that rounding (below
//! `2⁻³³·Σ|xᵢ|` for `n ≤ 2²⁴`): tested against `f64` references on rows of
//! 10⁵–1.4·10⁶ elements.

mod lanes;

use crate::math::exp_impl;
use lanes::{pairwise, row_kernel, Form};

/// The shape of a row-wise reduction in storage order.
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    /// Blocks stored outside the reduced axis.
    pub outer: usize,
    /// Length of the reduced axis.
    pub len: usize,
    /// Contiguous elements stored inside the reduced axis.
    pub inner: usize,
}

impl Rows {
    /// Outer block `o` of a buffer of the input's shape (`len · inner`
    /// elements).
    fn block<'a, T>(&self, x: &'a [T], o: usize) -> &'a [T] {
        let n = self.len * self.inner;
        &x[o * n..(o + 1) * n]
    }

    /// [`Rows::block`], mutable.
    fn block_mut<'a, T>(&self, x: &'a mut [T], o: usize) -> &'a mut [T] {
        let n = self.len * self.inner;
        &mut x[o * n..(o + 1) * n]
    }

    /// Outer block `o` of a buffer of row statistics (`inner` elements).
    fn stats<'a, T>(&self, x: &'a [T], o: usize) -> &'a [T] {
        &x[o * self.inner..(o + 1) * self.inner]
    }

    /// [`Rows::stats`], mutable.
    fn stats_mut<'a, T>(&self, x: &'a mut [T], o: usize) -> &'a mut [T] {
        &mut x[o * self.inner..(o + 1) * self.inner]
    }
}

crate::dispatch::dispatched! {
    /// `softmax` (or, with `log`, `log_softmax`) of `x` along the reduced
    /// axis, into `out`, as torch computes it: shift by the row maximum (NaN
    /// propagating), exponentiate, normalize (by the reciprocal of the row
    /// sum, or one `log` per row). `m` and `s` are scratch of
    /// `outer · inner` elements.
    ///
    /// ```
    /// use param_graph_runtime::rows::{softmax_f64, Rows};
    ///
    /// // A column-major 2×3 matrix, softmax along its rows (axis 1): the
    /// // columns are the reduced positions, stored outside the rows.
    /// let x = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    /// let (mut out, mut m, mut s) = ([0.0; 6], [0.0; 2], [0.0; 2]);
    /// softmax_f64(&x, &mut out, &mut m, &mut s, Rows { outer: 1, len: 3, inner: 2 }, false);
    /// assert!((out[0] + out[2] + out[4] - 1.0).abs() < 1e-15);
    /// ```
    pub fn softmax_f64(x: &[f64], out: &mut [f64], m: &mut [f64], s: &mut [f64], rows: Rows, log: bool) => softmax_impl;
}

crate::dispatch::dispatched! {
    /// `log Σ exp(x)` along the reduced axis into `out` (`outer · inner`
    /// elements), as `torch.logsumexp`: shifted by the row maximum, taken as
    /// 0 when infinite. `m` is scratch of `outer · inner` elements.
    pub fn logsumexp_f64(x: &[f64], out: &mut [f64], m: &mut [f64], rows: Rows) => logsumexp_impl;
}

#[inline(always)]
fn softmax_impl<const FMA: bool>(
    x: &[f64],
    out: &mut [f64],
    m: &mut [f64],
    s: &mut [f64],
    rows: Rows,
    log: bool,
) {
    let form = if log { Form::LogSoftmax } else { Form::Softmax };
    row_kernel::<f64, FMA>(x, out, m, Some(s), rows, form);
}

#[inline(always)]
fn logsumexp_impl<const FMA: bool>(x: &[f64], out: &mut [f64], m: &mut [f64], rows: Rows) {
    row_kernel::<f64, FMA>(x, out, m, None, rows, Form::Lse);
}

// ------------------------------------------------------------------ f32
//
// The f32 kernels accumulate every sum in f64. Each f32 term (and, in the
// shared-statistics kernels, each exponential, evaluated in f64) is exact or
// within an f64 ulp, and the sum
// of n of them in `L` f64 lanes combined pairwise has an error of at most
// (n/L + log₂L)·2⁻⁵³·Σ|xᵢ| before the one rounding to f32: below
// 2⁻³³·Σ|xᵢ| for any n up to 2²⁴, so a sum is the correctly rounded f32 of
// the exact sum unless it cancels by more than nine binary orders of
// magnitude. (torch's f32 cascade sums carry O(log n)·2⁻²⁴·Σ|xᵢ|; a plain
// left-to-right f32 loop carries n·2⁻²⁴·Σ|xᵢ|.) Rows along a strided axis
// are walked in chunks of `L` contiguous lanes with one f64 accumulator per
// lane, so the scratch is a fixed stack array and memory is read in order.

/// Lanes per chunk of the f32 kernels (one f64 accumulator each).
const L: usize = 16;

/// `Σ f64(x)` of a contiguous row in `L` f64 lanes, combined pairwise.
#[inline(always)]
fn sum_contiguous_f32(row: &[f32]) -> f64 {
    let mut acc = [0.0f64; L];
    let chunks = row.chunks_exact(L);
    let rest = chunks.remainder();
    for ch in chunks {
        for (a, v) in acc.iter_mut().zip(ch) {
            *a += f64::from(*v);
        }
    }
    for (a, v) in acc.iter_mut().zip(rest) {
        *a += f64::from(*v);
    }
    pairwise(&acc)
}

crate::dispatch::dispatched! {
    /// `Σ x` along the reduced axis into `out` (`outer · inner` elements),
    /// accumulated in `f64` (error at most `(n/16 + 4)·2⁻⁵³·Σ|xᵢ|` before the
    /// final rounding to `f32`: see the module's f32 notes).
    ///
    /// ```
    /// use param_graph_runtime::rows::{sum_f32, Rows};
    ///
    /// // 1 392 640 × 0.1f32: a left-to-right f32 loop gives 140084.78.
    /// let x = vec![0.1f32; 1_392_640];
    /// let mut out = [0.0f32];
    /// sum_f32(&x, &mut out, Rows { outer: 1, len: x.len(), inner: 1 });
    /// assert_eq!(out[0], 139264.0); // the exact sum is 139264.002
    /// ```
    pub fn sum_f32(x: &[f32], out: &mut [f32], rows: Rows) => sum_f32_impl;
}

#[inline(always)]
fn sum_f32_impl<const FMA: bool>(x: &[f32], out: &mut [f32], rows: Rows) {
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let ob = rows.stats_mut(out, o);
        if rows.inner == 1 {
            ob[0] = sum_contiguous_f32(xb) as f32;
            continue;
        }
        for c0 in (0..rows.inner).step_by(L) {
            let w = L.min(rows.inner - c0);
            let mut acc = [0.0f64; L];
            for row in xb.chunks_exact(rows.inner) {
                for (a, v) in acc[..w].iter_mut().zip(&row[c0..c0 + w]) {
                    *a += f64::from(*v);
                }
            }
            for (oi, a) in ob[c0..c0 + w].iter_mut().zip(&acc[..w]) {
                *oi = *a as f32;
            }
        }
    }
}

crate::dispatch::dispatched! {
    /// [`softmax_f64`] for `f32`: the exponentials in `f32` lanes, summed
    /// in `f64` lanes (see the module's f32 notes for the error bounds). `m`
    /// and `s` receive the row maxima and sums (rounded to `f32`).
    pub fn softmax_f32(x: &[f32], out: &mut [f32], m: &mut [f32], s: &mut [f32], rows: Rows, log: bool) => softmax_f32_impl;
}

#[inline(always)]
fn softmax_f32_impl<const FMA: bool>(
    x: &[f32],
    out: &mut [f32],
    m: &mut [f32],
    s: &mut [f32],
    rows: Rows,
    log: bool,
) {
    let form = if log { Form::LogSoftmax } else { Form::Softmax };
    row_kernel::<f32, FMA>(x, out, m, Some(s), rows, form);
}

crate::dispatch::dispatched! {
    /// [`logsumexp_f64`] for `f32`: `log Σ exp(x − m) + m`, the
    /// exponentials in `f32` lanes, their sum, its `log` and the result in
    /// `f64` rounded to `f32` once (see the module's f32 notes). `m`
    /// receives the shifts.
    pub fn logsumexp_f32(x: &[f32], out: &mut [f32], m: &mut [f32], rows: Rows) => logsumexp_f32_impl;
}

#[inline(always)]
fn logsumexp_f32_impl<const FMA: bool>(x: &[f32], out: &mut [f32], m: &mut [f32], rows: Rows) {
    row_kernel::<f32, FMA>(x, out, m, None, rows, Form::Lse);
}

crate::dispatch::dispatched! {
    /// The shared row statistic of the `log_softmax` rule for `f32`: the
    /// *excess* `e = Σ exp(x − m) − 1` along the reduced axis, with `m` the
    /// row maximum (an element of the row, so `x − m` is exact in `f64`).
    /// Terms with `x = m` count 1 each without an exponential, the others
    /// are summed in 16 `f64` lanes combined pairwise (contiguous rows; `f64`
    /// per output otherwise), and `e` is rounded to `f32` once. Storing `e`
    /// instead of `s = 1 + e` keeps `log s = log1p(e)` accurate when `s ≈ 1`
    /// (`[0, −17, −30]`: `log p₀ = −4.14e-8`, where `log(f32(s)) = 0`).
    /// [`normalize_excess_f32`] reads it.
    ///
    /// ```
    /// use param_graph_runtime::rows::{excess_sum_exp_f32, Rows};
    ///
    /// let mut e = [f32::NAN];
    /// excess_sum_exp_f32(&[0.0, -17.0, -30.0], &[0.0], &mut e, Rows { outer: 1, len: 3, inner: 1 });
    /// assert_eq!(e[0], (-17.0f64).exp() as f32 + (-30.0f64).exp() as f32);
    /// ```
    pub fn excess_sum_exp_f32(x: &[f32], m: &[f32], out: &mut [f32], rows: Rows) => excess_f32_impl;
}

/// `exp(t)`, or 0 with one more tie counted when `t = 0`.
#[inline(always)]
fn excess_term<const FMA: bool>(t: f64, ties: &mut f64) -> f64 {
    if t == 0.0 {
        *ties += 1.0;
        0.0
    } else {
        exp_impl::<FMA>(t)
    }
}

#[inline(always)]
fn excess_f32_impl<const FMA: bool>(x: &[f32], m: &[f32], out: &mut [f32], rows: Rows) {
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let mb = rows.stats(m, o);
        let ob = rows.stats_mut(out, o);
        if rows.inner == 1 {
            let mx = f64::from(mb[0]);
            let (mut acc, mut ties) = ([0.0f64; L], [0.0f64; L]);
            for ch in xb.chunks(L) {
                for ((a, t), v) in acc.iter_mut().zip(ties.iter_mut()).zip(ch) {
                    *a += excess_term::<FMA>(f64::from(*v) - mx, t);
                }
            }
            ob[0] = ((pairwise(&ties) - 1.0) + pairwise(&acc)) as f32;
            continue;
        }
        for c0 in (0..rows.inner).step_by(L) {
            let w = L.min(rows.inner - c0);
            let (mut acc, mut ties) = ([0.0f64; L], [0.0f64; L]);
            for row in xb.chunks_exact(rows.inner) {
                for (((a, t), v), mi) in acc[..w]
                    .iter_mut()
                    .zip(ties[..w].iter_mut())
                    .zip(&row[c0..c0 + w])
                    .zip(&mb[c0..c0 + w])
                {
                    *a += excess_term::<FMA>(f64::from(*v) - f64::from(*mi), t);
                }
            }
            for ((oi, a), t) in ob[c0..c0 + w].iter_mut().zip(&acc[..w]).zip(&ties[..w]) {
                *oi = ((*t - 1.0) + *a) as f32;
            }
        }
    }
}

crate::dispatch::dispatched! {
    /// Softmax (`exp(x − m) / (1 + e)`) or log-softmax
    /// (`(x − m) − log1p(e)`) from the row maximum `m` and the excess `e` of
    /// [`excess_sum_exp_f32`], evaluated in `f64` and rounded to `f32` once
    /// per output. Log-softmax error: at most `½ ulp` of the result plus
    /// `2⁻²⁴·|log s|` (the rounding of `e`), where torch's `f32`
    /// `(x − m) − log s` also rounds `x − m`, `s` and `log s`.
    pub fn normalize_excess_f32(x: &[f32], m: &[f32], e: &[f32], out: &mut [f32], rows: Rows, log: bool) => normalize_excess_f32_impl;
}

#[inline(always)]
fn normalize_excess_f32_impl<const FMA: bool>(
    x: &[f32],
    m: &[f32],
    e: &[f32],
    out: &mut [f32],
    rows: Rows,
    log: bool,
) {
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let ob = rows.block_mut(out, o);
        let mb = rows.stats(m, o);
        let eb = rows.stats(e, o);
        for (row, orow) in xb
            .chunks_exact(rows.inner)
            .zip(ob.chunks_exact_mut(rows.inner))
        {
            for (((v, oi), mi), ei) in row.iter().zip(orow.iter_mut()).zip(mb).zip(eb) {
                let t = f64::from(*v) - f64::from(*mi);
                let ei = f64::from(*ei);
                *oi = if log {
                    (t - ei.ln_1p()) as f32
                } else {
                    (exp_impl::<FMA>(t) / (1.0 + ei)) as f32
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64], rows: Rows, log: bool) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        for o in 0..rows.outer {
            for i in 0..rows.inner {
                let at = |k: usize| (o * rows.len + k) * rows.inner + i;
                let m = (0..rows.len)
                    .map(|k| x[at(k)])
                    .fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = (0..rows.len).map(|k| (x[at(k)] - m).exp()).sum();
                for k in 0..rows.len {
                    out[at(k)] = if log {
                        x[at(k)] - m - s.ln()
                    } else {
                        (x[at(k)] - m).exp() / s
                    };
                }
            }
        }
        out
    }

    /// Values in f32 for the f32 kernels: a fixed-seed LCG in `[lo, hi)`.
    fn values_f32(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)) as f32
            })
            .collect()
    }

    /// Row `(o, i)` of a block layout, in f64.
    fn row_f64(x: &[f32], rows: Rows, o: usize, i: usize) -> Vec<f64> {
        (0..rows.len)
            .map(|k| f64::from(x[(o * rows.len + k) * rows.inner + i]))
            .collect()
    }

    /// The f32 kernels on long rows (≥ 10⁵ elements, contiguous and strided)
    /// against f64 references: sums within ½ ulp of f32 plus 2⁻³⁰·Σ|x|,
    /// softmax entries within 2 ulps of f32 (relative 2⁻²², plus an absolute
    /// 2⁻¹⁴⁹·… floor for underflowing entries), log-softmax and
    /// log-sum-exp within 2⁻²² of their magnitude (at least 1).
    #[test]
    fn f32_kernels_are_as_accurate_as_f64_rounded_once() {
        for (rows, lo, hi) in [
            (
                Rows {
                    outer: 1,
                    len: 200_003,
                    inner: 1,
                },
                -1.0,
                1.0,
            ),
            (
                Rows {
                    outer: 2,
                    len: 100_001,
                    inner: 1,
                },
                0.0,
                1.0,
            ),
            (
                Rows {
                    outer: 1,
                    len: 100_000,
                    inner: 3,
                },
                -30.0,
                30.0,
            ),
            (
                Rows {
                    outer: 2,
                    len: 30_000,
                    inner: 37,
                },
                -5.0,
                5.0,
            ),
            // Page-wide strips: 1024 lanes and a partial one of 76.
            (
                Rows {
                    outer: 1,
                    len: 1_000,
                    inner: 1_100,
                },
                -20.0,
                20.0,
            ),
        ] {
            let n = rows.outer * rows.len * rows.inner;
            let k = rows.outer * rows.inner;
            let x = values_f32(n, lo, hi, n as u64);
            let mut sum = vec![0.0f32; k];
            sum_f32(&x, &mut sum, rows);
            let (mut sm, mut lsm) = (vec![0.0f32; n], vec![0.0f32; n]);
            let (mut m, mut s) = (vec![0.0f32; k], vec![0.0f32; k]);
            softmax_f32(&x, &mut sm, &mut m, &mut s, rows, false);
            softmax_f32(&x, &mut lsm, &mut m, &mut s, rows, true);
            let mut lse = vec![0.0f32; k];
            logsumexp_f32(&x, &mut lse, &mut m, rows);
            let tol = 2f64.powi(-22);
            for o in 0..rows.outer {
                for i in 0..rows.inner {
                    let r = row_f64(&x, rows, o, i);
                    let exact: f64 = r.iter().sum();
                    let abs: f64 = r.iter().map(|v| v.abs()).sum();
                    let got = f64::from(sum[o * rows.inner + i]);
                    let half_ulp = f64::from((exact as f32).abs()) * 2f64.powi(-24);
                    assert!(
                        (got - exact).abs() <= half_ulp + abs * 2f64.powi(-30),
                        "sum {got} vs {exact} ({rows:?})"
                    );
                    let mx = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = r.iter().map(|v| (v - mx).exp()).sum();
                    let want_lse = mx + z.ln();
                    let got_lse = f64::from(lse[o * rows.inner + i]);
                    // The mean shift |x − m| under the softmax weights: the
                    // relative error the f32 rounding of the shifts leaves
                    // in the sum, in units of 2⁻²⁴.
                    let mean_t: f64 = r.iter().map(|v| (v - mx).exp() * (mx - v)).sum::<f64>() / z;
                    let sum_err = 2f64.powi(-23) + 2f64.powi(-24) * mean_t;
                    assert!((got_lse - want_lse).abs() <= tol * want_lse.abs().max(1.0) + sum_err);
                    for (kk, v) in r.iter().enumerate() {
                        let at = (o * rows.len + kk) * rows.inner + i;
                        let want = (v - mx).exp() / z;
                        let g = f64::from(sm[at]);
                        // Each entry: its shift rounded to f32, its
                        // exponential (1 ulp), the reciprocal and the
                        // product (½ ulp each), and the sum's error.
                        let rel = 2f64.powi(-22) + 2f64.powi(-24) * (mx - v) + sum_err;
                        assert!(
                            (g - want).abs() <= rel * want + 1e-44,
                            "softmax {g} vs {want}"
                        );
                        let want = v - want_lse;
                        let g = f64::from(lsm[at]);
                        assert!(
                            (g - want).abs() <= tol * want.abs().max(1.0) + sum_err,
                            "log_softmax {g} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The handed input: 1 392 640 × 0.1f32 (torch: 139264.016; a
    /// left-to-right f32 loop: 140084.78; exact: 139264.002).
    #[test]
    fn f32_sum_of_a_million_tenths() {
        let x = vec![0.1f32; 1_392_640];
        let exact = 1_392_640.0 * f64::from(0.1f32);
        for rows in [
            Rows {
                outer: 1,
                len: 1_392_640,
                inner: 1,
            },
            Rows {
                outer: 1,
                len: 1_392_640 / 16,
                inner: 16,
            },
        ] {
            let mut out = vec![0.0f32; rows.inner];
            sum_f32(&x, &mut out, rows);
            let total: f64 = out.iter().map(|v| f64::from(*v)).sum();
            assert!((total - exact).abs() < 0.02, "{total} vs {exact}");
        }
        let mut out = [0.0f32];
        sum_f32(
            &x,
            &mut out,
            Rows {
                outer: 1,
                len: 1_392_640,
                inner: 1,
            },
        );
        assert_eq!(out[0], exact as f32);
    }

    #[test]
    fn f32_kernels_on_non_finite_rows_match_torch() {
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        let rows = Rows {
            outer: 4,
            len: 3,
            inner: 1,
        };
        let x = [
            -inf, -inf, -inf, inf, 0.0, 1.0, nan, 0.0, 1.0, -inf, 2.0, -inf,
        ];
        let (mut out, mut m, mut s) = ([0.0f32; 12], [0.0f32; 4], [0.0f32; 4]);
        softmax_f32(&x, &mut out, &mut m, &mut s, rows, false);
        assert!(out[..9].iter().all(|v| v.is_nan()), "{out:?}");
        assert_eq!(&out[9..], &[0.0, 1.0, 0.0]);
        softmax_f32(&x, &mut out, &mut m, &mut s, rows, true);
        assert!(out[..9].iter().all(|v| v.is_nan()), "{out:?}");
        assert_eq!(&out[9..], &[-inf, 0.0, -inf]);
        let mut lse = [0.0f32; 4];
        logsumexp_f32(&x, &mut lse, &mut m, rows);
        assert_eq!((lse[0], lse[1], lse[3]), (-inf, inf, 2.0));
        assert!(lse[2].is_nan());
        // The same rows stored strided (3 lanes of 4 rows each).
        let rows_t = Rows {
            outer: 1,
            len: 3,
            inner: 4,
        };
        let xt: Vec<f32> = (0..12).map(|j| x[(j % 4) * 3 + j / 4]).collect();
        logsumexp_f32(&xt, &mut lse, &mut m, rows_t);
        assert_eq!((lse[0], lse[1], lse[3]), (-inf, inf, 2.0));
        let mut outt = [0.0f32; 12];
        softmax_f32(&xt, &mut outt, &mut m, &mut s, rows_t, true);
        assert_eq!((outt[3], outt[7], outt[11]), (-inf, 0.0, -inf));
        assert!(outt[0].is_nan() && outt[1].is_nan() && outt[2].is_nan());
        let mut sums = [0.0f32; 4];
        sum_f32(&xt, &mut sums, rows_t);
        assert!(sums[0] == -inf && sums[1] == inf && sums[2].is_nan() && sums[3] == -inf);
    }

    /// The cheap exponential is taken only where the shifted values the
    /// kernel computes are in its range, whatever the magnitude of the
    /// maximum: `1e18 − 708` rounds to `1e18 − 768`, which an inexact range
    /// test let through to the unguarded exponential.
    #[test]
    fn huge_maxima_take_the_guarded_exponential() {
        let rows = Rows {
            outer: 1,
            len: 2,
            inner: 1,
        };
        for (x, sm, lsm) in [
            ([1e18, 1e18 - 768.0], [1.0, 0.0], [0.0, -768.0]),
            // Neighbours 1.5e284 apart.
            (
                [1e300, 1e300 - 1e284],
                [1.0, 0.0],
                [0.0, (1e300 - 1e284) - 1e300],
            ),
            ([-1e18 - 1024.0, -1e18], [0.0, 1.0], [-1024.0, 0.0]),
            (
                [2f64.powi(55), 2f64.powi(55) - 760.0],
                [1.0, 0.0],
                [0.0, -760.0],
            ),
        ] {
            let (mut m, mut s) = ([0.0], [0.0]);
            let mut out = [0.0; 2];
            softmax_f64(&x, &mut out, &mut m, &mut s, rows, false);
            assert_eq!(out, sm, "softmax({x:?})");
            softmax_f64(&x, &mut out, &mut m, &mut s, rows, true);
            assert_eq!(out, lsm, "log_softmax({x:?})");
            let mut lse = [0.0];
            logsumexp_f64(&x, &mut lse, &mut m, rows);
            assert_eq!(lse[0], x[0].max(x[1]), "logsumexp({x:?})");
        }
    }

    #[test]
    fn softmax_and_logsumexp_match_the_definition_for_every_block_shape() {
        for rows in [
            Rows {
                outer: 1,
                len: 7,
                inner: 5,
            },
            Rows {
                outer: 3,
                len: 4,
                inner: 1,
            },
            Rows {
                outer: 2,
                len: 3,
                inner: 6,
            },
            // Flat walks (lanes dividing 16), a strip whose last group of
            // 16 overlaps the one before (37 lanes), and two strips, the
            // second partial (200 lanes), over more rows than one block.
            Rows {
                outer: 2,
                len: 40,
                inner: 8,
            },
            Rows {
                outer: 2,
                len: 9,
                inner: 37,
            },
            Rows {
                outer: 1,
                len: 70,
                inner: 200,
            },
        ] {
            let n = rows.outer * rows.len * rows.inner;
            let x: Vec<f64> = (0..n).map(|k| ((k * 37) % 11) as f64 * 0.7 - 3.0).collect();
            for log in [false, true] {
                let mut out = vec![0.0; n];
                let (mut m, mut s) = (
                    vec![0.0; rows.outer * rows.inner],
                    vec![0.0; rows.outer * rows.inner],
                );
                softmax_f64(&x, &mut out, &mut m, &mut s, rows, log);
                for (g, w) in out.iter().zip(naive(&x, rows, log)) {
                    assert!((g - w).abs() <= 1e-14 * w.abs().max(1.0), "{g} vs {w}");
                }
            }
            let mut lse = vec![0.0; rows.outer * rows.inner];
            let mut m = vec![0.0; rows.outer * rows.inner];
            logsumexp_f64(&x, &mut lse, &mut m, rows);
            let ls = naive(&x, rows, true);
            // log_softmax = x − lse, so lse = x − log_softmax at any position.
            for o in 0..rows.outer {
                for i in 0..rows.inner {
                    let at = (o * rows.len) * rows.inner + i;
                    assert!((lse[o * rows.inner + i] - (x[at] - ls[at])).abs() < 1e-12);
                }
            }
        }
    }

    /// Log-softmax over blocks wider than a page strip writes its outputs
    /// in one sweep after every strip's statistics, with `log s` kept in
    /// the output's first row meanwhile: every lane of every outer block,
    /// the first row included, against each lane taken alone (a contiguous
    /// row, another code path), at several strips, one row, no rows, and
    /// with ±inf and NaN in the first and later rows.
    #[test]
    fn wide_blocks_sweep_their_outputs_after_every_strip() {
        let shapes = [(2, 5, 1_100), (2, 1, 600), (3, 0, 300), (1, 40, 2_100)];
        for (outer, len, inner) in shapes {
            let rows = Rows { outer, len, inner };
            let n = outer * len * inner;
            let mut x: Vec<f64> = (0..n).map(|k| ((k * 37) % 23) as f64 * 0.9 - 9.0).collect();
            let at = |o: usize, k: usize, i: usize| (o * len + k) * inner + i;
            if len >= 2 {
                for (o, k, i, v) in [
                    (0, 0, 3, f64::NAN),
                    (0, 1, 700, f64::INFINITY),
                    (outer - 1, 0, 513, f64::NEG_INFINITY),
                    (outer - 1, len - 1, inner - 1, f64::INFINITY),
                    (outer - 1, 0, inner - 1, f64::INFINITY),
                ] {
                    x[at(o, k, i)] = v;
                }
            }
            let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
            let (mut out, mut out32) = (vec![0.0; n], vec![0.0f32; n]);
            let k = outer * inner;
            let (mut m, mut s) = (vec![0.0; k], vec![0.0; k]);
            let (mut m32, mut s32) = (vec![0.0f32; k], vec![0.0f32; k]);
            softmax_f64(&x, &mut out, &mut m, &mut s, rows, true);
            softmax_f32(&x32, &mut out32, &mut m32, &mut s32, rows, true);
            let lane = Rows {
                outer: 1,
                len,
                inner: 1,
            };
            for o in 0..outer {
                for i in 0..inner {
                    let r: Vec<f64> = (0..len).map(|k| x[at(o, k, i)]).collect();
                    let r32: Vec<f32> = r.iter().map(|v| *v as f32).collect();
                    let (mut want, mut want32) = (vec![0.0; len], vec![0.0f32; len]);
                    let (mut m1, mut s1) = ([0.0], [0.0]);
                    let (mut m1_32, mut s1_32) = ([0.0f32], [0.0f32]);
                    softmax_f64(&r, &mut want, &mut m1, &mut s1, lane, true);
                    softmax_f32(&r32, &mut want32, &mut m1_32, &mut s1_32, lane, true);
                    let same = |g: f64, w: f64, tol: f64| {
                        (g.is_nan() && w.is_nan())
                            || g == w
                            || (g - w).abs() <= tol * w.abs().max(1.0)
                    };
                    for k in 0..len {
                        let (g, w) = (out[at(o, k, i)], want[k]);
                        assert!(same(g, w, 1e-14), "f64 {g} vs {w} at {o},{k},{i} {rows:?}");
                        let (g, w) = (out32[at(o, k, i)], want32[k]);
                        let (g, w) = (f64::from(g), f64::from(w));
                        assert!(same(g, w, 2e-6), "f32 {g} vs {w} at {o},{k},{i} {rows:?}");
                    }
                    let (g, w) = (m[o * inner + i], m1[0]);
                    assert!(same(g, w, 0.0), "max {g} vs {w}");
                }
            }
        }
    }
}
