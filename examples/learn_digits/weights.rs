//! The circuit's parameters: unconstrained tensors, and the `param_graph!`
//! fns that turn them into what the layers use — every one a softmax, as
//! cirkit's `Parameterization(activation='softmax')` and its categorical
//! inputs — with their VJPs for training.
//!
//! For the 8×8 quad graph and `K` units: 64 categorical inputs over 256
//! values (`(K, 256)` logits each, softmax over the values), 252 dense
//! `K × K` sum layers (two per partition, softmax over each row's inputs),
//! 20 mixing layers `(K, 2)` (softmax over the two partitions, per unit),
//! the root's two dense `1 × K` layers and its `1 × 2` mixing layer:
//! `252 K² + 16426 K + 2` parameters, 327 330 at `K = 16` as cirkit's.
//!
//! The graphs are written once, generic over the units
//! (`fn weights<const K: usize>`), their other sizes named by the constants
//! below: the macro checks the shapes symbolically and rustc instantiates
//! them for each `K`.

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;

/// Categorical inputs (pixels).
pub const INPUTS: usize = 64;
/// Values a categorical input takes (cirkit's image template: 256).
pub const VALUES: usize = 256;
/// Dense `K × K` sum layers: two per partition.
pub const DENSE: usize = 252;
/// Mixing layers: regions below the root with two partitions.
pub const MIXING: usize = 20;
/// The root's partitions: one `1 × K` dense layer each.
pub const ROOT_PARTITIONS: usize = 2;

/// The parameters in one set of tensors, raw (unconstrained) or after
/// their softmaxes (`Weights`), or their gradients.
pub struct Tensors<const K: usize> {
    /// `categorical[v]`: pixel `v`'s `(K, 256)` logits or probabilities.
    pub categorical: Box<[SMatrix<f64, K, VALUES>; INPUTS]>,
    /// `dense[l]`: `K × K`, row `i` the weights of output unit `i`.
    pub dense: Box<[SMatrix<f64, K, K>; DENSE]>,
    /// `mixing[m]`: `(K, 2)`, row `k` unit `k`'s weights of the two
    /// partitions.
    pub mixing: Box<[SMatrix<f64, K, 2>; MIXING]>,
    /// The root's dense layers, `1 × K`.
    pub root_dense: Box<[SMatrix<f64, 1, K>; ROOT_PARTITIONS]>,
    /// The root's mixing weights, `1 × 2`.
    pub root_mixing: Box<SMatrix<f64, 1, 2>>,
}

impl<const K: usize> Tensors<K> {
    /// All zeros, on the heap without a stack copy.
    pub fn zeros() -> Self {
        use param_graph::runtime::zeroed_box;
        Tensors {
            categorical: zeroed_box(),
            dense: zeroed_box(),
            mixing: zeroed_box(),
            root_dense: zeroed_box(),
            root_mixing: zeroed_box(),
        }
    }

    /// Every matrix of every tensor as a slice (column-major), in a fixed
    /// order.
    pub fn slices(&self) -> impl Iterator<Item = &[f64]> {
        (self.categorical.iter().map(|m| m.as_slice()))
            .chain(self.dense.iter().map(|m| m.as_slice()))
            .chain(self.mixing.iter().map(|m| m.as_slice()))
            .chain(self.root_dense.iter().map(|m| m.as_slice()))
            .chain(std::iter::once(self.root_mixing.as_slice()))
    }

    /// Every matrix as a mutable slice, in the order of [`Tensors::slices`].
    pub fn slices_mut(&mut self) -> impl Iterator<Item = &mut [f64]> {
        (self.categorical.iter_mut().map(|m| m.as_mut_slice()))
            .chain(self.dense.iter_mut().map(|m| m.as_mut_slice()))
            .chain(self.mixing.iter_mut().map(|m| m.as_mut_slice()))
            .chain(self.root_dense.iter_mut().map(|m| m.as_mut_slice()))
            .chain(std::iter::once(self.root_mixing.as_mut_slice()))
    }

