//! The circuit over the quad graph (cirkit's `sum_product_layer='cp'`
//! architecture), evaluated and differentiated on a batch of images.
//!
//! Layers, for `K` units:
//! - each pixel region: a categorical input, `u[k] = p_v[k, x_v]`;
//! - each partition of a region into `(A, B)`: two dense sum layers and a
//!   product, `h = (W_A·u_A) ⊙ (W_B·u_B)` (CP), each `W` `K × K` and
//!   row-stochastic;
//! - a region with one partition is that partition's `h`; one with two is
//!   their mixture per unit, `u[k] = Σ_t w[k, t]·h_t[k]`;
//! - the root's partitions each end with a dense `1 × K` layer, and the
//!   root mixes the two: `p(x) = Σ_t m_t·(w_t · h_t)`.
//!
//! **Log space by scaled values.** Each layer's output for an image is kept
//! as a vector whose largest entry is 1 and a log-scale `s`: the true
//! values are `v·eˢ`. A dense layer is then a plain matrix product (the
//! runtime's GEMM, one call for the batch), a product multiplies vectors
//! and adds scales, and one `ln` per image and layer renormalizes: the
//! log-likelihood without an `exp` and a `log` per unit, and without
//! underflow (a probability of an image is around e⁻¹⁰⁰).
//!
//! **Backward.** For every layer output `u` the pass carries
//! `g = ∂ log p / ∂ log u` (per unit and image: scale-free, like the
//! "flows" of EM). Through a product both factors get `g`; through a dense
//! layer `y = W·x`, `g_x = x ⊙ Wᵀ(g_y ⊘ y)` and `∂ log p/∂W = (g_y ⊘ y)·xᵀ`;
//! through a mixture `g_t[k] = g[k]·w[k, t]·h_t[k] / u[k]`; at a pixel,
//! `∂ log p / ∂ p_v[k, x] = g[k] / p_v[k, x]`. Those are the cotangents of
//! the weights; the parameter graph's VJP turns them into the raw
//! parameters' gradients.

use super::region_graph::RegionGraph;
use super::weights::{Tensors, DENSE, MIXING, ROOT_PARTITIONS, VALUES};
use param_graph::runtime::contract::{gemm_acc_f64, GemmStrides};

/// The largest batch.
pub const BATCH: usize = 256;

/// One partition: the regions it reads and its dense layers.
#[derive(Clone, Copy, Debug)]
struct Partition {
    inputs: [usize; 2],
    dense: [usize; 2],
}

/// A region's layer.
#[derive(Clone, Copy, Debug)]
enum Layer {
    /// A pixel's categorical input.
    Input { pixel: usize },
    /// One partition: the region's values are its product.
    Product { partition: usize },
    /// Two partitions mixed per unit by mixing layer `mixing`.
    Mixing {
        partitions: [usize; 2],
        mixing: usize,
    },
}

/// The circuit's structure and every buffer of a batch, made once.
pub struct Circuit<const K: usize> {
    layers: Vec<Layer>,
    partitions: Vec<Partition>,
    root: [usize; ROOT_PARTITIONS],
    /// Per region: values (`BATCH × K`, row `b` image `b`), scales
    /// (`BATCH`), and `g` (`BATCH × K`).
    values: Vec<Vec<f64>>,
    scales: Vec<Vec<f64>>,
    grads: Vec<Vec<f64>>,
    /// Per partition: the two dense outputs `W·u` and the product (scaled
    /// to a largest entry of 1) with its scale.
    dense_out: Vec<[Vec<f64>; 2]>,
    product: Vec<Vec<f64>>,
    product_scale: Vec<Vec<f64>>,
    /// Per mixing region: the mixture before rescaling, and each
    /// partition's factor `e^{s_t − s*}`.
    mixture: Vec<Vec<f64>>,
    factors: Vec<[Vec<f64>; 2]>,
    /// The root: each partition's `w_t · h_t`, its share `π_t` of `p(x)`,
    /// and the log-likelihoods.
    root_dot: [Vec<f64>; ROOT_PARTITIONS],
    root_share: [Vec<f64>; ROOT_PARTITIONS],
    log_p: Vec<f64>,
    /// Scratch: `g ⊘ y` and its product with `W`; each dense weight
    /// transposed (row-major) for the backward product.
    q: [Vec<f64>; 2],
    q_w: Vec<f64>,
    t: Vec<f64>,
    transposed: Vec<f64>,
    /// `∂ log p / ∂W` of each dense layer, row-major, before transposing
    /// into the cotangent.
    dense_grad: Vec<f64>,
    /// Per pixel region: each image's value, and the values present in the
    /// batch (a dense layer reading a pixel only meets these columns of its
    /// probabilities).
    pixel_values: Vec<Vec<u8>>,
    present: Vec<Vec<u8>>,
    /// Per partition side reading a pixel: `W·P` for the present values
    /// (`(K, 256)`, column `c` at `c·K`; empty for other sides).
    pixel_dense: Vec<[Vec<f64>; 2]>,
    /// Scratch `(K, 256)`: per present value, the sum of `q` over the
    /// images with that value.
    per_value: Vec<f64>,
    /// `−1/B` for a batch of `B`: the loss is `−(1/B)·Σ log p`, so every
    /// cotangent is accumulated with this factor.
    loss_scale: f64,
}

