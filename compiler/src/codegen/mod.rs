//! Stage 6 — codegen: the shaped, optimized graph as plain Rust over
//! fixed-size buffers.
//!
//! For a fn `name` the macro emits `name_with(params..., workspace, out)`,
//! which computes the results into caller storage, `name_into` and `name`
//! around it, and the workspace type (`items`). Leaves are read in place
//! through a flat view of their memory (their storage order,
//! `nodes::placements`); each node runs one loop nest (`kernels`), fused
//! elementwise groups one loop for the group; a result whose layout is its
//! type's storage order is computed straight into the caller's storage, any
//! other is copied there once. The body is emitted twice: the first run
//! records the buffers the kernels declare, `crate::memory` gives each a
//! slot, and the second run binds each buffer to a view of its slot. No
//! heap allocation in steady state, no `unsafe`, and every helper is named
//! by an absolute path through the facade crate.

mod items;
mod kernels;
mod layout;
mod loops;
mod nodes;
mod plan;

use crate::dim::Dim;
use crate::graph::{DType, Graph, Op};
use crate::memory::{self, fusion, Home};
use kernels::{Ctx, Input, Memory};
use layout::Layout;
use nodes::Placement;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

pub use items::{with_name, workspace_name};
pub use plan::const_name as plan_const_name;

/// `name_into` for a fn called `name` (raw identifiers lose their `r#`).
pub fn into_name(name: &Ident) -> Ident {
    format_ident!(
        "{}_into",
        name.to_string().trim_start_matches("r#"),
        span = name.span()
    )
}

