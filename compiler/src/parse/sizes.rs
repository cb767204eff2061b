//! Named sizes: the `const` items of a block, and dimensions written as
//! their names or as braced products (`{K * H}`).
//!
//! A `const NAME: usize = …;` item declared inside the block gives the
//! macro the size's value: its initializer is evaluated here (integer
//! literals, the block's other constants, `+ - * / %`, parentheses), exactly
//! as rustc evaluates it, and the item is re-emitted unchanged, so the name
//! is an ordinary constant outside the block too. Any other name — a
//! constant of the module or a path to one (`K`, `sizes::UNITS`,
//! `crate::K`), a const generic parameter of the fn, or a block constant
//! whose initializer reads one of those — is a *symbol*: a size rustc knows
//! and the macro does not (`crate::dim`), checked by assertions in the
//! generated code where the macro cannot decide.

use crate::diagnostics::Diagnostics;
use crate::dim::{Dim, Symbol};
use crate::span::SpanRange;
use syn::{BinOp, Expr};

/// A size as written and its value.
#[derive(Clone, Debug)]
pub struct Size {
    /// The value: a number, or a polynomial in symbols.
    pub dim: Dim,
    /// How it was written when that is not its value: `K`, `K * H`.
    pub name: Option<String>,
    /// Where it is written.
    pub span: SpanRange,
}

impl Size {
    /// `K` for a named size, `4` for a literal.
    pub fn written(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.dim.to_string())
    }
}

/// One `const` item of the block.
#[derive(Clone)]
struct Constant {
    name: syn::Ident,
    /// Whether its declared type is `usize` (a dimension is one).
    is_usize: bool,
    /// Its type as written, for the error when it is not `usize`.
    ty: String,
    init: Expr,
}

/// The `const` items of one block, by name, and the const generic
/// parameters of the fn being parsed.
#[derive(Clone, Default)]
pub struct Sizes {
    constants: Vec<Constant>,
    generics: Vec<syn::Ident>,
}

/// Why an initializer has no value here.
enum Unknown {
    /// It reads something that is not a literal or a block constant: the
    /// constant is then a symbol, whose value rustc computes.
    Opaque,
    /// The arithmetic overflows, underflows or divides by zero.
    Arithmetic,
    /// The constants refer to each other in a cycle.
    Cycle,
}

impl Sizes {
    /// The table of `items`, reporting a name declared twice.
    pub fn new(items: &[syn::ItemConst], d: &mut Diagnostics) -> Self {
        let mut constants: Vec<Constant> = Vec::new();
        for item in items {
            if constants.iter().any(|c| c.name == item.ident) {
                d.push(SpanRange::of(&item.ident).error(format!(
                    "the constant `{}` is declared twice in this block",
                    item.ident
                )));
                continue;
            }
            constants.push(Constant {
                name: item.ident.clone(),
                is_usize: is_usize(&item.ty),
                ty: crate::span::source_text(&*item.ty),
                init: (*item.expr).clone(),
            });
        }
        Sizes {
            constants,
            generics: Vec::new(),
        }
    }

    /// The table for a fn with const generic parameters `generics`.
    pub fn with_generics(&self, generics: Vec<syn::Ident>) -> Sizes {
        Sizes {
            constants: self.constants.clone(),
            generics,
        }
    }

    /// A dimension of a tensor type: a literal, a block constant or a
    /// braced product of those; at least 1.
    pub fn dimension(&self, expr: &Expr) -> syn::Result<Size> {
        let size = self.size(expr)?;
        if size.dim == 0 {
            let what = match &size.name {
                Some(name) => format!(" (`{name}` is 0)"),
                None => String::new(),
            };
            return Err(SpanRange::of(expr).error(format!(
                "a dimension must be at least 1{what}: param_graph! does not compile empty tensors"
            )));
        }
        Ok(size)
    }

