//! A complete small circuit over four binary variables whose parameters all
//! come from a `param_graph!` function (see `circuit.rs` for its structure):
//! log-likelihoods of a small data set, a marginal, and a check by
//! enumeration that the distribution sums to 1.
//!
//! ```sh
//! cargo run --release --example tiny_circuit
//! ```

mod circuit;

use circuit::{
    all_assignments, log_sum_exp, Circuit, RawParams, CIRCUIT_PARAMS_PLAN, EXAMPLE_SEED,
};

pub fn main() {
    println!("== Plan of circuit_params (every parameter of the circuit) ==\n");
    println!("{CIRCUIT_PARAMS_PLAN}\n");

    let circuit = Circuit::new(&RawParams::from_seed(EXAMPLE_SEED));

    println!("== Log-likelihoods ==\n");
    let data = [
        [0, 1, 1, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 1],
        [1, 0, 1, 1],
        [0, 1, 1, 1],
    ];
    let lls: Vec<f64> = data.iter().map(|x| circuit.log_likelihood(x)).collect();
    for (x, ll) in data.iter().zip(&lls) {
        println!("x = {x:?}: log p(x) = {ll:.6}");
    }
    println!(
        "mean log-likelihood of the {} samples: {:.6}\n",
        data.len(),
        lls.iter().sum::<f64>() / lls.len() as f64
    );

    println!("== A marginal ==\n");
    let query = [Some(1), None, Some(0), None];
    let marginal = circuit.log_marginal(&query);
    let summed = log_sum_exp(
        all_assignments()
            .filter(|x| x[0] == 1 && x[2] == 0)
            .map(|x| circuit.log_likelihood(&x)),
    );
    println!(
        "p(X0 = 1, X2 = 0) = {:.12}  (integrating the input layers of X1, X3)",
        marginal.exp()
    );
    println!("Σ over X1, X3 of p(1, X1, 0, X3) = {:.12}", summed.exp());
    assert!(
        (marginal - summed).abs() < 1e-12,
        "marginal disagrees with the sum"
    );

    println!("\n== The whole distribution ==\n");
    let total: f64 = all_assignments()
        .map(|x| circuit.log_likelihood(&x).exp())
        .sum();
    let log_z = circuit.log_marginal(&[None; 4]);
    println!(
        "Σ_x p(x) over all 16 assignments = {total:.15}  (|Σ − 1| = {:.1e})",
        (total - 1.0).abs()
    );
    println!("log Z, every variable marginalized = {log_z:e}");
    assert!(
        (total - 1.0).abs() <= 1e-12,
        "the distribution sums to {total}"
    );
    assert!(log_z.abs() <= 1e-12);
    println!("\nall checks passed");
}
