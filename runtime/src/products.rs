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
/// `v` is computed once per pair ([`ProductOps::gaussian_var_sum`]) and the
/// three parameters are computed from it in forms that neither overflow
/// where the result is finite nor cancel:
///
/// ```
/// use param_graph_runtime::ProductOps;
///
/// let v = <f64 as ProductOps>::gaussian_var_sum(3.0, 4.0);
/// assert_eq!(v, 25.0);
/// assert_eq!(<f64 as ProductOps>::gaussian_stddev(3.0, 4.0, v), 2.4);
/// // Equal means: the product's mean is that mean, exactly.
/// assert_eq!(<f64 as ProductOps>::gaussian_mean(0.1, 3.0, 0.1, 4.0, v), 0.1);
/// // No overflow of 1e200 · 4e200 on the way to a finite result.
/// let w = <f64 as ProductOps>::gaussian_var_sum(1e100, 2e100);
/// assert!((<f64 as ProductOps>::gaussian_stddev(1e100, 2e100, w) / 8.94427190999916e99 - 1.0).abs() < 1e-15);
/// ```
pub trait ProductOps: Copy {
    /// The summed variances `v = s1² + s2²` of one pair.
    fn gaussian_var_sum(s1: Self, s2: Self) -> Self;
    /// The mean of the product, `(m1·s2² + m2·s1²) / v`, computed as the
    /// closer mean plus a correction: `m1 + (m2 − m1)·(s1² / v)` when
    /// `s1² ≤ s2²`, else `m2 + (m1 − m2)·(s2² / v)`. The weight is at most
    /// ½, equal means give that mean exactly, and nothing overflows on the
    /// way to a finite result.
    fn gaussian_mean(m1: Self, s1: Self, m2: Self, s2: Self, v: Self) -> Self;
    /// The standard deviation of the product, `√(s1²·s2² / v)`, computed as
    /// `|s2| · (|s1| / √v)`: the ratio is at most 1, so the product of the
    /// variances never overflows.
    fn gaussian_stddev(s1: Self, s2: Self, v: Self) -> Self;
    /// The log normalizer of the product,
    /// `log N(m1; m2, v) = −½ (log 2π + log v + d·(d / v))` with
    /// `d = m1 − m2`: the difference taken first (no cancellation of `m1²`
    /// against `2·m1·m2`), `log` of the summed variance.
    fn gaussian_log_partition(m1: Self, m2: Self, v: Self) -> Self;
    /// The coefficient of degree `index` of the `order`-th derivative of a
    /// polynomial whose coefficient of degree `index + order` is `c`:
    /// `c · (index + order) · (index + order − 1) ⋯ (index + 1)`, multiplied
    /// in that order, as cirkit's repeated differentiation does.
    fn derivative_coefficient(c: Self, index: usize, order: usize) -> Self;
}

macro_rules! products_impl {
    ($($t:ident: $ln_2pi:expr),*) => {$(
        impl ProductOps for $t {
            #[inline]
            fn gaussian_var_sum(s1: Self, s2: Self) -> Self {
                s1 * s1 + s2 * s2
            }
            #[inline]
            fn gaussian_mean(m1: Self, s1: Self, m2: Self, s2: Self, v: Self) -> Self {
                let (v1, v2) = (s1 * s1, s2 * s2);
                if v1 <= v2 {
                    m1 + (m2 - m1) * (v1 / v)
                } else {
                    // Also the NaN branch: every step propagates it.
                    m2 + (m1 - m2) * (v2 / v)
                }
            }
            #[inline]
            fn gaussian_stddev(s1: Self, s2: Self, v: Self) -> Self {
                s2.abs() * (s1.abs() / v.sqrt())
            }
            #[inline]
            fn gaussian_log_partition(m1: Self, m2: Self, v: Self) -> Self {
                let d = m1 - m2;
                -0.5 * ($ln_2pi + v.ln() + d * (d / v))
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
        }
    )*};
}
products_impl!(f32: 1.837_877_f32, f64: 1.837_877_066_409_345_3_f64);

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
        let v = f64::gaussian_var_sum(s1, s2);
        (
            f64::gaussian_mean(m1, s1, m2, s2, v),
            f64::gaussian_stddev(s1, s2, v),
            f64::gaussian_log_partition(m1, m2, v),
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
        let v = f64::gaussian_var_sum(2.0, 0.0);
        assert_eq!(f64::gaussian_mean(0.3, 2.0, 0.7, 0.0, v), 0.7);
        assert_eq!(f64::gaussian_stddev(2.0, 0.0, v), 0.0);
        // Means near 1e200 with large variances: the textbook m1·s2² overflows.
        let v = f64::gaussian_var_sum(1e100, 1e100);
        let m = f64::gaussian_mean(1e200, 1e100, 3e200, 1e100, v);
        assert!((m / 2e200 - 1.0).abs() < 1e-15, "{m}");
        // Nearly equal means far from 0: the Mahalanobis term stays exact.
        let v = f64::gaussian_var_sum(1e-8, 1e-8);
        let z = f64::gaussian_log_partition(1e8 + 1e-8, 1e8, v);
        assert!(z.is_finite());
        // NaN propagates.
        assert!(f64::gaussian_mean(f64::NAN, 1.0, 0.0, 1.0, 2.0).is_nan());
        assert!(f64::gaussian_mean(0.0, f64::NAN, 0.0, 1.0, f64::NAN).is_nan());
        assert!(f64::gaussian_stddev(1.0, f64::NAN, f64::NAN).is_nan());
        // f32 agrees with f64 to its precision.
        let v32 = f32::gaussian_var_sum(0.5, 0.6);
        let z32 = f32::gaussian_log_partition(-0.3, 0.9, v32);
        let z64 = stable(-0.3, 0.5, 0.9, 0.6).2;
        assert!((z32 as f64 - z64).abs() < 1e-6);
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
