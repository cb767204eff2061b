// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    fn f(m1: &SVector<f64, 3>, s1: &SVector<f64, 2>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>) -> SVector<f64, 6> {
        gaussian_product_mean(m1, s1, m2, s2)
    }
}

fn main() {}
