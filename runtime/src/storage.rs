//! Flat copies of the leaf and result types a parameter graph may use.

use nalgebra::{SMatrix, Scalar};

/// A fixed-size tensor value whose elements can be copied to and from a flat
/// slice in *storage order*.
///
/// Storage order is the order the elements sit in memory: column-major inside
/// an nalgebra matrix (`SVector<T, N>` is `SMatrix<T, N, 1>`), and for an array
/// `[X; N]` the `N` blocks of `X::LEN` elements one after the other. The macro
/// computes the same order from the type's syntax (the *layout* of a leaf), so
/// these copies walk both sides in order.
///
/// ```
/// use param_graph_runtime::Storage;
/// use nalgebra::SMatrix;
///
/// let m = SMatrix::<f64, 2, 3>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let mut flat = [0.0; 6];
/// m.write_flat(&mut flat);
/// assert_eq!(flat, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // column-major
/// assert_eq!(SMatrix::<f64, 2, 3>::read_flat(&flat), m);
/// ```
pub trait Storage: Sized {
    /// The element type, `f32` or `f64`.
    type Elem: Copy;
    /// Number of elements.
    const LEN: usize;
    /// Copies the elements into `out[..Self::LEN]` in storage order.
    fn write_flat(&self, out: &mut [Self::Elem]);
    /// Overwrites `self` with `flat[..Self::LEN]`, read in storage order.
    fn read_flat_into(&mut self, flat: &[Self::Elem]);
    /// Builds a value from `flat[..Self::LEN]`, read in storage order.
    fn read_flat(flat: &[Self::Elem]) -> Self;
}

macro_rules! scalar_storage {
    ($($t:ty),*) => {$(
        impl Storage for $t {
            type Elem = $t;
            const LEN: usize = 1;
            #[inline]
            fn write_flat(&self, out: &mut [$t]) {
                out[0] = *self;
            }
            #[inline]
            fn read_flat_into(&mut self, flat: &[$t]) {
                *self = flat[0];
            }
            #[inline]
            fn read_flat(flat: &[$t]) -> Self {
                flat[0]
            }
        }
    )*};
}
scalar_storage!(f32, f64);

impl<T, const R: usize, const C: usize> Storage for SMatrix<T, R, C>
where
    T: Scalar + Copy + Storage<Elem = T>,
{
    type Elem = T;
    const LEN: usize = R * C;
    #[inline]
    fn write_flat(&self, out: &mut [T]) {
        out[..R * C].copy_from_slice(self.as_slice());
    }
    #[inline]
    fn read_flat_into(&mut self, flat: &[T]) {
        self.as_mut_slice().copy_from_slice(&flat[..R * C]);
    }
    #[inline]
    fn read_flat(flat: &[T]) -> Self {
        SMatrix::from_column_slice(&flat[..R * C])
    }
}

impl<X: Storage, const N: usize> Storage for [X; N] {
    type Elem = X::Elem;
    const LEN: usize = N * X::LEN;
    #[inline]
    fn write_flat(&self, out: &mut [X::Elem]) {
        for (block, x) in out.chunks_exact_mut(X::LEN).zip(self) {
            x.write_flat(block);
        }
    }
    #[inline]
    fn read_flat_into(&mut self, flat: &[X::Elem]) {
        for (x, block) in self.iter_mut().zip(flat.chunks_exact(X::LEN)) {
            x.read_flat_into(block);
        }
    }
    #[inline]
    fn read_flat(flat: &[X::Elem]) -> Self {
        core::array::from_fn(|k| X::read_flat(&flat[k * X::LEN..(k + 1) * X::LEN]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::SVector;

    #[test]
    fn nested_arrays_are_blocks_in_order() {
        let a = [
            SMatrix::<f32, 2, 2>::new(1.0, 2.0, 3.0, 4.0),
            SMatrix::<f32, 2, 2>::new(5.0, 6.0, 7.0, 8.0),
        ];
        let mut flat = [0.0f32; 8];
        a.write_flat(&mut flat);
        assert_eq!(flat, [1.0, 3.0, 2.0, 4.0, 5.0, 7.0, 6.0, 8.0]);
        assert_eq!(<[SMatrix<f32, 2, 2>; 2]>::read_flat(&flat), a);
        let mut b = [SMatrix::<f32, 2, 2>::zeros(); 2];
        b.read_flat_into(&flat);
        assert_eq!(a, b);
    }

    #[test]
    fn scalars_vectors_and_plain_arrays() {
        let v = SVector::<f64, 3>::new(1.0, 2.0, 3.0);
        let mut flat = [0.0; 3];
        v.write_flat(&mut flat);
        assert_eq!(flat, [1.0, 2.0, 3.0]);
        let rows = [[1.0f64, 2.0], [3.0, 4.0]];
        let mut flat = [0.0; 4];
        rows.write_flat(&mut flat);
        assert_eq!(flat, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(<[[f64; 2]; 2]>::LEN, 4);
        assert_eq!(f64::read_flat(&[2.5]), 2.5);
    }
}
