//! Contractions: `matmul`, the sum of an outer product over another axis,
//! and `matmul(kron(a, b), x)` by the tensor-dot trick.

use super::GemmCall;
use super::{len, Ctx, Input, Strided};
use crate::codegen::layout::Layout;
use crate::codegen::loops::Space;
use crate::dim::Dim;

/// A zero stride: the axis does not move the buffer.
const Z: Dim = Dim::ZERO;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// `matmul(a, b)` into a column-major output: loops `j, l, i` so the inner
/// loop runs down a column of the output (and of `a` when it is
/// column-major).
pub fn matmul(ctx: &Ctx, out: &Ident, a: &Input, b: &Input) -> TokenStream {
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1]);
    let so = Layout::column_major().strides(&[m, n]);
    let (sa, sb) = (a.strides(), b.strides());
    // Iteration axes: 0 = i (row), 1 = j (column), 2 = l (inner).
    let space = Space {
        dims: vec![m, n, k],
        order: vec![1, 2, 0],
    };
    // Column `j` of the output is `Σ_l b[l, j] · a[:, l]`: with `a`'s columns
    // contiguous this is the runtime's contraction kernel, rows = j,
    // inner = l, cols = i.
    // f32 always takes the kernel when it can: it accumulates in f64.
    let f32 = ctx.dtype == crate::graph::DType::F32;
    if sa[0] == 1 && (f32 || (m >= 4 && m * n * k >= 256)) {
        let strides = GemmCall {
            a_row: sb[1],
            a_inner: sb[0],
            b_inner: sa[1],
            out_row: so[1],
        };
        let zero = quote!(0);
        let call = ctx.gemm(
            (n, k, m),
            (b.buf, zero.clone()),
            (a.buf, zero.clone()),
            (out, zero),
            strides,
        );
        let decl = ctx.decl_overwritten(out, m * n);
        return quote! { #decl #call };
    }
    ctx.sum_of_products(
        &space,
        m * n,
        [
            (out, &[so[0], so[1], Z]),
            (a.buf, &[sa[0], Z, sa[1]]),
            (b.buf, &[Z, sb[1], sb[0]]),
        ],
    )
}

