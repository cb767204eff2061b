//! Stage 3 — shape inference: every node's shape from its arguments', every
//! axis resolved to a non-negative index, and the results checked against the
//! declared return types.
//!
//! A node whose arguments failed is skipped, so one mistake is reported once,
//! not again by everything downstream of it.
//!
//! Sizes may be symbols only rustc knows (`crate::dim`). Two sizes the
//! macro can tell apart (two literals, `K * 4` and `K * 3`) are an error
//! here, as always; two it cannot (`K` and `4`, `K` and `M`, a position and
//! `K`) become a [`SizeCheck`]: a compile-time assertion in the generated
//! code, with this stage's message and span. Inference then goes on with
//! the sizes taken as equal, keeping the one the macro knows more about.

use crate::diagnostics::Diagnostics;
use crate::dim::Dim;
use crate::graph::{Axis, GaussianPart, Graph, Node, Op, Signature, WrittenAxis};
use crate::parse::ast::DType;
use crate::span::SpanRange;
use std::cell::RefCell;

/// A relation between sizes the macro cannot decide, asserted at compile
/// time in the generated code.
#[derive(Clone, Debug)]
pub struct SizeCheck {
    /// The left side.
    pub lhs: Dim,
    /// `==` or `<`.
    pub relation: Relation,
    /// The right side.
    pub rhs: Dim,
    /// The message the macro would have given had it known the values.
    pub message: String,
    /// Where the error points.
    pub span: SpanRange,
}

/// The relation of a [`SizeCheck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Equal sizes.
    Eq,
    /// A position inside a size.
    Lt,
}

/// Resolves every axis of `written`, infers every node's shape and checks
/// the results against the declared types: the graph every later stage
/// works on.
pub fn infer(written: Graph<WrittenAxis>) -> syn::Result<Graph> {
    infer_nodes(written, true)
}

