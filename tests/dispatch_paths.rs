//! Every path of every dispatched kernel the machine can run: AVX-512 (when
//! the CPU has it), AVX2/FMA, and the portable build a CPU without AVX2/FMA
//! takes, each forced with `runtime::dispatch::with_max_path`. Each graph runs
//! every way; the vector paths agree bit for bit (the same operations at
//! another width), and they agree with the portable one within the rounding
//! of fused multiply-adds (1e-12 for `f64`, 1e-5 for `f32`, relative to
//! each element or to the result's largest magnitude where a sum cancels),
//! so `.ci/run` exercises every dispatch path the CPU it runs on has. (This
//! project's development VM has AVX2 but not AVX-512: there the AVX-512
//! path is capped to AVX2 and the bitwise check compares AVX2 with itself.)

mod support;

#[path = "../benches/workloads/graphs.rs"]
mod graphs;

use graphs::*;
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use param_graph::runtime::dispatch::{active_path, cpu_path, with_max_path, Path};
use support::close::assert_close_abs;

/// `run` on every path: asserts the widest this CPU has (AVX-512 or AVX2)
/// and AVX2 agree bit for bit, and returns the AVX2 and the portable
/// results, flattened.
fn both<T: Into<f64> + Copy>(run: impl Fn() -> Vec<T>) -> (Vec<f64>, Vec<f64>) {
    let on = |path: Path| -> Vec<f64> {
        with_max_path(path, || {
            assert_eq!(active_path(), path.min(cpu_path()));
            run().into_iter().map(Into::into).collect()
        })
    };
    let (widest, avx2, portable) = (on(Path::Avx512), on(Path::Avx2), on(Path::Portable));
    for (k, (w, n)) in widest.iter().zip(&avx2).enumerate() {
        assert!(
            w.to_bits() == n.to_bits() || (w.is_nan() && n.is_nan()),
            "element {k}: {w:e} on {:?}, {n:e} on AVX2",
            cpu_path()
        );
    }
    (avx2, portable)
}

/// The folds of a W2/W3 result, one after the other.
fn flat_folds<const N: usize, const F: usize>(v: &[SVector<f64, N>; F]) -> Vec<f64> {
    v.iter().flat_map(|f| f.iter().copied()).collect()
}

fn flat<const R: usize, const C: usize, T: Copy>(m: &SMatrix<T, R, C>) -> Vec<T> {
    m.as_slice().to_vec()
}

/// Elementwise within `rel`, or within `rel` of the largest magnitude of
/// the result: a sum that cancels to near 0 differs by the rounding of
/// its terms, not of itself.
fn check(name: &str, (native, portable): (Vec<f64>, Vec<f64>), rel: f64) {
    let scale = native
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert_close_abs(name, &portable, &native, rel, rel * scale);
}

/// Runs the checks on a thread with room for the 256×256 graphs' buffers.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    support::harness::on_stack(64 << 20, f);
}

#[test]
fn w1_forward_and_vjp_agree_on_both_paths() {
    on_big_stack(|| {
        macro_rules! w1 {
            ($r:literal, $c:literal, $f:ident, $vjp:ident) => {{
                let x = fill::<$r, $c>(1);
                let ct = fill::<$r, $c>(2);
                check(stringify!($f), both(|| flat(&$f(&x))), 1e-12);
                check(stringify!($vjp), both(|| flat(&$vjp(&x, &ct))), 1e-12);
            }};
        }
        w1!(4, 8, w1_4x8, w1_4x8_vjp);
        w1!(64, 64, w1_64x64, w1_64x64_vjp);
        w1!(256, 256, w1_256x256, w1_256x256_vjp);
    });
}

#[test]
fn contractions_agree_on_both_paths() {
    on_big_stack(|| {
        macro_rules! w23 {
            ($f:literal, $j:literal, $k:literal, $g:ident, $vjp:ident) => {{
                let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
                check(stringify!($g), both(|| flat_folds(&$g(&a, &b))), 1e-12);
                let y = $g(&a, &b);
                let grads = || {
                    let (da, db) = $vjp(&a, &b, &y);
                    da.iter()
                        .chain(db.iter())
                        .flat_map(|m| m.iter().copied())
                        .collect::<Vec<f64>>()
                };
                check(stringify!($vjp), both(grads), 1e-12);
            }};
        }
        w23!(4, 32, 8, w2_4x32x8, w2_4x32x8_vjp);
        w23!(4, 32, 8, w3_4x32x8, w3_4x32x8_vjp);
        w23!(4, 64, 16, w3_4x64x16, w3_4x64x16_vjp);
        // W3 at the sizes of the packed f64 kernel (issue 16's `gemm`
        // benchmark): both paths, and both against nalgebra's product.
        macro_rules! w3_packed {
            ($f:literal, $j:literal, $k:literal, $g:ident) => {{
                let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
                let (native, portable) = both(|| flat_folds(&$g(&a, &b)));
                let mut hand = Box::new([SMatrix::<f64, $j, $j>::zeros(); $f]);
                w3_hand(&a, &b, &mut hand);
                // `hand[f][(i, j)]` is `out[f][i·J + j]`: the row-major J×J.
                let want: Vec<f64> = hand
                    .iter()
                    .flat_map(|m| m.transpose().as_slice().to_vec())
                    .collect();
                check(stringify!($g), (native.clone(), want.clone()), 1e-12);
                check(stringify!($g), (native, portable), 1e-12);
            }};
        }
        w3_packed!(1, 256, 256, w3_1x256x256);
        w3_packed!(4, 128, 64, w3_4x128x64);
        macro_rules! w4 {
            ($p:literal, $pp:literal, $g:ident, $vjp:ident) => {{
                let (a, b, x) = (fill::<$p, $p>(1), fill::<$p, $p>(2), fill::<$pp, 1>(3));
                check(stringify!($g), both(|| flat(&$g(&a, &b, &x))), 1e-12);
                let ct = fill::<$pp, 1>(4);
                let grads = || {
                    let (da, db, dx) = $vjp(&a, &b, &x, &ct);
                    [flat(&da), flat(&db), flat(&dx)].concat()
                };
                check(stringify!($vjp), both(grads), 1e-12);
            }};
        }
        w4!(8, 64, w4_8, w4_8_vjp);
        w4!(16, 256, w4_16, w4_16_vjp);
    });
}

