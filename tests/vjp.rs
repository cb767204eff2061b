//! `#[param_graph(vjp)]` beyond the golden cases: the signature forms
//! (one leaf, a tuple, `vjp(a)`, a tuple result, `_into`, `_with`), a leaf
//! that no result reads, the one deliberate deviation from torch
//! (`reduce_lse` of an all `-inf` row), `f32`, and the plan.

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    /// A sum layer's normalized log-weights and a reparameterized scale.
    #[param_graph(vjp)]
    fn layer(theta: &SMatrix<f64, 2, 3>, s: &SVector<f64, 3>) -> (SMatrix<f64, 2, 3>, SVector<f64, 3>) {
        (log_softmax(theta, axis = 1), softplus(s))
    }

    /// Only `theta` differentiated: `s` is a constant of the VJP.
    #[param_graph(vjp(theta))]
    fn layer_theta(theta: &SMatrix<f64, 2, 3>, s: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> {
        hadamard(softmax(theta, axis = 1), exp(s))
    }

    /// `unused` reaches no result: its gradient is zero.
    #[param_graph(vjp)]
    fn ignores(x: &SVector<f64, 3>, unused: f64) -> SVector<f64, 3> {
        exp(x)
    }

    /// Masked rows: an all `-inf` row of a log-sum-exp.
    #[param_graph(vjp)]
    fn masked(x: &SMatrix<f64, 2, 3>) -> SVector<f64, 2> {
        reduce_lse(x, axis = 1)
    }

    #[param_graph(vjp)]
    fn log_weights_f32(theta: &SMatrix<f32, 16, 32>) -> SMatrix<f32, 16, 32> {
        log(softmax(theta, axis = 1))
    }

    #[param_graph(vjp)]
    fn log_weights_f64(theta: &SMatrix<f64, 16, 32>) -> SMatrix<f64, 16, 32> {
        log(softmax(theta, axis = 1))
    }
}

fn theta() -> SMatrix<f64, 2, 3> {
    SMatrix::<f64, 2, 3>::new(0.5, -1.0, 2.0, 0.0, 0.25, -0.75)
}

#[test]
fn tuple_results_take_a_tuple_of_cotangents_and_return_every_leaf() {
    let (t, s) = (theta(), SVector::<f64, 3>::new(-1.0, 0.0, 30.0));
    let ct = (
        SMatrix::<f64, 2, 3>::repeat(1.0),
        SVector::<f64, 3>::new(1.0, 2.0, 3.0),
    );
    let (dt, ds) = layer_vjp(&t, &s, (&ct.0, &ct.1));
    // log-softmax with all-ones cotangent: ḡ − softmax·Σḡ = 1 − 3·softmax.
    let sm = |i: usize, j: usize| {
        let row: f64 = (0..3).map(|k| t[(i, k)].exp()).sum();
        t[(i, j)].exp() / row
    };
    for i in 0..2 {
        for j in 0..3 {
            assert!((dt[(i, j)] - (1.0 - 3.0 * sm(i, j))).abs() < 1e-15);
        }
    }
    // softplus' = sigmoid, and slope 1 above the threshold 20.
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    assert!((ds[0] - sigmoid(-1.0)).abs() < 1e-15);
    assert!((ds[1] - 2.0 * 0.5).abs() < 1e-15);
    assert_eq!(ds[2], 3.0);
    // `_into` and `_with` overwrite the caller's storage with the same values.
    let mut into = (
        SMatrix::<f64, 2, 3>::repeat(7.0),
        SVector::<f64, 3>::repeat(7.0),
    );
    layer_vjp_into(&t, &s, (&ct.0, &ct.1), (&mut into.0, &mut into.1));
    assert_eq!((into.0, into.1), (dt, ds));
    let mut with = (
        SMatrix::<f64, 2, 3>::repeat(7.0),
        SVector::<f64, 3>::repeat(7.0),
    );
    let mut ws = LayerVjpWorkspace::new();
    layer_vjp_with(&t, &s, (&ct.0, &ct.1), &mut ws, (&mut with.0, &mut with.1));
    assert_eq!((with.0, with.1), (dt, ds));
}

