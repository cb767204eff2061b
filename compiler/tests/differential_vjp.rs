//! Differential property tests of the derivatives, on the optimizer's random
//! graphs (`testing::random_program`, the rules' patterns planted among the
//! ops), all evaluated by the IR interpreter (its backward ops are written
//! out independently of the generated kernels, `testing/eval_vjp.rs`):
//!
//! - the VJP of the graph as written matches central finite differences of
//!   `L = Σ result ⊙ cotangent` along a random direction: relative 1e-6 of
//!   the directional derivative's scale (`Σ |∂L/∂xᵢ · vᵢ|`, so cancellation
//!   in the sum does not inflate the error), at points where the function is
//!   smooth — the estimate at step `h` and at `h/2` agree to 1e-7 of that
//!   scale (a kink of `clamp`, `softplus`'s threshold or a pole of `log`
//!   within `h` makes them disagree, and the point is skipped);
//! - the VJPs of the optimized graph and of the graph as written agree within
//!   relative 1e-8 (absolute 1e-10) wherever both are finite.

use param_graph_compiler::testing::{self, eval, graph, optimize, sample_inputs, vjp, Tensor};
use proptest::prelude::*;

fn random_program(seed: u64) -> String {
    let leaves: &[&[usize]] = &[&[3, 4], &[2, 3, 4], &[4], &[2, 2, 3]];
    testing::random_program(seed, leaves, 2, usize::MAX).source("f", " ")
}

/// Deterministic values in `[-1, 1)` of `shape`.
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = testing::Rng(seed);
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        .collect();
    Tensor {
        shape: shape.to_vec(),
        data,
    }
}

/// `Σ result ⊙ cotangent` of `graph` at `inputs`.
fn loss(graph: &testing::Graph, inputs: &[Tensor], cotangents: &[Tensor]) -> f64 {
    eval(graph, inputs)
        .iter()
        .zip(cotangents)
        .map(|(y, c)| y.data.iter().zip(&c.data).map(|(a, b)| a * b).sum::<f64>())
        .sum()
}

/// `inputs + t·direction`.
fn step(inputs: &[Tensor], direction: &[Tensor], t: f64) -> Vec<Tensor> {
    inputs
        .iter()
        .zip(direction)
        .map(|(x, v)| Tensor {
            shape: x.shape.clone(),
            data: x.data.iter().zip(&v.data).map(|(a, b)| a + t * b).collect(),
        })
        .collect()
}

/// The cotangents of every leaf of `graph` at `inputs` for `cotangents`,
/// by the interpreter's evaluation of the VJP graph.
fn gradients(graph: &testing::Graph, inputs: &[Tensor], cotangents: &[Tensor]) -> Vec<Tensor> {
    let mut all = inputs.to_vec();
    // Parameters no result reads have no sample: the cotangents come after
    // every parameter.
    all.resize(
        graph.sig.params.len(),
        Tensor {
            shape: vec![],
            data: vec![0.0],
        },
    );
    all.extend_from_slice(cotangents);
    eval(&vjp(graph), &all)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn vjps_match_finite_differences(seed in any::<u64>(), input_seed in 0u64..1000) {
        let src = random_program(seed);
        let g = graph(&src);
        let inputs = sample_inputs(&g, input_seed);
        let outputs = eval(&g, &inputs);
        prop_assume!(outputs.iter().all(|y| y.data.iter().all(|v| v.is_finite())));
        let cotangents: Vec<Tensor> = outputs.iter().enumerate().map(|(k, y)| tensor(&y.shape, input_seed * 31 + k as u64)).collect();
        let direction: Vec<Tensor> = inputs.iter().enumerate().map(|(k, x)| tensor(&x.shape, seed ^ (k as u64 + 7))).collect();
        let grads = gradients(&g, &inputs, &cotangents);
        let terms: Vec<f64> = grads.iter().zip(&direction).flat_map(|(gr, v)| gr.data.iter().zip(&v.data).map(|(a, b)| a * b)).collect();
        prop_assume!(terms.iter().all(|t| t.is_finite()));
        let analytic: f64 = terms.iter().sum();
        let scale: f64 = terms.iter().map(|t| t.abs()).sum::<f64>().max(1e-3);
        let fd = |h: f64| (loss(&g, &step(&inputs, &direction, h), &cotangents) - loss(&g, &step(&inputs, &direction, -h), &cotangents)) / (2.0 * h);
        let (coarse, fine) = (fd(2e-5), fd(1e-5));
        // Not smooth within the step: a kink or a pole nearby.
        prop_assume!(coarse.is_finite() && fine.is_finite() && (coarse - fine).abs() <= 1e-7 * scale);
        prop_assert!((analytic - fine).abs() <= 1e-6 * scale, "analytic {} vs finite difference {} (scale {}) in {}", analytic, fine, scale, src);
    }

    #[test]
    fn optimized_and_as_written_vjps_agree(seed in any::<u64>(), input_seed in 0u64..1000) {
        let src = random_program(seed);
        let plain = graph(&src);
        let mut fast = plain.clone();
        optimize(&mut fast);
        let inputs = sample_inputs(&plain, input_seed);
        let cotangents: Vec<Tensor> = eval(&plain, &inputs).iter().enumerate().map(|(k, y)| tensor(&y.shape, input_seed + k as u64)).collect();
        let want = gradients(&plain, &inputs, &cotangents);
        let got = gradients(&fast, &inputs, &cotangents);
        for (w, gr) in want.iter().zip(&got) {
            prop_assert_eq!(&w.shape, &gr.shape);
            for (x, y) in w.data.iter().zip(&gr.data) {
                if x.is_finite() && y.is_finite() {
                    let diff = (x - y).abs();
                    prop_assert!(diff <= 1e-8 * x.abs() || diff <= 1e-10, "{} vs {} in {}", x, y, src);
                }
            }
        }
    }
}
