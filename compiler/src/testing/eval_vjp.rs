//! The interpreter's backward ops: each derivative written out plainly on
//! row-major tensors, independently of the generated kernels (no strides,
//! no scaled forms, no fast paths), so tests can hold the two against each
//! other and against finite differences.

use super::eval::{broadcast, sigmoid, Tensor};
use crate::graph::{GaussianPart, MapOp, Op, ZipOp};

/// The value of backward node `op` with arguments `args` and result `shape`.
pub(super) fn backward(op: &Op, args: &[&Tensor], shape: &[usize]) -> Tensor {
    let arg = |k: usize| args[k];
    match op {
        Op::MapVjp(m) => Tensor::build(shape.to_vec(), |i| map_vjp(*m, arg(0).at(i), arg(1).at(i))),
        Op::Contract(c) => {
            let mut out = Tensor::build(super::values(&c.shape(0)), |_| 0.0);
            let dims = super::values(&c.dims);
            let total: usize = dims.iter().product();
            for flat in 0..total {
                let it = super::eval::unravel(flat, &dims);
                let position = |k: usize| -> Vec<usize> {
                    c.index[k]
                        .iter()
                        .map(|terms| {
                            terms
                                .iter()
                                .map(|(t, coef)| super::values(&[*coef])[0] * it[*t])
                                .sum()
                        })
                        .collect()
                };
                let product: f64 = (0..args.len())
                    .map(|k| args[k].at(&position(k + 1)))
                    .product();
                let at = super::eval::ravel(&position(0), &out.shape);
                out.data[at] += product;
            }
            out
        }
        Op::ZipVjp { op, wrt } => Tensor::build(shape.to_vec(), |i| {
            let (a, b, g) = (broadcast(arg(0), i), broadcast(arg(1), i), arg(2).at(i));
            let (own, other) = if *wrt == 0 { (a, b) } else { (b, a) };
            match op {
                ZipOp::Add => g,
                ZipOp::Hadamard => g * other,
                ZipOp::Div if *wrt == 0 => g / b,
                ZipOp::Div => -g * a / (b * b),
                ZipOp::Maximum | ZipOp::Minimum => {
                    let wins = if *op == ZipOp::Maximum {
                        own > other
                    } else {
                        own < other
                    };
                    if own == other {
                        0.5 * g
                    } else if wins || own.is_nan() || other.is_nan() {
                        g
                    } else {
                        0.0
                    }
                }
                ZipOp::LogAddExp => g / (1.0 + (other - own).exp()),
            }
        }),
        Op::SumNormalizeVjp { axis } => {
            let (x, y, g, a) = (arg(0), arg(1), arg(2), axis.get());
            Tensor::build(shape.to_vec(), |i| {
                let mut other = i.to_vec();
                let (mut s, mut t) = (0.0, 0.0);
                for k in 0..x.shape[a] {
                    other[a] = k;
                    s += x.at(&other);
                    t += g.at(&other) * y.at(&other);
                }
                (g.at(i) - t) / s
            })
        }
        Op::ProdVjp { axis } => {
            let (x, g, a) = (arg(0), arg(2), axis.get());
            Tensor::build(shape.to_vec(), |i| {
                let mut row = i.to_vec();
                row.remove(a);
                let mut other = i.to_vec();
                let others: f64 = (0..x.shape[a])
                    .filter(|k| *k != i[a])
                    .map(|k| {
                        other[a] = k;
                        x.at(&other)
                    })
                    .product();
                g.at(&row) * others
            })
        }
        Op::LseVjp { axis } => {
            let (x, y, g) = (arg(0), arg(1), arg(2));
            Tensor::build(shape.to_vec(), |i| {
                let mut row = i.to_vec();
                row.remove(axis.get());
                if y.at(&row) == f64::NEG_INFINITY {
                    0.0
                } else {
                    g.at(&row) * (x.at(i) - y.at(&row)).exp()
                }
            })
        }
        Op::SoftmaxVjp { axis, log } => {
            let (y, g, a) = (arg(0), arg(1), axis.get());
            Tensor::build(shape.to_vec(), |i| {
                let mut other = i.to_vec();
                let sum: f64 = (0..y.shape[a])
                    .map(|k| {
                        other[a] = k;
                        if *log {
                            g.at(&other)
                        } else {
                            g.at(&other) * y.at(&other)
                        }
                    })
                    .sum();
                if *log {
                    g.at(i) - y.at(i).exp() * sum
                } else {
                    y.at(i) * (g.at(i) - sum)
                }
            })
        }
        Op::IndexVjp { axis, indices, .. } => {
            let (g, a) = (arg(0), axis.get());
            let mut out = Tensor::build(shape.to_vec(), |_| 0.0);
            for flat in 0..g.data.len() {
                let mut i = super::eval::unravel(flat, &g.shape);
                i[a] = super::values(indices)[i[a]];
                let at = super::eval::ravel(&i, shape);
                out.data[at] += g.data[flat];
            }
            out
        }
        Op::GaussianVjp { part, wrt } => gaussian_vjp(*part, *wrt, args, shape),
        Op::PolynomialDifferentialVjp { order, size } => {
            let g = arg(0);
            Tensor::build(shape.to_vec(), |i| {
                if *size <= *order || i[1] < *order {
                    return 0.0;
                }
                let n = i[1] - order;
                let falling: f64 = (n + 1..=n + order).map(|k| k as f64).product();
                g.at(&[i[0], n]) * falling
            })
        }
        _ => unreachable!("`{}` is not a backward op", op.name()),
    }
}

