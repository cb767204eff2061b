//! The derivative of every op: its vector–Jacobian product, the catalogue's
//! second column. For a node `y = op(x₀, x₁, …)` and the cotangent `ḡ` of
//! `y`, [`vjp`] builds the nodes computing `x̄ₖ = ḡ · ∂y/∂xₖ` (summed over
//! `y`'s elements), or says there is none.
//!
//! The conventions are torch autograd's (`tools/autograd/derivatives.yaml`,
//! torch 2.15, which produced the golden gradients): `clamp` passes `ḡ`
//! strictly inside its bounds (0 at a bound, as torch ≥ 2.15); `softplus` has slope
//! 1 above its threshold 20; `reduce_prod`'s is the product of the others
//! (prefix and suffix products, so one zero gives a gradient only at the
//! zero and two give 0 everywhere, without division); repeated `index`
//! positions accumulate. One deliberate deviation: `reduce_lse` of a row
//! that is all `−∞` has cotangent 0 where torch gives NaN (pytorch #31829).
//!
//! The fused ops differentiate as the rewritten graph: `log_softmax_from_stats`
//! is log-softmax's `ḡ − softmax · Σḡ` from its own result, its row
//! statistics being shift and scale that cancel (no cotangent flows into
//! them); a Gaussian parameter from shared summed variances `v` reads the
//! same `v` in its backward node.

use super::{
    Contraction, Dim, GaussianPart, Graph, MapOp, Node, NodeId, Op, OuterKind, ReduceKind,
    TensorIndex, ZipOp,
};
use crate::shape::{shape_of, Sites};

/// A coefficient of 1 in an index term.
const ONE: Dim = Dim::ONE;

/// Pushes backward nodes into a graph, each shaped by `shape::shape_of`
/// (so a backward node that does not fit its arguments is caught as the
/// compiler's bug where it is made).
pub struct Backward<'g> {
    /// The graph being extended.
    pub graph: &'g mut Graph,
}

/// An internal error: the compiler built something it should not have.
pub type Bug = String;

impl Backward<'_> {
    /// Appends `op(args)`, shaped, with `like`'s source span, and returns it.
    pub fn push(&mut self, like: NodeId, op: Op, args: Vec<NodeId>) -> Result<NodeId, Bug> {
        let span = self.graph.nodes[like].span;
        let shapes: Vec<&[Dim]> = args
            .iter()
            .map(|a| self.graph.nodes[*a].shape.as_slice())
            .collect();
        let arg_spans = vec![span; args.len()];
        let sites = Sites {
            span,
            args: &arg_spans,
            literals: &[],
            checks: None,
        };
        let shape = shape_of(&op, &shapes, &sites, &self.graph.sig)
            .map_err(|e| format!("backward `{}`: {e}", op.name()))?;
        Ok(self.graph.push(Node {
            op,
            args,
            arg_spans,
            span,
            literal_spans: Vec::new(),
            shape,
            rule: None,
        }))
    }

    fn shape(&self, id: NodeId) -> Vec<Dim> {
        self.graph.nodes[id].shape.clone()
    }

    /// A contraction of `args` into the index `out`.
    fn contract(
        &mut self,
        like: NodeId,
        dims: Vec<Dim>,
        out: TensorIndex,
        args: Vec<(NodeId, TensorIndex)>,
    ) -> Result<NodeId, Bug> {
        let mut index = vec![out];
        let mut ids = Vec::with_capacity(args.len());
        for (id, idx) in args {
            ids.push(id);
            index.push(idx);
        }
        self.push(like, Op::Contract(Contraction { dims, index }), ids)
    }
}

/// Each axis `d` of a tensor addressed by iteration axis `first + d`.
fn plain(first: usize, rank: usize) -> TensorIndex {
    (0..rank).map(|d| vec![(first + d, ONE)]).collect()
}

/// The derivative of a fused op (one a rewrite rule makes), stated as the
/// catalogue states the others' (`OpSpec::derivative`); `None` for the ops
/// users write and for the row statistics, which get no cotangent.
pub fn fused_derivative(op: &Op) -> Option<&'static str> {
    Some(match op {
        Op::Map(MapOp::LogSigmoid) => "`x̄ = ȳ·sigmoid(−x)`",
        Op::Normalize { log: false, .. } => "as `softmax`: `x̄ = y ⊙ (ȳ − Σ ȳ ⊙ y)` per row",
        Op::Normalize { log: true, .. } => "as `log_softmax`: `x̄ = ȳ − exp(y)·Σ ȳ` per row",
        Op::OuterContract { .. } => {
            "`ā`, `b̄` of `reduce_sum(outer_product(a, b, axis = d), axis = r)`: one contraction each, the outer product never formed"
        }
        Op::KronMatMul => {
            "`Ā`, `B̄`, `X̄` of `matmul(kron(A, B), X)`: contractions sharing `T = B·Ȳ`, `A ⊗ B` never formed"
        }
        Op::GaussianFromVar(_) => {
            "as the Gaussian product op it replaces, from the same shared scaled variances"
        }
        Op::LogNormalize { .. } => "`x̄ = ȳ / x − (Σ ȳ)/s` per row, `s = Σ x`",
        _ => return None,
    })
}

