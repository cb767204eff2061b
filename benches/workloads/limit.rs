//! W1 `log(softmax(x, axis = 1))` in `f64` and `f32`, 4×8 to 1024×1024,
//! beside the exp-throughput limit of the performance issue: the runtime's
//! own exponential over the same number of elements, from one buffer into
//! another (`exp_into_f64` / `exp_into_f32`). Both in one run:
//! `cargo bench --bench workloads -- limit`; `python3 bench/w1_limit.py`
//! runs it, times torch's `log_softmax` at the same sizes and prints the
//! ratios (the README's "Speed at the limit" table).

use criterion::{BenchmarkId, Criterion};
use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use param_graph::runtime::math::{exp_into_f32, exp_into_f64};
use std::hint::black_box;

macro_rules! w1_both {
    ($f64:ident, $f32:ident, $r:literal, $c:literal) => {
        param_graph! {
            fn $f64(x: &SMatrix<f64, $r, $c>) -> SMatrix<f64, $r, $c> {
                log(softmax(x, axis = 1))
            }
            fn $f32(x: &SMatrix<f32, $r, $c>) -> SMatrix<f32, $r, $c> {
                log(softmax(x, axis = 1))
            }
        }
    };
}
w1_both!(w1_4x8_f64, w1_4x8_f32, 4, 8);
w1_both!(w1_16x16_f64, w1_16x16_f32, 16, 16);
w1_both!(w1_64x64_f64, w1_64x64_f32, 64, 64);
w1_both!(w1_256x256_f64, w1_256x256_f32, 256, 256);
w1_both!(w1_1024x1024_f64, w1_1024x1024_f32, 1024, 1024);

/// The values of `graphs::fill`, in [-2, 2), filled in place on the heap
/// (1024×1024 is 8 MiB: `from_fn` would build it on the stack).
fn filled<T, const R: usize, const C: usize>(to: fn(f64) -> T) -> Box<SMatrix<T, R, C>>
where
    T: param_graph::nalgebra::RealField + Copy,
{
    let mut m: Box<SMatrix<T, R, C>> = Box::new(SMatrix::zeros());
    for (k, v) in m.iter_mut().enumerate() {
        let (i, j) = (k % R, k / R);
        *v = to((((i * 31 + j * 17 + 7) % 97) as f64) / 24.25 - 2.0);
    }
    m
}

pub fn bench_limit(c: &mut Criterion) {
    let mut g = c.benchmark_group("limit");
    macro_rules! size {
        ($label:literal, $r:literal, $c:literal, $f64:ident, $f32:ident) => {{
            let x = filled::<f64, $r, $c>(|v| v);
            let mut out = filled::<f64, $r, $c>(|v| v);
            g.bench_function(BenchmarkId::new("f64 W1", $label), |b| {
                b.iter(|| $f64(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("f64 exp", $label), |b| {
                b.iter(|| exp_into_f64(black_box(x.as_slice()), out.as_mut_slice()))
            });
            let x = filled::<f32, $r, $c>(|v| v as f32);
            let mut out = filled::<f32, $r, $c>(|v| v as f32);
            g.bench_function(BenchmarkId::new("f32 W1", $label), |b| {
                b.iter(|| $f32(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("f32 exp", $label), |b| {
                b.iter(|| exp_into_f32(black_box(x.as_slice()), out.as_mut_slice()))
            });
        }};
    }
    size!("4x8", 4, 8, w1_4x8_f64_into, w1_4x8_f32_into);
    size!("16x16", 16, 16, w1_16x16_f64_into, w1_16x16_f32_into);
    size!("64x64", 64, 64, w1_64x64_f64_into, w1_64x64_f32_into);
    size!(
        "256x256",
        256,
        256,
        w1_256x256_f64_into,
        w1_256x256_f32_into
    );
    size!(
        "1024x1024",
        1024,
        1024,
        w1_1024x1024_f64_into,
        w1_1024x1024_f32_into
    );
    g.finish();
}
