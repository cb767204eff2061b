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
//!
//! Fast path: softmax takes a cheaper exponential (valid on `[-708, 0]`)
//! for a block only when `fl(min − max) ≥ −708` for each of its rows — the
//! very subtraction the kernel evaluates, so the test is exact (rounding is
//! monotone); everywhere else the full, clamped exponential runs.
//!
//! `f32` ([`sum_f32`], [`softmax_f32`], [`logsumexp_f32`], and the shared
//! statistics [`excess_sum_exp_f32`] / [`normalize_excess_f32`]):
//! exponentials in `f64` of the shift `x − m` taken exactly, sums in 16
//! `f64` lanes combined pairwise, one rounding to `f32` per result. The error of a sum of `n` terms is at most
//! `(n/16 + 4)·2⁻⁵³·Σ|xᵢ|` before that rounding (below `2⁻³³·Σ|xᵢ|` for
//! `n ≤ 2²⁴`): tested against `f64` references on rows of 10⁵–1.4·10⁶
//! elements.

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
    // Columns of the block in chunks of `W`, each chunk's maxima and minima
    // kept in registers over every row, stored once: updating `m` and `lo`
    // in memory row after row costs masked stores per element.
    const W: usize = 16;
    let inner = rows.inner;
    let mut j0 = 0;
    while j0 < inner {
        let w = W.min(inner - j0);
        let (mut mx, mut mn) = ([f64::NEG_INFINITY; W], [f64::INFINITY; W]);
        if w == W {
            for row in x.chunks_exact(inner) {
                // Exactly `W` long: the loop below has a constant trip count.
                let seg = &row[j0..j0 + W];
                for k in 0..W {
                    mx[k] = nan_max(mx[k], seg[k]);
                    mn[k] = if seg[k] < mn[k] { seg[k] } else { mn[k] };
                }
            }
        } else {
            for row in x.chunks_exact(inner) {
                for (k, v) in row[j0..j0 + w].iter().enumerate() {
                    mx[k] = nan_max(mx[k], *v);
                    mn[k] = if *v < mn[k] { *v } else { mn[k] };
                }
            }
        }
        m[j0..j0 + w].copy_from_slice(&mx[..w]);
        lo[j0..j0 + w].copy_from_slice(&mn[..w]);
        j0 += w;
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
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let ob = rows.block_mut(out, o);
        let mb = rows.stats_mut(m, o);
        let sb = rows.stats_mut(s, o);
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
            // One division per row, then products: torch's CPU softmax
            // multiplies by the reciprocal of the sum the same way (a
            // division per element costs as much as the exponential).
            for si in sb.iter_mut() {
                *si = 1.0 / *si;
            }
            for orow in ob.chunks_exact_mut(rows.inner) {
                for (o, ri) in orow.iter_mut().zip(sb.iter()) {
                    *o *= *ri;
                }
            }
        }
    }
}

#[inline(always)]
fn logsumexp_impl<const FMA: bool>(x: &[f64], out: &mut [f64], m: &mut [f64], rows: Rows) {
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let mb = rows.stats_mut(m, o);
        let sb = rows.stats_mut(out, o);
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

// ------------------------------------------------------------------ f32
//
// The f32 kernels accumulate every sum in f64. Each f32 term (and each
// exponential, evaluated in f64) is exact or within an f64 ulp, and the sum
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

/// `Σ acc` of the `L` lane accumulators, pairwise.
#[inline(always)]
fn pairwise(acc: &[f64; L]) -> f64 {
    let mut h = *acc;
    let mut n = L;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            h[i] += h[i + n];
        }
    }
    h[0]
}

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

/// `exp(x − m)` in f64 for an f32 `x`: the cheap exponential when `fast`.
/// A function, not a closure, so `#[inline(always)]` carries it into the
/// AVX2/FMA callers.
#[inline(always)]
fn shifted_exp_f32<const FMA: bool>(v: f32, m: f64, fast: bool) -> f64 {
    let t = f64::from(v) - m;
    if fast {
        exp_normal_nonpositive::<FMA>(t)
    } else {
        exp_impl::<FMA>(t)
    }
}

/// Maximum (NaN-propagating) and minimum of a contiguous row, in `L` lanes.
#[inline(always)]
fn max_min_contiguous_f32(row: &[f32]) -> (f32, f32) {
    let mut hi = [f32::NEG_INFINITY; L];
    let mut lo = [f32::INFINITY; L];
    for ch in row.chunks(L) {
        for ((h, l), v) in hi.iter_mut().zip(lo.iter_mut()).zip(ch) {
            let larger = if *v > *h { *v } else { *h };
            *h = if v.is_nan() { *v } else { larger };
            *l = if *v < *l { *v } else { *l };
        }
    }
    let (mut h, mut l) = (f32::NEG_INFINITY, f32::INFINITY);
    for (hv, lv) in hi.iter().zip(&lo) {
        let larger = if *hv > h { *hv } else { h };
        h = if hv.is_nan() { *hv } else { larger };
        l = if *lv < l { *lv } else { l };
    }
    (h, l)
}

