//! The compiler behind `param_graph!`, as a plain library: the proc-macro
//! crate (`param-graph-macros`) is a shim over [`expand`], so every stage is
//! built and tested without the compiler bridge.
//!
//! The pipeline is one module per stage, in the order the data flows:
//!
//! 1. `parse`: tokens → syntax tree of the language (syn);
//! 2. `graph`: syntax tree → graph IR (names resolved, ops looked up in the
//!    catalogue `graph::ops`, attributes validated); the IR carries the
//!    fn's signature, so no later stage reads the syntax tree;
//! 3. `shape`: shape inference and checks against the declared types;
//! 4. `passes`: dead-node removal, common-subexpression elimination and the
//!    rewrite rules of `passes::rules`, to a fixed point;
//! 5. `autodiff`: for `#[param_graph(vjp)]`, the graph of `name_vjp` —
//!    the forward graph, then each op's derivative (`graph::derivatives`)
//!    from the results back to the leaves;
//! 6. `memory`: memory planning — which elementwise nodes run fused in
//!    their readers' loops, and a slot for every remaining buffer (shared
//!    by liveness, on the stack within a budget, else in a workspace);
//! 7. `codegen`: the graph as plain nalgebra-facing Rust, run twice (the
//!    first run records the buffers its kernels declare for `memory`).
//!
//! With the `testing` feature, `testing` adds an interpreter of the IR and
//! helpers that compile a source text to a graph, for tests only.

mod autodiff;
mod codegen;
mod diagnostics;
mod dim;
mod graph;
mod memory;
mod parse;
mod passes;
mod shape;
mod span;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use diagnostics::Diagnostics;
use proc_macro2::TokenStream;

/// Runs the whole pipeline over the tokens of one `param_graph! { ... }`
/// block, with `krate` the path of the facade crate (e.g. `::param_graph`):
/// the items of every fn that compiled, plus a
/// `compile_error!` for each problem found. Emitting the good fns keeps the
/// errors to the real ones: their callers do not fail too.
pub fn expand(input: TokenStream, krate: &TokenStream) -> TokenStream {
    // Symbols hold this expansion's spans: none may outlive it.
    dim::reset();
    let parse::Items { fns, consts } = match parse::parse_items(input) {
        Ok(items) => items,
        Err(e) => return e.into_compile_error(),
    };
    let mut d = Diagnostics::default();
    let sizes = parse::sizes::Sizes::new(&consts, &mut d);
    let unique = check_unique_names(&fns, &mut d);
    // The constants as written: they are ordinary items of the user's crate.
    // A size the macro knows is generated as its value, so each constant
    // is also read once here: a private one used only as a size would
    // otherwise be "never used" in the user's crate.
    let names = consts.iter().map(|c| &c.ident);
    let mut out = quote::quote! {
        #(#consts)*
        #(const _: () = { let _ = #names; };)*
    };
    for (item, unique) in fns.into_iter().zip(unique) {
        if !unique {
            continue;
        }
        if let Some(code) = d.take(compile_fn(item, &sizes, krate)) {
            out.extend(code);
        }
    }
    if let Err(e) = d.finish(()) {
        out.extend(e.into_compile_error());
    }
    out
}

/// Two fns of one block may not share a name, a `NAME_PLAN` constant (`f`
/// and `F` would both make `F_PLAN`) nor a workspace type (`f_g` and `fG`
/// would both make `FGWorkspace`), their VJPs' included (`f` with `vjp`
/// and `f_vjp_` would both make `FVjpWorkspace`); no fn may be named like
/// another's generated `_into`, `_with`, `_vjp`, `_vjp_into` or `_vjp_with`.
/// Returns, per item, whether it is the first of its name.
fn check_unique_names(items: &[syn::ItemFn], d: &mut Diagnostics) -> Vec<bool> {
    // Per generated constant/workspace: who makes it, and the item's index.
    let mut seen: Vec<(String, String, String, usize)> = Vec::new();
    let mut clashing = Vec::new();
    let mut unique = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let name = &item.sig.ident;
        let plan = codegen::plan_const_name(&name.to_string());
        let workspace = codegen::workspace_name(name).to_string();
        let mut generated = vec![
            (
                codegen::into_name(name).to_string(),
                "it writes the result into caller storage",
            ),
            (
                codegen::with_name(name).to_string(),
                "it takes the caller's workspace",
            ),
        ];
        if has_vjp(item) {
            let vjp = autodiff::vjp_name(name);
            generated.extend([
                (vjp.to_string(), "it is the fn's VJP"),
                (
                    codegen::into_name(&vjp).to_string(),
                    "it writes the VJP into caller storage",
                ),
                (
                    codegen::with_name(&vjp).to_string(),
                    "it computes the VJP with the caller's workspace",
                ),
            ]);
        }
        for (fn_name, what) in generated {
            let clash = items.iter().position(|other| other.sig.ident == fn_name);
            // One error per clashing fn, even when two fns generate its name.
            if let Some(k) = clash.filter(|k| !clashing.contains(k)) {
                d.error(
                    items[k].sig.ident.span(),
                    format!("`{fn_name}` is generated for `{name}` ({what}): rename this fn"),
                );
                // Not emitted: it would only add a duplicate-definition error.
                clashing.push(k);
            }
        }
        // The constant and workspace type of the fn, and of its VJP.
        let mut generated_items = vec![(plan, workspace, format!("`{name}`"))];
        if has_vjp(item) {
            let vjp = autodiff::vjp_name(name);
            generated_items.push((
                codegen::plan_const_name(&vjp.to_string()),
                codegen::workspace_name(&vjp).to_string(),
                format!("the VJP of `{name}`"),
            ));
        }
        let mut ok = !clashing.contains(&index);
        for (plan, workspace, who) in generated_items {
            let earlier = seen.iter().find(|(p, w, ..)| *p == plan || *w == workspace);
            if earlier.is_some_and(|e| clashing.contains(&e.3)) {
                // Already reported: that fn is named like one this one
                // generates, and is left out.
                continue;
            }
            if let Some((p, _, first, _)) = earlier {
                let message = if *first == who {
                    format!("a fn named {who} is already defined in this block")
                } else if *p == plan {
                    format!(
                        "{first} and {who} would both generate the constant `{plan}`: rename one"
                    )
                } else {
                    format!("{first} and {who} would both generate the workspace type `{workspace}`: rename one")
                };
                if ok {
                    d.error(name.span(), message);
                }
                ok = false;
            } else {
                seen.push((plan, workspace, who, index));
            }
        }
        unique.push(ok);
    }
    for k in clashing {
        unique[k] = false;
    }
    unique
}

