//! What several test files need around their graphs: a thread with a
//! chosen stack, a small seeded generator, and `both!`, which compiles one
//! body optimized and as written.

/// Runs `f` on a thread with a stack of `bytes` and waits for it (its
/// panics fail the caller).
pub fn on_stack(bytes: usize, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the checks on the spawned thread passed");
}

/// A seeded linear congruential generator, so a failing input replays.
pub struct Lcg(pub u64);

impl Lcg {
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`, rounded to `f32`.
    pub fn next(&mut self, lo: f64, hi: f64) -> f32 {
        (lo + (hi - lo) * self.unit()) as f32
    }
}

/// Compiles one body twice: `$name::opt::f` (optimized) and
/// `$name::plain::f` (`optimize = false`).
macro_rules! both {
    ($name:ident ($($p:ident : $t:ty),*) -> $r:ty { $($body:tt)* }) => {
        mod $name {
            #![allow(unused_imports)]
            use param_graph::nalgebra::{SMatrix, SVector};
            use param_graph::param_graph;
            pub mod opt {
                use super::*;
                param_graph! { pub fn f($($p: $t),*) -> $r { $($body)* } }
            }
            pub mod plain {
                use super::*;
                param_graph! {
                    #[param_graph(optimize = false)]
                    pub fn f($($p: $t),*) -> $r { $($body)* }
                }
            }
        }
    };
}
pub(crate) use both;

/// Asserts that `got`, an `f32` sum of `terms`, is within half an ulp of the
/// exact sum (its final rounding) plus `abs_factor · Σ|terms|` (the
/// accumulation's error bound).
#[track_caller]
pub fn assert_f32_sum(
    got: f32,
    terms: impl Iterator<Item = f64> + Clone,
    abs_factor: f64,
    what: &str,
) {
    let exact: f64 = terms.clone().sum();
    let abs: f64 = terms.map(f64::abs).sum();
    let bound = f64::from(exact as f32).abs() * 2f64.powi(-24) + abs * abs_factor;
    let got = f64::from(got);
    assert!(
        (got - exact).abs() <= bound,
        "{what}: {got} vs {exact} (bound {bound:e})"
    );
}