/// `Σ exp(x − m)` of a contiguous row in `L` f64 lanes combined pairwise,
/// the exponentials stored rounded to f32 in `out` when given.
#[inline(always)]
fn sum_exp_contiguous_f32<const FMA: bool>(
    row: &[f32],
    m: f64,
    out: Option<&mut [f32]>,
    fast: bool,
) -> f64 {
    let mut acc = [0.0f64; L];
    match out {
        Some(out) => {
            for (ch, och) in row.chunks(L).zip(out.chunks_mut(L)) {
                for ((a, v), o) in acc.iter_mut().zip(ch).zip(och) {
                    let x = shifted_exp_f32::<FMA>(*v, m, fast);
                    *o = x as f32;
                    *a += x;
                }
            }
        }
        None => {
            for ch in row.chunks(L) {
                for (a, v) in acc.iter_mut().zip(ch) {
                    *a += shifted_exp_f32::<FMA>(*v, m, fast);
                }
            }
        }
    }
    pairwise(&acc)
}

/// The row statistics of a contiguous f32 row: the maximum in f64 and
/// whether the cheap exponential applies (the exact test of
/// [`block_max_in_range`], on `fl(min − max)` as the kernels compute it).
#[inline(always)]
fn contiguous_stats_f32(row: &[f32]) -> (f64, bool) {
    let (h, l) = max_min_contiguous_f32(row);
    let m = f64::from(h);
    (m, m.is_finite() & (f64::from(l) - m >= -708.0))
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

/// Maxima (NaN-propagating) and minima of `w` lanes starting at `c0` over
/// the rows of one block, and whether every shifted value `fl(x − m)` (in
/// f64, as the kernels compute it) lies in `[-708, 0]`: the exact test of
/// [`block_max_in_range`].
#[inline(always)]
fn chunk_max_f32(xb: &[f32], inner: usize, c0: usize, w: usize, m: &mut [f64; L]) -> bool {
    let mut lo = [f32::INFINITY; L];
    let mut hi = [f32::NEG_INFINITY; L];
    for row in xb.chunks_exact(inner) {
        for ((h, l), v) in hi[..w]
            .iter_mut()
            .zip(lo[..w].iter_mut())
            .zip(&row[c0..c0 + w])
        {
            let larger = if *v > *h { *v } else { *h };
            *h = if v.is_nan() { *v } else { larger };
            *l = if *v < *l { *v } else { *l };
        }
    }
    let mut ok = true;
    for ((mi, h), l) in m[..w].iter_mut().zip(&hi[..w]).zip(&lo[..w]) {
        *mi = f64::from(*h);
        ok &= mi.is_finite() & (f64::from(*l) - *mi >= -708.0);
    }
    ok
}

crate::dispatch::dispatched! {
    /// [`softmax_f64`] for `f32`: the exponentials evaluated in `f64` and
    /// summed in `f64` lanes (see the module's f32 notes), each output
    /// rounded to `f32` once (log-softmax: `x − m − log s` in `f64`). `m`
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
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let ob = rows.block_mut(out, o);
        let mb = rows.stats_mut(m, o);
        let sb = rows.stats_mut(s, o);
        if rows.inner == 1 {
            let (mx, fast) = contiguous_stats_f32(xb);
            let keep = if log { None } else { Some(&mut ob[..]) };
            let sum = sum_exp_contiguous_f32::<FMA>(xb, mx, keep, fast);
            (mb[0], sb[0]) = (mx as f32, sum as f32);
            if log {
                // (x − m) − log s, in that order: m + log s would round
                // log s away when |m| is large.
                let ls = sum.ln();
                for (oi, v) in ob.iter_mut().zip(xb) {
                    *oi = ((f64::from(*v) - mx) - ls) as f32;
                }
            } else {
                let k = 1.0 / sum;
                for oi in ob.iter_mut() {
                    *oi = (f64::from(*oi) * k) as f32;
                }
            }
            continue;
        }
        for c0 in (0..rows.inner).step_by(L) {
            let w = L.min(rows.inner - c0);
            let mut mx = [0.0f64; L];
            let fast = chunk_max_f32(xb, rows.inner, c0, w, &mut mx);
            let mut sum = [0.0f64; L];
            for (row, orow) in xb
                .chunks_exact(rows.inner)
                .zip(ob.chunks_exact_mut(rows.inner))
            {
                let lanes = sum[..w].iter_mut().zip(&mx[..w]);
                let io = row[c0..c0 + w].iter().zip(orow[c0..c0 + w].iter_mut());
                for ((a, mi), (v, oi)) in lanes.zip(io) {
                    let e = shifted_exp_f32::<FMA>(*v, *mi, fast);
                    *oi = e as f32;
                    *a += e;
                }
            }
            // Shift and normalizer per lane, in f64.
            let mut scale = [0.0f64; L];
            for (((k, mi), si), (mo, so)) in scale[..w]
                .iter_mut()
                .zip(&mx[..w])
                .zip(&sum[..w])
                .zip(mb[c0..c0 + w].iter_mut().zip(sb[c0..c0 + w].iter_mut()))
            {
                *mo = *mi as f32;
                *so = *si as f32;
                *k = if log { si.ln() } else { 1.0 / *si };
            }
            for (row, orow) in xb
                .chunks_exact(rows.inner)
                .zip(ob.chunks_exact_mut(rows.inner))
            {
                let io = row[c0..c0 + w].iter().zip(orow[c0..c0 + w].iter_mut());
                if log {
                    // (x − m) − log s, in that order (as the contiguous case).
                    for ((v, oi), (k, mi)) in io.zip(scale[..w].iter().zip(&mx[..w])) {
                        *oi = ((f64::from(*v) - *mi) - *k) as f32;
                    }
                } else {
                    for ((_, oi), k) in io.zip(&scale[..w]) {
                        *oi = (f64::from(*oi) * *k) as f32;
                    }
                }
            }
        }
    }
}