/// [`Ctx::sum_of_products`] for `f32` with each output element accumulated
/// in its own `f64` register over the summed axes (those along which the
/// output's stride is 0) and rounded once: every product of two `f32` is
/// exact in `f64`, so the error is at most `n·2⁻⁵³·Σ|aₖ·bₖ|` before that
/// rounding, where an `f32` accumulator has `n·2⁻²⁴`. The output loops run
/// outside, the summed ones inside; each output element is written once.
pub(super) fn wide_sum_of_products(
    ctx: &Ctx,
    space: &Space,
    len: Dim,
    terms: [Strided; 3],
) -> TokenStream {
    let [(out, so), (x, sx), (y, sy)] = terms;
    let summed = |axis: &usize| so[*axis] == Z;
    let keep = |want: bool| Space {
        dims: (0..space.dims.len())
            .map(|axis| {
                if summed(&axis) == want {
                    space.dims[axis]
                } else {
                    Dim::ONE
                }
            })
            .collect(),
        order: space
            .order
            .iter()
            .copied()
            .filter(|a| summed(a) == want)
            .collect(),
    };
    let (outside, inside) = (keep(false), keep(true));
    let target = space.at(out, so);
    let (x, y) = (space.at(x, sx), space.at(y, sy));
    let wide = quote!(::core::primitive::f64);
    let narrow = quote!(::core::primitive::f32);
    let acc = Ident::new("acc", Span::mixed_site());
    let step = inside.loops(quote! { #acc += (#x as #wide) * (#y as #wide); });
    let body = outside.loops(quote! {
        let mut #acc: #wide = 0.0;
        #step
        #target = #acc as #narrow;
    });
    let decl = ctx.decl_overwritten(out, len);
    quote! { #decl #body }
}

/// `outer_contract(a, b)`: `reduce_sum(outer_product(a, b, axis = d), axis = r)`
/// for `d != r` without the outer product. Iteration space: `a`'s axes plus
/// one for `b`'s position on `d`; the output (in `a`'s layout without `r`)
/// takes index `i·D₂ + j` on `d` and has stride 0 along `r`.
pub fn outer_contract(
    ctx: &Ctx,
    out: &Ident,
    a: &Input,
    b: &Input,
    d: usize,
    r: usize,
) -> TokenStream {
    let mut shape = a.shape.to_vec();
    shape[d] = a.shape[d] * b.shape[d];
    shape.remove(r);
    let layout = a.layout.without(r);
    let so = layout.strides(&shape);
    let (sa, sb) = (a.strides(), b.strides());
    let out_axis = |k: usize| if k > r { k - 1 } else { k };
    let mut out_s: Vec<Dim> = (0..a.shape.len())
        .map(|k| {
            if k == r {
                Z
            } else if k == d {
                so[out_axis(k)] * b.shape[d]
            } else {
                so[out_axis(k)]
            }
        })
        .collect();
    out_s.push(so[out_axis(d)]);
    let mut a_s = sa;
    a_s.push(Z);
    let mut b_s = sb.clone();
    b_s[d] = Z;
    b_s.push(sb[d]);
    let mut dims = a.shape.to_vec();
    dims.push(b.shape[d]);
    // Output axes from the largest stride in, with the summed axis just
    // inside all but the innermost one: the inner loop then runs along
    // contiguous output (and usually input) memory, an axpy LLVM vectorizes.
    let mut space = Space::ordered_by(dims, &out_s);
    space.order.retain(|&axis| axis != r);
    let inner = space.order.len().saturating_sub(1);
    space.order.insert(inner, r);
    // The inner `(i, k, j)` block is a matrix product when the output and
    // `b` run contiguously along `j`: hand each batch of it to the runtime's
    // dispatched kernel (AVX2/FMA where the CPU has it) once it is big
    // enough to pay for the call.
    let (rows, inner, cols) = (a.shape[d], a.shape[r], b.shape[d]);
    let extra = a.shape.len();
    let f32 = ctx.dtype == crate::graph::DType::F32;
    let big = cols >= 4 && rows * inner * cols >= 256;
    if out_s[extra] == 1 && b_s[extra] == 1 && (f32 || big) {
        let mut batch = space.dims.clone();
        for axis in [d, r, extra] {
            batch[axis] = Dim::ONE;
        }
        let batch = Space {
            dims: batch,
            order: space.order.clone(),
        };
        let strides = GemmCall {
            a_row: a_s[d],
            a_inner: a_s[r],
            b_inner: b_s[r],
            out_row: out_s[d],
        };
        let call = ctx.gemm(
            (rows, inner, cols),
            (a.buf, batch.offset(&a_s)),
            (b.buf, batch.offset(&b_s)),
            (out, batch.offset(&out_s)),
            strides,
        );
        // Each batch writes its own block of the output: no fill needed.
        let decl = ctx.decl_overwritten(out, len(&shape));
        let body = batch.loops(call);
        return quote! { #decl #body };
    }
    ctx.sum_of_products(
        &space,
        len(&shape),
        [(out, &out_s), (a.buf, &a_s), (b.buf, &b_s)],
    )
}

/// `kron_matmul(a, b, x)` = `matmul(kron(a, b), x)` by the tensor-dot trick,
/// into a column-major output: `T[j, k, c] = Σ_l B[k, l] X[j·S + l, c]`, then
/// `Y[i·R + k, c] = Σ_j A[i, j] T[j, k, c]`. `t` names the `(Q, R, N)` scratch.
pub fn kron_matmul(
    ctx: &Ctx,
    out: &Ident,
    t: &Ident,
    a: &Input,
    b: &Input,
    x: &Input,
) -> TokenStream {
    let (p, q) = (a.shape[0], a.shape[1]);
    let (r, s) = (b.shape[0], b.shape[1]);
    let n = x.shape[1];
    let (sa, sb, sx) = (a.strides(), b.strides(), x.strides());
    // T stored with j fastest, then k, then c.
    let st = [Dim::ONE, q, q * r];
    // Pass 1, iteration axes (j, k, c, l).
    let t_s = [st[0], st[1], st[2], Z];
    let (b_s, x_s) = ([Z, sb[0], Z, sb[1]], [s * sx[0], Z, sx[1], sx[0]]);
    let pass1 = Space::ordered_by(vec![q, r, n, s], &t_s);
    let pass1 = ctx.sum_of_products(&pass1, q * r * n, [(t, &t_s), (b.buf, &b_s), (x.buf, &x_s)]);
    // Pass 2, iteration axes (i, k, c, j); output column-major (p·r, n).
    let so = Layout::column_major().strides(&[p * r, n]);
    let y_s = [r * so[0], so[0], so[1], Z];
    let (a_s, t2_s) = ([sa[0], Z, Z, sa[1]], [Z, st[1], st[2], st[0]]);
    let pass2 = Space::ordered_by(vec![p, r, n, q], &y_s);
    let pass2 = ctx.sum_of_products(&pass2, p * r * n, [(out, &y_s), (a.buf, &a_s), (t, &t2_s)]);
    quote! { #pass1 #pass2 }
}

/// `polynomial_product(p, q)` for `f32` (`(K1, D1)`, `(K2, D2)` into
/// `(K1·K2, D1 + D2 − 1)` in `p`'s layout): each coefficient
/// `out[i·K2 + j, c] = Σ_{a + b = c} p[i, a]·q[j, b]` accumulated in its own
/// `f64` register and rounded once, as [`wide_sum_of_products`] (the `f64`
/// convolution in `products.rs` scatters into `out` instead).
pub(super) fn wide_convolution(ctx: &Ctx, out: &Ident, p: &Input, q: &Input) -> TokenStream {
    let (k1, d1) = (p.shape[0], p.shape[1]);
    let (k2, d2) = (q.shape[0], q.shape[1]);
    let shape = [k1 * k2, d1 + d2 - 1];
    let so = p.layout.strides(&shape);
    let (sp, sq) = (p.strides(), q.strides());
    let (k1l, k2l, dl) = (k1, k2, shape[1]);
    let (sp0, sp1, sq0, sq1, so0, so1) = (sp[0], sp[1], sq[0], sq[1], so[0], so[1]);
    let (top_p, top_q) = (d1 - 1, d2 - 1);
    let (pb, qb) = (p.buf, q.buf);
    let wide = quote!(::core::primitive::f64);
    let narrow = quote!(::core::primitive::f32);
    let decl = ctx.decl_overwritten(out, len(&shape));
    // Hygienic locals: they cannot shadow a buffer or a user's item.
    let [i, j, c, a, lo, hi, acc] =
        ["i", "j", "c", "a", "lo", "hi", "acc"].map(|n| Ident::new(n, Span::mixed_site()));
    quote! {
        #decl
        for #i in 0..#k1l {
            for #j in 0..#k2l {
                for #c in 0..#dl {
                    let mut #acc: #wide = 0.0;
                    let #lo = ::core::primitive::usize::saturating_sub(#c, #top_q);
                    let #hi = ::core::cmp::min(#c, #top_p);
                    for #a in #lo..=#hi {
                        #acc += (#pb[#i * #sp0 + #a * #sp1] as #wide)
                            * (#qb[#j * #sq0 + (#c - #a) * #sq1] as #wide);
                    }
                    #out[(#i * #k2l + #j) * #so0 + #c * #so1] = #acc as #narrow;
                }
            }
        }
    }
}
