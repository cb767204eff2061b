//! The softmax / log-softmax / log-sum-exp engine shared by `f64` and
//! `f32`: exponentials in the element type's own lanes (4 `f64` or 8 `f32`
//! per AVX2 vector), their sums in `f64`, and strips of columns so that each
//! pass reads contiguous runs.
//!
//! A block of rows along a strided axis (`inner > 1`) whose lane count
//! does not divide 16 is walked in strips: one of up to [`S`] = 128 lanes,
//! or, past that, strips a 4 KiB page wide ([`PAGE`]: 512 `f64` or 1024
//! `f32` lanes, in a function of their own), the per-lane state in stack
//! arrays:
//!
//! - log-softmax and log-sum-exp make **one pass for the statistics**
//!   ([`online_stats`]: the maxima and the sums of exponentials together,
//!   rescaling a lane's sum when its maximum grows) and, for log-softmax,
//!   one for the outputs (past a page, one storage-order sweep of the
//!   whole block after the last strip: [`log_softmax_sweep`]): a large
//!   matrix is read twice instead of three times, and the per-row maxima
//!   are kept in registers 16 lanes at a time;
//! - softmax makes three (maxima; exponentials, stored, and sums;
//!   products), since its outputs are the exponentials themselves.
//!
//! A block whose lane count divides 16 — a contiguous row (`inner = 1`)
//! among them — is walked flat instead ([`flat`]): chunks of 16 in storage
//! order, element `j` of a chunk in lane `j mod inner`, so even a 4-lane
//! block runs full vectors; three passes (in cache unless a row is huge),
//! sums in 16 lanes combined pairwise.
//!
//! The exponentials of `f32` run in a loop of their own (fused with the
//! `f64` sums, LLVM would vectorize them at the sums' 4 lanes). The fast
//! exponential (one scale factor, no clamp) is taken for a block only when
//! the smallest shifted value *as the kernel computes it*, `fl(min −
//! shift)`, is at least [`Lane::FAST_MIN`]: exact, since rounding is
//! monotone (see the module docs of [`super`]).

use super::Rows;
use crate::math::{
    exp_f32_impl, exp_impl, exp_normal_nonpositive, exp_normal_nonpositive_f32, NORMAL_MIN_F32,
};
use std::ops::{Mul, Sub};

