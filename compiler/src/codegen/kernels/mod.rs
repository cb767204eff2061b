//! The loops of each op over flat buffers (views of their memory slots).
//!
//! Every function here emits the statements that declare and fill one node's
//! buffer, given the buffers (and layouts) of its arguments. Semantics and
//! index order are cirkit's torch nodes; float edge cases follow torch (see
//! `param_graph_runtime::Real`). By kind: `elementwise` (maps, zips, index,
//! kron, outer, copies), `rows` (reductions and softmaxes along an axis),
//! `contract` (matrix products, sums of outer products, Kronecker products
//! applied to a matrix), `products` (cirkit's circuit-product ops: mixing
//! weights, products of Gaussian layers, products and derivatives of
//! polynomials).

mod backward;
mod contract;
mod elementwise;
mod fused;
mod products;
mod rows;

pub use backward::{
    contract, gaussian_vjp, index_vjp, lse_vjp, polynomial_differential_vjp, prod_vjp, softmax_vjp,
    sum_normalize_vjp,
};
pub use contract::{kron_matmul, matmul, outer_contract};
pub use elementwise::{copy, index, kron, outer};
pub use fused::{fused, Elementwise, Group, Member, Operand};
pub use products::{
    gaussian, gaussian_from_var, gaussian_var_sum, mixing_weight, polynomial_differential,
    polynomial_product,
};
pub use rows::{normalize, reduce, row_max, row_sum_exp, softmax, sum_normalize};

use super::layout::Layout;
use super::loops::Space;
use crate::dim::Dim;
use crate::graph::{DType, NodeId};
use crate::memory::{Decl, Home, Plan};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;
use std::cell::{Cell, RefCell};

/// What every kernel needs to know about the function being generated.
pub struct Ctx<'a> {
    /// Element type.
    pub dtype: DType,
    /// Path of the facade crate, e.g. `::param_graph`.
    pub krate: &'a TokenStream,
    /// Buffers that are views of the caller's result storage (`&mut [T; N]`,
    /// bound before the nodes run) rather than local arrays.
    pub views: &'a [Ident],
    /// Where declared buffers go.
    pub memory: Memory<'a>,
    /// The node whose code is being emitted, and its result buffer.
    pub node: Cell<(NodeId, Option<Ident>)>,
}

/// How [`Ctx`] declares buffers: code generation runs twice (see
/// `crate::memory`).
pub enum Memory<'a> {
    /// The first run: record every buffer declared.
    Record(RefCell<Vec<Decl>>),
    /// The second run: each buffer is a view of the slot the plan gives it.
    Planned(&'a Plan),
}

/// The workspace parameter of `name_with` (hygienic: a leaf of the same
/// name is another variable).
pub fn workspace_param() -> Ident {
    Ident::new("workspace", proc_macro2::Span::mixed_site())
}

/// The local array of stack slot `k`, or the workspace field `k`.
pub fn slot_ident(home: Home, k: usize) -> Ident {
    match home {
        Home::Stack => Ident::new(&format!("__pg_slot{k}"), proc_macro2::Span::mixed_site()),
        Home::Workspace => Ident::new(&format!("w{k}"), proc_macro2::Span::call_site()),
    }
}

