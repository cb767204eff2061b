//! The `param_graph!` procedural macro: a shim over
//! [`param_graph_compiler::expand`], which holds the whole compiler.
//!
//! This crate only crosses the compiler bridge (`proc_macro` tokens in and
//! out) and finds the facade crate under whatever name the caller's
//! Cargo.toml gives it, so that generated code names its helpers by an
//! absolute path.

use proc_macro2::TokenStream;
use quote::quote;

/// Compiles parameter graphs into plain Rust functions over nalgebra types.
///
/// See the `param_graph` crate for the language reference.
#[proc_macro]
pub fn param_graph(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    param_graph_compiler::expand(input.into(), &facade_path()).into()
}

/// The path of the facade crate in the calling crate, whatever the user
/// renamed it to in their Cargo.toml (`::param_graph` by default).
fn facade_path() -> TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    match crate_name("param-graph") {
        Ok(FoundCrate::Name(name)) => {
            let ident = proc_macro2::Ident::new(&name, proc_macro2::Span::call_site());
            quote!(::#ident)
        }
        // Inside the facade itself (its doctests, tests and examples), which
        // declares `extern crate self as param_graph`.
        Ok(FoundCrate::Itself) | Err(_) => quote!(::param_graph),
    }
}
