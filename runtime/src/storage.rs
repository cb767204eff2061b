//! Flat views of the leaf and result types a parameter graph may use.
//!
//! A scalar, an nalgebra `SMatrix`/`SVector` and any nested array of them is
//! plain old data: its memory is the flat array of its elements in *storage
//! order* (column-major inside a matrix, then array blocks one after the
//! other). The macro computes the same order from the type's syntax, so
//! generated code reads leaves and writes results in place through these
//! views, with no copy and no `unsafe` (the casts are `bytemuck`'s, checked
//! for size and alignment).

use bytemuck::{Pod, Zeroable};

/// The elements of `value` as a flat array, in storage order.
///
/// ```
/// use param_graph_runtime::flat;
/// use nalgebra::SMatrix;
///
/// let m = SMatrix::<f64, 2, 3>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let elems: &[f64; 6] = flat(&m);
/// assert_eq!(elems, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // column-major
/// ```
///
/// `N` must be the element count (checked while compiling the caller):
///
/// ```compile_fail
/// # use param_graph_runtime::flat;
/// # use nalgebra::SMatrix;
/// let m = SMatrix::<f64, 2, 3>::zeros();
/// let elems: &[f64; 5] = flat(&m);
/// ```
#[inline(always)]
pub fn flat<T: Pod, E: Pod, const N: usize>(value: &T) -> &[E; N] {
    const { assert!(size_of::<T>() == size_of::<[E; N]>()) };
    bytemuck::cast_ref(value)
}

/// The elements of `value` as a mutable flat array, in storage order.
///
/// ```
/// use param_graph_runtime::{flat_mut, zeroed};
/// use nalgebra::SMatrix;
///
/// let mut m: SMatrix<f64, 2, 2> = zeroed();
/// flat_mut::<_, f64, 4>(&mut m).copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(m[(1, 0)], 2.0); // column-major
/// ```
#[inline(always)]
pub fn flat_mut<T: Pod, E: Pod, const N: usize>(value: &mut T) -> &mut [E; N] {
    const { assert!(size_of::<T>() == size_of::<[E; N]>()) };
    bytemuck::cast_mut(value)
}

/// The elements of `value` as a flat slice, in storage order: [`flat`] for
/// generated code whose element count is a product of const generic
/// parameters (`SMatrix<f64, K, 4>` in `fn f<const K: usize>`), which stable
/// Rust cannot write as an array length. The length is exact by
/// construction (`size_of::<T>() / size_of::<E>()`).
///
/// ```
/// use param_graph_runtime::flat_slice;
/// use nalgebra::SMatrix;
///
/// fn first_column<const K: usize>(m: &SMatrix<f64, K, 2>) -> &[f64] {
///     &flat_slice::<_, f64>(m)[..K]
/// }
/// let m = SMatrix::<f64, 3, 2>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(first_column(&m), &[1.0, 3.0, 5.0]);
/// ```
#[inline(always)]
pub fn flat_slice<T: Pod, E: Pod>(value: &T) -> &[E] {
    bytemuck::cast_slice(core::slice::from_ref(value))
}

/// The elements of `value` as a mutable flat slice, in storage order (see
/// [`flat_slice`]).
///
/// ```
/// use param_graph_runtime::flat_slice_mut;
/// use nalgebra::SVector;
///
/// let mut v = SVector::<f32, 3>::zeros();
/// flat_slice_mut::<_, f32>(&mut v)[2] = 1.0;
/// assert_eq!(v[2], 1.0);
/// ```
#[inline(always)]
pub fn flat_slice_mut<T: Pod, E: Pod>(value: &mut T) -> &mut [E] {
    bytemuck::cast_slice_mut(core::slice::from_mut(value))
}

/// A zeroed buffer of `len` elements on the heap: a workspace buffer whose
/// length is a product of const generic parameters. Allocates once.
///
/// ```
/// let ws: Box<[f64]> = param_graph_runtime::zeroed_slice(5);
/// assert_eq!(ws.len(), 5);
/// ```
pub fn zeroed_slice<T: Zeroable + Clone>(len: usize) -> Box<[T]> {
    vec![T::zeroed(); len].into_boxed_slice()
}

/// A value of all zeros (the starting point of a result returned by value).
#[inline(always)]
pub fn zeroed<T: Zeroable>() -> T {
    T::zeroed()
}

/// The first `LEN` elements of a buffer slot as an array: how generated code
/// gives one of the tensors that share a slot (at different times) its own
/// view. `LEN <= N` is checked while compiling the caller.
///
/// ```
/// use param_graph_runtime::prefix_mut;
///
/// let mut slot = [0.0f64; 8];
/// let view: &mut [f64; 3] = prefix_mut(&mut slot);
/// view.fill(1.0);
/// assert_eq!(slot[..4], [1.0, 1.0, 1.0, 0.0]);
/// ```
///
/// ```compile_fail
/// # use param_graph_runtime::prefix_mut;
/// let mut slot = [0.0f64; 2];
/// let view: &mut [f64; 3] = prefix_mut(&mut slot);
/// ```
#[inline(always)]
pub fn prefix_mut<T, const N: usize, const LEN: usize>(slot: &mut [T; N]) -> &mut [T; LEN] {
    const { assert!(LEN <= N) };
    match slot.first_chunk_mut::<LEN>() {
        Some(view) => view,
        // `LEN <= N` was asserted at compile time.
        None => unreachable!(),
    }
}

/// A zeroed buffer on the heap, never built on the stack (a workspace
/// buffer may be far larger than any thread's stack). Allocates once.
///
/// ```
/// let ws: Box<[f32; 1 << 20]> = param_graph_runtime::zeroed_box();
/// assert_eq!(ws[12345], 0.0);
/// ```
pub fn zeroed_box<T: Zeroable>() -> Box<T> {
    bytemuck::zeroed_box()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{SMatrix, SVector};

    #[test]
    fn nested_arrays_are_blocks_in_order() {
        let a = [
            SMatrix::<f32, 2, 2>::new(1.0, 2.0, 3.0, 4.0),
            SMatrix::<f32, 2, 2>::new(5.0, 6.0, 7.0, 8.0),
        ];
        let elems: &[f32; 8] = flat(&a);
        assert_eq!(elems, &[1.0, 3.0, 2.0, 4.0, 5.0, 7.0, 6.0, 8.0]);
        let mut b: [SMatrix<f32, 2, 2>; 2] = zeroed();
        flat_mut::<_, f32, 8>(&mut b).copy_from_slice(elems);
        assert_eq!(a, b);
    }

    #[test]
    fn scalars_vectors_and_plain_arrays() {
        let v = SVector::<f64, 3>::new(1.0, 2.0, 3.0);
        assert_eq!(flat::<_, f64, 3>(&v), &[1.0, 2.0, 3.0]);
        let rows = [[1.0f64, 2.0], [3.0, 4.0]];
        assert_eq!(flat::<_, f64, 4>(&rows), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(flat::<_, f64, 1>(&2.5f64), &[2.5]);
    }
}
