// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f<T>(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }

    fn g<const N: u32>(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }
}

fn main() {}
