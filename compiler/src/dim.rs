//! The size algebra: a dimension is a number the macro knows (`4`, or a
//! constant declared in the block) or a polynomial in sizes only rustc
//! knows — a path to a `usize` constant (`K`, `sizes::UNITS`) or a const
//! generic parameter of the fn. Shapes multiply (Kronecker and outer
//! products, flattens, strides) and code generation adds (offsets), so the
//! symbolic form is a polynomial with integer coefficients in canonical
//! form: two dimensions are equal exactly when their polynomials are.
//!
//! A [`Dim`] is `Copy`: a known value inline, a polynomial as an index into
//! a per-thread table of this expansion's polynomials and symbols (tokens
//! carry compiler spans, which are valid only during the expansion that
//! made them: [`reset`] starts every expansion with an empty table).
//!
//! Decisions that only change speed (loop order, whether a contraction
//! calls the GEMM) use [`Dim::hint`], a representative value; decisions
//! that change correctness or the stack (buffer lengths, the stack budget,
//! which buffers share memory) use [`Dim::value`] and treat an unknown size
//! as possibly huge.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};
use std::cell::RefCell;
use std::fmt;

/// The value [`Dim::hint`] gives a symbol.
pub const SYMBOL_HINT: usize = 16;

/// A dimension, a stride, a length or an offset.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dim(Repr);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Repr {
    Known(usize),
    /// Index into the table's polynomials (never a constant polynomial).
    Poly(u32),
}

/// A size rustc knows and the macro does not.
#[derive(Clone)]
pub struct Symbol {
    /// As written (`sizes::UNITS`, `K`), spans kept.
    pub tokens: TokenStream,
    /// The text, its identity: `sizes::UNITS`.
    pub text: String,
    /// A const generic parameter of the fn (in scope only inside it).
    pub generic: bool,
}

/// `Σ coeff · Π symbols`: monomials sorted, no zero coefficient, symbols of
/// a monomial sorted (a symbol repeats for a power).
type Poly = Vec<(Vec<u32>, i128)>;

#[derive(Default)]
struct Table {
    symbols: Vec<Symbol>,
    polys: Vec<Poly>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// Forgets every symbol: called when an expansion starts (see the module
/// docs).
pub fn reset() {
    TABLE.with(|t| *t.borrow_mut() = Table::default());
}

impl Dim {
    /// `0`.
    pub const ZERO: Dim = Dim(Repr::Known(0));
    /// `1`.
    pub const ONE: Dim = Dim(Repr::Known(1));

    /// A number.
    pub const fn known(n: usize) -> Dim {
        Dim(Repr::Known(n))
    }

