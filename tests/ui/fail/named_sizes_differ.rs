// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

const K: usize = 4;
const M: usize = 5;

param_graph! {
    fn f(a: &SMatrix<f64, K, 3>, b: &SMatrix<f64, M, 3>) -> SMatrix<f64, K, 3> {
        hadamard(a, b)
    }
}

fn main() {}