/// [`infer`], with the check of the declared results only when
/// `check_results` (tests compile bodies whose result types they do not
/// know; `testing::example_graph`).
pub fn infer_nodes(written: Graph<WrittenAxis>, check_results: bool) -> syn::Result<Graph> {
    let mut d = Diagnostics::default();
    let Graph {
        mut sig,
        dtype,
        nodes: written_nodes,
        outputs,
        rules_applied,
    } = written;
    let checks = RefCell::new(Vec::new());
    // `None` for a node that failed or reads one that did.
    let mut nodes: Vec<Option<Node>> = Vec::with_capacity(written_nodes.len());
    for node in written_nodes {
        let args: Option<Vec<&[Dim]>> = node
            .args
            .iter()
            .map(|a| nodes[*a].as_ref().map(|n| n.shape.as_slice()))
            .collect();
        let resolved = match args {
            Some(args) => d.take(resolve_node(node, &args, &sig, &checks)),
            None => None,
        };
        nodes.push(resolved);
    }
    for (output, ty) in outputs.iter().zip(&sig.outputs) {
        let Some(node) = nodes[*output].as_ref().filter(|_| check_results) else {
            continue;
        };
        let at = Sites {
            span: ty.span,
            args: &[],
            literals: &[],
            checks: Some(&checks),
        };
        if let Some([p, q, r, s]) = ty.kron {
            let factors: Vec<Option<&Vec<Dim>>> = node
                .args
                .iter()
                .map(|a| nodes[*a].as_ref().map(|n| &n.shape))
                .collect();
            let message = |found: &str| {
                format!(
                    "a `Kron<_, {p}, {q}, {r}, {s}>` result must be `kron(a, b)` with a of shape ({p}, {q}) and b of shape ({r}, {s}); the graph computes {found}"
                )
            };
            let fits = matches!(node.op, Op::Kron)
                && matches!(factors.as_slice(), [Some(a), Some(b)] if {
                    let found = format!("`kron` of shapes {} and {}", show(a), show(b));
                    same_shape(a, &[p, q], &at, || message(&found))
                        && same_shape(b, &[r, s], &at, || message(&found))
                });
            if !fits {
                let found = if matches!(node.op, Op::Kron) {
                    format!(
                        "`kron` of shapes {}",
                        factors
                            .iter()
                            .flatten()
                            .map(|s| show(s))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                } else {
                    format!("`{}` of shape {}", node.op.name(), show(&node.shape))
                };
                d.push(ty.span.error(message(&found)));
            }
            continue;
        }
        let found = &node.shape;
        let wanted = &ty.shape;
        let message = || {
            format!(
                "the declared result has shape {} but the graph computes shape {}{}",
                show_named(&ty.written, wanted),
                show(found),
                suggest_type(found, dtype)
            )
        };
        if !same_shape(wanted, found, &at, message) {
            d.push(ty.span.error(message()));
        }
    }
    d.finish(())?;
    // Every size of a leaf or result is at least 1, as literals are
    // checked to be: one assertion per symbol that one is made of.
    let mut checks = checks.into_inner();
    let typed = sig
        .params
        .iter()
        .map(|p| (&p.shape, &p.ty))
        .chain(sig.outputs.iter().map(|o| (&o.shape, &o.ty)));
    let mut seen: Vec<String> = Vec::new();
    for (shape, ty) in typed {
        for symbol in shape.iter().flat_map(|d| d.symbols()) {
            if seen.contains(&symbol.text) {
                continue;
            }
            seen.push(symbol.text.clone());
            checks.push(SizeCheck {
                lhs: Dim::ZERO,
                relation: Relation::Lt,
                rhs: Dim::symbol(symbol.clone()),
                message: format!(
                    "a dimension must be at least 1 (`{}` is 0): param_graph! does not compile empty tensors",
                    symbol.text
                ),
                span: SpanRange::of(ty),
            });
        }
    }
    sig.size_checks = checks;
    // Every node is shaped once no error was reported.
    let nodes = nodes
        .into_iter()
        .collect::<Option<Vec<Node>>>()
        .ok_or_else(|| {
            syn::Error::new(
                sig.name.span(),
                "internal error in param_graph!: a node was left unshaped",
            )
        })?;
    Ok(Graph {
        sig,
        dtype,
        nodes,
        outputs,
        rules_applied,
    })
}

/// One node with its axes resolved against its first argument's rank and
/// its shape inferred.
fn resolve_node(
    node: Node<WrittenAxis>,
    args: &[&[Dim]],
    sig: &Signature,
    checks: &RefCell<Vec<SizeCheck>>,
) -> syn::Result<Node> {
    let op_name = node.op.name();
    let rank = args.first().map_or(0, |a| a.len());
    let written_range = match &node.op {
        Op::Flatten { start, end } => Some((*start, *end)),
        _ => None,
    };
    let op = node
        .op
        .resolve_axes(|axis, key| resolve(axis, rank, key, op_name))?;
    if let (Some((start, end)), Op::Flatten { start: s, end: e }) = (written_range, &op) {
        let (s, e) = (s.get(), e.get());
        if s > e {
            let resolved = if start.index < 0 || end.index < 0 {
                format!(" (axes {s} and {e} of a rank-{rank} tensor)")
            } else {
                String::new()
            };
            return Err(start.span.to(end.span).error(format!(
                "`flatten` needs start <= end, found start = {} and end = {}{resolved}",
                start.index, end.index
            )));
        }
    }
    let sites = Sites {
        span: node.span,
        args: &node.arg_spans,
        literals: &node.literal_spans,
        checks: Some(checks),
    };
    let shape = shape_of(&op, args, &sites, sig)?;
    if element_count(&shape).is_none() {
        return Err(too_large(node.span));
    }
    Ok(Node {
        op,
        args: node.args,
        arg_spans: node.arg_spans,
        span: node.span,
        literal_spans: node.literal_spans,
        shape,
        rule: node.rule,
    })
}

/// `(3, 4)`, `(5,)`, `()`, `(K, 4)`.
pub fn show(shape: &[Dim]) -> String {
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

/// A shape as written, with its values when it names sizes:
/// `(K, 4) = (16, 4)`; just `(3, 4)` for literals.
pub fn show_named(written: &[String], shape: &[Dim]) -> String {
    let values = show(shape);
    if written.len() != shape.len() {
        return values;
    }
    let names = match written {
        [n] => format!("({n},)"),
        _ => format!("({})", written.join(", ")),
    };
    // Values only where a name stands for a number the macro knows.
    let informative = written
        .iter()
        .zip(shape)
        .any(|(w, d)| d.value().is_some_and(|v| *w != v.to_string()));
    if informative {
        format!("{names} = {values}")
    } else {
        names
    }
}

fn suggest_type(shape: &[Dim], dtype: DType) -> String {
    // No type can hold a product of const generic parameters.
    let writable = shape
        .iter()
        .all(|d| !d.is_generic() || d.monomial().is_some_and(|(c, s)| c == 1 && s.len() == 1));
    if writable {
        format!(": declare `{}`", type_name(shape, dtype))
    } else {
        String::new()
    }
}

/// The type a user writes for a tensor of `shape`: the scalar, an
/// `SVector`, an `SMatrix`, or nested arrays of `SMatrix` for rank 3 and up
/// (the one spelling of a shape as a type; error messages and tests use it).
pub fn type_name(shape: &[Dim], dtype: DType) -> String {
    let t = dtype.name();
    // A generic argument braces an expression; an array length does not.
    let arg = |d: &Dim| {
        crate::span::source_text(&d.type_arg())
            .replace("{ ", "{")
            .replace(" }", "}")
    };
    let len = |d: &Dim| crate::span::source_text(&d.expr());
    match shape {
        [] => t.to_string(),
        [n] => format!("SVector<{t}, {}>", arg(n)),
        [outer @ .., r, c] => outer
            .iter()
            .rev()
            .fold(format!("SMatrix<{t}, {}, {}>", arg(r), arg(c)), |s, n| {
                format!("[{s}; {}]", len(n))
            }),
    }
}

/// Resolves a possibly negative axis against `rank`.
fn resolve(axis: WrittenAxis, rank: usize, what: &str, op: &str) -> syn::Result<Axis> {
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
    match usize::try_from(index) {
        Ok(index) if index < rank => Ok(Axis::checked(index)),
        _ => Err(axis.span.error(format!(
            "{what} {} is out of range for a tensor of rank {rank}: use 0..={} or -{rank}..=-1",
            axis.index,
            rank - 1
        ))),
    }
}

/// Where a node's pieces were written, for its shape errors. Nodes a rule
/// adds carry their root's sites.
#[derive(Clone, Copy)]
pub struct Sites<'a> {
    /// The op.
    pub span: SpanRange,
    /// Each tensor argument.
    pub args: &'a [SpanRange],
    /// Each positional literal (`index` positions).
    pub literals: &'a [SpanRange],
    /// Where shape inference records the relations it cannot decide;
    /// `None` after it (rules, derivatives, the validator), where such a
    /// relation was already recorded and is taken to hold.
    pub checks: Option<&'a RefCell<Vec<SizeCheck>>>,
}

impl Sites<'_> {
    fn arg(&self, k: usize) -> SpanRange {
        self.args.get(k).copied().unwrap_or(self.span)
    }

    /// These sites with the span over `spans` (the arguments a relation
    /// is about), for its error or its size check.
    fn over(&self, spans: &[SpanRange]) -> Self {
        Sites {
            span: both_span(spans, self.span),
            ..*self
        }
    }
}

