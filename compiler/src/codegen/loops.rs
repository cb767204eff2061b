//! Loop nests over an iteration space with constant bounds and strides.
//!
//! An op is emitted as one or more nests: each iteration axis becomes a `for`
//! loop with a constant bound (axes of size 1 get no loop), and each buffer is
//! indexed by a linear combination of the loop variables with constant
//! strides — literals, or constant expressions of named sizes
//! (`crate::dim`) — so LLVM sees fixed trip counts and constant strides.
//! Loops are never unrolled by the macro; expansion size does not grow with
//! the sizes.

use crate::dim::Dim;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// An iteration space and the nesting of its loops.
pub struct Space {
    /// Extent of each iteration axis.
    pub dims: Vec<Dim>,
    /// Iteration axes from the outermost loop to the innermost.
    pub order: Vec<usize>,
}

impl Space {
    /// Loops nested so that buffer `strides` (one per iteration axis) are
    /// walked from the largest stride outside to the smallest inside.
    pub fn ordered_by(dims: Vec<Dim>, strides: &[Dim]) -> Self {
        let mut order: Vec<usize> = (0..dims.len()).collect();
        order.sort_by(|a, b| strides[*b].cmp(&strides[*a]).then(a.cmp(b)));
        Space { dims, order }
    }

    /// The loop variable of iteration axis `axis`.
    fn var(axis: usize) -> Ident {
        Ident::new(&format!("__pg_i{axis}"), Span::mixed_site())
    }

    /// `body` inside the loop nest.
    pub fn loops(&self, body: TokenStream) -> TokenStream {
        let mut code = body;
        for &axis in self.order.iter().rev() {
            let n = self.dims[axis];
            if n == Dim::ONE {
                continue;
            }
            let var = Self::var(axis);
            let n = n.expr();
            code = quote! { for #var in 0..#n { #code } };
        }
        code
    }

    /// `buf[offset]` for a buffer with `strides` per iteration axis.
    pub fn at(&self, buf: &Ident, strides: &[Dim]) -> TokenStream {
        let offset = self.offset(strides);
        quote! { #buf[#offset] }
    }

    /// The linear offset `i0 * s0 + i1 * s1 + ...`, `0` when nothing varies.
    pub fn offset(&self, strides: &[Dim]) -> TokenStream {
        let terms: Vec<TokenStream> = self
            .order
            .iter()
            .filter(|&&axis| self.dims[axis] != Dim::ONE && strides[axis] != Dim::ZERO)
            .map(|&axis| {
                let var = Self::var(axis);
                match strides[axis] {
                    s if s == Dim::ONE => quote! { #var },
                    s => quote! { #var * #s },
                }
            })
            .collect();
        if terms.is_empty() {
            quote! { 0 }
        } else {
            quote! { #(#terms)+* }
        }
    }
}

/// A single flat loop over `len` elements, the index named by [`flat_var`].
pub fn flat(len: Dim, body: TokenStream) -> TokenStream {
    let k = flat_var();
    let n = len.expr();
    quote! { for #k in 0..#n { #body } }
}

/// The index variable of [`flat`].
pub fn flat_var() -> Ident {
    Ident::new("__pg_k", Span::mixed_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_skip_unit_axes_and_order_by_stride() {
        let d = |s: &[usize]| s.iter().map(|&n| Dim::known(n)).collect::<Vec<_>>();
        let space = Space::ordered_by(d(&[3, 1, 4]), &d(&[1, 0, 3]));
        assert_eq!(space.order, vec![2, 0, 1]);
        let buf = Ident::new("b", Span::call_site());
        let code = space.loops(space.at(&buf, &d(&[1, 0, 3]))).to_string();
        assert_eq!(
            code,
            "for __pg_i2 in 0 .. 4 { for __pg_i0 in 0 .. 3 { b [__pg_i2 * 3 + __pg_i0] } }"
        );
    }
}