/// An element type of the row kernels.
pub(super) trait Lane: Copy + PartialOrd + Sub<Output = Self> + Mul<Output = Self> {
    const NEG_INF: Self;
    const INF: Self;
    const ZERO: Self;
    /// Whether the type is `f64` (its sums need no lanes of their own).
    const WIDE: bool;
    /// The smallest shifted value the one-scale exponential takes.
    const FAST_MIN: Self;
    /// `eˣ` on `[FAST_MIN, 0]` only.
    fn exp_fast<const FMA: bool>(self) -> Self;
    /// `eˣ` for every value.
    fn exp_full<const FMA: bool>(self) -> Self;
    fn wide(self) -> f64;
    fn narrow(v: f64) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
    /// The dispatched page-wide strips of the type.
    fn page_strips(block: Block<'_, Self>);
}

macro_rules! lane_impl {
    ($t:ty, $wide:expr, $fast_min:expr, $fast:ident, $full:ident, $strips:ident) => {
        impl Lane for $t {
            const WIDE: bool = $wide;
            const NEG_INF: Self = <$t>::NEG_INFINITY;
            const INF: Self = <$t>::INFINITY;
            const ZERO: Self = 0.0;
            const FAST_MIN: Self = $fast_min;
            #[inline(always)]
            fn exp_fast<const FMA: bool>(self) -> Self {
                $fast::<FMA>(self)
            }
            #[inline(always)]
            fn exp_full<const FMA: bool>(self) -> Self {
                $full::<FMA>(self)
            }
            #[inline(always)]
            fn wide(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn narrow(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn page_strips(block: Block<'_, Self>) {
                $strips(block);
            }
        }
    };
}
lane_impl!(
    f64,
    true,
    -708.0,
    exp_normal_nonpositive,
    exp_impl,
    page_strips_f64
);
lane_impl!(
    f32,
    false,
    NORMAL_MIN_F32,
    exp_normal_nonpositive_f32,
    exp_f32_impl,
    page_strips_f32
);

/// What the kernel writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `exp(x − m) / s` (by the reciprocal of `s`, as torch) into a buffer of
    /// the input's shape.
    Softmax,
    /// `(x − m) − log s`, evaluated in `f64` and rounded once.
    LogSoftmax,
    /// `log s + m` into a buffer of row statistics, `m` taken as 0 where it
    /// is infinite (as `torch.logsumexp`).
    Lse,
}

/// The maximum, NaN propagating (as `torch.amax`).
#[inline(always)]
fn nan_max<T: Lane>(a: T, b: T) -> T {
    let larger = if b > a { b } else { a };
    if b.is_nan() {
        b
    } else {
        larger
    }
}

/// `exp(t)` by the fast or the full exponential. A function, not a
/// closure, so `#[inline(always)]` carries it into the AVX2/FMA callers.
#[inline(always)]
fn exp<T: Lane, const FMA: bool, const FAST: bool>(t: T) -> T {
    if FAST {
        t.exp_fast::<FMA>()
    } else {
        t.exp_full::<FMA>()
    }
}

/// Runs the kernel over every outer block. `out` has the input's shape
/// (softmax forms) or the statistics' (`Lse`); `m` receives the shifts and
/// `s`, when given, the sums (rounded to `T`).
#[inline(always)]
pub(super) fn row_kernel<T: Lane, const FMA: bool>(
    x: &[T],
    out: &mut [T],
    m: &mut [T],
    mut s: Option<&mut [T]>,
    rows: Rows,
    form: Form,
) {
    if rows.inner == 0 {
        return;
    }
    for o in 0..rows.outer {
        let xb = rows.block(x, o);
        let mb = rows.stats_mut(m, o);
        let sb = s.as_deref_mut().map(|s| rows.stats_mut(s, o));
        let ob = if form == Form::Lse {
            rows.stats_mut(out, o)
        } else {
            rows.block_mut(out, o)
        };
        let mut block = Block {
            xb,
            ob,
            mb,
            sb,
            inner: rows.inner,
            form,
        };
        if V.is_multiple_of(rows.inner) {
            match rows.inner {
                1 => flat::<T, FMA, 1>(block),
                2 => flat::<T, FMA, 2>(block),
                4 => flat::<T, FMA, 4>(block),
                8 => flat::<T, FMA, 8>(block),
                _ => flat::<T, FMA, 16>(block),
            }
        } else if rows.inner <= NARROW {
            // Other narrow blocks (3, 5, 6, 7, 9–15 lanes): per-lane state
            // of 16, not 128 (its initialization would cost as much as a
            // small softmax).
            strip::<T, NARROW, FMA>(&mut block, 0, rows.inner, Outputs::InStrip);
        } else if rows.inner <= S {
            strip::<T, S, FMA>(&mut block, 0, rows.inner, Outputs::InStrip);
        } else {
            T::page_strips(block);
        }
    }
}

/// Strips of up to `W` lanes across the block. Log-softmax's outputs are
/// not written strip by strip but in one sweep of the whole block in
/// storage order afterwards ([`log_softmax_sweep`]): the second read of a
/// matrix too large for L2 then streams contiguous memory, where the rows
/// of a strip at a power-of-two stride start a new run each (W1 `f64`
/// 1024×1024: the outputs took 0.68 ns per element strip by strip, 0.47
/// swept; written while the next strip's statistics are taken, 0.8).
#[inline(always)]
fn strips<T: Lane, const W: usize, const FMA: bool>(mut block: Block<'_, T>) {
    let inner = block.inner;
    for c in (0..inner).step_by(W) {
        strip::<T, W, FMA>(&mut block, c, W.min(inner - c), Outputs::Swept);
    }
    if block.form == Form::LogSoftmax {
        log_softmax_sweep(&mut block);
    }
}

/// Where a strip's log-softmax outputs go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outputs {
    /// Written by the strip, row after row.
    InStrip,
    /// Left to [`log_softmax_sweep`]: the strip stores its `log s` in the
    /// output's first row, which the sweep writes last.
    Swept,
}

/// `out = (x − m) − log s` over the whole block in storage order, `m` from
/// the block's maxima and `log s` from the output's first row (see
/// [`Outputs::Swept`]), that row last.
#[inline(always)]
fn log_softmax_sweep<T: Lane>(b: &mut Block<'_, T>) {
    let inner = b.inner;
    if b.ob.len() < inner {
        return; // An empty axis: no outputs.
    }
    let (first, rest) = b.ob.split_at_mut(inner);
    let (x0, xrest) = b.xb.split_at(inner);
    let m = &*b.mb;
    for (row, orow) in xrest.chunks_exact(inner).zip(rest.chunks_exact_mut(inner)) {
        for ((o, v), (l, mv)) in orow.iter_mut().zip(row).zip(first.iter().zip(m)) {
            // (x − m) − log s, in that order (see `strip`).
            *o = (*v - *mv) - *l;
        }
    }
    for ((o, v), mv) in first.iter_mut().zip(x0).zip(m) {
        *o = (*v - *mv) - *o;
    }
}

/// Page-wide strips ([`PAGE`]) of an `f64` block. `#[inline(always)]`, as
/// every kernel of `dispatched!` (compiled on its own it would lack the
/// target features, and `mul_add` would be a libm call).
#[inline(always)]
fn page_strips_f64_kernel<const FMA: bool>(block: Block<'_, f64>) {
    strips::<f64, { PAGE / 8 }, FMA>(block);
}

/// Page-wide strips of an `f32` block (see [`page_strips_f64_kernel`]).
#[inline(always)]
fn page_strips_f32_kernel<const FMA: bool>(block: Block<'_, f32>) {
    strips::<f32, { PAGE / 4 }, FMA>(block);
}

crate::dispatch::dispatched! {
    /// Page-wide strips of an `f64` block, dispatched on their own and
    /// never inlined: their per-lane state (about 30 KiB) would otherwise
    /// sit in every call's stack frame, probed page by page, which small
    /// blocks would pay (W1 `f32` 4×8: 153 ns against 90).
    #[inline(never)]
    fn page_strips_f64(block: Block<'_, f64>) => page_strips_f64_kernel;
}

crate::dispatch::dispatched! {
    /// [`page_strips_f64`] for `f32`.
    #[inline(never)]
    fn page_strips_f32(block: Block<'_, f32>) => page_strips_f32_kernel;
}

/// One outer block: its input, output and statistics.
pub(super) struct Block<'a, T> {
    xb: &'a [T],
    ob: &'a mut [T],
    mb: &'a mut [T],
    sb: Option<&'a mut [T]>,
    inner: usize,
    form: Form,
}

/// Lanes of the strip of a block of 17–128 lanes (its per-lane state, a
/// few arrays of `S`, is initialized per call: sized for the block).
const S: usize = 128;

/// Bytes of a row of a strip across a wider block: 4 KiB, a page's worth
/// (512 `f64` or 1024 `f32` lanes). At a power-of-two stride the rows of a
/// strip map onto a few cache sets, so a strip of a large matrix never
/// stays in L2 between its passes whatever its width; what a wide strip
/// buys is rows read as 4 KiB runs, which the hardware prefetcher streams
/// (a 128-lane row is a fresh run every 512 or 1024 bytes, a demand miss
/// each): W1 `f64` 1024×1024 took 1.57× the exp limit with 128 lanes,
/// 1.32–1.55× (over runs) with 4 KiB, and `f32` 2.4× and 2.0× (against
/// the general `f32` exponential, the limit then). The per-lane state is
/// then about 30 KiB of stack.
const PAGE: usize = 4096;

/// The strip width of blocks of at most 16 lanes.
const NARROW: usize = 16;

/// Rows per block of [`online_stats`]: a block's rows are read twice (its
/// maxima, then its exponentials), the second time from L1.
const B: usize = 32;

/// Per-lane state of a strip of up to `S` lanes.
struct Lanes<T, const S: usize> {
    /// The maxima (NaN propagating).
    mx: [T; S],
    /// `Σ exp(x − shift)` in `f64`.
    sum: [f64; S],
}

/// Lanes `c..c + w` of every row of the block: softmax in three passes
/// (maxima; exponentials, stored, and their sums; products), log-softmax and
/// log-sum-exp in one pass for the statistics ([`online_stats`]) and, for
/// log-softmax, one for the outputs.
#[inline(always)]
fn strip<T: Lane, const S: usize, const FMA: bool>(
    b: &mut Block<'_, T>,
    c: usize,
    w: usize,
    outputs: Outputs,
) {
    let st = if b.form == Form::Softmax {
        softmax_stats::<T, S, FMA>(b, c, w)
    } else {
        online_stats::<T, S, FMA>(b, c, w)
    };
    let (mx, sum) = (&st.mx[..w], &st.sum[..w]);
    let inner = b.inner;
    if let Some(sb) = b.sb.as_deref_mut() {
        for (sv, a) in sb[c..c + w].iter_mut().zip(sum) {
            *sv = T::narrow(*a);
        }
    }
    match b.form {
        Form::Softmax => {
            b.mb[c..c + w].copy_from_slice(mx);
            // One division per lane, then products.
            let mut r = [T::ZERO; S];
            for (rv, sv) in r.iter_mut().zip(sum) {
                *rv = T::narrow(1.0 / *sv);
            }
            for orow in b.ob.chunks_exact_mut(inner) {
                for (o, rv) in orow[c..c + w].iter_mut().zip(&r) {
                    *o = *o * *rv;
                }
            }
        }
        Form::LogSoftmax => {
            b.mb[c..c + w].copy_from_slice(mx);
            // An infinite maximum gives NaN everywhere, as torch's
            // `(x − m) − log Σ exp(x − m)` does.
            let mut ls = [T::ZERO; S];
            for (l, (sv, mv)) in ls.iter_mut().zip(sum.iter().zip(mx)) {
                *l = T::narrow(if mv.is_finite() { sv.ln() } else { f64::NAN });
            }
            let ls = &ls[..w];
            if outputs == Outputs::Swept {
                if let Some(first) = b.ob.get_mut(c..c + w) {
                    first.copy_from_slice(ls);
                }
                return;
            }
            for (row, orow) in b.xb.chunks_exact(inner).zip(b.ob.chunks_exact_mut(inner)) {
                let (seg, oseg) = (&row[c..c + w], &mut orow[c..c + w]);
                for ((o, v), (l, m)) in oseg.iter_mut().zip(seg).zip(ls.iter().zip(mx)) {
                    // (x − m) − log s, in that order: m + log s would round
                    // log s away when |m| is large.
                    *o = (*v - *m) - *l;
                }
            }
        }
        Form::Lse => {
            // The shift of an infinite maximum is 0 (torch.logsumexp).
            let lanes = b.ob[c..c + w].iter_mut().zip(&mut b.mb[c..c + w]);
            for ((ov, mv), (m, sv)) in lanes.zip(mx.iter().zip(sum)) {
                let sh = lse_shift(*m);
                *mv = sh;
                *ov = T::narrow(sv.ln() + sh.wide());
            }
        }
    }
}

/// The shift of `torch.logsumexp`: the maximum, or 0 where it is infinite.
#[inline(always)]
fn lse_shift<T: Lane>(m: T) -> T {
    if m.is_finite() || m.is_nan() {
        m
    } else {
        T::ZERO
    }
}

/// Maxima and minima of lanes `c..c + w` over `rows` (a whole number of
/// rows of `inner` elements) into `mx` and `mn` (updated, not reset): 16
/// lanes at a time held in registers over every row (updated in memory row
/// after row, they compile to masked stores). A last partial group of 16
/// overlaps the one before it (a maximum taken twice is the same maximum);
/// fewer than 16 lanes go one by one.
#[inline(always)]
fn max_min<T: Lane>(rows: &[T], inner: usize, c: usize, mx: &mut [T], mn: &mut [T]) {
    const R: usize = 16;
    let w = mx.len();
    let mut j = 0;
    while j < w && w >= R {
        j = j.min(w - R);
        let (mut hi, mut lo) = ([T::NEG_INF; R], [T::INF; R]);
        hi.copy_from_slice(&mx[j..j + R]);
        lo.copy_from_slice(&mn[j..j + R]);
        for row in rows.chunks_exact(inner) {
            let seg = &row[c + j..c + j + R];
            for k in 0..R {
                hi[k] = nan_max(hi[k], seg[k]);
                lo[k] = if seg[k] < lo[k] { seg[k] } else { lo[k] };
            }
        }
        mx[j..j + R].copy_from_slice(&hi);
        mn[j..j + R].copy_from_slice(&lo);
        j += R;
    }
    for k in j..w {
        let (mut hi, mut lo) = (mx[k], mn[k]);
        for row in rows.chunks_exact(inner) {
            let v = row[c + k];
            hi = nan_max(hi, v);
            lo = if v < lo { v } else { lo };
        }
        (mx[k], mn[k]) = (hi, lo);
    }
}

/// Whether every lane's shift is finite and `fl(min − shift)` is in the
/// fast exponential's range (exact: see the module docs).
#[inline(always)]
fn fast_lanes<T: Lane>(shift: &[T], mn: &[T]) -> bool {
    shift.iter().zip(mn).fold(true, |ok, (m, l)| {
        ok & m.is_finite() & (*l - *m >= T::FAST_MIN)
    })
}

/// Softmax's statistics of the strip: the maxima (one pass), then the
/// exponentials, stored in the output, and their sums (another).
#[inline(always)]
fn softmax_stats<T: Lane, const S: usize, const FMA: bool>(
    b: &mut Block<'_, T>,
    c: usize,
    w: usize,
) -> Lanes<T, S> {
    let mut st = Lanes {
        mx: [T::NEG_INF; S],
        sum: [0.0; S],
    };
    let mut mn = [T::INF; S];
    max_min(b.xb, b.inner, c, &mut st.mx[..w], &mut mn[..w]);
    if fast_lanes(&st.mx[..w], &mn[..w]) {
        strip_exp_sum::<T, S, FMA, true>(b, c, &mut st, w);
    } else {
        strip_exp_sum::<T, S, FMA, false>(b, c, &mut st, w);
    }
    st
}

/// `out = exp(x − m)` and `sum += out` over the strip.
#[inline(always)]
fn strip_exp_sum<T: Lane, const S: usize, const FMA: bool, const FAST: bool>(
    b: &mut Block<'_, T>,
    c: usize,
    st: &mut Lanes<T, S>,
    w: usize,
) {
    let (mx, sum) = (&st.mx[..w], &mut st.sum[..w]);
    for (row, orow) in
        b.xb.chunks_exact(b.inner)
            .zip(b.ob.chunks_exact_mut(b.inner))
    {
        let oseg = &mut orow[c..c + w];
        for ((o, v), m) in oseg.iter_mut().zip(&row[c..c + w]).zip(mx) {
            *o = *v - *m;
        }
        exp_all::<T, FMA, FAST>(oseg);
        for (a, e) in sum.iter_mut().zip(oseg.iter()) {
            *a += e.wide();
        }
    }
}

/// The maxima `m` of the strip and `Σ exp(x − shift(m))` in one pass over
/// its rows (Milakov & Gimelshein, "Online normalizer calculation for
/// softmax", 2018, by blocks): per block of [`B`] rows, the block's maxima
/// update the running ones; where one grew, its sum so far is rescaled by
/// `exp(old shift − new shift)` (in `f64`, so `n/B` rescales cost `n/B`
/// `f64` roundings, not `f32` ones); then the block's exponentials are
/// added. The shift is the running maximum, or 0 where it is infinite, so a
/// lane of `-inf` so far contributes 0 and never `−inf − (−inf)`.
///
/// Each block takes the fast exponential when `fl(min − shift)` is in its
/// range for every lane: the same exact test as the three-pass kernels.
#[inline(always)]
fn online_stats<T: Lane, const S: usize, const FMA: bool>(
    b: &Block<'_, T>,
    c: usize,
    w: usize,
) -> Lanes<T, S> {
    let inner = b.inner;
    let mut st = Lanes {
        mx: [T::NEG_INF; S],
        sum: [0.0; S],
    };
    let mut sh = [T::ZERO; S];
    let (mx, sum, sh) = (&mut st.mx[..w], &mut st.sum[..w], &mut sh[..w]);
    // The block's maxima, minima and exponentials: set up once per strip
    // and reset per block over the strip's `w` lanes only (built per block,
    // a page strip's 4 KiB arrays cost W1 `f64` 1024×1024 1.5 %).
    let (mut bm, mut bl) = ([T::NEG_INF; S], [T::INF; S]);
    let (bm, bl) = (&mut bm[..w], &mut bl[..w]);
    let mut t = [T::ZERO; S];
    let t = &mut t[..w];
    for blk in b.xb.chunks(B * inner) {
        bm.fill(T::NEG_INF);
        bl.fill(T::INF);
        max_min(blk, inner, c, bm, bl);
        // `!(new == old)`: also true for NaN.
        let grew = mx
            .iter()
            .zip(bm.iter())
            .fold(false, |g, (m, v)| g | !(nan_max(*m, *v) == *m));
        // Sums still all 0 (the first block) need no rescaling.
        let started = sum.iter().fold(false, |z, a| z | (*a != 0.0));
        if grew && !started {
            for (m, v) in mx.iter_mut().zip(bm.iter()) {
                *m = nan_max(*m, *v);
            }
            for (s, m) in sh.iter_mut().zip(mx.iter()) {
                *s = lse_shift(*m);
            }
        } else if grew {
            for ((m, v), (a, s)) in mx
                .iter_mut()
                .zip(bm.iter())
                .zip(sum.iter_mut().zip(sh.iter_mut()))
            {
                *m = nan_max(*m, *v);
                let new = lse_shift(*m);
                let f = exp_impl::<FMA>(s.wide() - new.wide());
                // An empty sum stays 0 (no 0·inf).
                *a = if *a == 0.0 { 0.0 } else { *a * f };
                *s = new;
            }
        }
        let fast = mx.iter().all(|m| m.is_finite()) && fast_lanes(sh, bl);
        if fast {
            block_exp_sum::<T, FMA, true>(blk, inner, c, sh, sum, t);
        } else {
            block_exp_sum::<T, FMA, false>(blk, inner, c, sh, sum, t);
        }
    }
    st
}

/// `sum += exp(x − sh)` over the rows of one block of the strip.
#[inline(always)]
fn block_exp_sum<T: Lane, const FMA: bool, const FAST: bool>(
    blk: &[T],
    inner: usize,
    c: usize,
    sh: &[T],
    sum: &mut [f64],
    t: &mut [T],
) {
    let w = sh.len();
    for row in blk.chunks_exact(inner) {
        let seg = &row[c..c + w];
        if T::WIDE {
            // One loop: the sums share the exponentials' lanes.
            for ((a, v), s) in sum.iter_mut().zip(seg).zip(sh) {
                *a += exp::<T, FMA, FAST>(*v - *s).wide();
            }
        } else {
            // The exponentials in a loop of their own, vectorized at the
            // type's full width (8 `f32` per AVX2 vector; fused with the
            // `f64` sums they would take the sums' 4 lanes), then the sums.
            for ((tv, v), s) in t.iter_mut().zip(seg).zip(sh) {
                *tv = exp::<T, FMA, FAST>(*v - *s);
            }
            for (a, e) in sum.iter_mut().zip(t.iter()) {
                *a += e.wide();
            }
        }
    }
}

/// Every element replaced by its exponential: a loop of run-time length,
/// which LLVM vectorizes at the type's full width.
#[inline(always)]
fn exp_all<T: Lane, const FMA: bool, const FAST: bool>(v: &mut [T]) {
    for x in v.iter_mut() {
        *x = exp::<T, FMA, FAST>(*x);
    }
}

/// `Σ acc`, pairwise (`W` a power of two).
#[inline(always)]
pub(super) fn pairwise<const W: usize>(acc: &[f64; W]) -> f64 {
    let mut h = *acc;
    let mut n = W;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            h[i] += h[i + n];
        }
    }
    h[0]
}

