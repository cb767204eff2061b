//! The items generated for one fn `name`:
//!
//! - `name(params…) -> Ret`, the signature as written, returning by value;
//! - `name_into(params…, out)`, writing the result into caller storage with
//!   a workspace of its own (one per thread, made on the thread's first
//!   call);
//! - `name_with(params…, workspace, out)`, the same with the caller's
//!   workspace: no allocation at all;
//! - `NameWorkspace`, the buffers that do not fit the stack budget, each
//!   boxed on the heap (none for a small graph: then it is empty and
//!   `new` allocates nothing).

use super::into_name;
use super::kernels::{slot_ident, workspace_param};
use crate::dim::Dim;
use crate::graph::{DType, Output, Signature};
use crate::memory::{Home, Plan, STACK_BUDGET};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// `name_with` for a fn called `name` (raw identifiers lose their `r#`).
pub fn with_name(name: &Ident) -> Ident {
    format_ident!(
        "{}_with",
        name.to_string().trim_start_matches("r#"),
        span = name.span()
    )
}

/// `NameWorkspace` for a fn called `name`: its words capitalized, then
/// `Workspace` (`log_weights` → `LogWeightsWorkspace`).
pub fn workspace_name(name: &Ident) -> Ident {
    let words = name.to_string();
    let camel: String = words
        .trim_start_matches("r#")
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format_ident!("{}Workspace", camel, span = name.span())
}

