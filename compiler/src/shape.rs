//! Stage 3 — shape inference: every node's shape from its arguments', every
//! axis resolved to a non-negative index, and the results checked against the
//! declared return types.
//!
//! A node whose arguments failed is skipped, so one mistake is reported once,
//! not again by everything downstream of it.

use crate::diagnostics::Diagnostics;
use crate::graph::DType;
use crate::graph::{Axis, GaussianPart, Graph, Node, Op};
use crate::span::SpanRange;

/// Fills in `graph`'s shapes and checks them against its declared results.
pub fn infer(graph: &mut Graph) -> syn::Result<()> {
    let mut d = Diagnostics::default();
    let mut failed = vec![false; graph.nodes.len()];
    for id in 0..graph.nodes.len() {
        if graph.nodes[id].args.iter().any(|a| failed[*a]) {
            failed[id] = true;
            continue;
        }
        let arg_shapes: Vec<Vec<usize>> = graph.nodes[id]
            .args
            .iter()
            .map(|a| graph.nodes[*a].shape.clone())
            .collect();
        let inferred = infer_node(&mut graph.nodes[id], &arg_shapes).and_then(|shape| {
            match element_count(&shape) {
                Some(_) => Ok(shape),
                None => Err(too_large(graph.nodes[id].span)),
            }
        });
        match inferred {
            Ok(shape) => graph.nodes[id].shape = shape,
            Err(e) => {
                d.push(e);
                failed[id] = true;
            }
        }
    }
    for (output, ty) in graph.outputs.iter().zip(&graph.sig.outputs) {
        if failed[*output] {
            continue;
        }
        if let Some([p, q, r, s]) = ty.kron {
            let node = &graph.nodes[*output];
            let factors: Vec<&Vec<usize>> =
                node.args.iter().map(|a| &graph.nodes[*a].shape).collect();
            let fits = matches!(node.op, Op::Kron) && factors == [&vec![p, q], &vec![r, s]];
            if !fits {
                let found = if matches!(node.op, Op::Kron) {
                    format!(
                        "`kron` of shapes {}",
                        factors
                            .iter()
                            .map(|s| show(s))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                } else {
                    format!("`{}` of shape {}", node.op.name(), show(&node.shape))
                };
                d.push(ty.span.error(format!(
                    "a `Kron<_, {p}, {q}, {r}, {s}>` result must be `kron(a, b)` with a of shape ({p}, {q}) and b of shape ({r}, {s}); the graph computes {found}"
                )));
            }
            continue;
        }
        let found = &graph.nodes[*output].shape;
        let wanted = &ty.shape;
        if found != wanted {
            d.push(ty.span.error(format!(
                "the declared result has shape {} but the graph computes shape {}{}",
                show(wanted),
                show(found),
                suggest_type(found, graph.dtype)
            )));
        }
    }
    d.finish(())
}

/// `(3, 4)`, `(5,)`, `()`.
pub fn show(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn suggest_type(shape: &[usize], dtype: DType) -> String {
    format!(": declare `{}`", type_name(shape, dtype))
}

/// The type a user writes for a tensor of `shape`: the scalar, an
/// `SVector`, an `SMatrix`, or nested arrays of `SMatrix` for rank 3 and up
/// (the one spelling of a shape as a type; error messages and tests use it).
pub fn type_name(shape: &[usize], dtype: DType) -> String {
    let t = dtype.name();
    match shape {
        [] => t.to_string(),
        [n] => format!("SVector<{t}, {n}>"),
        [outer @ .., r, c] => outer
            .iter()
            .rev()
            .fold(format!("SMatrix<{t}, {r}, {c}>"), |s, n| {
                format!("[{s}; {n}]")
            }),
    }
}

/// Resolves a possibly negative axis against `rank`.
fn resolve(axis: &mut Axis, rank: usize, what: &str, op: &str) -> syn::Result<usize> {
    let r = i64::try_from(rank).unwrap_or(i64::MAX);
    let index = if axis.index < 0 {
        axis.index + r
    } else {
        axis.index
    };
    if rank == 0 {
        return Err(axis.span.error(format!(
            "`{op}` needs an axis, but its argument is a scalar (shape ())"
        )));
    }
    if !(0..r).contains(&index) {
        return Err(axis.span.error(format!(
            "{what} {} is out of range for a tensor of rank {rank}: use 0..={} or -{rank}..=-1",
            axis.index,
            rank - 1
        )));
    }
    axis.index = index;
    Ok(axis.get())
}

fn infer_node(node: &mut Node, args: &[Vec<usize>]) -> syn::Result<Vec<usize>> {
    let op_name = node.op.name();
    let spans = node.arg_spans.clone();
    let node_span = node.span;
    match &mut node.op {
        // Leaves carry their declared shape; fused ops only come from rewrite
        // rules, which set their shapes themselves.
        Op::Leaf { .. }
        | Op::RowMax { .. }
        | Op::RowSumExp { .. }
        | Op::Normalize { .. }
        | Op::OuterContract { .. }
        | Op::KronMatMul
        | Op::GaussianVarSum
        | Op::GaussianFromVar(_) => Ok(node.shape.clone()),
        Op::Constant { shape, .. } => Ok(shape.clone()),
        Op::Map(_) => Ok(args[0].clone()),
        Op::Zip(_) => {
            if args[0] != args[1] {
                return Err(both(&spans, format!(
                    "`{op_name}` needs two tensors of equal shape, found {} and {}",
                    show(&args[0]),
                    show(&args[1])
                )));
            }
            Ok(args[0].clone())
        }
        Op::Reduce { axis, .. } => {
            let a = resolve(axis, args[0].len(), "axis", op_name)?;
            let mut shape = args[0].clone();
            shape.remove(a);
            Ok(shape)
        }
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            resolve(axis, args[0].len(), "axis", op_name)?;
            Ok(args[0].clone())
        }
        Op::Index { axis, indices, spans: index_spans } => {
            let a = resolve(axis, args[0].len(), "axis", op_name)?;
            let size = args[0][a];
            for (i, span) in indices.iter().zip(index_spans.0.iter()) {
                if *i >= size {
                    return Err(span.error(format!(
                        "index {i} is out of range: axis {a} has size {size} (valid indices 0..={})",
                        size - 1
                    )));
                }
            }
            let mut shape = args[0].clone();
            shape[a] = indices.len();
            Ok(shape)
        }
        Op::Kron => {
            if args[0].len() != args[1].len() {
                return Err(both(&spans, format!(
                    "`kron` needs two tensors of equal rank, found rank {} {} and rank {} {}",
                    args[0].len(),
                    show(&args[0]),
                    args[1].len(),
                    show(&args[1])
                )));
            }
            args[0]
                .iter()
                .zip(&args[1])
                .map(|(x, y)| x.checked_mul(*y))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| too_large(node_span))
        }
        Op::Outer { axis, .. } => {
            if args[0].len() != args[1].len() {
                return Err(both(&spans, format!(
                    "`{op_name}` needs two tensors of equal rank, found {} and {}",
                    show(&args[0]),
                    show(&args[1])
                )));
            }
            let a = resolve(axis, args[0].len(), "axis", op_name)?;
            let differ = (0..args[0].len()).find(|k| *k != a && args[0][*k] != args[1][*k]);
            if let Some(k) = differ {
                return Err(both(&spans, format!(
                    "`{op_name}` along axis {a} needs equal sizes on every other axis, but axis {k} has {} and {} (shapes {} and {})",
                    args[0][k],
                    args[1][k],
                    show(&args[0]),
                    show(&args[1])
                )));
            }
            let mut shape = args[0].clone();
            shape[a] = args[0][a]
                .checked_mul(args[1][a])
                .ok_or_else(|| too_large(node_span))?;
            Ok(shape)
        }
        Op::MatMul => match (args[0].as_slice(), args[1].as_slice()) {
            ([m, k1], [k2, n]) if k1 == k2 => Ok(vec![*m, *n]),
            ([_, k1], [k2, _]) => Err(both(&spans, format!(
                "`matmul` inner sizes differ: {} · {} needs the left's columns ({k1}) to equal the right's rows ({k2})",
                show(&args[0]),
                show(&args[1])
            ))),
            _ => {
                let (k, shape) = if args[0].len() != 2 { (0, &args[0]) } else { (1, &args[1]) };
                Err(spans[k].error(format!(
                    "`matmul` multiplies matrices (rank 2), found shape {}",
                    show(shape)
                )))
            }
        },
        Op::MixingWeight => {
            let [k, h] = matrix(op_name, &spans, args, 0, "(K, H)")?;
            // The element count (k·k·h) is checked with every node's.
            Ok(vec![k, checked(&[k, h], node_span)?])
        }
        Op::Gaussian(part) => gaussian(op_name, *part, &spans, args, node_span),
        Op::PolynomialProduct => {
            let [k1, d1] = matrix(op_name, &spans, args, 0, "(K1, D1)")?;
            let [k2, d2] = matrix(op_name, &spans, args, 1, "(K2, D2)")?;
            let rows = checked(&[k1, k2], node_span)?;
            // Both at least 1 and each a buffer's size: no overflow.
            Ok(vec![rows, d1 + d2 - 1])
        }
        Op::PolynomialDifferential { order } => {
            let [k, d] = matrix(op_name, &spans, args, 0, "(K, D)")?;
            Ok(vec![k, d.saturating_sub(*order).max(1)])
        }
        Op::Flatten { start, end } => {
            let rank = args[0].len();
            let written = (start.index, end.index);
            let s = resolve(start, rank, "start", op_name)?;
            let e = resolve(end, rank, "end", op_name)?;
            if s > e {
                let resolved = if written.0 < 0 || written.1 < 0 {
                    format!(" (axes {s} and {e} of a rank-{rank} tensor)")
                } else {
                    String::new()
                };
                return Err(start.span.to(end.span).error(format!(
                    "`flatten` needs start <= end, found start = {} and end = {}{resolved}",
                    written.0, written.1
                )));
            }
            let mut shape = args[0][..s].to_vec();
            shape.push(
                args[0][s..=e]
                    .iter()
                    .try_fold(1usize, |n, d| n.checked_mul(*d))
                    .ok_or_else(|| too_large(node_span))?,
            );
            shape.extend_from_slice(&args[0][e + 1..]);
            Ok(shape)
        }
    }
}

