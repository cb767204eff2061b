//! The backward ops of a VJP graph (see `graph::derivatives`): the
//! elementwise derivatives of the maps (fused like any map), affine
//! contractions, and the row kernels of `reduce_prod`, `reduce_lse`, the
//! softmaxes, `index`, the Gaussian products and polynomial derivatives.

use super::{len, Ctx, Input};
use crate::codegen::loops::Space;
use crate::dim::Dim;
use crate::graph::{Contraction, DType, GaussianPart, MapOp, ZipOp};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

/// `<T as Vjp>::name(args)`.
fn vjp_call(ctx: &Ctx, name: &str, args: TokenStream) -> TokenStream {
    let (krate, elem) = (ctx.krate, ctx.elem());
    let name = Ident::new(name, Span::call_site());
    quote! { <#elem as #krate::runtime::Vjp>::#name(#args) }
}

/// The cotangent of a map's argument from `v` (its argument, or its result
/// for `exp` and `sigmoid`) and the cotangent `g` of its result.
pub(super) fn map_vjp_expr(ctx: &Ctx, op: MapOp, v: TokenStream, g: TokenStream) -> TokenStream {
    match op {
        MapOp::Exp => vjp_call(ctx, "exp_vjp", quote! { #v, #g }),
        MapOp::Log => vjp_call(ctx, "log_vjp", quote! { #v, #g }),
        MapOp::Square => vjp_call(ctx, "square_vjp", quote! { #v, #g }),
        MapOp::Sigmoid => vjp_call(ctx, "sigmoid_vjp", quote! { #v, #g }),
        MapOp::Softplus => vjp_call(ctx, "softplus_vjp", quote! { #v, #g }),
        MapOp::LogSigmoid => vjp_call(ctx, "log_sigmoid_vjp", quote! { #v, #g }),
        MapOp::Conjugate => g,
        MapOp::Sqrt => vjp_call(ctx, "sqrt_vjp", quote! { #v, #g }),
        MapOp::ScaledSigmoid { vmin, vmax } => {
            let (lo, hi) = (ctx.lit(vmin.0), ctx.lit(vmax.0));
            vjp_call(ctx, "scaled_sigmoid_vjp", quote! { #v, #g, #lo, #hi })
        }
        MapOp::Clamp { min, max } => {
            let elem = ctx.elem();
            let lo = min.map_or(quote! { #elem::NEG_INFINITY }, |m| ctx.lit(m.0));
            let hi = max.map_or(quote! { #elem::INFINITY }, |m| ctx.lit(m.0));
            vjp_call(ctx, "clamp_vjp", quote! { #v, #g, #lo, #hi })
        }
    }
}

/// The cotangent of argument `wrt` of a zip, elementwise, from `a`, `b`
/// and the cotangent `g` of the result.
pub(super) fn zip_vjp_expr(
    ctx: &Ctx,
    op: ZipOp,
    wrt: usize,
    [a, b, g]: [TokenStream; 3],
) -> TokenStream {
    let k = Literal::usize_unsuffixed(wrt);
    match op {
        ZipOp::Add => g,
        ZipOp::Hadamard if wrt == 0 => quote! { #g * #b },
        ZipOp::Hadamard => quote! { #g * #a },
        ZipOp::Div => vjp_call(ctx, "div_vjp", quote! { #a, #b, #g, #k }),
        ZipOp::Maximum => vjp_call(ctx, "extremum_vjp", quote! { #a, #b, #g, #k, true }),
        ZipOp::Minimum => vjp_call(ctx, "extremum_vjp", quote! { #a, #b, #g, #k, false }),
        ZipOp::LogAddExp => vjp_call(ctx, "logaddexp_vjp", quote! { #a, #b, #g, #k }),
    }
}

/// The strides of an operand with buffer strides `strides` along every
/// iteration axis of `c`, for the operand index `index`.
fn iteration_strides(
    c: &Contraction,
    index: &[crate::graph::AxisIndex],
    strides: &[Dim],
) -> Vec<Dim> {
    let mut out = vec![Dim::ZERO; c.dims.len()];
    for (axis, terms) in index.iter().enumerate() {
        for &(t, coef) in terms {
            out[t] += coef * strides[axis];
        }
    }
    out
}

/// Whether the output index visits every output element exactly once:
/// each axis one iteration axis of coefficient 1, each iteration axis used
/// once (a copy, a transposition, a reshape).
fn one_to_one(c: &Contraction) -> bool {
    one_to_one_output(c).is_some_and(|used| used.iter().all(|u| *u))
}

/// An affine contraction into `out` (stored with `so`): `out[..] += Π args`
/// over the iteration space, loops ordered by the output's strides with
/// the summed axes inside. A copy or broadcast (one argument, every output
/// element written once) assigns without a fill.
pub fn contract(
    ctx: &Ctx,
    out: &Ident,
    scratch: &Ident,
    c: &Contraction,
    so: &[Dim],
    args: &[Input],
) -> TokenStream {
    let out_s = iteration_strides(c, &c.index[0], so);
    let arg_s: Vec<Vec<Dim>> = args
        .iter()
        .zip(&c.index[1..])
        .map(|(x, idx)| iteration_strides(c, idx, &x.strides()))
        .collect();
    let n = len(&c.shape(0));
    // Output axes from the largest stride in, then the summed axes (stride
    // 0 in the output) ordered by the first argument's strides.
    let mut space = Space::ordered_by(c.dims.clone(), &out_s);
    let summed: Vec<usize> = space
        .order
        .iter()
        .copied()
        .filter(|a| out_s[*a] == 0)
        .collect();
    space.order.retain(|a| out_s[*a] != 0);
    let mut summed = summed;
    summed.sort_by(|a, b| arg_s[0][*b].cmp(&arg_s[0][*a]).then(a.cmp(b)));
    space.order.extend(summed);
    match args {
        [x] => {
            let target = space.at(out, &out_s);
            let value = space.at(x.buf, &arg_s[0]);
            if one_to_one(c) {
                let decl = ctx.decl_overwritten(out, n);
                let body = space.loops(quote! { #target = #value; });
                quote! { #decl #body }
            } else {
                let decl = ctx.decl(out, n, 0.0);
                let body = space.loops(quote! { #target += #value; });
                quote! { #decl #body }
            }
        }
        [x, y] => {
            let terms = [(x.buf, arg_s[0].as_slice()), (y.buf, arg_s[1].as_slice())];
            if let Some(code) = batched_gemm(ctx, out, c, &out_s, terms, scratch) {
                return code;
            }
            if ctx.dtype == DType::F32 {
                // `wide_sum_of_products` writes each output once: it needs
                // the outputs the space does not reach zeroed first.
                let fill = if n
                    != c.dims
                        .iter()
                        .zip(&out_s)
                        .filter(|(_, s)| **s != 0)
                        .map(|(d, _)| *d)
                        .product::<Dim>()
                {
                    let decl = ctx.decl(out, n, 0.0);
                    Some(decl)
                } else {
                    None
                };
                let body = ctx.sum_of_products(
                    &space,
                    n,
                    [(out, &out_s), (x.buf, &arg_s[0]), (y.buf, &arg_s[1])],
                );
                return quote! { #fill #body };
            }
            ctx.sum_of_products(
                &space,
                n,
                [(out, &out_s), (x.buf, &arg_s[0]), (y.buf, &arg_s[1])],
            )
        }
        _ => {
            quote! { ::core::compile_error!("param_graph!: internal error: a contraction of three tensors") }
        }
    }
}

/// A contraction that is a batch of matrix products, handed to the
/// runtime's dispatched kernel (`Real::gemm_acc`) once it is big enough to
/// pay for the call: one summed axis `k`, an output axis `c` of stride 1
/// read by one operand (`B`) only, at most one output axis `r` read by the
/// other (`A`) only, every other axis a batch; each output element written
/// once. When `B` is not contiguous along `c`, each batch's `B` block is
/// first copied into the scratch buffer `t` (`inner × cols`, contiguous),
/// which costs `inner·cols` moves against `rows·inner·cols` multiply-adds.
/// `None` when the contraction has another form.
fn batched_gemm(
    ctx: &Ctx,
    out: &Ident,
    c: &Contraction,
    out_s: &[Dim],
    [x, y]: [(&Ident, &[Dim]); 2],
    t: &Ident,
) -> Option<TokenStream> {
    one_to_one_output(c)?;
    let live = |a: &usize| c.dims[*a] > 1;
    let axes: Vec<usize> = (0..c.dims.len()).filter(live).collect();
    let summed: Vec<usize> = axes.iter().copied().filter(|a| out_s[*a] == 0).collect();
    let [k] = summed.as_slice() else {
        return None;
    };
    let k = *k;
    if x.1[k] == 0 || y.1[k] == 0 {
        return None;
    }
    // `c`: contiguous in the output, read by one operand only.
    let col = axes
        .iter()
        .copied()
        .find(|a| out_s[*a] == 1 && (x.1[*a] == 0) != (y.1[*a] == 0))?;
    let ((a, sa), (b, sb)) = if x.1[col] == 0 { (x, y) } else { (y, x) };
    let row = axes
        .iter()
        .copied()
        .find(|r| *r != col && *r != k && sa[*r] != 0 && sb[*r] == 0);
    let (rows, inner, cols) = (row.map_or(Dim::ONE, |r| c.dims[r]), c.dims[k], c.dims[col]);
    let big = cols >= 4 && rows * inner * cols >= 256;
    if !(ctx.dtype == DType::F32 || big) {
        return None;
    }
    let mut batch_dims = c.dims.clone();
    for axis in [Some(k), Some(col), row].into_iter().flatten() {
        batch_dims[axis] = Dim::ONE;
    }
    let batch = Space::ordered_by(batch_dims, out_s);
    let (a_at, b_at, out_at) = (batch.offset(sa), batch.offset(sb), batch.offset(out_s));
    let n = len(&c.shape(0));
    let decl = ctx.decl_overwritten(out, n);
    let strides = |b_inner| super::GemmCall {
        a_row: row.map_or(Dim::ZERO, |r| sa[r]),
        a_inner: sa[k],
        b_inner,
        out_row: row.map_or(Dim::ZERO, |r| out_s[r]),
    };
    let body = if sb[col] == 1 {
        let call = ctx.gemm(
            (rows, inner, cols),
            (a, a_at),
            (b, b_at),
            (out, out_at),
            strides(sb[k]),
        );
        batch.loops(call)
    } else {
        let [kk, cc] = ["kk", "cc"].map(|v| Ident::new(v, Span::mixed_site()));
        let (ki, ci, bk, bc) = (inner, cols, sb[k], sb[col]);
        let copy = quote! {
            for #kk in 0..#ki {
                for #cc in 0..#ci {
                    #t[#kk * #ci + #cc] = #b[#b_at + #kk * #bk + #cc * #bc];
                }
            }
        };
        let zero = quote!(0);
        let call = ctx.gemm(
            (rows, inner, cols),
            (a, a_at),
            (t, zero),
            (out, out_at),
            strides(cols),
        );
        let decl_t = ctx.decl_overwritten(t, inner * cols);
        let body = batch.loops(quote! { #copy #call });
        quote! { #decl_t #body }
    };
    Some(quote! { #decl #body })
}

/// Whether every output element is one point of the non-summed iteration
/// axes — each output axis one iteration axis of coefficient 1, none twice
/// — and then which iteration axes the output uses.
fn one_to_one_output(c: &Contraction) -> Option<Vec<bool>> {
    let mut used = vec![false; c.dims.len()];
    for terms in &c.index[0] {
        match terms.as_slice() {
            [(t, one)] if *one == Dim::ONE && !used[*t] => used[*t] = true,
            _ => return None,
        }
    }
    Some(used)
}

/// The strides of `r`, a tensor of `x`'s shape without `axis` in its own
/// layout, along every axis of `x` (0 along `axis`): a row statistic or
/// its cotangent read while walking `x`.
fn reduced_strides(r: &Input, axis: usize) -> Vec<Dim> {
    let mut s = r.strides();
    s.insert(axis, Dim::ZERO);
    s
}

/// The backward of `reduce_prod` along `axis` from `(x, y, g)`, torch's
/// `prod_backward`: `g · (y / x)` when no element of `x` is zero, else
/// `g · (prefix · suffix)`, the exclusive products of each row. Row by row
/// (the output in `x`'s layout; `y` and `g` in theirs).
pub fn prod_vjp(
    ctx: &Ctx,
    out: &Ident,
    x: &Input,
    y: &Input,
    g: &Input,
    axis: usize,
) -> TokenStream {
    let (space, _, step) = row_space(x, axis);
    let xo = space.offset(&x.strides());
    let (yr, gr) = (
        space.at(y.buf, &reduced_strides(y, axis)),
        space.at(g.buf, &reduced_strides(g, axis)),
    );
    let (xb, n) = (x.buf, x.shape[axis]);
    let elem = ctx.elem();
    let [i, acc, zero, at] = ["i", "acc", "zero", "at"].map(|s| Ident::new(s, Span::mixed_site()));
    let divided = space.loops(quote! {
        for #i in 0..#n {
            let #at = #xo + #i * #step;
            #out[#at] = #gr * (#yr / #xb[#at]);
        }
    });
    let exclusive = space.loops(quote! {
        let mut #acc: #elem = 1.0;
        for #i in 0..#n {
            let #at = #xo + #i * #step;
            #out[#at] = #acc;
            #acc *= #xb[#at];
        }
        let mut #acc: #elem = 1.0;
        for #i in (0..#n).rev() {
            let #at = #xo + #i * #step;
            #out[#at] = #gr * (#out[#at] * #acc);
            #acc *= #xb[#at];
        }
    });
    let decl = ctx.decl_overwritten(out, len(x.shape));
    quote! {
        #decl
        let #zero = #xb.iter().any(|#at| *#at == 0.0);
        if #zero { #exclusive } else { #divided }
    }
}

/// The backward of `reduce_lse` along `axis` from `(x, y, g)`:
/// `g · exp(x − y)`, 0 in a row whose `y` is `−inf`; one pass over `x` in
/// its storage order.
pub fn lse_vjp(
    ctx: &Ctx,
    out: &Ident,
    x: &Input,
    y: &Input,
    g: &Input,
    axis: usize,
) -> TokenStream {
    let sx = x.strides();
    let space = Space::ordered_by(x.shape.to_vec(), &sx);
    let o = space.offset(&sx);
    let (yr, gr) = (
        space.at(y.buf, &reduced_strides(y, axis)),
        space.at(g.buf, &reduced_strides(g, axis)),
    );
    let xb = x.buf;
    let value = vjp_call(ctx, "lse_vjp", quote! { #xb[#o], #yr, #gr });
    let decl = ctx.decl_overwritten(out, len(x.shape));
    let pass = space.loops(quote! { #out[#o] = #value; });
    quote! { #decl #pass }
}

/// The backward of softmax (`y ⊙ (g − Σ g ⊙ y)`, torch's
/// `_softmax_backward_data`) or log-softmax (`g − exp(y) · Σ g`) along
/// `axis`, from `(y, g)` (the output in `y`'s layout, `g` read in its own).
/// `f64`: two passes over `y` in storage order, the row sums in the scratch
/// buffer `s` (log-softmax's `exp(y)` by the vectorized kernel); `f32`: row
/// by row, each sum in an `f64` register.
pub fn softmax_vjp(
    ctx: &Ctx,
    out: &Ident,
    s: &Ident,
    y: &Input,
    g: &Input,
    axis: usize,
    log: bool,
) -> TokenStream {
    let (yb, gb) = (y.buf, g.buf);
    let elem = ctx.elem();
    let sy = y.strides();
    let sg = g.strides();
    let decl = ctx.decl_overwritten(out, len(y.shape));
    if ctx.dtype == DType::F32 {
        let mut rows_shape = y.shape.to_vec();
        rows_shape[axis] = Dim::ONE;
        let space = Space::ordered_by(rows_shape, &sy);
        let [i, acc, at, ag, sum] =
            ["i", "acc", "at", "ag", "sum"].map(|n| Ident::new(n, Span::mixed_site()));
        let n = y.shape[axis];
        let (ys, gs) = (sy[axis], sg[axis]);
        let (yo, go) = (space.offset(&sy), space.offset(&sg));
        let term = if log {
            quote! { #gb[#ag] }
        } else {
            quote! { #gb[#ag] * #yb[#at] }
        };
        let value = if log {
            let e = ctx.real("exp", quote! { #yb[#at] });
            quote! { #gb[#ag] - #e * #sum }
        } else {
            quote! { #yb[#at] * (#gb[#ag] - #sum) }
        };
        let body = space.loops(quote! {
            let mut #acc: ::core::primitive::f64 = 0.0;
            for #i in 0..#n {
                let (#at, #ag) = (#yo + #i * #ys, #go + #i * #gs);
                #acc += (#term) as ::core::primitive::f64;
            }
            let #sum = #acc as #elem;
            for #i in 0..#n {
                let (#at, #ag) = (#yo + #i * #ys, #go + #i * #gs);
                #out[#at] = #value;
            }
        });
        return quote! { #decl #body };
    }
    let space = Space::ordered_by(y.shape.to_vec(), &sy);
    let mut reduced = y.shape.to_vec();
    reduced.remove(axis);
    let mut sr = y.layout.without(axis).strides(&reduced);
    sr.insert(axis, Dim::ZERO);
    let (r, o, og) = (space.offset(&sr), space.offset(&sy), space.offset(&sg));
    let rows = len(&reduced);
    let decl_s = ctx.decl(s, rows, 0.0);
    let term = if log {
        quote! { #gb[#og] }
    } else {
        quote! { #gb[#og] * #yb[#o] }
    };
    let sum = space.loops(quote! { #s[#r] += #term; });
    let write = if log {
        // `exp(y)` by the vectorized kernel, then one pass.
        let krate = ctx.krate;
        let pass = space.loops(quote! { #out[#o] = #gb[#og] - #out[#o] * #s[#r]; });
        quote! {
            <#elem as #krate::runtime::Real>::exp_into(&#yb[..], &mut #out[..]);
            #pass
        }
    } else {
        space.loops(quote! { #out[#o] = #yb[#o] * (#gb[#og] - #s[#r]); })
    };
    quote! { #decl_s #sum #decl #write }
}

/// The backward of `index` along `axis` from `g`: zeros of the forward
/// argument's shape, then each of `g`'s positions added at the position it
/// was gathered from (repeats accumulate). `table` names the positions.
pub fn index_vjp(
    ctx: &Ctx,
    out: &Ident,
    table: &Ident,
    g: &Input,
    axis: usize,
    indices: &[Dim],
    size: Dim,
) -> TokenStream {
    let mut shape = g.shape.to_vec();
    shape[axis] = size;
    let so = g.layout.strides(&shape);
    let sg = g.strides();
    let space = Space::ordered_by(g.shape.to_vec(), &sg);
    let mut so_other = so.clone();
    so_other[axis] = Dim::ZERO;
    let rest = space.offset(&so_other);
    let mut unit = vec![Dim::ZERO; shape.len()];
    unit[axis] = Dim::ONE;
    let slot = space.offset(&unit);
    let stride = so[axis];
    let source = space.at(g.buf, &sg);
    let positions = indices.iter();
    let count = indices.len();
    let decl = ctx.decl(out, len(&shape), 0.0);
    let body = space.loops(quote! { #out[#table[#slot] * #stride + #rest] += #source; });
    quote! {
        let #table: [::core::primitive::usize; #count] = [#(#positions),*];
        #decl
        #body
    }
}

/// The backward of a Gaussian product parameter with respect to argument
/// `wrt`, from the forward arguments, the shared `w = v̂` and `g` (all
/// `(K1·K2,)` pairs `i·K2 + j`): each pair's partial
/// (`ProductOps::gaussian_*_vjp`) times `g`, summed into `out[i]` or
/// `out[j]`.
pub fn gaussian_vjp(
    ctx: &Ctx,
    out: &Ident,
    part: GaussianPart,
    wrt: usize,
    args: &[Input],
) -> TokenStream {
    let n = args.len();
    let (w, g) = (args[n - 2].buf, args[n - 1].buf);
    let forward = &args[..n - 2];
    let (k1, k2) = match part {
        GaussianPart::Stddev => (forward[0].shape[0], forward[1].shape[0]),
        _ => (forward[0].shape[0], forward[2].shape[0]),
    };
    let [i, j, pair, d] = ["i", "j", "pair", "d"].map(|s| Ident::new(s, Span::mixed_site()));
    let (krate, elem) = (ctx.krate, ctx.elem());
    let first = wrt < forward.len() / 2;
    let at = |k: usize| {
        let b = forward[k].buf;
        if k < forward.len() / 2 {
            quote! { #b[#i] }
        } else {
            quote! { #b[#j] }
        }
    };
    let (name, call_args) = match part {
        GaussianPart::Stddev => ("gaussian_stddev_vjp", vec![at(0), at(1)]),
        GaussianPart::Mean => ("gaussian_mean_vjp", (0..4).map(at).collect()),
        GaussianPart::LogPartition => ("gaussian_log_partition_vjp", (0..4).map(at).collect()),
    };
    let name = Ident::new(name, Span::call_site());
    let k = Literal::usize_unsuffixed(wrt);
    let (k1l, k2l) = (k1, k2);
    let target = if first {
        quote! { #out[#i] }
    } else {
        quote! { #out[#j] }
    };
    let decl = ctx.decl(out, if first { k1 } else { k2 }, 0.0);
    quote! {
        #decl
        for #i in 0..#k1l {
            for #j in 0..#k2l {
                let #pair = #i * #k2l + #j;
                let #d = <#elem as #krate::runtime::ProductOps>::#name(#(#call_args,)* #w[#pair]);
                #target += #g[#pair] * #d[#k];
            }
        }
    }
}

/// The backward of `polynomial_differential(p, order)` from `g`
/// (`(K, D − order)`, or `(K, 1)` of zeros when `D ≤ order`): `(K, D)` with
/// `out[k, n + order] = g[k, n]·(n + order)⋯(n + 1)` and zeros below.
pub fn polynomial_differential_vjp(
    ctx: &Ctx,
    out: &Ident,
    g: &Input,
    order: usize,
    size: Dim,
) -> TokenStream {
    let k = g.shape[0];
    let so = g.layout.strides(&[k, size]);
    let decl = ctx.decl(out, k * size, 0.0);
    // Shape inference requires `D` known when `order` is not 0.
    if size.value().is_some_and(|d| d <= order) {
        return decl;
    }
    let sg = g.strides();
    let space = Space::ordered_by(g.shape.to_vec(), &sg);
    let target = space.offset(&so);
    let shift = so[1] * order;
    let source = space.at(g.buf, &sg);
    let index = space.offset(&[Dim::ZERO, Dim::ONE]);
    let n = Literal::usize_unsuffixed(order);
    let (krate, elem) = (ctx.krate, ctx.elem());
    let body = space.loops(quote! {
        #out[#target + #shift] = <#elem as #krate::runtime::ProductOps>::derivative_coefficient(#source, #index, #n);
    });
    quote! { #decl #body }
}

/// The backward of `normalize` along `axis` from `(x, y, g)`, as torch's
/// autograd of `x / x.sum(axis, keepdim = True)`:
/// `x̄ = g/s − (Σ g ⊙ y)/s` with `s = Σ x` per row; row by row, both sums in
/// an `f64` register (the output in `x`'s layout, `g` read in its own).
pub fn sum_normalize_vjp(
    ctx: &Ctx,
    out: &Ident,
    _s: &Ident,
    x: &Input,
    y: &Input,
    g: &Input,
    axis: usize,
) -> TokenStream {
    let (space, _, step) = row_space(x, axis);
    let (sx, sg) = (x.strides(), g.strides());
    let (xo, go) = (space.offset(&sx), space.offset(&sg));
    let gs = sg[axis];
    let n = x.shape[axis];
    let (xb, yb, gb) = (x.buf, y.buf, g.buf);
    let (elem, wide) = (ctx.elem(), quote!(::core::primitive::f64));
    let [i, at, ag, sum, dot] =
        ["i", "at", "ag", "sum", "dot"].map(|v| Ident::new(v, Span::mixed_site()));
    let decl = ctx.decl_overwritten(out, len(x.shape));
    let body = space.loops(quote! {
        let (mut #sum, mut #dot): (#wide, #wide) = (0.0, 0.0);
        for #i in 0..#n {
            let (#at, #ag) = (#xo + #i * #step, #go + #i * #gs);
            #sum += #xb[#at] as #wide;
            #dot += (#gb[#ag] as #wide) * (#yb[#at] as #wide);
        }
        let (#sum, #dot) = (#sum as #elem, #dot as #elem);
        for #i in 0..#n {
            let (#at, #ag) = (#xo + #i * #step, #go + #i * #gs);
            #out[#at] = #gb[#ag] / #sum - #dot / #sum;
        }
    });
    quote! { #decl #body }
}

/// The rows of `x` along `axis`: a space over every other axis (in storage
/// order), the offset of each row in a buffer of `x`'s shape without
/// `axis`, and the stride along `axis`.
pub(super) fn row_space(x: &Input, axis: usize) -> (Space, TokenStream, Dim) {
    let sx = x.strides();
    let mut rows_shape = x.shape.to_vec();
    rows_shape[axis] = Dim::ONE;
    let mut reduced = x.shape.to_vec();
    reduced.remove(axis);
    let mut sr = x.layout.without(axis).strides(&reduced);
    sr.insert(axis, Dim::ZERO);
    let space = Space::ordered_by(rows_shape, &sx);
    let row = space.offset(&sr);
    (space, row, sx[axis])
}
