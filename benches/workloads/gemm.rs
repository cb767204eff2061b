//! W3 at the sizes of issue 16's contraction goal against
//! `matrixmultiply::dgemm` on the same shapes and layouts, in one run
//! (`cargo bench --bench workloads -- gemm`).
//!
//! W3 is, per fold, `out = a · bᵀ` with `a`, `b` column-major `J×K` and
//! `out` row-major `J×J` (the flattened `[SVector<f64, J·J>; F]`): the
//! generated code calls `gemm_acc_f64(J, K, J, ..)` with `a_row = 1`,
//! `a_inner = J`, `b_inner = J`, `out_row = J`. `dgemm` gets the same
//! strides (`A`: rows 1, columns J; `B = bᵀ`: rows J, columns 1; `C`: rows
//! J, columns 1). Criterion's throughput is set to the flop count
//! `2·F·J·J·K`, so its "thrpt" line reads in GFLOP/s (as "Gelem/s").

use super::graphs::*;
use criterion::{BenchmarkId, Criterion, Throughput};
use param_graph::nalgebra::{SMatrix, SVector};
use std::hint::black_box;

/// `dgemm` per fold on W3's layouts: `out[f] = a[f] · b[f]ᵀ` (row-major).
fn w3_dgemm<const F: usize, const J: usize, const K: usize, const JJ: usize>(
    a: &[SMatrix<f64, J, K>; F],
    b: &[SMatrix<f64, J, K>; F],
    out: &mut [SVector<f64, JJ>; F],
) {
    for f in 0..F {
        let (a, b, c) = (a[f].as_slice(), b[f].as_slice(), out[f].as_mut_slice());
        let j = J as isize;
        // SAFETY: the slices hold J·K, J·K and J·J elements, exactly what
        // these sizes and strides address.
        unsafe {
            matrixmultiply::dgemm(
                J,
                K,
                J,
                1.0,
                a.as_ptr(),
                1,
                j,
                b.as_ptr(),
                j,
                1,
                0.0,
                c.as_mut_ptr(),
                j,
                1,
            );
        }
    }
}

pub fn bench_gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm");
    macro_rules! size {
        ($label:literal, $f:literal, $j:literal, $k:literal, $jj:literal, $ours:ident) => {{
            let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
            let mut out = Box::new([SVector::<f64, $jj>::zeros(); $f]);
            let mut reference = Box::new([SVector::<f64, $jj>::zeros(); $f]);
            // The two agree before either is timed.
            $ours(&a, &b, &mut out);
            w3_dgemm(&a, &b, &mut reference);
            for (o, r) in out.iter().zip(reference.iter()) {
                for (x, y) in o.iter().zip(r.iter()) {
                    assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
                }
            }
            g.throughput(Throughput::Elements(2 * $f * $j * $j * $k));
            g.bench_function(BenchmarkId::new("W3", $label), |bch| {
                bch.iter(|| $ours(black_box(&a), black_box(&b), &mut out))
            });
            g.bench_function(BenchmarkId::new("dgemm", $label), |bch| {
                bch.iter(|| w3_dgemm(black_box(&a), black_box(&b), &mut reference))
            });
        }};
    }
    size!("1x256x256", 1, 256, 256, 65536, w3_1x256x256_into);
    size!("4x128x64", 4, 128, 64, 16384, w3_4x128x64_into);
    g.finish();
}