    /// A dimension written as a generic type argument: `N` in
    /// `SVector<f64, N>` parses as a type.
    pub fn dimension_arg(&self, arg: &syn::GenericArgument) -> syn::Result<Size> {
        match arg {
            syn::GenericArgument::Const(expr) => self.dimension(expr),
            syn::GenericArgument::Type(syn::Type::Path(p)) if p.qself.is_none() => {
                let expr = Expr::Path(syn::ExprPath {
                    attrs: Vec::new(),
                    qself: None,
                    path: p.path.clone(),
                });
                self.dimension(&expr)
            }
            _ => Err(SpanRange::of(arg).error(GRAMMAR)),
        }
    }

    /// A size or position: `4`, `K`, `{K * H}` (`(K * H)` too, and a bare
    /// `K * H` where Rust's grammar allows it, as in an array length).
    pub fn size(&self, expr: &Expr) -> syn::Result<Size> {
        match expr {
            Expr::Group(g) => self.size(&g.expr),
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(lit),
                ..
            }) => literal(lit).map(|value| Size {
                dim: Dim::known(value),
                name: None,
                span: SpanRange::of(expr),
            }),
            Expr::Path(p) => {
                let (name, dim) = self.named(p)?;
                Ok(Size {
                    dim,
                    name: Some(name),
                    span: SpanRange::of(expr),
                })
            }
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(inner, None) => self.product(inner),
                _ => Err(SpanRange::of(expr).error(GRAMMAR)),
            },
            Expr::Paren(p) => self.product(&p.expr),
            // An array length is an expression already: `[f64; K * 4]`.
            Expr::Binary(_) => self.product(expr),
            _ => Err(SpanRange::of(expr).error(GRAMMAR)),
        }
    }

    /// An `index` position: a size ([`Sizes::size`]) or a sum or
    /// difference of them (`N - 1`, `{K * H - 1}`); whether it lies in the
    /// indexed axis is checked by shape inference.
    pub fn position(&self, expr: &Expr) -> syn::Result<Size> {
        let inner = match expr {
            Expr::Group(g) => return self.position(&g.expr),
            Expr::Paren(p) => return self.position(&p.expr),
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(inner, None) => inner,
                _ => return self.size(expr),
            },
            other => other,
        };
        match inner {
            Expr::Binary(b) if matches!(b.op, BinOp::Add(_) | BinOp::Sub(_)) => {
                let (l, r) = (self.position(&b.left)?, self.position(&b.right)?);
                let dim = match b.op {
                    BinOp::Add(_) => l.dim + r.dim,
                    _ => {
                        if let (Some(a), Some(c)) = (l.dim.value(), r.dim.value()) {
                            if c > a {
                                return Err(SpanRange::of(expr).error(format!(
                                    "this position is negative: {} - {} = {a} - {c}",
                                    l.written(),
                                    r.written()
                                )));
                            }
                        }
                        l.dim - r.dim
                    }
                };
                let op = if matches!(b.op, BinOp::Add(_)) {
                    "+"
                } else {
                    "-"
                };
                Ok(Size {
                    dim,
                    name: Some(format!("{} {op} {}", l.written(), r.written())),
                    span: SpanRange::of(expr),
                })
            }
            _ => self.size(expr),
        }
    }

    /// `a * b * …` of literals and block constants, each factor checked.
    fn product(&self, expr: &Expr) -> syn::Result<Size> {
        let mut factors = Vec::new();
        collect_factors(expr, &mut factors)?;
        let mut dim = Dim::ONE;
        let mut written = Vec::new();
        for factor in &factors {
            let size = self.size(factor)?;
            dim = dim.checked_mul(size.dim).ok_or_else(|| {
                SpanRange::of(expr).error("this product of sizes overflows usize")
            })?;
            written.push(size.written());
        }
        Ok(Size {
            dim,
            name: Some(written.join(" * ")),
            span: SpanRange::of(expr),
        })
    }

    /// The size `path` names, with its name: a block constant's value, or
    /// a symbol (a const generic parameter, a constant the block does not
    /// declare, a block constant whose value only rustc knows).
    fn named(&self, path: &syn::ExprPath) -> syn::Result<(String, Dim)> {
        let span = SpanRange::of(path);
        let written = crate::span::source_text(path);
        if path.qself.is_some() || !path.attrs.is_empty() {
            return Err(span.error(GRAMMAR));
        }
        let symbol = |generic: bool| {
            Dim::symbol(Symbol {
                tokens: quote::ToTokens::to_token_stream(&path.path),
                text: written.clone(),
                generic,
            })
        };
        let Some(ident) = path.path.get_ident() else {
            return Ok((written.clone(), symbol(false)));
        };
        if self.generics.contains(ident) {
            return Ok((written.clone(), symbol(true)));
        }
        let Some(constant) = self.constants.iter().find(|c| c.name == *ident) else {
            return Ok((written.clone(), symbol(false)));
        };
        if !constant.is_usize {
            return Err(span.error(format!(
                "`{ident}` is declared as `{}`: a size is a `usize`, so declare `const {ident}: usize = …;`",
                constant.ty
            )));
        }
        match self.evaluate(&constant.init, &mut vec![ident.to_string()]) {
            Ok(value) => Ok((ident.to_string(), Dim::known(value))),
            // rustc computes it: the name is a symbol like a module constant.
            Err(Unknown::Opaque) => Ok((written.clone(), symbol(false))),
            Err(Unknown::Arithmetic) => Err(span.error(format!(
                "the initializer of `{ident}` overflows, underflows or divides by zero"
            ))),
            Err(Unknown::Cycle) => Err(span.error(format!(
                "the initializer of `{ident}` depends on `{ident}` itself"
            ))),
        }
    }

    /// The value of an initializer, as rustc computes it; `visiting` holds
    /// the constants being evaluated (a cycle check).
    fn evaluate(&self, expr: &Expr, visiting: &mut Vec<String>) -> Result<usize, Unknown> {
        match expr {
            Expr::Group(g) => self.evaluate(&g.expr, visiting),
            Expr::Paren(p) => self.evaluate(&p.expr, visiting),
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(inner, None) => self.evaluate(inner, visiting),
                // A statement: rustc evaluates it.
                _ => Err(Unknown::Opaque),
            },
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(lit),
                ..
            }) => literal(lit).map_err(|_| Unknown::Opaque),
            Expr::Path(p) => {
                let constant = p
                    .path
                    .get_ident()
                    .and_then(|ident| self.constants.iter().find(|c| c.name == *ident));
                // A constant of the module, or not a `usize`: rustc's.
                let Some(constant) = constant.filter(|c| c.is_usize) else {
                    return Err(Unknown::Opaque);
                };
                let name = constant.name.to_string();
                if visiting.contains(&name) {
                    return Err(Unknown::Cycle);
                }
                visiting.push(name);
                let value = self.evaluate(&constant.init, visiting);
                visiting.pop();
                value
            }
            Expr::Binary(b) => {
                let (l, r) = (
                    self.evaluate(&b.left, visiting)?,
                    self.evaluate(&b.right, visiting)?,
                );
                let value = match b.op {
                    BinOp::Add(_) => l.checked_add(r),
                    BinOp::Sub(_) => l.checked_sub(r),
                    BinOp::Mul(_) => l.checked_mul(r),
                    BinOp::Div(_) => l.checked_div(r),
                    BinOp::Rem(_) => l.checked_rem(r),
                    // Another operator (`<<`, `&`): rustc evaluates it.
                    _ => return Err(Unknown::Opaque),
                };
                value.ok_or(Unknown::Arithmetic)
            }
            // A call, a cast, a path to elsewhere: rustc evaluates it.
            _ => Err(Unknown::Opaque),
        }
    }
}

