//! Reductions and (log-)softmaxes along one axis, and the shared-statistics
//! forms the `log_softmax` rule produces.

use super::{len, Ctx, Input};
use crate::codegen::loops::{flat, flat_var, Space};
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
    sr.insert(axis, 0);
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
pub(super) fn rows(x: &Input, axis: usize) -> usize {
    len(x.shape) / x.shape[axis]
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
    (m, t): (&Ident, &Ident),
    kind: ReduceKind,
    x: &Input,
    axis: usize,
) -> TokenStream {
    let n = rows(x, axis);
    let xb = x.buf;
    match kind {
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
        ReduceKind::Lse if ctx.dtype == DType::F64 => {
            let decl_m = ctx.decl(m, n, 0.0);
            let decl = ctx.decl_overwritten(out, n);
            let args = quote! { &mut #out[..], &mut #m[..] };
            let call = ctx.rows_call("logsumexp_f64", x, axis, args, TokenStream::new());
            quote! { #decl_m #decl #call }
        }
        ReduceKind::Lse => {
            // torch.logsumexp: shift by the row max, masked to 0 when infinite,
            // so all-`-inf` rows give `-inf` and rows holding `+inf` give `+inf`.
            let max = row_max(ctx, m, x, axis);
            let k = flat_var();
            let shift = ctx.real("lse_shift", quote! { #m[#k] });
            let mask = flat(n, quote! { #m[#k] = #shift; });
            let decl = ctx.decl(out, n, 0.0);
            let decl_t = ctx.decl_overwritten(t, len(x.shape));
            let exps = shifted_exp(ctx, t, x, m, axis);
            let sum = over_rows(x, axis, |r, o| quote! { #out[#r] += #t[#o]; });
            let finish = flat(n, quote! { #out[#k] = #out[#k].ln() + #m[#k]; });
            quote! { #max #mask #decl #decl_t #exps #sum #finish }
        }
    }
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
    if ctx.dtype == DType::F64 {
        // One dispatched runtime kernel (AVX2/FMA where available) doing the
        // same passes block by block, the exponentials fused into the sums.
        let decl_m = ctx.decl(m, n, 0.0);
        let decl_s = ctx.decl(s, n, 0.0);
        let decl_out = ctx.decl_overwritten(out, len(x.shape));
        let args = quote! { &mut #out[..], &mut #m[..], &mut #s[..] };
        let call = ctx.rows_call("softmax_f64", x, axis, args, quote! { , #log });
        return quote! { #decl_m #decl_s #decl_out #call };
    }
    let max = row_max(ctx, m, x, axis);
    let decl_s = ctx.decl(s, n, 0.0);
    let decl_out = ctx.decl_overwritten(out, len(x.shape));
    let xb = x.buf;
    let k = flat_var();
    // The exponentials go through the output buffer, then the sums.
    let exps = shifted_exp(ctx, out, x, m, axis);
    let sum = over_rows(x, axis, |r, o| quote! { #s[#r] += #out[#o]; });
    if log {
        let logs = flat(n, quote! { #s[#k] = #s[#k].ln(); });
        let write = over_rows(
            x,
            axis,
            |r, o| quote! { #out[#o] = #xb[#o] - #m[#r] - #s[#r]; },
        );
        quote! { #max #decl_s #decl_out #exps #sum #logs #write }
    } else {
        let normalize = over_rows(x, axis, |r, o| quote! { #out[#o] /= #s[#r]; });
        quote! { #max #decl_s #decl_out #exps #sum #normalize }
    }
}

/// `row_sum_exp(x, m)`: `Σ exp(x − m)` along `axis`, in the reduced layout.
pub fn row_sum_exp(
    ctx: &Ctx,
    out: &Ident,
    t: &Ident,
    x: &Input,
    m: &Ident,
    axis: usize,
) -> TokenStream {
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
