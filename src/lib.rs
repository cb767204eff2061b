#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Generated code names this crate by an absolute path (`::param_graph::...`);
// this alias makes that path work inside the crate itself too.
extern crate self as param_graph;

/// Compiles parameter graphs into plain Rust functions over nalgebra types.
///
/// The language is described in the [crate documentation](crate). Each `fn`
/// inside the block becomes a function with the same signature whose body is
/// straight-line loops over fixed-size stack buffers; every shape is checked
/// while the calling crate compiles.
///
/// ```
/// use param_graph::param_graph;
/// use param_graph::nalgebra::SMatrix;
///
/// param_graph! {
///     /// Row-normalized weights.
///     pub fn weights(theta: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> {
///         softmax(theta, axis = 1)
///     }
/// }
///
/// let w = weights(&SMatrix::<f64, 2, 3>::zeros());
/// assert!((w.row(0).sum() - 1.0).abs() < 1e-15);
/// ```
pub use param_graph_macros::param_graph;

/// nalgebra, re-exported so the types you pass to generated functions are
/// the very ones they were compiled against.
pub use nalgebra;

/// Kernels and storage helpers the generated code calls (through this path).
pub use param_graph_runtime as runtime;
