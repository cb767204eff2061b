// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(a: &SMatrix<f64, 3, 4>, b: &SMatrix<f64, 4, 3>) -> SMatrix<f64, 3, 4> {
        hadamard(a, b)
    }
}

fn main() {}
