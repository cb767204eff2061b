//! Scalar functions of cirkit's circuit-product parameter ops: the product
//! of two Gaussian layers and the derivatives of polynomial coefficients.

/// The scalar steps of `gaussian_product_*` and `polynomial_differential`,
/// for `f32` and `f64`.
///
/// The product of two Gaussian densities is a scaled Gaussian,
/// `N(x; m1, s1²) · N(x; m2, s2²) = Z · N(x; m, s²)`, with
///
/// ```text
/// v = s1² + s2²
/// m = (m1·s2² + m2·s1²) / v      s² = s1²·s2² / v      log Z = log N(m1; m2, v)
/// ```
///
/// **Never overflows or underflows in an intermediate where the result does
/// not.** `v` itself overflows once a stddev passes √max (1.8e19 in `f32`,
/// 1.3e154 in `f64`) and underflows below √min, though all three results
/// may be representable. So, as `hypot` does, everything is scaled by the
/// larger standard deviation: with `M = max(|s1|, |s2|)`, `μ = min(..)` and
/// `ρ = μ / M ∈ [0, 1]`, the shared per-pair term is the *scaled* variance
/// sum `v̂ = v / M² = 1 + ρ² ∈ [1, 2]` ([`ProductOps::gaussian_scaled_var`],
/// computed once per pair when several of the three read it), and
///
/// ```text
/// s     = μ / √v̂
/// m     = c + (o − c)·ρ·ρ / v̂          (c the mean with the smaller stddev, o the other)
/// log Z = −½ (log 2π + log v̂) − log M − (½·y)·(y / v̂),   y = (m1 − m2) / M
/// ```
///
/// Every intermediate is bounded by the inputs or the result: `ρ ≤ 1`,
/// `v̂ ≤ 2`, `|(o − c)·ρ²/v̂| ≤ |o − c|/2`, and `(½·y)·(y/v̂) = ½ ((m1 − m2)/√v)²`
/// is the magnitude of `log Z` itself. A difference of means that overflows
/// (finite means of opposite signs beyond max/2) is taken in halves instead.
/// The results agree with the textbook forms to a few ulps wherever those
/// are finite, and stay right at the extremes of both types (tested down
/// to the smallest subnormals and up to the largest finite values):
///
/// ```
/// use param_graph_runtime::ProductOps;
///
/// let w = <f64 as ProductOps>::gaussian_scaled_var(3.0, 4.0);
/// assert_eq!(w, 1.5625); // (9 + 16) / 16
/// assert_eq!(<f64 as ProductOps>::gaussian_stddev(3.0, 4.0, w), 2.4);
/// // Equal means: the product's mean is that mean, exactly.
/// assert_eq!(<f64 as ProductOps>::gaussian_mean(0.1, 3.0, 0.1, 4.0, w), 0.1);
/// // s1² + s2² overflows f32 here; the stddev does not.
/// let w = <f32 as ProductOps>::gaussian_scaled_var(1e-3, 2e19);
/// assert_eq!(<f32 as ProductOps>::gaussian_stddev(1e-3, 2e19, w), 1e-3);
/// ```
///
/// Edge cases: NaN propagates; both stddevs zero gives NaN (as torch's
/// `0 / 0`); an infinite stddev gives the limits (the other layer's mean and
/// stddev, `log Z = −inf`), where torch's textbook form gives NaN; both
/// infinite give NaN for the mean and stddev (torch's `∞/∞`) and
/// `log Z = −inf` (as torch).
pub trait ProductOps: Copy {
    /// The shared term of one pair: the summed variances scaled by the
    /// larger one, `v̂ = (s1² + s2²) / max(s1², s2²) = 1 + ρ²` with
    /// `ρ = min(|s1|, |s2|) / max(|s1|, |s2|)`; in `[1, 2]` for any finite,
    /// not both zero, stddevs (NaN when both are zero or either is NaN).
    fn gaussian_scaled_var(s1: Self, s2: Self) -> Self;
    /// The mean of the product, `(m1·s2² + m2·s1²) / v`, from the shared
    /// `w = v̂`: the mean `c` of the smaller stddev plus a correction,
    /// `c + (o − c)·ρ·ρ / v̂` (weight at most ½), so equal means give that
    /// mean exactly and nothing overflows on the way to a finite result.
    /// When `o − c` overflows or is not finite it is `c/v̂ + o·(ρ²/v̂)`,
    /// torch's weighted average (so an infinite mean gives `±inf` as torch).
    fn gaussian_mean(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> Self;
    /// The standard deviation of the product, `√(s1²·s2² / v)`, computed as
    /// `min(|s1|, |s2|) / √v̂`: no product of variances, no overflow.
    fn gaussian_stddev(s1: Self, s2: Self, w: Self) -> Self;
    /// The log normalizer of the product, `log N(m1; m2, v)`, computed as
    /// `−½ (log 2π + log v̂) − log M − (½·y)·(y / v̂)` with
    /// `y = (m1 − m2) / M`: the difference taken first (no cancellation of
    /// `m1²` against `2·m1·m2`), `log v = 2 log M + log v̂` never overflows.
    fn gaussian_log_partition(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> Self;
    /// The coefficient of degree `index` of the `order`-th derivative of a
    /// polynomial whose coefficient of degree `index + order` is `c`:
    /// `c · (index + order) · (index + order − 1) ⋯ (index + 1)`, multiplied
    /// in that order, as cirkit's repeated differentiation does.
    fn derivative_coefficient(c: Self, index: usize, order: usize) -> Self;
    /// The partial derivatives of [`ProductOps::gaussian_mean`] by
    /// `(m1, s1, m2, s2)`, from the same shared `w = v̂`: with
    /// `M = max(|s1|, |s2|)`, `σₖ = sₖ / M` and `v = w·M²`,
    /// `∂m/∂m1 = σ2²/w`, `∂m/∂m2 = σ1²/w`,
    /// `∂m/∂s1 = 2·σ1·σ2²·(m2 − m1) / (w²·M)` and `∂m/∂s2` alike: the
    /// derivatives of `(m1·s2² + m2·s1²)/v`, scaled like the forward form.
    fn gaussian_mean_vjp(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> [Self; 4];
    /// The partial derivatives of [`ProductOps::gaussian_stddev`] by
    /// `(s1, s2)`: `∂s/∂s1 = sign(s1)·|σ2|³ / w^{3/2}` and `∂s/∂s2` alike
    /// (the derivative of `√(s1²·s2²/v)`, scaled as above).
    fn gaussian_stddev_vjp(s1: Self, s2: Self, w: Self) -> [Self; 2];
    /// The partial derivatives of [`ProductOps::gaussian_log_partition`] by
    /// `(m1, s1, m2, s2)`: with `y = (m1 − m2)/M`,
    /// `∂/∂m1 = −y/(w·M) = −∂/∂m2` and
    /// `∂/∂sₖ = σₖ·(y²/w − 1)/(w·M)` (`2·sₖ·∂/∂v` of
    /// `−½ log(2πv) − (m1 − m2)²/(2v)`).
    fn gaussian_log_partition_vjp(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> [Self; 4];
}

macro_rules! products_impl {
    ($($t:ident: $ln_2pi:expr),*) => {$(
        impl ProductOps for $t {
            #[inline]
            fn gaussian_scaled_var(s1: Self, s2: Self) -> Self {
                let rho = ratio(s1.abs(), s2.abs());
                rho * rho + 1.0
            }
            #[inline]
            fn gaussian_mean(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> Self {
                let (a1, a2) = (s1.abs(), s2.abs());
                // `c` has the smaller stddev, hence the weight ≥ ½.
                // (Also the NaN branch: every step propagates it.)
                let (c, o) = if a1 <= a2 { (m1, m2) } else { (m2, m1) };
                let rho = ratio(a1, a2);
                let d = o - c;
                if d.is_finite() {
                    c + d * rho * rho / w
                } else {
                    c / w + o * (rho * rho / w)
                }
            }
            #[inline]
            fn gaussian_stddev(s1: Self, s2: Self, w: Self) -> Self {
                let (a1, a2) = (s1.abs(), s2.abs());
                let small = if a1 <= a2 { a1 } else { a2 };
                // NaN in either: `w` is NaN too.
                small / w.sqrt()
            }
            #[inline]
            fn gaussian_log_partition(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> Self {
                let (a1, a2) = (s1.abs(), s2.abs());
                let large = if a1 >= a2 { a1 } else { a2 };
                let d = m1 - m2;
                if a1.is_infinite() && a2.is_infinite() && !d.is_nan() {
                    // `v̂ = ∞/∞` is NaN, but the density of an infinitely
                    // wide Gaussian is 0 everywhere: the limit.
                    return Self::NEG_INFINITY;
                }
                let y = if d.is_finite() {
                    d / large
                } else {
                    // Finite means of opposite signs beyond max/2: halves.
                    (0.5 * m1 - 0.5 * m2) / large * 2.0
                };
                -0.5 * ($ln_2pi + w.ln()) - large.ln() - (0.5 * y) * (y / w)
            }
            #[inline]
            fn derivative_coefficient(c: Self, index: usize, order: usize) -> Self {
                let mut c = c;
                let mut k = index + order;
                while k > index {
                    c *= k as Self;
                    k -= 1;
                }
                c
            }
            #[inline]
            fn gaussian_mean_vjp(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> [Self; 4] {
                let big = if s1.abs() >= s2.abs() { s1.abs() } else { s2.abs() };
                let (r1, r2) = (s1 / big, s2 / big);
                let d = (m2 - m1) / (w * w * big);
                [r2 * r2 / w, 2.0 * r1 * (r2 * r2) * d, r1 * r1 / w, -2.0 * r2 * (r1 * r1) * d]
            }
            #[inline]
            fn gaussian_stddev_vjp(s1: Self, s2: Self, w: Self) -> [Self; 2] {
                let big = if s1.abs() >= s2.abs() { s1.abs() } else { s2.abs() };
                let (a1, a2) = (s1.abs() / big, s2.abs() / big);
                let scale = w * w.sqrt();
                [s1.signum() * (a2 * a2 * a2) / scale, s2.signum() * (a1 * a1 * a1) / scale]
            }
            #[inline]
            fn gaussian_log_partition_vjp(m1: Self, s1: Self, m2: Self, s2: Self, w: Self) -> [Self; 4] {
                let big = if s1.abs() >= s2.abs() { s1.abs() } else { s2.abs() };
                let y = (m1 - m2) / big;
                let dm = y / (w * big);
                let dv = (y * y / w - 1.0) / (w * big);
                [-dm, s1 / big * dv, dm, s2 / big * dv]
            }
        }
    )*};
}
products_impl!(f32: 1.837_877_f32, f64: 1.837_877_066_409_345_3_f64);

/// `min(a, b) / max(a, b)` of two magnitudes, `0` when only the larger is
/// infinite, NaN when both are zero, both infinite or either is NaN.
#[inline(always)]
fn ratio<T: Copy + PartialOrd + std::ops::Div<Output = T>>(a: T, b: T) -> T {
    // NaN in `a`: the comparison fails and `a / b` is NaN; NaN in `b`: `b / a`.
    if a <= b {
        a / b
    } else {
        b / a
    }
}

#[cfg(test)]
mod tests {
    use super::ProductOps;

    /// cirkit's formulas, as written.
    fn textbook(m1: f64, s1: f64, m2: f64, s2: f64) -> (f64, f64, f64) {
        let (v1, v2) = (s1 * s1, s2 * s2);
        let v = v1 + v2;
        let m = (m1 * v2 + m2 * v1) / v;
        let s = (v1 * v2 / v).sqrt();
        let d = m1 - m2;
        let z = -0.5 * ((2.0 * std::f64::consts::PI).ln() + v.ln() + d * d / v);
        (m, s, z)
    }

    fn stable(m1: f64, s1: f64, m2: f64, s2: f64) -> (f64, f64, f64) {
        let w = f64::gaussian_scaled_var(s1, s2);
        (
            f64::gaussian_mean(m1, s1, m2, s2, w),
            f64::gaussian_stddev(s1, s2, w),
            f64::gaussian_log_partition(m1, s1, m2, s2, w),
        )
    }

    fn stable32(m1: f32, s1: f32, m2: f32, s2: f32) -> (f32, f32, f32) {
        let w = f32::gaussian_scaled_var(s1, s2);
        (
            f32::gaussian_mean(m1, s1, m2, s2, w),
            f32::gaussian_stddev(s1, s2, w),
            f32::gaussian_log_partition(m1, s1, m2, s2, w),
        )
    }

    #[test]
    fn gaussian_parameters_match_the_textbook_forms() {
        for &(m1, s1, m2, s2) in &[
            (
                1.8238840509100886,
                1.0404503697261398,
                2.68007229850511,
                0.27384910053452116,
            ),
            (-0.3, 0.5, 0.9, 0.6),
            (3.0, 2.0, -4.0, 0.1),
            (0.0, 1.0, 0.0, 1.0),
            (5.0, -2.0, 1.0, 3.0),
        ] {
            let (a, b) = (textbook(m1, s1, m2, s2), stable(m1, s1, m2, s2));
            for (x, y) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
                assert!((x - y).abs() <= 4e-16 * x.abs().max(1.0), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn gaussian_forms_are_stable() {
        // A vanishing variance on one side gives that side's mean exactly.
        let w = f64::gaussian_scaled_var(2.0, 0.0);
        assert_eq!(f64::gaussian_mean(0.3, 2.0, 0.7, 0.0, w), 0.7);
        assert_eq!(f64::gaussian_stddev(2.0, 0.0, w), 0.0);
        // Means near 1e200 with large variances: the textbook m1·s2² overflows.
        let w = f64::gaussian_scaled_var(1e100, 1e100);
        let m = f64::gaussian_mean(1e200, 1e100, 3e200, 1e100, w);
        assert!((m / 2e200 - 1.0).abs() < 1e-15, "{m}");
        // Nearly equal means far from 0: the Mahalanobis term stays exact.
        let w = f64::gaussian_scaled_var(1e-8, 1e-8);
        let z = f64::gaussian_log_partition(1e8 + 1e-8, 1e-8, 1e8, 1e-8, w);
        assert!(z.is_finite());
        // NaN propagates; both stddevs zero is NaN, as torch's 0 / 0.
        assert!(stable(f64::NAN, 1.0, 0.0, 1.0).0.is_nan());
        let (m, s, z) = stable(0.0, f64::NAN, 0.0, 1.0);
        assert!(m.is_nan() && s.is_nan() && z.is_nan());
        let (m, s, z) = stable(0.0, 1.0, 0.0, f64::NAN);
        assert!(m.is_nan() && s.is_nan() && z.is_nan());
        let (m, s, z) = stable(1.0, 0.0, 2.0, 0.0);
        assert!(m.is_nan() && s.is_nan() && z.is_nan());
        // An infinite mean gives ±inf, as torch's weighted average.
        assert_eq!(stable(f64::INFINITY, 1.0, 0.0, 2.0).0, f64::INFINITY);
        assert_eq!(
            stable(0.0, 1.0, f64::NEG_INFINITY, 2.0).0,
            f64::NEG_INFINITY
        );
        // An infinite stddev: the limits.
        let (m, s, z) = stable(0.5, 2.0, 7.0, f64::INFINITY);
        assert_eq!((m, s, z), (0.5, 2.0, f64::NEG_INFINITY));
        // Both infinite: mean and stddev NaN (torch's ∞/∞), log Z = −inf
        // (as torch), in both types.
        let (m, s, z) = stable(0.0, f64::INFINITY, 5.0, f64::INFINITY);
        assert!(m.is_nan() && s.is_nan());
        assert_eq!(z, f64::NEG_INFINITY);
        let (m, s, z) = stable32(0.0, f32::INFINITY, 5.0, f32::NEG_INFINITY);
        assert!(m.is_nan() && s.is_nan());
        assert_eq!(z, f32::NEG_INFINITY);
        // f32 agrees with f64 to its precision.
        let z32 = stable32(-0.3, 0.5, 0.9, 0.6).2;
        let z64 = stable(-0.3, 0.5, 0.9, 0.6).2;
        assert!((z32 as f64 - z64).abs() < 1e-6);
    }

    /// The handed case: `s1² + s2²` overflows `f32`, the stddev is 1e-3.
    #[test]
    fn f32_stddev_of_a_huge_and_a_small_stddev() {
        assert_eq!(stable32(0.0, 1e-3, 0.0, 2e19).1, 1e-3);
        assert_eq!(stable32(0.0, 2e19, 0.0, 1e-3).1, 1e-3);
        // Mean: the small stddev's mean, corrected by a weight of 2.5e-45.
        assert_eq!(stable32(3.0, 1e-3, -5.0, 2e19).0, 3.0);
        let z = stable32(3.0, 1e-3, -5.0, 2e19).2;
        let want = -0.5 * (2.0 * std::f64::consts::PI).ln() - 2e19f64.ln();
        assert!((f64::from(z) - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want.abs());
    }

    /// Relative error in units of `eps`, against a scale.
    fn err(got: f64, want: f64, scale: f64, eps: f64) -> f64 {
        (got - want).abs() / (scale * eps)
    }

    /// At every scale of both types, up to the largest finite stddevs and
    /// means and down to the smallest normal ones, the three results match
    /// the textbook forms evaluated at moderate values and scaled by an
    /// exact power of two: `m`, `s` scale with `2ᵏ`, `log Z` shifts by
    /// `−k·log 2`. Tolerance: 8 ulps of the result (of `max(|m1|, |m2|)` for
    /// the mean, whose correction may cancel; of the sum of the terms'
    /// magnitudes for `log Z`).
    #[test]
    fn gaussian_forms_hold_at_the_extremes_of_both_types() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut unit = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // (exponents k, eps, f32?) — moderate values lie in [2^-8, 2^8], so
        // 2^k times them stays finite and normal in the type.
        for (lo, hi, eps, single) in [
            (-1012, 1014, f64::EPSILON, false),
            (-116, 118, f64::from(f32::EPSILON), true),
        ] {
            for k in (lo..=hi).step_by(3) {
                let scale = 2f64.powi(k);
                for _ in 0..20 {
                    let s1 = 2f64.powf(16.0 * unit() - 8.0);
                    let s2 = 2f64.powf(16.0 * unit() - 8.0);
                    let m1 = (unit() - 0.5) * 256.0;
                    let m2 = (unit() - 0.5) * 256.0;
                    let (sm1, ss1, sm2, ss2) = if single {
                        // Round the scaled inputs to f32 and use those exact
                        // values in the reference.
                        let r = |v: f64| f64::from((v * scale) as f32) / scale;
                        (r(m1), r(s1), r(m2), r(s2))
                    } else {
                        (m1, s1, m2, s2)
                    };
                    let (tm, ts, tz) = textbook(sm1, ss1, sm2, ss2);
                    let (wm, ws, wz) = (tm * scale, ts * scale, tz - f64::from(k) * 2f64.ln());
                    let (gm, gs, gz) = if single {
                        let g = stable32(
                            (sm1 * scale) as f32,
                            (ss1 * scale) as f32,
                            (sm2 * scale) as f32,
                            (ss2 * scale) as f32,
                        );
                        (f64::from(g.0), f64::from(g.1), f64::from(g.2))
                    } else {
                        stable(sm1 * scale, ss1 * scale, sm2 * scale, ss2 * scale)
                    };
                    let ctx = format!("k {k}, ({sm1}, {ss1}, {sm2}, {ss2}), f32 {single}");
                    let mscale = sm1.abs().max(sm2.abs()) * scale;
                    assert!(err(gm, wm, mscale, eps) <= 8.0, "mean {gm} vs {wm}: {ctx}");
                    assert!(err(gs, ws, ws, eps) <= 8.0, "stddev {gs} vs {ws}: {ctx}");
                    let d = (sm1 - sm2) / ss1.max(ss2);
                    let zscale = 1.0 + (ss1.max(ss2) * scale).ln().abs() + d * d;
                    assert!(err(gz, wz, zscale, eps) <= 8.0, "log Z {gz} vs {wz}: {ctx}");
                }
            }
        }
    }

    #[test]
    fn gaussian_forms_at_the_largest_and_smallest_values() {
        // Largest stddevs: v overflows, s = M/√2.
        let (m, s, z) = stable(0.0, f64::MAX, 0.0, f64::MAX);
        assert_eq!(m, 0.0);
        assert!((s / (f64::MAX / 2f64.sqrt()) - 1.0).abs() < 4.0 * f64::EPSILON);
        let want = -0.5 * (2.0 * std::f64::consts::PI).ln() - f64::MAX.ln() - 0.5 * 2f64.ln();
        assert!((z - want).abs() < 4.0 * f64::EPSILON * want.abs());
        // Largest means of opposite signs: their difference overflows.
        let (m, _, z) = stable(f64::MAX, 1e300, -f64::MAX, 1e300);
        assert_eq!(m, 0.0);
        let y = 2.0 * (f64::MAX / 1e300);
        let want = -0.5 * (2.0 * std::f64::consts::PI).ln()
            - 1e300f64.ln()
            - 0.5 * 2f64.ln()
            - 0.25 * y * y;
        assert!(
            (z - want).abs() < 8.0 * f64::EPSILON * want.abs(),
            "{z} vs {want}"
        );
        let (m, _, _) = stable(f64::MAX, 1.0, -f64::MAX, 2.0);
        assert!(
            (m / (f64::MAX * 0.6) - 1.0).abs() < 4.0 * f64::EPSILON,
            "{m}"
        );
        // Smallest stddevs: v underflows to 0 in the textbook form.
        let tiny = f64::from_bits(1); // 4.9e-324
        let (_, s, z) = stable(0.0, tiny, 0.0, tiny);
        assert!(s > 0.0 && s <= tiny);
        let want = -0.5 * (2.0 * std::f64::consts::PI).ln() - tiny.ln() - 0.5 * 2f64.ln();
        assert!(
            (z - want).abs() < 4.0 * f64::EPSILON * want.abs(),
            "{z} vs {want}"
        );
        // f32 at both ends.
        let (m, s, z) = stable32(1.0, f32::MAX, -1.0, f32::MAX);
        assert_eq!(m, 0.0);
        assert!((f64::from(s) / (f64::from(f32::MAX) / 2f64.sqrt()) - 1.0).abs() < 1e-6);
        assert!(z.is_finite() && z < -88.0);
        let tiny32 = f32::from_bits(1);
        let (m, s, z) = stable32(1.0, tiny32, 3.0, 1.0);
        assert_eq!(m, 1.0);
        assert_eq!(s, tiny32);
        assert!(z.is_finite());
        let (_, s, z) = stable32(0.0, 1e-30, 0.0, 3e-30);
        assert!(
            (f64::from(s) / (3e-30 / 10f64.sqrt()) - 1.0).abs() < 1e-6,
            "{s}"
        );
        assert!(z.is_finite());
    }

    /// Central difference of `f` along argument `k` of `args`.
    fn partial(f: impl Fn([f64; 4]) -> f64, args: [f64; 4], k: usize) -> f64 {
        let h = 1e-6 * args[k].abs().max(1.0);
        let (mut up, mut down) = (args, args);
        up[k] += h;
        down[k] -= h;
        (f(up) - f(down)) / (2.0 * h)
    }

    #[test]
    fn gaussian_partials_match_finite_differences() {
        for args in [
            [0.3, 0.7, -1.2, 1.9],
            [2.0, 3.0, 1.0, 0.5],
            [-0.5, 1.0, 4.0, 1.0],
        ] {
            let [m1, s1, m2, s2] = args;
            let w = f64::gaussian_scaled_var(s1, s2);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-7 * b.abs().max(1.0);
            let mean = |a: [f64; 4]| {
                let w = f64::gaussian_scaled_var(a[1], a[3]);
                f64::gaussian_mean(a[0], a[1], a[2], a[3], w)
            };
            let log_z = |a: [f64; 4]| {
                let w = f64::gaussian_scaled_var(a[1], a[3]);
                f64::gaussian_log_partition(a[0], a[1], a[2], a[3], w)
            };
            let sd = |a: [f64; 4]| {
                let w = f64::gaussian_scaled_var(a[1], a[3]);
                f64::gaussian_stddev(a[1], a[3], w)
            };
            let dm = f64::gaussian_mean_vjp(m1, s1, m2, s2, w);
            let dz = f64::gaussian_log_partition_vjp(m1, s1, m2, s2, w);
            let ds = f64::gaussian_stddev_vjp(s1, s2, w);
            for k in 0..4 {
                assert!(close(dm[k], partial(mean, args, k)), "mean {k} {args:?}");
                assert!(close(dz[k], partial(log_z, args, k)), "log Z {k} {args:?}");
            }
            assert!(close(ds[0], partial(sd, args, 1)));
            assert!(close(ds[1], partial(sd, args, 3)));
        }
    }

    #[test]
    fn derivative_coefficients_are_falling_factorials() {
        assert_eq!(f64::derivative_coefficient(1.5, 0, 1), 1.5);
        assert_eq!(f64::derivative_coefficient(1.0, 1, 2), 6.0);
        assert_eq!(
            f64::derivative_coefficient(2.0, 2, 3),
            2.0 * 5.0 * 4.0 * 3.0
        );
        assert_eq!(f32::derivative_coefficient(0.5, 3, 1), 2.0);
        assert!(f64::derivative_coefficient(f64::NAN, 0, 2).is_nan());
    }
}
