//! An `exp` that LLVM can vectorize, within 1 ulp of the platform's libm.
//!
//! libm's `exp` is a call per element, so a loop over it stays scalar. This
//! one is straight-line arithmetic — range reduction, a polynomial, and a
//! scale built from the exponent bits — with no branches and no calls
//! (selects only), so a loop of it auto-vectorizes to whatever vector width
//! the target has (SSE2 by default; AVX2/FMA when the user compiles with
//! `-C target-cpu=native`).
//!
//! Method:
//! 1. `n = round(x / ln 2)` by the 1.5·2⁵² shift trick (valid for
//!    |x·log₂e| < 2⁵¹), clamping `x` to [−746, 710] first so every finite
//!    result and both overflow ends come out right.
//! 2. `r = x − n·ln2_hi − n·ln2_lo` (Cody–Waite: `ln2_hi` has 32 trailing
//!    zero bits, so `n·ln2_hi` is exact), |r| ≤ ln2 / 2.
//! 3. `eʳ = 1 + (r + r²·P(r))`, `P` a near-minimax polynomial of degree 9
//!    (error below 0.16 ulp on the reduced range), evaluated by Estrin's
//!    scheme so the vectorized loop is not latency-bound.
//! 4. `2ⁿ` as two normal powers of two, `2^(n/2) · 2^(n − n/2)`, so results
//!    down into the subnormal range are rounded once, and overflow gives
//!    `+inf`.
//!
//! NaN propagates through every step (no select needed).

mod exp_f32;
pub(crate) use exp_f32::{
    exp_f32_impl, exp_normal_nonpositive_f32, NORMAL_MIN_F32, ONE_SCALE_MAX_F32,
};

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// fdlibm's split of ln 2: `LN2_HI` exact with 32 trailing zero bits.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1.5·2⁵²: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// `eʳ = 1 + r + r²·Σ C[k] rᵏ` on |r| ≤ ln2/2: the degree-9 polynomial
/// interpolating `(eʳ − 1 − r)/r²` at the 10 Chebyshev nodes of the
/// interval (near-minimax; computed at 50 digits with mpmath, rounded to
/// f64). Its error, below 1.1e-16, is scaled by r² ≤ 0.12 in `eʳ`: at most
/// 0.16 ulp before rounding. (The Taylor series needs degree 11 for the
/// same: two multiply-adds more per element.)
const C: [f64; 10] = [
    0.500_000_000_000_000_1,
    0.166_666_666_666_666_69,
    0.041_666_666_666_624_164,
    0.008_333_333_333_330_065,
    0.001_388_888_891_719_671_9,
    0.000_198_412_698_630_405_45,
    2.480_152_132_236_869_2e-5,
    2.755_726_848_031_002_4e-6,
    2.762_007_587_998_336_7e-7,
    2.510_037_583_256_123_4e-8,
];

/// `eʳ` for |r| ≤ ln2/2: `1 + (r + r²·P(r))` with `P` by Estrin's scheme (a
/// dependency chain of four multiply-adds instead of Horner's nine, so
/// vectorized loops are not latency-bound).
#[inline(always)]
fn exp_reduced<const FMA: bool>(r: f64) -> f64 {
    let madd = madd::<FMA>;
    let r2 = r * r;
    let r4 = r2 * r2;
    let (p0, p2) = (madd(C[1], r, C[0]), madd(C[3], r, C[2]));
    let (p4, p6) = (madd(C[5], r, C[4]), madd(C[7], r, C[6]));
    let p8 = madd(C[9], r, C[8]);
    let q0 = madd(p2, r2, p0);
    let q1 = madd(p6, r2, p4);
    let p = madd(madd(p8, r4, q1), r4, q0);
    1.0 + madd(r2, p, r)
}