impl<const K: usize> Circuit<K> {
    /// The circuit of `graph` (the 8×8 quad graph: its layer counts must be
    /// the parameter tensors').
    pub fn new(graph: &RegionGraph) -> Self {
        let mut layers = Vec::new();
        let mut partitions = Vec::new();
        let mut mixing = 0;
        let mut root = [0; ROOT_PARTITIONS];
        for (r, region) in graph.regions.iter().enumerate() {
            let mut own = Vec::new();
            for &inputs in &region.partitions {
                let d = 2 * partitions.len();
                partitions.push(Partition {
                    inputs,
                    dense: [d, d + 1],
                });
                own.push(partitions.len() - 1);
            }
            layers.push(match (region.pixel, own.as_slice()) {
                (Some(pixel), _) => Layer::Input { pixel },
                (None, [p]) => Layer::Product { partition: *p },
                (None, [a, b]) if r == graph.root() => {
                    root = [*a, *b];
                    Layer::Mixing {
                        partitions: [*a, *b],
                        mixing: MIXING,
                    }
                }
                (None, [a, b]) => {
                    mixing += 1;
                    Layer::Mixing {
                        partitions: [*a, *b],
                        mixing: mixing - 1,
                    }
                }
                _ => panic!("region {r}: the quad graph has one or two partitions per region"),
            });
        }
        assert_eq!(2 * partitions.len(), DENSE, "dense layers");
        assert_eq!(mixing, MIXING, "mixing layers");
        let buf = |n: usize| vec![0.0; n];
        let n = graph.regions.len();
        let np = partitions.len();
        let pixel_dense = partitions
            .iter()
            .map(|p| {
                p.inputs.map(|r| match graph.regions[r].pixel {
                    Some(_) => buf(K * VALUES),
                    None => Vec::new(),
                })
            })
            .collect();
        Circuit {
            layers,
            partitions,
            root,
            values: (0..n).map(|_| buf(BATCH * K)).collect(),
            scales: (0..n).map(|_| buf(BATCH)).collect(),
            grads: (0..n).map(|_| buf(BATCH * K)).collect(),
            dense_out: (0..np).map(|_| [buf(BATCH * K), buf(BATCH * K)]).collect(),
            product: (0..np).map(|_| buf(BATCH * K)).collect(),
            product_scale: (0..np).map(|_| buf(BATCH)).collect(),
            mixture: (0..n).map(|_| buf(BATCH * K)).collect(),
            factors: (0..n).map(|_| [buf(BATCH), buf(BATCH)]).collect(),
            root_dot: [buf(BATCH), buf(BATCH)],
            root_share: [buf(BATCH), buf(BATCH)],
            log_p: buf(BATCH),
            q: [buf(BATCH * K), buf(BATCH * K)],
            q_w: buf(BATCH * K),
            t: buf(BATCH * K),
            transposed: buf(DENSE * K * K),
            dense_grad: buf(DENSE * K * K),
            loss_scale: 0.0,
            pixel_values: (0..n).map(|_| Vec::with_capacity(BATCH)).collect(),
            present: (0..n).map(|_| Vec::with_capacity(VALUES)).collect(),
            pixel_dense,
            per_value: buf(K * VALUES),
        }
    }