/// Every item of the fn: `body` computes the results from the parameters,
/// the workspace (`__pg_ws`) and `refs`, the caller's result storage.
pub fn fn_items(
    f: &Signature,
    plan: &str,
    refs: &[Ident],
    body: TokenStream,
    krate: &TokenStream,
    memory: &Plan,
    dtype: DType,
) -> TokenStream {
    let attrs = &f.attrs;
    // The other fns share `name`'s conditions (`cfg`, `inline`, lints) but
    // not its docs, and return nothing to use; the workspace type only its
    // `cfg`.
    let into_attrs: Vec<&syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| !a.path().is_ident("doc") && !a.path().is_ident("must_use"))
        .collect();
    let cfg_attrs: Vec<&syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let vis = &f.vis;
    let name = &f.name;
    let (into, with, ws_type) = (into_name(name), with_name(name), workspace_name(name));
    // `<const K: usize>` on every fn and the workspace type; calls name
    // the parameters (`::<K>`), which a result-only size needs.
    let (generics, ty_generics, _) = f.generics.split_for_impl();
    let turbofish = ty_generics.as_turbofish();
    let ws_ty = quote!(#ws_type #ty_generics);
    let ws = workspace_param();
    let elem_bytes = match dtype {
        DType::F32 => 4,
        DType::F64 => 8,
    };
    let workspace_bytes = memory.elements_in(Home::Workspace) * elem_bytes;
    // What the by-value result occupies: a factored `Kron` holds its two
    // factors, not the dense product.
    let result_bytes: Dim = f
        .outputs
        .iter()
        .map(|o| match o.kron {
            Some([p, q, r, s]) => p * q + r * s,
            None => o.shape.iter().product::<Dim>(),
        } * elem_bytes)
        .sum();
    let by_value_note = if result_bytes > STACK_BUDGET {
        format!("\n\n Returns {result_bytes} bytes by value, on the caller's stack (and moving it, e.g. into a `Box`, may copy it there again, especially in debug builds): for a small stack call [`{into}`] or [`{with}`] with storage of your own.")
    } else {
        String::new()
    };
    let plan_doc = format!("{by_value_note}\n\n # Plan\n\n ```text\n{plan}\n ```");
    let out_name = if f.cotangent.is_some() {
        "grads"
    } else {
        "out"
    };
    let into_doc = if workspace_bytes == 0 {
        format!(" Computes [`{name}`] into caller storage: the same parameters, then `{out_name}`, which is overwritten. Every buffer fits the stack budget ({STACK_BUDGET} bytes): nothing is allocated.")
    } else {
        format!(" Computes [`{name}`] into caller storage: the same parameters, then `{out_name}`, which is overwritten.\n\n Buffers beyond the stack budget ({STACK_BUDGET} bytes) live in a [`{ws_type}`] ({workspace_bytes} bytes): this fn keeps one per thread, allocated on the thread's first call and reused by every later call on that thread (freed when the thread ends). If that one is unavailable (a call while the thread's storage is being destroyed) it allocates a temporary one. [`{with}`] takes a workspace you own instead.")
    };
    let with_doc = format!(" Computes [`{name}`] into caller storage with the caller's workspace: the same parameters, then the workspace, then `{out_name}`, which is overwritten. Allocates nothing.");
    let visible = f.cotangent.as_ref().map_or(f.params.len(), |c| c.visible);
    let mut params: Vec<TokenStream> = f.params[..visible]
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
    let mut args: Vec<TokenStream> = f.params[..visible]
        .iter()
        .map(|p| {
            let n = &p.name;
            quote!(#n)
        })
        .collect();
    // A VJP takes the cotangent after the parameters and binds its parts to
    // the hidden leaves.
    let mut bind_cotangent = TokenStream::new();
    if let Some(c) = &f.cotangent {
        let (ct, ty) = (crate::autodiff::cotangent_param(), &c.ty);
        params.push(quote! { #ct: #ty });
        args.push(quote!(#ct));
        for (leaf, part) in f.params[visible..].iter().zip(&c.parts) {
            let name = &leaf.name;
            bind_cotangent.extend(quote! { let #name = #part; });
        }
    }
    let out = Ident::new(out_name, Span::mixed_site());
    let zero = |ty: &Output| match ty.kron {
        Some(_) => quote! { #krate::runtime::Kron::zeros() },
        None => quote! { #krate::runtime::zeroed() },
    };
    let (ret, out_ty, bind_refs, call_out, decl_values, result) = match f.outputs.as_slice() {
        [t] if !f.tuple => {
            let (ty, r, z) = (&t.ty, &refs[0], zero(t));
            (
                quote!(#ty),
                quote! { &mut #ty },
                quote! { let #r = #out; },
                quote! { &mut #r },
                quote! { let mut #r: #ty = #z; },
                quote!(#r),
            )
        }
        ts => {
            let tys: Vec<&syn::Type> = ts.iter().map(|t| &t.ty).collect();
            let zeros = ts.iter().map(zero);
            (
                quote! { (#(#tys),*) },
                quote! { (#(&mut #tys),*) },
                quote! { let (#(#refs),*) = #out; },
                quote! { (#(&mut #refs),*) },
                quote! { #(let mut #refs: #tys = #zeros;)* },
                quote! { (#(#refs),*) },
            )
        }
    };
    let into_body = if workspace_bytes == 0 {
        quote! { #with #turbofish(#(#args,)* &mut <#ws_ty>::new(), #out); }
    } else if !f.generics.params.is_empty() {
        // A `thread_local!` cannot name a generic type: the thread keeps one
        // workspace per instance (sizes) it has run, type-erased, made on
        // that instance's first call.
        let cell = Ident::new("__PG_WORKSPACES", Span::mixed_site());
        let pending = Ident::new("__pg_out", Span::mixed_site());
        quote! {
            ::std::thread_local! {
                static #cell: ::core::cell::RefCell<::std::vec::Vec<::std::boxed::Box<dyn ::core::any::Any>>> =
                    const { ::core::cell::RefCell::new(::std::vec::Vec::new()) };
            }
            let mut #pending = ::core::option::Option::Some(#out);
            let _ = #cell.try_with(|cell| {
                if let ::core::result::Result::Ok(mut all) = cell.try_borrow_mut() {
                    let at = match all.iter().position(|w| w.is::<#ws_ty>()) {
                        ::core::option::Option::Some(at) => at,
                        ::core::option::Option::None => {
                            all.push(::std::boxed::Box::new(<#ws_ty>::new()));
                            all.len() - 1
                        }
                    };
                    if let ::core::option::Option::Some(workspace) = all[at].downcast_mut::<#ws_ty>() {
                        if let ::core::option::Option::Some(#out) = #pending.take() {
                            #with #turbofish(#(#args,)* workspace, #out);
                        }
                    }
                }
            });
            if let ::core::option::Option::Some(#out) = #pending.take() {
                #with #turbofish(#(#args,)* &mut <#ws_ty>::new(), #out);
            }
        }
    } else {
        let cell = Ident::new("__PG_WORKSPACE", Span::mixed_site());
        let pending = Ident::new("__pg_out", Span::mixed_site());
        quote! {
            ::std::thread_local! {
                static #cell: ::core::cell::RefCell<::core::option::Option<#ws_type>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            let mut #pending = ::core::option::Option::Some(#out);
            let _ = #cell.try_with(|cell| {
                if let ::core::result::Result::Ok(mut slot) = cell.try_borrow_mut() {
                    if let ::core::option::Option::Some(#out) = #pending.take() {
                        #with(#(#args,)* slot.get_or_insert_with(#ws_type::new), #out);
                    }
                }
            });
            if let ::core::option::Option::Some(#out) = #pending.take() {
                #with(#(#args,)* &mut #ws_type::new(), #out);
            }
        }
    };
    let workspace = workspace_type(f, &ws_type, memory, dtype, krate, &cfg_attrs);
    let checks = super::generic_size_checks(f);
    quote! {
        #(#attrs)*
        #[doc = #plan_doc]
        #vis fn #name #generics(#(#params),*) -> #ret {
            #decl_values
            #into #turbofish(#(#args,)* #call_out);
            #result
        }

        #(#into_attrs)*
        #[doc = #into_doc]
        // One parameter more than the user wrote: not theirs to fix.
        #[allow(clippy::too_many_arguments)]
        #vis fn #into #generics(#(#params,)* #out: #out_ty) {
            #into_body
        }

        #(#into_attrs)*
        #[doc = #with_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #with #generics(#(#params,)* #ws: &mut #ws_ty, #out: #out_ty) {
            #checks
            let _ = &#ws;
            #bind_cotangent
            #bind_refs
            #body
        }

        #workspace
    }
}

/// `NameWorkspace`: one boxed array per workspace slot.
fn workspace_type(
    f: &Signature,
    ws_type: &Ident,
    memory: &Plan,
    dtype: DType,
    krate: &TokenStream,
    cfg_attrs: &[&syn::Attribute],
) -> TokenStream {
    let vis = &f.vis;
    let elem = match dtype {
        DType::F32 => quote!(::core::primitive::f32),
        DType::F64 => quote!(::core::primitive::f64),
    };
    let slots: Vec<(Ident, Dim)> = memory
        .slots_in(Home::Workspace)
        .map(|s| (slot_ident(Home::Workspace, s.index), s.len))
        .collect();
    // A length with a const generic parameter is no array length: a boxed
    // slice of that length.
    let fields = slots.iter().map(|(name, n)| {
        let e = n.expr();
        if n.is_generic() {
            quote! { #name: ::std::boxed::Box<[#elem]>, }
        } else {
            quote! { #name: ::std::boxed::Box<[#elem; #e]>, }
        }
    });
    let inits = slots.iter().map(|(name, n)| {
        let e = n.expr();
        if n.is_generic() {
            quote! { #name: #krate::runtime::zeroed_slice(#e), }
        } else {
            quote! { #name: #krate::runtime::zeroed_box(), }
        }
    });
    let (generics, ty_generics, _) = f.generics.split_for_impl();
    let doc = format!(
        " The buffers of [`{}`] that exceed the stack budget ({STACK_BUDGET} bytes), for [`{}`]: make one and reuse it across calls.",
        f.name,
        with_name(&f.name)
    );
    let new_doc = if slots.is_empty() {
        " An empty workspace (every buffer fits the stack): allocates nothing.".to_string()
    } else {
        let bytes = memory.elements_in(Home::Workspace)
            * match dtype {
                DType::F32 => 4,
                DType::F64 => 8,
            };
        let buffers = if slots.len() == 1 {
            "buffer"
        } else {
            "buffers"
        };
        format!(
            " Allocates the workspace on the heap, zeroed: {bytes} bytes in {} {buffers}.",
            slots.len()
        )
    };
    quote! {
        #(#cfg_attrs)*
        #[doc = #doc]
        #vis struct #ws_type #generics {
            #(#fields)*
        }

        #(#cfg_attrs)*
        impl #generics #ws_type #ty_generics {
            #[doc = #new_doc]
            #[allow(dead_code)]
            pub fn new() -> Self {
                #ws_type { #(#inits)* }
            }
        }

        #(#cfg_attrs)*
        impl #generics ::core::default::Default for #ws_type #ty_generics {
            fn default() -> Self {
                Self::new()
            }
        }
    }
}
