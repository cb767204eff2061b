//! A reference interpreter of the graph IR, for tests only: it evaluates
//! every op (fused ones included) on row-major tensors, slowly and plainly,
//! so that rewrite rules can be checked by running graphs before and after.

use crate::graph::{GaussianPart, Graph, MapOp, Op, OuterKind, ReduceKind, ZipOp};

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

pub(super) fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = flat % shape[k];
        flat /= shape[k];
    }
    idx
}

pub(super) fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

impl Tensor {
    pub(super) fn at(&self, idx: &[usize]) -> f64 {
        self.data[ravel(idx, &self.shape)]
    }

    pub(super) fn build(shape: Vec<usize>, mut f: impl FnMut(&[usize]) -> f64) -> Tensor {
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

pub(super) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `x` at `i`, or its one element when it is a broadcast scalar.
pub(super) fn broadcast(x: &Tensor, i: &[usize]) -> f64 {
    if x.shape.is_empty() {
        x.data[0]
    } else {
        x.at(i)
    }
}

/// A zip of two elements, written out plainly.
fn zip(op: ZipOp, a: f64, b: f64) -> f64 {
    match op {
        ZipOp::Add => a + b,
        ZipOp::Hadamard => a * b,
        ZipOp::Div => a / b,
        ZipOp::Maximum | ZipOp::Minimum if a.is_nan() || b.is_nan() => f64::NAN,
        ZipOp::Maximum => a.max(b),
        ZipOp::Minimum => a.min(b),
        ZipOp::LogAddExp if a == b && a.is_infinite() => a,
        ZipOp::LogAddExp => {
            let m = a.max(b);
            m + ((a - m).exp() + (b - m).exp()).ln()
        }
    }
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
        MapOp::ScaledSigmoid { vmin, vmax } => vmin.0 + (vmax.0 - vmin.0) * sigmoid(x),
        MapOp::LogSigmoid => -((-x).exp().ln_1p()),
        MapOp::Sqrt => x.sqrt(),
        MapOp::Clamp { min, max } => {
            let lo = min.map_or(x, |m| if x < m.0 { m.0 } else { x });
            max.map_or(lo, |m| if lo > m.0 { m.0 } else { lo })
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
            Op::Constant { value, shape } => Tensor::build(super::values(shape), |_| value.0),
            Op::Map(op) => Tensor::build(arg(0).shape.clone(), |i| map(*op, arg(0).at(i))),
            Op::Zip(op) => {
                let shape = super::values(&node.shape);
                Tensor::build(shape, |i| {
                    zip(*op, broadcast(arg(0), i), broadcast(arg(1), i))
                })
            }
            Op::SumNormalize { axis } => {
                let sums = fold(arg(0), axis.get(), 0.0, |s, v| s + v);
                with_row(arg(0), &sums, axis.get(), |x, s| x / s)
            }
            Op::LogNormalize { axis } => {
                let sums = fold(arg(0), axis.get(), 0.0, |s, v| s + v);
                with_row(arg(0), &sums, axis.get(), |x, s| {
                    if x > 0.0 && s > 0.0 {
                        x.ln() - s.ln()
                    } else {
                        (x / s).ln()
                    }
                })
            }
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
                    j[a] = super::values(indices)[i[a]];
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
                shape: super::values(&node.shape),
                data: arg(0).data.clone(),
            },
            Op::MixingWeight => {
                let v = arg(0);
                let k = v.shape[0];
                Tensor::build(vec![k, k * v.shape[1]], |i| {
                    if i[1] % k == i[0] {
                        v.at(&[i[0], i[1] / k])
                    } else {
                        0.0
                    }
                })
            }
            Op::Gaussian(part) => {
                let args: Vec<&Tensor> = node.args.iter().map(|a| &values[*a]).collect();
                gaussian(*part, &args, None)
            }
            Op::GaussianFromVar(part) => {
                let args: Vec<&Tensor> = node.args.iter().map(|a| &values[*a]).collect();
                let (own, v) = args.split_at(args.len() - 1);
                gaussian(*part, own, Some(v[0]))
            }
            Op::GaussianVarSum => {
                let (s1, s2) = (arg(0), arg(1));
                let k2 = s2.shape[0];
                Tensor::build(vec![s1.shape[0] * k2], |i| {
                    let (a, b) = (s1.data[i[0] / k2], s2.data[i[0] % k2]);
                    a * a + b * b
                })
            }
            Op::PolynomialProduct => {
                let (p, q) = (arg(0), arg(1));
                let (d1, d2, k2) = (p.shape[1], q.shape[1], q.shape[0]);
                Tensor::build(vec![p.shape[0] * k2, d1 + d2 - 1], |i| {
                    let (r, c) = (i[0] / k2, i[0] % k2);
                    (0..d1)
                        .filter(|a| i[1] >= *a && i[1] - a < d2)
                        .map(|a| p.at(&[r, a]) * q.at(&[c, i[1] - a]))
                        .sum()
                })
            }
            Op::PolynomialDifferential { order } => {
                let p = arg(0);
                let mut rows: Vec<Vec<f64>> =
                    p.data.chunks(p.shape[1]).map(<[f64]>::to_vec).collect();
                for row in &mut rows {
                    if row.len() <= *order {
                        *row = vec![0.0];
                        continue;
                    }
                    // cirkit's loop: drop the constant, scale by the degree.
                    for _ in 0..*order {
                        *row = (1..row.len()).map(|k| row[k] * k as f64).collect();
                    }
                }
                Tensor {
                    shape: super::values(&node.shape),
                    data: rows.concat(),
                }
            }
            Op::MapVjp(_)
            | Op::ZipVjp { .. }
            | Op::SumNormalizeVjp { .. }
            | Op::Contract(_)
            | Op::ProdVjp { .. }
            | Op::LseVjp { .. }
            | Op::SoftmaxVjp { .. }
            | Op::IndexVjp { .. }
            | Op::GaussianVjp { .. }
            | Op::PolynomialDifferentialVjp { .. } => {
                let args: Vec<&Tensor> = node.args.iter().map(|a| &values[*a]).collect();
                super::eval_vjp::backward(&node.op, &args, &super::values(&node.shape))
            }
        };
        values.push(v);
    }
    graph.outputs.iter().map(|o| values[*o].clone()).collect()
}