#[test]
fn the_five_op_graph_agrees_on_both_paths() {
    on_big_stack(|| {
        let (x, y) = (fill::<256, 256>(1), fill::<256, 256>(2));
        check("five_256", both(|| flat(&five_256(&x, &y))), 1e-12);
    });
}

param_graph! {
    #[param_graph(vjp)]
    fn rows32(x: &SMatrix<f32, 64, 48>) -> (SMatrix<f32, 64, 48>, SMatrix<f32, 64, 48>, SVector<f32, 64>, SVector<f32, 48>) {
        (log(softmax(x, axis = 1)), softmax(x, axis = 0), reduce_lse(x, axis = 1), reduce_sum(x, axis = 0))
    }
    fn maps32(x: &SMatrix<f32, 64, 48>) -> (SMatrix<f32, 64, 48>, SMatrix<f32, 64, 48>) {
        (exp(x), sigmoid(x))
    }
    #[param_graph(vjp)]
    fn contract32(a: &[SMatrix<f32, 32, 8>; 4], b: &[SMatrix<f32, 32, 8>; 4], m: &SMatrix<f32, 48, 40>, n: &SMatrix<f32, 40, 36>) -> ([SVector<f32, 8>; 4], [SVector<f32, 1024>; 4], SMatrix<f32, 48, 36>) {
        (reduce_sum(outer_product(a, b, axis = 1), axis = 1), reduce_sum(outer_product(a, b, axis = 1), axis = 2), matmul(m, n))
    }
}

/// `f32` graphs: the row kernels (accumulating in `f64`), the vectorized
/// maps and the contractions, forward and backward.
#[test]
fn f32_kernels_agree_on_both_paths() {
    let x = SMatrix::<f32, 64, 48>::from_fn(|i, j| ((i * 31 + j * 17) % 97) as f32 / 8.0 - 6.0);
    let rows = || {
        let (a, b, c, d) = rows32(&x);
        [
            flat(&a),
            flat(&b),
            c.as_slice().to_vec(),
            d.as_slice().to_vec(),
        ]
        .concat()
    };
    check("rows32", both(rows), 1e-5);
    let cts = (
        SMatrix::<f32, 64, 48>::from_element(0.5),
        SMatrix::<f32, 64, 48>::from_fn(|i, j| (i + j) as f32 * 0.01),
        SVector::<f32, 64>::from_element(1.0),
        SVector::<f32, 48>::from_element(-1.0),
    );
    check(
        "rows32_vjp",
        both(|| flat(&rows32_vjp(&x, (&cts.0, &cts.1, &cts.2, &cts.3)))),
        1e-5,
    );
    let maps = || {
        let (e, s) = maps32(&x);
        [flat(&e), flat(&s)].concat()
    };
    check("maps32", both(maps), 1e-6);
}

#[test]
fn f32_contractions_agree_on_both_paths() {
    let a: [SMatrix<f32, 32, 8>; 4] = std::array::from_fn(|f| {
        SMatrix::from_fn(|i, j| ((f * 7 + i * 3 + j) % 11) as f32 / 5.0 - 1.0)
    });
    let b: [SMatrix<f32, 32, 8>; 4] = std::array::from_fn(|f| {
        SMatrix::from_fn(|i, j| ((f + i * 5 + j * 2) % 13) as f32 / 6.0 - 1.0)
    });
    let m = SMatrix::<f32, 48, 40>::from_fn(|i, j| ((i * 7 + j) % 17) as f32 / 8.0 - 1.0);
    let n = SMatrix::<f32, 40, 36>::from_fn(|i, j| ((i + j * 3) % 19) as f32 / 9.0 - 1.0);
    let forward = || {
        let (w2, w3, mm) = contract32(&a, &b, &m, &n);
        let w2: Vec<f32> = w2.iter().flat_map(|v| v.iter().copied()).collect();
        let w3: Vec<f32> = w3.iter().flat_map(|v| v.iter().copied()).collect();
        [w2, w3, flat(&mm)].concat()
    };
    check("contract32", both(forward), 1e-5);
    let (c2, c3, cm) = contract32(&a, &b, &m, &n);
    let grads = || {
        let (da, db, dm, dn) = contract32_vjp(&a, &b, &m, &n, (&c2, &c3, &cm));
        let mut all: Vec<f32> = da
            .iter()
            .chain(db.iter())
            .flat_map(|x| x.iter().copied())
            .collect();
        all.extend(flat(&dm));
        all.extend(flat(&dn));
        all
    };
    check("contract32_vjp", both(grads), 1e-5);
}
