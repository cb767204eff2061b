// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    #[param_graph(vjp)]
    fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }

    // `FVjpWorkspace`, `F_VJP_PLAN` again.
    fn f_vjp_(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        log(x)
    }
}

fn main() {}
