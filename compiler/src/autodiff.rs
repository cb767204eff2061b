//! Stage 5 — reverse mode: the graph of `name_vjp`, built from the compiled
//! (optimized, unless `optimize = false`) forward graph.
//!
//! The VJP graph is an ordinary graph: the forward nodes, one hidden leaf
//! per part of the cotangent, and the backward nodes each op's derivative
//! (`graph::derivatives`) adds, walked from the results back to the leaves.
//! Its results are the cotangents of the differentiated leaves. Memory
//! planning and codegen then treat it like any graph, so the forward values
//! the backward pass reads live in the same liveness-planned buffers, stack
//! budget and workspace, elementwise backward nodes fuse into their readers'
//! loops, and forward nodes no cotangent needs are dropped.
//!
//! Cotangents only flow into nodes that depend on a differentiated leaf:
//! constants and the leaves left out of `vjp(…)` cost no backward work. A
//! node read several times sums the cotangents of its readers.

use crate::graph::derivatives::{vjp, Backward, Bug};
use crate::graph::{Cotangent, Float, Graph, Leaf, NodeId, Op, Output, ZipOp};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// The hidden leaf holding part `k` of the cotangent.
fn cotangent_leaf(k: usize) -> Ident {
    Ident::new(&format!("__pg_ct{k}"), Span::mixed_site())
}

/// The `cotangent` parameter of the generated VJP fns (hygienic: a user's
/// parameter of that name stays distinct).
pub fn cotangent_param() -> Ident {
    Ident::new("cotangent", Span::mixed_site())
}

/// `name_vjp` for a fn called `name`.
pub fn vjp_name(name: &Ident) -> Ident {
    format_ident!(
        "{}_vjp",
        name.to_string().trim_start_matches("r#"),
        span = name.span()
    )
}

/// The VJP graph of `forward`, differentiating the leaves of
/// `forward.sig.vjp` (every leaf when it is `None`).
pub fn vjp_graph(forward: &Graph, krate: &TokenStream) -> Result<Graph, Bug> {
    let wrt: Vec<usize> = forward
        .sig
        .vjp
        .clone()
        .unwrap_or_else(|| (0..forward.sig.params.len()).collect());
    let mut graph = forward.clone();
    graph.outputs.clear();
    graph.sig = signature(forward, &wrt, krate);
    let visible = forward.sig.params.len();

    // Which nodes depend on a differentiated leaf.
    let n = forward.nodes.len();
    let mut active = vec![false; n];
    for (id, node) in forward.nodes.iter().enumerate() {
        active[id] = match node.op {
            Op::Leaf { param } => wrt.contains(&param),
            _ => node.args.iter().any(|a| active[*a]),
        };
    }

    // Seed: one hidden leaf per plain result, two (the factors) per `Kron`.
    let mut adjoint: Vec<Option<NodeId>> = vec![None; n];
    let mut b = Backward { graph: &mut graph };
    let mut part = 0;
    for (&out, ty) in forward.outputs.iter().zip(&forward.sig.outputs) {
        let targets = match ty.kron {
            Some(_) => forward.nodes[out].args.clone(),
            None => vec![out],
        };
        for target in targets {
            let leaf = b.push(
                target,
                Op::Leaf {
                    param: visible + part,
                },
                Vec::new(),
            )?;
            part += 1;
            if active[target] {
                accumulate(&mut b, &mut adjoint, target, leaf)?;
            }
        }
    }

    // Reverse topological order: every reader of a node comes after it.
    for id in (0..n).rev() {
        let Some(g) = adjoint[id] else {
            continue;
        };
        let args = forward.nodes[id].args.clone();
        for (k, &arg) in args.iter().enumerate() {
            if !active[arg] {
                continue;
            }
            if let Some(c) = vjp(&mut b, id, g, k)? {
                accumulate(&mut b, &mut adjoint, arg, c)?;
            }
        }
    }

    // Results: each differentiated leaf's cotangent, zeros when no result
    // depends on it.
    let mut outputs = Vec::with_capacity(wrt.len());
    for &param in &wrt {
        let leaf = forward
            .nodes
            .iter()
            .position(|node| node.op == Op::Leaf { param });
        let id = match leaf.and_then(|l| adjoint[l]) {
            Some(id) => id,
            None => {
                let shape = forward.sig.params[param].shape.clone();
                let like = forward.outputs.first().copied().unwrap_or(0);
                let zero = Op::Constant {
                    value: Float(0.0),
                    shape,
                };
                b.push(like, zero, Vec::new())?
            }
        };
        outputs.push(id);
    }
    graph.outputs = outputs;
    graph.reorder();
    Ok(graph)
}

/// Adds cotangent `c` into `adjoint[id]`.
fn accumulate(
    b: &mut Backward,
    adjoint: &mut [Option<NodeId>],
    id: NodeId,
    c: NodeId,
) -> Result<(), Bug> {
    adjoint[id] = Some(match adjoint[id] {
        None => c,
        Some(sum) => b.push(id, Op::Zip(ZipOp::Add), vec![sum, c])?,
    });
    Ok(())
}

