//! The f32 graphs whose reductions now call the runtime's f64-accumulating
//! kernels (row kernels, contraction tiles) and the Gaussian products'
//! scaled forms allocate nothing: each call runs under a counting global
//! allocator (inputs and outputs are allocated before counting starts).

mod support;

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use support::counting::{count_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

param_graph! {
    fn rows32(x: &SMatrix<f32, 40, 70>)
        -> (SMatrix<f32, 40, 70>, SMatrix<f32, 40, 70>, SVector<f32, 40>, SVector<f32, 70>) {
        let p = softmax(x, axis = 1);
        (log(p), log_softmax(x, axis = 0), reduce_lse(x, axis = 1), reduce_sum(x, axis = 0))
    }
    fn contract32(a: &SMatrix<f32, 3, 300>, b: &SMatrix<f32, 2, 300>, c: &SMatrix<f32, 300, 5>)
        -> (SVector<f32, 6>, SMatrix<f32, 3, 5>, SVector<f32, 3>) {
        (
            reduce_sum(outer_product(a, b, axis = 0), axis = 1),
            matmul(a, c),
            reduce_sum(outer_product(a, a, axis = 1), axis = 1),
        )
    }
    fn gauss32(m1: &SVector<f32, 3>, s1: &SVector<f32, 3>, m2: &SVector<f32, 4>, s2: &SVector<f32, 4>)
        -> (SVector<f32, 12>, SVector<f32, 12>, SVector<f32, 12>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }
}

#[test]
fn f32_reductions_and_gaussian_products_allocate_nothing() {
    let x = Box::new(SMatrix::<f32, 40, 70>::from_fn(|i, j| {
        (i * 7 + j) as f32 * 0.01
    }));
    let mut out = Box::new((
        SMatrix::<f32, 40, 70>::zeros(),
        SMatrix::<f32, 40, 70>::zeros(),
        SVector::<f32, 40>::zeros(),
        SVector::<f32, 70>::zeros(),
    ));
    let ((), n) =
        count_allocations(|| rows32_into(&x, (&mut out.0, &mut out.1, &mut out.2, &mut out.3)));
    assert_eq!(n, 0, "row kernels allocated");
    let a = Box::new(SMatrix::<f32, 3, 300>::from_fn(|i, j| (i + j) as f32 * 0.1));
    let b = Box::new(SMatrix::<f32, 2, 300>::from_fn(|i, j| {
        (i * j) as f32 * 0.01
    }));
    let c = Box::new(SMatrix::<f32, 300, 5>::from_fn(|i, j| {
        (i + 2 * j) as f32 * 0.02
    }));
    let mut o = (
        SVector::<f32, 6>::zeros(),
        SMatrix::<f32, 3, 5>::zeros(),
        SVector::<f32, 3>::zeros(),
    );
    let ((), n) = count_allocations(|| contract32_into(&a, &b, &c, (&mut o.0, &mut o.1, &mut o.2)));
    assert_eq!(n, 0, "contractions allocated");
    let (m1, s1) = (
        SVector::<f32, 3>::new(1.0, -2.0, 3e30),
        SVector::<f32, 3>::new(1e-3, 2e19, 3e38),
    );
    let (m2, s2) = (
        SVector::<f32, 4>::repeat(0.5),
        SVector::<f32, 4>::new(1e-30, 1.0, 2e19, 1e-3),
    );
    let mut g = (
        SVector::<f32, 12>::zeros(),
        SVector::<f32, 12>::zeros(),
        SVector::<f32, 12>::zeros(),
    );
    let ((), n) =
        count_allocations(|| gauss32_into(&m1, &s1, &m2, &s2, (&mut g.0, &mut g.1, &mut g.2)));
    assert_eq!(n, 0, "Gaussian products allocated");
    assert!(g.1.iter().all(|v| v.is_finite() && *v > 0.0), "{}", g.1);
}
