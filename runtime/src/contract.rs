//! The inner kernel of contractions (matrix products and the sum of an outer
//! product over another axis), dispatched to AVX2/FMA at run time.

/// Strides of the operands of [`gemm_acc_f64`], in elements.
#[derive(Clone, Copy, Debug)]
pub struct GemmStrides {
    /// `a[i·a_row + k·a_inner]`.
    pub a_row: usize,
    /// See `a_row`.
    pub a_inner: usize,
    /// `b[k·b_inner + j]` (unit stride along `j`).
    pub b_inner: usize,
    /// `out[i·out_row + j]` (unit stride along `j`).
    pub out_row: usize,
    /// `true`: `out = a·b` (its previous contents are ignored); `false`:
    /// `out += a·b`.
    pub overwrite: bool,
}

crate::dispatch::dispatched! {
    /// `out[i·out_row + j] += Σ_k a[i·a_row + k·a_inner] · b[k·b_inner + j]`
    /// (or `=` with `s.overwrite`) for `i < rows`, `k < inner`, `j < cols`:
    /// for products of at least 2¹⁸ multiply-adds (with at least 6 rows and
    /// 32 columns and steps of `k`), 6 × 8 register
    /// tiles of the output accumulate over blocks of 64 steps of `k` from
    /// `a` and `b` packed into 28 KiB of stack (see `packed_f64` in the
    /// source: near `matrixmultiply`'s `dgemm` on AVX2/FMA); smaller ones
    /// take 4 × 8 tiles of the unpacked operands, their edges by rank-1
    /// updates of contiguous rows. No heap allocation; sums in order of `k`
    /// within each block (the accuracy of a plain loop).
    ///
    /// Panics if a slice is too short for the given sizes and strides (the
    /// generated code passes buffers of exactly the right length).
    ///
    /// ```
    /// use param_graph_runtime::contract::{gemm_acc_f64, GemmStrides};
    ///
    /// // Row-major (2×3)·(3×2).
    /// let (a, b) = ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    /// let mut out = [0.0; 4];
    /// let s = GemmStrides { a_row: 3, a_inner: 1, b_inner: 2, out_row: 2, overwrite: true };
    /// gemm_acc_f64(2, 3, 2, &a, &b, &mut out, s);
    /// assert_eq!(out, [4.0, 5.0, 10.0, 11.0]);
    /// ```
    pub fn gemm_acc_f64(rows: usize, inner: usize, cols: usize, a: &[f64], b: &[f64], out: &mut [f64], s: GemmStrides) => gemm_f64;
}

crate::dispatch::dispatched! {
    /// The packed body of [`gemm_acc_f64`], dispatched on its own: its
    /// 28 KiB stack frame is probed page by page on every call, which the
    /// small products (W3 at 8×16×4: eight calls of 512 multiply-adds) do
    /// not pay.
    #[inline(never)]
    pub(crate) fn gemm_packed_f64(rows: usize, inner: usize, cols: usize, a: &[f64], b: &[f64], out: &mut [f64], s: GemmStrides) => packed_f64;
}

crate::dispatch::dispatched! {
    /// [`gemm_acc_f64`] for `f32`, always by the unpacked 4 × 8 tiles, whose
    /// `f32` partial sums over blocks of 64 steps are added in `f64` (see
    /// the accuracy note in the source).
    pub fn gemm_acc_f32(rows: usize, inner: usize, cols: usize, a: &[f32], b: &[f32], out: &mut [f32], s: GemmStrides) => gemm_f32;
}

#[inline(always)]
fn gemm_f64<const FMA: bool>(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[f64],
    b: &[f64],
    out: &mut [f64],
    s: GemmStrides,
) {
    if packs(rows, inner, cols) {
        gemm_packed_f64(rows, inner, cols, a, b, out, s);
    } else {
        gemm_acc::<f64, FMA>(rows, inner, cols, a, b, out, s);
    }
}