    /// The number of scalars.
    pub fn len(&self) -> usize {
        self.slices().map(<[f64]>::len).sum()
    }
}

/// The parameter graph of one `K`: the softmaxes and their VJP.
pub trait Parameterization<const K: usize> {
    /// `weights` = the softmaxes of `raw` (`name_into`: no allocation after
    /// the thread's first call).
    fn weights(raw: &Tensors<K>, weights: &mut Tensors<K>);
    /// `grads` = the cotangent `cotangent` of the weights pulled back to the
    /// raw parameters (the generated `name_vjp_into`).
    fn vjp(raw: &Tensors<K>, cotangent: &Tensors<K>, grads: &mut Tensors<K>);
    /// One M-step of mini-batch EM, into `raw`: with the flows
    /// `n = w ⊙ ∂ℓ/∂w = scale·(w ⊙ cotangent)` (the cotangent of the mean
    /// NLL, `scale = −B`), the new weights are
    /// `(1 − η)·w + η·normalize(n + α)` per row, and `raw` their logs (so
    /// that their softmaxes are the new weights).
    fn m_step(weights: &Tensors<K>, cotangent: &Tensors<K>, step: EmStep, raw: &mut Tensors<K>);
}

/// The scalars of an M-step: `keep = 1 − η`, the step size `η`, the
/// pseudocount `α` and the flows' scale.
#[derive(Clone, Copy, Debug)]
pub struct EmStep {
    /// `1 − η`.
    pub keep: f64,
    /// The step size `η` in `(0, 1]`.
    pub eta: f64,
    /// The pseudocount added to every flow.
    pub alpha: f64,
    /// `−B`, turning the mean NLL's cotangent into `∂ℓ/∂w` of the batch's
    /// log-likelihood `ℓ`.
    pub scale: f64,
}

/// The parameterization of every `K`: one `param_graph!` graph generic
/// over the units (`fn weights<const K: usize>`), its sizes named by the
/// constants above; rustc instantiates it for each `K` the example runs.
pub struct Softmaxes;

