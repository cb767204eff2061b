//! Row-major copies of the value types a parameter graph takes and returns.
//!
//! Only the *data* is converted here; tensor shapes stay with the caller,
//! because `SVector<f64, N>` (shape `(N,)`) and `SMatrix<f64, N, 1>` (shape
//! `(N, 1)`) are the same Rust type. Their row-major data is the same either
//! way: the elements in index order.
//!
//! This is written independently of `param_graph_runtime::Storage` (which
//! works in nalgebra's column-major storage order) so the tests do not trust
//! the code under test for the layout.

use param_graph::nalgebra::{SMatrix, Scalar};

/// An element type: `f32` or `f64`. Test data is always `f64`; `f32`
/// elements are converted with `as` on the way in and widened on the way out.
pub trait Element: Scalar + Copy {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Element for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Element for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// A fixed-size tensor value convertible to and from row-major `f64` data.
pub trait RowMajor: Sized {
    /// Number of elements.
    const LEN: usize;

    /// Builds a value from exactly `Self::LEN` row-major elements.
    fn from_row_major(data: &[f64]) -> Self;

    /// The elements in row-major order.
    fn to_row_major(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.push_row_major(&mut out);
        out
    }

    /// Appends the elements in row-major order to `out`.
    fn push_row_major(&self, out: &mut Vec<f64>);
}

fn check_len(what: &str, want: usize, data: &[f64]) {
    assert_eq!(
        data.len(),
        want,
        "{what}::from_row_major: expected {want} elements, got {}",
        data.len()
    );
}

macro_rules! scalar_row_major {
    ($($t:ty),*) => {$(
        impl RowMajor for $t {
            const LEN: usize = 1;
            fn from_row_major(data: &[f64]) -> Self {
                check_len(stringify!($t), 1, data);
                <$t as Element>::from_f64(data[0])
            }
            fn push_row_major(&self, out: &mut Vec<f64>) {
                out.push(Element::to_f64(*self));
            }
        }
    )*};
}
scalar_row_major!(f32, f64);

/// Row `i`, column `j` sits at `i * C + j`. An `SVector<T, N>` is an
/// `SMatrix<T, N, 1>`, so its element `i` sits at `i`.
impl<E: Element, const R: usize, const C: usize> RowMajor for SMatrix<E, R, C> {
    const LEN: usize = R * C;
    fn from_row_major(data: &[f64]) -> Self {
        check_len("SMatrix", R * C, data);
        SMatrix::from_fn(|i, j| E::from_f64(data[i * C + j]))
    }
    fn push_row_major(&self, out: &mut Vec<f64>) {
        for i in 0..R {
            for j in 0..C {
                out.push(self[(i, j)].to_f64());
            }
        }
    }
}

/// The first index of an array is the first tensor axis: block `n` of
/// `X::LEN` elements holds `self[n]`.
impl<X: RowMajor, const N: usize> RowMajor for [X; N] {
    const LEN: usize = N * X::LEN;
    fn from_row_major(data: &[f64]) -> Self {
        check_len("[X; N]", N * X::LEN, data);
        std::array::from_fn(|n| X::from_row_major(&data[n * X::LEN..(n + 1) * X::LEN]))
    }
    fn push_row_major(&self, out: &mut Vec<f64>) {
        for x in self {
            x.push_row_major(out);
        }
    }
}