/// Lanes of a chunk in [`flat`].
const V: usize = 16;

/// A block whose lane count divides [`V`] (a contiguous row is one lane),
/// walked flat in storage order in chunks of `V`: element `j` of a chunk
/// belongs to lane `j mod inner`, so the chunk's maxima, sums and outputs
/// use the lane statistics repeated in a pattern of `V`, and every pass
/// runs full vectors straight from memory whatever `inner` is. Three passes
/// (maxima; exponentials and sums; outputs) over a block that stays in
/// cache unless `len` is huge.
#[inline(always)]
fn flat<T: Lane, const FMA: bool, const I: usize>(b: Block<'_, T>) {
    // `I = inner`, a constant: the folds of the V slots into the I lanes
    // and the patterns below unroll into registers (with a run-time
    // `inner` they went through memory, a chain of store-to-load
    // forwardings that cost a 4×8 softmax a fifth of its time).
    let (xb, inner) = (b.xb, I);
    let lane = I - 1;
    let n = xb.len();
    let full = n - n % V;
    // Maxima and minima, V registers; element `full + k` is lane `k mod
    // inner` too (`inner` divides `full`).
    let (mut hi, mut lo) = ([T::NEG_INF; V], [T::INF; V]);
    for ch in xb[..full].chunks_exact(V) {
        for k in 0..V {
            hi[k] = nan_max(hi[k], ch[k]);
            lo[k] = if ch[k] < lo[k] { ch[k] } else { lo[k] };
        }
    }
    for (k, v) in xb[full..].iter().enumerate() {
        hi[k] = nan_max(hi[k], *v);
        lo[k] = if *v < lo[k] { *v } else { lo[k] };
    }
    let (mut mx, mut mn) = ([T::NEG_INF; V], [T::INF; V]);
    for j in 0..V {
        let k = j & lane;
        mx[k] = nan_max(mx[k], hi[j]);
        mn[k] = if lo[j] < mn[k] { lo[j] } else { mn[k] };
    }
    let fast = fast_lanes(&mx[..inner], &mn[..inner]);
    // The shift per lane, as a pattern of V.
    let lse = b.form == Form::Lse;
    let mut sh = [T::ZERO; V];
    for (j, s) in sh.iter_mut().enumerate() {
        let m = mx[j & lane];
        *s = if lse { lse_shift(m) } else { m };
    }
    let keep = b.form == Form::Softmax;
    let acc = match (fast, keep) {
        (true, true) => flat_exp_sum::<T, FMA, true, true>(xb, b.ob, &sh),
        (true, false) => flat_exp_sum::<T, FMA, true, false>(xb, b.ob, &sh),
        (false, true) => flat_exp_sum::<T, FMA, false, true>(xb, b.ob, &sh),
        (false, false) => flat_exp_sum::<T, FMA, false, false>(xb, b.ob, &sh),
    };
    // Each lane's sum: its V / inner accumulators, pairwise.
    let mut sum = [0.0f64; V];
    let mut h = acc;
    let mut width = V;
    while width > inner {
        width /= 2;
        for j in 0..width {
            h[j] += h[j + width];
        }
    }
    sum[..inner].copy_from_slice(&h[..inner]);
    b.mb[..inner].copy_from_slice(&sh[..inner]);
    if let Some(sb) = b.sb {
        for (sv, a) in sb.iter_mut().zip(&sum) {
            *sv = T::narrow(*a);
        }
    }
    match b.form {
        Form::Softmax => {
            // One division and one `log` per lane, not per pattern slot.
            let mut r = [T::ZERO; V];
            for k in 0..inner {
                r[k] = T::narrow(1.0 / sum[k]);
            }
            for j in inner..V {
                r[j] = r[j & lane];
            }
            let (whole, rest) = b.ob.split_at_mut(full);
            for ch in whole.chunks_exact_mut(V) {
                for k in 0..V {
                    ch[k] = ch[k] * r[k];
                }
            }
            for (o, rv) in rest.iter_mut().zip(&r) {
                *o = *o * *rv;
            }
        }
        Form::LogSoftmax => {
            // NaN everywhere for an infinite maximum, as torch.
            let mut ls = [T::ZERO; V];
            for k in 0..inner {
                ls[k] = T::narrow(if mx[k].is_finite() {
                    sum[k].ln()
                } else {
                    f64::NAN
                });
            }
            for j in inner..V {
                ls[j] = ls[j & lane];
            }
            let (whole, rest) = b.ob.split_at_mut(full);
            for (och, ch) in whole.chunks_exact_mut(V).zip(xb.chunks_exact(V)) {
                for k in 0..V {
                    // (x − m) − log s, in that order.
                    och[k] = (ch[k] - sh[k]) - ls[k];
                }
            }
            for (k, (o, v)) in rest.iter_mut().zip(&xb[full..]).enumerate() {
                *o = (*v - sh[k]) - ls[k];
            }
        }
        Form::Lse => {
            for (k, o) in b.ob[..inner].iter_mut().enumerate() {
                *o = T::narrow(sum[k].ln() + sh[k].wide());
            }
        }
    }
}