/// The cotangent of argument `wrt` of node `y`, given `g`, the cotangent of
/// `y`; `None` when none flows there (a constant, or the row statistics of
/// a fused normalization).
pub fn vjp(b: &mut Backward, y: NodeId, g: NodeId, wrt: usize) -> Result<Option<NodeId>, Bug> {
    let node = b.graph.nodes[y].clone();
    let x = |k: usize| node.args[k];
    // The other argument of a binary op.
    let other = || x(1 - wrt.min(1));
    let id = match &node.op {
        Op::Leaf { .. } | Op::Constant { .. } => return Ok(None),
        // Identity on real tensors.
        Op::Map(MapOp::Conjugate) => g,
        Op::Map(m) => {
            let v = if m.vjp_reads_result() { y } else { x(0) };
            b.push(y, Op::MapVjp(*m), vec![v, g])?
        }
        Op::Zip(z) => {
            let full = match z {
                ZipOp::Add => g,
                ZipOp::Hadamard => b.push(y, Op::Zip(ZipOp::Hadamard), vec![g, other()])?,
                _ => b.push(y, Op::ZipVjp { op: *z, wrt }, vec![x(0), x(1), g])?,
            };
            // A broadcast scalar gets the sum of its elementwise cotangents.
            if b.shape(x(wrt)).is_empty() && !b.shape(full).is_empty() {
                let dims = b.shape(full);
                let rank = dims.len();
                b.contract(y, dims, Vec::new(), vec![(full, plain(0, rank))])?
            } else {
                full
            }
        }
        Op::SumNormalize { axis } => {
            b.push(y, Op::SumNormalizeVjp { axis: *axis }, vec![x(0), y, g])?
        }
        // log x − log Σx: x̄ = ḡ/x − (Σḡ / Σx) broadcast along the axis.
        Op::LogNormalize { axis } => {
            let sum = |b: &mut Backward, t: NodeId| {
                let op = Op::Reduce {
                    kind: ReduceKind::Sum,
                    axis: *axis,
                };
                b.push(y, op, vec![t])
            };
            let (gs, xs) = (sum(b, g)?, sum(b, x(0))?);
            let ratio = b.push(y, Op::Zip(ZipOp::Div), vec![gs, xs])?;
            let shape = b.shape(x(0));
            let mut row = plain(0, shape.len());
            row.remove(axis.get());
            let spread = b.contract(y, shape.clone(), plain(0, shape.len()), vec![(ratio, row)])?;
            let minus = b.push(
                y,
                Op::Constant {
                    value: super::Float(-1.0),
                    shape: Vec::new(),
                },
                Vec::new(),
            )?;
            let negated = b.push(y, Op::Zip(ZipOp::Hadamard), vec![minus, spread])?;
            let direct = b.push(y, Op::Zip(ZipOp::Div), vec![g, x(0)])?;
            b.push(y, Op::Zip(ZipOp::Add), vec![direct, negated])?
        }
        // Broadcast `ḡ` back along the summed axis.
        Op::Reduce {
            kind: ReduceKind::Sum,
            axis,
        } => {
            let shape = b.shape(x(0));
            let mut row = plain(0, shape.len());
            row.remove(axis.get());
            b.contract(y, shape.clone(), plain(0, shape.len()), vec![(g, row)])?
        }
        Op::Reduce {
            kind: ReduceKind::Prod,
            axis,
        } => b.push(y, Op::ProdVjp { axis: *axis }, vec![x(0), y, g])?,
        Op::Reduce {
            kind: ReduceKind::Lse,
            axis,
        } => b.push(y, Op::LseVjp { axis: *axis }, vec![x(0), y, g])?,
        Op::Softmax { axis } => b.push(
            y,
            Op::SoftmaxVjp {
                axis: *axis,
                log: false,
            },
            vec![y, g],
        )?,
        Op::LogSoftmax { axis } => b.push(
            y,
            Op::SoftmaxVjp {
                axis: *axis,
                log: true,
            },
            vec![y, g],
        )?,
        // Shift and scale of the rows cancel: only `x` gets a cotangent.
        Op::Normalize { axis, log } => match wrt {
            0 => b.push(
                y,
                Op::SoftmaxVjp {
                    axis: *axis,
                    log: *log,
                },
                vec![y, g],
            )?,
            _ => return Ok(None),
        },
        Op::RowMax { .. } | Op::RowSumExp { .. } | Op::GaussianVarSum => {
            return Err(format!(
                "`{}` got a cotangent: its only readers pass none",
                node.op.name()
            ))
        }
        Op::Index { axis, indices } => {
            let size = b.shape(x(0))[axis.get()];
            let op = Op::IndexVjp {
                axis: *axis,
                indices: indices.clone(),
                size,
            };
            b.push(y, op, vec![g])?
        }
        // ā[i] = Σ_j ḡ[i·B + j]·b[j] per axis, and b̄ alike.
        Op::Kron => {
            let (sa, sb) = (b.shape(x(0)), b.shape(x(1)));
            let r = sa.len();
            let mut dims = sa.clone();
            dims.extend_from_slice(&sb);
            let gi = (0..r).map(|d| vec![(d, sb[d]), (r + d, ONE)]).collect();
            let (ia, ib) = (plain(0, r), plain(r, r));
            let (out, read) = if wrt == 0 { (ia, ib) } else { (ib, ia) };
            b.contract(y, dims, out, vec![(g, gi), (other(), read)])?
        }
        // The merged axis `k` is `i·B[k] + j`, `j` an extra iteration axis.
        Op::Outer { kind, axis } => {
            let (sa, sb) = (b.shape(x(0)), b.shape(x(1)));
            let (k, e) = (axis.get(), sa.len());
            let mut dims = sa.clone();
            dims.push(sb[k]);
            let mut gi = plain(0, e);
            gi[k] = vec![(k, sb[k]), (e, ONE)];
            let ia = plain(0, e);
            let mut ib = plain(0, e);
            ib[k] = vec![(e, ONE)];
            let (out, read) = if wrt == 0 { (ia, ib) } else { (ib, ia) };
            match kind {
                OuterKind::Product => b.contract(y, dims, out, vec![(g, gi), (other(), read)])?,
                OuterKind::Sum => b.contract(y, dims, out, vec![(g, gi)])?,
            }
        }
        // ā = ḡ·bᵀ, b̄ = aᵀ·ḡ over (i, j, l).
        Op::MatMul => {
            let (sa, sb) = (b.shape(x(0)), b.shape(x(1)));
            let dims = vec![sa[0], sb[1], sa[1]];
            let gi = vec![vec![(0, ONE)], vec![(1, ONE)]];
            let ia = vec![vec![(0, ONE)], vec![(2, ONE)]];
            let ib = vec![vec![(2, ONE)], vec![(1, ONE)]];
            let (out, read) = if wrt == 0 { (ia, ib) } else { (ib, ia) };
            b.contract(y, dims, out, vec![(g, gi), (other(), read)])?
        }
        Op::Flatten { start, end } => {
            let shape = b.shape(x(0));
            let (s, e) = (start.get(), end.get());
            let mut gi: TensorIndex = (0..s).map(|d| vec![(d, ONE)]).collect();
            gi.push(
                (s..=e)
                    .map(|d| (d, shape[d + 1..=e].iter().product()))
                    .collect(),
            );
            gi.extend((e + 1..shape.len()).map(|d| vec![(d, ONE)]));
            b.contract(y, shape.clone(), plain(0, shape.len()), vec![(g, gi)])?
        }
        // As `outer_product`, with `ḡ` missing the summed axis.
        Op::OuterContract { outer, reduce } => {
            let (sa, sb) = (b.shape(x(0)), b.shape(x(1)));
            let (k, r, e) = (outer.get(), reduce.get(), sa.len());
            let mut dims = sa.clone();
            dims.push(sb[k]);
            let mut gi = plain(0, e);
            gi[k] = vec![(k, sb[k]), (e, ONE)];
            gi.remove(r);
            let ia = plain(0, e);
            let mut ib = plain(0, e);
            ib[k] = vec![(e, ONE)];
            let (out, read) = if wrt == 0 { (ia, ib) } else { (ib, ia) };
            b.contract(y, dims, out, vec![(g, gi), (other(), read)])?
        }
        Op::KronMatMul => kron_matmul(b, &node, y, g, wrt)?,
        // v̄[k, h] = ḡ[k, h·K + k].
        Op::MixingWeight => {
            let s = b.shape(x(0));
            let gi = vec![vec![(0, ONE)], vec![(1, s[0]), (0, ONE)]];
            b.contract(y, s, plain(0, 2), vec![(g, gi)])?
        }
        Op::Gaussian(part) => {
            let (s1, s2) = match part {
                GaussianPart::Stddev => (x(0), x(1)),
                _ => (x(1), x(3)),
            };
            let v = b.push(y, Op::GaussianVarSum, vec![s1, s2])?;
            let mut args = node.args.clone();
            args.extend([v, g]);
            b.push(y, Op::GaussianVjp { part: *part, wrt }, args)?
        }
        // The summed variances are shared forward values: the cotangent
        // reaches the standard deviations through the part's own formula.
        Op::GaussianFromVar(part) => {
            if wrt + 1 == node.args.len() {
                return Ok(None);
            }
            let mut args = node.args.clone();
            args.push(g);
            b.push(y, Op::GaussianVjp { part: *part, wrt }, args)?
        }
        // p̄[i, a] = Σ_{j, c} ḡ[i·K₂ + j, a + c]·q[j, c], and q̄ alike.
        Op::PolynomialProduct => {
            let (sp, sq) = (b.shape(x(0)), b.shape(x(1)));
            let dims = vec![sp[0], sp[1], sq[0], sq[1]];
            let gi = vec![vec![(0, sq[0]), (2, ONE)], vec![(1, ONE), (3, ONE)]];
            let ip = vec![vec![(0, ONE)], vec![(1, ONE)]];
            let iq = vec![vec![(2, ONE)], vec![(3, ONE)]];
            let (out, read) = if wrt == 0 { (ip, iq) } else { (iq, ip) };
            b.contract(y, dims, out, vec![(g, gi), (other(), read)])?
        }
        Op::PolynomialDifferential { order } => {
            let size = b.shape(x(0))[1];
            let op = Op::PolynomialDifferentialVjp {
                order: *order,
                size,
            };
            b.push(y, op, vec![g])?
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
            return Err(format!(
                "`{}` is a backward op: it has no derivative here",
                node.op.name()
            ))
        }
    };
    Ok(Some(id))
}