const GRAMMAR: &str = "a dimension is an integer literal such as `4`, a `usize` constant such as `K` or `sizes::UNITS`, a const generic parameter of the fn, or a braced product of those such as `{K * 4}`";

/// `a * b * c` as its factors, in order.
fn collect_factors<'a>(expr: &'a Expr, factors: &mut Vec<&'a Expr>) -> syn::Result<()> {
    match expr {
        Expr::Binary(b) if matches!(b.op, BinOp::Mul(_)) => {
            collect_factors(&b.left, factors)?;
            collect_factors(&b.right, factors)
        }
        Expr::Binary(b) => Err(SpanRange::of(&b.op).error(
            "a size in a type is a product such as `{K * 4}`: compute sums and differences in a `const` item (`const LAST: usize = K - 1;`); an `index` position may be a sum or difference (`[N - 1]`)",
        )),
        Expr::Group(g) => collect_factors(&g.expr, factors),
        other => {
            factors.push(other);
            Ok(())
        }
    }
}

/// An integer literal with no suffix or `usize`.
fn literal(lit: &syn::LitInt) -> syn::Result<usize> {
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(SpanRange::of(lit).error(format!(
            "a size is a `usize`: write `{}` without the `{}` suffix",
            lit.base10_digits(),
            lit.suffix()
        )));
    }
    lit.base10_parse().map_err(|_| {
        SpanRange::of(lit).error("a size must be an integer literal that fits in usize")
    })
}

