//! W1–W4 of the performance issue, each in three forms: the default
//! (optimized) macro output, the same graph with
//! `#[param_graph(optimize = false)]`, and idiomatic hand-written nalgebra.
//! `python3 bench/table.py` turns the results into the README's table.
//! `five` measures the memory-planning issue's five-op graph fused against
//! `#[param_graph(fuse = false)]` and against its code as compiled before
//! memory planning (`before.rs`) (`cargo bench --bench workloads -- five`).
//!
//! `named` (in `named.rs`) measures W1 and W2 over sizes named by
//! constants against the same graphs over literals
//! (`cargo bench --bench workloads -- named`).
//!
//! `gemm` (in `gemm.rs`) measures W3 at 1×256×256 and 4×128×64 against
//! `matrixmultiply::dgemm` on the same layouts, in GFLOP/s
//! (`cargo bench --bench workloads -- gemm`).
//!
//! `vjp` (in `vjp.rs`) measures each workload's `name_vjp_into` against
//! its `name_into` (`cargo bench --bench workloads -- vjp`).
//!
//! Every form writes into preallocated storage (`name_into` for the macro),
//! so the figures are the computation, not moving large results around.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use param_graph::nalgebra::{SMatrix, SVector};
use std::hint::black_box;
use std::time::Duration;

mod before;
mod gemm;
mod graphs;
mod limit;
mod named;
mod vjp;

use before::five_256_before_into;
use graphs::*;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(30)
}

