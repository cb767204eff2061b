// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    // Only scalars broadcast: a vector and a matrix do not.
    fn f(x: &SMatrix<f64, 2, 3>, v: &SVector<f64, 3>) -> SMatrix<f64, 2, 3> {
        div(x, v)
    }
}

fn main() {}