    /// `log p(x)` of each image of `batch` (at most [`BATCH`]) under the
    /// circuit with weights `w`, kept for [`Circuit::backward`].
    pub fn forward(&mut self, w: &Tensors<K>, batch: &[super::data::Image]) -> &[f64] {
        let nb = batch.len();
        assert!(nb <= BATCH);
        for r in 0..self.layers.len() {
            match self.layers[r] {
                Layer::Input { pixel } => {
                    let p = &w.categorical[pixel];
                    let v = &mut self.values[r];
                    let (values, present) = (&mut self.pixel_values[r], &mut self.present[r]);
                    values.clear();
                    present.clear();
                    for (b, image) in batch.iter().enumerate() {
                        let x = image[pixel];
                        let c = usize::from(x);
                        v[b * K..(b + 1) * K].copy_from_slice(&p.as_slice()[c * K..(c + 1) * K]);
                        values.push(x);
                        if !present.contains(&x) {
                            present.push(x);
                        }
                    }
                    self.scales[r][..nb].fill(0.0);
                }
                Layer::Product { partition } => {
                    self.partition_forward(w, partition, nb);
                    let (values, product) = (&mut self.values[r], &self.product[partition]);
                    values[..nb * K].copy_from_slice(&product[..nb * K]);
                    self.scales[r][..nb].copy_from_slice(&self.product_scale[partition][..nb]);
                }
                Layer::Mixing { partitions, mixing } => {
                    for p in partitions {
                        self.partition_forward(w, p, nb);
                    }
                    if mixing < MIXING {
                        self.mix_forward(w, r, partitions, mixing, nb);
                    }
                }
            }
        }
        self.root_forward(w, nb);
        &self.log_p[..nb]
    }

    /// `W_A·u_A ⊙ W_B·u_B` for partition `p`, rescaled.
    fn partition_forward(&mut self, w: &Tensors<K>, p: usize, nb: usize) {
        let Partition { inputs, dense } = self.partitions[p];
        for side in 0..2 {
            if let Layer::Input { pixel } = self.layers[inputs[side]] {
                // A pixel's value is a column of its probabilities `P`:
                // `W·P[:, c]` once per value present, then one per image.
                let (weights, probs) = (&w.dense[dense[side]], &w.categorical[pixel]);
                let wp = &mut self.pixel_dense[p][side];
                for &c in &self.present[inputs[side]] {
                    let c = usize::from(c);
                    let column = &probs.as_slice()[c * K..(c + 1) * K];
                    for i in 0..K {
                        wp[c * K + i] = (0..K).map(|j| weights[(i, j)] * column[j]).sum();
                    }
                }
                let y = &mut self.dense_out[p][side];
                for (b, &x) in self.pixel_values[inputs[side]].iter().enumerate() {
                    let c = usize::from(x);
                    y[b * K..(b + 1) * K].copy_from_slice(&wp[c * K..(c + 1) * K]);
                }
                continue;
            }
            // y[b, i] = Σ_j x[b, j]·W[i, j]: W column-major is Wᵀ row-major.
            gemm_acc_f64(
                nb,
                K,
                K,
                &self.values[inputs[side]],
                w.dense[dense[side]].as_slice(),
                &mut self.dense_out[p][side],
                GemmStrides {
                    a_row: K,
                    a_inner: 1,
                    b_inner: K,
                    out_row: K,
                    overwrite: true,
                },
            );
        }
        let [ya, yb] = &self.dense_out[p];
        let (h, s) = (&mut self.product[p], &mut self.product_scale[p]);
        let (sa, sb) = (&self.scales[inputs[0]], &self.scales[inputs[1]]);
        for b in 0..nb {
            let row = b * K..(b + 1) * K;
            let mut max = 0.0f64;
            for ((h, a), c) in h[row.clone()]
                .iter_mut()
                .zip(&ya[row.clone()])
                .zip(&yb[row.clone()])
            {
                *h = a * c;
                max = max.max(*h);
            }
            s[b] = sa[b] + sb[b] + rescale(&mut h[row], max);
        }
    }

