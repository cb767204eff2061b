//! A `fn` item: attributes, signature and body.

use super::ast::{GraphFn, Let, Options, Param, ReturnType, VjpLeaves};
use super::expr::parse_expr;
use super::sizes::Sizes;
use super::types::parse_tensor_type;
use crate::diagnostics::Diagnostics;
use crate::span::SpanRange;
use syn::ext::IdentExt as _;
use syn::{FnArg, ItemFn, Pat, Stmt};

/// Parses one fn item, reporting every problem of its signature and body;
/// `sizes` are the block's constants.
pub fn parse_fn(f: ItemFn, sizes: &Sizes) -> syn::Result<GraphFn> {
    let mut d = Diagnostics::default();
    let sig = &f.sig;
    check_signature(sig, &mut d);
    let sizes = &sizes.with_generics(const_generics(&sig.generics, &mut d));

    let (attrs, options) = split_attrs(f.attrs, &mut d);
    let params: Vec<Param> = sig
        .inputs
        .iter()
        .filter_map(|arg| d.take(parse_param(arg, sizes)))
        .collect();
    let ret = d.take(parse_return(&sig.output, sig, sizes));
    let body = d.take(parse_body(&f.block, sizes));
    let (Some(ret), Some((lets, result))) = (ret, body) else {
        // The failures were recorded above.
        return Err(d.into_error(|| SpanRange::of(&sig.ident).error("invalid parameter graph")));
    };
    d.finish(GraphFn {
        attrs,
        options,
        vis: f.vis,
        generics: sig.generics.clone(),
        name: sig.ident.clone(),
        params,
        ret,
        lets,
        result,
    })
}

fn check_signature(sig: &syn::Signature, d: &mut Diagnostics) {
    if let Some(wc) = &sig.generics.where_clause {
        d.push(SpanRange::of(wc).error("a parameter graph cannot have a `where` clause"));
    }
    let qualifiers = [
        sig.constness.as_ref().map(|t| (t.span, "const")),
        sig.asyncness.as_ref().map(|t| (t.span, "async")),
        sig.unsafety.as_ref().map(|t| (t.span, "unsafe")),
    ];
    for (span, word) in qualifiers.into_iter().flatten() {
        d.error(span, format!("a parameter graph cannot be `{word}`"));
    }
    if let Some(abi) = &sig.abi {
        d.push(SpanRange::of(abi).error("a parameter graph cannot have an `extern` ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        d.push(SpanRange::of(variadic).error("a parameter graph cannot be variadic"));
    }
}

/// The names of the fn's const generic parameters (`const K: usize`), the
/// only generics a graph may have: the element type is fixed so the macro
/// can pick its kernels, and a size is a `usize`.
fn const_generics(generics: &syn::Generics, d: &mut Diagnostics) -> Vec<syn::Ident> {
    let mut names = Vec::new();
    for param in &generics.params {
        match param {
            syn::GenericParam::Const(c) => {
                if !is_usize(&c.ty) {
                    d.push(SpanRange::of(&c.ty).error(format!(
                        "a const generic parameter of a graph is a size: write `const {}: usize`",
                        c.ident
                    )));
                } else if let Some(default) = &c.default {
                    d.push(SpanRange::of(default).error(
                        "a const generic parameter of a fn cannot have a default",
                    ));
                } else {
                    names.push(c.ident.clone());
                }
            }
            other => d.push(SpanRange::of(other).error(
                "a parameter graph's only generic parameters are sizes (`const K: usize`): the element type is fixed so the macro can pick its kernels; write one fn per element type",
            )),
        }
    }
    names
}

fn is_usize(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "usize"))
}

