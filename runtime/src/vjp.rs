//! Scalar derivatives of the parameter ops, for the backward passes of
//! `#[param_graph(vjp)]`: each takes the forward value it needs (the
//! argument `x` or the result `y`) and the cotangent `g`, and returns the
//! argument's cotangent in torch autograd's form
//! (`tools/autograd/derivatives.yaml`), with torch's values at `±inf`, NaN
//! and the non-differentiable points.

/// The derivatives of the scalar ops, for `f32` and `f64`.
///
/// ```
/// use param_graph_runtime::Vjp;
///
/// // d sigmoid = y (1 - y): at x = 0, y = 1/2.
/// assert_eq!(<f64 as Vjp>::sigmoid_vjp(0.5, 1.0), 0.25);
/// // clamp passes the gradient strictly inside its bounds only.
/// assert_eq!(<f64 as Vjp>::clamp_vjp(0.5, 3.0, 0.0, 1.0), 3.0);
/// assert_eq!(<f64 as Vjp>::clamp_vjp(1.0, 3.0, 0.0, 1.0), 0.0);
/// ```
pub trait Vjp: Copy {
    /// `exp`: `g · y`.
    fn exp_vjp(y: Self, g: Self) -> Self;
    /// `log`: `g / x`.
    fn log_vjp(x: Self, g: Self) -> Self;
    /// `square`: `g · 2x`.
    fn square_vjp(x: Self, g: Self) -> Self;
    /// `sigmoid`: `g · (1 − y) · y`, torch's `sigmoid_backward`.
    fn sigmoid_vjp(y: Self, g: Self) -> Self;
    /// `softplus` (threshold 20): `g` above the threshold, else
    /// `g · z / (z + 1)` with `z = eˣ`, torch's `softplus_backward`.
    fn softplus_vjp(x: Self, g: Self) -> Self;
    /// `log(sigmoid(x))`: `g · sigmoid(−x)`, which neither overflows nor
    /// cancels.
    fn log_sigmoid_vjp(x: Self, g: Self) -> Self;
    /// `vmin + (vmax − vmin) · sigmoid(x)`: `(g · (vmax − vmin)) · (1 − s) · s`
    /// with `s = sigmoid(x)`, the order autograd multiplies in.
    fn scaled_sigmoid_vjp(x: Self, g: Self, vmin: Self, vmax: Self) -> Self;
    /// `clamp(x, lo, hi)`: `g` strictly inside the bounds (`lo < x < hi`),
    /// else 0 — at a bound too, and at a NaN `x` — as torch ≥ 2.15's
    /// `clamp_backward` (the convention of the golden gradients; older torch
    /// passed `g` at the bounds). An absent bound is passed as `∓inf` and
    /// checks nothing.
    fn clamp_vjp(x: Self, g: Self, lo: Self, hi: Self) -> Self;
    /// `reduce_lse`: `g · exp(x − y)` with `y` the row's log-sum-exp; 0 for
    /// a row that is all `−inf` (torch gives NaN there: the one deliberate
    /// deviation, so a masked row does not poison an update).
    fn lse_vjp(x: Self, y: Self, g: Self) -> Self;
    /// `sqrt`: `g / (2y)` (torch's form: infinite at 0).
    fn sqrt_vjp(y: Self, g: Self) -> Self;
    /// `a / b`, with respect to `a` (`wrt = 0`: `g / b`) or `b` (`wrt = 1`:
    /// `−g·((a / b) / b)`, torch's `div_tensor_other_backward`).
    fn div_vjp(a: Self, b: Self, g: Self, wrt: usize) -> Self;
    /// `torch.maximum` (`max = true`) or `torch.minimum`: `g` to the
    /// larger (smaller) argument, `g/2` to each at a tie, and `g` to both
    /// where either is NaN (no comparison holds), as torch.
    fn extremum_vjp(a: Self, b: Self, g: Self, wrt: usize, max: bool) -> Self;
    /// `logaddexp`: `g / (1 + exp(b − a))` for `a`, `g / (1 + exp(a − b))`
    /// for `b`, as torch.
    fn logaddexp_vjp(a: Self, b: Self, g: Self, wrt: usize) -> Self;
}