    /// Region `r`'s mixture of its two partitions, rescaled.
    fn mix_forward(&mut self, w: &Tensors<K>, r: usize, parts: [usize; 2], m: usize, nb: usize) {
        let weights = &w.mixing[m];
        let (s0, s1) = (&self.product_scale[parts[0]], &self.product_scale[parts[1]]);
        let (h0, h1) = (&self.product[parts[0]], &self.product[parts[1]]);
        let [f0, f1] = &mut self.factors[r];
        let (mix, v, s) = (
            &mut self.mixture[r],
            &mut self.values[r],
            &mut self.scales[r],
        );
        for b in 0..nb {
            let top = s0[b].max(s1[b]);
            (f0[b], f1[b]) = ((s0[b] - top).exp(), (s1[b] - top).exp());
            let mut max = 0.0f64;
            for k in 0..K {
                let u = weights[(k, 0)] * h0[b * K + k] * f0[b]
                    + weights[(k, 1)] * h1[b * K + k] * f1[b];
                mix[b * K + k] = u;
                v[b * K + k] = u;
                max = max.max(u);
            }
            s[b] = top + rescale(&mut v[b * K..(b + 1) * K], max);
        }
    }

    /// The root: `log Σ_t m_t·(w_t · h_t)·e^{s_t}` per image.
    fn root_forward(&mut self, w: &Tensors<K>, nb: usize) {
        for (t, &p) in self.root.iter().enumerate() {
            let (h, dot) = (&self.product[p], &mut self.root_dot[t]);
            for b in 0..nb {
                dot[b] = (0..K).map(|k| w.root_dense[t][(0, k)] * h[b * K + k]).sum();
            }
        }
        for b in 0..nb {
            let a: [f64; ROOT_PARTITIONS] = std::array::from_fn(|t| {
                w.root_mixing[(0, t)].ln()
                    + self.root_dot[t][b].ln()
                    + self.product_scale[self.root[t]][b]
            });
            let top = a[0].max(a[1]);
            self.log_p[b] = top + ((a[0] - top).exp() + (a[1] - top).exp()).ln();
        }
    }

    /// The cotangents, with respect to the weights `w`, of the mean
    /// negative log-likelihood of the batch last passed to
    /// [`Circuit::forward`], written into `ct` (overwritten).
    pub fn backward(&mut self, w: &Tensors<K>, batch: &[super::data::Image], ct: &mut Tensors<K>) {
        let nb = batch.len();
        self.loss_scale = -1.0 / nb as f64;
        for slice in ct.slices_mut() {
            slice.fill(0.0);
        }
        for g in &mut self.grads {
            g[..nb * K].fill(0.0);
        }
        self.dense_grad.fill(0.0);
        for (l, weights) in w.dense.iter().enumerate() {
            // Row-major W for the products with `g ⊘ y`.
            let t = &mut self.transposed[l * K * K..(l + 1) * K * K];
            for i in 0..K {
                for j in 0..K {
                    t[i * K + j] = weights[(i, j)];
                }
            }
        }
        self.root_backward(w, ct, nb);
        for r in (0..self.layers.len()).rev() {
            match self.layers[r] {
                // Every reader of a pixel is a dense layer, which wrote its
                // cotangent of `P` itself (`pixel_dense_backward`).
                Layer::Input { .. } => {}
                Layer::Product { partition } => {
                    let (g, gh) = (&self.grads[r], &mut self.t);
                    gh[..nb * K].copy_from_slice(&g[..nb * K]);
                    self.partition_backward(w, ct, partition, nb);
                }
                Layer::Mixing { partitions, mixing } => {
                    if mixing < MIXING {
                        for (t, &p) in partitions.iter().enumerate() {
                            self.mix_backward(w, ct, r, mixing, t, p, nb);
                            self.partition_backward(w, ct, p, nb);
                        }
                    } else {
                        for (t, &p) in partitions.iter().enumerate() {
                            self.root_partition_grad(w, ct, t, p, nb);
                            self.partition_backward(w, ct, p, nb);
                        }
                    }
                }
            }
        }
        // ∂ log p/∂W row-major → the (column-major) cotangents.
        let scale = self.loss_scale;
        for (l, grad) in ct.dense.iter_mut().enumerate() {
            let d = &self.dense_grad[l * K * K..(l + 1) * K * K];
            for i in 0..K {
                for j in 0..K {
                    grad[(i, j)] = scale * d[i * K + j];
                }
            }
        }
    }

