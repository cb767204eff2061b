// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(a: &SMatrix<f64, 2, 2>) -> [param_graph::runtime::Kron<f64, 2, 2, 2, 2>; 2] {
        kron(a, a)
    }
}

fn main() {}
