// `f_g` and `fG` would both generate the workspace type `FGWorkspace`.
#![allow(unused_imports, non_snake_case)]
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    fn f_g(x: &SVector<f64, 3>) -> SVector<f64, 3> { exp(x) }
    fn fG(x: &SVector<f64, 3>) -> SVector<f64, 3> { log(x) }
}

fn main() {}
