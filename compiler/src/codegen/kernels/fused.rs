//! Fused elementwise groups: one loop computes a group's root from
//! materialized buffers, with the group's inlined maps and zips as local
//! values (see `memory::fusion` for which nodes are inlined).
//!
//! When every input is stored in the root's layout the loop is flat. An
//! `exp` or a `sigmoid` inside it is the runtime's vectorized
//! `exp_in_place` / `sigmoid_in_place`, run on strips of [`STRIP`]
//! elements: each strip computes the op's argument into a small scratch
//! buffer, applies the op there, and carries on, so the group is still one
//! pass over memory with the fast kernels. Inputs stored in other layouts
//! make it a loop nest in the root's storage order, reading every input
//! through its own strides, with the scalar functions.

use super::backward::{map_vjp_expr, zip_vjp_expr};
use super::elementwise::{map_expr, zip_expr};
use super::{Ctx, Input};
use crate::codegen::layout::Layout;
use crate::codegen::loops::{flat_var, Space};
use crate::dim::Dim;
use crate::graph::{MapOp, NodeId, ZipOp};

use crate::memory::STRIP;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use std::collections::BTreeMap;

/// An elementwise op of a group.
#[derive(Clone, Copy)]
pub enum Elementwise {
    /// One argument.
    Map(MapOp),
    /// Two arguments.
    Zip(ZipOp),
    /// A map's derivative: `(v, ḡ)`.
    MapVjp(MapOp),
    /// A zip's derivative with respect to argument `wrt`: `(a, b, ḡ)`.
    ZipVjp(ZipOp, usize),
}

/// What a member reads.
pub enum Operand<'a> {
    /// A materialized buffer.
    Input(Input<'a>),
    /// Another member of the group.
    Member(NodeId),
}

/// A node of the group.
pub struct Member<'a> {
    /// Its node.
    pub id: NodeId,
    /// What it computes.
    pub op: Elementwise,
    /// Its arguments.
    pub args: Vec<Operand<'a>>,
}

/// A fused group: its members in topological order, the root last.
pub struct Group<'a> {
    /// The members.
    pub members: Vec<Member<'a>>,
}

impl Group<'_> {
    fn member(&self, id: NodeId) -> Option<&Member<'_>> {
        self.members.iter().find(|m| m.id == id)
    }

    fn root(&self) -> &Member<'_> {
        &self.members[self.members.len() - 1]
    }

    fn inputs(&self) -> impl Iterator<Item = &Input<'_>> {
        self.members.iter().flat_map(|m| {
            m.args.iter().filter_map(|a| match a {
                Operand::Input(x) => Some(x),
                Operand::Member(_) => None,
            })
        })
    }
}

/// The runtime's vectorized kernels for `m`'s op, if it has them: in place,
/// and from a source slice into a destination.
fn vectorized(m: &Member) -> Option<(&'static str, &'static str)> {
    match m.op {
        Elementwise::Map(MapOp::Exp) => Some(("exp_in_place", "exp_into")),
        Elementwise::Map(MapOp::Sigmoid) => Some(("sigmoid_in_place", "sigmoid_into")),
        _ => None,
    }
}

/// A vectorized op of a stored input, straight into the strip `target`:
/// `{ <T as Real>::op_into(&x[b..b + len], &mut target[..]); }`.
fn into_block(
    ctx: &Ctx,
    kernel: &str,
    (target, slice): (&Ident, TokenStream),
    x: &Input,
    (b, len): (&Ident, &Ident),
) -> TokenStream {
    let (krate, elem, xb) = (ctx.krate, ctx.elem(), x.buf);
    let kernel = Ident::new(kernel, Span::call_site());
    quote! {
        {
            let #target = #slice;
            <#elem as #krate::runtime::Real>::#kernel(&#xb[#b..#b + #len], &mut #target[..]);
        }
    }
}

/// Reading an input at the current element.
type Read<'r> = &'r dyn Fn(&Input) -> TokenStream;

/// The statements computing one value of the group per element.
struct Phase<'g, 'r> {
    group: &'g Group<'g>,
    read: Read<'r>,
    /// Members computed by an earlier phase, read from their strip buffer.
    staged: &'r [(NodeId, Ident)],
    /// Members already bound to a local in this phase.
    bound: Vec<NodeId>,
    stmts: Vec<TokenStream>,
    /// Buffers this phase reads (inputs and strips), to slice per strip.
    uses: BTreeMap<String, Ident>,
}

