//! The `tiny_circuit` example's circuit — the same module, included by path —
//! is a normalized distribution: summed over all 2^4 assignments it gives 1,
//! each marginal is the sum over the marginalized variables' values, and
//! every log-likelihood matches a direct computation in probability space
//! from the raw parameters, without `param_graph!`.

// The example binary uses the rest of the module.
#[allow(dead_code)]
#[path = "../examples/tiny_circuit/circuit.rs"]
mod circuit;

use circuit::{all_assignments, log_sum_exp, Circuit, RawParams, EXAMPLE_SEED, VARS};

/// The example's parameters, then other seeds.
const SEEDS: [u64; 8] = [EXAMPLE_SEED, 0, 1, 2, 3, 42, 1234, u64::MAX];

/// Softmax of a slice, in probability space.
fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// `p(x)` written out as the circuit's polynomial:
/// `Σ_k root[k] Π_r Σ_{i,j} W_r[k, 3i + j] p_{2r}[i](x_{2r}) p_{2r+1}[j](x_{2r+1})`.
fn direct_probability(raw: &RawParams, x: &[usize; VARS]) -> f64 {
    let unit = |f: usize, u: usize| {
        let logits = raw.input_logits[f];
        softmax(&[logits[(u, 0)], logits[(u, 1)]])[x[f]]
    };
    let region = |r: usize, k: usize| {
        let row: Vec<f64> = raw.inner_theta[r].row(k).iter().copied().collect();
        let w = softmax(&row);
        let mut total = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                total += w[i * 3 + j] * unit(2 * r, i) * unit(2 * r + 1, j);
            }
        }
        total
    };
    let root = softmax(raw.root_theta.as_slice());
    (0..3).map(|k| root[k] * region(0, k) * region(1, k)).sum()
}

fn total_probability(circuit: &Circuit) -> f64 {
    all_assignments()
        .map(|x| circuit.log_likelihood(&x).exp())
        .sum()
}

#[test]
fn the_example_distribution_sums_to_one() {
    let circuit = Circuit::new(&RawParams::from_seed(EXAMPLE_SEED));
    assert_eq!(all_assignments().count(), 16);
    let total = total_probability(&circuit);
    assert!((total - 1.0).abs() <= 1e-12, "Σ p = {total}");
}

#[test]
fn every_distribution_sums_to_one() {
    for seed in SEEDS {
        let total = total_probability(&Circuit::new(&RawParams::from_seed(seed)));
        assert!((total - 1.0).abs() <= 1e-12, "seed {seed}: Σ p = {total}");
    }
}

#[test]
fn extreme_logits_stay_normalized() {
    // Logits up to ±300: probabilities far below f64's range, log space
    // keeps every term.
    for seed in SEEDS {
        let mut raw = RawParams::from_seed(seed);
        raw.input_logits.iter_mut().for_each(|m| *m *= 100.0);
        raw.inner_theta.iter_mut().for_each(|m| *m *= 100.0);
        raw.root_theta *= 100.0;
        let circuit = Circuit::new(&raw);
        assert!(all_assignments().all(|x| circuit.log_likelihood(&x).is_finite()));
        let total = total_probability(&circuit);
        assert!((total - 1.0).abs() <= 1e-12, "seed {seed}: Σ p = {total}");
    }
}

#[test]
fn marginals_are_sums_over_the_marginalized_variables() {
    for seed in SEEDS {
        let circuit = Circuit::new(&RawParams::from_seed(seed));
        // Every partial assignment: each variable 0, 1 or marginalized.
        for n in 0..81usize {
            let query: [Option<usize>; VARS] =
                std::array::from_fn(|f| match (n / 3usize.pow(f as u32)) % 3 {
                    2 => None,
                    v => Some(v),
                });
            let summed = log_sum_exp(
                all_assignments()
                    .filter(|x| (0..VARS).all(|f| query[f].is_none_or(|v| v == x[f])))
                    .map(|x| circuit.log_likelihood(&x)),
            );
            let marginal = circuit.log_marginal(&query);
            assert!(
                (marginal - summed).abs() <= 1e-12,
                "seed {seed}, {query:?}: {marginal} vs {summed}"
            );
        }
    }
}

#[test]
fn log_likelihoods_match_a_direct_computation() {
    for seed in SEEDS {
        let raw = RawParams::from_seed(seed);
        let circuit = Circuit::new(&raw);
        for x in all_assignments() {
            let got = circuit.log_likelihood(&x);
            let want = direct_probability(&raw, &x).ln();
            assert!(
                (got - want).abs() <= 1e-12,
                "seed {seed}, x = {x:?}: {got} vs {want}"
            );
        }
    }
}