/// `eˣ` for `f64`, within 1 ulp of libm's `exp` on every input (tested on
/// millions of points across the whole range), vectorizable.
///
/// ```
/// use param_graph_runtime::math::exp_f64;
///
/// assert!((exp_f64(1.0) - std::f64::consts::E).abs() <= f64::EPSILON * 3.0);
/// assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
/// assert!(exp_f64(f64::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    exp_impl::<false>(x)
}

/// The body of [`exp_f64`]; with `FMA` the Horner steps are fused
/// multiply-adds (only worth it where the CPU has them: elsewhere
/// `mul_add` is a libm call).
#[inline(always)]
pub(crate) fn exp_impl<const FMA: bool>(x: f64) -> f64 {
    let madd = madd::<FMA>;
    // `clamp` keeps a NaN `x` NaN, and NaN then flows through every step
    // below (whatever its bits do to the scale, NaN times it is NaN).
    let xc = x.clamp(-746.0, 710.0);
    let t = madd(xc, LOG2E, SHIFT);
    let n = t - SHIFT;
    // With FMA each step is exact before its single rounding; without,
    // `n·LN2_HI` is exact because LN2_HI has 32 trailing zero bits.
    let r = madd(-n, LN2_LO, madd(-n, LN2_HI, xc));
    let er = exp_reduced::<FMA>(r);
    // The integer n sits in the low bits of t's mantissa; halve it the same
    // way (64-bit arithmetic shifts do not vectorize on SSE2/AVX2).
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let h = n * 0.5 + SHIFT;
    let n1 = (h.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let n2 = ni - n1;
    let s1 = f64::from_bits(((n1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n2 + 1023) as u64) << 52);
    er * s1 * s2
}

/// [`exp_impl`] for arguments known to lie in `[-708, 709]`, where the
/// result is a normal, finite number (`n = round(x·log₂e)` lies in
/// `[−1021, 1023]`, so `2ⁿ` is one normal scale factor): no clamping and
/// one scale factor instead of two. (The name is its first use, the row
/// kernels' shifted values in `[-708, 0]`.) The caller checks the range (row kernels do, per row, in one
/// vectorized pass); the polynomial is the same, so are the results.
///
/// Outside `[-708, 0]` the result is garbage (below −1022·ln 2 the biased
/// exponent wraps into the sign bit), so the check must be exact in floating
/// point: test the very value passed here (as `rows` does with the shifted
/// row minimum `fl(lo − max)`), never a bound computed from the maximum
/// (`max − 708` rounds once `|max| ≥ 2⁵⁵`).
#[inline(always)]
pub(crate) fn exp_normal_nonpositive<const FMA: bool>(x: f64) -> f64 {
    let madd = madd::<FMA>;
    let t = madd(x, LOG2E, SHIFT);
    let n = t - SHIFT;
    let r = madd(-n, LN2_LO, madd(-n, LN2_HI, x));
    let er = exp_reduced::<FMA>(r);
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    er * f64::from_bits(((ni + 1023) as u64) << 52)
}

/// [`madd`] for `f32`.
#[inline(always)]
fn madd32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `a·b + c`, fused with `FMA`. A function, not a closure, so that
/// `#[inline(always)]` carries it into the AVX2/FMA callers (a closure is
/// compiled without their target features, where `mul_add` is a libm call).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

crate::dispatch::dispatched! {
    /// Replaces every element of `x` by its exponential ([`exp_f64`]), using
    /// AVX2 and FMA when the CPU has them (checked at run time, once per call).
    ///
    /// ```
    /// let mut v = [0.0, 1.0, -744.0, 710.0];
    /// param_graph_runtime::math::exp_in_place_f64(&mut v);
    /// assert_eq!(v[0], 1.0);
    /// assert_eq!(v[2], (-744.0f64).exp()); // subnormal, rounded once
    /// assert_eq!(v[3], f64::INFINITY);
    /// ```
    pub fn exp_in_place_f64(x: &mut [f64]) => exp_slice_f64;
}

crate::dispatch::dispatched! {
    /// Replaces every element of `x` by its exponential ([`exp_f32`]), using
    /// AVX2 and FMA when the CPU has them.
    pub fn exp_in_place_f32(x: &mut [f32]) => exp_slice_f32;
}

crate::dispatch::dispatched! {
    /// Replaces every element of `x` by its logistic sigmoid in the
    /// overflow-free two-branch form, `1 / (1 + e^(−x))` for `x ≥ 0` and
    /// `e^x / (1 + e^x)` below, with the exponential of [`exp_f64`] (so
    /// within a few ulp of [`crate::Real::sigmoid`], which uses libm's):
    /// vectorized, with AVX2 and FMA when the CPU has them. NaN stays NaN,
    /// `±inf` gives 1 and 0.
    ///
    /// ```
    /// let mut v = [0.0, 800.0, -800.0, f64::NAN];
    /// param_graph_runtime::math::sigmoid_in_place_f64(&mut v);
    /// assert_eq!(v[..3], [0.5, 1.0, 0.0]);
    /// assert!(v[3].is_nan());
    /// ```
    pub fn sigmoid_in_place_f64(x: &mut [f64]) => sigmoid_slice_f64;
}

crate::dispatch::dispatched! {
    /// [`sigmoid_in_place_f64`] for `f32`, evaluated in `f64` and rounded
    /// once.
    pub fn sigmoid_in_place_f32(x: &mut [f32]) => sigmoid_slice_f32;
}

/// `1 / (1 + e)` or `e / (1 + e)` with `e = e^(−|x|) ≤ 1` from `exp`:
/// never overflows; one division.
#[inline(always)]
fn sigmoid_from(x: f64, e: f64) -> f64 {
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 {
        r
    } else {
        e * r
    }
}

/// Elements per block of the slice kernels, each block checked for the
/// normal range of the exponential's arguments.
const BLOCK: usize = 64;

/// Elements per block of [`exp_into_f32`] (4 KiB).
const BLOCK_F32: usize = 1024;

/// `true` when every value of `block` lies in `[lo, hi]`, compared exactly
/// (the values themselves, not a bound computed from them); a NaN fails
/// (it takes the general path, where it stays NaN). A reduction of
/// comparisons, so it vectorizes (a running minimum and maximum of floats
/// does not: their order of evaluation is fixed).
#[inline(always)]
fn within(block: &[f64], lo: f64, hi: f64) -> bool {
    block.iter().fold(true, |ok, &v| ok & (v >= lo) & (v <= hi))
}

/// `map` from `src` into `dst` (the shorter's length), blocks of
/// [`BLOCK`] whose values all lie in `[lo, hi]` through `fast`, the others
/// through `full` (the same function outside the fast one's range).
#[inline(always)]
fn blocks_into(
    src: &[f64],
    dst: &mut [f64],
    (lo, hi): (f64, f64),
    fast: impl Fn(f64) -> f64,
    full: impl Fn(f64) -> f64,
) {
    for (s, d) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        if within(s, lo, hi) {
            for (d, s) in d.iter_mut().zip(s) {
                *d = fast(*s);
            }
        } else {
            for (d, s) in d.iter_mut().zip(s) {
                *d = full(*s);
            }
        }
    }
}

