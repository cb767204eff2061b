//! A reference interpreter of the graph IR, for tests only: it evaluates
//! every op (fused ones included) on row-major tensors, slowly and plainly,
//! so that rewrite rules can be checked by running graphs before and after.

#![cfg(test)]

use crate::graph::{Graph, MapOp, Op, OuterKind, ReduceKind, ZipOp};

/// A row-major tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Sizes, outermost first.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: Vec<f64>,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * shape[k + 1];
    }
    s
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = flat % shape[k];
        flat /= shape[k];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

impl Tensor {
    fn at(&self, idx: &[usize]) -> f64 {
        self.data[ravel(idx, &self.shape)]
    }

    fn build(shape: Vec<usize>, mut f: impl FnMut(&[usize]) -> f64) -> Tensor {
        let n = shape.iter().product();
        let data = (0..n).map(|k| f(&unravel(k, &shape))).collect();
        Tensor { shape, data }
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Folds `x` along `axis` with `f` starting from `init`.
fn fold(x: &Tensor, axis: usize, init: f64, f: impl Fn(f64, f64) -> f64) -> Tensor {
    let mut shape = x.shape.clone();
    shape.remove(axis);
    Tensor::build(shape, |idx| {
        let mut full = idx.to_vec();
        full.insert(axis, 0);
        (0..x.shape[axis]).fold(init, |acc, k| {
            full[axis] = k;
            f(acc, x.at(&full))
        })
    })
}

/// Evaluates `x` combined with a row statistic `r` (reduced along `axis`).
fn with_row(x: &Tensor, r: &Tensor, axis: usize, f: impl Fn(f64, f64) -> f64) -> Tensor {
    Tensor::build(x.shape.clone(), |idx| {
        let mut ri = idx.to_vec();
        ri.remove(axis);
        f(x.at(idx), r.at(&ri))
    })
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn map(op: MapOp, x: f64) -> f64 {
    match op {
        MapOp::Exp => x.exp(),
        MapOp::Log => x.ln(),
        MapOp::Square => x * x,
        MapOp::Sigmoid => sigmoid(x),
        MapOp::Softplus => {
            if x > 20.0 {
                x
            } else {
                x.exp().ln_1p()
            }
        }
        MapOp::Conjugate => x,
        MapOp::ScaledSigmoid { vmin, vmax } => vmin + (vmax - vmin) * sigmoid(x),
        MapOp::LogSigmoid => -((-x).exp().ln_1p()),
        MapOp::Clamp { min, max } => {
            let lo = min.map_or(x, |m| if x < m { m } else { x });
            max.map_or(lo, |m| if lo > m { m } else { lo })
        }
    }
}

/// Evaluates every output of `graph`; `inputs[k]` is parameter `k`.
pub fn eval(graph: &Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    let mut values: Vec<Tensor> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let arg = |k: usize| &values[node.args[k]];
        let v = match &node.op {
            Op::Leaf { param } => inputs[*param].clone(),
            Op::Constant { value, shape } => Tensor::build(shape.clone(), |_| *value),
            Op::Map(op) => Tensor::build(arg(0).shape.clone(), |i| map(*op, arg(0).at(i))),
            Op::Zip(op) => Tensor::build(arg(0).shape.clone(), |i| match op {
                ZipOp::Add => arg(0).at(i) + arg(1).at(i),
                ZipOp::Hadamard => arg(0).at(i) * arg(1).at(i),
            }),
            Op::Reduce { kind, axis } => {
                let x = arg(0);
                let a = axis.get();
                match kind {
                    ReduceKind::Sum => fold(x, a, 0.0, |s, v| s + v),
                    ReduceKind::Prod => fold(x, a, 1.0, |s, v| s * v),
                    ReduceKind::Lse => {
                        let m = fold(x, a, f64::NEG_INFINITY, nan_max);
                        let m = Tensor::build(m.shape.clone(), |i| {
                            let v = m.at(i);
                            if v.is_infinite() {
                                0.0
                            } else {
                                v
                            }
                        });
                        let e = with_row(x, &m, a, |v, m| (v - m).exp());
                        let s = fold(&e, a, 0.0, |s, v| s + v);
                        Tensor::build(s.shape.clone(), |i| s.at(i).ln() + m.at(i))
                    }
                }
            }
            Op::Softmax { axis } | Op::LogSoftmax { axis } => {
                let (x, a) = (arg(0), axis.get());
                let m = fold(x, a, f64::NEG_INFINITY, nan_max);
                let e = with_row(x, &m, a, |v, m| (v - m).exp());
                let s = fold(&e, a, 0.0, |s, v| s + v);
                if matches!(node.op, Op::Softmax { .. }) {
                    with_row(&e, &s, a, |v, s| v / s)
                } else {
                    let shifted = with_row(x, &m, a, |v, m| v - m);
                    with_row(&shifted, &s, a, |v, s| v - s.ln())
                }
            }
            Op::RowMax { axis } => fold(arg(0), axis.get(), f64::NEG_INFINITY, nan_max),
            Op::RowSumExp { axis } => {
                let e = with_row(arg(0), arg(1), axis.get(), |v, m| (v - m).exp());
                fold(&e, axis.get(), 0.0, |s, v| s + v)
            }
            Op::Normalize { axis, log } => {
                let (x, m, s, a) = (arg(0), arg(1), arg(2), axis.get());
                let shifted = with_row(x, m, a, |v, m| v - m);
                if *log {
                    with_row(&shifted, s, a, |v, s| v - s.ln())
                } else {
                    with_row(&shifted, s, a, |v, s| v.exp() / s)
                }
            }
            Op::Index { axis, indices, .. } => {
                let (x, a) = (arg(0), axis.get());
                let mut shape = x.shape.clone();
                shape[a] = indices.len();
                Tensor::build(shape, |i| {
                    let mut j = i.to_vec();
                    j[a] = indices[i[a]];
                    x.at(&j)
                })
            }
            Op::Kron => {
                let (x, y) = (arg(0), arg(1));
                let shape = x.shape.iter().zip(&y.shape).map(|(p, q)| p * q).collect();
                Tensor::build(shape, |i| {
                    let xi: Vec<usize> = i.iter().zip(&y.shape).map(|(k, q)| k / q).collect();
                    let yi: Vec<usize> = i.iter().zip(&y.shape).map(|(k, q)| k % q).collect();
                    x.at(&xi) * y.at(&yi)
                })
            }
            Op::Outer { kind, axis } => outer(arg(0), arg(1), axis.get(), *kind),
            Op::OuterContract {
                outer: d,
                reduce: r,
            } => {
                let o = outer(arg(0), arg(1), d.get(), OuterKind::Product);
                fold(&o, r.get(), 0.0, |s, v| s + v)
            }
            Op::MatMul => matmul(arg(0), arg(1)),
            Op::KronMatMul => {
                let (x, y) = (arg(0), arg(1));
                let k = Tensor::build(
                    vec![x.shape[0] * y.shape[0], x.shape[1] * y.shape[1]],
                    |i| {
                        x.at(&[i[0] / y.shape[0], i[1] / y.shape[1]])
                            * y.at(&[i[0] % y.shape[0], i[1] % y.shape[1]])
                    },
                );
                matmul(&k, arg(2))
            }
            Op::Flatten { .. } => Tensor {
                shape: node.shape.clone(),
                data: arg(0).data.clone(),
            },
        };
        values.push(v);
    }
    graph.outputs.iter().map(|o| values[*o].clone()).collect()
}

fn outer(x: &Tensor, y: &Tensor, a: usize, kind: OuterKind) -> Tensor {
    let mut shape = x.shape.clone();
    shape[a] *= y.shape[a];
    Tensor::build(shape, |i| {
        let (mut xi, mut yi) = (i.to_vec(), i.to_vec());
        xi[a] = i[a] / y.shape[a];
        yi[a] = i[a] % y.shape[a];
        match kind {
            OuterKind::Product => x.at(&xi) * y.at(&yi),
            OuterKind::Sum => x.at(&xi) + y.at(&yi),
        }
    })
}

fn matmul(x: &Tensor, y: &Tensor) -> Tensor {
    Tensor::build(vec![x.shape[0], y.shape[1]], |i| {
        (0..x.shape[1])
            .map(|k| x.at(&[i[0], k]) * y.at(&[k, i[1]]))
            .sum()
    })
}

/// Deterministic inputs in `[-2, 2)` for every parameter of `graph`.
pub fn sample_inputs(graph: &Graph, seed: u64) -> Vec<Tensor> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
    };
    let mut params: Vec<(usize, Vec<usize>)> = graph
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            Op::Leaf { param } => Some((param, n.shape.clone())),
            _ => None,
        })
        .collect();
    params.sort();
    let count = params.last().map_or(0, |(p, _)| p + 1);
    let mut inputs = vec![
        Tensor {
            shape: vec![],
            data: vec![0.0]
        };
        count
    ];
    for (param, shape) in params {
        inputs[param] = Tensor::build(shape, |_| next());
    }
    inputs
}
