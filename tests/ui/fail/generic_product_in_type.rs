// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f<const K: usize>(a: &SVector<f64, K>, b: &SVector<f64, 4>) -> SVector<f64, { K * 4 }> {
        outer_product(a, b, axis = 0)
    }
}

fn main() {}
