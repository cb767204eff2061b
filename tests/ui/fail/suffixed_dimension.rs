// A dimension is a `usize` literal.
#![allow(unused_imports)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn f(x: &SVector<f64, 3u8>) -> SVector<f64, 3> { exp(x) }
}

fn main() {}