/// Keeps doc comments and other attributes, consumes `#[param_graph(...)]`.
fn split_attrs(attrs: Vec<syn::Attribute>, d: &mut Diagnostics) -> (Vec<syn::Attribute>, Options) {
    let mut options = Options::default();
    let mut kept = Vec::new();
    let mut seen: Vec<&'static str> = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("param_graph") {
            kept.push(attr);
            continue;
        }
        if matches!(&attr.meta, syn::Meta::List(list) if list.tokens.is_empty()) {
            d.push(SpanRange::of(&attr).error(
                "empty `#[param_graph()]`: write `#[param_graph(optimize = false)]` or remove it",
            ));
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("vjp") {
                if options.vjp.is_some() {
                    return Err(meta.error("`vjp` is given twice"));
                }
                options.vjp = Some(parse_vjp(&meta)?);
                return Ok(());
            }
            let Some(key) = Options::KEYS.iter().copied().find(|k| meta.path.is_ident(k)) else {
                let written = crate::span::source_text(&meta.path);
                let keys = Options::KEYS.iter().copied().chain(["vjp"]);
                let hint = crate::graph::nearest(&written, keys)
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                return Err(meta.error(format!(
                    "unknown param_graph option `{written}`: {hint}the options are `optimize = true|false`, `fuse = true|false` and `vjp` (or `vjp(leaf, ...)`)"
                )));
            };
            if seen.contains(&key) {
                return Err(meta.error(format!("`{key}` is given twice")));
            }
            seen.push(key);
            let value: syn::LitBool = meta
                .value()?
                .parse()
                .map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes `true` or `false`")))?;
            options.set(key, value.value);
            Ok(())
        });
        d.take(result);
    }
    (kept, options)
}

/// `vjp` (every leaf) or `vjp(a, b, ...)` (those leaves, at least one).
fn parse_vjp(meta: &syn::meta::ParseNestedMeta) -> syn::Result<VjpLeaves> {
    if meta.input.peek(syn::Token![=]) {
        return Err(
            meta.error("`vjp` takes no value: write `vjp` for every leaf or `vjp(a, b)` for some")
        );
    }
    if !meta.input.peek(syn::token::Paren) {
        return Ok(VjpLeaves::All);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let leaves = content
        .parse_terminated(syn::Ident::parse_any, syn::Token![,])
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                "`vjp(...)` lists the leaves to differentiate by name, as in `vjp(a, b)`",
            )
        })?;
    if leaves.is_empty() {
        return Err(
            meta.error("`vjp()` names no leaf: write `vjp` for every leaf or `vjp(a, b)` for some")
        );
    }
    Ok(VjpLeaves::Only(leaves.into_iter().collect()))
}

fn parse_param(arg: &FnArg, sizes: &Sizes) -> syn::Result<Param> {
    let typed = match arg {
        FnArg::Typed(t) => t,
        FnArg::Receiver(r) => {
            return Err(SpanRange::of(r)
                .error("a parameter graph is a free function: `self` is not a tensor"))
        }
    };
    let name = match &*typed.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
            if let Some(m) = &p.mutability {
                return Err(SpanRange::of(m).error("leaf parameters are read-only: remove `mut`"));
            }
            p.ident.clone()
        }
        other => {
            return Err(SpanRange::of(other).error(
                "a leaf parameter must be a plain name, as in `theta: &SMatrix<f64, 3, 4>`",
            ))
        }
    };
    let (by_ref, ty) = match ungroup(&typed.ty) {
        syn::Type::Reference(r) => {
            if let Some(m) = &r.mutability {
                return Err(SpanRange::of(m).error(
                    "leaf parameters are read-only: take them as `&Type`, not `&mut Type`",
                ));
            }
            (true, &*r.elem)
        }
        ty => (false, ty),
    };
    Ok(Param {
        name,
        by_ref,
        ty: parse_tensor_type(ty, sizes)?,
    })
}