impl Ctx<'_> {
    /// The element type as tokens.
    pub fn elem(&self) -> TokenStream {
        // Spelled in full: a user's item named `f64` must not capture it.
        match self.dtype {
            DType::F32 => quote!(::core::primitive::f32),
            DType::F64 => quote!(::core::primitive::f64),
        }
    }

    /// A typed float literal (the value was checked finite while lowering).
    pub fn lit(&self, v: f64) -> TokenStream {
        let lit = match self.dtype {
            DType::F32 => Literal::f32_suffixed(v as f32),
            DType::F64 => Literal::f64_suffixed(v),
        };
        quote!(#lit)
    }

    /// A buffer of `len` elements, all `fill`, for a kernel that reads
    /// before it writes (accumulations): a view of its slot, or the
    /// caller's result storage filled in place.
    pub fn decl(&self, buf: &Ident, len: Dim, fill: f64) -> TokenStream {
        self.declare(buf, len, Some(self.lit(fill)))
    }

    /// [`Ctx::decl`] with `fill` given as an expression.
    pub fn decl_with(&self, buf: &Ident, len: Dim, fill: TokenStream) -> TokenStream {
        self.declare(buf, len, Some(fill))
    }

    /// A buffer filled with `value` that nothing writes afterwards.
    pub fn filled(&self, buf: &Ident, len: Dim, value: f64) -> TokenStream {
        self.declare(buf, len, Some(self.lit(value)))
    }

    /// A buffer the kernel writes completely before reading it: no fill.
    pub fn decl_overwritten(&self, buf: &Ident, len: Dim) -> TokenStream {
        self.declare(buf, len, None)
    }

    /// `buf` bound to `&mut [T; len]`: the caller's result storage, or a
    /// view of the buffer's slot; filled with `fill` when given.
    fn declare(&self, buf: &Ident, len: Dim, fill: Option<TokenStream>) -> TokenStream {
        let fill_stmt = fill.as_ref().map(|f| quote! { #buf.fill(#f); });
        if self.views.contains(buf) {
            return fill_stmt.unwrap_or_default();
        }
        let (elem, krate) = (self.elem(), self.krate);
        let n = len.expr();
        let slot = match &self.memory {
            Memory::Record(decls) => {
                let (node, result) = self.node.take();
                decls.borrow_mut().push(Decl {
                    name: buf.to_string(),
                    len,
                    node,
                    result: result.as_ref() == Some(buf),
                });
                self.node.set((node, result));
                None
            }
            Memory::Planned(plan) => plan.slot_of.get(&buf.to_string()).map(|&k| &plan.slots[k]),
        };
        match slot {
            // A length with a const generic parameter is no array length:
            // a slice of the workspace's boxed slice.
            Some(slot) if len.is_generic() => {
                let (name, ws) = (slot_ident(slot.home, slot.index), workspace_param());
                quote! {
                    let #buf: &mut [#elem] = &mut #ws.#name[..#n];
                    #fill_stmt
                }
            }
            Some(slot) => {
                let name = slot_ident(slot.home, slot.index);
                let place = match slot.home {
                    Home::Stack => quote! { &mut #name },
                    Home::Workspace => {
                        let ws = workspace_param();
                        quote! { &mut *#ws.#name }
                    }
                };
                quote! {
                    let #buf: &mut [#elem; #n] = #krate::runtime::prefix_mut(#place);
                    #fill_stmt
                }
            }
            // The recording run (its code is discarded).
            None => {
                let fill = fill.unwrap_or_else(|| self.lit(0.0));
                quote! { let #buf: &mut [#elem; #n] = &mut [#fill; #n]; }
            }
        }
    }

    /// `view` bound to the `len` elements of `value` (an expression of type
    /// `&T` or `&mut T` for a leaf or result type `T`) in storage order:
    /// `&[E; len]`, or a slice when `len` is a product of const generic
    /// parameters (no array length on stable Rust).
    pub fn flat_view(
        &self,
        view: &Ident,
        value: TokenStream,
        len: Dim,
        mutable: bool,
    ) -> TokenStream {
        let (elem, krate) = (self.elem(), self.krate);
        let n = len.expr();
        match (len.is_generic(), mutable) {
            (true, true) => {
                quote! { let #view: &mut [#elem] = #krate::runtime::flat_slice_mut(#value); }
            }
            (true, false) => quote! { let #view: &[#elem] = #krate::runtime::flat_slice(#value); },
            (false, true) => {
                quote! { let #view: &mut [#elem; #n] = #krate::runtime::flat_mut(#value); }
            }
            (false, false) => quote! { let #view: &[#elem; #n] = #krate::runtime::flat(#value); },
        }
    }

    /// `-inf` of the element type (literals only spell finite values).
    fn neg_inf(&self) -> TokenStream {
        let elem = self.elem();
        quote! { #elem::NEG_INFINITY }
    }

    /// `<T as Real>::exp_in_place(&mut buf[..])`.
    pub fn exp_in_place(&self, buf: &Ident) -> TokenStream {
        self.in_place("exp_in_place", buf)
    }

    /// `<T as Real>::kernel(&mut buf[..])`: a vectorized in-place map.
    pub fn in_place(&self, kernel: &str, buf: &Ident) -> TokenStream {
        let krate = self.krate;
        let elem = self.elem();
        let kernel = Ident::new(kernel, proc_macro2::Span::call_site());
        quote! { <#elem as #krate::runtime::Real>::#kernel(&mut #buf[..]); }
    }

    /// `<T as Real>::gemm_acc(..)` on sub-slices starting at the given
    /// offsets: `out[i·out_row + j] = Σ_k a[i·a_row + k·a_inner] · b[k·b_inner + j]`
    /// (overwriting: each call owns its block of the output).
    pub fn gemm(
        &self,
        (rows, inner, cols): (Dim, Dim, Dim),
        (a, a_at): (&Ident, TokenStream),
        (b, b_at): (&Ident, TokenStream),
        (out, out_at): (&Ident, TokenStream),
        s: GemmCall,
    ) -> TokenStream {
        let krate = self.krate;
        let elem = self.elem();
        let (ar, ai, bi, or) = (s.a_row, s.a_inner, s.b_inner, s.out_row);
        quote! {
            <#elem as #krate::runtime::Real>::gemm_acc(
                #rows, #inner, #cols,
                &#a[#a_at..], &#b[#b_at..], &mut #out[#out_at..],
                #krate::runtime::contract::GemmStrides { a_row: #ar, a_inner: #ai, b_inner: #bi, out_row: #or, overwrite: true },
            );
        }
    }

    /// `out` (`len` elements) zeroed, then `out += x · y` at every point of
    /// `space`: a sum of products (matrix products, contractions,
    /// convolutions). Each buffer comes with its stride along every
    /// iteration axis: `terms` is `[out, x, y]`. For `f32` each output is
    /// accumulated in `f64` ([`contract::wide_sum_of_products`]).
    pub fn sum_of_products(&self, space: &Space, len: Dim, terms: [Strided; 3]) -> TokenStream {
        if self.dtype == DType::F32 {
            return contract::wide_sum_of_products(self, space, len, terms);
        }
        let [(out, so), (x, sx), (y, sy)] = terms;
        let target = space.at(out, so);
        let (x, y) = (space.at(x, sx), space.at(y, sy));
        let decl = self.decl(out, len, 0.0);
        let body = space.loops(quote! { #target += #x * #y; });
        quote! { #decl #body }
    }

    /// `runtime::rows::name(&x[..], args, Rows { .. })` for a reduction of
    /// `x` along `axis`: the layout's axes stored outside `axis` form the
    /// outer blocks, those inside it the contiguous inner block.
    pub fn rows_call(
        &self,
        name: &str,
        x: &Input,
        axis: usize,
        args: TokenStream,
        trailing: TokenStream,
    ) -> TokenStream {
        let order = &x.layout.0;
        let pos = order.iter().position(|a| *a == axis).unwrap_or(0);
        let size = |axes: &[usize]| axes.iter().map(|a| x.shape[*a]).product::<Dim>();
        let (outer, len, inner) = (size(&order[..pos]), x.shape[axis], size(&order[pos + 1..]));
        let krate = self.krate;
        let name = Ident::new(name, proc_macro2::Span::call_site());
        let xb = x.buf;
        quote! {
            #krate::runtime::rows::#name(&#xb[..], #args, #krate::runtime::rows::Rows { outer: #outer, len: #len, inner: #inner } #trailing);
        }
    }

    /// `<T as Real>::name(args)`.
    fn real(&self, name: &str, args: TokenStream) -> TokenStream {
        let krate = self.krate;
        let elem = self.elem();
        let name = Ident::new(name, proc_macro2::Span::call_site());
        quote! { <#elem as #krate::runtime::Real>::#name(#args) }
    }
}

/// A buffer and its stride along every iteration axis of a [`Space`].
pub type Strided<'a> = (&'a Ident, &'a [Dim]);

/// Strides of a [`Ctx::gemm`] call.
pub struct GemmCall {
    /// `a[i·a_row + k·a_inner]`.
    pub a_row: Dim,
    /// See `a_row`.
    pub a_inner: Dim,
    /// `b[k·b_inner + j]`.
    pub b_inner: Dim,
    /// `out[i·out_row + j]`.
    pub out_row: Dim,
}

/// A node's argument: its buffer, layout and shape.
pub struct Input<'a> {
    /// The buffer.
    pub buf: &'a Ident,
    /// How the buffer stores the tensor.
    pub layout: &'a Layout,
    /// The tensor's shape.
    pub shape: &'a [Dim],
}

impl Input<'_> {
    fn strides(&self) -> Vec<Dim> {
        self.layout.strides(self.shape)
    }
}

pub(super) fn len(shape: &[Dim]) -> Dim {
    shape.iter().product()
}