/// The shape of `op` applied to arguments of shapes `args`: the one shape
/// rule of every op, the fused ones included (rules and the validator ask
/// it too). Errors point into `at`.
pub fn shape_of(op: &Op, args: &[&[Dim]], at: &Sites, sig: &Signature) -> syn::Result<Vec<Dim>> {
    let op_name = op.name();
    let spans = at.args;
    let node_span = at.span;
    match op {
        Op::Leaf { param } => Ok(sig.params[*param].shape.clone()),
        Op::Constant { shape, .. } => {
            // A size only rustc knows (`K`, `{N - 1}`) must be at least 1.
            if let Some(checks) = at.checks {
                for (k, d) in shape.iter().enumerate().filter(|(_, d)| d.is_symbolic()) {
                    checks.borrow_mut().push(SizeCheck {
                        lhs: Dim::ZERO,
                        relation: Relation::Lt,
                        rhs: *d,
                        message: format!(
                            "`constant`'s shape has a dimension of at least 1 in every axis: axis {k} is `{d}`, which is 0 here"
                        ),
                        span: node_span,
                    });
                }
            }
            Ok(shape.clone())
        }
        Op::Map(_) => Ok(args[0].to_vec()),
        Op::RowMax { axis } | Op::RowSumExp { axis } => {
            let mut shape = args[0].to_vec();
            shape.remove(axis.get());
            Ok(shape)
        }
        // Read from `(x, m, s)`: x's shape.
        Op::Normalize { .. } => Ok(args[0].to_vec()),
        // The summed variances, the last argument, have the result's shape.
        Op::GaussianFromVar(_) => Ok(args[args.len() - 1].to_vec()),
        Op::OuterContract { outer, reduce } => {
            let mut shape = outer_shape(op_name, args, at, outer.get())?;
            shape.remove(reduce.get());
            Ok(shape)
        }
        Op::KronMatMul => {
            let kron = kron_shape(args, at)?;
            matmul_shape(&[&kron, args[2]], at)
        }
        Op::GaussianVarSum => {
            let (k1, k2) = (args[0][0], args[1][0]);
            Ok(vec![checked(&[k1, k2], node_span)?])
        }
        Op::Zip(_) => zip_shape(op_name, args, spans, at),
        Op::SumNormalize { .. } | Op::LogNormalize { .. } => Ok(args[0].to_vec()),
        // `(a, b, ḡ)`: the cotangent has the broadcast shape.
        Op::ZipVjp { .. } => {
            let shape = zip_shape(op_name, &args[..2], spans, at)?;
            expect(at, same_shape(args[2], &shape, at, String::new))?;
            Ok(shape)
        }
        Op::SumNormalizeVjp { .. } => same_shapes(args, at).map(|()| args[0].to_vec()),
        Op::Reduce { axis, .. } => {
            let a = axis.get();
            let mut shape = args[0].to_vec();
            shape.remove(a);
            Ok(shape)
        }
        Op::Softmax { .. } | Op::LogSoftmax { .. } => Ok(args[0].to_vec()),
        Op::Index { axis, indices } => {
            let a = axis.get();
            let size = args[0][a];
            for (k, i) in indices.iter().enumerate() {
                let span = at.literals.get(k).copied().unwrap_or(node_span);
                let message = || {
                    let valid = match size.value() {
                        Some(n) => format!("0..={}", n.saturating_sub(1)),
                        None => format!("0..{size}"),
                    };
                    format!("index {i} is out of range: axis {a} has size {size} (valid indices {valid})")
                };
                let inside = match (i.value(), size.value()) {
                    (Some(i), Some(n)) => i < n,
                    // Every size is at least 1 (asserted per symbol).
                    (Some(0), None) => true,
                    // `N - 1` in an axis of `N`: no check is needed.
                    _ if i.certainly_ge(Dim::ZERO) && size.certainly_ge(*i + 1) => true,
                    // `N`, `N + 1` in an axis of `N`: out of range for
                    // every value.
                    _ if i.certainly_ge(size) => false,
                    _ => {
                        if let Some(checks) = at.checks {
                            checks.borrow_mut().push(SizeCheck {
                                lhs: *i,
                                relation: Relation::Lt,
                                rhs: size,
                                message: message(),
                                span,
                            });
                        }
                        true
                    }
                };
                if !inside {
                    return Err(span.error(message()));
                }
            }
            let mut shape = args[0].to_vec();
            shape[a] = Dim::known(indices.len());
            Ok(shape)
        }
        Op::Kron => kron_shape(args, at),
        Op::Outer { axis, .. } => outer_shape(op_name, args, at, axis.get()),
        Op::MatMul => matmul_shape(args, at),
        Op::MixingWeight => {
            let [k, h] = matrix(op_name, at, args, 0, "(K, H)")?;
            // The element count (k·k·h) is checked with every node's.
            Ok(vec![k, checked(&[k, h], node_span)?])
        }
        Op::Gaussian(part) => gaussian(op_name, *part, at, args),
        Op::PolynomialProduct => {
            let [k1, d1] = matrix(op_name, at, args, 0, "(K1, D1)")?;
            let [k2, d2] = matrix(op_name, at, args, 1, "(K2, D2)")?;
            let rows = checked(&[k1, k2], node_span)?;
            // Both at least 1 and each a buffer's size: no overflow.
            Ok(vec![rows, d1 + d2 - 1])
        }
        Op::PolynomialDifferential { order } => {
            let [k, d] = matrix(op_name, at, args, 0, "(K, D)")?;
            Ok(vec![k, differentiated(d, *order, at)?])
        }
        Op::Flatten { start, end } => {
            let (s, e) = (start.get(), end.get());
            let mut shape = args[0][..s].to_vec();
            shape.push(checked(&args[0][s..=e], node_span)?);
            shape.extend_from_slice(&args[0][e + 1..]);
            Ok(shape)
        }
        // The backward ops are built by the compiler: a mismatch is its bug,
        // which the validator reports.
        Op::MapVjp(_) => same_shapes(args, at).map(|()| args[0].to_vec()),
        Op::LseVjp { axis } | Op::ProdVjp { axis } => {
            let mut row = args[0].to_vec();
            row.remove(axis.get());
            expect(
                at,
                same_shape(args[1], &row, at, String::new)
                    && same_shape(args[2], &row, at, String::new),
            )?;
            Ok(args[0].to_vec())
        }
        Op::SoftmaxVjp { .. } => same_shapes(args, at).map(|()| args[0].to_vec()),
        Op::IndexVjp {
            axis,
            indices,
            size,
        } => {
            let a = axis.get();
            expect(at, args[0].get(a) == Some(&Dim::known(indices.len())))?;
            let mut shape = args[0].to_vec();
            shape[a] = *size;
            Ok(shape)
        }
        Op::Contract(c) => {
            expect(
                at,
                c.index.len() == args.len() + 1 && c.dims.iter().all(|d| *d != 0),
            )?;
            for (k, arg) in args.iter().enumerate() {
                expect(at, same_shape(&c.shape(k + 1), arg, at, String::new))?;
            }
            Ok(c.shape(0))
        }
        Op::GaussianVjp { part, wrt } => {
            // The forward arguments, `v`, then `ḡ` of `v`'s shape.
            let n = args.len();
            expect(
                at,
                n >= 4 && same_shape(args[n - 1], args[n - 2], at, String::new) && *wrt < n - 2,
            )?;
            let forward: Vec<&[Dim]> = args[..n - 2].to_vec();
            let y = gaussian(op_name, *part, at, &forward)?;
            expect(at, same_shape(&y, args[n - 1], at, String::new))?;
            Ok(args[*wrt].to_vec())
        }
        Op::PolynomialDifferentialVjp { order, size } => {
            let [k, d] = matrix(op_name, at, args, 0, "(K, D)")?;
            expect(at, d == differentiated(*size, *order, at)?)?;
            Ok(vec![k, *size])
        }
    }
}

