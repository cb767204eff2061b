// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(s1: &SVector<f64, 3>, s2: &SMatrix<f64, 2, 2>) -> SVector<f64, 6> {
        gaussian_product_stddev(s1, s2)
    }
}

fn main() {}