/// The generated items for `graph`, named and typed by its signature, and
/// its plan; `vjp_plan`, the plan of its VJP, is appended to its own.
pub fn expand_fn(
    graph: &Graph,
    krate: &TokenStream,
    vjp_plan: Option<&str>,
) -> (TokenStream, String) {
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
    // The caller's storage: plain results, and the factors of `Kron` ones.
    let pod_views: Vec<Ident> = views
        .iter()
        .zip(declared)
        .enumerate()
        .flat_map(|(k, (v, ty))| match ty.kron {
            None => vec![v.clone()],
            Some(_) => vec![hygienic("ka", k), hygienic("kb", k)],
        })
        .collect();
    let inlined = fusion::inlined(graph);
    let refs: Vec<Ident> = (0..declared.len()).map(|k| hygienic("r", k)).collect();
    let emit = |ctx: &Ctx| -> TokenStream {
        let mut body = TokenStream::new();
        // Bind the caller's storage: `&mut` views of the plain results.
        for ((view, r), ty) in views.iter().zip(&refs).zip(declared) {
            if ty.kron.is_none() {
                let n = ty.shape.iter().product::<Dim>();
                body.extend(ctx.flat_view(view, quote!(#r), n, true));
            }
        }
        let mut bufs: Vec<Ident> = Vec::with_capacity(graph.nodes.len());
        for (id, node) in graph.nodes.iter().enumerate() {
            let buf = match (&placements[id], direct[id]) {
                (Placement::Alias(_), _) => bufs[node.args[0]].clone(),
                (_, Some(k)) => views[k].clone(),
                _ => hygienic("v", id),
            };
            // A kron returned as `Kron` and read by nothing else is never
            // formed; an inlined node is computed in its readers' loops.
            let skip = factored[id] || inlined[id] || matches!(placements[id], Placement::Alias(_));
            if !skip {
                ctx.node.set((id, Some(buf.clone())));
                body.extend(nodes::emit(ctx, graph, id, &buf, &bufs, &layouts, &inlined));
            }
            bufs.push(buf);
        }
        ctx.node.set((graph.nodes.len(), None));
        for (k, (&id, ty)) in graph.outputs.iter().zip(declared).enumerate() {
            if direct[id] == Some(k) {
                continue;
            }
            if ty.kron.is_some() {
                body.extend(kron_factors(ctx, graph, id, &refs[k], &bufs, &layouts, k));
                continue;
            }
            let x = Input {
                buf: &bufs[id],
                layout: &layouts[id],
                shape: &graph.nodes[id].shape,
            };
            let want = Layout(ty.storage_order.clone());
            body.extend(kernels::copy(ctx, &views[k], &x, &want.strides(x.shape)));
        }
        body
    };
    let ctx = |memory| Ctx {
        dtype: graph.dtype,
        krate,
        views: &pod_views,
        memory,
        node: std::cell::Cell::new((0, None)),
    };
    // First run: which buffers the kernels declare; then their slots.
    let record = ctx(Memory::Record(Default::default()));
    emit(&record);
    let decls = match record.memory {
        Memory::Record(decls) => decls.into_inner(),
        Memory::Planned(_) => Vec::new(),
    };
    let elem_bytes = match graph.dtype {
        DType::F32 => 4,
        DType::F64 => 8,
    };
    let alias_of: Vec<Option<usize>> = graph
        .nodes
        .iter()
        .zip(&placements)
        .map(|(n, p)| matches!(p, Placement::Alias(_)).then(|| n.args[0]))
        .collect();
    let last = memory::last_reads(graph, &alias_of, &inlined);
    let memory = memory::plan(decls, &last, elem_bytes);
    let planned = ctx(Memory::Planned(&memory));
    let body = emit(&planned);

    let unused = f.params.iter().enumerate().filter(|(k, _)| {
        !graph
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::Leaf { param } if param == *k))
    });
    let unused = unused.map(|(_, p)| {
        let name = &p.name;
        quote! { let _ = &#name; }
    });
    let elem = planned.elem();
    let stack_slots = memory.slots_in(Home::Stack).map(|s| {
        let (name, n) = (kernels::slot_ident(Home::Stack, s.index), s.len.expr());
        quote! { let mut #name = [<#elem as ::core::default::Default>::default(); #n]; }
    });
    let body = quote! { #(#unused)* #(#stack_slots)* #body };
    let own_plan = plan::render(graph, &memory, &inlined, elem_bytes);
    let plan = match vjp_plan {
        Some(vjp) => format!("{own_plan}\n\nvjp:\n{vjp}"),
        None => own_plan.clone(),
    };
    let items = items::fn_items(f, &plan, &refs, body, krate, &memory, graph.dtype);
    let vis = &f.vis;
    let const_name = Ident::new(&plan::const_name(&f.name.to_string()), f.name.span());
    let const_doc = format!(
        " The compiled plan of [`{}`]: one node per line with its op, shape and the rewrite rule that produced it.",
        f.name
    );
    let checks = size_checks(f);
    let code = quote! {
        #checks
        #items
        #[doc = #const_doc]
        // The user did not write this item: reading it is optional.
        #[allow(dead_code)]
        #vis const #const_name: &str = #plan;
    };
    (code, own_plan)
}

/// The relations between sizes the macro could not decide
/// (`shape::SizeCheck`), asserted while rustc compiles the user's crate:
/// `const _: () = assert!(…);` next to the fn. A check on a const generic
/// parameter is asserted inside the fn instead ([`generic_size_checks`]),
/// where rustc evaluates it for each instance. Each assertion carries the
/// message the macro would have given and points at the tokens it is about.
fn size_checks(f: &crate::graph::Signature) -> TokenStream {
    let asserts = f
        .size_checks
        .iter()
        .filter(|c| !c.lhs.is_generic() && !c.rhs.is_generic())
        .map(|c| {
            let assertion = assertion(c);
            quote::quote_spanned! {c.span.start=> const _: () = #assertion; }
        });
    quote! { #(#asserts)* }
}

/// The checks of [`size_checks`] that read a const generic parameter, as
/// inline `const` blocks for the body of the fn.
pub(crate) fn generic_size_checks(f: &crate::graph::Signature) -> TokenStream {
    let asserts = f
        .size_checks
        .iter()
        .filter(|c| c.lhs.is_generic() || c.rhs.is_generic())
        .map(|c| {
            // rustc names the failing instance (`name_with::<3, 4>`) after
            // the message: point the reader there.
            let c = &crate::shape::SizeCheck {
                message: format!(
                    "{} (for the instance rustc names below: `{}_with::<…>` with the sizes in the order of the fn's parameters)",
                    c.message,
                    f.name.to_string().trim_start_matches("r#")
                ),
                ..c.clone()
            };
            let assertion = assertion(c);
            quote::quote_spanned! {c.span.start=> const { #assertion }; }
        });
    quote! { #(#asserts)* }
}

/// `::core::assert!(lhs == rhs, "message")` (or `<` for a position).
fn assertion(c: &crate::shape::SizeCheck) -> TokenStream {
    let (lhs, rhs) = (c.lhs, c.rhs);
    let relation = match c.relation {
        crate::shape::Relation::Eq => quote!(==),
        crate::shape::Relation::Lt => quote!(<),
    };
    // The message is the format string: braces escaped.
    let message = format!("param_graph!: {}", c.message)
        .replace('{', "{{")
        .replace('}', "}}");
    quote::quote_spanned! {c.span.start=> ::core::assert!(#lhs #relation #rhs, #message) }
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
        let n = shape.iter().product::<Dim>();
        let fill = kernels::copy(ctx, &view, &x, &Layout::column_major().strides(shape));
        let bind = ctx.flat_view(&view, quote!(&mut #out.#field), n, true);
        code.extend(quote! {
            #bind
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

/// A local name invisible to the user's code: `__pg_<kind><n>`.
fn hygienic(kind: &str, n: usize) -> Ident {
    Ident::new(&format!("__pg_{kind}{n}"), Span::mixed_site())
}
