//! One node at a time: where its result lives and the loops that compute it.

use super::kernels::{self, Ctx, Elementwise, Group, Input, Member, Operand};
use super::layout::Layout;
use crate::dim::Dim;
use crate::graph::{Graph, NodeId, Op};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// Where a node's result is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A buffer of its own, in this layout.
    Own(Layout),
    /// Its argument's buffer, read in this layout (a flatten of adjacent
    /// axes: same elements, same order).
    Alias(Layout),
}

impl Placement {
    /// The layout, whoever owns the buffer.
    pub fn layout(&self) -> &Layout {
        match self {
            Placement::Own(l) | Placement::Alias(l) => l,
        }
    }
}

/// The placement of every node: each op picks the layout that lets it walk
/// its main input in storage order (leaves keep their type's storage order).
pub fn placements(graph: &Graph) -> Vec<Placement> {
    let mut out: Vec<Placement> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let arg = |k: usize| out[node.args[k]].layout().clone();
        let placement = match &node.op {
            Op::Leaf { param } => {
                Placement::Own(Layout(graph.sig.params[*param].storage_order.clone()))
            }
            Op::Constant { shape, .. } => Placement::Own(Layout::row_major(shape.len())),
            // A zip takes the layout of a tensor argument, not of a scalar.
            Op::Zip(_) if graph.nodes[node.args[0]].shape.is_empty() => Placement::Own(arg(1)),
            Op::ZipVjp { .. } => Placement::Own(arg(2)),
            Op::Map(_)
            | Op::Zip(_)
            | Op::MapVjp(_)
            | Op::SumNormalize { .. }
            | Op::LogNormalize { .. }
            | Op::SumNormalizeVjp { .. }
            | Op::ProdVjp { .. }
            | Op::LseVjp { .. }
            | Op::SoftmaxVjp { .. }
            | Op::IndexVjp { .. }
            | Op::PolynomialDifferentialVjp { .. }
            | Op::Softmax { .. }
            | Op::LogSoftmax { .. }
            | Op::Index { .. }
            | Op::Kron
            | Op::Outer { .. }
            | Op::Normalize { .. }
            | Op::MixingWeight
            | Op::PolynomialProduct
            | Op::PolynomialDifferential { .. } => Placement::Own(arg(0)),
            // A result is computed straight into its caller's storage.
            Op::Contract(_) => match graph.outputs.iter().position(|o| *o == out.len()) {
                Some(k) => Placement::Own(Layout(graph.sig.outputs[k].storage_order.clone())),
                None => Placement::Own(Layout::row_major(node.shape.len())),
            },
            Op::Gaussian(_)
            | Op::GaussianVarSum
            | Op::GaussianFromVar(_)
            | Op::GaussianVjp { .. } => Placement::Own(Layout::row_major(1)),
            Op::Reduce { axis, .. } | Op::RowMax { axis } | Op::RowSumExp { axis } => {
                Placement::Own(arg(0).without(axis.get()))
            }
            Op::OuterContract { reduce, .. } => Placement::Own(arg(0).without(reduce.get())),
            Op::MatMul | Op::KronMatMul => Placement::Own(Layout::column_major()),
            Op::Flatten { start, end } => match arg(0).merged(start.get(), end.get()) {
                Some(layout) => Placement::Alias(layout),
                None => Placement::Own(Layout::row_major(node.shape.len())),
            },
        };
        out.push(placement);
    }
    out
}

