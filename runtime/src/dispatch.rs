//! Run-time dispatch to code compiled for AVX2 + FMA.
//!
//! [`dispatched!`] turns a kernel written once, generic over a `const FMA:
//! bool`, into a public function that runs the `FMA = true` instance
//! compiled with `#[target_feature(enable = "avx2,fma")]` when the CPU has
//! both features, and the portable `FMA = false` instance otherwise. The
//! `unsafe` block inside the macro — calling a target-feature function
//! after checking the features — is the crate's only `unsafe`.

/// Whether this CPU runs AVX2 and FMA (std caches the detection).
#[inline]
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
