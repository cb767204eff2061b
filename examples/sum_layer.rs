//! A dense sum layer evaluated in log space on a batch of inputs.
//!
//! Six categorical input units over one variable `X` with three states feed a
//! sum layer with four output units. Both layers are parameterized as in
//! cirkit: raw logits, normalized by `log_softmax` inside a parameter graph.
//! The layer itself, `log Σ_i w[k, i] · exp(x[b, i])`, runs in log space with
//! log-sum-exp, once inside a graph (`outer_sum` + `reduce_lse`) and once as
//! plain Rust over the graph's log-weights; the two must agree, every output
//! unit must be a distribution over `X`, and inputs far below `log(1)` (as
//! a deep circuit produces) must stay finite where probability space
//! underflows.
//!
//! ```sh
//! cargo run --release --example sum_layer
//! ```

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

param_graph! {
    /// Categorical input units, and the states each takes.
    pub const INPUTS: usize = 6;
    pub const STATES: usize = 3;
    /// Output units of the sum layer.
    pub const OUTPUTS: usize = 4;
    /// Samples in a batch.
    pub const BATCH: usize = 5;

    /// Log-probabilities of the categorical input units over their states.
    pub fn input_log_probs(logits: &SMatrix<f64, INPUTS, STATES>) -> SMatrix<f64, INPUTS, STATES> {
        log_softmax(logits, axis = 1)
    }

    /// Log-weights of a sum layer with `OUTPUTS` units over the `INPUTS`:
    /// every row is a distribution over the inputs.
    pub fn log_weights(theta: &SMatrix<f64, OUTPUTS, INPUTS>) -> SMatrix<f64, OUTPUTS, INPUTS> {
        log_softmax(theta, axis = 1)
    }

    /// The whole layer on a batch (one row of `x` per sample):
    /// `out[b·OUTPUTS + k] = logsumexp_i (log_softmax(theta)[k, i] + x[b, i])`.
    pub fn sum_layer(theta: &SMatrix<f64, OUTPUTS, INPUTS>, x: &SMatrix<f64, BATCH, INPUTS>) -> SVector<f64, { BATCH * OUTPUTS }> {
        let log_w = log_softmax(theta, axis = 1);
        reduce_lse(outer_sum(x, log_w, axis = 0), axis = 1)
    }
}

/// `log Σ exp(v)`, shifted by the maximum (a row of `-inf` gives `-inf`).
fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + values.map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The layer as plain Rust over given log-weights: column `b` of the result
/// holds the `OUTPUTS` output log-values of sample `b`.
fn sum_layer_reference(
    log_w: &SMatrix<f64, OUTPUTS, INPUTS>,
    x: &SMatrix<f64, BATCH, INPUTS>,
) -> SMatrix<f64, OUTPUTS, BATCH> {
    SMatrix::from_fn(|k, b| log_sum_exp((0..INPUTS).map(|i| log_w[(k, i)] + x[(b, i)])))
}

/// The graph's flat output as a 4 × 5 matrix: entry `b·4 + k` is `(k, b)`
/// in column-major storage.
fn by_sample(out: &SVector<f64, { BATCH * OUTPUTS }>) -> SMatrix<f64, OUTPUTS, BATCH> {
    SMatrix::from_column_slice(out.as_slice())
}

pub fn main() {
    let logits =
        SMatrix::<f64, INPUTS, STATES>::from_fn(|i, v| ((i * 5 + v * 3) % 7) as f64 * 0.6 - 1.5);
    let theta =
        SMatrix::<f64, OUTPUTS, INPUTS>::from_fn(|k, i| ((k * 7 + i * 4) % 9) as f64 * 0.4 - 1.6);
    // The batch: observed states of X. The first three cover every state.
    let data = [0usize, 1, 2, 2, 0];

    println!("== Plan of sum_layer (log_softmax weights, log-sum-exp over inputs) ==\n");
    println!("{SUM_LAYER_PLAN}\n");

    // Input layer: row b holds log p_i(X = data[b]) for the 6 input units.
    let input = input_log_probs(&logits);
    let x = SMatrix::<f64, BATCH, INPUTS>::from_fn(|b, i| input[(i, data[b])]);

    let mut out = SVector::<f64, { BATCH * OUTPUTS }>::zeros();
    sum_layer_into(&theta, &x, &mut out);
    let y = by_sample(&out);

    println!("== Batch of {} samples, 4 output units ==\n", data.len());
    for (b, v) in data.iter().enumerate() {
        let row: Vec<String> = y.column(b).iter().map(|l| format!("{l:8.4}")).collect();
        println!("X = {v}: log p_k(X) = [{}]", row.join(", "));
    }
    println!();

    let reference = sum_layer_reference(&log_weights(&theta), &x);
    let diff = (y - reference).abs().max();
    println!(
        "graph vs. plain-Rust log-sum-exp over the graph's log-weights: max |diff| = {diff:e}"
    );
    assert!(diff < 1e-13, "the in-graph layer disagrees: {diff}");

    // Normalized weights over normalized inputs: every output unit is a
    // mixture of categoricals, a distribution over the 3 states of X.
    let worst = (0..4)
        .map(|k| (log_sum_exp((0..3).map(|b| y[(k, b)])).exp() - 1.0).abs())
        .fold(0.0, f64::max);
    println!("each output unit sums to 1 over X = 0, 1, 2: max |Σ p − 1| = {worst:e}");
    assert!(worst < 1e-14, "an output unit is not normalized: {worst}");

    // A deep circuit feeds a sum layer log-likelihoods of many variables,
    // far below log(1). Log space shifts exactly; probability space
    // underflows to 0 and its log to -inf.
    let shift = -800.0;
    let deep = x.add_scalar(shift);
    let y_deep = by_sample(&sum_layer(&theta, &deep));
    let shift_err = (y_deep - y.add_scalar(shift)).abs().max();
    let w = log_weights(&theta).map(f64::exp);
    let prob_space = (w * deep.transpose().map(f64::exp)).map(f64::ln);
    println!(
        "\ninputs shifted by {shift}: log space gives {:.4} = {:.4} + ({shift}) (max error {shift_err:e});",
        y_deep[(0, 0)],
        y[(0, 0)]
    );
    println!(
        "probability space gives log(W · exp(x)) = {} (exp underflows below -745)",
        prob_space[(0, 0)]
    );
    assert!(
        shift_err < 1e-12,
        "log space is not shift-equivariant: {shift_err}"
    );
    assert!(y_deep.iter().all(|v| v.is_finite()));
    assert_eq!(prob_space[(0, 0)], f64::NEG_INFINITY);
    println!("\nall checks passed");
}