/// `into` applied in place, a block at a time through a local copy.
#[inline(always)]
fn in_place<T: Copy + Default>(x: &mut [T], into: impl Fn(&[T], &mut [T])) {
    for block in x.chunks_mut(BLOCK) {
        let mut src = [T::default(); BLOCK];
        let n = block.len();
        src[..n].copy_from_slice(block);
        into(&src[..n], block);
    }
}

/// The sigmoid through the one-scale exponential (`|x| ≤ 708`). Named
/// functions, not closures, so that `#[inline(always)]` carries them into
/// the AVX2/FMA callers.
#[inline(always)]
fn sigmoid_normal<const FMA: bool>(x: f64) -> f64 {
    sigmoid_from(x, exp_normal_nonpositive::<FMA>(-x.abs()))
}

/// The sigmoid through the general exponential.
#[inline(always)]
fn sigmoid_full<const FMA: bool>(x: f64) -> f64 {
    sigmoid_from(x, exp_impl::<FMA>(-x.abs()))
}

#[inline(always)]
fn sigmoid_into_f64_impl<const FMA: bool>(src: &[f64], dst: &mut [f64]) {
    // `−|x| ≥ −708`: the one-scale exponential, bit for bit the same.
    blocks_into(
        src,
        dst,
        (-708.0, 708.0),
        sigmoid_normal::<FMA>,
        sigmoid_full::<FMA>,
    );
}

