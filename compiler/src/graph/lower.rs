//! Lowering: a parsed fn becomes a [`Graph`], with names resolved, ops looked
//! up, attributes validated, and the element type checked across the
//! signature.

use super::attrs::Attrs;
use super::ops::{self, Extras, OpCall, OpSpec};
use super::suggest::nearest;
use super::{DType, Graph, Node, NodeId, Op, Signature, WrittenAxis};
use crate::diagnostics::Diagnostics;
use crate::parse::ast::{Arg, Call, Expr, GraphFn, ReturnType, VjpLeaves};
use crate::span::SpanRange;
use std::collections::BTreeMap;

/// Builds the graph of `f`, reporting every independent problem.
pub fn lower(f: &GraphFn) -> syn::Result<Graph<WrittenAxis>> {
    let mut d = Diagnostics::default();
    let outputs = f.ret.outputs();
    let dtype = outputs.first().map_or(DType::F64, |t| t.dtype);
    let others = outputs
        .iter()
        .skip(1)
        .copied()
        .chain(f.params.iter().map(|p| &p.ty));
    for ty in others {
        if ty.dtype != dtype {
            d.error(
                ty.dtype_span,
                format!(
                    "every tensor of a graph has one element type: the result is `{}`, this is `{}`",
                    dtype.name(),
                    ty.dtype.name()
                ),
            );
        }
    }

    let mut lowering = Lowering {
        graph: Graph {
            sig: Signature::of(f),
            dtype,
            nodes: Vec::new(),
            outputs: Vec::new(),
            rules_applied: Vec::new(),
        },
        scope: BTreeMap::new(),
        d,
    };
    for (k, param) in f.params.iter().enumerate() {
        let name = param.name.to_string();
        if lowering.scope.contains_key(&name) {
            lowering.d.push(
                SpanRange::of(&param.name)
                    .error(format!("the parameter `{name}` is declared twice")),
            );
            continue;
        }
        if matches!(param.ty.form, crate::parse::ast::TypeForm::Kron(_)) {
            lowering.d.push(param.ty.span.error(
                "`Kron` is a result type: pass the factors as two `SMatrix` leaves and write `kron(a, b)`",
            ));
            // Known but unusable: readers of it report nothing more.
            lowering.scope.insert(name, None);
            continue;
        }
        let id = lowering.graph.push(Node {
            op: Op::Leaf { param: k },
            args: Vec::new(),
            arg_spans: Vec::new(),
            span: SpanRange::of(&param.name),
            literal_spans: Vec::new(),
            shape: param.ty.shape(),
            rule: None,
        });
        lowering.scope.insert(name, Some(id));
    }
    lowering.graph.sig.vjp = vjp_leaves(f, &mut lowering.d);
    for binding in &f.lets {
        // A binding whose value failed stays in scope as failed, so its
        // readers do not add "undefined name" errors to the real one.
        let id = lowering.expr(&binding.expr);
        lowering.scope.insert(binding.name.to_string(), id);
    }
    lowering.result(&f.result, &f.ret);
    let Lowering { graph, d, .. } = lowering;
    d.finish(graph)
}

/// The parameters `#[param_graph(vjp …)]` differentiates: every one, in
/// declaration order, for `vjp`; the named ones, in the order listed, for
/// `vjp(b, a)` (each must name a parameter, once).
fn vjp_leaves(f: &GraphFn, d: &mut Diagnostics) -> Option<Vec<usize>> {
    let names = match f.options.vjp.as_ref()? {
        VjpLeaves::All if f.params.is_empty() => {
            d.error(
                f.name.span(),
                format!("`#[param_graph(vjp)]` on `{}`, which has no parameters: there is nothing to differentiate", f.name),
            );
            return None;
        }
        VjpLeaves::All => return Some((0..f.params.len()).collect()),
        VjpLeaves::Only(names) => names,
    };
    let mut chosen = Vec::new();
    for name in names {
        let Some(k) = f.params.iter().position(|p| p.name == *name) else {
            let leaves: Vec<String> = f.params.iter().map(|p| format!("`{}`", p.name)).collect();
            let known = if leaves.is_empty() {
                "the fn has no parameters".to_string()
            } else {
                format!("its parameters are {}", leaves.join(", "))
            };
            d.error(
                name.span(),
                format!(
                    "`vjp({name})`: `{name}` is not a parameter of `{}`; {known}",
                    f.name
                ),
            );
            continue;
        };
        if chosen.contains(&k) {
            d.error(
                name.span(),
                format!("`{name}` is named twice in `vjp(...)`"),
            );
            continue;
        }
        chosen.push(k);
    }
    // In the order listed, as JAX's `argnums`: `vjp(b, a)` returns `(b̄, ā)`.
    Some(chosen)
}

