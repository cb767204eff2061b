//! Stage 5 — codegen: the shaped, optimized graph as a plain Rust fn over
//! fixed-size stack buffers.
//!
//! The fn keeps the signature as written. Its body copies each leaf into a
//! flat buffer in the leaf's storage order, runs one loop nest per node
//! (`kernels`), and builds each result from a buffer in the result type's
//! storage order. No heap allocation, no `unsafe`, and every helper is named
//! by an absolute path through the facade crate.

mod kernels;
mod layout;
mod loops;
mod plan;

use crate::graph::{Graph, Op};
use crate::parse::ast::{GraphFn, ReturnType, TensorType, TypeForm};
use kernels::{Ctx, Input};
use layout::Layout;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

pub use plan::const_name as plan_const_name;

/// The generated fn for `f`, whose graph is `graph`.
pub fn expand_fn(f: &GraphFn, graph: &Graph, krate: &TokenStream) -> TokenStream {
    let ctx = Ctx {
        dtype: graph.dtype,
        krate,
    };
    let mut bufs: Vec<(Ident, Layout)> = Vec::with_capacity(graph.nodes.len());
    let mut body = TokenStream::new();
    let mut used_params = vec![false; f.params.len()];
    let declared = f.ret.outputs();
    let factored = factored_krons(graph, &declared);
    for (id, node) in graph.nodes.iter().enumerate() {
        let out = buf_name("v", id);
        if factored[id] {
            // Returned as `Kron` and read by nothing else: never formed.
            bufs.push((out, Layout::row_major(node.shape.len())));
            continue;
        }
        let input = |k: usize| {
            let (buf, layout) = &bufs[node.args[k]];
            Input {
                buf,
                layout,
                shape: &graph.nodes[node.args[k]].shape,
            }
        };
        let (code, layout) = match &node.op {
            Op::Leaf { param } => {
                used_params[*param] = true;
                let p = &f.params[*param];
                let name = &p.name;
                let arg = if p.by_ref {
                    quote!(#name)
                } else {
                    quote!(&#name)
                };
                (leaf(&ctx, &out, arg, &p.ty), Layout(p.ty.storage_order()))
            }
            Op::Constant { value, shape } => {
                let n: usize = shape.iter().product();
                let lit = ctx.lit(*value);
                let len = proc_macro2::Literal::usize_unsuffixed(n);
                (
                    quote! { let #out = [#lit; #len]; },
                    Layout::row_major(shape.len()),
                )
            }
            Op::Map(op) => {
                let x = input(0);
                (kernels::map(&ctx, &out, *op, &x), x.layout.clone())
            }
            Op::Zip(op) => {
                let (a, b) = (input(0), input(1));
                (kernels::zip(&ctx, &out, *op, &a, &b), a.layout.clone())
            }
            Op::Reduce { kind, axis } => {
                let x = input(0);
                let m = buf_name("m", id);
                let layout = x.layout.without(axis.get());
                (
                    kernels::reduce(&ctx, &out, &m, *kind, &x, axis.get()),
                    layout,
                )
            }
            Op::Softmax { axis } | Op::LogSoftmax { axis } => {
                let x = input(0);
                let log = matches!(node.op, Op::LogSoftmax { .. });
                let (m, s) = (buf_name("m", id), buf_name("s", id));
                (
                    kernels::softmax(&ctx, &out, &m, &s, &x, axis.get(), log),
                    x.layout.clone(),
                )
            }
            Op::Index { axis, indices, .. } => {
                let x = input(0);
                let table = buf_name("t", id);
                (
                    kernels::index(&ctx, &out, &table, &x, axis.get(), indices),
                    x.layout.clone(),
                )
            }
            Op::Kron => {
                let (a, b) = (input(0), input(1));
                (kernels::kron(&ctx, &out, &a, &b), a.layout.clone())
            }
            Op::Outer { kind, axis } => {
                let (a, b) = (input(0), input(1));
                (
                    kernels::outer(&ctx, &out, *kind, &a, &b, axis.get()),
                    a.layout.clone(),
                )
            }
            Op::MatMul => {
                let (a, b) = (input(0), input(1));
                (kernels::matmul(&ctx, &out, &a, &b), Layout::column_major())
            }
            Op::RowMax { axis } => {
                let x = input(0);
                let layout = x.layout.without(axis.get());
                (kernels::row_max(&ctx, &out, &x, axis.get()), layout)
            }
            Op::RowSumExp { axis } => {
                let x = input(0);
                let m = &bufs[node.args[1]].0;
                let layout = x.layout.without(axis.get());
                (kernels::row_sum_exp(&ctx, &out, &x, m, axis.get()), layout)
            }
            Op::Normalize { axis, log } => {
                let x = input(0);
                let (m, s) = (&bufs[node.args[1]].0, &bufs[node.args[2]].0);
                let ls = buf_name("s", id);
                (
                    kernels::normalize(&ctx, &out, &ls, &x, (m, s), axis.get(), *log),
                    x.layout.clone(),
                )
            }
            Op::OuterContract { outer, reduce } => {
                let (a, b) = (input(0), input(1));
                let layout = a.layout.without(reduce.get());
                (
                    kernels::outer_contract(&ctx, &out, &a, &b, outer.get(), reduce.get()),
                    layout,
                )
            }
            Op::KronMatMul => {
                let (a, b, x) = (input(0), input(1), input(2));
                let t = buf_name("t", id);
                (
                    kernels::kron_matmul(&ctx, &out, &t, &a, &b, &x),
                    Layout::column_major(),
                )
            }
            Op::Flatten { start, end } => {
                let x = input(0);
                let (s, e) = (start.get(), end.get());
                match x.layout.merged(s, e) {
                    // Same elements in the same order: read the same buffer.
                    Some(layout) => {
                        let alias = x.buf.clone();
                        bufs.push((alias, layout));
                        continue;
                    }
                    None => {
                        let layout = Layout::row_major(node.shape.len());
                        let so = layout.strides(&node.shape);
                        let to = flatten_strides(x.shape, &so, s, e);
                        (kernels::copy(&ctx, &out, &x, &to), layout)
                    }
                }
            }
        };
        body.extend(code);
        bufs.push((out, layout));
    }

    let results: Vec<TokenStream> = graph
        .outputs
        .iter()
        .zip(&declared)
        .enumerate()
        .map(|(k, (&id, ty))| {
            if let TypeForm::Kron([p, q, r, s]) = ty.form {
                let mut factor = |j: usize, rows: usize, cols: usize| {
                    let arg = graph.nodes[id].args[j];
                    let (buf, layout) = &bufs[arg];
                    let shape = &graph.nodes[arg].shape;
                    let want = Layout::column_major();
                    let src = if *layout == want {
                        buf.clone()
                    } else {
                        let staged = buf_name(if j == 0 { "ka" } else { "kb" }, k);
                        let x = Input { buf, layout, shape };
                        body.extend(kernels::copy(&ctx, &staged, &x, &want.strides(shape)));
                        staged
                    };
                    let elem = ctx.elem();
                    let (rows, cols) = (
                        proc_macro2::Literal::usize_unsuffixed(rows),
                        proc_macro2::Literal::usize_unsuffixed(cols),
                    );
                    quote! { <#krate::nalgebra::SMatrix<#elem, #rows, #cols> as #krate::runtime::Storage>::read_flat(&#src) }
                };
                let (a, b) = (factor(0, p, q), factor(1, r, s));
                return quote! { #krate::runtime::Kron::new(#a, #b) };
            }
            let (buf, layout) = &bufs[id];
            let shape = &graph.nodes[id].shape;
            let want = Layout(ty.storage_order());
            let src = if *layout == want {
                buf.clone()
            } else {
                let staged = buf_name("r", k);
                let x = Input { buf, layout, shape };
                body.extend(kernels::copy(&ctx, &staged, &x, &want.strides(shape)));
                staged
            };
            let ty = &ty.syn_type;
            quote! { <#ty as #krate::runtime::Storage>::read_flat(&#src) }
        })
        .collect();
    let result = match results.as_slice() {
        [one] => one.clone(),
        many => quote! { (#(#many),*) },
    };
    let unused = f
        .params
        .iter()
        .zip(&used_params)
        .filter(|(_, used)| !**used)
        .map(|(p, _)| {
            let name = &p.name;
            quote! { let _ = &#name; }
        });
    let stack_bytes = stack_bytes(&body, graph);
    let plan = plan::render(f, graph, stack_bytes);
    let item = signature(f, &plan, quote! { #(#unused)* #body #result });
    let vis = &f.vis;
    let const_name = Ident::new(&plan::const_name(&f.name.to_string()), f.name.span());
    let const_doc = format!(
        " The compiled plan of [`{}`]: one node per line with its op, shape and the rewrite rule that produced it.",
        f.name
    );
    quote! {
        #item
        #[doc = #const_doc]
        // The user did not write this item: reading it is optional.
        #[allow(dead_code)]
        #vis const #const_name: &str = #plan;
    }
}

/// Bytes of all stack buffers the body declares (leaf copies, node results,
/// scratch), as the plan reports it.
fn stack_bytes(body: &TokenStream, graph: &Graph) -> usize {
    let elem = match graph.dtype {
        crate::graph::DType::F32 => 4,
        crate::graph::DType::F64 => 8,
    };
    // Every buffer is declared `[fill; len]`; count the lens.
    let mut total = 0;
    count_arrays(body.clone(), &mut total);
    total * elem
}

fn count_arrays(tokens: TokenStream, total: &mut usize) {
    use proc_macro2::{Delimiter, TokenTree};
    for tree in tokens {
        if let TokenTree::Group(g) = tree {
            if g.delimiter() == Delimiter::Bracket {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                if let [.., TokenTree::Punct(p), TokenTree::Literal(len)] = inner.as_slice() {
                    if p.as_char() == ';' {
                        *total += len.to_string().parse::<usize>().unwrap_or(0);
                    }
                }
            }
            count_arrays(g.stream(), total);
        }
    }
}

/// Nodes returned through a `Kron` result type and read by nothing else:
/// their dense product is never computed.
fn factored_krons(graph: &Graph, declared: &[&TensorType]) -> Vec<bool> {
    let mut factored = vec![false; graph.nodes.len()];
    for (&out, ty) in graph.outputs.iter().zip(declared) {
        if matches!(ty.form, TypeForm::Kron(_)) {
            factored[out] = true;
        }
    }
    for (&out, ty) in graph.outputs.iter().zip(declared) {
        if !matches!(ty.form, TypeForm::Kron(_)) {
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

/// The fn item with the user's attributes, visibility and signature, and
/// the plan appended to its documentation.
fn signature(f: &GraphFn, plan: &str, body: TokenStream) -> TokenStream {
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.name;
    let plan_doc = format!("\n # Plan\n\n ```text\n{}\n ```", plan);
    let params = f.params.iter().map(|p| {
        let (n, ty) = (&p.name, &p.ty.syn_type);
        if p.by_ref {
            quote! { #n: &#ty }
        } else {
            quote! { #n: #ty }
        }
    });
    let ret = match &f.ret {
        ReturnType::Single(t) => {
            let ty = &t.syn_type;
            quote!(#ty)
        }
        ReturnType::Tuple(ts, _) => {
            let tys = ts.iter().map(|t| &t.syn_type);
            quote! { (#(#tys),*) }
        }
    };
    quote! {
        #(#attrs)*
        #[doc = #plan_doc]
        #vis fn #name(#(#params),*) -> #ret {
            #body
        }
    }
}

/// A leaf as a flat buffer in its storage order. A matrix or vector is
/// already one contiguous column-major slice and is read in place; a scalar
/// becomes a one-element array; an array of tensors is copied once, in order.
fn leaf(ctx: &Ctx, out: &Ident, arg: TokenStream, ty: &TensorType) -> TokenStream {
    let krate = ctx.krate;
    let syn_ty = &ty.syn_type;
    let elem = ctx.elem();
    match ty.form {
        TypeForm::Matrix(..) | TypeForm::Vector(_) => quote! {
            let #out: &[#elem] = #krate::nalgebra::Matrix::as_slice(#arg);
        },
        TypeForm::Scalar => quote! {
            let #out: [#elem; 1] = [*#arg];
        },
        _ => {
            let n: usize = ty.shape().iter().product();
            let decl = ctx.decl(out, n, 0.0);
            quote! {
                #decl
                <#syn_ty as #krate::runtime::Storage>::write_flat(#arg, &mut #out);
            }
        }
    }
}

/// Output offset of each input axis for `flatten(start..=end)` into a
/// buffer with strides `so`.
fn flatten_strides(shape: &[usize], so: &[usize], start: usize, end: usize) -> Vec<usize> {
    (0..shape.len())
        .map(|axis| {
            if axis < start {
                so[axis]
            } else if axis <= end {
                so[start] * shape[axis + 1..=end].iter().product::<usize>()
            } else {
                so[axis - (end - start)]
            }
        })
        .collect()
}

/// A hygienic local name: `__pg_<kind><n>`, invisible to the user's code.
fn buf_name(kind: &str, n: usize) -> Ident {
    Ident::new(&format!("__pg_{kind}{n}"), Span::mixed_site())
}