macro_rules! vjp_impl {
    ($($t:ident),*) => {$(
        impl Vjp for $t {
            #[inline(always)]
            fn exp_vjp(y: Self, g: Self) -> Self {
                g * y
            }
            #[inline(always)]
            fn log_vjp(x: Self, g: Self) -> Self {
                g / x
            }
            #[inline(always)]
            fn square_vjp(x: Self, g: Self) -> Self {
                g * (2.0 * x)
            }
            #[inline(always)]
            fn sigmoid_vjp(y: Self, g: Self) -> Self {
                g * (1.0 - y) * y
            }
            #[inline]
            fn softplus_vjp(x: Self, g: Self) -> Self {
                if x > 20.0 {
                    g
                } else {
                    let z = <$t as crate::Real>::exp(x);
                    g * z / (z + 1.0)
                }
            }
            #[inline]
            fn log_sigmoid_vjp(x: Self, g: Self) -> Self {
                g * <$t as crate::Real>::sigmoid(-x)
            }
            #[inline]
            fn scaled_sigmoid_vjp(x: Self, g: Self, vmin: Self, vmax: Self) -> Self {
                let s = <$t as crate::Real>::sigmoid(x);
                g * (vmax - vmin) * (1.0 - s) * s
            }
            #[inline(always)]
            fn clamp_vjp(x: Self, g: Self, lo: Self, hi: Self) -> Self {
                let above = x > lo || lo == <$t>::NEG_INFINITY;
                let below = x < hi || hi == <$t>::INFINITY;
                // NaN: both comparisons fail, and a clamp has a bound.
                if above && below && !x.is_nan() { g } else { 0.0 }
            }
            #[inline(always)]
            fn sqrt_vjp(y: Self, g: Self) -> Self {
                g / (2.0 * y)
            }
            #[inline(always)]
            fn div_vjp(a: Self, b: Self, g: Self, wrt: usize) -> Self {
                if wrt == 0 { g / b } else { -g * ((a / b) / b) }
            }
            #[inline(always)]
            fn extremum_vjp(a: Self, b: Self, g: Self, wrt: usize, max: bool) -> Self {
                let (own, other) = if wrt == 0 { (a, b) } else { (b, a) };
                let loses = if max { own < other } else { own > other };
                if own == other {
                    g / 2.0
                } else if loses {
                    0.0
                } else {
                    g
                }
            }
            #[inline]
            fn logaddexp_vjp(a: Self, b: Self, g: Self, wrt: usize) -> Self {
                let (own, other) = if wrt == 0 { (a, b) } else { (b, a) };
                g / (1.0 + <$t as crate::Real>::exp(other - own))
            }
            #[inline]
            fn lse_vjp(x: Self, y: Self, g: Self) -> Self {
                if y == <$t>::NEG_INFINITY {
                    0.0
                } else {
                    g * <$t as crate::Real>::exp(x - y)
                }
            }
        }
    )*};
}

vjp_impl!(f32, f64);

#[cfg(test)]
mod tests {
    use super::Vjp;

    /// Central difference of `f` at `x`.
    fn slope(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6 * x.abs().max(1.0);
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn each_matches_a_finite_difference() {
        use crate::Real;
        for x in [-3.0, -0.4, 0.3, 2.5] {
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
            assert!(close(f64::exp_vjp(x.exp(), 1.0), slope(f64::exp, x)));
            assert!(close(f64::square_vjp(x, 1.0), slope(|v| v * v, x)));
            let y = Real::sigmoid(x);
            assert!(close(f64::sigmoid_vjp(y, 1.0), slope(Real::sigmoid, x)));
            assert!(close(f64::softplus_vjp(x, 1.0), slope(Real::softplus, x)));
            assert!(close(
                f64::log_sigmoid_vjp(x, 1.0),
                slope(Real::log_sigmoid, x)
            ));
            let scaled = |v: f64| Real::scaled_sigmoid(v, 0.5, 2.0);
            assert!(close(
                f64::scaled_sigmoid_vjp(x, 1.0, 0.5, 2.0),
                slope(scaled, x)
            ));
        }
        assert_eq!(f64::log_vjp(2.0, 3.0), 1.5);
    }

    #[test]
    fn torch_conventions_at_the_edges() {
        // clamp (torch 2.15): 0 at the bounds and at NaN; an absent bound
        // lets even an infinite x through.
        assert_eq!(f64::clamp_vjp(-0.5, 2.0, -0.5, 0.5), 0.0);
        assert_eq!(f64::clamp_vjp(0.5, 2.0, -0.5, 0.5), 0.0);
        assert_eq!(f64::clamp_vjp(0.1, 2.0, -0.5, 0.5), 2.0);
        assert_eq!(f64::clamp_vjp(f64::NAN, 2.0, -0.5, 0.5), 0.0);
        assert_eq!(f64::clamp_vjp(f64::NAN, 2.0, f64::NEG_INFINITY, 0.5), 0.0);
        assert_eq!(
            f64::clamp_vjp(f64::NEG_INFINITY, 2.0, f64::NEG_INFINITY, 0.5),
            2.0
        );
        // softplus: slope 1 above the threshold, the sigmoid below.
        assert_eq!(f64::softplus_vjp(20.5, 2.0), 2.0);
        assert_eq!(f64::softplus_vjp(f64::NEG_INFINITY, 2.0), 0.0);
        // log-sum-exp of an all -inf row: 0, not NaN (the documented deviation).
        assert_eq!(f64::lse_vjp(f64::NEG_INFINITY, f64::NEG_INFINITY, 1.0), 0.0);
        assert_eq!(f32::lse_vjp(1.0, 1.0, 2.0), 2.0);
        // sigmoid tails: the derivative underflows to 0, never NaN.
        assert_eq!(f64::sigmoid_vjp(1.0, 1.0), 0.0);
        assert_eq!(f64::log_sigmoid_vjp(f64::NEG_INFINITY, 1.0), 1.0);
    }
}