    /// The root mixture: `g_t = π_t`, the share of partition `t` in
    /// `p(x)`, and `∂ log p / ∂ m_t = π_t / m_t`.
    fn root_backward(&mut self, w: &Tensors<K>, ct: &mut Tensors<K>, nb: usize) {
        for b in 0..nb {
            for t in 0..ROOT_PARTITIONS {
                let a = w.root_mixing[(0, t)].ln()
                    + self.root_dot[t][b].ln()
                    + self.product_scale[self.root[t]][b];
                let share = (a - self.log_p[b]).exp();
                ct.root_mixing[(0, t)] += self.loss_scale * share / w.root_mixing[(0, t)];
                // Kept for the root's dense layer.
                self.root_share[t][b] = share;
            }
        }
    }

    /// Root partition `t` (partition `p`): through its dense `1 × K` layer
    /// `r = w·h`, `g_h[k] = π_t·w[k]·h[k]/r` and `∂ log p/∂w[k] = π_t·h[k]/r`;
    /// `g_h` into the scratch `t`.
    fn root_partition_grad(
        &mut self,
        w: &Tensors<K>,
        ct: &mut Tensors<K>,
        t: usize,
        p: usize,
        nb: usize,
    ) {
        let (h, dot, gh) = (&self.product[p], &self.root_dot[t], &mut self.t);
        for b in 0..nb {
            let share = self.root_share[t][b];
            let per = if dot[b] > 0.0 { share / dot[b] } else { 0.0 };
            for k in 0..K {
                gh[b * K + k] = per * w.root_dense[t][(0, k)] * h[b * K + k];
                ct.root_dense[t][(0, k)] += self.loss_scale * per * h[b * K + k];
            }
        }
    }

    /// Mixing region `r`, partition `t` (`p`): `g_t[k] = g[k]·w[k, t]·h_t[k]·f_t / ũ[k]`
    /// into the scratch `t`, and `∂ log p / ∂w[k, t] = g[k]·h_t[k]·f_t / ũ[k]`.
    #[allow(clippy::too_many_arguments)]
    fn mix_backward(
        &mut self,
        w: &Tensors<K>,
        ct: &mut Tensors<K>,
        r: usize,
        m: usize,
        t: usize,
        p: usize,
        nb: usize,
    ) {
        let (g, mix, h, f) = (
            &self.grads[r],
            &self.mixture[r],
            &self.product[p],
            &self.factors[r][t],
        );
        let gh = &mut self.t;
        for (b, f) in f[..nb].iter().enumerate() {
            for k in 0..K {
                let at = b * K + k;
                let per = if mix[at] > 0.0 {
                    g[at] * h[at] * f / mix[at]
                } else {
                    0.0
                };
                gh[at] = per * w.mixing[m][(k, t)];
                ct.mixing[m][(k, t)] += self.loss_scale * per;
            }
        }
    }

