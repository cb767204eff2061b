//! Training: Adam on the mean negative log-likelihood, the gradient from the
//! circuit's backward pass (cotangents of the weights) and the parameter
//! graph's VJP (to the raw parameters). Every buffer is made in
//! [`Trainer::new`]: a step allocates nothing.

use super::adam::Adam;
use super::circuit::{Circuit, BATCH};
use super::data::Image;
use super::region_graph::RegionGraph;
use super::weights::{EmStep, Parameterization, Softmaxes, Tensors};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// The model and everything a training step needs.
pub struct Trainer<const K: usize> {
    /// The raw parameters.
    pub raw: Tensors<K>,
    weights: Tensors<K>,
    cotangent: Tensors<K>,
    grads: Tensors<K>,
    circuit: Circuit<K>,
    adam: Adam<K>,
    rng: SmallRng,
    order: Vec<usize>,
    batch: Vec<Image>,
}

impl<const K: usize> Trainer<K>
where
    Softmaxes: Parameterization<K>,
{
    /// Every raw parameter drawn from N(0, 1) (cirkit's `initialization='normal'`)
    /// with `seed`; Adam with learning rate `lr`; `train` images to shuffle.
    pub fn new(seed: u64, lr: f64, train: usize) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut raw = Tensors::zeros();
        for slice in raw.slices_mut() {
            for x in slice.iter_mut() {
                *x = StandardNormal.sample(&mut rng);
            }
        }
        Trainer {
            raw,
            weights: Tensors::zeros(),
            cotangent: Tensors::zeros(),
            grads: Tensors::zeros(),
            circuit: Circuit::new(&RegionGraph::quad_graph(8, 8)),
            adam: Adam::new(lr),
            rng,
            order: (0..train).collect(),
            batch: Vec::with_capacity(BATCH),
        }
    }

    /// The number of learnable parameters.
    pub fn parameters(&self) -> usize {
        self.raw.len()
    }

    /// The gradient of the mean negative log-likelihood of `batch` with
    /// respect to the raw parameters, into `self.grads`; returns the mean
    /// negative log-likelihood.
    pub fn gradient(&mut self, batch: &[Image]) -> f64 {
        let nll = self.backward(batch);
        Softmaxes::vjp(&self.raw, &self.cotangent, &mut self.grads);
        nll
    }

    /// The weights from the raw parameters, the circuit's forward pass on
    /// `batch`, and its backward pass: the cotangent of the weights into
    /// `self.cotangent` (what Adam's gradient and EM's flows both start
    /// from); returns the mean negative log-likelihood.
    fn backward(&mut self, batch: &[Image]) -> f64 {
        Softmaxes::weights(&self.raw, &mut self.weights);
        let log_p = self.circuit.forward(&self.weights, batch);
        let nll = -log_p.iter().sum::<f64>() / batch.len() as f64;
        self.circuit
            .backward(&self.weights, batch, &mut self.cotangent);
        nll
    }

    /// The gradient last computed by [`Trainer::gradient`] (read by the
    /// finite-difference test).
    #[allow(dead_code)]
    pub fn grads(&self) -> &Tensors<K> {
        &self.grads
    }

    /// One Adam step on `batch`; returns its mean negative log-likelihood
    /// before the step.
    pub fn step(&mut self, batch: &[Image]) -> f64 {
        let nll = self.gradient(batch);
        self.adam.update(&mut self.raw, &self.grads);
        nll
    }

    /// One epoch over `train` in a fresh random order, batches of
    /// [`BATCH`], one Adam step each; returns the mean negative
    /// log-likelihood per image of the batches as they were seen (before
    /// their steps).
    pub fn epoch(&mut self, train: &[Image]) -> f64 {
        self.over_batches(train, |t, batch| t.step(batch))
    }

    /// One epoch of mini-batch EM over `train` in a fresh random order:
    /// per batch the flows from the circuit's backward pass (E-step) and
    /// the M-step graph with step size `eta` and pseudocount `alpha`;
    /// returns the mean negative log-likelihood of the batches as seen.
    pub fn em_epoch(&mut self, train: &[Image], eta: f64, alpha: f64) -> f64 {
        self.over_batches(train, |t, batch| t.em_step(batch, eta, alpha))
    }

    /// `step` on every batch of [`BATCH`] of `train` in a fresh random
    /// order (the buffers reused: no allocation); the mean of what it
    /// returns per image.
    fn over_batches(
        &mut self,
        train: &[Image],
        mut step: impl FnMut(&mut Self, &[Image]) -> f64,
    ) -> f64 {
        let mut order = std::mem::take(&mut self.order);
        order.shuffle(&mut self.rng);
        let mut total = 0.0;
        for chunk in order.chunks(BATCH) {
            let mut batch = std::mem::take(&mut self.batch);
            batch.clear();
            batch.extend(chunk.iter().map(|&i| train[i]));
            total += step(self, &batch) * batch.len() as f64;
            self.batch = batch;
        }
        self.order = order;
        total / train.len() as f64
    }

    /// One EM step on `batch`; returns its mean negative log-likelihood
    /// before the step.
    pub fn em_step(&mut self, batch: &[Image], eta: f64, alpha: f64) -> f64 {
        let nll = self.backward(batch);
        let step = EmStep {
            keep: 1.0 - eta,
            eta,
            alpha,
            scale: -(batch.len() as f64),
        };
        Softmaxes::m_step(&self.weights, &self.cotangent, step, &mut self.raw);
        nll
    }

    /// The mean log-likelihood (nats per image) of `images`.
    pub fn log_likelihood(&mut self, images: &[Image]) -> f64 {
        Softmaxes::weights(&self.raw, &mut self.weights);
        let mut total = 0.0;
        for chunk in images.chunks(BATCH) {
            total += self
                .circuit
                .forward(&self.weights, chunk)
                .iter()
                .sum::<f64>();
        }
        total / images.len() as f64
    }
}