/// The statements that compute node `id` into `out`; `bufs[k]` names the
/// buffer of node `k` (earlier nodes only).
pub fn emit(
    ctx: &Ctx,
    graph: &Graph,
    id: NodeId,
    out: &Ident,
    bufs: &[Ident],
    layouts: &[Layout],
    inlined: &[bool],
) -> TokenStream {
    let node = &graph.nodes[id];
    let input = |k: usize| {
        let arg = node.args[k];
        Input {
            buf: &bufs[arg],
            layout: &layouts[arg],
            shape: &graph.nodes[arg].shape,
        }
    };
    let scratch = |kind: &str| Ident::new(&format!("__pg_{kind}{id}"), Span::mixed_site());
    match &node.op {
        Op::Leaf { param } => {
            let p = &graph.sig.params[*param];
            let name = &p.name;
            let n = node.shape.iter().product::<Dim>();
            let arg = if p.by_ref {
                quote!(#name)
            } else {
                quote!(&#name)
            };
            // Read in place: the leaf's memory is its storage order.
            ctx.flat_view(out, arg, n, false)
        }
        Op::Constant { value, shape } => ctx.filled(out, shape.iter().product(), value.0),
        Op::Map(_) | Op::Zip(_) | Op::MapVjp(_) | Op::ZipVjp { .. } => {
            let group = group(graph, id, bufs, layouts, inlined);
            kernels::fused(ctx, out, &group, &node.shape, &layouts[id])
        }
        Op::Reduce { kind, axis } => {
            let scratch = (&scratch("m"), &scratch("e"));
            kernels::reduce(ctx, out, scratch, *kind, &input(0), axis.get())
        }
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            let log = matches!(node.op, Op::LogSoftmax { .. });
            kernels::softmax(
                ctx,
                out,
                &scratch("m"),
                &scratch("s"),
                &input(0),
                axis.get(),
                log,
            )
        }
        Op::Index { axis, indices, .. } => {
            kernels::index(ctx, out, &scratch("t"), &input(0), axis.get(), indices)
        }
        Op::Kron => kernels::kron(ctx, out, &input(0), &input(1)),
        Op::Outer { kind, axis } => {
            kernels::outer(ctx, out, *kind, &input(0), &input(1), axis.get())
        }
        Op::MatMul => kernels::matmul(ctx, out, &input(0), &input(1)),
        Op::RowMax { axis } => kernels::row_max(ctx, out, &input(0), axis.get()),
        Op::RowSumExp { axis } => {
            let (t, m) = (scratch("e"), &bufs[node.args[1]]);
            kernels::row_sum_exp(ctx, out, &t, &input(0), m, axis.get())
        }
        Op::Normalize { axis, log } => {
            let stats = (&bufs[node.args[1]], &bufs[node.args[2]]);
            kernels::normalize(ctx, out, &scratch("s"), &input(0), stats, axis.get(), *log)
        }
        Op::OuterContract { outer, reduce } => {
            kernels::outer_contract(ctx, out, &input(0), &input(1), outer.get(), reduce.get())
        }
        Op::KronMatMul => {
            kernels::kron_matmul(ctx, out, &scratch("t"), &input(0), &input(1), &input(2))
        }
        Op::MixingWeight => kernels::mixing_weight(ctx, out, &input(0)),
        Op::Gaussian(part) => {
            let args: Vec<Input> = (0..node.args.len()).map(input).collect();
            kernels::gaussian(ctx, out, *part, &args)
        }
        Op::GaussianVarSum => kernels::gaussian_var_sum(ctx, out, &input(0), &input(1)),
        Op::GaussianFromVar(part) => {
            let args: Vec<Input> = (0..node.args.len()).map(input).collect();
            kernels::gaussian_from_var(ctx, out, *part, &args)
        }
        Op::PolynomialProduct => kernels::polynomial_product(ctx, out, &input(0), &input(1)),
        Op::PolynomialDifferential { order } => {
            kernels::polynomial_differential(ctx, out, &input(0), *order)
        }
        Op::Contract(c) => {
            let args: Vec<Input> = (0..node.args.len()).map(input).collect();
            let so = layouts[id].strides(&node.shape);
            kernels::contract(ctx, out, &scratch("t"), c, &so, &args)
        }
        Op::SumNormalize { axis } => kernels::sum_normalize(ctx, out, &input(0), axis.get(), false),
        Op::LogNormalize { axis } => kernels::sum_normalize(ctx, out, &input(0), axis.get(), true),
        Op::SumNormalizeVjp { axis } => {
            let s = scratch("s");
            kernels::sum_normalize_vjp(ctx, out, &s, &input(0), &input(1), &input(2), axis.get())
        }
        Op::ProdVjp { axis } => {
            kernels::prod_vjp(ctx, out, &input(0), &input(1), &input(2), axis.get())
        }
        Op::LseVjp { axis } => {
            kernels::lse_vjp(ctx, out, &input(0), &input(1), &input(2), axis.get())
        }
        Op::SoftmaxVjp { axis, log } => {
            let s = scratch("s");
            kernels::softmax_vjp(ctx, out, &s, &input(0), &input(1), axis.get(), *log)
        }
        Op::IndexVjp {
            axis,
            indices,
            size,
        } => kernels::index_vjp(
            ctx,
            out,
            &scratch("t"),
            &input(0),
            axis.get(),
            indices,
            *size,
        ),
        Op::GaussianVjp { part, wrt } => {
            let args: Vec<Input> = (0..node.args.len()).map(input).collect();
            kernels::gaussian_vjp(ctx, out, *part, *wrt, &args)
        }
        Op::PolynomialDifferentialVjp { order, size } => {
            kernels::polynomial_differential_vjp(ctx, out, &input(0), *order, *size)
        }
        Op::Flatten { start, end } => {
            let x = input(0);
            let so = layouts[id].strides(&node.shape);
            let to = flatten_strides(x.shape, &so, start.get(), end.get());
            kernels::copy(ctx, out, &x, &to)
        }
    }
}

/// Output offset of each input axis for `flatten(start..=end)` into a
/// buffer with strides `so`.
fn flatten_strides(shape: &[Dim], so: &[Dim], start: usize, end: usize) -> Vec<Dim> {
    (0..shape.len())
        .map(|axis| {
            if axis < start {
                so[axis]
            } else if axis <= end {
                so[start] * shape[axis + 1..=end].iter().product::<Dim>()
            } else {
                so[axis - (end - start)]
            }
        })
        .collect()
}

/// The fused group rooted at elementwise node `root`: it and the nodes
/// inlined into it, in topological order.
fn group<'a>(
    graph: &'a Graph,
    root: NodeId,
    bufs: &'a [Ident],
    layouts: &'a [Layout],
    inlined: &[bool],
) -> Group<'a> {
    let mut ids = vec![root];
    let mut k = 0;
    while k < ids.len() {
        for &a in &graph.nodes[ids[k]].args {
            if inlined[a] && !ids.contains(&a) {
                ids.push(a);
            }
        }
        k += 1;
    }
    ids.sort_unstable();
    let members = ids
        .into_iter()
        .filter_map(|id| {
            let node = &graph.nodes[id];
            let op = match node.op {
                Op::Map(m) => Elementwise::Map(m),
                Op::Zip(z) => Elementwise::Zip(z),
                Op::MapVjp(m) => Elementwise::MapVjp(m),
                Op::ZipVjp { op, wrt } => Elementwise::ZipVjp(op, wrt),
                // Only elementwise nodes are inlined.
                _ => return None,
            };
            let args = node
                .args
                .iter()
                .map(|&a| {
                    if inlined[a] {
                        Operand::Member(a)
                    } else {
                        Operand::Input(Input {
                            buf: &bufs[a],
                            layout: &layouts[a],
                            shape: &graph.nodes[a].shape,
                        })
                    }
                })
                .collect();
            Some(Member { id, op, args })
        })
        .collect();
    Group { members }
}