/// A Gaussian product parameter for every pair, at `i·K2 + j`. Without `v`,
/// cirkit's formulas as written; with the summed variances `v`, the stable
/// forms the generated code uses (`param_graph_runtime::ProductOps`).
fn gaussian(part: GaussianPart, args: &[&Tensor], v: Option<&Tensor>) -> Tensor {
    let (k1, k2) = (args[0].shape[0], args[args.len() - 1].shape[0]);
    Tensor::build(vec![k1 * k2], |idx| {
        let (i, j) = (idx[0] / k2, idx[0] % k2);
        let (m1, s1, m2, s2) = match part {
            GaussianPart::Stddev => (0.0, args[0].data[i], 0.0, args[1].data[j]),
            _ => (
                args[0].data[i],
                args[1].data[i],
                args[2].data[j],
                args[3].data[j],
            ),
        };
        let (v1, v2) = (s1 * s1, s2 * s2);
        match v.map(|v| v.data[idx[0]]) {
            None => match part {
                GaussianPart::Mean => (m1 * v2 + m2 * v1) / (v1 + v2),
                GaussianPart::Stddev => (v1 * v2 / (v1 + v2)).sqrt(),
                GaussianPart::LogPartition => {
                    let var = v1 + v2;
                    -0.5 * ((2.0 * std::f64::consts::PI).ln()
                        + var.ln()
                        + (m1 - m2) * (m1 - m2) / var)
                }
            },
            Some(var) => match part {
                GaussianPart::Mean if v1 <= v2 => m1 + (m2 - m1) * (v1 / var),
                GaussianPart::Mean => m2 + (m1 - m2) * (v2 / var),
                GaussianPart::Stddev => s2.abs() * (s1.abs() / var.sqrt()),
                GaussianPart::LogPartition => {
                    let d = m1 - m2;
                    -0.5 * (1.837_877_066_409_345_3 + var.ln() + d * (d / var))
                }
            },
        }
    })
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
            Op::Leaf { param } => Some((param, super::values(&n.shape))),
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
