//! Run-time dispatch to code compiled for AVX-512 or AVX2 + FMA.
//!
//! `dispatched!` turns a kernel written once, generic over a `const FMA:
//! bool`, into a public function that runs, by what the CPU has (checked
//! at run time; std caches the detection):
//!
//! - [`Path::Avx512`]: the `FMA = true` instance compiled with
//!   `#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]`,
//!   which LLVM vectorizes 8 `f64` / 16 `f32` wide;
//! - [`Path::Avx2`]: the same instance compiled for `avx2,fma` (4 / 8 wide);
//! - [`Path::Portable`]: the `FMA = false` instance, for any CPU.
//!
//! The two vector paths run the same operations in the same order (only
//! the vector width differs, and Rust never reassociates floating-point
//! sums), so they give bit-identical results by construction, which the
//! tests check on a CPU that has AVX-512 (the machine this was developed on
//! has none: there the AVX-512 build has never run; [`set_max_path`] keeps
//! a process off it). The portable path differs by the rounding of the
//! unfused multiply-adds. The `unsafe` block inside the
//! macro — calling a target-feature function after checking the features —
//! is the crate's only `unsafe`.
//!
//! [`with_max_path`] (and [`with_portable`]) runs a closure with every kernel on
//! at most a given path on the calling thread, so tests exercise each path
//! the machine can run (an AVX-512 machine also runs the AVX2 and portable
//! ones); [`set_max_path`] sets a ceiling for the whole process, and
//! [`active_path`] tells which build a call on this thread takes.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// An instruction-set path of the dispatched kernels, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// Plain Rust (SSE2 on x86-64), unfused multiply-adds.
    Portable,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512 (F, VL, BW, DQ) with AVX2 and FMA.
    Avx512,
}

impl Path {
    /// Every path, narrowest first.
    pub const ALL: [Path; 3] = [Path::Portable, Path::Avx2, Path::Avx512];
}

thread_local! {
    /// The widest path this thread may take ([`with_max_path`]).
    static CAP: Cell<Path> = const { Cell::new(Path::Avx512) };
}

/// [`cpu_path`] once detected, as its index in [`Path::ALL`] (`u8::MAX`:
/// not yet): one relaxed load per dispatched call instead of six feature
/// tests, which cost as much as a small contraction.
static CPU: AtomicU8 = AtomicU8::new(u8::MAX);

/// The process-wide ceiling of [`set_max_path`], as an index in
/// [`Path::ALL`].
static MAX: AtomicU8 = AtomicU8::new(Path::Avx512 as u8);

/// Whether any thread has ever called [`with_max_path`]: until then no
/// thread has a ceiling of its own and the thread-local is not read.
static CAPPED: AtomicBool = AtomicBool::new(false);

/// The widest path this CPU runs (detected once).
pub fn cpu_path() -> Path {
    match CPU.load(Ordering::Relaxed) {
        u8::MAX => {
            let path = detect();
            CPU.store(path as u8, Ordering::Relaxed);
            path
        }
        i => Path::ALL[usize::from(i)],
    }
}

fn detect() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        use std::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("fma")) {
            Path::Portable
        } else if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") {
            Path::Avx512
        } else {
            Path::Avx2
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Path::Portable
    }
}

/// The path the dispatched kernels take on this thread: the narrowest of
/// the CPU's widest ([`cpu_path`]), the process-wide ceiling
/// ([`set_max_path`]) and this thread's ([`with_max_path`]).
#[inline]
pub fn active_path() -> Path {
    let global = Path::ALL[usize::from(MAX.load(Ordering::Relaxed))];
    let path = cpu_path().min(global);
    if CAPPED.load(Ordering::Relaxed) {
        path.min(CAP.with(Cell::get))
    } else {
        path
    }
}

/// Whether the dispatched kernels take a vector path ([`Path::Avx2`] or
/// wider) on this thread.
#[inline]
pub fn avx2_available() -> bool {
    active_path() >= Path::Avx2
}

/// Sets a process-wide ceiling on the dispatched kernels' path, for every
/// thread, from the next call on: e.g. `set_max_path(Path::Avx2)` at
/// start-up to stay off AVX-512 (whose build this project could not run on
/// its own machines: see the README's "Speed at the limit"), or
/// `Path::Portable` to rule out fused multiply-adds. `Path::Avx512` (the
/// default) lifts it. A ceiling above what the CPU has changes nothing.
///
/// ```
/// use param_graph_runtime::dispatch::{active_path, set_max_path, Path};
///
/// set_max_path(Path::Avx2);
/// assert!(active_path() <= Path::Avx2);
/// set_max_path(Path::Avx512);
/// ```
pub fn set_max_path(max: Path) {
    MAX.store(max as u8, Ordering::Relaxed);
}

