//! The signature a graph is compiled for: what the generated fns take and
//! return, carried by the IR so that shape checks, the plan and codegen
//! never read the syntax tree.

use crate::dim::Dim;
use crate::parse::ast::{GraphFn, ReturnType, TensorType, TypeForm};
use crate::span::SpanRange;
use proc_macro2::Ident;

/// The fn around a graph: its name, items passed through, leaves and
/// declared results.
#[derive(Clone)]
pub struct Signature {
    /// Outer attributes (doc comments included), passed through.
    pub attrs: Vec<syn::Attribute>,
    /// Visibility, as written.
    pub vis: syn::Visibility,
    /// The fn's name.
    pub name: Ident,
    /// Whether the rewrite rules run (`#[param_graph(optimize = false)]`).
    pub optimize: bool,
    /// Whether elementwise ops fuse into their readers' loops
    /// (`#[param_graph(fuse = false)]`).
    pub fuse: bool,
    /// The leaves, in signature order.
    pub params: Vec<Leaf>,
    /// The declared results, in order.
    pub outputs: Vec<Output>,
    /// `-> (A, B, ...)` rather than `-> A`.
    pub tuple: bool,
    /// The parameters `#[param_graph(vjp …)]` differentiates, in the order
    /// of the VJP's results (declaration order for `vjp`, the listed order
    /// for `vjp(b, a)`); `None` without a VJP.
    pub vjp: Option<Vec<usize>>,
    /// For a VJP's graph: the fn it is the derivative of, whose parameters
    /// it takes before the cotangent (see [`Cotangent`]).
    pub cotangent: Option<Cotangent>,
    /// Its generic parameters (const sizes only), re-emitted.
    pub generics: syn::Generics,
    /// The relations between sizes shape inference could not decide,
    /// asserted at compile time by the generated code.
    pub size_checks: Vec<crate::shape::SizeCheck>,
}

/// How a VJP receives its cotangent: one parameter `cotangent` of type
/// `&R`, or `(&R1, &R2, …)` for a tuple result, whose parts are bound to
/// the hidden leaves at the end of [`Signature::params`].
#[derive(Clone)]
pub struct Cotangent {
    /// The parameter's type, as the user's fn declares the result.
    pub ty: proc_macro2::TokenStream,
    /// How many of the signature's leaves are the user's parameters; the
    /// rest are parts of the cotangent.
    pub visible: usize,
    /// Per hidden leaf, the expression (of type `&T`) that reads it from
    /// `cotangent`.
    pub parts: Vec<proc_macro2::TokenStream>,
}

/// A leaf parameter `name: Type` or `name: &Type`.
#[derive(Clone)]
pub struct Leaf {
    /// The parameter's name.
    pub name: Ident,
    /// `true` for `name: &Type`.
    pub by_ref: bool,
    /// The type as written, re-emitted in the signature.
    pub ty: syn::Type,
    /// Its tensor shape.
    pub shape: Vec<Dim>,
    /// Its shape as written (`K` for a named size), for the plan.
    pub written: Vec<String>,
    /// Its axes from the largest memory stride to the smallest.
    pub storage_order: Vec<usize>,
}

/// A declared result.
#[derive(Clone)]
pub struct Output {
    /// The type as written.
    pub ty: syn::Type,
    /// The whole type, for diagnostics.
    pub span: SpanRange,
    /// The dense shape it denotes.
    pub shape: Vec<Dim>,
    /// Its shape as written (`K` for a named size), for diagnostics.
    pub written: Vec<String>,
    /// Its axes from the largest memory stride to the smallest.
    pub storage_order: Vec<usize>,
    /// `Kron<T, P, Q, R, S>`: the factored form, `A: (P, Q)` and `B: (R, S)`
    /// kept apart instead of `A ⊗ B`.
    pub kron: Option<[Dim; 4]>,
}

impl Signature {
    /// The signature of a parsed fn.
    pub fn of(f: &GraphFn) -> Self {
        Signature {
            attrs: f.attrs.clone(),
            vis: f.vis.clone(),
            name: f.name.clone(),
            optimize: f.options.optimize,
            fuse: f.options.fuse,
            params: f
                .params
                .iter()
                .map(|p| Leaf {
                    name: p.name.clone(),
                    by_ref: p.by_ref,
                    ty: p.ty.syn_type.clone(),
                    shape: p.ty.shape(),
                    written: p.ty.written_shape(),
                    storage_order: p.ty.storage_order(),
                })
                .collect(),
            outputs: f.ret.outputs().into_iter().map(Output::of).collect(),
            tuple: matches!(f.ret, ReturnType::Tuple(..)),
            vjp: None,
            cotangent: None,
            generics: f.generics.clone(),
            size_checks: Vec::new(),
        }
    }
}

impl Output {
    fn of(t: &TensorType) -> Self {
        Output {
            ty: t.syn_type.clone(),
            span: t.span,
            shape: t.shape(),
            written: t.written_shape(),
            storage_order: t.storage_order(),
            kron: match t.form {
                TypeForm::Kron(sizes) => Some(sizes),
                _ => None,
            },
        }
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let leaves: Vec<_> = self
            .params
            .iter()
            .map(|p| (p.name.to_string(), &p.shape))
            .collect();
        let outputs: Vec<_> = self.outputs.iter().map(|o| (&o.shape, o.kron)).collect();
        write!(f, "fn {}{leaves:?} -> {outputs:?}", self.name)
    }
}
