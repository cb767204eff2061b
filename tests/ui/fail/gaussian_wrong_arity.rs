// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>) -> SVector<f64, 9> {
        gaussian_product_log_partition(m1, s1)
    }
}

fn main() {}
