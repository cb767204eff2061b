//! The benchmarked graphs and their hand-written counterparts, shared by
//! the benchmark (`main.rs`) and the zero-allocation test
//! (`tests/zero_alloc.rs`).

#![allow(dead_code)]

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

/// Deterministic values in [-2, 2).
pub fn fill<const R: usize, const C: usize>(seed: usize) -> Box<SMatrix<f64, R, C>> {
    Box::new(SMatrix::from_fn(|i, j| {
        (((i * 31 + j * 17 + seed * 7) % 97) as f64) / 24.25 - 2.0
    }))
}

macro_rules! w1 {
    ($opt:ident, $plain:ident, $r:literal, $c:literal) => {
        param_graph! {
            #[param_graph(vjp)]
            pub fn $opt(x: &SMatrix<f64, $r, $c>) -> SMatrix<f64, $r, $c> {
                log(softmax(x, axis = 1))
            }
            #[param_graph(optimize = false)]
            pub fn $plain(x: &SMatrix<f64, $r, $c>) -> SMatrix<f64, $r, $c> {
                log(softmax(x, axis = 1))
            }
        }
    };
}
w1!(w1_4x8, w1_4x8_plain, 4, 8);
w1!(w1_16x16, w1_16x16_plain, 16, 16);
w1!(w1_64x64, w1_64x64_plain, 64, 64);
w1!(w1_256x256, w1_256x256_plain, 256, 256);

/// What a user writes by hand: per row, max-shifted log-sum-exp.
pub fn w1_hand<const R: usize, const C: usize>(
    x: &SMatrix<f64, R, C>,
    out: &mut SMatrix<f64, R, C>,
) {
    for i in 0..R {
        let row = x.row(i);
        let m = row.max();
        let lse = m + row.map(|v| (v - m).exp()).sum().ln();
        out.row_mut(i).copy_from(&row.add_scalar(-lse));
    }
}

macro_rules! w23 {
    ($opt:ident, $plain:ident, $f:literal, $j:literal, $k:literal, $reduce:literal, $out:ty) => {
        param_graph! {
            #[param_graph(vjp)]
            pub fn $opt(a: &[SMatrix<f64, $j, $k>; $f], b: &[SMatrix<f64, $j, $k>; $f]) -> $out {
                reduce_sum(outer_product(a, b, axis = 1), axis = $reduce)
            }
            #[param_graph(optimize = false)]
            pub fn $plain(a: &[SMatrix<f64, $j, $k>; $f], b: &[SMatrix<f64, $j, $k>; $f]) -> $out {
                reduce_sum(outer_product(a, b, axis = 1), axis = $reduce)
            }
        }
    };
}
w23!(
    w2_4x32x8,
    w2_4x32x8_plain,
    4,
    32,
    8,
    1,
    [SVector<f64, 8>; 4]
);
// Sizes whose unfused outer product still fits the benchmark thread's stack.
w23!(
    w2_4x64x16,
    w2_4x64x16_plain,
    4,
    64,
    16,
    1,
    [SVector<f64, 16>; 4]
);
w23!(
    w2_16x32x8,
    w2_16x32x8_plain,
    16,
    32,
    8,
    1,
    [SVector<f64, 8>; 16]
);
w23!(
    w3_4x32x8,
    w3_4x32x8_plain,
    4,
    32,
    8,
    2,
    [SVector<f64, 1024>; 4]
);
w23!(
    w3_8x16x4,
    w3_8x16x4_plain,
    8,
    16,
    4,
    2,
    [SVector<f64, 256>; 8]
);
w23!(
    w3_4x64x16,
    w3_4x64x16_plain,
    4,
    64,
    16,
    2,
    [SVector<f64, 4096>; 4]
);