/// Whether `item` asks for a VJP: a `#[param_graph(...)]` naming `vjp`
/// (whether the rest of the attribute is valid is checked when it is
/// parsed).
fn has_vjp(item: &syn::ItemFn) -> bool {
    item.attrs.iter().any(|a| {
        a.path().is_ident("param_graph")
            && matches!(&a.meta, syn::Meta::List(list) if list.tokens.clone().into_iter().any(
                |t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "vjp")
            ))
    })
}

fn compile_fn(
    item: syn::ItemFn,
    sizes: &parse::sizes::Sizes,
    krate: &TokenStream,
) -> syn::Result<TokenStream> {
    let f = parse::parse_fn(item, sizes)?;
    let mut graph = shape::infer(graph::lower::lower(&f)?)?;
    let checked = if graph.sig.optimize {
        passes::optimize(&mut graph)
    } else {
        passes::prune(&mut graph);
        passes::validate(&graph)
    };
    // A broken invariant is the compiler's bug: say so instead of emitting
    // code that may compute something else.
    checked.map_err(|bug| {
        syn::Error::new(
            graph.sig.name.span(),
            format!("internal error in param_graph! (a bug; please report it with this fn): {bug}"),
        )
    })?;
    let vjp = match graph.sig.vjp {
        Some(_) => {
            let built = autodiff::vjp_graph(&graph, krate).and_then(|mut g| {
                passes::cse(&mut g);
                passes::validate(&g)?;
                Ok(g)
            });
            let g = built.map_err(|bug| {
                syn::Error::new(
                    graph.sig.name.span(),
                    format!("internal error in param_graph!'s derivative (a bug; please report it with this fn): {bug}"),
                )
            })?;
            Some(codegen::expand_fn(&g, krate, None))
        }
        None => None,
    };
    let plan_note = vjp.as_ref().map(|(_, plan)| plan.as_str());
    let (forward, _) = codegen::expand_fn(&graph, krate, plan_note);
    let backward = vjp.map(|(code, _)| code);
    Ok(quote::quote! { #forward #backward })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn expand_str(src: &str) -> String {
        expand(src.parse().unwrap(), &quote!(::param_graph)).to_string()
    }

    #[test]
    fn expands_to_a_plain_fn_with_absolute_helper_paths() {
        let code = expand_str(
            "/// Docs stay.
            pub fn w(theta: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> { log(softmax(theta, axis = 1)) }",
        );
        assert!(
            code.contains(
                "pub fn w (theta : & SMatrix < f64 , 3 , 4 >) -> SMatrix < f64 , 3 , 4 >"
            ),
            "{code}"
        );
        assert!(code.contains("# [doc = \" Docs stay.\"]"), "{code}");
        assert!(
            code.contains(":: param_graph :: runtime :: flat (theta)"),
            "{code}"
        );
        assert!(!code.contains("compile_error"), "{code}");
    }

    #[test]
    fn errors_of_several_fns_are_all_reported() {
        let code = expand_str(
            "fn a(x: &SVector<f64, 3>) -> SVector<f64, 3> { sofmax(x) }
             fn b(x: &SVector<f64, 3>) -> SVector<f64, 3> { x * x }",
        );
        assert_eq!(code.matches("compile_error").count(), 2, "{code}");
        assert!(code.contains("did you mean `softmax`"), "{code}");
    }
}
