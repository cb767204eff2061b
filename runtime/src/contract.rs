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
}

/// `out[i·out_row + j] += Σ_k a[i·a_row + k·a_inner] · b[k·b_inner + j]` for
/// `i < rows`, `k < inner`, `j < cols`: rank-1 updates of contiguous output
/// rows, which vectorize along `j` (4 lanes of FMA on AVX2).
///
/// Panics if a slice is too short for the given sizes and strides (the
/// generated code passes buffers of exactly the right length).
pub fn gemm_acc_f64(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[f64],
    b: &[f64],
    out: &mut [f64],
    s: GemmStrides,
) {
    #[cfg(target_arch = "x86_64")]
    if crate::math::avx2_available() {
        return crate::math::avx2_gemm_acc_f64(rows, inner, cols, a, b, out, s);
    }
    gemm_acc::<f64, false>(rows, inner, cols, a, b, out, s);
}

/// [`gemm_acc_f64`] for `f32`.
pub fn gemm_acc_f32(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    s: GemmStrides,
) {
    #[cfg(target_arch = "x86_64")]
    if crate::math::avx2_available() {
        return crate::math::avx2_gemm_acc_f32(rows, inner, cols, a, b, out, s);
    }
    gemm_acc::<f32, false>(rows, inner, cols, a, b, out, s);
}

/// The portable body; `FMA` fuses the multiply-add (only where the CPU has
/// it: elsewhere `mul_add` is a libm call).
#[inline(always)]
pub(crate) fn gemm_acc<T: MulAdd, const FMA: bool>(
    rows: usize,
    inner: usize,
    cols: usize,
    a: &[T],
    b: &[T],
    out: &mut [T],
    s: GemmStrides,
) {
    const BLOCK: usize = 8;
    let full = cols - cols % BLOCK;
    for i in 0..rows {
        let row = &mut out[i * s.out_row..i * s.out_row + cols];
        // Blocks of 8 outputs stay in registers across the whole sum.
        for (jb, chunk) in row[..full].chunks_exact_mut(BLOCK).enumerate() {
            let mut acc = [chunk[0]; BLOCK];
            acc.copy_from_slice(chunk);
            for k in 0..inner {
                let scale = a[i * s.a_row + k * s.a_inner];
                let at = k * s.b_inner + jb * BLOCK;
                let brow = &b[at..at + BLOCK];
                for (o, v) in acc.iter_mut().zip(brow) {
                    *o = T::madd::<FMA>(scale, *v, *o);
                }
            }
            chunk.copy_from_slice(&acc);
        }
        for k in 0..inner {
            let scale = a[i * s.a_row + k * s.a_inner];
            let brow = &b[k * s.b_inner + full..k * s.b_inner + cols];
            for (o, v) in row[full..].iter_mut().zip(brow) {
                *o = T::madd::<FMA>(scale, *v, *o);
            }
        }
    }
}

/// `a·b + c`, fused or not.
pub(crate) trait MulAdd: Copy {
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
}

macro_rules! mul_add_impl {
    ($($t:ty),*) => {$(
        impl MulAdd for $t {
            #[inline(always)]
            fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
                if FMA { a.mul_add(b, c) } else { a * b + c }
            }
        }
    )*};
}
mul_add_impl!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_triple_loop_with_strides() {
        let (rows, inner) = (5, 3);
        let a: Vec<f64> = (0..40).map(|v| f64::from(v) * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..80).map(|v| f64::from(v % 7) - 2.0).collect();
        // 7 columns: the tail loop only; 21: two register blocks of 8 and a
        // tail of 5.
        for cols in [7, 21] {
            let s = GemmStrides {
                a_row: 2,
                a_inner: 11,
                b_inner: 24,
                out_row: 24,
            };
            let mut out = vec![1.0; 120];
            gemm_acc_f64(rows, inner, cols, &a, &b, &mut out, s);
            for i in 0..rows {
                for j in 0..cols {
                    let want: f64 = 1.0
                        + (0..inner)
                            .map(|k| a[i * 2 + k * 11] * b[k * 24 + j])
                            .sum::<f64>();
                    assert!((out[i * 24 + j] - want).abs() < 1e-12);
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
