//! Stage 5 — codegen: the shaped, optimized graph as plain Rust over
//! fixed-size buffers.
//!
//! For a fn `name` the macro emits `name_into(params..., out)`, which writes
//! the result into caller storage, and `name(params...)`, which keeps the
//! signature as written and returns the result by value through
//! `name_into`. Leaves are read in place through a flat view of their
//! memory (their storage order, `nodes::placements`); each node runs one
//! loop nest over stack buffers (`kernels`); a result whose layout is its
//! type's storage order is computed straight into the caller's storage, any
//! other is copied there once. No heap allocation, no `unsafe`, and every
//! helper is named by an absolute path through the facade crate.

mod kernels;
mod layout;
mod loops;
mod nodes;
mod plan;

use crate::graph::{Graph, Op, Output, Signature};
use kernels::{Ctx, Input};
use layout::Layout;
use nodes::Placement;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

pub use plan::const_name as plan_const_name;

/// `name_into` for a fn called `name` (raw identifiers lose their `r#`).
pub fn into_name(name: &Ident) -> Ident {
    format_ident!(
        "{}_into",
        name.to_string().trim_start_matches("r#"),
        span = name.span()
    )
}

/// The generated items for `graph`, named and typed by its signature.
pub fn expand_fn(graph: &Graph, krate: &TokenStream) -> TokenStream {
    let f = &graph.sig;
    let declared = &f.outputs;
    let placements = nodes::placements(graph);
    let layouts: Vec<Layout> = placements.iter().map(|p| p.layout().clone()).collect();
    let factored = factored_krons(graph);

    // Each output lives behind `&mut` in the caller's storage; a node whose
    // layout is that type's storage order is computed right there.
    let views: Vec<Ident> = (0..declared.len()).map(|k| hygienic("o", k)).collect();
    let mut direct: Vec<Option<usize>> = vec![None; graph.nodes.len()];
    for (k, (&id, ty)) in graph.outputs.iter().zip(declared).enumerate() {
        let fits = matches!(placements[id], Placement::Own(_))
            && !matches!(graph.nodes[id].op, Op::Leaf { .. })
            && ty.kron.is_none()
            && layouts[id] == Layout(ty.storage_order.clone());
        if fits && direct[id].is_none() {
            direct[id] = Some(k);
        }
    }
    let pod_views: Vec<Ident> = views
        .iter()
        .zip(declared)
        .filter(|(_, ty)| ty.kron.is_none())
        .map(|(v, _)| v.clone())
        .collect();
    let ctx = Ctx {
        dtype: graph.dtype,
        krate,
        views: &pod_views,
        stack: std::cell::Cell::new(0),
    };

    let mut body = TokenStream::new();
    // Bind the caller's storage: `&mut` views of the plain results.
    let refs: Vec<Ident> = (0..declared.len()).map(|k| hygienic("r", k)).collect();
    for ((view, r), ty) in views.iter().zip(&refs).zip(declared) {
        if ty.kron.is_none() {
            let (elem, n) = (
                ctx.elem(),
                Literal::usize_unsuffixed(ty.shape.iter().product()),
            );
            body.extend(quote! { let #view: &mut [#elem; #n] = #krate::runtime::flat_mut(#r); });
        }
    }

    let mut bufs: Vec<Ident> = Vec::with_capacity(graph.nodes.len());
    let mut used_params = vec![false; f.params.len()];
    for (id, node) in graph.nodes.iter().enumerate() {
        if let Op::Leaf { param } = node.op {
            used_params[param] = true;
        }
        let buf = match (&placements[id], direct[id]) {
            (Placement::Alias(_), _) => bufs[node.args[0]].clone(),
            (_, Some(k)) => views[k].clone(),
            _ => hygienic("v", id),
        };
        // A kron returned as `Kron` and read by nothing else is never formed.
        if !factored[id] && !matches!(placements[id], Placement::Alias(_)) {
            body.extend(nodes::emit(&ctx, graph, id, &buf, &bufs, &layouts));
        }
        bufs.push(buf);
    }

    for (k, (&id, ty)) in graph.outputs.iter().zip(declared).enumerate() {
        if direct[id] == Some(k) {
            continue;
        }
        if ty.kron.is_some() {
            body.extend(kron_factors(&ctx, graph, id, &refs[k], &bufs, &layouts, k));
            continue;
        }
        let x = Input {
            buf: &bufs[id],
            layout: &layouts[id],
            shape: &graph.nodes[id].shape,
        };
        let want = Layout(ty.storage_order.clone());
        body.extend(kernels::copy(&ctx, &views[k], &x, &want.strides(x.shape)));
    }

    let unused = f
        .params
        .iter()
        .zip(&used_params)
        .filter(|(_, used)| !**used)
        .map(|(p, _)| {
            let name = &p.name;
            quote! { let _ = &#name; }
        });
    let body = quote! { #(#unused)* #body };
    let stack_bytes = ctx.stack.get();
    let plan = plan::render(graph, stack_bytes);
    let items = fn_items(f, &plan, &refs, body, krate);
    let vis = &f.vis;
    let const_name = Ident::new(&plan::const_name(&f.name.to_string()), f.name.span());
    let const_doc = format!(
        " The compiled plan of [`{}`]: one node per line with its op, shape and the rewrite rule that produced it.",
        f.name
    );
    quote! {
        #items
        #[doc = #const_doc]
        // The user did not write this item: reading it is optional.
        #[allow(dead_code)]
        #vis const #const_name: &str = #plan;
    }
}

/// Copies the factors of a `Kron` result into `out.a` and `out.b`, in their
/// column-major storage order.
fn kron_factors(
    ctx: &Ctx,
    graph: &Graph,
    id: usize,
    out: &Ident,
    bufs: &[Ident],
    layouts: &[Layout],
    k: usize,
) -> TokenStream {
    let krate = ctx.krate;
    let elem = ctx.elem();
    let mut code = TokenStream::new();
    for (j, field) in [quote!(a), quote!(b)].iter().enumerate() {
        let arg = graph.nodes[id].args[j];
        let shape = &graph.nodes[arg].shape;
        let x = Input {
            buf: &bufs[arg],
            layout: &layouts[arg],
            shape,
        };
        let view = hygienic(if j == 0 { "ka" } else { "kb" }, k);
        let n = Literal::usize_unsuffixed(shape.iter().product());
        let views = [view.clone()];
        let factor_ctx = Ctx {
            dtype: ctx.dtype,
            krate,
            views: &views,
            stack: std::cell::Cell::new(0),
        };
        let fill = kernels::copy(
            &factor_ctx,
            &view,
            &x,
            &Layout::column_major().strides(shape),
        );
        code.extend(quote! {
            let #view: &mut [#elem; #n] = #krate::runtime::flat_mut(&mut #out.#field);
            #fill
        });
    }
    code
}

/// Nodes returned through a `Kron` result type and read by nothing else:
/// their dense product is never computed.
fn factored_krons(graph: &Graph) -> Vec<bool> {
    let mut factored = vec![false; graph.nodes.len()];
    let declared = &graph.sig.outputs;
    for (&out, ty) in graph.outputs.iter().zip(declared) {
        if ty.kron.is_some() {
            factored[out] = true;
        }
    }
    for (&out, ty) in graph.outputs.iter().zip(declared) {
        if ty.kron.is_none() {
            factored[out] = false;
        }
    }
    for node in &graph.nodes {
        for &arg in &node.args {
            factored[arg] = false;
        }
    }
    factored
}

/// `name` (the signature as written, result by value, the plan in its
/// docs) and `name_into` (the same parameters plus the caller's storage).
fn fn_items(
    f: &Signature,
    plan: &str,
    refs: &[Ident],
    body: TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let attrs = &f.attrs;
    // `name_into` shares `name`'s conditions (`cfg`, `inline`, lints) but
    // not its docs, and it returns nothing to use.
    let into_attrs = f
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("doc") && !a.path().is_ident("must_use"));
    let vis = &f.vis;
    let name = &f.name;
    let into = into_name(name);
    let plan_doc = format!("\n # Plan\n\n ```text\n{plan}\n ```");
    let into_doc = format!(
        " Computes [`{name}`] into caller storage: the same parameters, then `out`, which is overwritten. Use it for results too large to return by value on a small stack."
    );
    let params: Vec<TokenStream> = f
        .params
        .iter()
        .map(|p| {
            let (n, ty) = (&p.name, &p.ty);
            if p.by_ref {
                quote! { #n: &#ty }
            } else {
                quote! { #n: #ty }
            }
        })
        .collect();
    let args = f.params.iter().map(|p| &p.name);
    let out = Ident::new("out", Span::mixed_site());
    let outputs = &f.outputs;
    let zero = |ty: &Output| match ty.kron {
        Some(_) => quote! { #krate::runtime::Kron::zeros() },
        None => quote! { #krate::runtime::zeroed() },
    };
    let (ret, out_param, bind_refs, call_out, values) = match outputs.as_slice() {
        [t] if !f.tuple => {
            let (ty, r, z) = (&t.ty, &refs[0], zero(t));
            (
                quote!(#ty),
                quote! { #out: &mut #ty },
                quote! { let #r = #out; },
                quote! { &mut #r },
                (quote! { let mut #r: #ty = #z; }, quote!(#r)),
            )
        }
        ts => {
            let tys: Vec<&syn::Type> = ts.iter().map(|t| &t.ty).collect();
            let zeros = outputs.iter().map(zero);
            (
                quote! { (#(#tys),*) },
                quote! { #out: (#(&mut #tys),*) },
                quote! { let (#(#refs),*) = #out; },
                quote! { (#(&mut #refs),*) },
                (
                    quote! { #(let mut #refs: #tys = #zeros;)* },
                    quote! { (#(#refs),*) },
                ),
            )
        }
    };
    let (decl_values, result) = values;
    quote! {
        #(#attrs)*
        #[doc = #plan_doc]
        #vis fn #name(#(#params),*) -> #ret {
            #decl_values
            #into(#(#args,)* #call_out);
            #result
        }

        #(#into_attrs)*
        #[doc = #into_doc]
        // One parameter more than the user wrote: not theirs to fix.
        #[allow(clippy::too_many_arguments)]
        #vis fn #into(#(#params,)* #out_param) {
            #bind_refs
            #body
        }
    }
}

/// A local name invisible to the user's code: `__pg_<kind><n>`.
fn hygienic(kind: &str, n: usize) -> Ident {
    Ident::new(&format!("__pg_{kind}{n}"), Span::mixed_site())
}
