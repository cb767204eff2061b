// The macro emits only `compile_error!`s on failure, so the imports go unused.
#![allow(unused_imports)]

use param_graph::param_graph;
use param_graph::nalgebra::{SMatrix, SVector};

mod sizes {
    pub const UNITS: usize = 5;
}

param_graph! {
    // A path in a type argument is braced, as Rust requires.
    fn f(x: &SVector<f64, { sizes::UNITS }>) -> SVector<f64, 4> {
        exp(x)
    }
}

fn main() {}
