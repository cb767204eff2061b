//! Named sizes against literals: W1 and W2 with every size written as a
//! constant of the block (values the macro knows), as constants of the
//! module (symbols only rustc knows: constant expressions in the generated
//! code, buffers in the workspace) and as const generic parameters (slices
//! where a length has a parameter), beside the literal-sized graphs of
//! `graphs.rs` (`cargo bench --bench workloads -- named`).

use crate::graphs::{fill, folds, w1_64x64_into, w2_4x32x8_into};
use criterion::{BenchmarkId, Criterion};
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use std::hint::black_box;

/// W1's and W2's sizes as constants of the module: symbols to the macro.
mod sizes {
    pub const ROWS: usize = 64;
    pub const COLS: usize = 64;
    pub const FOLDS: usize = 4;
    pub const UNITS: usize = 32;
    pub const CATEGORIES: usize = 8;
}

param_graph! {
    pub fn w1_path(x: &SMatrix<f64, { sizes::ROWS }, { sizes::COLS }>) -> SMatrix<f64, { sizes::ROWS }, { sizes::COLS }> {
        log(softmax(x, axis = 1))
    }

    pub fn w2_path(
        a: &[SMatrix<f64, { sizes::UNITS }, { sizes::CATEGORIES }>; sizes::FOLDS],
        b: &[SMatrix<f64, { sizes::UNITS }, { sizes::CATEGORIES }>; sizes::FOLDS],
    ) -> [SVector<f64, { sizes::CATEGORIES }>; sizes::FOLDS] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }

    pub fn w1_generic<const R: usize, const C: usize>(x: &SMatrix<f64, R, C>) -> SMatrix<f64, R, C> {
        log(softmax(x, axis = 1))
    }

    pub fn w2_generic<const F: usize, const J: usize, const K: usize>(
        a: &[SMatrix<f64, J, K>; F],
        b: &[SMatrix<f64, J, K>; F],
    ) -> [SVector<f64, K>; F] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }
}

param_graph! {
    /// W1's rows and columns at 64×64.
    pub const ROWS: usize = 64;
    pub const COLS: usize = 64;
    /// W2's folds, units and categories at 4×32×8.
    pub const FOLDS: usize = 4;
    pub const UNITS: usize = 32;
    pub const CATEGORIES: usize = 8;

    pub fn w1_named(x: &SMatrix<f64, ROWS, COLS>) -> SMatrix<f64, ROWS, COLS> {
        log(softmax(x, axis = 1))
    }

    pub fn w2_named(
        a: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
        b: &[SMatrix<f64, UNITS, CATEGORIES>; FOLDS],
    ) -> [SVector<f64, CATEGORIES>; FOLDS] {
        reduce_sum(outer_product(a, b, axis = 1), axis = 1)
    }
}

/// The `named` group: each graph over named sizes beside its literal twin.
pub fn bench_named(c: &mut Criterion) {
    let mut g = c.benchmark_group("named");
    let x = fill::<ROWS, COLS>(1);
    let mut out = Box::new(SMatrix::<f64, ROWS, COLS>::zeros());
    g.bench_function(BenchmarkId::new("literal", "W1 64x64"), |bch| {
        bch.iter(|| w1_64x64_into(black_box(&x), &mut out))
    });
    g.bench_function(BenchmarkId::new("named", "W1 64x64"), |bch| {
        bch.iter(|| w1_named_into(black_box(&x), &mut out))
    });
    g.bench_function(BenchmarkId::new("path", "W1 64x64"), |bch| {
        bch.iter(|| w1_path_into(black_box(&x), &mut out))
    });
    g.bench_function(BenchmarkId::new("generic", "W1 64x64"), |bch| {
        bch.iter(|| w1_generic_into(black_box(&x), &mut out))
    });
    let (a, b) = (
        folds::<FOLDS, UNITS, CATEGORIES>(1),
        folds::<FOLDS, UNITS, CATEGORIES>(2),
    );
    let mut out = Box::new([SVector::<f64, CATEGORIES>::zeros(); FOLDS]);
    g.bench_function(BenchmarkId::new("literal", "W2 4x32x8"), |bch| {
        bch.iter(|| w2_4x32x8_into(black_box(&a), black_box(&b), &mut out))
    });
    g.bench_function(BenchmarkId::new("named", "W2 4x32x8"), |bch| {
        bch.iter(|| w2_named_into(black_box(&a), black_box(&b), &mut out))
    });
    g.bench_function(BenchmarkId::new("path", "W2 4x32x8"), |bch| {
        bch.iter(|| w2_path_into(black_box(&a), black_box(&b), &mut out))
    });
    g.bench_function(BenchmarkId::new("generic", "W2 4x32x8"), |bch| {
        bch.iter(|| w2_generic_into(black_box(&a), black_box(&b), &mut out))
    });
    g.finish();
}