/// Runs `f` with every dispatched kernel on at most `max` on the calling
/// thread — a ceiling, not a choice: on a CPU without that path the
/// kernels take the widest it has ([`active_path`] tells which). Nested
/// calls keep the narrower ceiling, so a closure under
/// [`with_portable`] stays portable whatever it calls; other threads
/// (a thread pool's included) are unaffected. How tests reach the paths
/// other CPUs take.
///
/// ```
/// use param_graph_runtime::dispatch::{active_path, cpu_path, with_max_path, Path};
///
/// with_max_path(Path::Avx2, || assert!(active_path() <= Path::Avx2));
/// with_max_path(Path::Portable, || {
///     // The inner ceiling is wider: the outer one stands.
///     with_max_path(Path::Avx512, || assert_eq!(active_path(), Path::Portable));
/// });
/// assert_eq!(active_path(), cpu_path());
/// ```
pub fn with_max_path<R>(max: Path, f: impl FnOnce() -> R) -> R {
    struct Restore(Path);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAP.with(|c| c.set(self.0));
        }
    }
    CAPPED.store(true, Ordering::Relaxed);
    let outer = CAP.with(Cell::get);
    let _restore = Restore(CAP.with(|c| c.replace(outer.min(max))));
    f()
}

/// [`with_max_path`]`(Path::Portable, f)`: every dispatched kernel on its
/// portable (`FMA = false`) build, whatever the CPU has.
///
/// ```
/// use param_graph_runtime::dispatch::{avx2_available, with_portable};
///
/// with_portable(|| assert!(!avx2_available()));
/// ```
pub fn with_portable<R>(f: impl FnOnce() -> R) -> R {
    with_max_path(Path::Portable, f)
}

/// `dispatched! { /// docs
/// pub fn name(arg: Type, ...) => kernel; }` defines `name`, which calls
/// `kernel::<true>(args)` compiled for AVX-512 or AVX2/FMA by
/// [`active_path`], and `kernel::<false>(args)` otherwise.
macro_rules! dispatched {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $kernel:ident;) => {
        $(#[$attr])*
        #[allow(unsafe_code)]
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
                fn with_avx512($($arg: $ty),*) {
                    $kernel::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn with_avx2($($arg: $ty),*) {
                    $kernel::<true>($($arg),*)
                }
                match $crate::dispatch::active_path() {
                    // SAFETY: `active_path` returns a path only when the CPU
                    // was checked to have every feature it enables.
                    $crate::dispatch::Path::Avx512 => return unsafe { with_avx512($($arg),*) },
                    // SAFETY: as above, for AVX2 and FMA.
                    $crate::dispatch::Path::Avx2 => return unsafe { with_avx2($($arg),*) },
                    $crate::dispatch::Path::Portable => {}
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

    /// `map` over `x` on every path this CPU runs against the portable
    /// path, element by element within `near`; the vector paths against
    /// each other bit for bit.
    #[allow(clippy::eq_op)]
    fn compare<T: Copy + std::fmt::Debug + PartialEq>(
        x: &[T],
        map: fn(&mut [T]),
        near: impl Fn(T, T) -> bool,
        name: &str,
    ) {
        let run = |path| {
            let mut v = x.to_vec();
            with_max_path(path, || map(&mut v));
            v
        };
        let portable = run(Path::Portable);
        let avx2 = run(Path::Avx2);
        for ((n, p), v) in avx2.iter().zip(&portable).zip(x) {
            assert!(near(*n, *p), "{name}({v:?}): {n:?} vs {p:?}");
        }
        let widest = run(Path::Avx512);
        for ((w, n), v) in widest.iter().zip(&avx2).zip(x) {
            // Bit-identical, or both NaN (`v != v` for a generic float).
            assert!(
                w == n || (w != w && n != n),
                "{name}({v:?}): {w:?} vs {n:?}"
            );
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

    #[test]
    fn a_nested_ceiling_never_widens_the_outer_one() {
        with_portable(|| {
            with_max_path(Path::Avx512, || assert_eq!(active_path(), Path::Portable));
            with_max_path(Path::Avx2, || assert!(!avx2_available()));
        });
        with_max_path(Path::Avx2, || {
            with_max_path(Path::Portable, || assert_eq!(active_path(), Path::Portable));
            assert_eq!(active_path(), Path::Avx2.min(cpu_path()), "restored");
        });
    }

    #[test]
    fn a_cap_never_widens_past_the_cpu() {
        for cap in Path::ALL {
            with_max_path(cap, || {
                assert_eq!(active_path(), cap.min(cpu_path()));
                with_max_path(Path::Portable, || assert_eq!(active_path(), Path::Portable));
                assert_eq!(active_path(), cap.min(cpu_path()), "restored");
            });
        }
        assert_eq!(active_path(), cpu_path());
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
