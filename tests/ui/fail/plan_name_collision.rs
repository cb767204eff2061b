// `f` and `F` would both generate the constant `F_PLAN`.
#![allow(unused_imports, non_snake_case)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> { exp(x) }
    fn F(x: &SVector<f64, 3>) -> SVector<f64, 3> { log(x) }
}

fn main() {}
