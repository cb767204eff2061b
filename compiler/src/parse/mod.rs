//! Stage 1 — parse: the macro's input tokens into a syntax tree of the
//! param_graph language (`ast`), with every span kept for diagnostics.
//!
//! The input is Rust syntax (a sequence of `fn` items), so syn parses it; this
//! module then checks that each item stays inside the language: leaf and
//! return types from the type grammar, a body of `let` statements and one
//! result expression, calls with tensor and `key = value` arguments.

pub mod ast;
mod expr;
mod item;
pub mod sizes;
mod types;

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};

/// The raw items of one macro invocation: the graphs' `fn` items and the
/// `const` items naming their sizes.
pub struct Items {
    /// The parameter graphs, in order.
    pub fns: Vec<syn::ItemFn>,
    /// The constants, in order (re-emitted unchanged).
    pub consts: Vec<syn::ItemConst>,
}

impl Parse for Items {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Items {
            fns: Vec::new(),
            consts: Vec::new(),
        };
        while !input.is_empty() {
            let item: syn::Item = input.parse()?;
            match item {
                syn::Item::Fn(f) => items.fns.push(f),
                syn::Item::Const(c) => items.consts.push(c),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "param_graph! holds `fn` items (each one a parameter graph) and the `const` items naming their sizes",
                    ))
                }
            }
        }
        Ok(items)
    }
}

/// Splits a `param_graph! { ... }` block into its `fn` and `const` items.
pub fn parse_items(tokens: TokenStream) -> syn::Result<Items> {
    let items: Items = syn::parse2(tokens)?;
    if items.fns.is_empty() {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "param_graph! has no graph: write one or more `fn` items inside it",
        ));
    }
    Ok(items)
}

pub use item::parse_fn;

/// Parses a whole block (every fn, every error reported).
#[cfg(any(test, feature = "testing"))]
pub fn parse_block(tokens: TokenStream) -> syn::Result<Vec<ast::GraphFn>> {
    crate::dim::reset();
    let mut diagnostics = crate::diagnostics::Diagnostics::default();
    let items = parse_items(tokens)?;
    let sizes = sizes::Sizes::new(&items.consts, &mut diagnostics);
    let fns: Vec<_> = items
        .fns
        .into_iter()
        .filter_map(|f| diagnostics.take(item::parse_fn(f, &sizes)))
        .collect();
    diagnostics.finish(fns)
}

/// `src` parsed by syn as the `T` that `parse` reads, then by `parse`: how
/// the unit tests feed one piece of the language to its parser.
#[cfg(test)]
fn parsed<T: syn::parse::Parse, R>(
    src: &str,
    parse: impl Fn(&T) -> syn::Result<R>,
) -> syn::Result<R> {
    parse(&syn::parse_str(src).unwrap())
}