    /// The size `symbol` (the same text gives the same symbol).
    pub fn symbol(symbol: Symbol) -> Dim {
        let id = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            match t.symbols.iter().position(|s| s.text == symbol.text) {
                Some(id) => id,
                None => {
                    t.symbols.push(symbol);
                    t.symbols.len() - 1
                }
            }
        });
        Dim::from_poly(vec![(vec![id as u32], 1)])
    }

    fn from_poly(mut poly: Poly) -> Dim {
        poly.retain(|(_, c)| *c != 0);
        poly.sort();
        match poly.as_slice() {
            [] => return Dim::ZERO,
            [(m, c)] if m.is_empty() => {
                return Dim::known(usize::try_from(*c).unwrap_or(usize::MAX));
            }
            _ => {}
        }
        let id = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            match t.polys.iter().position(|p| *p == poly) {
                Some(id) => id,
                None => {
                    t.polys.push(poly);
                    t.polys.len() - 1
                }
            }
        });
        Dim(Repr::Poly(id as u32))
    }

    fn poly(self) -> Poly {
        match self.0 {
            Repr::Known(0) => Vec::new(),
            Repr::Known(n) => vec![(Vec::new(), n as i128)],
            Repr::Poly(id) => TABLE.with(|t| t.borrow().polys[id as usize].clone()),
        }
    }

    /// The value, when the macro knows it.
    pub fn value(self) -> Option<usize> {
        match self.0 {
            Repr::Known(n) => Some(n),
            Repr::Poly(_) => None,
        }
    }

    /// Whether rustc alone knows the value.
    pub fn is_symbolic(self) -> bool {
        self.value().is_none()
    }

    /// A representative value for decisions that only change speed: the
    /// value, or the polynomial at every symbol = [`SYMBOL_HINT`].
    pub fn hint(self) -> usize {
        match self.0 {
            Repr::Known(n) => n,
            Repr::Poly(_) => {
                let v: i128 = self
                    .poly()
                    .iter()
                    .map(|(m, c)| c.saturating_mul((SYMBOL_HINT as i128).pow(m.len() as u32)))
                    .sum();
                usize::try_from(v.max(1)).unwrap_or(usize::MAX)
            }
        }
    }

    /// Whether the size involves a const generic parameter of the fn.
    pub fn is_generic(self) -> bool {
        self.symbols().iter().any(|s| s.generic)
    }

    /// The symbols the size involves, each once.
    pub fn symbols(self) -> Vec<Symbol> {
        let mut ids: Vec<u32> = self.poly().into_iter().flat_map(|(m, _)| m).collect();
        ids.sort();
        ids.dedup();
        TABLE.with(|t| {
            let t = t.borrow();
            ids.iter().map(|&i| t.symbols[i as usize].clone()).collect()
        })
    }

    /// `c · s1 · s2 · …` as `(c, [s1, s2, …])` when the size is one
    /// monomial with a positive coefficient.
    pub fn monomial(self) -> Option<(usize, Vec<Symbol>)> {
        match self.poly().as_slice() {
            [] => Some((0, Vec::new())),
            [(m, c)] if *c > 0 => {
                let c = usize::try_from(*c).ok()?;
                let symbols = TABLE.with(|t| {
                    let t = t.borrow();
                    m.iter().map(|&i| t.symbols[i as usize].clone()).collect()
                });
                Some((c, symbols))
            }
            _ => None,
        }
    }

    /// `self · other`, `None` when known values overflow.
    pub fn checked_mul(self, other: Dim) -> Option<Dim> {
        match (self.0, other.0) {
            (Repr::Known(a), Repr::Known(b)) => a.checked_mul(b).map(Dim::known),
            _ => Some(self * other),
        }
    }

    /// Whether `self` and `other` are certainly different for every value
    /// of the symbols (each at least 1): their difference has coefficients
    /// of one sign only.
    pub fn certainly_differs(self, other: Dim) -> bool {
        let diff = difference(&self.poly(), &other.poly());
        !diff.is_empty() && (diff.iter().all(|(_, c)| *c > 0) || diff.iter().all(|(_, c)| *c < 0))
    }

    /// Whether `self >= other` for every value of the symbols (each at
    /// least 0): the difference has no negative coefficient.
    pub fn certainly_ge(self, other: Dim) -> bool {
        match (self.value(), other.value()) {
            (Some(a), Some(b)) => a >= b,
            // On the polynomials: a negative constant difference (`N` vs
            // `N + 1`) is no `Dim`.
            _ => difference(&self.poly(), &other.poly())
                .iter()
                .all(|(_, c)| *c >= 0),
        }
    }

    /// The larger of `self` and `other` when it is the same for every
    /// value of the symbols.
    pub fn certain_max(self, other: Dim) -> Option<Dim> {
        if self.certainly_ge(other) {
            Some(self)
        } else if other.certainly_ge(self) {
            Some(other)
        } else {
            None
        }
    }

    /// The size as an expression with no outer parentheses, for a
    /// position that takes one (`[T; K * 4]`, `0..K * 4`): `K * 4`.
    pub fn expr(self) -> TokenStream {
        // Highest degree first: `K * M + K + 1`.
        let mut poly = self.poly();
        poly.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        if poly.is_empty() {
            return quote!(0);
        }
        let mut out = TokenStream::new();
        for (k, (m, c)) in poly.iter().enumerate() {
            let magnitude = c.unsigned_abs();
            if k > 0 {
                out.extend(if *c < 0 { quote!(-) } else { quote!(+) });
            } else if *c < 0 {
                // Only when every monomial is negative: not a size.
                out.extend(quote!(0 -));
            }
            // Symbols in the order of their text: one spelling per size.
            let mut factors: Vec<(String, TokenStream)> = TABLE.with(|t| {
                let t = t.borrow();
                m.iter()
                    .map(|&i| {
                        let s = &t.symbols[i as usize];
                        (s.text.clone(), s.tokens.clone())
                    })
                    .collect()
            });
            factors.sort_by(|a, b| a.0.cmp(&b.0));
            let mut term: Vec<TokenStream> = factors.into_iter().map(|(_, t)| t).collect();
            if magnitude != 1 || term.is_empty() {
                let lit =
                    Literal::usize_unsuffixed(usize::try_from(magnitude).unwrap_or(usize::MAX));
                term.push(quote!(#lit));
            }
            for (j, factor) in term.into_iter().enumerate() {
                if j > 0 {
                    out.extend(quote!(*));
                }
                out.extend(factor);
            }
        }
        out
    }

    /// The size as a generic argument of a type (`SMatrix<T, R, C>`): a
    /// literal, a one-segment name, or a braced expression.
    pub fn type_arg(self) -> TokenStream {
        let e = self.expr();
        match self.monomial() {
            Some((c, symbols))
                if symbols.is_empty()
                    || (c == 1 && symbols.len() == 1 && !symbols[0].text.contains("::")) =>
            {
                e
            }
            _ => quote!({ #e }),
        }
    }

    /// The size written for people: `K * 4`, `16`, `K * M + 2`.
    pub fn show(self) -> String {
        let mut poly = self.poly();
        if poly.is_empty() {
            return "0".to_string();
        }
        poly.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let mut out = String::new();
        for (k, (m, c)) in poly.iter().enumerate() {
            let sign = if *c < 0 { "-" } else { "+" };
            if k > 0 {
                out.push_str(&format!(" {sign} "));
            } else if *c < 0 {
                out.push('-');
            }
            let mut factors: Vec<String> = TABLE.with(|t| {
                let t = t.borrow();
                m.iter()
                    .map(|&i| t.symbols[i as usize].text.clone())
                    .collect()
            });
            factors.sort();
            if c.unsigned_abs() != 1 || factors.is_empty() {
                factors.push(c.unsigned_abs().to_string());
            }
            out.push_str(&factors.join(" * "));
        }
        out
    }
}

impl ToTokens for Dim {
    /// A literal, a symbol, or a parenthesized polynomial: safe as an
    /// operand anywhere (`i * (K * 4)`, `x / (K * 4)`). Where Rust takes
    /// an expression of its own (an array length), use [`Dim::expr`].
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let e = self.expr();
        match self.monomial() {
            Some((c, symbols)) if c <= 1 || symbols.is_empty() => {
                if symbols.len() <= 1 {
                    tokens.extend(e);
                } else {
                    tokens.extend(quote!((#e)));
                }
            }
            _ => tokens.extend(quote!((#e))),
        }
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Dim {
        Dim::known(n)
    }
}

impl PartialEq<usize> for Dim {
    fn eq(&self, other: &usize) -> bool {
        self.value() == Some(*other)
    }
}

impl PartialOrd<usize> for Dim {
    /// Exact for a known value; a symbolic size compares by its
    /// [`Dim::hint`] (never equal): for decisions that only change speed.
    fn partial_cmp(&self, other: &usize) -> Option<std::cmp::Ordering> {
        match self.value() {
            Some(v) => v.partial_cmp(other),
            None if self.hint() >= *other => Some(std::cmp::Ordering::Greater),
            None => Some(std::cmp::Ordering::Less),
        }
    }
}

impl PartialOrd for Dim {
    fn partial_cmp(&self, other: &Dim) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dim {
    /// By [`Dim::hint`], ties broken by form: a total order for sorting by
    /// stride, exact between known values.
    fn cmp(&self, other: &Dim) -> std::cmp::Ordering {
        self.hint()
            .cmp(&other.hint())
            .then_with(|| match (self.0, other.0) {
                (Repr::Known(a), Repr::Known(b)) => a.cmp(&b),
                (Repr::Known(_), Repr::Poly(_)) => std::cmp::Ordering::Less,
                (Repr::Poly(_), Repr::Known(_)) => std::cmp::Ordering::Greater,
                (Repr::Poly(a), Repr::Poly(b)) => a.cmp(&b),
            })
    }
}

/// The product of two polynomials, like monomials collected.
fn product(a: &Poly, b: &Poly) -> Poly {
    let mut poly: Poly = Vec::new();
    for (ma, ca) in a {
        for (mb, cb) in b {
            let mut m = ma.clone();
            m.extend(mb);
            m.sort();
            let c = ca.saturating_mul(*cb);
            match poly.iter_mut().find(|(n, _)| *n == m) {
                Some((_, d)) => *d += c,
                None => poly.push((m, c)),
            }
        }
    }
    poly
}

/// `a − b`, like monomials collected, zeros dropped.
fn difference(a: &Poly, b: &Poly) -> Poly {
    let mut poly = a.clone();
    for (m, c) in b {
        match poly.iter_mut().find(|(n, _)| n == m) {
            Some((_, d)) => *d -= c,
            None => poly.push((m.clone(), -c)),
        }
    }
    poly.retain(|(_, c)| *c != 0);
    poly
}

fn combine(a: Dim, b: Dim, sign: i128) -> Dim {
    let mut poly = a.poly();
    for (m, c) in b.poly() {
        match poly.iter_mut().find(|(n, _)| *n == m) {
            Some((_, d)) => *d += sign * c,
            None => poly.push((m, sign * c)),
        }
    }
    Dim::from_poly(poly)
}

impl std::ops::Add for Dim {
    type Output = Dim;
    fn add(self, other: Dim) -> Dim {
        match (self.0, other.0) {
            (Repr::Known(a), Repr::Known(b)) => Dim::known(a.saturating_add(b)),
            _ => combine(self, other, 1),
        }
    }
}

impl std::ops::Sub for Dim {
    type Output = Dim;
    fn sub(self, other: Dim) -> Dim {
        match (self.0, other.0) {
            (Repr::Known(a), Repr::Known(b)) => Dim::known(a.saturating_sub(b)),
            _ => combine(self, other, -1),
        }
    }
}

impl std::ops::Mul for Dim {
    type Output = Dim;
    fn mul(self, other: Dim) -> Dim {
        match (self.0, other.0) {
            (Repr::Known(a), Repr::Known(b)) => Dim::known(a.saturating_mul(b)),
            _ => Dim::from_poly(product(&self.poly(), &other.poly())),
        }
    }
}

impl std::ops::Mul<usize> for Dim {
    type Output = Dim;
    fn mul(self, other: usize) -> Dim {
        self * Dim::known(other)
    }
}

impl std::ops::Add<usize> for Dim {
    type Output = Dim;
    fn add(self, other: usize) -> Dim {
        self + Dim::known(other)
    }
}

impl std::ops::Sub<usize> for Dim {
    type Output = Dim;
    fn sub(self, other: usize) -> Dim {
        self - Dim::known(other)
    }
}

impl std::ops::Mul<&Dim> for &Dim {
    type Output = Dim;
    fn mul(self, other: &Dim) -> Dim {
        *self * *other
    }
}

impl std::ops::Mul<Dim> for &Dim {
    type Output = Dim;
    fn mul(self, other: Dim) -> Dim {
        *self * other
    }
}

impl std::ops::Mul<&Dim> for Dim {
    type Output = Dim;
    fn mul(self, other: &Dim) -> Dim {
        self * *other
    }
}

impl std::ops::MulAssign for Dim {
    fn mul_assign(&mut self, other: Dim) {
        *self = *self * other;
    }
}

impl std::ops::AddAssign for Dim {
    fn add_assign(&mut self, other: Dim) {
        *self = *self + other;
    }
}

impl std::iter::Product for Dim {
    fn product<I: Iterator<Item = Dim>>(iter: I) -> Dim {
        iter.fold(Dim::ONE, |a, b| a * b)
    }
}

impl<'a> std::iter::Product<&'a Dim> for Dim {
    fn product<I: Iterator<Item = &'a Dim>>(iter: I) -> Dim {
        iter.fold(Dim::ONE, |a, b| a * *b)
    }
}

impl std::iter::Sum for Dim {
    fn sum<I: Iterator<Item = Dim>>(iter: I) -> Dim {
        iter.fold(Dim::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Known(n) => write!(f, "{n}"),
            Repr::Poly(_) => write!(f, "{}", self.show()),
        }
    }
}

impl fmt::Debug for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(text: &str) -> Dim {
        Dim::symbol(Symbol {
            tokens: text.parse().unwrap(),
            text: text.to_string(),
            generic: false,
        })
    }

    #[test]
    fn canonical_forms_make_equal_sizes_equal() {
        reset();
        let (k, m) = (sym("K"), sym("sizes::M"));
        assert_eq!(k * m * 4, (m * 2) * (k * 2));
        assert_eq!(k * 3 - k, k * 2);
        assert_eq!(k * 4 - k * 4, Dim::ZERO);
        assert_ne!(k, m);
        assert_eq!(Dim::known(3) * Dim::known(4), 12);
        assert_eq!((k * m * 4).show(), "K * sizes::M * 4");
        assert_eq!((k + 1).to_token_stream().to_string(), "(K + 1)");
        assert_eq!((k * 4).to_token_stream().to_string(), "(K * 4)");
        assert_eq!((k * 4).expr().to_string(), "K * 4");
        assert_eq!(k.to_token_stream().to_string(), "K");
        assert_eq!(k.hint(), SYMBOL_HINT);
    }

    #[test]
    fn certainly_different_only_when_no_value_makes_them_equal() {
        reset();
        let (k, m) = (sym("K"), sym("M"));
        assert!((k * 4).certainly_differs(k * 3));
        assert!((k + 1).certainly_differs(k));
        assert!(!k.certainly_differs(Dim::known(4)));
        assert!(!k.certainly_differs(m));
        assert!(!(k * 2).certainly_differs(m + 1));
        // A negative constant difference is seen as such.
        assert!(!k.certainly_ge(k + 1));
        assert!((k + 1).certainly_ge(k));
        assert!(k.certainly_differs(k + 1));
    }
}
