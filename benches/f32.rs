//! `f32` graphs whose reductions go through the runtime's f64-accumulating
//! kernels: softmax forms along a strided and a contiguous axis, sums,
//! log-sum-exp, the sums of outer products and a matrix product.
//! `cargo bench --bench f32`; compare against a previous run with
//! criterion's change report (not part of the README table).

use criterion::{criterion_group, criterion_main, Criterion};
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use std::hint::black_box;
use std::time::Duration;

param_graph! {
    fn log_softmax_rows(x: &SMatrix<f32, 256, 256>) -> SMatrix<f32, 256, 256> {
        log(softmax(x, axis = 1))
    }
    fn softmax_rows_64(x: &SMatrix<f32, 64, 64>) -> SMatrix<f32, 64, 64> {
        log(softmax(x, axis = 1))
    }
    fn softmax_cols(x: &SMatrix<f32, 256, 256>) -> SMatrix<f32, 256, 256> {
        softmax(x, axis = 0)
    }
    fn sums(x: &SMatrix<f32, 256, 256>) -> (SVector<f32, 256>, SVector<f32, 256>) {
        (reduce_sum(x, axis = 1), reduce_sum(x, axis = 0))
    }
    fn lse_rows(x: &SMatrix<f32, 256, 256>) -> SVector<f32, 256> {
        reduce_lse(x, axis = 1)
    }
    fn w2(a: &[SMatrix<f32, 32, 8>; 4], b: &[SMatrix<f32, 32, 8>; 4]) -> [SVector<f32, 8>; 4] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }
    fn w3(a: &[SMatrix<f32, 32, 8>; 4], b: &[SMatrix<f32, 32, 8>; 4]) -> [SVector<f32, 1024>; 4] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 2)
    }
    fn mm(a: &SMatrix<f32, 64, 64>, b: &SMatrix<f32, 64, 64>) -> SMatrix<f32, 64, 64> {
        matmul(a, b)
    }
}

fn fill<const R: usize, const C: usize>(seed: usize) -> Box<SMatrix<f32, R, C>> {
    Box::new(SMatrix::from_fn(|i, j| {
        (((i * 31 + j * 17 + seed * 7) % 97) as f32) / 24.25 - 2.0
    }))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("f32");
    let x = fill::<256, 256>(1);
    let x64 = fill::<64, 64>(2);
    let mut out = Box::new(SMatrix::<f32, 256, 256>::zeros());
    let mut out64 = Box::new(SMatrix::<f32, 64, 64>::zeros());
    g.bench_function("log_softmax rows 64x64", |b| {
        b.iter(|| softmax_rows_64_into(black_box(&x64), &mut out64))
    });
    g.bench_function("log_softmax rows 256x256", |b| {
        b.iter(|| log_softmax_rows_into(black_box(&x), &mut out))
    });
    g.bench_function("softmax cols 256x256", |b| {
        b.iter(|| softmax_cols_into(black_box(&x), &mut out))
    });
    let (mut s1, mut s2) = (SVector::<f32, 256>::zeros(), SVector::<f32, 256>::zeros());
    g.bench_function("reduce_sum both axes 256x256", |b| {
        b.iter(|| sums_into(black_box(&x), (&mut s1, &mut s2)))
    });
    g.bench_function("reduce_lse rows 256x256", |b| {
        b.iter(|| lse_rows_into(black_box(&x), &mut s1))
    });
    let a: Box<[SMatrix<f32, 32, 8>; 4]> = Box::new([*fill(3), *fill(4), *fill(5), *fill(6)]);
    let bb: Box<[SMatrix<f32, 32, 8>; 4]> = Box::new([*fill(7), *fill(8), *fill(9), *fill(10)]);
    let mut o2 = [SVector::<f32, 8>::zeros(); 4];
    g.bench_function("W2 4x32x8", |b| {
        b.iter(|| w2_into(black_box(&a), &bb, &mut o2))
    });
    let mut o3 = Box::new([SVector::<f32, 1024>::zeros(); 4]);
    g.bench_function("W3 4x32x8", |b| {
        b.iter(|| w3_into(black_box(&a), &bb, &mut o3))
    });
    let y64 = fill::<64, 64>(11);
    g.bench_function("matmul 64x64", |b| {
        b.iter(|| mm_into(black_box(&x64), &y64, &mut out64))
    });
    g.finish();
}

criterion_group! {
    name = f32_benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000))
        .sample_size(30);
    targets = bench
}
criterion_main!(f32_benches);
