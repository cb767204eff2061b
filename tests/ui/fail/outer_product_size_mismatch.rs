// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 4, 5>) -> SMatrix<f64, 2, 15> {
        outer_product(a, b, axis = 1)
    }
}

fn main() {}
