//! Scalar functions of the parameter ops, in torch's numerics.

/// A floating-point element type of a parameter graph: `f32` or `f64`.
///
/// Each function matches what torch computes for the same op, including its
/// handling of `±inf` and NaN (cirkit, the reference, runs on torch).
///
/// ```
/// use param_graph_runtime::Real;
///
/// assert_eq!(<f64 as Real>::sigmoid(f64::NEG_INFINITY), 0.0);
/// assert_eq!(<f64 as Real>::softplus(100.0), 100.0);
/// assert!(<f64 as Real>::nan_max(1.0, f64::NAN).is_nan());
/// ```
pub trait Real: Copy + PartialOrd {
    /// `eˣ` within 1 ulp of libm, in a form loops auto-vectorize
    /// ([`crate::math`]).
    fn exp(self) -> Self;
    /// Every element replaced by its exponential, vectorized, with AVX2/FMA
    /// when the CPU has them ([`crate::math::exp_in_place_f64`]).
    fn exp_in_place(values: &mut [Self]);
    /// Every element replaced by its sigmoid, vectorized
    /// ([`crate::math::sigmoid_in_place_f64`]).
    fn sigmoid_in_place(values: &mut [Self]);
    /// `dst[k] = exp(src[k])`, vectorized ([`crate::math::exp_into_f64`]).
    fn exp_into(src: &[Self], dst: &mut [Self]);
    /// `dst[k] = sigmoid(src[k])`, vectorized
    /// ([`crate::math::sigmoid_into_f64`]).
    fn sigmoid_into(src: &[Self], dst: &mut [Self]);
    /// The contraction kernel of [`crate::contract::gemm_acc_f64`] for this
    /// element type.
    fn gemm_acc(
        rows: usize,
        inner: usize,
        cols: usize,
        a: &[Self],
        b: &[Self],
        out: &mut [Self],
        s: crate::contract::GemmStrides,
    );
    /// `max` that propagates NaN, as `torch.amax` does (`f64::max` drops it).
    fn nan_max(self, other: Self) -> Self;
    /// `min` that propagates NaN, as `torch.minimum` does.
    fn nan_min(self, other: Self) -> Self;
    /// `log(exp(a) + exp(b))` as `torch.logaddexp`: `max + log1p(exp(−|a − b|))`,
    /// and `a` itself when both are the same infinity (`−inf, −inf` gives
    /// `−inf`, not NaN); NaN propagates.
    fn logaddexp(self, other: Self) -> Self;
    /// The logistic function `1 / (1 + exp(-x))`, evaluated without overflow
    /// on either side.
    fn sigmoid(self) -> Self;
    /// `log(1 + exp(x))`; like `torch.nn.functional.softplus` (beta 1,
    /// threshold 20) it returns `x` itself above the threshold.
    fn softplus(self) -> Self;
    /// `log(sigmoid(x)) = -softplus(-x)`, evaluated so that neither the
    /// sigmoid underflows (large negative `x`) nor `log(1 - ε)` cancels
    /// (large positive `x`).
    fn log_sigmoid(self) -> Self;
    /// `vmin + (vmax - vmin) * sigmoid(x)`, cirkit's scaled sigmoid.
    fn scaled_sigmoid(self, vmin: Self, vmax: Self) -> Self;
    /// `max(x, min)` that keeps a NaN `x` NaN, like `torch.clamp`.
    fn clamp_min(self, min: Self) -> Self;
    /// `min(x, max)` that keeps a NaN `x` NaN, like `torch.clamp`.
    fn clamp_max(self, max: Self) -> Self;
    /// The shift `torch.logsumexp` subtracts before exponentiating: the
    /// maximum itself, or zero when the maximum is infinite (so a row of all
    /// `-inf` gives `-inf` and a row holding `+inf` gives `+inf`, not NaN).
    fn lse_shift(max: Self) -> Self;
}

macro_rules! paste_exp {
    (f32, $x:expr) => {
        crate::math::exp_f32($x)
    };
    (f64, $x:expr) => {
        crate::math::exp_f64($x)
    };
    (f32 in place, $x:expr) => {
        crate::math::exp_in_place_f32($x)
    };
    (f64 in place, $x:expr) => {
        crate::math::exp_in_place_f64($x)
    };
    (f32 sigmoid in place, $x:expr) => {
        crate::math::sigmoid_in_place_f32($x)
    };
    (f64 sigmoid in place, $x:expr) => {
        crate::math::sigmoid_in_place_f64($x)
    };
    (f32 exp into, $s:expr, $d:expr) => {
        crate::math::exp_into_f32($s, $d)
    };
    (f64 exp into, $s:expr, $d:expr) => {
        crate::math::exp_into_f64($s, $d)
    };
    (f32 sigmoid into, $s:expr, $d:expr) => {
        crate::math::sigmoid_into_f32($s, $d)
    };
    (f64 sigmoid into, $s:expr, $d:expr) => {
        crate::math::sigmoid_into_f64($s, $d)
    };
    (f32 gemm, $($arg:expr),*) => {
        crate::contract::gemm_acc_f32($($arg),*)
    };
    (f64 gemm, $($arg:expr),*) => {
        crate::contract::gemm_acc_f64($($arg),*)
    };
}