    /// Partition `p` given `g_h` in the scratch `t`: both dense layers get
    /// `g_h` as their outputs' `g`; `q = g_h ⊘ y`, `g_x += x ⊙ (q·W)` into
    /// the input regions, and `∂ log p/∂W += qᵀ·x`.
    fn partition_backward(&mut self, w: &Tensors<K>, ct: &mut Tensors<K>, p: usize, nb: usize) {
        let Partition { inputs, dense } = self.partitions[p];
        // q_A = g/y_A = g·y_B/(y_A·y_B), q_B alike: one division for both.
        // Divide, then select: a branch-free loop that vectorizes (a unit
        // that underflowed to 0 gets nothing).
        let n = nb * K;
        let [ya, yb] = &self.dense_out[p];
        let [qa, qb] = &mut self.q;
        let (ya, yb, g, qa, qb) = (&ya[..n], &yb[..n], &self.t[..n], &mut qa[..n], &mut qb[..n]);
        for i in 0..n {
            let y = ya[i] * yb[i];
            let r = g[i] / y;
            let r = if y > 0.0 { r } else { 0.0 };
            qa[i] = r * yb[i];
            qb[i] = r * ya[i];
        }
        for side in 0..2 {
            let l = dense[side];
            if let Layer::Input { pixel } = self.layers[inputs[side]] {
                self.pixel_dense_backward(w, ct, inputs[side], pixel, l, side);
                continue;
            }
            let x = &self.values[inputs[side]];
            // ∂ log p/∂W[i, j] += Σ_b q[b, i]·x[b, j].
            gemm_acc_f64(
                K,
                nb,
                K,
                &self.q[side],
                x,
                &mut self.dense_grad[l * K * K..(l + 1) * K * K],
                GemmStrides {
                    a_row: 1,
                    a_inner: K,
                    b_inner: K,
                    out_row: K,
                    overwrite: false,
                },
            );
            // (q·W)[b, j] = Σ_i q[b, i]·W[i, j], then ⊙ x into g_x.
            gemm_acc_f64(
                nb,
                K,
                K,
                &self.q[side],
                &self.transposed[l * K * K..(l + 1) * K * K],
                &mut self.q_w,
                GemmStrides {
                    a_row: K,
                    a_inner: 1,
                    b_inner: K,
                    out_row: K,
                    overwrite: true,
                },
            );
            let gx = &mut self.grads[inputs[side]];
            for ((gx, qw), x) in gx[..nb * K]
                .iter_mut()
                .zip(&self.q_w[..nb * K])
                .zip(&x[..nb * K])
            {
                *gx += qw * x;
            }
        }
    }
}

impl<const K: usize> Circuit<K> {
    /// A dense layer `l` reading pixel region `r` (pixel `pixel`), given
    /// `q = g_y ⊘ y` in `q[side]`. Its input is column `x_b` of `P`, so with
    /// `Q_c = Σ_{b: x_b = c} q_b` per value present:
    /// `∂ log p/∂W += Σ_c Q_c·P[:, c]ᵀ` and, since `g_x ⊘ x = q·W`,
    /// `∂ log p/∂P[:, c] += Q_c·W` — work per value, not per image.
    fn pixel_dense_backward(
        &mut self,
        w: &Tensors<K>,
        ct: &mut Tensors<K>,
        r: usize,
        pixel: usize,
        l: usize,
        side: usize,
    ) {
        let (present, values) = (&self.present[r], &self.pixel_values[r]);
        let q = &self.q[side];
        let sums = &mut self.per_value;
        for &c in present {
            let c = usize::from(c);
            sums[c * K..(c + 1) * K].fill(0.0);
        }
        for (b, &x) in values.iter().enumerate() {
            let c = usize::from(x);
            for (s, q) in sums[c * K..(c + 1) * K]
                .iter_mut()
                .zip(&q[b * K..(b + 1) * K])
            {
                *s += q;
            }
        }
        let (weights, probs) = (&w.dense[l], &w.categorical[pixel]);
        let grad = &mut self.dense_grad[l * K * K..(l + 1) * K * K];
        let dp = &mut ct.categorical[pixel];
        let scale = self.loss_scale;
        for &c in present {
            let c = usize::from(c);
            let (sum, column) = (
                &sums[c * K..(c + 1) * K],
                &probs.as_slice()[c * K..(c + 1) * K],
            );
            for i in 0..K {
                for j in 0..K {
                    grad[i * K + j] += sum[i] * column[j];
                }
            }
            for j in 0..K {
                dp[(j, c)] += scale * (0..K).map(|i| sum[i] * weights[(i, j)]).sum::<f64>();
            }
        }
    }
}

/// Divides `v` by `max` (its largest entry) and returns `ln max`: a row
/// rescaled to a largest entry of 1 (left alone when it is all zeros).
fn rescale(v: &mut [f64], max: f64) -> f64 {
    if max > 0.0 && max.is_finite() {
        let inv = 1.0 / max;
        v.iter_mut().for_each(|x| *x *= inv);
        max.ln()
    } else {
        0.0
    }
}