/// W2 by hand: the sum of an outer product is the product of the sums.
pub fn w2_hand<const F: usize, const J: usize, const K: usize>(
    a: &[SMatrix<f64, J, K>; F],
    b: &[SMatrix<f64, J, K>; F],
    out: &mut [SVector<f64, K>; F],
) {
    for f in 0..F {
        out[f] = a[f]
            .row_sum()
            .transpose()
            .component_mul(&b[f].row_sum().transpose());
    }
}

/// W3 by hand: per fold `a · bᵀ` (J×J), the layer's flattened weight.
pub fn w3_hand<const F: usize, const J: usize, const K: usize>(
    a: &[SMatrix<f64, J, K>; F],
    b: &[SMatrix<f64, J, K>; F],
    out: &mut [SMatrix<f64, J, J>; F],
) {
    for f in 0..F {
        a[f].mul_to(&b[f].transpose(), &mut out[f]);
    }
}

macro_rules! w4 {
    ($opt:ident, $plain:ident, $p:literal, $pp:literal) => {
        param_graph! {
            #[param_graph(vjp)]
            pub fn $opt(a: &SMatrix<f64, $p, $p>, b: &SMatrix<f64, $p, $p>, x: &SMatrix<f64, $pp, 1>) -> SMatrix<f64, $pp, 1> {
                matmul(kron(a, b), x)
            }
            #[param_graph(optimize = false)]
            pub fn $plain(a: &SMatrix<f64, $p, $p>, b: &SMatrix<f64, $p, $p>, x: &SMatrix<f64, $pp, 1>) -> SMatrix<f64, $pp, 1> {
                matmul(kron(a, b), x)
            }
        }
    };
}
w4!(w4_8, w4_8_plain, 8, 64);
w4!(w4_16, w4_16_plain, 16, 256);
w4!(w4_24, w4_24_plain, 24, 576);

/// W4 by hand: the tensor-dot trick with nalgebra products, `B · X · Aᵀ`
/// on the reshaped vector (`param_graph::runtime::Kron::mul_mat`).
pub fn w4_hand<const P: usize, const PP: usize>(
    a: &SMatrix<f64, P, P>,
    b: &SMatrix<f64, P, P>,
    x: &SMatrix<f64, PP, 1>,
    out: &mut SMatrix<f64, PP, 1>,
) {
    *out = param_graph::runtime::Kron::new(*a, *b).mul_mat(x);
}

/// `F` folds of `J × K` inputs.
pub fn folds<const F: usize, const J: usize, const K: usize>(
    seed: usize,
) -> Box<[SMatrix<f64, J, K>; F]> {
    Box::new(std::array::from_fn(|f| *fill::<J, K>(seed + f)))
}

/// The five-op graph of the memory-planning issue: a row softmax read
/// twice, a sigmoid, and three elementwise ops after them. Fused, the
/// softmax is one row kernel and everything else one loop; the
/// `fuse = false` copy gives every node its own buffer and loop.
macro_rules! five {
    ($fused:ident, $unfused:ident, $t:ident, $n:literal) => {
        param_graph! {
            pub fn $fused(x: &SMatrix<$t, $n, $n>, y: &SMatrix<$t, $n, $n>) -> SMatrix<$t, $n, $n> {
                let a = softmax(x, axis = 1);
                let b = sigmoid(y);
                let c = hadamard(a, b);
                add(exp(c), square(a))
            }
            #[param_graph(fuse = false)]
            pub fn $unfused(x: &SMatrix<$t, $n, $n>, y: &SMatrix<$t, $n, $n>) -> SMatrix<$t, $n, $n> {
                let a = softmax(x, axis = 1);
                let b = sigmoid(y);
                let c = hadamard(a, b);
                add(exp(c), square(a))
            }
        }
    };
}
five!(five_64, five_64_unfused, f64, 64);
five!(five_256, five_256_unfused, f64, 256);

