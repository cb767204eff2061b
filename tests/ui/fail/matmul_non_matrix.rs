// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(a: &SMatrix<f64, 2, 3>, v: &SVector<f64, 3>) -> SVector<f64, 2> {
        matmul(a, v)
    }
}

fn main() {}