/// The shape of a zip: its arguments' when equal; the other's when one is a
/// scalar `()` (broadcast, as torch broadcasts a 0-d tensor). Any other
/// mismatch is an error: only scalars broadcast.
fn zip_shape(
    op_name: &str,
    args: &[&[Dim]],
    spans: &[SpanRange],
    at: &Sites,
) -> syn::Result<Vec<Dim>> {
    let message = |a: &[Dim], b: &[Dim]| {
        format!(
            "`{op_name}` needs two tensors of equal shape, or a scalar `()` and a tensor (only scalars broadcast), found {} and {}",
            show(a),
            show(b)
        )
    };
    let site = at.over(spans);
    match (args[0], args[1]) {
        ([], b) => Ok(b.to_vec()),
        (a, []) => Ok(a.to_vec()),
        (a, b) if same_shape(a, b, &site, || message(a, b)) => Ok(unified(a, b)),
        (a, b) => Err(both(spans, message(a, b))),
    }
}

/// Whether `a` and `b` are one shape: equal ranks, and per axis sizes that
/// are equal, or that the macro cannot tell apart — recorded as a
/// [`SizeCheck`] (with `message`, at `at.span`) during shape inference.
pub fn same_shape(a: &[Dim], b: &[Dim], at: &Sites, message: impl Fn() -> String) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| same_size(*x, *y, at, &message))
}

