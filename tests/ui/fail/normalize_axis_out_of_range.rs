// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(x: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> {
        normalize(x, axis = 2)
    }
}

fn main() {}