/// `name_vjp(params…, cotangent) -> grads`: the forward fn's parameters and
/// hidden leaves for the parts of `cotangent`; one result per
/// differentiated leaf, of its value type.
fn signature(forward: &Graph, wrt: &[usize], krate: &TokenStream) -> crate::graph::Signature {
    let f = &forward.sig;
    let name = vjp_name(&f.name);
    let ct = cotangent_param();
    let mut params = f.params.clone();
    let mut parts = Vec::new();
    let mut types = Vec::new();
    let elem = match forward.dtype {
        crate::graph::DType::F32 => quote!(::core::primitive::f32),
        crate::graph::DType::F64 => quote!(::core::primitive::f64),
    };
    for (k, ty) in f.outputs.iter().enumerate() {
        let t = &ty.ty;
        types.push(quote!(&#t));
        let whole = if f.tuple {
            let k = syn::Index::from(k);
            quote!(#ct.#k)
        } else {
            quote!(#ct)
        };
        match ty.kron {
            Some([p, q, r, s]) => {
                for (field, rows, cols) in [(quote!(a), p, q), (quote!(b), r, s)] {
                    parts.push(quote!(&#whole.#field));
                    params.push(Leaf {
                        name: cotangent_leaf(params.len() - f.params.len()),
                        by_ref: true,
                        ty: {
                            let (rows, cols) = (rows.type_arg(), cols.type_arg());
                            syn::parse_quote!(#krate::nalgebra::SMatrix<#elem, #rows, #cols>)
                        },
                        shape: vec![rows, cols],
                        written: vec![rows.to_string(), cols.to_string()],
                        storage_order: vec![1, 0],
                    });
                }
            }
            None => {
                parts.push(whole);
                params.push(Leaf {
                    name: cotangent_leaf(params.len() - f.params.len()),
                    by_ref: true,
                    ty: ty.ty.clone(),
                    shape: ty.shape.clone(),
                    written: ty.written.clone(),
                    storage_order: ty.storage_order.clone(),
                });
            }
        }
    }
    let cotangent_ty = if f.tuple {
        quote!((#(#types),*))
    } else {
        types.pop().unwrap_or_default()
    };
    let outputs = wrt
        .iter()
        .map(|&k| {
            let p = &f.params[k];
            Output {
                ty: p.ty.clone(),
                span: crate::span::SpanRange::of(&p.name),
                shape: p.shape.clone(),
                written: p.written.clone(),
                storage_order: p.storage_order.clone(),
                kron: None,
            }
        })
        .collect();
    let mut attrs: Vec<syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("doc") && !a.path().is_ident("must_use"))
        .cloned()
        .collect();
    let leaves: Vec<String> = wrt
        .iter()
        .map(|k| format!("`{}`", f.params[*k].name))
        .collect();
    let what = if f.tuple {
        "a tuple of references, one cotangent per result"
    } else if f.outputs.iter().any(|o| o.kron.is_some()) {
        "a `Kron` holding the cotangents of the two factors"
    } else {
        "a cotangent of its result"
    };
    let ret = if wrt.len() == 1 {
        format!("the gradient of {}", leaves.join(""))
    } else {
        format!("the gradients of {}, in that order", leaves.join(", "))
    };
    let doc = format!(
        " The vector–Jacobian product (reverse-mode derivative) of [`{name}`]: given `cotangent`, {what}, returns `∂ Σ(result ⊙ cotangent) / ∂ leaf`, {ret} — torch autograd's value, with its conventions at non-differentiable points (see the README's \"Gradients\").",
        name = f.name
    );
    // The derivative of every op the graph (as compiled) uses: from the
    // catalogue, or for a fused op from `fused_derivative`.
    let mut used: Vec<(&'static str, &'static str)> = Vec::new();
    for node in &forward.nodes {
        let name = node.op.name();
        let derivative = crate::graph::ops::OpSpec::find(name)
            .map(|spec| spec.derivative)
            .filter(|d| !d.is_empty())
            .or_else(|| crate::graph::derivatives::fused_derivative(&node.op));
        if let Some(d) = derivative {
            if !used.iter().any(|(n, _)| *n == name) && !matches!(node.op, Op::Constant { .. }) {
                used.push((name, d));
            }
        }
    }
    let mut doc = doc;
    if !used.is_empty() {
        doc.push_str("\n\n Derivatives of its ops (as compiled), from the op catalogue:\n");
        for (name, d) in used {
            doc.push_str(&format!("\n - `{name}`: {d}"));
        }
    }
    attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
    crate::graph::Signature {
        attrs,
        vis: f.vis.clone(),
        name,
        optimize: f.optimize,
        fuse: f.fuse,
        params,
        outputs,
        tuple: wrt.len() != 1,
        vjp: None,
        generics: f.generics.clone(),
        size_checks: f.size_checks.clone(),
        cotangent: Some(Cotangent {
            ty: cotangent_ty,
            visible: f.params.len(),
            parts,
        }),
    }
}