impl<'g, 'r> Phase<'g, 'r> {
    fn new(group: &'g Group<'g>, read: Read<'r>, staged: &'r [(NodeId, Ident)]) -> Self {
        Phase {
            group,
            read,
            staged,
            bound: Vec::new(),
            stmts: Vec::new(),
            uses: BTreeMap::new(),
        }
    }

    fn value(&mut self, ctx: &Ctx, operand: &Operand) -> TokenStream {
        match operand {
            // A broadcast scalar: its one element at every position.
            Operand::Input(x) if x.shape.is_empty() => {
                let buf = x.buf;
                quote! { #buf[0] }
            }
            Operand::Input(x) => {
                self.uses.insert(x.buf.to_string(), x.buf.clone());
                (self.read)(x)
            }
            Operand::Member(id) => self.member(ctx, *id),
        }
    }

    fn member(&mut self, ctx: &Ctx, id: NodeId) -> TokenStream {
        let local = Ident::new(&format!("__pg_e{id}"), Span::mixed_site());
        if let Some((_, strip)) = self.staged.iter().find(|(s, _)| *s == id) {
            self.uses.insert(strip.to_string(), strip.clone());
            let k = flat_var();
            return quote! { #strip[#k] };
        }
        if self.bound.contains(&id) {
            return quote! { #local };
        }
        let Some(m) = self.group.member(id) else {
            return quote! { #local };
        };
        let value = self.apply(ctx, m);
        self.stmts.push(quote! { let #local = #value; });
        self.bound.push(id);
        quote! { #local }
    }

    /// `m`'s op applied to its arguments' values.
    fn apply(&mut self, ctx: &Ctx, m: &Member) -> TokenStream {
        let args: Vec<TokenStream> = m.args.iter().map(|a| self.value(ctx, a)).collect();
        match (m.op, args.as_slice()) {
            (Elementwise::Map(op), [x]) => map_expr(ctx, op, x.clone()),
            (Elementwise::Zip(op), [a, b]) => zip_expr(ctx, op, a.clone(), b.clone()),
            (Elementwise::ZipVjp(op, wrt), [a, b, g]) => {
                zip_vjp_expr(ctx, op, wrt, [a.clone(), b.clone(), g.clone()])
            }
            (Elementwise::MapVjp(op), [v, g]) => map_vjp_expr(ctx, op, v.clone(), g.clone()),
            // Arities are validated before code generation.
            _ => quote! { ::core::compile_error!("param_graph!: internal error in a fused loop") },
        }
    }
}

/// The code of `group` writing its root into `out` (`shape`, stored in
/// `layout`).
pub fn fused(ctx: &Ctx, out: &Ident, group: &Group, shape: &[Dim], layout: &Layout) -> TokenStream {
    let n: Dim = shape.iter().product();
    let decl = ctx.decl_overwritten(out, n);
    // Broadcast scalars are read whole wherever the loop is.
    let flat = group
        .inputs()
        .all(|x| x.layout == layout || x.shape.is_empty());
    let body = if flat {
        strips(ctx, out, group, n)
    } else {
        strided(ctx, out, group, shape, layout)
    };
    quote! { #decl #body }
}

/// Inputs in other layouts: a loop nest in the root's storage order.
fn strided(ctx: &Ctx, out: &Ident, group: &Group, shape: &[Dim], layout: &Layout) -> TokenStream {
    let so = layout.strides(shape);
    let space = Space::ordered_by(shape.to_vec(), &so);
    let read = |x: &Input| space.at(x.buf, &x.strides());
    let mut phase = Phase::new(group, &read, &[]);
    let value = phase.member(ctx, group.root().id);
    let target = space.at(out, &so);
    let stmts = phase.stmts;
    space.loops(quote! { #(#stmts)* #target = #value; })
}

/// Inputs in the root's layout: flat loops, by strips when a vectorized
/// kernel runs in the middle.
fn strips(ctx: &Ctx, out: &Ident, group: &Group, n: Dim) -> TokenStream {
    let k = flat_var();
    let read = |x: &Input| {
        let buf = x.buf;
        quote! { #buf[#k] }
    };
    let root = group.root();
    // Every vectorized op below the root gets a strip buffer; the root's
    // own runs on the output.
    let stages: Vec<(NodeId, Ident)> = group
        .members
        .iter()
        .filter(|m| vectorized(m).is_some() && m.id != root.id)
        .map(|m| {
            (
                m.id,
                Ident::new(&format!("__pg_x{}", m.id), Span::mixed_site()),
            )
        })
        .collect();
    if stages.is_empty() && vectorized(root).is_none() {
        let mut phase = Phase::new(group, &read, &[]);
        let value = phase.member(ctx, root.id);
        let stmts = phase.stmts;
        let len = n.expr();
        return quote! { for #k in 0..#len { #(#stmts)* #out[#k] = #value; } };
    }
    // A length only rustc knows gets whole strips: the last may be short.
    let strip = n.value().map_or(STRIP, |n| n.min(STRIP));
    let decls = stages
        .iter()
        .map(|(_, t)| ctx.decl_overwritten(t, Dim::known(strip)));
    let (b, len) = (
        Ident::new("__pg_b", Span::mixed_site()),
        Ident::new("__pg_len", Span::mixed_site()),
    );
    // One block per stage, then the root: each computes its value for the
    // strip `b..b + len`, every buffer it reads re-sliced to the strip.
    let mut blocks = Vec::new();
    for (s, (id, t)) in stages.iter().enumerate() {
        let Some(m) = group.member(*id) else {
            continue;
        };
        let Some((in_place, into)) = vectorized(m) else {
            continue;
        };
        let slice = quote! { &mut #t[..#len] };
        if let Operand::Input(x) = &m.args[0] {
            // A stored input: the kernel reads it, no copy into the strip.
            blocks.push(into_block(ctx, into, (t, slice), x, (&b, &len)));
            continue;
        }
        let mut phase = Phase::new(group, &read, &stages[..s]);
        let value = phase.value(ctx, &m.args[0]);
        let kernel = ctx.in_place(in_place, t);
        blocks.push(strip_block(
            &phase,
            (t, slice),
            (&b, &len),
            &value,
            &stages,
            kernel,
        ));
    }
    let out_slice = quote! { &mut #out[#b..#b + #len] };
    let mut phase = Phase::new(group, &read, &stages);
    match (vectorized(root), &root.args[0]) {
        (Some((_, into)), Operand::Input(x)) => {
            blocks.push(into_block(ctx, into, (out, out_slice), x, (&b, &len)));
        }
        (vectorized_root, _) => {
            let (value, kernel) = match vectorized_root {
                Some((in_place, _)) => {
                    (phase.value(ctx, &root.args[0]), ctx.in_place(in_place, out))
                }
                None => (phase.member(ctx, root.id), TokenStream::new()),
            };
            blocks.push(strip_block(
                &phase,
                (out, out_slice),
                (&b, &len),
                &value,
                &stages,
                kernel,
            ));
        }
    }
    let chunks = n.value().map(|n| n.div_ceil(strip));
    let (strip_lit, n_lit) = (Literal::usize_unsuffixed(strip), n);
    let walk = if chunks == Some(1) {
        quote! {
            let #b: ::core::primitive::usize = 0;
            let #len: ::core::primitive::usize = #n_lit;
            #(#blocks)*
        }
    } else {
        let c = Ident::new("__pg_c", Span::mixed_site());
        let chunks = match chunks {
            Some(chunks) => {
                let chunks = Literal::usize_unsuffixed(chunks);
                quote!(#chunks)
            }
            None => quote!(::core::primitive::usize::div_ceil(#n_lit, #strip_lit)),
        };
        quote! {
            for #c in 0..#chunks {
                let #b = #c * #strip_lit;
                let #len = if #b + #strip_lit <= #n_lit { #strip_lit } else { #n_lit - #b };
                #(#blocks)*
            }
        }
    };
    quote! { #(#decls)* #walk }
}

/// `{ target strip; every buffer read, re-sliced to the strip; the loop;
/// then `after` }`.
fn strip_block(
    phase: &Phase,
    (target, slice): (&Ident, TokenStream),
    (b, len): (&Ident, &Ident),
    value: &TokenStream,
    stages: &[(NodeId, Ident)],
    after: TokenStream,
) -> TokenStream {
    let k = flat_var();
    let shadows = phase.uses.values().map(|buf| {
        if stages.iter().any(|(_, t)| t == buf) {
            quote! { let #buf = &#buf[..#len]; }
        } else {
            quote! { let #buf = &#buf[#b..#b + #len]; }
        }
    });
    let stmts = &phase.stmts;
    quote! {
        {
            let #target = #slice;
            #(#shadows)*
            for #k in 0..#len { #(#stmts)* #target[#k] = #value; }
            #after
        }
    }
}