/// The sizes of argument `k`, which must be a matrix (`what` names its axes
/// as cirkit does, without the fold axis).
fn matrix(
    op: &str,
    spans: &[SpanRange],
    args: &[Vec<usize>],
    k: usize,
    what: &str,
) -> syn::Result<[usize; 2]> {
    match args[k].as_slice() {
        [r, c] => Ok([*r, *c]),
        other => Err(spans[k].error(format!(
            "`{op}` takes a matrix of shape {what}, found shape {}",
            show(other)
        ))),
    }
}

/// The product of `sizes`, or an error at `span` when it overflows.
fn checked(sizes: &[usize], span: SpanRange) -> syn::Result<usize> {
    sizes
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .ok_or_else(|| too_large(span))
}

/// The shape of a Gaussian product parameter: every argument a vector, the
/// mean and stddev of one layer of equal sizes; `(K1·K2,)`.
fn gaussian(
    op: &str,
    part: GaussianPart,
    spans: &[SpanRange],
    args: &[Vec<usize>],
    node_span: SpanRange,
) -> syn::Result<Vec<usize>> {
    let names: &[&str] = match part {
        GaussianPart::Stddev => &["s1", "s2"],
        _ => &["m1", "s1", "m2", "s2"],
    };
    for (k, (shape, name)) in args.iter().zip(names).enumerate() {
        if shape.len() != 1 {
            return Err(spans[k].error(format!(
                "`{op}` takes vectors of shape (K,), one entry per Gaussian of a layer; its argument `{name}` has shape {}",
                show(shape)
            )));
        }
    }
    if part != GaussianPart::Stddev {
        for (layer, pair) in [(1, 0), (2, 2)] {
            let (m, s) = (&args[pair], &args[pair + 1]);
            if m != s {
                return Err(both(&spans[pair..pair + 2], format!(
                    "`{op}` needs the means and the standard deviations of layer {layer} to have equal shapes, found {} and {}",
                    show(m),
                    show(s)
                )));
            }
        }
    }
    let (k1, k2) = (args[0][0], args[args.len() - 1][0]);
    Ok(vec![checked(&[k1, k2], node_span)?])
}

