// `f_with` is generated for `f`: no fn of the block may take that name.
#![allow(unused_imports)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> { exp(x) }
    fn f_with(x: &SVector<f64, 3>) -> SVector<f64, 3> { log(x) }
}

fn main() {}
