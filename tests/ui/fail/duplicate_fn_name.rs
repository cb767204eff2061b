// Two fns of one block share a name.
#![allow(unused_imports)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> { exp(x) }
    fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> { log(x) }
}

fn main() {}
