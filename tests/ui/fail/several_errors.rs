// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

param_graph! {
    // Errors of the signature and the body of one fn, all reported.
    fn parsing(x: &SMatrix<f64, 3, 4>, y: &SVector<i32, 3>) -> &SMatrix<f64, 3, 4> {
        let p: SMatrix<f64, 3, 4> = softmax(x);
        log(p) - x
    }

    // Every independent name, op and attribute error of one graph.
    fn lowering(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        let a = sofmax(x, dim = 0);
        let b = clamp(x);
        let c = exp(z);
        x
    }

    // Every independent shape error of one graph.
    fn shapes(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 4, 3> {
        let a = softmax(x, axis = 2);
        let b = matmul(x, x);
        let c = index(x, [0, 7], axis = 0);
        exp(x)
    }

    fn fine(x: &SVector<f64, 3>) -> SVector<f64, 3> {
        exp(x)
    }
}

fn main() {}