crate::dispatch::dispatched! {
    /// [`logsumexp_f64`] for `f32`: `log Σ exp(x − m) + m` with the
    /// exponentials, their sum and the result in `f64` (see the module's
    /// f32 notes), rounded to `f32` once. `m` receives the shifts.
    pub fn logsumexp_f32(x: &[f32], out: &mut [f32], m: &mut [f32], rows: Rows) => logsumexp_f32_impl;
}

#[inline(always)]
fn logsumexp_f32_impl<const FMA: bool>(x: &[f32], out: &mut [f32], m: &mut [f32], rows: Rows) {
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let ob = rows.stats_mut(out, o);
        let mb = rows.stats_mut(m, o);
        if rows.inner == 1 {
            let (mut mx, fast) = contiguous_stats_f32(xb);
            // torch.logsumexp: an infinite maximum shifts by 0 (and then the
            // fast test has failed already).
            if mx.is_infinite() {
                mx = 0.0;
            }
            let sum = sum_exp_contiguous_f32::<FMA>(xb, mx, None, fast);
            (mb[0], ob[0]) = (mx as f32, (sum.ln() + mx) as f32);
            continue;
        }
        for c0 in (0..rows.inner).step_by(L) {
            let w = L.min(rows.inner - c0);
            let mut mx = [0.0f64; L];
            let fast = chunk_max_f32(xb, rows.inner, c0, w, &mut mx);
            for mi in mx[..w].iter_mut() {
                if mi.is_infinite() {
                    *mi = 0.0;
                }
            }
            let mut sum = [0.0f64; L];
            for row in xb.chunks_exact(rows.inner) {
                for ((a, mi), v) in sum[..w].iter_mut().zip(&mx[..w]).zip(&row[c0..c0 + w]) {
                    *a += shifted_exp_f32::<FMA>(*v, *mi, fast);
                }
            }
            for (((oi, mo), si), mi) in ob[c0..c0 + w]
                .iter_mut()
                .zip(mb[c0..c0 + w].iter_mut())
                .zip(&sum[..w])
                .zip(&mx[..w])
            {
                *mo = *mi as f32;
                *oi = (si.ln() + *mi) as f32;
            }
        }
    }
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
                    assert!((got_lse - want_lse).abs() <= tol * want_lse.abs().max(1.0));
                    for (kk, v) in r.iter().enumerate() {
                        let at = (o * rows.len + kk) * rows.inner + i;
                        let want = (v - mx).exp() / z;
                        let g = f64::from(sm[at]);
                        assert!(
                            (g - want).abs() <= tol * want + 1e-44,
                            "softmax {g} vs {want}"
                        );
                        let want = v - want_lse;
                        let g = f64::from(lsm[at]);
                        assert!(
                            (g - want).abs() <= tol * want.abs().max(1.0),
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
