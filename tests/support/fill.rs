//! Filling tensor values in place, in row-major order, so that inputs far
//! larger than a small thread's stack can be built in a
//! `param_graph::runtime::zeroed_box()` without nalgebra's constructors
//! keeping a copy on the stack first (they do in debug builds).
//!
//! ```ignore
//! let mut x: Box<SMatrix<f64, 1024, 1024>> = param_graph::runtime::zeroed_box();
//! x.fill_row_major(&mut |k| (k % 97) as f64 / 24.25 - 2.0);
//! ```

use super::row_major::Element;
use param_graph::nalgebra::SMatrix;

/// A fixed-size tensor value whose elements can be overwritten in
/// row-major order (the order of [`super::RowMajor`]).
pub trait FillRowMajor {
    /// Sets element `k` (row-major index, counted from `first`) to `f(k)`;
    /// returns the index after the last element.
    fn fill_from(&mut self, first: usize, f: &mut dyn FnMut(usize) -> f64) -> usize;

    /// Sets row-major element `k` to `f(k)`.
    fn fill_row_major(&mut self, f: &mut dyn FnMut(usize) -> f64) {
        self.fill_from(0, f);
    }

    /// Copies `data` (row-major, exactly as many elements) into `self`.
    fn copy_row_major(&mut self, data: &[f64]) {
        let end = self.fill_from(0, &mut |k| data[k]);
        assert_eq!(end, data.len(), "copy_row_major: element count");
    }
}

impl FillRowMajor for f64 {
    fn fill_from(&mut self, first: usize, f: &mut dyn FnMut(usize) -> f64) -> usize {
        *self = f(first);
        first + 1
    }
}

impl FillRowMajor for f32 {
    fn fill_from(&mut self, first: usize, f: &mut dyn FnMut(usize) -> f64) -> usize {
        *self = f(first) as f32;
        first + 1
    }
}

impl<E: Element, const R: usize, const C: usize> FillRowMajor for SMatrix<E, R, C> {
    fn fill_from(&mut self, first: usize, f: &mut dyn FnMut(usize) -> f64) -> usize {
        for i in 0..R {
            for j in 0..C {
                self[(i, j)] = E::from_f64(f(first + i * C + j));
            }
        }
        first + R * C
    }
}

impl<X: FillRowMajor, const N: usize> FillRowMajor for [X; N] {
    fn fill_from(&mut self, mut first: usize, f: &mut dyn FnMut(usize) -> f64) -> usize {
        for x in self {
            first = x.fill_from(first, f);
        }
        first
    }
}

/// Deterministic values in `[-2, 2)` by row-major index and seed (the same
/// formula as the benchmarks' `fill`, over the flat index).
pub fn pattern(seed: usize) -> impl FnMut(usize) -> f64 {
    move |k| (((k * 31 + (k / 97) * 17 + seed * 7) % 97) as f64) / 24.25 - 2.0
}
