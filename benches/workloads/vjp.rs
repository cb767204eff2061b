//! The VJP of W1–W4 against their forward pass, side by side in one run:
//! `name_vjp_into` (which recomputes whatever forward values its backward
//! pass reads) and `name_into`, each writing into preallocated storage.
//! The bound is VJP time ÷ forward time ≤ 3
//! (`cargo bench --bench workloads -- vjp`).

use crate::graphs::*;
use criterion::{BenchmarkId, Criterion};
use param_graph::nalgebra::{SMatrix, SVector};
use std::hint::black_box;

pub fn bench_vjp(c: &mut Criterion) {
    let mut g = c.benchmark_group("vjp");
    macro_rules! w1 {
        ($label:literal, $r:literal, $c:literal, $into:ident, $vjp:ident) => {{
            let x = fill::<$r, $c>(1);
            let ct = fill::<$r, $c>(2);
            let mut out = Box::new(SMatrix::<f64, $r, $c>::zeros());
            g.bench_function(BenchmarkId::new("W1 forward", $label), |bch| {
                bch.iter(|| $into(black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("W1 vjp", $label), |bch| {
                bch.iter(|| $vjp(black_box(&x), black_box(&ct), &mut out))
            });
        }};
    }
    w1!("4x8", 4, 8, w1_4x8_into, w1_4x8_vjp_into);
    w1!("16x16", 16, 16, w1_16x16_into, w1_16x16_vjp_into);
    w1!("64x64", 64, 64, w1_64x64_into, w1_64x64_vjp_into);
    w1!("256x256", 256, 256, w1_256x256_into, w1_256x256_vjp_into);
    macro_rules! w23 {
        ($w:literal, $label:literal, $f:literal, $j:literal, $k:literal, $o:literal, $into:ident, $vjp:ident) => {{
            let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
            let ct = Box::new([SVector::<f64, $o>::from_element(0.5); $f]);
            let mut out = Box::new([SVector::<f64, $o>::zeros(); $f]);
            let mut grads = (
                Box::new([SMatrix::<f64, $j, $k>::zeros(); $f]),
                Box::new([SMatrix::<f64, $j, $k>::zeros(); $f]),
            );
            g.bench_function(BenchmarkId::new(concat!($w, " forward"), $label), |bch| {
                bch.iter(|| $into(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new(concat!($w, " vjp"), $label), |bch| {
                bch.iter(|| {
                    $vjp(
                        black_box(&a),
                        black_box(&b),
                        black_box(&ct),
                        (&mut grads.0, &mut grads.1),
                    )
                })
            });
        }};
    }
    w23!(
        "W2",
        "4x32x8",
        4,
        32,
        8,
        8,
        w2_4x32x8_into,
        w2_4x32x8_vjp_into
    );
    w23!(
        "W2",
        "4x64x16",
        4,
        64,
        16,
        16,
        w2_4x64x16_into,
        w2_4x64x16_vjp_into
    );
    w23!(
        "W2",
        "16x32x8",
        16,
        32,
        8,
        8,
        w2_16x32x8_into,
        w2_16x32x8_vjp_into
    );
    w23!(
        "W3",
        "4x32x8",
        4,
        32,
        8,
        1024,
        w3_4x32x8_into,
        w3_4x32x8_vjp_into
    );
    w23!(
        "W3",
        "8x16x4",
        8,
        16,
        4,
        256,
        w3_8x16x4_into,
        w3_8x16x4_vjp_into
    );
    w23!(
        "W3",
        "4x64x16",
        4,
        64,
        16,
        4096,
        w3_4x64x16_into,
        w3_4x64x16_vjp_into
    );
    macro_rules! w4 {
        ($label:literal, $p:literal, $pp:literal, $into:ident, $vjp:ident) => {{
            let (a, b) = (fill::<$p, $p>(1), fill::<$p, $p>(2));
            let x = fill::<$pp, 1>(3);
            let ct = fill::<$pp, 1>(4);
            let mut out = Box::new(SMatrix::<f64, $pp, 1>::zeros());
            let mut grads = (
                Box::new(SMatrix::<f64, $p, $p>::zeros()),
                Box::new(SMatrix::<f64, $p, $p>::zeros()),
                Box::new(SMatrix::<f64, $pp, 1>::zeros()),
            );
            g.bench_function(BenchmarkId::new("W4 forward", $label), |bch| {
                bch.iter(|| $into(black_box(&a), black_box(&b), black_box(&x), &mut out))
            });
            g.bench_function(BenchmarkId::new("W4 vjp", $label), |bch| {
                bch.iter(|| {
                    $vjp(
                        black_box(&a),
                        black_box(&b),
                        black_box(&x),
                        black_box(&ct),
                        (&mut grads.0, &mut grads.1, &mut grads.2),
                    )
                })
            });
        }};
    }
    w4!("8x8", 8, 64, w4_8_into, w4_8_vjp_into);
    w4!("16x16", 16, 256, w4_16_into, w4_16_vjp_into);
    w4!("24x24", 24, 576, w4_24_into, w4_24_vjp_into);
    g.finish();
}
