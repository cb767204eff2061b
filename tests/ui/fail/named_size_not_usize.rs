// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    const K: u32 = 4;
    fn f(x: &SVector<f64, K>) -> SVector<f64, 4> {
        exp(x)
    }
}

fn main() {}