/// [`same_shape`] for one size.
pub fn same_size(a: Dim, b: Dim, at: &Sites, message: impl Fn() -> String) -> bool {
    if a == b {
        return true;
    }
    if (a.value().is_some() && b.value().is_some()) || a.certainly_differs(b) {
        return false;
    }
    if let Some(checks) = at.checks {
        let mut checks = checks.borrow_mut();
        let known = checks.iter().any(|c| {
            c.relation == Relation::Eq && ((c.lhs, c.rhs) == (a, b) || (c.lhs, c.rhs) == (b, a))
        });
        if !known {
            checks.push(SizeCheck {
                lhs: a,
                relation: Relation::Eq,
                rhs: b,
                message: message(),
                span: at.span,
            });
        }
    }
    true
}

/// Whether `a` and `b` may be one shape: equal, or equal up to relations
/// between sizes the macro cannot decide (shape inference asserted those,
/// [`SizeCheck`]). For the checks after inference (the validator).
pub fn may_equal(a: &[Dim], b: &[Dim]) -> bool {
    let never = Sites {
        span: SpanRange::of(&proc_macro2::TokenStream::new()),
        args: &[],
        literals: &[],
        checks: None,
    };
    same_shape(a, b, &never, String::new)
}

/// Of two shapes taken as equal, per axis the size the macro knows more
/// about: a number over a symbol.
fn unified(a: &[Dim], b: &[Dim]) -> Vec<Dim> {
    a.iter()
        .zip(b)
        .map(|(x, y)| if x.is_symbolic() { *y } else { *x })
        .collect()
}