macro_rules! real_impl {
    ($($t:ident),*) => {$(
        impl Real for $t {
            #[inline(always)]
            fn exp(self) -> Self {
                paste_exp!($t, self)
            }
            #[inline]
            fn exp_in_place(values: &mut [Self]) {
                paste_exp!($t in place, values)
            }
            #[inline]
            fn sigmoid_in_place(values: &mut [Self]) {
                paste_exp!($t sigmoid in place, values)
            }
            #[inline]
            fn exp_into(src: &[Self], dst: &mut [Self]) {
                paste_exp!($t exp into, src, dst)
            }
            #[inline]
            fn sigmoid_into(src: &[Self], dst: &mut [Self]) {
                paste_exp!($t sigmoid into, src, dst)
            }
            #[inline]
            fn gemm_acc(rows: usize, inner: usize, cols: usize, a: &[Self], b: &[Self], out: &mut [Self], s: crate::contract::GemmStrides) {
                paste_exp!($t gemm, rows, inner, cols, a, b, out, s)
            }
            #[inline(always)]
            fn nan_min(self, other: Self) -> Self {
                let smaller = if other < self { other } else { self };
                if other.is_nan() { other } else { smaller }
            }
            #[inline]
            fn logaddexp(self, other: Self) -> Self {
                if self.is_infinite() && self == other {
                    return self;
                }
                let top = if other > self { other } else { self };
                if self.is_nan() || other.is_nan() {
                    return self + other;
                }
                top + (-(self - other).abs()).exp().ln_1p()
            }
            #[inline(always)]
            fn nan_max(self, other: Self) -> Self {
                // Selects only, so a loop of it vectorizes: a NaN `self`
                // survives the comparison, a NaN `other` the second select.
                let larger = if other > self { other } else { self };
                if other.is_nan() { other } else { larger }
            }
            #[inline]
            fn sigmoid(self) -> Self {
                if self >= 0.0 {
                    1.0 / (1.0 + (-self).exp())
                } else {
                    let e = self.exp();
                    e / (1.0 + e)
                }
            }
            #[inline]
            fn softplus(self) -> Self {
                if self > 20.0 {
                    self
                } else {
                    self.exp().ln_1p()
                }
            }
            #[inline]
            fn log_sigmoid(self) -> Self {
                if self >= 0.0 {
                    -(-self).exp().ln_1p()
                } else {
                    // Also the NaN branch: every step propagates it.
                    self - self.exp().ln_1p()
                }
            }
            #[inline]
            fn scaled_sigmoid(self, vmin: Self, vmax: Self) -> Self {
                self.sigmoid() * (vmax - vmin) + vmin
            }
            #[inline]
            fn clamp_min(self, min: Self) -> Self {
                if self < min { min } else { self }
            }
            #[inline]
            fn clamp_max(self, max: Self) -> Self {
                if self > max { max } else { self }
            }
            #[inline]
            fn lse_shift(max: Self) -> Self {
                if max.is_infinite() { 0.0 } else { max }
            }
        }
    )*};
}
real_impl!(f32, f64);

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn nan_max_propagates_from_either_side() {
        assert!(f64::NAN.nan_max(1.0).is_nan());
        assert!(1.0f64.nan_max(f64::NAN).is_nan());
        assert_eq!(1.0f64.nan_max(2.0), 2.0);
        assert_eq!(f64::NEG_INFINITY.nan_max(-3.0), -3.0);
        assert!(f32::NAN.nan_max(f32::INFINITY).is_nan());
    }

    #[test]
    fn sigmoid_tails_and_special_values() {
        assert_eq!(f64::INFINITY.sigmoid(), 1.0);
        assert_eq!(f64::NEG_INFINITY.sigmoid(), 0.0);
        assert!(f64::NAN.sigmoid().is_nan());
        // Relative accuracy in the far left tail, where 1 - sigmoid would cancel.
        let x = -700.0f64;
        assert!((x.sigmoid() / x.exp() - 1.0).abs() < 1e-12);
        assert_eq!(0.0f64.sigmoid(), 0.5);
    }

    #[test]
    fn softplus_matches_torch_threshold() {
        assert_eq!(f64::INFINITY.softplus(), f64::INFINITY);
        assert_eq!(f64::NEG_INFINITY.softplus(), 0.0);
        assert!(f64::NAN.softplus().is_nan());
        assert_eq!(20.5f64.softplus(), 20.5);
        assert!((1.0f64.softplus() - (1.0f64.exp() + 1.0).ln()).abs() < 1e-15);
        // Tiny values: log1p keeps the relative accuracy.
        let x = -40.0f64;
        assert!((x.softplus() / x.exp() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn log_sigmoid_is_accurate_in_both_tails() {
        assert_eq!((-1000.0f64).log_sigmoid(), -1000.0);
        let x = 40.0f64;
        assert!((x.log_sigmoid() / -(-x).exp() - 1.0).abs() < 1e-15);
        assert!((1.0f64.log_sigmoid() - 1.0f64.sigmoid().ln()).abs() < 1e-15);
        assert_eq!(f64::INFINITY.log_sigmoid(), 0.0);
        assert_eq!(f64::NEG_INFINITY.log_sigmoid(), f64::NEG_INFINITY);
        assert!(f64::NAN.log_sigmoid().is_nan());
    }

    #[test]
    fn clamp_keeps_nan_and_bounds() {
        assert!(f64::NAN.clamp_min(0.0).is_nan());
        assert!(f64::NAN.clamp_max(0.0).is_nan());
        assert_eq!((-1.0f64).clamp_min(0.0), 0.0);
        assert_eq!(f64::INFINITY.clamp_max(2.0), 2.0);
    }

    #[test]
    fn lse_shift_masks_infinite_maxima() {
        assert_eq!(<f64 as Real>::lse_shift(f64::NEG_INFINITY), 0.0);
        assert_eq!(<f64 as Real>::lse_shift(f64::INFINITY), 0.0);
        assert_eq!(<f64 as Real>::lse_shift(3.0), 3.0);
        assert!(<f64 as Real>::lse_shift(f64::NAN).is_nan());
    }
}