/// The five-op graph by hand, over `f64` whatever the element type:
/// `a = softmax(x)` per row, then `exp(a · sigmoid(y)) + a²`.
pub fn five_hand<E: Copy + Into<f64>, const N: usize>(
    x: &SMatrix<E, N, N>,
    y: &SMatrix<E, N, N>,
    out: &mut [f64],
) {
    for i in 0..N {
        let m = (0..N)
            .map(|j| x[(i, j)].into())
            .fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = (0..N).map(|j| (x[(i, j)].into() - m).exp()).sum();
        for j in 0..N {
            let a = (x[(i, j)].into() - m).exp() / s;
            let b = 1.0 / (1.0 + (-y[(i, j)].into()).exp());
            out[i * N + j] = (a * b).exp() + a * a;
        }
    }
}

// The five-op graph's parts alone, at 256×256, to see where its time goes.
param_graph! {
    pub fn five_part_softmax(x: &SMatrix<f64, 256, 256>) -> SMatrix<f64, 256, 256> {
        softmax(x, axis = 1)
    }
    pub fn five_part_exp(x: &SMatrix<f64, 256, 256>) -> SMatrix<f64, 256, 256> {
        exp(x)
    }
    pub fn five_part_sigmoid(x: &SMatrix<f64, 256, 256>) -> SMatrix<f64, 256, 256> {
        sigmoid(x)
    }
    /// Everything after the softmax: `a` given.
    pub fn five_part_tail(a: &SMatrix<f64, 256, 256>, y: &SMatrix<f64, 256, 256>) -> SMatrix<f64, 256, 256> {
        add(exp(hadamard(a, sigmoid(y))), square(a))
    }
}

param_graph! {
    /// One pass over memory and nothing else: what each extra buffer of the
    /// unfused five-op graph costs, roughly (read two, write one).
    pub fn five_part_add(x: &SMatrix<f64, 256, 256>, y: &SMatrix<f64, 256, 256>) -> SMatrix<f64, 256, 256> {
        add(x, y)
    }
}

/// The five-op graph's tail after the softmax `a` as one hand-written loop
/// over strips of 256 elements with the runtime's vectorized `exp` for the
/// sigmoid too (`a · sigmoid(y) = a / (1 + exp(-y))`): a bound on what the
/// fused loop could cost with a vectorized sigmoid.
pub fn five_tail_hand_vectorized<const N: usize>(
    a: &SMatrix<f64, N, N>,
    y: &SMatrix<f64, N, N>,
    out: &mut SMatrix<f64, N, N>,
) {
    use param_graph::runtime::math::exp_in_place_f64;
    let mut t = [0.0f64; 256];
    let (a, y, out) = (a.as_slice(), y.as_slice(), out.as_mut_slice());
    for start in (0..N * N).step_by(256) {
        let end = (start + 256).min(N * N);
        let t = &mut t[..end - start];
        for (t, y) in t.iter_mut().zip(&y[start..end]) {
            *t = -y;
        }
        exp_in_place_f64(t);
        for (t, a) in t.iter_mut().zip(&a[start..end]) {
            *t = a / (1.0 + *t);
        }
        exp_in_place_f64(t);
        for ((o, t), a) in out[start..end].iter_mut().zip(t.iter()).zip(&a[start..end]) {
            *o = t + a * a;
        }
    }
}

/// W3 at the sizes of issue 16's contraction goal (optimized only: the
/// unfused outer product of 1×256×256 would be 128 MiB, and the backward
/// pass is not what the `gemm` group measures).
macro_rules! w3_big {
    ($name:ident, $f:literal, $j:literal, $k:literal, $jj:literal) => {
        param_graph! {
            pub fn $name(a: &[SMatrix<f64, $j, $k>; $f], b: &[SMatrix<f64, $j, $k>; $f]) -> [SVector<f64, $jj>; $f] {
                reduce_sum(outer_product(a, b, axis = 1), axis = 2)
            }
        }
    };
}
w3_big!(w3_1x256x256, 1, 256, 256, 65536);
w3_big!(w3_4x128x64, 4, 128, 64, 16384);