/// `d - order` coefficients left after `order` derivatives, at least 1.
/// For a `d` only rustc knows, `d - order` with `order < d` asserted: the
/// `(K, 1)` of zeros that `d <= order` gives has a shape that depends on
/// the value, which the generated types cannot follow.
fn differentiated(d: Dim, order: usize, at: &Sites) -> syn::Result<Dim> {
    match d.value() {
        Some(d) => Ok(Dim::known(d.saturating_sub(order).max(1))),
        None => {
            if let Some(checks) = at.checks {
                checks.borrow_mut().push(SizeCheck {
                    lhs: Dim::known(order),
                    relation: Relation::Lt,
                    rhs: d,
                    message: format!(
                        "`polynomial_differential` of order {order} needs more than {order} coefficients when their number ({d}) is a size only the compiler knows (with at most {order}, the result would be one zero per row, a shape that depends on the value)"
                    ),
                    span: at.span,
                });
            }
            Ok(d - order)
        }
    }
}

fn both_span(spans: &[SpanRange], fallback: SpanRange) -> SpanRange {
    match spans {
        [first, .., last] => first.to(*last),
        [only] => *only,
        [] => fallback,
    }
}

/// An internal error at the node unless `ok`: a backward node whose
/// arguments do not fit it.
fn expect(at: &Sites, ok: bool) -> syn::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(at
            .span
            .error("a backward node's arguments have the wrong shapes"))
    }
}

/// An internal error unless every argument has the first's shape.
fn same_shapes(args: &[&[Dim]], at: &Sites) -> syn::Result<()> {
    expect(
        at,
        args.iter().all(|a| same_shape(a, args[0], at, String::new)),
    )
}

/// An error unless `x` and `y` have one rank; `spell` writes each shape.
fn same_rank(
    op_name: &str,
    x: &[Dim],
    y: &[Dim],
    at: &Sites,
    spell: fn(&[Dim]) -> String,
) -> syn::Result<()> {
    if x.len() == y.len() {
        return Ok(());
    }
    Err(both(
        at.args,
        format!(
            "`{op_name}` needs two tensors of equal rank, found {} and {}",
            spell(x),
            spell(y)
        ),
    ))
}

/// `kron(a, b)`: equal ranks, sizes multiplied per axis.
fn kron_shape(args: &[&[Dim]], at: &Sites) -> syn::Result<Vec<Dim>> {
    let (a, b) = (args[0], args[1]);
    same_rank("kron", a, b, at, |s| {
        format!("rank {} {}", s.len(), show(s))
    })?;
    a.iter()
        .zip(b)
        .map(|(x, y)| x.checked_mul(*y))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| too_large(at.span))
}

/// `outer_product`/`outer_sum` along `axis`: equal elsewhere, that axis's
/// sizes multiplied.
fn outer_shape(op_name: &str, args: &[&[Dim]], at: &Sites, axis: usize) -> syn::Result<Vec<Dim>> {
    let (x, y) = (args[0], args[1]);
    same_rank(op_name, x, y, at, show)?;
    let message = |k: usize| {
        format!(
            "`{op_name}` along axis {axis} needs equal sizes on every other axis, but axis {k} has {} and {} (shapes {} and {})",
            x[k],
            y[k],
            show(x),
            show(y)
        )
    };
    let site = at.over(at.args);
    let differ =
        (0..x.len()).find(|k| *k != axis && !same_size(x[*k], y[*k], &site, || message(*k)));
    if let Some(k) = differ {
        return Err(both(at.args, message(k)));
    }
    let mut shape = unified(x, y);
    shape[axis] = x[axis]
        .checked_mul(y[axis])
        .ok_or_else(|| too_large(at.span))?;
    Ok(shape)
}

