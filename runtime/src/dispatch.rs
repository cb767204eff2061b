//! Run-time dispatch to code compiled for AVX2 + FMA.
//!
//! `dispatched!` turns a kernel written once, generic over a `const FMA:
//! bool`, into a public function that runs the `FMA = true` instance
//! compiled with `#[target_feature(enable = "avx2,fma")]` when the CPU has
//! both features, and the portable `FMA = false` instance otherwise. The
//! `unsafe` block inside the macro — calling a target-feature function
//! after checking the features — is the crate's only `unsafe`.
//!
//! [`with_portable`] runs a closure with every kernel on its portable path
//! on the calling thread, so tests exercise both paths on a machine that
//! has AVX2 (the path a CPU without it would take).

use std::cell::Cell;

thread_local! {
    /// Whether this thread is inside [`with_portable`].
    static PORTABLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this CPU runs AVX2 and FMA (std caches the detection) and the
/// calling thread is not inside [`with_portable`].
#[inline]
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && !PORTABLE.with(Cell::get)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `f` with every dispatched kernel on its portable (`FMA = false`)
/// path on this thread, whatever the CPU has: how tests reach the code a
/// CPU without AVX2/FMA runs. Nests; other threads are unaffected.
///
/// ```
/// use param_graph_runtime::dispatch::{avx2_available, with_portable};
///
/// with_portable(|| assert!(!avx2_available()));
/// ```
pub fn with_portable<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            PORTABLE.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PORTABLE.with(|p| p.replace(true)));
    f()
}

/// `dispatched! { /// docs
/// pub fn name(arg: Type, ...) => kernel; }` defines `name`, which calls
/// `kernel::<true>(args)` compiled for AVX2/FMA when available and
/// `kernel::<false>(args)` otherwise.
macro_rules! dispatched {
    ($(#[$attr:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $kernel:ident;) => {
        $(#[$attr])*
        #[allow(unsafe_code)]
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn with_avx2($($arg: $ty),*) {
                    $kernel::<true>($($arg),*)
                }
                if $crate::dispatch::avx2_available() {
                    // SAFETY: `with_avx2` needs AVX2 and FMA, which the CPU
                    // was just checked to have.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $kernel::<false>($($arg),*)
        }
    };
}

pub(crate) use dispatched;

#[cfg(test)]
mod tests {
    use super::*;

    /// Within `ulps` units in the last place, or both NaN, or equal.
    fn near(a: f64, b: f64, ulps: u64) -> bool {
        (a.is_nan() && b.is_nan())
            || a == b
            || (a.signum() == b.signum() && a.to_bits().abs_diff(b.to_bits()) <= ulps)
    }

    /// `map` over `x` natively and on the portable path, element by
    /// element within `near`.
    fn compare<T: Copy + std::fmt::Debug>(
        x: &[T],
        map: fn(&mut [T]),
        near: impl Fn(T, T) -> bool,
        name: &str,
    ) {
        let mut native = x.to_vec();
        map(&mut native);
        let mut portable = x.to_vec();
        with_portable(|| map(&mut portable));
        for ((n, p), v) in native.iter().zip(&portable).zip(x) {
            assert!(near(*n, *p), "{name}({v:?}): {n:?} vs {p:?}");
        }
    }

    #[test]
    fn the_portable_path_is_forced_on_this_thread_only_and_nests() {
        let native = avx2_available();
        with_portable(|| {
            assert!(!avx2_available());
            with_portable(|| assert!(!avx2_available()));
            assert!(!avx2_available(), "the inner call restores the outer state");
            let other = std::thread::spawn(avx2_available).join().unwrap();
            assert_eq!(other, native, "another thread keeps its own path");
        });
        assert_eq!(avx2_available(), native);
    }

    /// The vectorized maps give the same values (to 1 ulp: fused
    /// multiply-adds round once) on both paths, special values exactly.
    #[test]
    fn maps_agree_on_both_paths() {
        let mut x: Vec<f64> = (-3000..3000).map(|k| k as f64 * 0.25).collect();
        x.extend([
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            709.78,
            -745.2,
            -708.5,
            1e-300,
            f64::MAX,
            f64::MIN,
        ]);
        let ulp = |a: f64, b: f64| near(a, b, 1);
        compare(&x, crate::math::exp_in_place_f64, ulp, "exp");
        compare(&x, crate::math::sigmoid_in_place_f64, ulp, "sigmoid");
        // One `f32` ulp is 2²⁹ `f64` ulps at the same exponent.
        let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let ulp32 = |a: f32, b: f32| near(f64::from(a), f64::from(b), 1 << 29);
        compare(&x32, crate::math::exp_in_place_f32, ulp32, "exp");
        compare(&x32, crate::math::sigmoid_in_place_f32, ulp32, "sigmoid");
    }
}