#[test]
fn vjp_of_some_leaves_returns_only_theirs() {
    let (t, s) = (
        theta(),
        SMatrix::<f64, 2, 3>::from_fn(|i, j| 0.1 * (i + j) as f64),
    );
    let ct = SMatrix::<f64, 2, 3>::repeat(1.0);
    // One differentiated leaf: its gradient itself, not a tuple:
    // θ̄ = y ⊙ (e − Σ e ⊙ y) per row, y = softmax(θ), e = exp(s).
    let dt: SMatrix<f64, 2, 3> = layer_theta_vjp(&t, &s, &ct);
    for i in 0..2 {
        let total: f64 = (0..3).map(|k| t[(i, k)].exp()).sum();
        let y: Vec<f64> = (0..3).map(|k| t[(i, k)].exp() / total).collect();
        let dot: f64 = (0..3).map(|k| s[(i, k)].exp() * y[k]).sum();
        for j in 0..3 {
            let want = y[j] * (s[(i, j)].exp() - dot);
            assert!(
                (dt[(i, j)] - want).abs() < 1e-15,
                "{} vs {want}",
                dt[(i, j)]
            );
        }
    }
    // The plan's VJP reads `s` forward only (no backward node for it).
    assert!(
        !LAYER_THETA_VJP_PLAN.contains("exp_vjp"),
        "{LAYER_THETA_VJP_PLAN}"
    );
}

#[test]
fn a_leaf_no_result_reads_has_a_zero_gradient() {
    let x = SVector::<f64, 3>::new(0.0, 1.0, -1.0);
    let ct = SVector::<f64, 3>::new(1.0, 1.0, 2.0);
    let (dx, dunused) = ignores_vjp(&x, 5.0, &ct);
    // The runtime's `exp` is within 1 ulp of libm's.
    let want = x.map(f64::exp).component_mul(&ct);
    assert!(
        (dx - want).amax() <= 4.0 * f64::EPSILON * want.amax(),
        "{dx} vs {want}"
    );
    assert_eq!(dunused, 0.0);
}

#[test]
fn an_all_negative_infinite_row_of_reduce_lse_gets_zero_not_nan() {
    // The documented deviation from torch (NaN there, pytorch #31829).
    let ninf = f64::NEG_INFINITY;
    let x = SMatrix::<f64, 2, 3>::new(ninf, ninf, ninf, 0.0, ninf, 1.0);
    let dx = masked_vjp(&x, &SVector::<f64, 2>::new(1.0, 2.0));
    assert_eq!(
        dx.row(0).iter().copied().collect::<Vec<_>>(),
        [0.0, 0.0, 0.0]
    );
    let z = 1.0 + 1f64.exp();
    assert!((dx[(1, 0)] - 2.0 / z).abs() < 1e-15);
    assert_eq!(dx[(1, 1)], 0.0);
    assert!((dx[(1, 2)] - 2.0 * 1f64.exp() / z).abs() < 1e-15);
}

#[test]
fn f32_vjps_agree_with_f64_within_f32_precision() {
    let t64 = SMatrix::<f64, 16, 32>::from_fn(|i, j| ((i * 32 + j) % 13) as f64 * 0.7 - 4.0);
    let c64 = SMatrix::<f64, 16, 32>::from_fn(|i, j| ((i + 3 * j) % 7) as f64 * 0.3 - 1.0);
    let want = log_weights_f64_vjp(&t64, &c64);
    let got = log_weights_f32_vjp(&t64.cast::<f32>(), &c64.cast::<f32>());
    // Each element is ḡ − softmax·Σḡ, Σ|ḡ| ≤ 32: a few f32 ulps of that.
    for (g, w) in got.iter().zip(want.iter()) {
        assert!(
            (f64::from(*g) - w).abs() <= 32.0 * 4.0 * f64::from(f32::EPSILON),
            "{g} vs {w}"
        );
    }
}

#[test]
fn the_plan_shows_the_backward_nodes_and_the_vjps_memory() {
    // `NAME_PLAN` ends with the VJP's plan, which `NAME_VJP_PLAN` holds alone.
    assert!(LAYER_PLAN.contains("\n\nvjp:\n"), "{LAYER_PLAN}");
    assert!(LAYER_PLAN.ends_with(LAYER_VJP_PLAN), "{LAYER_PLAN}");
    for part in [
        "log_softmax_vjp",
        "softplus_vjp",
        "cotangent part 0",
        "stack buffers: ",
    ] {
        assert!(LAYER_VJP_PLAN.contains(part), "{part}: {LAYER_VJP_PLAN}");
    }
}

param_graph! {
    /// `vjp(b, a)`: the gradients in the order listed.
    #[param_graph(vjp(b, a))]
    fn listed(a: &SVector<f64, 2>, b: &SVector<f64, 2>) -> SVector<f64, 2> {
        hadamard(a, square(b))
    }
}

#[test]
fn vjp_of_listed_leaves_returns_them_in_the_order_listed() {
    let (a, b) = (
        SVector::<f64, 2>::new(1.0, 2.0),
        SVector::<f64, 2>::new(3.0, -1.0),
    );
    let ct = SVector::<f64, 2>::repeat(1.0);
    let (db, da) = listed_vjp(&a, &b, &ct);
    assert_eq!(da, b.component_mul(&b));
    assert_eq!(db, 2.0 * a.component_mul(&b));
}