/// `(m, k) · (k, n) → (m, n)`.
fn matmul_shape(args: &[&[Dim]], at: &Sites) -> syn::Result<Vec<Dim>> {
    let message = |k1: &Dim, k2: &Dim| {
        format!(
            "`matmul` inner sizes differ: {} · {} needs the left's columns ({k1}) to equal the right's rows ({k2})",
            show(args[0]),
            show(args[1])
        )
    };
    let site = at.over(at.args);
    match (args[0], args[1]) {
        ([m, k1], [k2, n]) if same_size(*k1, *k2, &site, || message(k1, k2)) => Ok(vec![*m, *n]),
        ([_, k1], [k2, _]) => Err(both(at.args, message(k1, k2))),
        _ => {
            let k = if args[0].len() != 2 { 0 } else { 1 };
            Err(at.arg(k).error(format!(
                "`matmul` multiplies matrices (rank 2), found shape {}",
                show(args[k])
            )))
        }
    }
}

/// The sizes of argument `k`, which must be a matrix (`what` names its axes
/// as cirkit does, without the fold axis).
fn matrix(op: &str, at: &Sites, args: &[&[Dim]], k: usize, what: &str) -> syn::Result<[Dim; 2]> {
    match args[k] {
        [r, c] => Ok([*r, *c]),
        other => Err(at.arg(k).error(format!(
            "`{op}` takes a matrix of shape {what}, found shape {}",
            show(other)
        ))),
    }
}

/// The product of `sizes`, or an error at `span` when known sizes
/// overflow.
fn checked(sizes: &[Dim], span: SpanRange) -> syn::Result<Dim> {
    sizes
        .iter()
        .try_fold(Dim::ONE, |n, d| n.checked_mul(*d))
        .ok_or_else(|| too_large(span))
}

/// The shape of a Gaussian product parameter: every argument a vector, the
/// mean and stddev of one layer of equal sizes; `(K1·K2,)`.
fn gaussian(op: &str, part: GaussianPart, at: &Sites, args: &[&[Dim]]) -> syn::Result<Vec<Dim>> {
    let names: &[&str] = match part {
        GaussianPart::Stddev => &["s1", "s2"],
        _ => &["m1", "s1", "m2", "s2"],
    };
    for (k, (shape, name)) in args.iter().zip(names).enumerate() {
        if shape.len() != 1 {
            return Err(at.arg(k).error(format!(
                "`{op}` takes vectors of shape (K,), one entry per Gaussian of a layer; its argument `{name}` has shape {}",
                show(shape)
            )));
        }
    }
    if part != GaussianPart::Stddev {
        for (layer, pair) in [(1, 0), (2, 2)] {
            let (m, s) = (args[pair], args[pair + 1]);
            let spans = at.args.get(pair..pair + 2).unwrap_or(at.args);
            let message = || {
                format!(
                    "`{op}` needs the means and the standard deviations of layer {layer} to have equal shapes, found {} and {}",
                    show(m),
                    show(s)
                )
            };
            let site = at.over(spans);
            if !same_shape(m, s, &site, message) {
                return Err(both(spans, message()));
            }
        }
    }
    let (k1, k2) = (args[0][0], args[args.len() - 1][0]);
    Ok(vec![checked(&[k1, k2], at.span)?])
}

/// One error underlining both arguments of a binary op.
fn both(spans: &[SpanRange], message: String) -> syn::Error {
    both_span(spans, SpanRange::single(proc_macro2::Span::call_site())).error(message)
}

