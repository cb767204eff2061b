//! Reductions and (log-)softmaxes along one axis, and the shared-statistics
//! forms the `log_softmax` rule produces.

use super::{len, Ctx, Input};
use crate::codegen::loops::{flat, flat_var, Space};
use crate::dim::Dim;
use crate::graph::{DType, ReduceKind};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// A pass over `x` in its storage order: `body(reduced_offset, x_offset)`,
/// where the reduced offset indexes a buffer of `x`'s shape without `axis`
/// (same layout otherwise) and `x_offset` indexes `x` and any buffer of the
/// same layout.
pub(super) fn over_rows(
    x: &Input,
    axis: usize,
    body: impl Fn(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let sx = x.strides();
    let mut reduced_shape = x.shape.to_vec();
    reduced_shape.remove(axis);
    let mut sr = x.layout.without(axis).strides(&reduced_shape);
    sr.insert(axis, Dim::ZERO);
    let space = Space::ordered_by(x.shape.to_vec(), &sx);
    let stmt = body(space.offset(&sr), space.offset(&sx));
    space.loops(stmt)
}

/// `t = exp(x − m)` (`m` broadcast along `axis`), `t` in `x`'s layout and
/// already declared: one subtraction pass, then one vectorized `exp` over
/// the whole buffer.
pub(super) fn shifted_exp(ctx: &Ctx, t: &Ident, x: &Input, m: &Ident, axis: usize) -> TokenStream {
    let xb = x.buf;
    let shift = over_rows(x, axis, |r, o| quote! { #t[#o] = #xb[#o] - #m[#r]; });
    let exp = ctx.exp_in_place(t);
    quote! { #shift #exp }
}

/// Number of rows when reducing `x` along `axis`.
pub(super) fn rows(x: &Input, axis: usize) -> Dim {
    let mut others = x.shape.to_vec();
    others.remove(axis);
    len(&others)
}

/// Row maxima into `m` (NaN-propagating, as `torch.amax`).
pub fn row_max(ctx: &Ctx, m: &Ident, x: &Input, axis: usize) -> TokenStream {
    let decl = ctx.decl_with(m, rows(x, axis), ctx.neg_inf());
    let xb = x.buf;
    let pass = over_rows(x, axis, |r, o| {
        let max = ctx.real("nan_max", quote! { #m[#r], #xb[#o] });
        quote! { #m[#r] = #max; }
    });
    quote! { #decl #pass }
}

/// `reduce_sum` / `reduce_prod` / `reduce_lse` along `axis`; the output has
/// the input's layout without `axis`. `m` names a scratch buffer.
pub fn reduce(
    ctx: &Ctx,
    out: &Ident,
    (m, _t): (&Ident, &Ident),
    kind: ReduceKind,
    x: &Input,
    axis: usize,
) -> TokenStream {
    let n = rows(x, axis);
    let xb = x.buf;
    match kind {
        ReduceKind::Sum if ctx.dtype == DType::F32 => {
            // Accumulated in f64 by the runtime (not left to right in f32).
            let decl = ctx.decl_overwritten(out, n);
            let call = ctx.rows_call("sum_f32", x, axis, quote! { &mut #out[..] }, quote!());
            quote! { #decl #call }
        }
        ReduceKind::Sum | ReduceKind::Prod => {
            let (fill, step) = if kind == ReduceKind::Sum {
                (0.0, quote!(+=))
            } else {
                (1.0, quote!(*=))
            };
            let decl = ctx.decl(out, n, fill);
            let pass = over_rows(x, axis, |r, o| quote! { #out[#r] #step #xb[#o]; });
            quote! { #decl #pass }
        }
        ReduceKind::Lse => {
            let decl_m = ctx.decl(m, n, 0.0);
            let decl = ctx.decl_overwritten(out, n);
            let args = quote! { &mut #out[..], &mut #m[..] };
            let call = ctx.rows_call(&rows_kernel(ctx, "logsumexp"), x, axis, args, quote!());
            quote! { #decl_m #decl #call }
        }
    }
}

/// The runtime row kernel `name_f32` or `name_f64` for the element type.
fn rows_kernel(ctx: &Ctx, name: &str) -> String {
    let elem = if ctx.dtype == DType::F32 {
        "f32"
    } else {
        "f64"
    };
    format!("{name}_{elem}")
}

/// `softmax` / `log_softmax` along `axis`, as torch computes them: shift by
/// the row max, exponentiate, normalize (one `log` per row for log-softmax).
/// `m` and `s` name scratch buffers of the reduced shape.
pub fn softmax(
    ctx: &Ctx,
    out: &Ident,
    m: &Ident,
    s: &Ident,
    x: &Input,
    axis: usize,
    log: bool,
) -> TokenStream {
    let n = rows(x, axis);
    // One dispatched runtime kernel (AVX2/FMA where available) doing the
    // passes block by block, the exponentials fused into the sums (in f64
    // for f32).
    let decl_m = ctx.decl(m, n, 0.0);
    let decl_s = ctx.decl(s, n, 0.0);
    let decl_out = ctx.decl_overwritten(out, len(x.shape));
    let args = quote! { &mut #out[..], &mut #m[..], &mut #s[..] };
    let call = ctx.rows_call(
        &rows_kernel(ctx, "softmax"),
        x,
        axis,
        args,
        quote! { , #log },
    );
    quote! { #decl_m #decl_s #decl_out #call }
}

/// `row_sum_exp(x, m)`: `Σ exp(x − m)` along `axis`, in the reduced layout
/// (`f32`: the excess `Σ exp(x − m) − 1`, read only by [`normalize`]).
pub fn row_sum_exp(
    ctx: &Ctx,
    out: &Ident,
    t: &Ident,
    x: &Input,
    m: &Ident,
    axis: usize,
) -> TokenStream {
    if ctx.dtype == DType::F32 {
        // f32 stores the excess `Σ exp(x − m) − 1`, accumulated in f64 and
        // rounded once, so that `normalize` can take `log1p` of it: `log s`
        // of an `s` rounded to f32 loses `log p` of a dominant maximum.
        let decl = ctx.decl_overwritten(out, rows(x, axis));
        let args = quote! { &#m[..], &mut #out[..] };
        let call = ctx.rows_call("excess_sum_exp_f32", x, axis, args, quote!());
        return quote! { #decl #call };
    }
    let decl = ctx.decl(out, rows(x, axis), 0.0);
    let decl_t = ctx.decl_overwritten(t, len(x.shape));
    let exps = shifted_exp(ctx, t, x, m, axis);
    let pass = over_rows(x, axis, |r, o| quote! { #out[#r] += #t[#o]; });
    quote! { #decl #decl_t #exps #pass }
}

/// Softmax (`exp(x − m) / s`) or log-softmax (`x − m − log s`, one `log` per
/// row into the scratch `ls`) from shared row statistics.
pub fn normalize(
    ctx: &Ctx,
    out: &Ident,
    ls: &Ident,
    x: &Input,
    (m, s): (&Ident, &Ident),
    axis: usize,
    log: bool,
) -> TokenStream {
    let decl = ctx.decl_overwritten(out, len(x.shape));
    if ctx.dtype == DType::F32 {
        // `s` holds the excess `Σ exp(x − m) − 1` (see `row_sum_exp`): the
        // runtime evaluates `(x − m) − log1p(e)` or `exp(x − m) / (1 + e)`
        // in f64 and rounds once.
        let args = quote! { &#m[..], &#s[..], &mut #out[..] };
        let call = ctx.rows_call("normalize_excess_f32", x, axis, args, quote! { , #log });
        return quote! { #decl #call };
    }
    let xb = x.buf;
    if log {
        let n = rows(x, axis);
        let k = flat_var();
        let decl_ls = ctx.decl(ls, n, 0.0);
        let logs = flat(n, quote! { #ls[#k] = #s[#k].ln(); });
        let pass = over_rows(
            x,
            axis,
            |r, o| quote! { #out[#o] = #xb[#o] - #m[#r] - #ls[#r]; },
        );
        quote! { #decl_ls #logs #decl #pass }
    } else {
        let exps = shifted_exp(ctx, out, x, m, axis);
        let pass = over_rows(x, axis, |r, o| quote! { #out[#o] /= #s[#r]; });
        quote! { #decl #exps #pass }
    }
}

/// `normalize(x, axis)`: `x / Σ x` per row (a zero row gives NaN, as
/// torch), or with `log` the fused `log(normalize(x))` = `log x − log Σ x`;
/// row by row, the sum in an `f64` register, the output in `x`'s layout.
pub fn sum_normalize(ctx: &Ctx, out: &Ident, x: &Input, axis: usize, log: bool) -> TokenStream {
    let (space, _, step) = super::backward::row_space(x, axis);
    let xo = space.offset(&x.strides());
    let n = x.shape[axis].expr();
    let xb = x.buf;
    let (elem, wide) = (ctx.elem(), quote!(::core::primitive::f64));
    let [i, at, sum] = ["i", "at", "sum"].map(|v| Ident::new(v, proc_macro2::Span::mixed_site()));
    let write = if log {
        // `log x − log s` where both are positive (no quotient to
        // underflow); elsewhere `log(x / s)`, the unfused value (a negative
        // row, a zero, NaN).
        let [log_sum, v] = ["log_sum", "v"].map(|n| Ident::new(n, proc_macro2::Span::mixed_site()));
        quote! {
            let #log_sum = #sum.ln();
            for #i in 0..#n {
                let #at = #xo + #i * #step;
                let #v = #xb[#at];
                #out[#at] = if #v > 0.0 && #sum > 0.0 { #v.ln() - #log_sum } else { (#v / #sum).ln() };
            }
        }
    } else {
        quote! {
            for #i in 0..#n {
                let #at = #xo + #i * #step;
                #out[#at] = #xb[#at] / #sum;
            }
        }
    };
    let decl = ctx.decl_overwritten(out, len(x.shape));
    let body = space.loops(quote! {
        let mut #sum: #wide = 0.0;
        for #i in 0..#n {
            #sum += #xb[#xo + #i * #step] as #wide;
        }
        let #sum = #sum as #elem;
        #write
    });
    quote! { #decl #body }
}
