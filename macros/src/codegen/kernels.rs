//! The loops of each op over flat stack buffers.
//!
//! Every function here emits the statements that declare and fill one node's
//! buffer, given the buffers (and layouts) of its arguments. Semantics and
//! index order are cirkit's torch nodes; float edge cases follow torch (see
//! `param_graph_runtime::Real`).

use super::layout::Layout;
use super::loops::{flat, flat_var, Space};
use crate::graph::{DType, MapOp, OuterKind, ReduceKind, ZipOp};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

/// What every kernel needs to know about the function being generated.
pub struct Ctx<'a> {
    /// Element type.
    pub dtype: DType,
    /// Path of the facade crate, e.g. `::param_graph`.
    pub krate: &'a TokenStream,
    /// Buffers that are views of the caller's result storage (`&mut [T; N]`,
    /// bound before the nodes run) rather than local arrays.
    pub views: &'a [Ident],
    /// Bytes of the stack arrays declared so far (reported in the plan).
    pub stack: std::cell::Cell<usize>,
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
    /// before it writes (accumulations): a local array, or the caller's
    /// result storage filled in place.
    pub fn decl(&self, buf: &Ident, len: usize, fill: f64) -> TokenStream {
        self.decl_with(buf, len, self.lit(fill))
    }

    /// [`Ctx::decl`] with `fill` given as an expression.
    pub fn decl_with(&self, buf: &Ident, len: usize, fill: TokenStream) -> TokenStream {
        if self.views.contains(buf) {
            quote! { #buf.fill(#fill); }
        } else {
            self.count(len);
            let len = Literal::usize_unsuffixed(len);
            quote! { let mut #buf = [#fill; #len]; }
        }
    }

    /// A buffer the kernel writes completely before reading it: the
    /// caller's result storage needs no fill.
    pub fn decl_overwritten(&self, buf: &Ident, len: usize) -> TokenStream {
        if self.views.contains(buf) {
            TokenStream::new()
        } else {
            self.decl(buf, len, 0.0)
        }
    }

    /// Records a stack array of `len` elements.
    pub fn count(&self, len: usize) {
        let bytes = len.saturating_mul(match self.dtype {
            DType::F32 => 4,
            DType::F64 => 8,
        });
        self.stack.set(self.stack.get().saturating_add(bytes));
    }

    /// `-inf` of the element type (literals only spell finite values).
    fn neg_inf(&self) -> TokenStream {
        let elem = self.elem();
        quote! { #elem::NEG_INFINITY }
    }

    /// `<T as Real>::exp_in_place(&mut buf[..])`.
    pub fn exp_in_place(&self, buf: &Ident) -> TokenStream {
        let krate = self.krate;
        let elem = self.elem();
        quote! { <#elem as #krate::runtime::Real>::exp_in_place(&mut #buf[..]); }
    }

    /// `<T as Real>::gemm_acc(..)` on sub-slices starting at the given
    /// offsets: `out[i·out_row + j] = Σ_k a[i·a_row + k·a_inner] · b[k·b_inner + j]`
    /// (overwriting: each call owns its block of the output).
    pub fn gemm(
        &self,
        (rows, inner, cols): (usize, usize, usize),
        (a, a_at): (&Ident, TokenStream),
        (b, b_at): (&Ident, TokenStream),
        (out, out_at): (&Ident, TokenStream),
        s: GemmCall,
    ) -> TokenStream {
        let krate = self.krate;
        let elem = self.elem();
        let lit = Literal::usize_unsuffixed;
        let (rows, inner, cols) = (lit(rows), lit(inner), lit(cols));
        let (ar, ai, bi, or) = (lit(s.a_row), lit(s.a_inner), lit(s.b_inner), lit(s.out_row));
        quote! {
            <#elem as #krate::runtime::Real>::gemm_acc(
                #rows, #inner, #cols,
                &#a[#a_at..], &#b[#b_at..], &mut #out[#out_at..],
                #krate::runtime::contract::GemmStrides { a_row: #ar, a_inner: #ai, b_inner: #bi, out_row: #or, overwrite: true },
            );
        }
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
        let size = |axes: &[usize]| axes.iter().map(|a| x.shape[*a]).product::<usize>();
        let lit = Literal::usize_unsuffixed;
        let (outer, len, inner) = (
            lit(size(&order[..pos])),
            lit(x.shape[axis]),
            lit(size(&order[pos + 1..])),
        );
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

/// Strides of a [`Ctx::gemm`] call.
pub struct GemmCall {
    /// `a[i·a_row + k·a_inner]`.
    pub a_row: usize,
    /// See `a_row`.
    pub a_inner: usize,
    /// `b[k·b_inner + j]`.
    pub b_inner: usize,
    /// `out[i·out_row + j]`.
    pub out_row: usize,
}

/// A node's argument: its buffer, layout and shape.
pub struct Input<'a> {
    /// The buffer.
    pub buf: &'a Ident,
    /// How the buffer stores the tensor.
    pub layout: &'a Layout,
    /// The tensor's shape.
    pub shape: &'a [usize],
}

impl Input<'_> {
    fn strides(&self) -> Vec<usize> {
        self.layout.strides(self.shape)
    }
}

fn len(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The scalar expression of an elementwise op applied to `x`.
fn map_expr(ctx: &Ctx, op: MapOp, x: TokenStream) -> TokenStream {
    match op {
        MapOp::Exp => ctx.real("exp", x),
        MapOp::Log => quote! { #x.ln() },
        MapOp::Square => quote! { #x * #x },
        MapOp::Sigmoid => ctx.real("sigmoid", x),
        MapOp::Softplus => ctx.real("softplus", x),
        MapOp::Conjugate => x,
        MapOp::LogSigmoid => ctx.real("log_sigmoid", x),
        MapOp::ScaledSigmoid { vmin, vmax } => {
            let (lo, hi) = (ctx.lit(vmin), ctx.lit(vmax));
            ctx.real("scaled_sigmoid", quote! { #x, #lo, #hi })
        }
        MapOp::Clamp { min, max } => {
            let mut e = x;
            if let Some(lo) = min {
                let lo = ctx.lit(lo);
                e = ctx.real("clamp_min", quote! { #e, #lo });
            }
            if let Some(hi) = max {
                let hi = ctx.lit(hi);
                e = ctx.real("clamp_max", quote! { #e, #hi });
            }
            e
        }
    }
}

/// An elementwise op: the output has the input's layout, one flat loop.
pub fn map(ctx: &Ctx, out: &Ident, op: MapOp, x: &Input) -> TokenStream {
    let n = len(x.shape);
    let decl = ctx.decl_overwritten(out, n);
    let k = flat_var();
    let xb = x.buf;
    if op == MapOp::Exp {
        let copy = flat(n, quote! { #out[#k] = #xb[#k]; });
        let exp = ctx.exp_in_place(out);
        return quote! { #decl #copy #exp };
    }
    let value = map_expr(ctx, op, quote! { #xb[#k] });
    let body = flat(n, quote! { #out[#k] = #value; });
    quote! { #decl #body }
}

/// `add` / `hadamard`: output in the first argument's layout.
pub fn zip(ctx: &Ctx, out: &Ident, op: ZipOp, a: &Input, b: &Input) -> TokenStream {
    let n = len(a.shape);
    let decl = ctx.decl_overwritten(out, n);
    let combine = |x: TokenStream, y: TokenStream| match op {
        ZipOp::Add => quote! { #x + #y },
        ZipOp::Hadamard => quote! { #x * #y },
    };
    let (ab, bb) = (a.buf, b.buf);
    let body = if a.layout == b.layout {
        let k = flat_var();
        let value = combine(quote! { #ab[#k] }, quote! { #bb[#k] });
        flat(n, quote! { #out[#k] = #value; })
    } else {
        let sa = a.strides();
        let space = Space::ordered_by(a.shape.to_vec(), &sa);
        let value = combine(space.at(ab, &sa), space.at(bb, &b.strides()));
        let target = space.at(out, &sa);
        space.loops(quote! { #target = #value; })
    };
    quote! { #decl #body }
}

/// A pass over `x` in its storage order: `body(reduced_offset, x_offset)`,
/// where the reduced offset indexes a buffer of `x`'s shape without `axis`
/// (same layout otherwise) and `x_offset` indexes `x` and any buffer of the
/// same layout.
fn over_rows(
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
fn shifted_exp(ctx: &Ctx, t: &Ident, x: &Input, m: &Ident, axis: usize) -> TokenStream {
    let xb = x.buf;
    let shift = over_rows(x, axis, |r, o| quote! { #t[#o] = #xb[#o] - #m[#r]; });
    let exp = ctx.exp_in_place(t);
    quote! { #shift #exp }
}

/// Number of rows when reducing `x` along `axis`.
fn rows(x: &Input, axis: usize) -> usize {
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

/// `index(x, [..], axis)`: output in the input's layout, gathered through a
/// local table of positions.
pub fn index(
    ctx: &Ctx,
    out: &Ident,
    table: &Ident,
    x: &Input,
    axis: usize,
    indices: &[usize],
) -> TokenStream {
    let mut shape = x.shape.to_vec();
    shape[axis] = indices.len();
    let so = x.layout.strides(&shape);
    let sx = x.strides();
    let decl = ctx.decl_overwritten(out, len(&shape));
    let positions = indices.iter().map(|i| Literal::usize_unsuffixed(*i));
    let count = Literal::usize_unsuffixed(indices.len());
    let space = Space::ordered_by(shape.clone(), &so);
    // The indexed axis reads through the table: its own stride is applied to
    // the looked-up position instead of the loop variable.
    let mut sx_other = sx.clone();
    sx_other[axis] = 0;
    let rest = space.offset(&sx_other);
    let mut unit = vec![0; shape.len()];
    unit[axis] = 1;
    let slot = space.offset(&unit);
    let stride = Literal::usize_unsuffixed(sx[axis]);
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
    let shape: Vec<usize> = a.shape.iter().zip(b.shape).map(|(x, y)| x * y).collect();
    let so = a.layout.strides(&shape);
    let (sa, sb) = (a.strides(), b.strides());
    let mut dims = a.shape.to_vec();
    dims.extend_from_slice(b.shape);
    let mut out_s: Vec<usize> = (0..r).map(|d| so[d] * b.shape[d]).collect();
    out_s.extend_from_slice(&so);
    let mut a_s = sa.clone();
    a_s.extend(std::iter::repeat_n(0, r));
    let mut b_s = vec![0; r];
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
    a_s.push(0);
    let mut b_s = sb.clone();
    b_s[axis] = 0;
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
    let target = space.at(out, &[so[0], so[1], 0]);
    let x = space.at(a.buf, &[sa[0], 0, sa[1]]);
    let y = space.at(b.buf, &[0, sb[1], sb[0]]);
    // Column `j` of the output is `Σ_l b[l, j] · a[:, l]`: with `a`'s columns
    // contiguous this is the runtime's contraction kernel, rows = j,
    // inner = l, cols = i.
    if sa[0] == 1 && m >= 4 && m * n * k >= 256 {
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
    let decl = ctx.decl(out, m * n, 0.0);
    let body = space.loops(quote! { #target += #x * #y; });
    quote! { #decl #body }
}

/// Copies `x` into a buffer of layout `to` for a tensor of shape `to_shape`
/// with the same number of elements, where `to_strides` gives the output
/// offset of each input axis (a transposition, or a flatten).
pub fn copy(ctx: &Ctx, out: &Ident, x: &Input, to_strides: &[usize]) -> TokenStream {
    let sx = x.strides();
    let space = Space::ordered_by(x.shape.to_vec(), to_strides);
    let target = space.at(out, to_strides);
    let source = space.at(x.buf, &sx);
    let decl = ctx.decl_overwritten(out, len(x.shape));
    let body = space.loops(quote! { #target = #source; });
    quote! { #decl #body }
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
    let mut out_s: Vec<usize> = (0..a.shape.len())
        .map(|k| {
            if k == r {
                0
            } else if k == d {
                so[out_axis(k)] * b.shape[d]
            } else {
                so[out_axis(k)]
            }
        })
        .collect();
    out_s.push(so[out_axis(d)]);
    let mut a_s = sa;
    a_s.push(0);
    let mut b_s = sb.clone();
    b_s[d] = 0;
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
    let target = space.at(out, &out_s);
    let (x, y) = (space.at(a.buf, &a_s), space.at(b.buf, &b_s));
    // The inner `(i, k, j)` block is a matrix product when the output and
    // `b` run contiguously along `j`: hand each batch of it to the runtime's
    // dispatched kernel (AVX2/FMA where the CPU has it) once it is big
    // enough to pay for the call.
    let (rows, inner, cols) = (a.shape[d], a.shape[r], b.shape[d]);
    let extra = a.shape.len();
    if out_s[extra] == 1 && b_s[extra] == 1 && cols >= 4 && rows * inner * cols >= 256 {
        let mut batch = space.dims.clone();
        for axis in [d, r, extra] {
            batch[axis] = 1;
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
    let decl = ctx.decl(out, len(&shape), 0.0);
    let body = space.loops(quote! { #target += #x * #y; });
    quote! { #decl #body }
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
    let st = [1, q, q * r];
    // Pass 1, iteration axes (j, k, c, l).
    let space1 = Space::ordered_by(vec![q, r, n, s], &[st[0], st[1], st[2], 0]);
    let t_at = space1.at(t, &[st[0], st[1], st[2], 0]);
    let x_at = space1.at(x.buf, &[s * sx[0], 0, sx[1], sx[0]]);
    let b_at = space1.at(b.buf, &[0, sb[0], 0, sb[1]]);
    let pass1 = space1.loops(quote! { #t_at += #b_at * #x_at; });
    // Pass 2, iteration axes (i, k, c, j); output column-major (p·r, n).
    let so = Layout::column_major().strides(&[p * r, n]);
    let out_s = [r * so[0], so[0], so[1], 0];
    let space2 = Space::ordered_by(vec![p, r, n, q], &out_s);
    let y_at = space2.at(out, &out_s);
    let a_at = space2.at(a.buf, &[sa[0], 0, 0, sa[1]]);
    let t2_at = space2.at(t, &[0, st[1], st[2], st[0]]);
    let pass2 = space2.loops(quote! { #y_at += #a_at * #t2_at; });
    let decl_t = ctx.decl(t, q * r * n, 0.0);
    let decl = ctx.decl(out, p * r * n, 0.0);
    quote! { #decl_t #pass1 #decl #pass2 }
}