/// Number of elements of a tensor, when its buffer can exist at all (its
/// size in bytes fits in `isize`; for a size only rustc knows, rustc
/// checks that when it sizes the types).
pub fn element_count(shape: &[Dim]) -> Option<Dim> {
    let n = shape.iter().try_fold(Dim::ONE, |n, d| n.checked_mul(*d))?;
    match n.value() {
        Some(v) => (v.checked_mul(8)? <= isize::MAX as usize).then_some(n),
        None => Some(n),
    }
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
        let g = infer(lower(f)?)?;
        Ok(g.nodes
            .iter()
            .map(|n| n.shape.iter().map(|d| d.value().unwrap()).collect())
            .collect())
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

    /// The size checks shape inference records for `src`, or its error.
    fn checks(src: &str) -> Result<Vec<(String, String)>, String> {
        let fns = parse_block(src.parse().unwrap()).map_err(|e| e.to_string())?;
        let g = infer(lower(&fns[0]).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        // Without the "at least 1" check of each symbol, tested below.
        Ok(g.sig
            .size_checks
            .iter()
            .filter(|c| c.lhs != Dim::ZERO)
            .map(|c| {
                let op = if c.relation == Relation::Eq {
                    "=="
                } else {
                    "<"
                };
                (format!("{} {op} {}", c.lhs, c.rhs), c.message.clone())
            })
            .collect())
    }

    #[test]
    fn sizes_the_macro_cannot_compare_become_assertions() {
        let c = checks(
            "fn f(a: &SVector<f64, K>, b: &SVector<f64, 4>) -> SVector<f64, 4> { add(a, b) }",
        )
        .unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "K == 4");
        assert!(c[0].1.contains("found (K,) and (4,)"), "{}", c[0].1);
        // The result is declared (4,), the graph computes (4,): the zip
        // keeps the size the macro knows, so no second check.
        let c = checks(
            "fn f(a: &SMatrix<f64, K, 2>) -> SMatrix<f64, 2, 2> { index(a, [0, 5], axis = 0) }",
        )
        .unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "5 < K");
        assert!(c[0]
            .1
            .contains("index 5 is out of range: axis 0 has size K"));
        // A position built on the axis's own size: `N - 1` is in range
        // (its check, `N - 1 < N`, also keeps `N - 1` from underflowing),
        // `N` and `N + 1` are out of range for every `N`.
        let ok =
            checks("fn f(a: &SVector<f64, N>) -> SVector<f64, 1> { index(a, [N - 1]) }").unwrap();
        assert!(ok.iter().all(|(c, _)| c == "N - 1 < N"), "{ok:?}");
        for position in ["N", "N + 1", "N - 1 + 1"] {
            let e = checks(&format!(
                "fn f(a: &SVector<f64, N>) -> SVector<f64, 1> {{ index(a, [{position}]) }}"
            ));
            match e {
                Err(e) => assert!(e.contains("out of range"), "{position}: {e}"),
                Ok(c) => assert!(!c.is_empty(), "{position} is not checked"),
            }
        }
        let c = checks(
            "fn f(a: &SMatrix<f64, K, M>, b: &SMatrix<f64, { sizes::N }, 3>) -> SMatrix<f64, K, 3> { matmul(a, b) }",
        )
        .unwrap();
        assert_eq!(c[0].0, "M == sizes::N");
        // One relation is asserted once, however often it is met.
        let c = checks(
            "fn f(a: &SVector<f64, K>, b: &SVector<f64, M>) -> SVector<f64, K> { add(add(a, b), b) }",
        )
        .unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
    }

    #[test]
    fn every_symbol_of_a_type_is_asserted_at_least_1() {
        let fns = parse_block(
            "fn f(a: &SMatrix<f64, K, { sizes::M * 2 }>) -> SMatrix<f64, K, { sizes::M * 2 }> { exp(a) }"
                .parse()
                .unwrap(),
        )
        .unwrap();
        let g = infer(lower(&fns[0]).unwrap()).unwrap();
        let positive: Vec<String> = g
            .sig
            .size_checks
            .iter()
            .filter(|c| c.lhs == Dim::ZERO && c.relation == Relation::Lt)
            .map(|c| c.rhs.to_string())
            .collect();
        assert_eq!(positive, ["K", "sizes::M"]);
    }

    #[test]
    fn sizes_the_macro_can_tell_apart_stay_errors() {
        let e = checks(
            "fn f(a: &SVector<f64, { K * 4 }>, b: &SVector<f64, { K * 3 }>) -> SVector<f64, { K * 4 }> { add(a, b) }",
        )
        .unwrap_err();
        assert!(e.contains("found (K * 4,) and (K * 3,)"), "{e}");
        let e =
            checks("fn f(a: &SVector<f64, K>) -> SVector<f64, { K * 2 }> { exp(a) }").unwrap_err();
        assert!(
            e.contains("declared result has shape (K * 2,) but the graph computes shape (K,)"),
            "{e}"
        );
        // Equal products are equal: no check.
        let c = checks(
            "fn f(a: &SVector<f64, { K * M }>, b: &SVector<f64, { M * K }>) -> SVector<f64, { K * M }> { add(a, b) }",
        )
        .unwrap();
        assert!(c.is_empty(), "{c:?}");
    }
}