param_graph! {
    /// The M-step of mini-batch EM for every parameter tensor: the flows
    /// `scale·(w ⊙ ct)`, normalized with a pseudocount, mixed into the old
    /// weights by the step size, as logits.
    #[allow(dead_code, clippy::too_many_arguments)]
    pub fn m_step<const K: usize>(
        categorical: &[SMatrix<f64, K, VALUES>; INPUTS],
        categorical_ct: &[SMatrix<f64, K, VALUES>; INPUTS],
        dense: &[SMatrix<f64, K, K>; DENSE],
        dense_ct: &[SMatrix<f64, K, K>; DENSE],
        mixing: &[SMatrix<f64, K, 2>; MIXING],
        mixing_ct: &[SMatrix<f64, K, 2>; MIXING],
        root_dense: &[SMatrix<f64, 1, K>; ROOT_PARTITIONS],
        root_dense_ct: &[SMatrix<f64, 1, K>; ROOT_PARTITIONS],
        root_mixing: &SMatrix<f64, 1, 2>,
        root_mixing_ct: &SMatrix<f64, 1, 2>,
        keep: f64,
        eta: f64,
        alpha: f64,
        scale: f64,
    ) -> (
        [SMatrix<f64, K, VALUES>; INPUTS],
        [SMatrix<f64, K, K>; DENSE],
        [SMatrix<f64, K, 2>; MIXING],
        [SMatrix<f64, 1, K>; ROOT_PARTITIONS],
        SMatrix<f64, 1, 2>,
    ) {
        let c = normalize(add(hadamard(scale, hadamard(categorical, categorical_ct)), alpha), axis = 2);
        let d = normalize(add(hadamard(scale, hadamard(dense, dense_ct)), alpha), axis = 2);
        let m = normalize(add(hadamard(scale, hadamard(mixing, mixing_ct)), alpha), axis = 2);
        let rd = normalize(add(hadamard(scale, hadamard(root_dense, root_dense_ct)), alpha), axis = 2);
        let rm = normalize(add(hadamard(scale, hadamard(root_mixing, root_mixing_ct)), alpha), axis = 1);
        (
            log(add(hadamard(keep, categorical), hadamard(eta, c))),
            log(add(hadamard(keep, dense), hadamard(eta, d))),
            log(add(hadamard(keep, mixing), hadamard(eta, m))),
            log(add(hadamard(keep, root_dense), hadamard(eta, rd))),
            log(add(hadamard(keep, root_mixing), hadamard(eta, rm))),
        )
    }

    /// Every parameter tensor of the circuit from its raw values: the
    /// categorical inputs' probabilities over the values, the dense layers'
    /// row-stochastic weights, the mixing weights over partitions, and the
    /// root's.
    // The example calls `_into` and `_vjp_into`; the by-value forms are
    // unused.
    #[allow(dead_code)]
    #[param_graph(vjp)]
    pub fn weights<const K: usize>(
        categorical: &[SMatrix<f64, K, VALUES>; INPUTS],
        dense: &[SMatrix<f64, K, K>; DENSE],
        mixing: &[SMatrix<f64, K, 2>; MIXING],
        root_dense: &[SMatrix<f64, 1, K>; ROOT_PARTITIONS],
        root_mixing: &SMatrix<f64, 1, 2>,
    ) -> (
        [SMatrix<f64, K, VALUES>; INPUTS],
        [SMatrix<f64, K, K>; DENSE],
        [SMatrix<f64, K, 2>; MIXING],
        [SMatrix<f64, 1, K>; ROOT_PARTITIONS],
        SMatrix<f64, 1, 2>,
    ) {
        (
            softmax(categorical, axis = 2),
            softmax(dense, axis = 2),
            softmax(mixing, axis = 2),
            softmax(root_dense, axis = 2),
            softmax(root_mixing, axis = 1),
        )
    }
}

impl<const K: usize> Parameterization<K> for Softmaxes {
    fn weights(raw: &Tensors<K>, w: &mut Tensors<K>) {
        weights_into(
            &raw.categorical,
            &raw.dense,
            &raw.mixing,
            &raw.root_dense,
            &raw.root_mixing,
            (
                &mut w.categorical,
                &mut w.dense,
                &mut w.mixing,
                &mut w.root_dense,
                &mut w.root_mixing,
            ),
        );
    }

    fn m_step(w: &Tensors<K>, ct: &Tensors<K>, s: EmStep, raw: &mut Tensors<K>) {
        m_step_into(
            &w.categorical,
            &ct.categorical,
            &w.dense,
            &ct.dense,
            &w.mixing,
            &ct.mixing,
            &w.root_dense,
            &ct.root_dense,
            &w.root_mixing,
            &ct.root_mixing,
            s.keep,
            s.eta,
            s.alpha,
            s.scale,
            (
                &mut raw.categorical,
                &mut raw.dense,
                &mut raw.mixing,
                &mut raw.root_dense,
                &mut raw.root_mixing,
            ),
        );
    }

    fn vjp(raw: &Tensors<K>, ct: &Tensors<K>, g: &mut Tensors<K>) {
        weights_vjp_into(
            &raw.categorical,
            &raw.dense,
            &raw.mixing,
            &raw.root_dense,
            &raw.root_mixing,
            (
                &ct.categorical,
                &ct.dense,
                &ct.mixing,
                &ct.root_dense,
                &ct.root_mixing,
            ),
            (
                &mut g.categorical,
                &mut g.dense,
                &mut g.mixing,
                &mut g.root_dense,
                &mut g.root_mixing,
            ),
        );
    }
}
