// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

const K: usize = 4;

param_graph! {
    fn f(x: &SMatrix<f64, K, 2>) -> SMatrix<f64, 2, 2> {
        index(x, [0, 4], axis = 0)
    }
}

fn main() {}

param_graph! {
    // The axis's own size is one past its last position, for every `N`.
    fn g<const N: usize>(x: &SVector<f64, N>) -> SVector<f64, 1> {
        index(x, [N], axis = 0)
    }
}
