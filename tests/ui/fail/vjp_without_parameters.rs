// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    #[param_graph(vjp)]
    fn f() -> SVector<f64, 3> {
        constant(1.0, shape = [3])
    }
}

fn main() {}
