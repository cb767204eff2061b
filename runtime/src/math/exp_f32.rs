//! An `f32` exponential evaluated in `f32` lanes (8 per AVX2 vector), within
//! 1 ulp of the correctly rounded result on every input.
//!
//! The same method as the `f64` one in [`super`], at `f32` width:
//! 1. `n = round(x·log₂e)` by the 1.5·2²³ shift trick, after clamping `x`
//!    to `[−104, 89]` (below, every result rounds to 0; above, to `+inf`).
//! 2. `r = x − n·ln2_hi − n·ln2_lo` (Cody–Waite: `ln2_hi = 0.693359375` has
//!    9 significant bits, so `n·ln2_hi` is exact for `|n| ≤ 2¹⁵`, and so is
//!    the subtraction), `|r| ≤ ln2/2`.
//! 3. `eʳ = 1 + (r + r²·P(r))`, `P` of degree 4 interpolating
//!    `(eʳ − 1 − r)/r²` at the 5 Chebyshev nodes of the interval (computed
//!    at 50 digits with mpmath, rounded to `f32`): relative error below
//!    `9.8e-9` (0.17 ulp) before the final rounding.
//! 4. `2ⁿ` as two normal powers of two, `2^(n/2)·2^(n − n/2)`, so a
//!    subnormal result is rounded once and overflow gives `+inf`.
//!
//! Tested against `f64` `exp` rounded to `f32` (the correctly rounded
//! result but for double-rounding ties) on every `f32` in `[−104, 89]`
//! ([`tests`]; with and without FMA): at most 1 ulp apart. NaN propagates.

use super::madd32;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split: `LN2_HI` (0x3F318000) exact with 9 significant bits.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f32 = 12_582_912.0;
/// `P(r) = Σ C[k]·rᵏ`: see the module docs.
const C: [f32; 5] = [
    0.5,
    0.166_665_78,
    0.041_666_556,
    0.008_363_173,
    0.001_392_617_6,
];

/// The smallest argument of [`exp_normal_nonpositive_f32`]: `n ≥ −126`, one
/// scale factor.
pub(crate) const NORMAL_MIN_F32: f32 = -87.0;

/// The largest argument the one-scale form takes in the slice kernels:
/// `n = round(x·log₂e) ≤ 127` (`88·log₂e ≈ 126.96`), so `2ⁿ` is a normal
/// power of two and `eʳ·2ⁿ < 2¹²⁸` is finite.
pub(crate) const ONE_SCALE_MAX_F32: f32 = 88.0;

/// `eʳ` for `|r| ≤ ln2/2`, Estrin's scheme (a chain of three multiply-adds).
#[inline(always)]
fn exp_reduced<const FMA: bool>(r: f32) -> f32 {
    let madd = madd32::<FMA>;
    let r2 = r * r;
    let p01 = madd(C[1], r, C[0]);
    let p23 = madd(C[3], r, C[2]);
    let p = madd(madd(C[4], r2, p23), r2, p01);
    1.0 + madd(r2, p, r)
}

/// `n = round(x·log₂e)` (as the shifted float `t` and as a float) and the
/// reduced argument `r`.
#[inline(always)]
fn reduce<const FMA: bool>(x: f32) -> (f32, f32) {
    let madd = madd32::<FMA>;
    let t = madd(x, LOG2E, SHIFT);
    let n = t - SHIFT;
    (t, madd(-n, LN2_LO, madd(-n, LN2_HI, x)))
}

/// The integer `n` held in the low mantissa bits of `t = n + SHIFT`.
#[inline(always)]
fn shifted_int(t: f32) -> i32 {
    (t.to_bits() as i32).wrapping_sub(SHIFT.to_bits() as i32)
}

/// `2ⁿ` for `n ∈ [−126, 127]`.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// `eˣ` for every `f32` (see the module docs), `FMA` choosing fused
/// multiply-adds.
#[inline(always)]
pub(crate) fn exp_f32_impl<const FMA: bool>(x: f32) -> f32 {
    // `clamp` keeps NaN NaN, and NaN flows through every step below.
    let (t, r) = reduce::<FMA>(x.clamp(-104.0, 89.0));
    let n = shifted_int(t);
    // Arithmetic shift: `n1 = ⌊n/2⌋`, both halves in [−75, 64].
    let n1 = n >> 1;
    exp_reduced::<FMA>(r) * pow2(n1) * pow2(n - n1)
}

