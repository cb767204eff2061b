//! Buffer layouts: the order in which a flat buffer stores a tensor's axes.
//!
//! Every intermediate tensor lives in a flat buffer `[T; N]`. Its *layout*
//! lists the tensor axes from the one with the largest stride to the one with
//! the smallest. Leaves keep the storage order of their nalgebra type
//! (column-major inside a matrix), so copying them in and out walks memory in
//! order, and each op picks the layout that lets it walk its main buffer in
//! order too.

use crate::dim::Dim;

/// Axes from outermost (largest stride) to innermost (stride 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout(pub Vec<usize>);

impl Layout {
    /// Row-major: axis 0 outermost.
    pub fn row_major(rank: usize) -> Self {
        Layout((0..rank).collect())
    }

    /// Column-major for a matrix, as nalgebra stores it.
    pub fn column_major() -> Self {
        Layout(vec![1, 0])
    }

    /// Stride of each tensor axis (indexed by axis, not by position).
    pub fn strides(&self, shape: &[Dim]) -> Vec<Dim> {
        let mut strides = vec![Dim::ZERO; shape.len()];
        let mut step = Dim::ONE;
        for &axis in self.0.iter().rev() {
            strides[axis] = step;
            step *= shape[axis];
        }
        strides
    }

    /// The layout after removing `axis` (higher axes shift down by one).
    pub fn without(&self, axis: usize) -> Self {
        Layout(
            self.0
                .iter()
                .filter(|a| **a != axis)
                .map(|a| if *a > axis { a - 1 } else { *a })
                .collect(),
        )
    }

    /// The layout of `flatten(start..=end)` when the merged axes are already
    /// adjacent and in order here, so the flattened tensor is the same buffer;
    /// `None` otherwise.
    pub fn merged(&self, start: usize, end: usize) -> Option<Self> {
        let pos = self.0.iter().position(|a| *a == start)?;
        let run = self.0.get(pos..pos + (end - start + 1))?;
        if !run.iter().copied().eq(start..=end) {
            return None;
        }
        let removed = end - start;
        let mut order: Vec<usize> = self.0[..pos].to_vec();
        order.push(start);
        order.extend_from_slice(&self.0[pos + removed + 1..]);
        Some(Layout(
            order
                .into_iter()
                .map(|a| if a > end { a - removed } else { a })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(sizes: &[usize]) -> Vec<Dim> {
        sizes.iter().map(|&n| Dim::known(n)).collect()
    }

    #[test]
    fn strides_follow_the_order() {
        let strides = |l: Layout, s: &[usize]| l.strides(&dims(s));
        assert_eq!(strides(Layout::row_major(3), &[2, 3, 4]), dims(&[12, 4, 1]));
        assert_eq!(strides(Layout::column_major(), &[3, 4]), dims(&[1, 3]));
        assert_eq!(
            strides(Layout(vec![0, 2, 1]), &[2, 3, 4]),
            dims(&[12, 1, 3])
        );
    }

    #[test]
    fn removing_and_merging_axes() {
        assert_eq!(Layout(vec![0, 2, 1]).without(0), Layout(vec![1, 0]));
        assert_eq!(
            Layout(vec![2, 0, 1, 3]).merged(0, 1),
            Some(Layout(vec![1, 0, 2]))
        );
        assert_eq!(Layout(vec![0, 2, 1]).merged(1, 2), None);
        assert_eq!(Layout::row_major(3).merged(0, 2), Some(Layout(vec![0])));
    }
}