#[inline(always)]
fn sigmoid_into_f32_impl<const FMA: bool>(src: &[f32], dst: &mut [f32]) {
    // |x| ≤ f32::MAX: e^(−|x|) may underflow, so the general exponential.
    for (d, s) in dst.iter_mut().zip(src) {
        *d = sigmoid_full::<FMA>(f64::from(*s)) as f32;
    }
}

#[inline(always)]
fn exp_into_f64_impl<const FMA: bool>(src: &[f64], dst: &mut [f64]) {
    // Arguments in [−708, 709] have a normal, finite result: the one-scale
    // form, bit for bit the same as the general one.
    blocks_into(
        src,
        dst,
        (-708.0, 709.0),
        exp_normal_nonpositive::<FMA>,
        exp_impl::<FMA>,
    );
}

#[inline(always)]
fn exp_into_f32_impl<const FMA: bool>(src: &[f32], dst: &mut [f32]) {
    // In f32 lanes, 8 per AVX2 vector (see `exp_f32`). Each block through
    // the one-scale form, which is the general one bit for bit on [−87, 88]
    // (n ∈ [−126, 127]), testing its values as it goes; a block with one
    // outside (or a NaN) is done again by the general form. The test in the
    // same loop, not a pass of its own as in `f64`: the `f32` exponential
    // is so cheap that a separate pass cost it a third (0.26 → 0.35 ns an
    // element) and blocks of 64 another tenth.
    for (s, d) in src.chunks(BLOCK_F32).zip(dst.chunks_mut(BLOCK_F32)) {
        let mut outside = 0u32;
        for (d, v) in d.iter_mut().zip(s) {
            outside |= u32::from(!(*v >= NORMAL_MIN_F32 && *v <= ONE_SCALE_MAX_F32));
            *d = exp_normal_nonpositive_f32::<FMA>(*v);
        }
        if outside != 0 {
            for (d, v) in d.iter_mut().zip(s) {
                *d = exp_f32_impl::<FMA>(*v);
            }
        }
    }
}

#[inline(always)]
fn sigmoid_slice_f64<const FMA: bool>(x: &mut [f64]) {
    in_place(x, sigmoid_into_f64_impl::<FMA>);
}

#[inline(always)]
fn sigmoid_slice_f32<const FMA: bool>(x: &mut [f32]) {
    in_place(x, sigmoid_into_f32_impl::<FMA>);
}

#[inline(always)]
fn exp_slice_f64<const FMA: bool>(x: &mut [f64]) {
    in_place(x, exp_into_f64_impl::<FMA>);
}

#[inline(always)]
fn exp_slice_f32<const FMA: bool>(x: &mut [f32]) {
    in_place(x, exp_into_f32_impl::<FMA>);
}

crate::dispatch::dispatched! {
    /// `dst[k] = exp(src[k])` ([`exp_in_place_f64`] without the copy), over
    /// the shorter slice's length.
    pub fn exp_into_f64(src: &[f64], dst: &mut [f64]) => exp_into_f64_impl;
}

crate::dispatch::dispatched! {
    /// `dst[k] = exp(src[k])` for `f32` ([`exp_in_place_f32`]).
    pub fn exp_into_f32(src: &[f32], dst: &mut [f32]) => exp_into_f32_impl;
}