fn map_vjp(op: MapOp, v: f64, g: f64) -> f64 {
    match op {
        MapOp::Exp => g * v,
        MapOp::Log => g / v,
        MapOp::Square => 2.0 * v * g,
        MapOp::Sigmoid => g * v * (1.0 - v),
        MapOp::Softplus => {
            if v > 20.0 {
                g
            } else {
                g * sigmoid(v)
            }
        }
        MapOp::Conjugate => g,
        MapOp::Sqrt => g / (2.0 * v),
        MapOp::ScaledSigmoid { vmin, vmax } => g * (vmax.0 - vmin.0) * sigmoid(v) * sigmoid(-v),
        MapOp::LogSigmoid => g * sigmoid(-v),
        MapOp::Clamp { min, max } => {
            // torch ≥ 2.15: strictly inside the bounds.
            let above = min.is_none_or(|m| v > m.0);
            let below = max.is_none_or(|m| v < m.0);
            if above && below && !v.is_nan() {
                g
            } else {
                0.0
            }
        }
    }
}

/// The cotangent of argument `wrt` of a Gaussian product parameter, from
/// the unscaled formulas: `v = s1² + s2²` recomputed (the shared argument is
/// ignored), the partials summed over the other layer.
fn gaussian_vjp(part: GaussianPart, wrt: usize, args: &[&Tensor], shape: &[usize]) -> Tensor {
    let n = args.len();
    let g = args[n - 1];
    let forward = &args[..n - 2];
    let (k1, k2) = (forward[0].shape[0], forward[forward.len() - 1].shape[0]);
    let mut out = Tensor::build(shape.to_vec(), |_| 0.0);
    for i in 0..k1 {
        for j in 0..k2 {
            let (m1, s1, m2, s2) = match part {
                GaussianPart::Stddev => (0.0, forward[0].data[i], 0.0, forward[1].data[j]),
                _ => (
                    forward[0].data[i],
                    forward[1].data[i],
                    forward[2].data[j],
                    forward[3].data[j],
                ),
            };
            let v = s1 * s1 + s2 * s2;
            let d = m1 - m2;
            let partials = match part {
                GaussianPart::Mean => [
                    s2 * s2 / v,
                    2.0 * s1 * s2 * s2 * (m2 - m1) / (v * v),
                    s1 * s1 / v,
                    2.0 * s2 * s1 * s1 * (m1 - m2) / (v * v),
                ],
                GaussianPart::Stddev => {
                    let s = (s1 * s1 * s2 * s2 / v).sqrt();
                    let (ds1, ds2) = (s1 * s2.powi(4) / (s * v * v), s2 * s1.powi(4) / (s * v * v));
                    [ds1, ds2, 0.0, 0.0]
                }
                GaussianPart::LogPartition => {
                    let dv = -0.5 / v + d * d / (2.0 * v * v);
                    [-d / v, 2.0 * s1 * dv, d / v, 2.0 * s2 * dv]
                }
            };
            let first = wrt < forward.len() / 2;
            let at = if first { i } else { j };
            out.data[at] += g.data[i * k2 + j] * partials[wrt];
        }
    }
    out
}