fn bench_w1(c: &mut Criterion) {
    let mut g = c.benchmark_group("W1");
    macro_rules! size {
        ($label:literal, $r:literal, $c:literal, $opt:ident, $plain:ident) => {{
            let x = fill::<$r, $c>(1);
            let mut out = Box::new(SMatrix::<f64, $r, $c>::zeros());
            g.bench_function(BenchmarkId::new("optimized", $label), |bch| {
                bch.iter(|| $opt(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("optimize=false", $label), |bch| {
                bch.iter(|| $plain(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("nalgebra", $label), |bch| {
                bch.iter(|| w1_hand(black_box(&x), &mut out))
            });
        }};
    }
    size!("4x8", 4, 8, w1_4x8_into, w1_4x8_plain_into);
    size!("16x16", 16, 16, w1_16x16_into, w1_16x16_plain_into);
    size!("64x64", 64, 64, w1_64x64_into, w1_64x64_plain_into);
    size!("256x256", 256, 256, w1_256x256_into, w1_256x256_plain_into);
    g.finish();
}

fn bench_w2(c: &mut Criterion) {
    let mut g = c.benchmark_group("W2");
    macro_rules! size {
        ($label:literal, $f:literal, $j:literal, $k:literal, $opt:ident, $plain:ident) => {{
            let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
            let mut out = Box::new([SVector::<f64, $k>::zeros(); $f]);
            g.bench_function(BenchmarkId::new("optimized", $label), |bch| {
                bch.iter(|| $opt(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new("optimize=false", $label), |bch| {
                bch.iter(|| $plain(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new("nalgebra", $label), |bch| {
                bch.iter(|| w2_hand(black_box(&a), black_box(&b), &mut out))
            });
        }};
    }
    size!("4x32x8", 4, 32, 8, w2_4x32x8_into, w2_4x32x8_plain_into);
    size!("4x64x16", 4, 64, 16, w2_4x64x16_into, w2_4x64x16_plain_into);
    size!("16x32x8", 16, 32, 8, w2_16x32x8_into, w2_16x32x8_plain_into);
    g.finish();
}

fn bench_w3(c: &mut Criterion) {
    let mut g = c.benchmark_group("W3");
    macro_rules! size {
        ($label:literal, $f:literal, $j:literal, $k:literal, $jj:literal, $opt:ident, $plain:ident) => {{
            let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
            let mut out = Box::new([SVector::<f64, $jj>::zeros(); $f]);
            let mut hand = Box::new([SMatrix::<f64, $j, $j>::zeros(); $f]);
            g.bench_function(BenchmarkId::new("optimized", $label), |bch| {
                bch.iter(|| $opt(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new("optimize=false", $label), |bch| {
                bch.iter(|| $plain(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new("nalgebra", $label), |bch| {
                bch.iter(|| w3_hand(black_box(&a), black_box(&b), &mut hand))
            });
        }};
    }
    size!(
        "4x32x8",
        4,
        32,
        8,
        1024,
        w3_4x32x8_into,
        w3_4x32x8_plain_into
    );
    size!(
        "8x16x4",
        8,
        16,
        4,
        256,
        w3_8x16x4_into,
        w3_8x16x4_plain_into
    );
    size!(
        "4x64x16",
        4,
        64,
        16,
        4096,
        w3_4x64x16_into,
        w3_4x64x16_plain_into
    );
    g.finish();
}

fn bench_w4(c: &mut Criterion) {
    let mut g = c.benchmark_group("W4");
    macro_rules! size {
        ($label:literal, $p:literal, $pp:literal, $opt:ident, $plain:ident) => {{
            let (a, b) = (fill::<$p, $p>(1), fill::<$p, $p>(2));
            let x = fill::<$pp, 1>(3);
            let mut out = Box::new(SMatrix::<f64, $pp, 1>::zeros());
            g.bench_function(BenchmarkId::new("optimized", $label), |bch| {
                bch.iter(|| $opt(black_box(&a), black_box(&b), black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("optimize=false", $label), |bch| {
                bch.iter(|| $plain(black_box(&a), black_box(&b), black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("nalgebra", $label), |bch| {
                bch.iter(|| w4_hand(black_box(&a), black_box(&b), black_box(&x), &mut out))
            });
        }};
    }
    size!("8x8", 8, 64, w4_8_into, w4_8_plain_into);
    size!("16x16", 16, 256, w4_16_into, w4_16_plain_into);
    size!("24x24", 24, 576, w4_24_into, w4_24_plain_into);
    g.finish();
}

/// The five-op graph of the memory-planning issue, fused (default) and
/// with `#[param_graph(fuse = false)]` side by side; then its parts alone
/// at 256×256 (the softmax, `exp`, `sigmoid`, and the fused elementwise
/// tail given the softmax) to see where the time goes.
fn bench_five(c: &mut Criterion) {
    let mut g = c.benchmark_group("five");
    macro_rules! size {
        ($label:literal, $n:literal, $fused:ident, $unfused:ident) => {{
            let (x, y) = (fill::<$n, $n>(1), fill::<$n, $n>(2));
            let mut out = Box::new(SMatrix::<f64, $n, $n>::zeros());
            g.bench_function(BenchmarkId::new("fused", $label), |bch| {
                bch.iter(|| $fused(black_box(&x), black_box(&y), &mut out))
            });
            g.bench_function(BenchmarkId::new("fuse=false", $label), |bch| {
                bch.iter(|| $unfused(black_box(&x), black_box(&y), &mut out))
            });
        }};
    }
    size!("64x64", 64, five_64_into, five_64_unfused_into);
    size!("256x256", 256, five_256_into, five_256_unfused_into);
    let (x, y) = (fill::<256, 256>(1), fill::<256, 256>(2));
    let mut out = Box::new(SMatrix::<f64, 256, 256>::zeros());
    g.bench_function(
        BenchmarkId::new("before memory planning", "256x256"),
        |bch| bch.iter(|| five_256_before_into(black_box(&x), black_box(&y), &mut out)),
    );
    g.bench_function(BenchmarkId::new("part softmax", "256x256"), |bch| {
        bch.iter(|| five_part_softmax_into(black_box(&x), &mut out))
    });
    g.bench_function(BenchmarkId::new("part exp", "256x256"), |bch| {
        bch.iter(|| five_part_exp_into(black_box(&x), &mut out))
    });
    g.bench_function(BenchmarkId::new("part sigmoid", "256x256"), |bch| {
        bch.iter(|| five_part_sigmoid_into(black_box(&x), &mut out))
    });
    let mut a = Box::new(SMatrix::<f64, 256, 256>::zeros());
    five_part_softmax_into(&x, &mut a);
    g.bench_function(BenchmarkId::new("part tail", "256x256"), |bch| {
        bch.iter(|| five_part_tail_into(black_box(&a), black_box(&y), &mut out))
    });
    g.bench_function(
        BenchmarkId::new("part tail, hand, vector sigmoid", "256x256"),
        |bch| bch.iter(|| five_tail_hand_vectorized(black_box(&a), black_box(&y), &mut out)),
    );
    g.bench_function(BenchmarkId::new("part add", "256x256"), |bch| {
        bch.iter(|| five_part_add_into(black_box(&x), black_box(&y), &mut out))
    });
    g.finish();
}

criterion_group! {
    name = workloads;
    config = config();
    targets = bench_w1, bench_w2, bench_w3, bench_w4, bench_five, vjp::bench_vjp, named::bench_named, limit::bench_limit, gemm::bench_gemm
}
criterion_main!(workloads);
