//! Row-wise kernels (softmax, log-softmax, log-sum-exp) over a reduced axis,
//! dispatched to AVX2/FMA at run time.
//!
//! Any dense layout of a tensor, reduced along one axis, is three nested
//! blocks in storage order: `outer` blocks (the axes stored outside the
//! reduced one), `len` positions along the reduced axis, and `inner`
//! contiguous elements (the axes stored inside it). Element `(o, k, i)` sits
//! at `(o·len + k)·inner + i`, and its row statistic at `o·inner + i`. The
//! code generator computes the three sizes from the layout; these kernels
//! then walk memory in order, one vectorized sweep per reduced position.

use crate::math::{exp_impl, exp_normal_nonpositive};

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

crate::dispatch::dispatched! {
    /// `softmax` (or, with `log`, `log_softmax`) of `x` along the reduced
    /// axis, into `out`, as torch computes it: shift by the row maximum (NaN
    /// propagating), exponentiate, normalize (one `log` per row). `m` and `s`
    /// are scratch of `outer · inner` elements.
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
fn nan_max(a: f64, b: f64) -> f64 {
    let larger = if b > a { b } else { a };
    if b.is_nan() {
        b
    } else {
        larger
    }
}

/// Row maxima of block `o` into `m` (`inner` elements).
#[inline(always)]
fn block_max(x: &[f64], m: &mut [f64], rows: Rows) {
    m.fill(f64::NEG_INFINITY);
    for row in x.chunks_exact(rows.inner) {
        for (mi, v) in m.iter_mut().zip(row) {
            *mi = nan_max(*mi, *v);
        }
    }
}

/// Row maxima into `m` and minima into `lo`, in the same pass, and whether
/// every shifted value `x − m` of the block, *as the kernels compute it*,
/// lies in `[-708, 0]`, so the cheaper exponential applies to the whole
/// block.
///
/// The test is exact in floating point: it evaluates the very subtraction
/// the kernels evaluate, `lo − m`, for the smallest element, and rounding is
/// monotone, so every other `fl(x − m)` lies in `[fl(lo − m), 0]`. (Testing
/// `lo ≥ m − 708` instead is wrong once `|m| ≥ 2⁵⁵`: `m − 708` rounds, and
/// shifted values far below −708 would reach the unguarded exponential.)
/// Non-finite maxima, an infinite shifted minimum and NaN all fail it.
#[inline(always)]
fn block_max_in_range(x: &[f64], m: &mut [f64], lo: &mut [f64], rows: Rows) -> bool {
    m.fill(f64::NEG_INFINITY);
    lo.fill(f64::INFINITY);
    for row in x.chunks_exact(rows.inner) {
        for ((mi, li), v) in m.iter_mut().zip(lo.iter_mut()).zip(row) {
            *mi = nan_max(*mi, *v);
            *li = if *v < *li { *v } else { *li };
        }
    }
    m.iter().zip(lo.iter()).fold(true, |ok, (mi, li)| {
        ok & mi.is_finite() & (*li - *mi >= -708.0)
    })
}

/// `out = exp(x − m)` row by row, `s += out`, for one block.
#[inline(always)]
fn block_exp_sum<const FMA: bool>(
    x: &[f64],
    out: &mut [f64],
    m: &[f64],
    s: &mut [f64],
    rows: Rows,
    fast: bool,
) {
    s.fill(0.0);
    for (row, orow) in x
        .chunks_exact(rows.inner)
        .zip(out.chunks_exact_mut(rows.inner))
    {
        if fast {
            for (((o, v), mi), si) in orow.iter_mut().zip(row).zip(m).zip(s.iter_mut()) {
                let e = exp_normal_nonpositive::<FMA>(*v - *mi);
                *o = e;
                *si += e;
            }
        } else {
            for (((o, v), mi), si) in orow.iter_mut().zip(row).zip(m).zip(s.iter_mut()) {
                let e = exp_impl::<FMA>(*v - *mi);
                *o = e;
                *si += e;
            }
        }
    }
}

/// `s += exp(x − m)` row by row for one block, the exponentials not kept
/// (log-softmax needs only their sums: one store stream fewer).
#[inline(always)]
fn block_exp_sum_only<const FMA: bool>(
    x: &[f64],
    m: &[f64],
    s: &mut [f64],
    rows: Rows,
    fast: bool,
) {
    s.fill(0.0);
    for row in x.chunks_exact(rows.inner) {
        if fast {
            for ((v, mi), si) in row.iter().zip(m).zip(s.iter_mut()) {
                *si += exp_normal_nonpositive::<FMA>(*v - *mi);
            }
        } else {
            for ((v, mi), si) in row.iter().zip(m).zip(s.iter_mut()) {
                *si += exp_impl::<FMA>(*v - *mi);
            }
        }
    }
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
    let block = rows.len * rows.inner;
    for o in 0..rows.outer {
        let xb = &x[o * block..(o + 1) * block];
        let ob = &mut out[o * block..(o + 1) * block];
        let mb = &mut m[o * rows.inner..(o + 1) * rows.inner];
        let sb = &mut s[o * rows.inner..(o + 1) * rows.inner];
        // `sb` holds the minima until the sums overwrite it.
        let fast = block_max_in_range(xb, mb, sb, rows);
        if log {
            block_exp_sum_only::<FMA>(xb, mb, sb, rows, fast);
            for si in sb.iter_mut() {
                *si = si.ln();
            }
            for (row, orow) in xb
                .chunks_exact(rows.inner)
                .zip(ob.chunks_exact_mut(rows.inner))
            {
                for (((o, v), mi), si) in orow.iter_mut().zip(row).zip(mb.iter()).zip(sb.iter()) {
                    *o = *v - *mi - *si;
                }
            }
        } else {
            block_exp_sum::<FMA>(xb, ob, mb, sb, rows, fast);
            for orow in ob.chunks_exact_mut(rows.inner) {
                for (o, si) in orow.iter_mut().zip(sb.iter()) {
                    *o /= *si;
                }
            }
        }
    }
}

#[inline(always)]
fn logsumexp_impl<const FMA: bool>(x: &[f64], out: &mut [f64], m: &mut [f64], rows: Rows) {
    let block = rows.len * rows.inner;
    for o in 0..rows.outer {
        let xb = &x[o * block..(o + 1) * block];
        let mb = &mut m[o * rows.inner..(o + 1) * rows.inner];
        let sb = &mut out[o * rows.inner..(o + 1) * rows.inner];
        block_max(xb, mb, rows);
        for mi in mb.iter_mut() {
            if mi.is_infinite() {
                *mi = 0.0;
            }
        }
        sb.fill(0.0);
        for row in xb.chunks_exact(rows.inner) {
            for ((si, v), mi) in sb.iter_mut().zip(row).zip(mb.iter()) {
                *si += exp_impl::<FMA>(*v - *mi);
            }
        }
        for (si, mi) in sb.iter_mut().zip(mb.iter()) {
            *si = si.ln() + *mi;
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
}
