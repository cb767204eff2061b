//! The loops of cirkit's circuit-product ops: mixing weights, products of
//! Gaussian layers, products and derivatives of polynomials.
//!
//! Each function emits the statements that declare and fill one node's
//! buffer. The scalar steps of the Gaussian and derivative ops are
//! `param_graph_runtime::ProductOps` calls, so a parameter computed alone and
//! one computed from shared summed variances are the same expression.

use super::{Ctx, Input};
use crate::codegen::loops::Space;
use crate::dim::Dim;
use crate::graph::GaussianPart;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

/// `<T as ProductOps>::name(args)`.
fn call(ctx: &Ctx, name: &str, args: &[TokenStream]) -> TokenStream {
    let (krate, elem) = (ctx.krate, ctx.elem());
    let name = Ident::new(name, Span::call_site());
    quote! { <#elem as #krate::runtime::ProductOps>::#name(#(#args),*) }
}

/// `mixing_weight(v)`: `(K, H) → (K, K·H)` in `v`'s layout, zeros except
/// `W[k, h·K + k] = v[k, h]`; one pass over `v` after the fill.
pub fn mixing_weight(ctx: &Ctx, out: &Ident, v: &Input) -> TokenStream {
    let (k, h) = (v.shape[0], v.shape[1]);
    let so = v.layout.strides(&[k, k * h]);
    // Iteration axes (k, h): row k, column h·K + k.
    let out_s = [so[0] + so[1], k * so[1]];
    let space = Space::ordered_by(vec![k, h], &out_s);
    let target = space.at(out, &out_s);
    let source = space.at(v.buf, &v.strides());
    let decl = ctx.decl(out, k * k * h, 0.0);
    let body = space.loops(quote! { #target = #source; });
    quote! { #decl #body }
}

/// Which index of the pair `(i, j)` an argument of a Gaussian product op is
/// read at.
#[derive(Clone, Copy)]
enum Side {
    /// The first layer's component `i`.
    First,
    /// The second layer's component `j`.
    Second,
    /// The pair itself, `i·K2 + j` (the summed variances).
    Pair,
}

/// A Gaussian product op over every pair `(i, j)` of `(K1,)` and `(K2,)`
/// vectors into `(K1·K2,)` at `i·K2 + j`: `value` builds the element from
/// the arguments read at their sides.
fn pairwise(
    ctx: &Ctx,
    out: &Ident,
    (k1, k2): (Dim, Dim),
    args: &[(&Input, Side)],
    value: impl Fn(&[TokenStream]) -> TokenStream,
) -> TokenStream {
    let space = Space {
        dims: vec![k1, k2],
        order: vec![0, 1],
    };
    let read: Vec<TokenStream> = args
        .iter()
        .map(|(x, side)| {
            let s = match side {
                Side::First => [Dim::ONE, Dim::ZERO],
                Side::Second => [Dim::ZERO, Dim::ONE],
                Side::Pair => [k2, Dim::ONE],
            };
            space.at(x.buf, &s)
        })
        .collect();
    let target = space.at(out, &[k2, Dim::ONE]);
    let element = value(&read);
    let decl = ctx.decl_overwritten(out, k1 * k2);
    let body = space.loops(quote! { #target = #element; });
    quote! { #decl #body }
}

/// `gaussian_product_*` computed alone: the summed variances inline.
/// `args` are the op's, `(m1, s1, m2, s2)` or `(s1, s2)`.
pub fn gaussian(ctx: &Ctx, out: &Ident, part: GaussianPart, args: &[Input]) -> TokenStream {
    let sizes = (args[0].shape[0], args[args.len() - 1].shape[0]);
    let sides = sides(part);
    let inputs: Vec<(&Input, Side)> = args.iter().zip(sides).collect();
    pairwise(ctx, out, sizes, &inputs, |r| {
        let (s1, s2) = match part {
            GaussianPart::Stddev => (&r[0], &r[1]),
            _ => (&r[1], &r[3]),
        };
        let v = call(ctx, "gaussian_scaled_var", &[s1.clone(), s2.clone()]);
        from_var(ctx, part, r, v)
    })
}

/// `gaussian_var_sum(s1, s2)`: at `i·K2 + j`, the summed variances in the
/// runtime's scaled form, `(s1[i]² + s2[j]²) / max(s1[i]², s2[j]²)`.
pub fn gaussian_var_sum(ctx: &Ctx, out: &Ident, s1: &Input, s2: &Input) -> TokenStream {
    let sizes = (s1.shape[0], s2.shape[0]);
    let inputs = [(s1, Side::First), (s2, Side::Second)];
    pairwise(ctx, out, sizes, &inputs, |r| {
        call(ctx, "gaussian_scaled_var", &[r[0].clone(), r[1].clone()])
    })
}

/// `gaussian_*_from_var(args..., v)`: a Gaussian product parameter from the
/// shared summed variances `v` (the last argument).
pub fn gaussian_from_var(
    ctx: &Ctx,
    out: &Ident,
    part: GaussianPart,
    args: &[Input],
) -> TokenStream {
    let (own, v) = args.split_at(args.len() - 1);
    let sizes = (own[0].shape[0], own[own.len() - 1].shape[0]);
    let mut inputs: Vec<(&Input, Side)> = own.iter().zip(sides(part)).collect();
    inputs.push((&v[0], Side::Pair));
    pairwise(ctx, out, sizes, &inputs, |r| {
        let (r, v) = r.split_at(r.len() - 1);
        from_var(ctx, part, r, v[0].clone())
    })
}

/// The layer each argument of a Gaussian product op belongs to.
fn sides(part: GaussianPart) -> Vec<Side> {
    match part {
        GaussianPart::Stddev => vec![Side::First, Side::Second],
        _ => vec![Side::First, Side::First, Side::Second, Side::Second],
    }
}

/// One parameter from the op's arguments `r` (as read) and the summed
/// variance `v`.
fn from_var(ctx: &Ctx, part: GaussianPart, r: &[TokenStream], v: TokenStream) -> TokenStream {
    match part {
        GaussianPart::Mean => call(
            ctx,
            "gaussian_mean",
            &[r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), v],
        ),
        GaussianPart::Stddev => call(ctx, "gaussian_stddev", &[r[0].clone(), r[1].clone(), v]),
        GaussianPart::LogPartition => call(
            ctx,
            "gaussian_log_partition",
            &[r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), v],
        ),
    }
}

/// `polynomial_product(p, q)`: `(K1, D1)` and `(K2, D2)` into
/// `(K1·K2, D1 + D2 − 1)` in `p`'s layout, by direct convolution:
/// `out[i·K2 + j, a + b] += p[i, a] · q[j, b]` over iteration axes
/// `(i, j, a, b)`, the output walked in storage order.
pub fn polynomial_product(ctx: &Ctx, out: &Ident, p: &Input, q: &Input) -> TokenStream {
    if ctx.dtype == crate::graph::DType::F32 {
        // Each coefficient summed in f64, rounded once.
        return super::contract::wide_convolution(ctx, out, p, q);
    }
    let (k1, d1) = (p.shape[0], p.shape[1]);
    let (k2, d2) = (q.shape[0], q.shape[1]);
    let shape = [k1 * k2, d1 + d2 - 1];
    let so = p.layout.strides(&shape);
    let (sp, sq) = (p.strides(), q.strides());
    let out_s = [k2 * so[0], so[0], so[1], so[1]];
    let space = Space::ordered_by(vec![k1, k2, d1, d2], &out_s);
    ctx.sum_of_products(
        &space,
        shape[0] * shape[1],
        [
            (out, &out_s),
            (p.buf, &[sp[0], Dim::ZERO, sp[1], Dim::ZERO]),
            (q.buf, &[Dim::ZERO, sq[0], Dim::ZERO, sq[1]]),
        ],
    )
}

/// `polynomial_differential(p, order = n)`: `(K, D)` into `(K, D − n)` in
/// `p`'s layout, `out[k, j] = p[k, j + n] · (j + n) ⋯ (j + 1)`; `(K, 1)` of
/// zeros when `D ≤ n`, whatever the coefficients (as cirkit's `zeros_like`).
pub fn polynomial_differential(ctx: &Ctx, out: &Ident, p: &Input, order: usize) -> TokenStream {
    let (k, d) = (p.shape[0], p.shape[1]);
    // Shape inference requires `D` known when `order` is not 0.
    if d.value().is_some_and(|d| d <= order) {
        return ctx.filled(out, k, 0.0);
    }
    let shape = [k, d - order];
    let so = p.layout.strides(&shape);
    let sp = p.strides();
    let space = Space::ordered_by(shape.to_vec(), &so);
    let target = space.at(out, &so);
    let offset = space.offset(&sp);
    let shift = sp[1] * order;
    let buf = p.buf;
    let index = space.offset(&[Dim::ZERO, Dim::ONE]);
    let n = Literal::usize_unsuffixed(order);
    let source = if offset.to_string() == "0" {
        quote! { #buf[#shift] }
    } else {
        quote! { #buf[#offset + #shift] }
    };
    let value = call(
        ctx,
        "derivative_coefficient",
        &[source, index, quote! { #n }],
    );
    let decl = ctx.decl_overwritten(out, k * (d - order));
    let body = space.loops(quote! { #target = #value; });
    quote! { #decl #body }
}