/// `Σ exp(x − sh)` of a flat block in `V` `f64` lanes (`sh` the shift
/// pattern of [`flat`]); with `KEEP` the exponentials are stored in `out`.
/// Chunks of 128: the shifted values, their exponentials in one loop the
/// loop vectorizer takes at the type's full width, then the sums.
#[inline(always)]
fn flat_exp_sum<T: Lane, const FMA: bool, const FAST: bool, const KEEP: bool>(
    x: &[T],
    out: &mut [T],
    sh: &[T; V],
) -> [f64; V] {
    const C: usize = 128;
    let mut acc = [0.0f64; V];
    if T::WIDE {
        // `f64`: the sums share the exponentials' lanes, one pass of
        // unrolled chunks.
        let full = x.len() - x.len() % V;
        for (i, ch) in x[..full].chunks_exact(V).enumerate() {
            let mut e = [T::ZERO; V];
            for k in 0..V {
                e[k] = exp::<T, FMA, FAST>(ch[k] - sh[k]);
                acc[k] += e[k].wide();
            }
            if KEEP {
                out[i * V..i * V + V].copy_from_slice(&e);
            }
        }
        for (k, v) in x[full..].iter().enumerate() {
            let e = exp::<T, FMA, FAST>(*v - sh[k]);
            if KEEP {
                out[full + k] = e;
            }
            acc[k] += e.wide();
        }
        return acc;
    }
    let mut t = [T::ZERO; C];
    for (i, ch) in x.chunks(C).enumerate() {
        let t = &mut t[..ch.len()];
        for (tc, xc) in t.chunks_mut(V).zip(ch.chunks(V)) {
            for ((tv, v), s) in tc.iter_mut().zip(xc).zip(sh) {
                *tv = *v - *s;
            }
        }
        exp_all::<T, FMA, FAST>(t);
        if KEEP {
            out[i * C..i * C + ch.len()].copy_from_slice(t);
        }
        let whole = t.chunks_exact(V);
        let rest = whole.remainder();
        for tw in whole {
            for k in 0..V {
                acc[k] += tw[k].wide();
            }
        }
        for (a, v) in acc.iter_mut().zip(rest) {
            *a += v.wide();
        }
    }
    acc
}