/// Whether a product takes the packed kernel. Measured on AMD EPYC
/// (AVX2/FMA): below about 2¹⁸ multiply-adds the operands stay in L1/L2
/// and the unpacked tile is as fast or faster (zeroing the buffers and
/// packing cost what they save), and so it is with fewer than 32 columns
/// (the packed block of `a` serves too few strips of `b`).
#[inline(always)]
fn packs(rows: usize, inner: usize, cols: usize) -> bool {
    inner >= 32 && rows >= MR && cols >= 32 && rows * inner * cols >= 1 << 18
}

/// Rows of the `f64` register tile ([`packed_f64`]).
const MR: usize = 6;
/// Columns of the `f64` register tile: two vectors of 4 lanes on AVX2.
const NR: usize = 8;
/// Rows of `a` packed together: eight register tiles.
const MC: usize = 8 * MR;
/// Steps of `k` per packed block.
const KC: usize = 64;

/// The `f64` body for large enough products: packed panels and a 6 × 8
/// register tile; small ones keep the unpacked [`gemm_acc`], as fast
/// while the operands fit in cache (the packing buffers are zeroed once
/// per call, which a small product would not repay).
///
/// For each block of [`KC`] = 64 steps of `k` and each group of
/// [`MC`] = 48 rows, the `48 × 64` block of `a` is copied into a stack
/// buffer as eight `6 × 64` micro-panels interleaved by `k` (zero-padded
/// past `rows`); for each strip of [`NR`] = 8 columns, the `64 × 8` strip
/// of `b` is copied into a second one, row by row (zero-padded past
/// `cols`), and multiplied by each micro-panel in turn. The micro-kernel
/// reads only those two contiguous buffers: per step of `k`, 6 broadcasts
/// of `a` and 2 four-lane vectors of `b` feed 12 fused multiply-adds into
/// 12 accumulator registers (15 of the 16 AVX2 registers in use; a 4 × 12
/// tile needs 17 and LLVM spills an accumulator every step). Why: the
/// unpacked 4 × 8 tile ran at 42–55% of the FMA peak, with 8 accumulators
/// (too few to hide the FMA latency), bounds checks per step, and `a` and
/// `b` read at large power-of-two strides (W3 steps `k` by `J` elements)
/// that map every step to the same few L1 sets. Packing `a` once per block
/// and `b` once per 48 rows keeps the copies to a few percent. Edges cost
/// nothing extra: padded rows and columns are computed and not written
/// back. The block sizes were measured on AMD EPYC (AVX2/FMA): 48 × 64
/// beat 18 × 128, 24 × 96 and 72 × 48.
///
/// Stack: `(48 + 8) · 64 · 8` bytes = 28 KiB, fixed whatever the sizes
/// (no heap allocation).
///
/// Accuracy: each output accumulates its products in order of `k` in one
/// register over each block of 64 steps; the block's sum is added to the
/// output (which the next block loads), so the only reordering is the
/// association at block boundaries: the `n·2⁻⁵³·Σ|aₖ·bₖ|` bound of a plain
/// loop.
#[inline(always)]
fn packed_f64<const FMA: bool>(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[f64],
    b: &[f64],
    out: &mut [f64],
    s: GemmStrides,
) {
    let mut ap = [[[0.0f64; MR]; KC]; MC / MR];
    let mut bp = [[0.0f64; NR]; KC];
    for k0 in (0..inner).step_by(KC) {
        let kc = KC.min(inner - k0);
        let fresh = s.overwrite && k0 == 0;
        for i0 in (0..rows).step_by(MC) {
            let mc = MC.min(rows - i0);
            pack_a(&mut ap, a, (i0, mc), (k0, kc), s);
            for j0 in (0..cols).step_by(NR) {
                let nr = NR.min(cols - j0);
                pack_b(&mut bp[..kc], b, k0, j0, nr, s.b_inner);
                for (t, panel) in ap.iter().enumerate() {
                    let it = i0 + t * MR;
                    if it >= i0 + mc {
                        break;
                    }
                    let mr = MR.min(i0 + mc - it);
                    let mut acc = [[0.0f64; NR]; MR];
                    if !fresh {
                        for (r, acc_row) in acc.iter_mut().enumerate().take(mr) {
                            let at = (it + r) * s.out_row + j0;
                            if nr == NR {
                                // A fixed-size copy: no call to `memcpy`.
                                *acc_row = out[at..at + NR].try_into().expect("NR elements");
                            } else {
                                acc_row[..nr].copy_from_slice(&out[at..at + nr]);
                            }
                        }
                    }
                    for (ak, bk) in panel[..kc].iter().zip(&bp[..kc]) {
                        for (acc_row, &scale) in acc.iter_mut().zip(ak) {
                            for (o, &v) in acc_row.iter_mut().zip(bk) {
                                *o = f64::madd::<FMA>(scale, v, *o);
                            }
                        }
                    }
                    for (r, acc_row) in acc.iter().enumerate().take(mr) {
                        let at = (it + r) * s.out_row + j0;
                        if nr == NR {
                            let dst: &mut [f64; NR] =
                                (&mut out[at..at + NR]).try_into().expect("NR elements");
                            *dst = *acc_row;
                        } else {
                            out[at..at + nr].copy_from_slice(&acc_row[..nr]);
                        }
                    }
                }
            }
        }
    }
}