/// One error underlining both arguments of a binary op.
fn both(spans: &[SpanRange], message: String) -> syn::Error {
    match spans {
        [first, .., last] => first.to(*last).error(message),
        [only] => only.error(message),
        [] => syn::Error::new(proc_macro2::Span::call_site(), message),
    }
}

/// Number of elements of a tensor, when its buffer can exist at all (its
/// size in bytes fits in `isize`).
pub fn element_count(shape: &[usize]) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))?;
    (n.checked_mul(8)? <= isize::MAX as usize).then_some(n)
}

fn too_large(span: SpanRange) -> syn::Error {
    span.error("this tensor has more elements than any buffer can hold")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::lower::lower;
    use crate::parse::parse_block;

    fn shapes(src: &str) -> syn::Result<Vec<Vec<usize>>> {
        let fns = parse_block(src.parse().unwrap())?;
        let f = &fns[0];
        let mut g = lower(f)?;
        infer(&mut g)?;
        Ok(g.nodes.iter().map(|n| n.shape.clone()).collect())
    }

    #[test]
    fn infers_every_op() {
        let s = shapes(
            "fn f(a: &[SMatrix<f64, 3, 4>; 2], b: &SMatrix<f64, 4, 5>) -> SVector<f64, 24> {
                let k = kron(a, a);
                let o = outer_product(a, a, axis = -1);
                let r = reduce_sum(o, axis = 0);
                let i = index(r, [0, 0], axis = 0);
                let m = matmul(flatten(a, end = 1), b);
                flatten(a)
            }",
        )
        .unwrap();
        assert_eq!(s[2], vec![4, 9, 16]);
        assert_eq!(s[3], vec![2, 3, 16]);
        assert_eq!(s[4], vec![3, 16]);
        assert_eq!(s[5], vec![2, 16]);
        assert_eq!(s[7], vec![6, 5]);
        assert_eq!(s.last().unwrap(), &vec![24]);
    }

    #[test]
    fn reports_independent_errors_together() {
        let e = shapes(
            "fn f(a: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
                let x = softmax(a, axis = 2);
                let y = matmul(a, a);
                a
            }",
        )
        .err()
        .unwrap();
        let messages: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        assert!(
            messages[0].contains("axis 2 is out of range for a tensor of rank 2"),
            "{messages:?}"
        );
        assert!(messages[1].contains("inner sizes differ"), "{messages:?}");
    }

    #[test]
    fn checks_the_declared_result() {
        let e = shapes("fn f(a: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 4, 3> { exp(a) }")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("declared result has shape (4, 3) but the graph computes shape (3, 4)"),
            "{e}"
        );
        assert!(e.contains("SMatrix<f64, 3, 4>"), "{e}");
    }
}