fn parse_return(
    output: &syn::ReturnType,
    sig: &syn::Signature,
    sizes: &Sizes,
) -> syn::Result<ReturnType> {
    let ty = match output {
        syn::ReturnType::Default => {
            return Err(SpanRange::single(sig.paren_token.span.close()).error(
                "a parameter graph must declare its result type, e.g. `-> SMatrix<f64, 3, 4>`",
            ))
        }
        syn::ReturnType::Type(_, ty) => ungroup(ty),
    };
    match ty {
        syn::Type::Tuple(tuple) => {
            if tuple.elems.len() < 2 {
                return Err(SpanRange::of(tuple).error(
                    "a tuple result needs at least two tensors; for one, write its type without parentheses",
                ));
            }
            let types = tuple
                .elems
                .iter()
                .map(|t| parse_tensor_type(t, sizes))
                .collect::<syn::Result<Vec<_>>>()?;
            Ok(ReturnType::Tuple(types, SpanRange::of(tuple)))
        }
        syn::Type::Reference(r) => {
            Err(SpanRange::of(r)
                .error("a parameter graph returns its result by value: remove the `&`"))
        }
        ty => Ok(ReturnType::Single(Box::new(parse_tensor_type(ty, sizes)?))),
    }
}

fn parse_body(block: &syn::Block, sizes: &Sizes) -> syn::Result<(Vec<Let>, super::ast::Expr)> {
    let mut d = Diagnostics::default();
    let mut lets = Vec::new();
    let mut result = None;
    let count = block.stmts.len();
    for (k, stmt) in block.stmts.iter().enumerate() {
        let last = k + 1 == count;
        match stmt {
            Stmt::Local(local) => {
                if let Some(l) = d.take(parse_let(local, sizes)) {
                    lets.push(l);
                }
                if last {
                    d.push(SpanRange::of(local).error(
                        "the body must end with the result expression (without `;`) after its `let` statements",
                    ));
                }
            }
            Stmt::Expr(expr, None) if last => result = d.take(parse_expr(expr, sizes)),
            Stmt::Expr(_, semi) => d.push(SpanRange::of(stmt).error(if last && semi.is_some() {
                "remove the `;` after the result expression"
            } else {
                "only `let name = expr;` statements may come before the result expression"
            })),
            other => d.push(SpanRange::of(other).error(
                "only `let name = expr;` statements and one result expression may appear in a parameter graph",
            )),
        }
    }
    if count == 0 {
        d.push(SpanRange::of(block).error(
            "the body is empty: write the result expression, e.g. `softmax(theta, axis = 1)`",
        ));
    }
    match result {
        Some(result) => d.finish((lets, result)),
        None => {
            if d.is_empty() {
                d.push(SpanRange::of(block).error("the body has no result expression"));
            }
            Err(d.into_error(|| SpanRange::of(block).error("invalid body")))
        }
    }
}

fn parse_let(local: &syn::Local, sizes: &Sizes) -> syn::Result<Let> {
    let name = match &local.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
            p.ident.clone()
        }
        Pat::Type(t) => {
            return Err(SpanRange::of(&t.ty)
                .error("remove the type annotation: the macro infers every intermediate shape"))
        }
        Pat::Ident(p) if p.mutability.is_some() => {
            return Err(SpanRange::of(&p.mutability)
                .error("remove `mut`: every value of a graph is computed once and never changed"))
        }
        other => {
            return Err(SpanRange::of(other)
                .error("a `let` binds one plain name, as in `let p = softmax(x);`"))
        }
    };
    let Some(init) = &local.init else {
        return Err(
            SpanRange::of(local).error(format!("`let {name}` needs a value: `let {name} = expr;`"))
        );
    };
    if let Some((_, diverge)) = &init.diverge {
        return Err(SpanRange::of(diverge).error("`let ... else` is not part of the language"));
    }
    Ok(Let {
        name,
        expr: parse_expr(&init.expr, sizes)?,
    })
}

/// A type passed through a `macro_rules!` `$t:ty` fragment arrives wrapped in
/// an invisible group; look through it.
fn ungroup(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Group(g) => ungroup(&g.elem),
        ty => ty,
    }
}