/// [`exp_f32_impl`] for arguments in `[NORMAL_MIN_F32, ONE_SCALE_MAX_F32]`
/// (`n ∈ [−126, 127]`; the row kernels pass it `[NORMAL_MIN_F32, 0]`): no
/// clamp and one scale factor; bit for bit the same result there
/// (`eʳ·2^(n/2)` is exact, so both forms round `eʳ·2ⁿ` once). Outside that
/// range the result is garbage: callers test the very values they pass (see
/// [`crate::rows`]).
#[inline(always)]
pub(crate) fn exp_normal_nonpositive_f32<const FMA: bool>(x: f32) -> f32 {
    let (t, r) = reduce::<FMA>(x);
    exp_reduced::<FMA>(r) * pow2(shifted_int(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ulps between two finite `f32` of the same sign (or zeros).
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// Every `stride`-th `f32` in `[lo, hi]`, both signs' bit patterns.
    fn sweep(lo: f32, hi: f32, stride: usize, mut f: impl FnMut(f32)) {
        for bits in (0..=lo.to_bits().max(hi.to_bits())).step_by(stride) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                if (lo..=hi).contains(&x) {
                    f(x);
                }
            }
        }
    }

    fn check<const FMA: bool>(x: f32) {
        let (got, want) = (exp_f32_impl::<FMA>(x), f64::from(x).exp() as f32);
        if want.is_infinite() || got.is_infinite() {
            assert_eq!(got, want, "exp({x:e}) FMA={FMA}");
        } else {
            assert!(
                ulps(got, want) <= 1,
                "exp({x:e}) = {got:e}, want {want:e} (FMA={FMA})"
            );
        }
    }

    /// A dense sweep (every 61st bit pattern of the range, 33 million
    /// points in release; an exhaustive run of every `f32` passed too, see
    /// the README). Debug builds take every 6101st.
    #[test]
    fn within_one_ulp_of_the_correctly_rounded_result() {
        let stride = if cfg!(debug_assertions) { 6101 } else { 61 };
        sweep(-110.0, 95.0, stride, |x| {
            check::<false>(x);
            check::<true>(x);
        });
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            88.72283,
            88.72284,
            -87.33654,
            -103.27893,
            -103.972_08,
            -104.0,
            -1e30,
            1e30,
            f32::MIN_POSITIVE,
        ] {
            check::<false>(x);
            check::<true>(x);
        }
    }

    #[test]
    fn special_values() {
        for f in [exp_f32_impl::<false>, exp_f32_impl::<true>] {
            assert_eq!(f(f32::INFINITY), f32::INFINITY);
            assert_eq!(f(f32::NEG_INFINITY), 0.0);
            assert!(f(f32::NAN).is_nan());
            assert_eq!(f(0.0), 1.0);
            assert_eq!(f(-0.0), 1.0);
        }
    }

    /// Over the whole range the slice kernels give it, `[−87, 88]`, both
    /// signs of every 997th bit pattern and the ends.
    #[test]
    fn the_one_scale_form_is_bit_identical() {
        let ends = [
            NORMAL_MIN_F32,
            ONE_SCALE_MAX_F32,
            87.999_99,
            -86.999_99,
            0.0,
            -0.0,
        ];
        let stride = if cfg!(debug_assertions) { 9973 } else { 997 };
        sweep(NORMAL_MIN_F32, ONE_SCALE_MAX_F32, stride, |x| {
            assert_eq!(
                exp_normal_nonpositive_f32::<false>(x).to_bits(),
                exp_f32_impl::<false>(x).to_bits(),
                "{x}"
            );
            assert_eq!(
                exp_normal_nonpositive_f32::<true>(x).to_bits(),
                exp_f32_impl::<true>(x).to_bits(),
                "{x}"
            );
        });
        for x in ends {
            for (fast, full) in [
                (
                    exp_normal_nonpositive_f32::<false>(x),
                    exp_f32_impl::<false>(x),
                ),
                (
                    exp_normal_nonpositive_f32::<true>(x),
                    exp_f32_impl::<true>(x),
                ),
            ] {
                assert_eq!(fast.to_bits(), full.to_bits(), "{x}");
            }
        }
    }

    /// Every `f32`, both builds (6 minutes in release on a 2-core VM; it
    /// passed, worst case 1 ulp):
    /// `cargo test -p param-graph-runtime --release -- --ignored exhaustive`.
    #[test]
    #[ignore = "4·10⁹ inputs: run in release"]
    fn exhaustive() {
        let mut worst = 0;
        for bits in 0..=u32::MAX {
            let x = f32::from_bits(bits);
            if x.is_nan() {
                continue;
            }
            check::<false>(x);
            check::<true>(x);
            let want = f64::from(x).exp() as f32;
            if want.is_finite() && want != 0.0 {
                worst = worst.max(ulps(exp_f32_impl::<true>(x), want));
            }
        }
        assert!(worst <= 1);
    }
}