/// `Y = (A ⊗ B)·X`, `Y[i·R + k, c] = Σ_{j,l} A[i, j]·B[k, l]·X[j·S + l, c]`,
/// by contractions that never form `A ⊗ B` (the tensor-dot trick
/// backwards), sharing `T[i, l, c] = Σ_k B[k, l]·Ȳ[i·R + k, c]` (`B`
/// applied to `Ȳ`; one node, merged by CSE):
/// - `X̄[j·S + l, c] = Σ_i A[i, j]·T[i, l, c]`;
/// - `Ā[i, j] = Σ_{l, c} T[i, l, c]·X[j·S + l, c]`;
/// - `B̄[k, l] = Σ_{i, c} Ȳ[i·R + k, c]·V[i, l, c]` with
///   `V[i, l, c] = Σ_j A[i, j]·X[j·S + l, c]`.
fn kron_matmul(
    b: &mut Backward,
    node: &Node,
    y: NodeId,
    g: NodeId,
    wrt: usize,
) -> Result<NodeId, Bug> {
    let (a, bb, x) = (node.args[0], node.args[1], node.args[2]);
    let (sa, sb, sx) = (b.shape(a), b.shape(bb), b.shape(x));
    let (p, q, r, s, n) = (sa[0], sa[1], sb[0], sb[1], sx[1]);
    let t = |axis: usize| vec![(axis, ONE)];
    // Ȳ and X with their merged row axes, over iteration axes named below.
    let ybar = |i: usize, k: usize, c: usize| vec![vec![(i, r), (k, ONE)], t(c)];
    let xrow = |j: usize, l: usize, c: usize| vec![vec![(j, s), (l, ONE)], t(c)];
    match wrt {
        2 | 0 => {
            // T over (i, l, c, k).
            let tt = b.contract(
                y,
                vec![p, s, n, r],
                vec![t(0), t(1), t(2)],
                vec![(bb, vec![t(3), t(1)]), (g, ybar(0, 3, 2))],
            )?;
            if wrt == 2 {
                // X̄ over (j, l, c, i).
                b.contract(
                    y,
                    vec![q, s, n, p],
                    xrow(0, 1, 2),
                    vec![(a, vec![t(3), t(0)]), (tt, vec![t(3), t(1), t(2)])],
                )
            } else {
                // Ā over (i, j, l, c).
                b.contract(
                    y,
                    vec![p, q, s, n],
                    vec![t(0), t(1)],
                    vec![(tt, vec![t(0), t(2), t(3)]), (x, xrow(1, 2, 3))],
                )
            }
        }
        _ => {
            // V over (i, l, c, j), then B̄ over (k, l, i, c).
            let v = b.contract(
                y,
                vec![p, s, n, q],
                vec![t(0), t(1), t(2)],
                vec![(a, vec![t(0), t(3)]), (x, xrow(3, 1, 2))],
            )?;
            b.contract(
                y,
                vec![r, s, p, n],
                vec![t(0), t(1)],
                vec![(g, ybar(2, 0, 3)), (v, vec![t(2), t(1), t(3)])],
            )
        }
    }
}
