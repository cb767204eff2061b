// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    const EMPTY: usize = 4 - 4;
    fn f(x: &[SVector<f64, 3>; EMPTY]) -> SVector<f64, 3> {
        reduce_sum(x, axis = 0)
    }
}

fn main() {}
