//! Elementwise maps and zips, gathers (`index`), the Kronecker and outer
//! products, and layout copies.

use super::{len, Ctx, Input};
use crate::codegen::loops::Space;
use crate::dim::Dim;
use crate::graph::{MapOp, OuterKind, ZipOp};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// The scalar expression of an elementwise op applied to `x`.
pub(super) fn map_expr(ctx: &Ctx, op: MapOp, x: TokenStream) -> TokenStream {
    match op {
        MapOp::Exp => ctx.real("exp", x),
        MapOp::Log => quote! { #x.ln() },
        MapOp::Square => quote! { #x * #x },
        MapOp::Sigmoid => ctx.real("sigmoid", x),
        MapOp::Softplus => ctx.real("softplus", x),
        MapOp::Conjugate => x,
        MapOp::LogSigmoid => ctx.real("log_sigmoid", x),
        MapOp::Sqrt => quote! { #x.sqrt() },
        MapOp::ScaledSigmoid { vmin, vmax } => {
            let (lo, hi) = (ctx.lit(vmin.0), ctx.lit(vmax.0));
            ctx.real("scaled_sigmoid", quote! { #x, #lo, #hi })
        }
        MapOp::Clamp { min, max } => {
            let mut e = x;
            if let Some(lo) = min {
                let lo = ctx.lit(lo.0);
                e = ctx.real("clamp_min", quote! { #e, #lo });
            }
            if let Some(hi) = max {
                let hi = ctx.lit(hi.0);
                e = ctx.real("clamp_max", quote! { #e, #hi });
            }
            e
        }
    }
}

/// The scalar expression of a zip of `a` and `b`.
pub(super) fn zip_expr(ctx: &Ctx, op: ZipOp, a: TokenStream, b: TokenStream) -> TokenStream {
    match op {
        ZipOp::Add => quote! { #a + #b },
        ZipOp::Hadamard => quote! { #a * #b },
        ZipOp::Div => quote! { #a / #b },
        ZipOp::Maximum => ctx.real("nan_max", quote! { #a, #b }),
        ZipOp::Minimum => ctx.real("nan_min", quote! { #a, #b }),
        ZipOp::LogAddExp => ctx.real("logaddexp", quote! { #a, #b }),
    }
}

/// `index(x, [..], axis)`: output in the input's layout, gathered through a
/// local table of positions.
pub fn index(
    ctx: &Ctx,
    out: &Ident,
    table: &Ident,
    x: &Input,
    axis: usize,
    indices: &[Dim],
) -> TokenStream {
    let mut shape = x.shape.to_vec();
    shape[axis] = Dim::known(indices.len());
    let so = x.layout.strides(&shape);
    let sx = x.strides();
    let decl = ctx.decl_overwritten(out, len(&shape));
    let positions = indices.iter();
    let count = indices.len();
    let space = Space::ordered_by(shape.clone(), &so);
    // The indexed axis reads through the table: its own stride is applied to
    // the looked-up position instead of the loop variable.
    let mut sx_other = sx.clone();
    sx_other[axis] = Dim::ZERO;
    let rest = space.offset(&sx_other);
    let mut unit = vec![Dim::ZERO; shape.len()];
    unit[axis] = Dim::ONE;
    let slot = space.offset(&unit);
    let stride = sx[axis];
    let target = space.at(out, &so);
    let xb = x.buf;
    let body = space.loops(quote! { #target = #xb[#table[#slot] * #stride + #rest]; });
    quote! {
        let #table: [::core::primitive::usize; #count] = [#(#positions),*];
        #decl
        #body
    }
}

/// `kron(a, b)`: a 2r-axis iteration space `(i_0.., j_0..)` where output
/// axis d has index `i_d * b_d + j_d`; output in `a`'s layout.
pub fn kron(ctx: &Ctx, out: &Ident, a: &Input, b: &Input) -> TokenStream {
    let r = a.shape.len();
    let shape: Vec<Dim> = a.shape.iter().zip(b.shape).map(|(x, y)| x * y).collect();
    let so = a.layout.strides(&shape);
    let (sa, sb) = (a.strides(), b.strides());
    let mut dims = a.shape.to_vec();
    dims.extend_from_slice(b.shape);
    let mut out_s: Vec<Dim> = (0..r).map(|d| so[d] * b.shape[d]).collect();
    out_s.extend_from_slice(&so);
    let mut a_s = sa.clone();
    a_s.extend(std::iter::repeat_n(Dim::ZERO, r));
    let mut b_s = vec![Dim::ZERO; r];
    b_s.extend_from_slice(&sb);
    let space = Space::ordered_by(dims, &out_s);
    let target = space.at(out, &out_s);
    let (x, y) = (space.at(a.buf, &a_s), space.at(b.buf, &b_s));
    let decl = ctx.decl_overwritten(out, len(&shape));
    let body = space.loops(quote! { #target = #x * #y; });
    quote! { #decl #body }
}

/// `outer_product` / `outer_sum` along `axis`: iteration space is `a`'s axes
/// plus one for `b`'s position on `axis`; output index `i1 * d2 + i2` there.
pub fn outer(
    ctx: &Ctx,
    out: &Ident,
    kind: OuterKind,
    a: &Input,
    b: &Input,
    axis: usize,
) -> TokenStream {
    let mut shape = a.shape.to_vec();
    shape[axis] = a.shape[axis] * b.shape[axis];
    let so = a.layout.strides(&shape);
    let (sa, sb) = (a.strides(), b.strides());
    let mut dims = a.shape.to_vec();
    dims.push(b.shape[axis]);
    let mut out_s = so.clone();
    out_s[axis] = so[axis] * b.shape[axis];
    out_s.push(so[axis]);
    let mut a_s = sa;
    a_s.push(Dim::ZERO);
    let mut b_s = sb.clone();
    b_s[axis] = Dim::ZERO;
    b_s.push(sb[axis]);
    let space = Space::ordered_by(dims, &out_s);
    let target = space.at(out, &out_s);
    let (x, y) = (space.at(a.buf, &a_s), space.at(b.buf, &b_s));
    let value = match kind {
        OuterKind::Product => quote! { #x * #y },
        OuterKind::Sum => quote! { #x + #y },
    };
    let decl = ctx.decl_overwritten(out, len(&shape));
    let body = space.loops(quote! { #target = #value; });
    quote! { #decl #body }
}

/// Copies `x` into a buffer of layout `to` for a tensor of shape `to_shape`
/// with the same number of elements, where `to_strides` gives the output
/// offset of each input axis (a transposition, or a flatten).
pub fn copy(ctx: &Ctx, out: &Ident, x: &Input, to_strides: &[Dim]) -> TokenStream {
    let sx = x.strides();
    let space = Space::ordered_by(x.shape.to_vec(), to_strides);
    let target = space.at(out, to_strides);
    let source = space.at(x.buf, &sx);
    let decl = ctx.decl_overwritten(out, len(x.shape));
    let body = space.loops(quote! { #target = #source; });
    quote! { #decl #body }
}
