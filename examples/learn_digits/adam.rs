//! Adam (Kingma & Ba, 2015) with torch's defaults: `β₁ = 0.9`,
//! `β₂ = 0.999`, `ε = 1e-8`, no weight decay:
//! `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `θ ← θ − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`.

use super::weights::Tensors;

/// Adam's state for one set of parameters.
pub struct Adam<const K: usize> {
    lr: f64,
    step: i32,
    m: Tensors<K>,
    v: Tensors<K>,
}

impl<const K: usize> Adam<K> {
    /// Zero moments, learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            step: 0,
            m: Tensors::zeros(),
            v: Tensors::zeros(),
        }
    }

    /// One update of `params` with gradients `grads`.
    pub fn update(&mut self, params: &mut Tensors<K>, grads: &Tensors<K>) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.step += 1;
        let (c1, c2) = (1.0 - B1.powi(self.step), 1.0 - B2.powi(self.step));
        // lr·(m/c1)/(√(v/c2) + ε) with the bias corrections hoisted.
        let (step, inv_c2) = (self.lr / c1, 1.0 / c2);
        let moments = self.m.slices_mut().zip(self.v.slices_mut());
        for ((theta, g), (m, v)) in params.slices_mut().zip(grads.slices()).zip(moments) {
            let n = theta.len();
            let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
            // Indexed over equal lengths: one vectorized loop per matrix.
            for i in 0..n {
                m[i] = B1 * m[i] + (1.0 - B1) * g[i];
                v[i] = B2 * v[i] + (1.0 - B2) * g[i] * g[i];
                theta[i] -= step * m[i] / ((v[i] * inv_c2).sqrt() + EPS);
            }
        }
    }
}
