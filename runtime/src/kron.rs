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

    /// The vector–Jacobian product of [`Kron::mul_mat`]: for `Y = (A ⊗ B)·X`
    /// and a cotangent `dY` (`P·R × N`, the gradient of a scalar loss with
    /// respect to `Y`), the cotangents `(dA, dB, dX)` of the two factors and
    /// of `X`, without forming `A ⊗ B`. Per column `c`, with `X_c` the
    /// `S × Q` and `dY_c` the `R × P` matrices of [`Kron::mul_mat`]
    /// (`Y_c = B·X_c·Aᵀ`):
    ///
    /// ```text
    /// dX_c = Bᵀ · dY_c · A        dA += dY_cᵀ · B · X_c        dB += dY_c · A · X_cᵀ
    /// ```
    ///
    /// `R·P·Q + R·S·Q` multiply-adds per column for `dX_c` and as many for
    /// each factor, instead of `P·R·Q·S` each. Sizes are checked while the
    /// caller compiles, as for `mul_mat`.
    ///
    /// ```
    /// use param_graph_runtime::Kron;
    /// use nalgebra::SMatrix;
    ///
    /// let k = Kron::new(SMatrix::<f64, 2, 1>::new(1.0, 2.0), SMatrix::<f64, 1, 2>::new(3.0, 4.0));
    /// let x = SMatrix::<f64, 2, 1>::new(1.0, -1.0);
    /// let dy = SMatrix::<f64, 2, 1>::new(1.0, 1.0);
    /// let (da, db, dx) = k.mul_mat_vjp(&x, &dy);
    /// // Y = (A ⊗ B)·X = [3 − 4, 6 − 8]: Σ Y = 3·(B·X)·1 = −3.
    /// assert_eq!(da, SMatrix::<f64, 2, 1>::new(-1.0, -1.0)); // ∂ΣY/∂A = B·X
    /// assert_eq!(db, SMatrix::<f64, 1, 2>::new(3.0, -3.0)); // (ΣA)·Xᵀ
    /// assert_eq!(dx, SMatrix::<f64, 2, 1>::new(9.0, 12.0)); // (ΣA)·Bᵀ
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn mul_mat_vjp<const QS: usize, const N: usize, const PR: usize>(
        &self,
        x: &SMatrix<T, QS, N>,
        dy: &SMatrix<T, PR, N>,
    ) -> (SMatrix<T, P, Q>, SMatrix<T, R, S>, SMatrix<T, QS, N>) {
        const {
            assert!(QS == Q * S, "Kron::mul_mat_vjp: X must have Q·S rows");
            assert!(PR == P * R, "Kron::mul_mat_vjp: dY has P·R rows");
        }
        let mut da = SMatrix::<T, P, Q>::zeros();
        let mut db = SMatrix::<T, R, S>::zeros();
        let mut dx = SMatrix::<T, QS, N>::zeros();
        for c in 0..N {
            let xc = SMatrix::<T, S, Q>::from_iterator(x.column(c).iter().copied());
            let dyc = SMatrix::<T, R, P>::from_iterator(dy.column(c).iter().copied());
            let dxc = self.b.transpose() * dyc * self.a;
            for (dst, src) in dx.column_mut(c).iter_mut().zip(dxc.iter()) {
                *dst = *src;
            }
            da += dyc.transpose() * self.b * xc;
            db += dyc * self.a * xc.transpose();
        }
        (da, db, dx)
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

    /// The VJP against the dense product's: with `D = A ⊗ B` and
    /// `dD = dY·Xᵀ`, `dX = Dᵀ·dY`, `dA[i,j] = Σ_{k,l} dD[i·R+k, j·S+l]·B[k,l]`
    /// and `dB[k,l] = Σ_{i,j} dD[i·R+k, j·S+l]·A[i,j]`; and against central
    /// finite differences of `Σ dY ⊙ (A ⊗ B)·X` in one entry of each.
    #[test]
    fn factored_vjp_matches_the_dense_one_and_finite_differences() {
        let a = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i * 3 + j) as f64 * 0.3 - 0.7);
        let b = SMatrix::<f64, 4, 2>::from_fn(|i, j| ((i + 2 * j) as f64).cos());
        let x = SMatrix::<f64, 6, 3>::from_fn(|i, j| (i as f64 * 0.7 + j as f64).sin());
        let dy = SMatrix::<f64, 8, 3>::from_fn(|i, j| (i as f64 - j as f64 * 0.5) * 0.25);
        let k = Kron::new(a, b);
        let (da, db, dx) = k.mul_mat_vjp(&x, &dy);
        let dense: SMatrix<f64, 8, 6> = k.to_dense();
        assert!((dx - dense.transpose() * dy).abs().max() < 1e-12);
        let dd = dy * x.transpose();
        for i in 0..2 {
            for j in 0..3 {
                let want: f64 = (0..4)
                    .flat_map(|kk| (0..2).map(move |l| (kk, l)))
                    .map(|(kk, l)| dd[(i * 4 + kk, j * 2 + l)] * b[(kk, l)])
                    .sum();
                assert!((da[(i, j)] - want).abs() < 1e-12);
            }
        }
        for kk in 0..4 {
            for l in 0..2 {
                let want: f64 = (0..2)
                    .flat_map(|i| (0..3).map(move |j| (i, j)))
                    .map(|(i, j)| dd[(i * 4 + kk, j * 2 + l)] * a[(i, j)])
                    .sum();
                assert!((db[(kk, l)] - want).abs() < 1e-12);
            }
        }
        let loss = |k: &Kron<f64, 2, 3, 4, 2>, x: &SMatrix<f64, 6, 3>| {
            let y: SMatrix<f64, 8, 3> = k.mul_mat(x);
            y.component_mul(&dy).sum()
        };
        let h = 1e-6;
        let (mut kp, mut km) = (k, k);
        kp.a[(1, 2)] += h;
        km.a[(1, 2)] -= h;
        assert!(((loss(&kp, &x) - loss(&km, &x)) / (2.0 * h) - da[(1, 2)]).abs() < 1e-8);
        let (mut kp, mut km) = (k, k);
        kp.b[(3, 0)] += h;
        km.b[(3, 0)] -= h;
        assert!(((loss(&kp, &x) - loss(&km, &x)) / (2.0 * h) - db[(3, 0)]).abs() < 1e-8);
        let (mut xp, mut xm) = (x, x);
        xp[(4, 1)] += h;
        xm[(4, 1)] -= h;
        assert!(((loss(&k, &xp) - loss(&k, &xm)) / (2.0 * h) - dx[(4, 1)]).abs() < 1e-8);
    }
}
