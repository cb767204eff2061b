// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    const fn c(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }

    async fn a(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }

    unsafe fn u(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }
}

fn main() {}
