// Shapes whose element count overflows: an error, never a panic.
#![allow(unused_imports)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn k(x: &SVector<f64, 4294967296>) -> SVector<f64, 3> { kron(x, x) }
    fn o(x: &SVector<f64, 2147483648>) -> SVector<f64, 3> { outer_sum(x, x) }
    fn t(x: &[[SVector<f64, 4294967296>; 4294967296]; 2]) -> f64 { reduce_sum(flatten(x)) }
}

fn main() {}