crate::dispatch::dispatched! {
    /// `dst[k] = sigmoid(src[k])` ([`sigmoid_in_place_f64`] without the
    /// copy), over the shorter slice's length.
    pub fn sigmoid_into_f64(src: &[f64], dst: &mut [f64]) => sigmoid_into_f64_impl;
}

crate::dispatch::dispatched! {
    /// `dst[k] = sigmoid(src[k])` for `f32` ([`sigmoid_in_place_f32`]).
    pub fn sigmoid_into_f32(src: &[f32], dst: &mut [f32]) => sigmoid_into_f32_impl;
}

/// `eˣ` for `f32`, evaluated in `f32` (so loops of it vectorize 8 lanes
/// per AVX2 vector): within 1 ulp of the correctly rounded result on every
/// input (method and test: the `exp_f32` module), `+inf` above 88.72, 0
/// far below −103, NaN propagating.
///
/// ```
/// use param_graph_runtime::math::exp_f32;
///
/// assert_eq!(exp_f32(0.0), 1.0);
/// assert!((exp_f32(1.0) - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// assert_eq!(exp_f32(89.0), f32::INFINITY);
/// assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_impl::<false>(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite doubles of the
    /// same sign (or both zero): how many representable values apart.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 {
                i64::MIN - bits
            } else {
                bits
            }
        };
        key(a).abs_diff(key(b))
    }

    fn check(x: f64) {
        let (got, want) = (exp_f64(x), x.exp());
        if want.is_nan() {
            assert!(got.is_nan(), "exp({x}) = {got}, libm NaN");
        } else if want.is_infinite() || got.is_infinite() {
            assert_eq!(got, want, "exp({x})");
        } else {
            assert!(
                ulps(got, want) <= 1,
                "exp({x:e}) = {got:e}, libm {want:e}: {} ulps",
                ulps(got, want)
            );
        }
    }

    #[test]
    fn within_one_ulp_of_libm_across_the_range() {
        // Two million points spread over [-750, 712] by a fixed-seed LCG,
        // plus a dense sweep of the reduced range and the boundaries.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2_000_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            check(-750.0 + 1462.0 * u);
        }
        for k in -100_000..=100_000 {
            check(f64::from(k) * 1e-5);
        }
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            709.78,
            709.782712893384,
            709.79,
            -708.39,
            -744.44,
            -745.13,
            -745.14,
            -746.0,
            1e-300,
            -1e-300,
        ] {
            check(x);
        }
    }

    #[test]
    fn the_dispatched_slice_version_agrees() {
        let xs: Vec<f64> = (-20_000..20_000)
            .map(|k| f64::from(k) * 0.037)
            .chain([f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
            .collect();
        let mut ys = xs.clone();
        exp_in_place_f64(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            let want = x.exp();
            if want.is_nan() {
                assert!(y.is_nan());
            } else if want.is_infinite() || y.is_infinite() {
                assert_eq!(*y, want);
            } else {
                assert!(ulps(*y, want) <= 1, "exp({x}) = {y}, libm {want}");
            }
        }
        let xs32: Vec<f32> = (-3_000..3_000).map(|k| k as f32 * 0.031).collect();
        let mut ys32 = xs32.clone();
        exp_in_place_f32(&mut ys32);
        for (x, y) in xs32.iter().zip(&ys32) {
            let want = f64::from(*x).exp() as f32;
            assert!(
                (y.to_bits() as i64 - want.to_bits() as i64).abs() <= 1,
                "expf({x})"
            );
        }
    }

    /// `exp_into_f32` takes the one-scale form for blocks inside `[−87,
    /// 88]` and the general one for the others: the same bits as the
    /// general form on the same build, whatever the mix (blocks of 64 with
    /// one value outside, specials, both ends).
    #[test]
    fn the_f32_slice_version_is_the_scalar_one_bit_for_bit() {
        let mut xs: Vec<f32> = (-4_000..4_000).map(|k| k as f32 * 0.0221).collect();
        for (k, v) in [
            (5, 88.5f32),
            (70, -87.5),
            (130, f32::NAN),
            (200, f32::INFINITY),
            (260, f32::NEG_INFINITY),
            (330, -104.0),
            (400, 88.0),
            (401, -87.0),
            (470, 1e30),
        ] {
            xs[k] = v;
        }
        for path in crate::dispatch::Path::ALL {
            crate::dispatch::with_max_path(path, || {
                let fma = crate::dispatch::active_path() != crate::dispatch::Path::Portable;
                let mut ys = vec![0.0f32; xs.len()];
                exp_into_f32(&xs, &mut ys);
                let mut zs = xs.clone();
                exp_in_place_f32(&mut zs);
                for ((x, y), z) in xs.iter().zip(&ys).zip(&zs) {
                    let want = if fma {
                        exp_f32_impl::<true>(*x)
                    } else {
                        exp_f32_impl::<false>(*x)
                    };
                    assert_eq!(y.to_bits(), want.to_bits(), "exp({x}) on {path:?}");
                    assert_eq!(z.to_bits(), want.to_bits(), "in place, exp({x})");
                }
            });
        }
    }

    #[test]
    fn the_normal_range_shortcut_is_bit_identical() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for k in 0..1_000_000u32 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // The whole range the slice kernels use it on, [-708, 709],
            // and near 0 densely.
            let x = match k % 3 {
                0 => -708.0 * u,
                1 => 709.0 * u,
                _ => -u,
            };
            for fma in [false, true] {
                let (fast, full) = if fma {
                    (exp_normal_nonpositive::<true>(x), exp_impl::<true>(x))
                } else {
                    (exp_normal_nonpositive::<false>(x), exp_impl::<false>(x))
                };
                assert_eq!(fast.to_bits(), full.to_bits(), "exp({x})");
            }
        }
        assert_eq!(exp_normal_nonpositive::<false>(0.0), 1.0);
        for x in [-708.0, 709.0] {
            assert_eq!(
                exp_normal_nonpositive::<false>(x).to_bits(),
                exp_impl::<false>(x).to_bits()
            );
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert!(exp_f64(f64::NAN).is_nan());
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(1000.0), f64::INFINITY);
        assert_eq!(exp_f64(-1000.0), 0.0);
    }

    /// The vectorized sigmoid against the scalar one (libm's exp inside):
    /// within 4 ulp in f64 and 1 ulp in f32 (a few subnormal ulps in the far
    /// negative tail) on a sweep through both tails, and exactly on the
    /// special values.
    #[test]
    fn vectorized_sigmoid_agrees_with_the_scalar_one() {
        use crate::Real;
        let xs: Vec<f64> = (0..40_001)
            .map(|k| (k as f64 - 20_000.0) * 0.0375)
            .collect();
        let mut ys = xs.clone();
        sigmoid_in_place_f64(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            let want = x.sigmoid();
            // Relative, with a floor of a few subnormal ulps in the far tail.
            let tol = 4.0 * f64::EPSILON * want + 4.0 * f64::from_bits(1);
            assert!((y - want).abs() <= tol, "{x}: {y} vs {want}");
        }
        let mut special = [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.0,
            -0.0,
            1e300,
            -1e300,
        ];
        sigmoid_in_place_f64(&mut special);
        assert_eq!(special[..2], [1.0, 0.0]);
        assert!(special[2].is_nan());
        assert_eq!(special[3..], [0.5, 0.5, 1.0, 0.0]);
        let xs32: Vec<f32> = xs.iter().map(|&x| x as f32 * 0.1).collect();
        let mut ys32 = xs32.clone();
        sigmoid_in_place_f32(&mut ys32);
        for (x, y) in xs32.iter().zip(&ys32) {
            // Against the f64 sigmoid rounded once: f32's own scalar form
            // rounds at every step.
            let want = f64::from(*x).sigmoid() as f32;
            let tol = f32::EPSILON * want + 2.0 * f32::from_bits(1);
            assert!((y - want).abs() <= tol, "{x}: {y} vs {want}");
        }
    }
}
