// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

/// Zero units: an empty tensor, refused as a literal 0 is.
const UNITS: usize = 0;

param_graph! {
    fn f(x: &SMatrix<f64, UNITS, 3>) -> SMatrix<f64, UNITS, 3> {
        softmax(x, axis = 1)
    }
}

fn main() {}