struct Lowering {
    graph: Graph<WrittenAxis>,
    /// Names in scope; `None` for one whose definition failed.
    scope: BTreeMap<String, Option<NodeId>>,
    d: Diagnostics,
}

impl Lowering {
    fn result(&mut self, result: &Expr, ret: &ReturnType) {
        match (result, ret) {
            (Expr::Tuple(elems, span), ReturnType::Tuple(types, ret_span)) => {
                if elems.len() != types.len() {
                    self.d.push(span.error(format!(
                        "the result has {} tensors but the declared return type has {}",
                        elems.len(),
                        types.len()
                    )));
                    self.d.push(ret_span.error("declared here"));
                }
                for elem in elems {
                    if let Some(id) = self.expr(elem) {
                        self.graph.outputs.push(id);
                    }
                }
            }
            (Expr::Tuple(_, span), ReturnType::Single(ty)) => {
                self.d.push(span.error(format!(
                    "the result is a tuple but the declared return type `{}` is one tensor",
                    crate::span::source_text(&ty.syn_type)
                )));
            }
            (expr, ReturnType::Tuple(types, ret_span)) => {
                self.d.push(ret_span.error(format!(
                    "the declared return type is a tuple of {} tensors: end the body with a tuple such as `(a, b)`",
                    types.len()
                )));
                let _ = self.expr(expr);
            }
            (expr, ReturnType::Single(_)) => {
                if let Some(id) = self.expr(expr) {
                    self.graph.outputs.push(id);
                }
            }
        }
    }

    fn expr(&mut self, expr: &Expr) -> Option<NodeId> {
        match expr {
            Expr::Name(ident) => {
                let name = ident.to_string();
                match self.scope.get(&name) {
                    Some(id) => *id,
                    None => {
                        let hint = nearest(&name, self.scope.keys().map(String::as_str))
                            .map(|m| format!("; did you mean `{m}`?"))
                            .unwrap_or_default();
                        self.d.push(SpanRange::of(ident).error(format!(
                            "`{name}` is not a parameter or an earlier `let` name{hint}"
                        )));
                        None
                    }
                }
            }
            Expr::Tuple(_, span) => {
                self.d.push(span.error(
                    "a tuple may only be the whole result of a fn whose return type is a tuple",
                ));
                None
            }
            Expr::Call(call) => self.call(call),
        }
    }

    fn call(&mut self, call: &Call) -> Option<NodeId> {
        let mut tensors = Vec::new();
        let mut tensor_spans = Vec::new();
        let mut keywords = Vec::new();
        let mut extras = Extras {
            numbers: Vec::new(),
            lists: Vec::new(),
        };
        let mut args_ok = true;
        for arg in &call.args {
            match arg {
                Arg::Tensor(e) => {
                    tensor_spans.push(e.span());
                    match self.expr(e) {
                        Some(id) => tensors.push(id),
                        None => args_ok = false,
                    }
                }
                Arg::Number(n) => extras.numbers.push(n),
                Arg::List(items, span) => extras.lists.push((items.as_slice(), *span)),
                Arg::Keyword(key, value) => keywords.push((key, value)),
            }
        }

        let name = call.op.to_string();
        let op_span = SpanRange::of(&call.op);
        let Some(spec) = OpSpec::find(&name) else {
            let hint = nearest(&name, ops::names())
                .map(|m| format!("; did you mean `{m}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "; the ops are {}",
                        ops::names().collect::<Vec<_>>().join(", ")
                    )
                });
            self.d
                .push(op_span.error(format!("unknown op `{name}`{hint}")));
            return None;
        };
        if let Err(e) = ops::check_extras(spec, call.span, &extras) {
            self.d.push(e);
            return None;
        }
        let arity = spec.tensors;
        if tensor_spans.len() != arity {
            let plural = if arity == 1 { "" } else { "s" };
            self.d.push(call.span.error(format!(
                "`{name}` takes {arity} tensor argument{plural}, found {}",
                tensor_spans.len()
            )));
            return None;
        }
        let known = spec.attrs.iter().map(|a| a.name).collect();
        let mut attrs = Attrs::new(&call.op, known, keywords, &mut self.d);
        let built = (spec.build)(&mut OpCall {
            spec,
            span: call.span,
            attrs: &mut attrs,
            extras: &extras,
            dtype: self.graph.dtype,
        });
        // After an early error the op did not read all its attributes; only
        // a complete build can tell which ones are unknown.
        if built.is_ok() {
            attrs.finish(&mut self.d);
        }
        let op = self.d.take(built)?;
        if !args_ok {
            return None;
        }
        Some(
            self.graph.push(Node {
                op,
                args: tensors,
                arg_spans: tensor_spans,
                span: op_span,
                literal_spans: extras
                    .lists
                    .iter()
                    .flat_map(|(items, _)| items.iter().map(|n| n.span))
                    .collect(),
                shape: Vec::new(),
                rule: None,
            }),
        )
    }
}