/// `bp[k] = b[(k0 + k)·b_inner + j0 ..][..nr]`, zero past `nr`.
#[inline(always)]
fn pack_b(bp: &mut [[f64; NR]], b: &[f64], k0: usize, j0: usize, nr: usize, b_inner: usize) {
    for (k, row) in bp.iter_mut().enumerate() {
        let at = (k0 + k) * b_inner + j0;
        if nr == NR {
            *row = b[at..at + NR].try_into().expect("NR elements");
        } else {
            row[..nr].copy_from_slice(&b[at..at + nr]);
            row[nr..].fill(0.0);
        }
    }
}

/// `ap[t][k][r] = a[(i0 + t·MR + r)·a_row + (k0 + k)·a_inner]` for
/// `t·MR + r < mc`, `k < kc`; zero for the rows past `mc`.
#[inline(always)]
fn pack_a(
    ap: &mut [[[f64; MR]; KC]; MC / MR],
    a: &[f64],
    (i0, mc): (usize, usize),
    (k0, kc): (usize, usize),
    s: GemmStrides,
) {
    if s.a_row == 1 && mc == MC {
        // A column-major block: each step of `k` is 18 adjacent elements.
        for k in 0..kc {
            let at = i0 + (k0 + k) * s.a_inner;
            let col: &[f64; MC] = a[at..at + MC].try_into().expect("MC elements");
            for (panel, part) in ap.iter_mut().zip(col.chunks_exact(MR)) {
                panel[k] = part.try_into().expect("MR elements");
            }
        }
    } else {
        for (t, panel) in ap.iter_mut().enumerate() {
            for (k, step) in panel[..kc].iter_mut().enumerate() {
                for (r, v) in step.iter_mut().enumerate() {
                    let i = t * MR + r;
                    *v = if i < mc {
                        a[(i0 + i) * s.a_row + (k0 + k) * s.a_inner]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

#[inline(always)]
fn gemm_f32<const FMA: bool>(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    s: GemmStrides,
) {
    gemm_acc::<f32, FMA>(rows, inner, cols, a, b, out, s);
}

/// The unpacked body (`f32`, and `f64` products too small for
/// [`packed_f64`]); `FMA` fuses the multiply-add (only where the CPU has
/// it: elsewhere `mul_add` is a libm call).
///
/// Accuracy: `f64` accumulates each output over the whole sum in its
/// register tile. `f32` accumulates in its register tile over blocks of
/// [`MulAdd::KC`] = 64 steps of `k` and adds each block's partial sums into
/// an `f64` tile, rounding to `f32` once at the end: an error of at most
/// `(64·2⁻²⁴ + (n/64)·2⁻⁵³)·Σₖ|aₖ·bₖ|` for `n` terms, where a plain `f32`
/// loop has `n·2⁻²⁴` (and BLAS `sgemm`, torch's, about `(KC + n/KC)·2⁻²⁴`
/// with KC in the hundreds). The extra `f64` adds come once per 64 steps.
#[inline(always)]
fn gemm_acc<T: MulAdd, const FMA: bool>(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[T],
    b: &[T],
    out: &mut [T],
    s: GemmStrides,
) {
    // A 4 × 8 register tile of outputs accumulates over the sum (over
    // blocks of it for f32): per step of `k`, 4 broadcasts and one 8-wide
    // row of `b` feed 32 multiply-adds. Rows and columns outside whole
    // tiles take the edge loop below.
    let (full_rows, full_cols) = (rows - rows % TR, cols - cols % TC);
    for i0 in (0..full_rows).step_by(TR) {
        for j0 in (0..full_cols).step_by(TC) {
            let mut acc = [[T::zero(); TC]; TR];
            if !s.overwrite {
                for (r, acc_row) in acc.iter_mut().enumerate() {
                    let at = (i0 + r) * s.out_row + j0;
                    acc_row.copy_from_slice(&out[at..at + TC]);
                }
            }
            if T::KC >= inner {
                tile_steps::<T, FMA>(&mut acc, (i0, j0), 0..inner, a, b, s);
            } else {
                let mut wide = [[0.0f64; TC]; TR];
                for (w_row, acc_row) in wide.iter_mut().zip(&acc) {
                    for (w, v) in w_row.iter_mut().zip(acc_row) {
                        *w = v.to_f64();
                    }
                }
                for k0 in (0..inner).step_by(T::KC) {
                    let mut part = [[T::zero(); TC]; TR];
                    let steps = k0..inner.min(k0 + T::KC);
                    tile_steps::<T, FMA>(&mut part, (i0, j0), steps, a, b, s);
                    for (w_row, p_row) in wide.iter_mut().zip(&part) {
                        for (w, v) in w_row.iter_mut().zip(p_row) {
                            *w += v.to_f64();
                        }
                    }
                }
                for (acc_row, w_row) in acc.iter_mut().zip(&wide) {
                    for (v, w) in acc_row.iter_mut().zip(w_row) {
                        *v = T::from_f64(*w);
                    }
                }
            }
            for (r, acc_row) in acc.iter().enumerate() {
                let at = (i0 + r) * s.out_row + j0;
                out[at..at + TC].copy_from_slice(acc_row);
            }
        }
    }
    // The edges: columns past the last whole tile for the tiled rows, and
    // every column of the rows past the last whole tile.
    if full_cols < cols {
        for i in 0..full_rows {
            edge_row::<T, FMA>(i, full_cols, cols, inner, a, b, out, s);
        }
    }
    for i in full_rows..rows {
        edge_row::<T, FMA>(i, 0, cols, inner, a, b, out, s);
    }
}

/// Rows of the register tile.
const TR: usize = 4;
/// Columns of the register tile.
const TC: usize = 8;

/// `acc[r][c] += Σ_{k ∈ steps} a[(i0 + r)·a_row + k·a_inner] · b[k·b_inner + j0 + c]`.
#[inline(always)]
fn tile_steps<T: MulAdd, const FMA: bool>(
    acc: &mut [[T; TC]; TR],
    (i0, j0): (usize, usize),
    steps: std::ops::Range<usize>,
    a: &[T],
    b: &[T],
    s: GemmStrides,
) {
    if s.a_row == 1 {
        // A column-major panel: the tile's four multipliers are adjacent,
        // so each step slices `a` and `b` once to an exact length and the
        // tile needs no further bounds checks.
        for k in steps {
            let (at_a, at_b) = (i0 + k * s.a_inner, j0 + k * s.b_inner);
            let (ak, bk) = (&a[at_a..at_a + TR], &b[at_b..at_b + TC]);
            for (acc_row, &scale) in acc.iter_mut().zip(ak) {
                for (o, &v) in acc_row.iter_mut().zip(bk) {
                    *o = T::madd::<FMA>(scale, v, *o);
                }
            }
        }
    } else {
        for k in steps {
            let at = k * s.b_inner + j0;
            let bk = &b[at..at + TC];
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let scale = a[(i0 + r) * s.a_row + k * s.a_inner];
                for (o, &v) in acc_row.iter_mut().zip(bk) {
                    *o = T::madd::<FMA>(scale, v, *o);
                }
            }
        }
    }
}

/// Row `i`, columns `from..cols`. `f64`: rank-1 updates of the contiguous
/// row. `f32`: groups of up to 8 columns, accumulated in blocks of
/// [`MulAdd::KC`] steps added into `f64` (as the tiles). A function, not a
/// closure: `#[inline(always)]` carries it into the AVX2/FMA caller (a
/// closure would be compiled without the target features, and `mul_add`
/// there is a libm call).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn edge_row<T: MulAdd, const FMA: bool>(
    i: usize,
    from: usize,
    cols: usize,
    inner: usize,
    a: &[T],
    b: &[T],
    out: &mut [T],
    s: GemmStrides,
) {
    let row = &mut out[i * s.out_row + from..i * s.out_row + cols];
    if s.overwrite {
        row.fill(T::zero());
    }
    if T::KC >= inner {
        for k in 0..inner {
            let scale = a[i * s.a_row + k * s.a_inner];
            let brow = &b[k * s.b_inner + from..k * s.b_inner + cols];
            for (o, v) in row.iter_mut().zip(brow) {
                *o = T::madd::<FMA>(scale, *v, *o);
            }
        }
        return;
    }
    for (g, group) in row.chunks_mut(TC).enumerate() {
        let j0 = from + g * TC;
        let w = group.len();
        let mut wide = [0.0f64; TC];
        for (wv, v) in wide.iter_mut().zip(group.iter()) {
            *wv = v.to_f64();
        }
        for k0 in (0..inner).step_by(T::KC) {
            let mut part = [T::zero(); TC];
            for k in k0..inner.min(k0 + T::KC) {
                let scale = a[i * s.a_row + k * s.a_inner];
                let brow = &b[k * s.b_inner + j0..k * s.b_inner + j0 + w];
                for (p, v) in part.iter_mut().zip(brow) {
                    *p = T::madd::<FMA>(scale, *v, *p);
                }
            }
            for (wv, p) in wide.iter_mut().zip(&part) {
                *wv += p.to_f64();
            }
        }
        for (v, wv) in group.iter_mut().zip(&wide) {
            *v = T::from_f64(*wv);
        }
    }
}

/// `a·b + c`, fused or not, and how sums of the type are blocked.
pub(crate) trait MulAdd: Copy {
    /// Steps of `k` accumulated in the type before the partial sums are
    /// added into `f64` (`usize::MAX`: never, the type is `f64`).
    const KC: usize;
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
    fn zero() -> Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

macro_rules! mul_add_impl {
    ($($t:ty: $kc:expr),*) => {$(
        impl MulAdd for $t {
            const KC: usize = $kc;
            #[inline(always)]
            fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
                if FMA { a.mul_add(b, c) } else { a * b + c }
            }
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
        }
    )*};
}
mul_add_impl!(f32: 64, f64: usize::MAX);

#[cfg(test)]
mod tests {
    use super::*;

    /// f32 contractions over 10⁵ terms (tiles and edges, both `a` paths)
    /// within the stated bound of the exact sum:
    /// `½ ulp + (64·2⁻²⁴ + (n/64)·2⁻⁵³)·Σ|aₖ·bₖ|`; a left-to-right f32 loop
    /// misses it on these all-positive terms.
    #[test]
    fn f32_long_sums_are_blocked_into_f64() {
        let (rows, inner, cols) = (5, 100_000, 11);
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            0.05 + 0.1 * ((state >> 11) as f64 / (1u64 << 53) as f64)
        };
        let a: Vec<f32> = (0..rows * inner).map(|_| next() as f32).collect();
        let b: Vec<f32> = (0..inner * cols).map(|_| next() as f32).collect();
        for a_row in [1, inner] {
            let a_inner = if a_row == 1 { rows } else { 1 };
            let s = GemmStrides {
                a_row,
                a_inner,
                b_inner: cols,
                out_row: cols,
                overwrite: true,
            };
            let mut out = vec![f32::NAN; rows * cols];
            gemm_acc_f32(rows, inner, cols, &a, &b, &mut out, s);
            for i in 0..rows {
                for j in 0..cols {
                    let terms = (0..inner).map(|k| {
                        f64::from(a[i * a_row + k * a_inner]) * f64::from(b[k * cols + j])
                    });
                    let exact: f64 = terms.clone().sum();
                    let abs: f64 = terms.map(f64::abs).sum();
                    let bound = f64::from(exact as f32) * 2f64.powi(-24)
                        + (64.0 * 2f64.powi(-24) + inner as f64 / 64.0 * 2f64.powi(-53)) * abs;
                    let got = f64::from(out[i * cols + j]);
                    assert!((got - exact).abs() <= bound, "({i}, {j}): {got} vs {exact}");
                    if (i, j) == (0, 0) {
                        let naive =
                            (0..inner).fold(0.0f32, |acc, k| acc + a[k * a_inner] * b[k * cols]);
                        assert!(
                            (f64::from(naive) - exact).abs() > bound,
                            "the test discriminates"
                        );
                    }
                }
            }
        }
    }

    /// `gemm_acc_f64` against a naive triple loop, each output within
    /// `1e-13 · Σₖ|aₖ·bₖ|`, for the given sizes and strides, both `overwrite`
    /// modes, on the native path and the portable one; entries of `out`
    /// outside the product (row padding) must be left alone.
    fn check_f64(rows: usize, inner: usize, cols: usize, s: GemmStrides) {
        let a_len = (rows - 1) * s.a_row + (inner - 1) * s.a_inner + 1;
        let b_len = (inner - 1) * s.b_inner + cols;
        let out_len = (rows - 1) * s.out_row + cols;
        let a: Vec<f64> = (0..a_len)
            .map(|v| ((v * 37 % 101) as f64) / 25.0 - 2.0)
            .collect();
        let b: Vec<f64> = (0..b_len)
            .map(|v| ((v * 29 % 103) as f64) / 26.0 - 2.0)
            .collect();
        let start: Vec<f64> = (0..out_len).map(|v| (v % 13) as f64 - 6.0).collect();
        for overwrite in [true, false] {
            let s = GemmStrides { overwrite, ..s };
            let mut native = start.clone();
            gemm_acc_f64(rows, inner, cols, &a, &b, &mut native, s);
            let mut portable = start.clone();
            crate::dispatch::with_portable(|| {
                gemm_acc_f64(rows, inner, cols, &a, &b, &mut portable, s)
            });
            for (at, ((n, p), o)) in native.iter().zip(&portable).zip(&start).enumerate() {
                let (i, j) = (at / s.out_row, at % s.out_row);
                if j >= cols {
                    assert_eq!((*n, *p), (*o, *o), "padding at {at} was written");
                    continue;
                }
                let terms =
                    (0..inner).map(|k| a[i * s.a_row + k * s.a_inner] * b[k * s.b_inner + j]);
                let want = terms.clone().sum::<f64>() + if overwrite { 0.0 } else { *o };
                let scale = terms.map(f64::abs).sum::<f64>() + o.abs();
                for got in [n, p] {
                    assert!(
                        (got - want).abs() <= 1e-13 * scale,
                        "{rows}×{inner}×{cols} {s:?} ({i}, {j}): {got} vs {want}"
                    );
                }
            }
        }
    }

    /// The packed path: sizes at and past multiples of the tile (6 × 8),
    /// of the packed row group (48) and of the block of `k` (64), with `a`
    /// column-major (the fast packing), row-major and padded, and padded
    /// rows of `b` and `out`; and sizes under the threshold (the unpacked
    /// path) for comparison.
    #[test]
    fn packed_f64_matches_a_naive_loop_at_every_edge() {
        let shapes = [
            // Packed (at least 2¹⁸ multiply-adds, 6 rows, 32 columns and
            // steps).
            (64, 64, 64),
            (48, 64, 96),
            (53, 129, 41),
            (97, 65, 47),
            (6, 300, 150),
            (7, 257, 150),
            (131, 33, 61),
            (300, 40, 33),
            // Unpacked.
            (32, 32, 32),
            (5, 300, 300),
            (300, 40, 31),
        ];
        for (rows, inner, cols) in shapes {
            let col_major = GemmStrides {
                a_row: 1,
                a_inner: rows,
                b_inner: cols,
                out_row: cols,
                overwrite: true,
            };
            let row_major = GemmStrides {
                a_row: inner,
                a_inner: 1,
                ..col_major
            };
            let padded = GemmStrides {
                a_row: 2,
                a_inner: 2 * rows + 3,
                b_inner: cols + 5,
                out_row: cols + 3,
                overwrite: true,
            };
            for s in [col_major, row_major, padded] {
                check_f64(rows, inner, cols, s);
            }
        }
    }

    /// With nothing to sum, overwriting zeroes the output and accumulating
    /// leaves it alone (on the packed sizes' other dimensions).
    #[test]
    fn an_empty_sum_zeroes_or_keeps_the_output() {
        for overwrite in [true, false] {
            let s = GemmStrides {
                a_row: 1,
                a_inner: 64,
                b_inner: 64,
                out_row: 64,
                overwrite,
            };
            let mut out = vec![3.0; 64 * 64];
            gemm_acc_f64(64, 0, 64, &[], &[], &mut out, s);
            let want = if overwrite { 0.0 } else { 3.0 };
            assert!(out.iter().all(|v| *v == want));
        }
    }

    #[test]
    fn matches_a_naive_triple_loop_with_strides() {
        let (rows, inner) = (5, 3);
        let a: Vec<f64> = (0..40).map(|v| f64::from(v) * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..80).map(|v| f64::from(v % 7) - 2.0).collect();
        // 7 columns: the tail loop only; 21: two register blocks of 8 and a
        // tail of 5.
        for (cols, a_row) in [(7, 2), (21, 2), (21, 1)] {
            let s = GemmStrides {
                a_row,
                a_inner: 11,
                b_inner: 24,
                out_row: 24,
                overwrite: false,
            };
            let mut out = vec![1.0; 120];
            gemm_acc_f64(rows, inner, cols, &a, &b, &mut out, s);
            for i in 0..rows {
                for j in 0..cols {
                    let want: f64 = 1.0
                        + (0..inner)
                            .map(|k| a[i * a_row + k * 11] * b[k * 24 + j])
                            .sum::<f64>();
                    assert!((out[i * 24 + j] - want).abs() < 1e-12);
                }
            }
            // Overwriting ignores what `out` held.
            let mut fresh = vec![f64::NAN; 120];
            gemm_acc_f64(
                rows,
                inner,
                cols,
                &a,
                &b,
                &mut fresh,
                GemmStrides {
                    overwrite: true,
                    ..s
                },
            );
            for i in 0..rows {
                for j in 0..cols {
                    assert!((fresh[i * 24 + j] - (out[i * 24 + j] - 1.0)).abs() < 1e-12);
                }
            }
            let (a32, b32): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|v| *v as f32).collect(),
                b.iter().map(|v| *v as f32).collect(),
            );
            let mut out32 = vec![1.0f32; 120];
            gemm_acc_f32(rows, inner, cols, &a32, &b32, &mut out32, s);
            assert!((f64::from(out32[24 + 3]) - out[24 + 3]).abs() < 1e-4);
        }
    }
}
