//! A complete small probabilistic circuit over four binary variables, with
//! every parameter computed by a `param_graph!` function and every layer
//! evaluated in log space.
//!
//! ```text
//!                  root sum layer: 1 unit over 3
//!                               |
//!                 Hadamard product layer: 3 units
//!                 /                             \
//!      sum layer: 3 units over 9       sum layer: 3 units over 9
//!                |                                |
//!   Kronecker product layer: 9       Kronecker product layer: 9
//!        /              \                 /              \
//!   input X0         input X1        input X2         input X3
//!              (3 categorical units over {0, 1} each)
//! ```
//!
//! The input layers are categorical units parameterized by `log_softmax` of
//! raw logits, the sum layers by `log_softmax` of raw weights (written as
//! `log(softmax(..))`, which the optimizer fuses), so the circuit is
//! normalized for any raw parameters: its distribution sums to 1.
//! Marginalizing a variable replaces its input layer by the units' integrals
//! `log Σ_v p(v)`, which the same graph computes.
//!
//! Shared by `examples/tiny_circuit/main.rs` and `tests/tiny_circuit.rs`.

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;

/// The number of variables, each binary.
pub const VARS: usize = 4;

/// The seed of the raw parameters the example uses.
pub const EXAMPLE_SEED: u64 = 7;

param_graph! {
    /// Every parameter of the circuit from its raw values: the input layers'
    /// log-probabilities `(variable, unit, state)`, the two inner sum layers'
    /// log-weights `(layer, unit, input)`, the root's log-weights, and the
    /// input units' log-integrals `(variable, unit)`.
    pub fn circuit_params(
        input_logits: &[SMatrix<f64, 3, 2>; 4],
        inner_theta: &[SMatrix<f64, 3, 9>; 2],
        root_theta: &SVector<f64, 3>,
    ) -> ([SMatrix<f64, 3, 2>; 4], [SMatrix<f64, 3, 9>; 2], SVector<f64, 3>, [SVector<f64, 3>; 4]) {
        let input = log_softmax(input_logits, axis = 2);
        let inner = log(softmax(inner_theta, axis = 2));
        let root = log(softmax(root_theta));
        (input, inner, root, reduce_lse(input, axis = 2))
    }
}

/// Raw, unnormalized parameters: what a learner would update.
#[derive(Clone, Debug)]
pub struct RawParams {
    /// Logits of the 3 categorical units of each variable's input layer.
    pub input_logits: [SMatrix<f64, 3, 2>; 4],
    /// Unnormalized weights of the sums over `{X0, X1}` and `{X2, X3}`.
    pub inner_theta: [SMatrix<f64, 3, 9>; 2],
    /// Unnormalized weights of the root sum.
    pub root_theta: SVector<f64, 3>,
}

impl RawParams {
    /// Deterministic pseudo-random raw parameters in `[-3, 3)`.
    pub fn from_seed(seed: u64) -> Self {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            6.0 * ((state >> 11) as f64 / (1u64 << 53) as f64) - 3.0
        };
        RawParams {
            input_logits: std::array::from_fn(|_| SMatrix::from_fn(|_, _| next())),
            inner_theta: std::array::from_fn(|_| SMatrix::from_fn(|_, _| next())),
            root_theta: SVector::from_fn(|_, _| next()),
        }
    }
}

/// The circuit with its parameters in log space.
#[derive(Clone, Debug)]
pub struct Circuit {
    input: [SMatrix<f64, 3, 2>; 4],
    inner: [SMatrix<f64, 3, 9>; 2],
    root: SVector<f64, 3>,
    input_integral: [SVector<f64, 3>; 4],
}

/// `log Σ exp(v)`, shifted by the maximum.
pub fn log_sum_exp(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + values.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A sum layer with 3 output units in log space: `log Σ_i w[k, i] exp(x[i])`.
fn sum_layer<const I: usize>(log_w: &SMatrix<f64, 3, I>, x: &SVector<f64, I>) -> SVector<f64, 3> {
    SVector::from_fn(|k, _| log_sum_exp((0..I).map(|i| log_w[(k, i)] + x[i])))
}

impl Circuit {
    /// Computes every parameter from `raw` with [`circuit_params`].
    pub fn new(raw: &RawParams) -> Self {
        let (input, inner, root, input_integral) =
            circuit_params(&raw.input_logits, &raw.inner_theta, &raw.root_theta);
        Circuit {
            input,
            inner,
            root,
            input_integral,
        }
    }

    /// `log p` of a partial assignment: `Some(v)` observes a variable,
    /// `None` marginalizes it out.
    pub fn log_marginal(&self, x: &[Option<usize>; VARS]) -> f64 {
        // Input layers: the units' log-probabilities of the observed state,
        // or their log-integrals over both states.
        let inputs: [SVector<f64, 3>; VARS] = std::array::from_fn(|f| match x[f] {
            Some(v) => self.input[f].column(v).into_owned(),
            None => self.input_integral[f],
        });
        // Kronecker product layers (sums in log space) and their sum layers.
        let regions: [SVector<f64, 3>; 2] = std::array::from_fn(|r| {
            let (left, right) = (&inputs[2 * r], &inputs[2 * r + 1]);
            let product = SVector::<f64, 9>::from_fn(|u, _| left[u / 3] + right[u % 3]);
            sum_layer(&self.inner[r], &product)
        });
        // Hadamard product layer, then the root sum.
        let product = regions[0] + regions[1];
        log_sum_exp((0..3).map(|k| self.root[k] + product[k]))
    }

    /// `log p(x)` of a complete assignment.
    pub fn log_likelihood(&self, x: &[usize; VARS]) -> f64 {
        self.log_marginal(&x.map(Some))
    }
}

/// All `2^4` complete assignments, `X0` the most significant bit.
pub fn all_assignments() -> impl Iterator<Item = [usize; VARS]> {
    (0..1usize << VARS).map(|n| std::array::from_fn(|f| (n >> (VARS - 1 - f)) & 1))
}
