//! A Kronecker product kept in factored form.

use nalgebra::{RealField, SMatrix};

/// `A ⊗ B` for `A: P×Q` and `B: R×S`, stored as its two factors.
///
/// The dense product has `P·R × Q·S` entries; this type keeps `P·Q + R·S`.
/// A parameter graph returns it when its declared result type is
/// `Kron<T, P, Q, R, S>` and its result is `kron(a, b)`, so a layer outside
/// the graph can apply the tensor-dot trick ([`Kron::mul_mat`]) instead of
/// multiplying by the dense matrix. [`Kron::to_dense`] forms the product
/// explicitly when it is really wanted.
///
/// The sizes of the dense forms are checked while the caller compiles:
///
/// ```
/// use param_graph_runtime::Kron;
/// use nalgebra::SMatrix;
///
/// let k = Kron::new(SMatrix::<f64, 2, 2>::identity(), SMatrix::<f64, 3, 1>::repeat(1.0));
/// let dense: SMatrix<f64, 6, 2> = k.to_dense();
/// let x = SMatrix::<f64, 2, 1>::new(1.0, 2.0);
/// let y: SMatrix<f64, 6, 1> = k.mul_mat(&x);
/// assert_eq!(y, dense * x);
/// ```
///
/// ```compile_fail
/// # use param_graph_runtime::Kron;
/// # use nalgebra::SMatrix;
/// let k = Kron::new(SMatrix::<f64, 2, 2>::identity(), SMatrix::<f64, 3, 1>::repeat(1.0));
/// let wrong: SMatrix<f64, 5, 2> = k.to_dense(); // 2·3 rows, not 5
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kron<T: RealField + Copy, const P: usize, const Q: usize, const R: usize, const S: usize>
{
    /// The left factor `A`.
    pub a: SMatrix<T, P, Q>,
    /// The right factor `B`.
    pub b: SMatrix<T, R, S>,
}

impl<T: RealField + Copy, const P: usize, const Q: usize, const R: usize, const S: usize>
    Kron<T, P, Q, R, S>
{
    /// `a ⊗ b`, not formed.
    pub fn new(a: SMatrix<T, P, Q>, b: SMatrix<T, R, S>) -> Self {
        Kron { a, b }
    }

    /// Both factors zero (the starting point of a result returned by value).
    pub fn zeros() -> Self {
        Kron {
            a: SMatrix::zeros(),
            b: SMatrix::zeros(),
        }
    }

    /// The dense `(P·R) × (Q·S)` matrix, `(A ⊗ B)[i·R + k, j·S + l] = A[i, j] B[k, l]`.
    pub fn to_dense<const PR: usize, const QS: usize>(&self) -> SMatrix<T, PR, QS> {
        const {
            assert!(
                PR == P * R && QS == Q * S,
                "Kron::to_dense: the dense matrix of A (P×Q) ⊗ B (R×S) is (P·R)×(Q·S)"
            );
        }
        SMatrix::from_fn(|row, col| self.a[(row / R, col / S)] * self.b[(row % R, col % S)])
    }

    /// `(A ⊗ B) · X` by the tensor-dot trick, without forming `A ⊗ B`.
    ///
    /// Column `c` of `X`, read as the `S × Q` matrix `X_c` (row `j·S + l` is
    /// entry `(l, j)`), gives column `c` of the result as the `R × P` matrix
    /// `B · X_c · Aᵀ` (entry `(k, i)` is row `i·R + k`): `R·S·Q + R·Q·P`
    /// multiply-adds per column instead of `P·R·Q·S`.
    pub fn mul_mat<const QS: usize, const N: usize, const PR: usize>(
        &self,
        x: &SMatrix<T, QS, N>,
    ) -> SMatrix<T, PR, N> {
        const {
            assert!(QS == Q * S, "Kron::mul_mat: X must have Q·S rows");
            assert!(PR == P * R, "Kron::mul_mat: the result has P·R rows");
        }
        let mut out = SMatrix::<T, PR, N>::zeros();
        for c in 0..N {
            let xc = SMatrix::<T, S, Q>::from_iterator(x.column(c).iter().copied());
            let yc = self.b * xc * self.a.transpose();
            for (dst, src) in out.column_mut(c).iter_mut().zip(yc.iter()) {
                *dst = *src;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factored_product_matches_the_dense_one() {
        let a = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i * 3 + j) as f64 - 2.5);
        let b = SMatrix::<f64, 4, 2>::from_fn(|i, j| {
            (i as f64 + 1.0) * if j == 0 { 0.5 } else { -1.5 }
        });
        let k = Kron::new(a, b);
        let dense: SMatrix<f64, 8, 6> = k.to_dense();
        assert_eq!(dense[(5, 3)], a[(1, 1)] * b[(1, 1)]);
        let x = SMatrix::<f64, 6, 3>::from_fn(|i, j| (i as f64).sin() + j as f64);
        let y: SMatrix<f64, 8, 3> = k.mul_mat(&x);
        assert!((y - dense * x).abs().max() < 1e-12);
    }
}