/// `usize` or a path ending in it (`core::primitive::usize`).
fn is_usize(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "usize" && s.arguments.is_none()),
        syn::Type::Group(g) => is_usize(&g.elem),
        syn::Type::Paren(p) => is_usize(&p.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(src: &str) -> Sizes {
        let file: syn::File = syn::parse_str(src).unwrap();
        let items: Vec<syn::ItemConst> = file
            .items
            .into_iter()
            .filter_map(|i| match i {
                syn::Item::Const(c) => Some(c),
                _ => None,
            })
            .collect();
        let mut d = Diagnostics::default();
        let s = Sizes::new(&items, &mut d);
        assert!(d.is_empty());
        s
    }

    fn dim(s: &Sizes, src: &str) -> Result<Size, String> {
        s.dimension(&syn::parse_str(src).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn constants_evaluate_as_rustc_does() {
        crate::dim::reset();
        let s = sizes(
            "const H: usize = K / 2 + 1; const K: usize = 2 * (3 + 5); const W: core::primitive::usize = K % 5;",
        );
        assert_eq!(dim(&s, "K").unwrap().dim, 16);
        assert_eq!(dim(&s, "H").unwrap().dim, 9);
        assert_eq!(dim(&s, "W").unwrap().dim, 1);
        let p = dim(&s, "{K * H * 2}").unwrap();
        assert_eq!(
            (p.dim, p.written()),
            (Dim::known(288), "K * H * 2".to_string())
        );
        assert_eq!(dim(&s, "4").unwrap().written(), "4");
    }

    #[test]
    fn sizes_only_rustc_knows_are_symbols() {
        crate::dim::reset();
        let s = sizes("const X: usize = other::N; const Y: usize = X * 2;")
            .with_generics(vec![syn::parse_str("G").unwrap()]);
        for (src, text, generic) in [
            ("X", "X", false),
            ("Y", "Y", false),
            ("sizes::UNITS", "sizes::UNITS", false),
            ("crate::K", "crate::K", false),
            ("M", "M", false),
            ("G", "G", true),
        ] {
            let size = dim(&s, src).unwrap();
            assert!(size.dim.is_symbolic(), "{src}");
            assert_eq!(size.written(), text);
            assert_eq!(size.dim.is_generic(), generic, "{src}");
        }
        let p = dim(&s, "{2 * G * sizes::UNITS}").unwrap();
        assert_eq!(p.dim.show(), "G * sizes::UNITS * 2");
        assert!(p.dim.is_generic());
    }

    #[test]
    fn bad_sizes_are_refused_with_the_fix() {
        crate::dim::reset();
        let s = sizes(
            "const Z: usize = 0; const U: u32 = 3; const C: usize = C + 1; const O: usize = 1 - 2;",
        );
        assert!(dim(&s, "Z").unwrap_err().contains("at least 1 (`Z` is 0)"));
        assert!(dim(&s, "U").unwrap_err().contains("declared as `u32`"));
        assert!(dim(&s, "C").unwrap_err().contains("itself"));
        assert!(dim(&s, "O").unwrap_err().contains("underflows"));
        assert!(dim(&s, "{Z + 1}").unwrap_err().contains("is a product"));
        assert!(dim(&s, "4u32")
            .unwrap_err()
            .contains("without the `u32` suffix"));
    }
}
