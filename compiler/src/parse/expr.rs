//! Expressions: names, calls with tensor and `key = value` arguments, `a + b`,
//! parentheses, and a tuple as a result.

use super::ast::{Arg, AttrValue, Call, Expr, Number};
use super::sizes::Sizes;
use crate::span::SpanRange;
use syn::{BinOp, UnOp};

/// Parses an expression in tensor position; `sizes` gives the values of
/// the block's constants where an attribute names one.
pub fn parse_expr(expr: &syn::Expr, sizes: &Sizes) -> syn::Result<Expr> {
    match expr {
        syn::Expr::Paren(p) => parse_expr(&p.expr, sizes),
        syn::Expr::Group(g) => parse_expr(&g.expr, sizes),
        syn::Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => match p.path.get_ident() {
            Some(ident) => Ok(Expr::Name(ident.clone())),
            None => Err(SpanRange::of(p).error(
                "expected a parameter or `let` name; paths are not part of the language",
            )),
        },
        syn::Expr::Call(call) => parse_call(call, sizes),
        syn::Expr::Binary(b) => parse_binary(b, sizes),
        syn::Expr::Tuple(t) => {
            let elems = t
                .elems
                .iter()
                .map(|e| parse_expr(e, sizes))
                .collect::<syn::Result<Vec<_>>>()?;
            Ok(Expr::Tuple(elems, SpanRange::of(t)))
        }
        syn::Expr::MethodCall(m) => Err(SpanRange::of(m).error(format!(
            "method calls are not part of the language: write `{}({}, ...)`",
            m.method,
            crate::span::source_text(&m.receiver)
        ))),
        syn::Expr::Lit(_) | syn::Expr::Unary(_) if number(expr).is_some() => {
            Err(SpanRange::of(expr).error(
                "a number is not a tensor here: write `constant(value, shape = [...])` for a constant tensor",
            ))
        }
        other => Err(SpanRange::of(other).error(
            "expected a tensor expression: a name, an op call such as `exp(x)`, or `a + b`",
        )),
    }
}

fn parse_binary(b: &syn::ExprBinary, sizes: &Sizes) -> syn::Result<Expr> {
    let op_span = SpanRange::of(&b.op);
    match b.op {
        BinOp::Add(token) => Ok(Expr::Call(Call {
            op: syn::Ident::new("add", token.span),
            args: vec![
                Arg::Tensor(parse_expr(&b.left, sizes)?),
                Arg::Tensor(parse_expr(&b.right, sizes)?),
            ],
            span: SpanRange::of(b),
        })),
        BinOp::Mul(_) => Err(op_span.error(
            "`*` is ambiguous for tensors: write `hadamard(a, b)` for the elementwise product or `matmul(a, b)` for the matrix product",
        )),
        _ => Err(op_span.error(
            "unsupported operator: the only infix operator is `+` (`add`); every other op is a call such as `hadamard(a, b)`",
        )),
    }
}

fn parse_call(call: &syn::ExprCall, sizes: &Sizes) -> syn::Result<Expr> {
    let op = match &*call.func {
        syn::Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
        _ => None,
    };
    let Some(op) = op else {
        return Err(SpanRange::of(&call.func).error("expected an op name such as `softmax`"));
    };
    let args = call
        .args
        .iter()
        .map(|a| parse_arg(a, sizes))
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(Expr::Call(Call {
        op,
        args,
        span: SpanRange::of(call),
    }))
}

fn parse_arg(arg: &syn::Expr, sizes: &Sizes) -> syn::Result<Arg> {
    if let syn::Expr::Assign(assign) = arg {
        let key = match &*assign.left {
            syn::Expr::Path(p) => p.path.get_ident().cloned(),
            _ => None,
        };
        let Some(key) = key else {
            return Err(
                SpanRange::of(&assign.left).error("expected an attribute name such as `axis`")
            );
        };
        return Ok(Arg::Keyword(key, parse_attr_value(&assign.right, sizes)?));
    }
    if let syn::Expr::Array(array) = arg {
        return Ok(Arg::List(parse_list(array, sizes)?, SpanRange::of(array)));
    }
    if let Some(n) = number(arg) {
        return Ok(Arg::Number(n?));
    }
    Ok(Arg::Tensor(parse_expr(arg, sizes)?))
}

fn parse_attr_value(value: &syn::Expr, sizes: &Sizes) -> syn::Result<AttrValue> {
    match value {
        syn::Expr::Array(array) => Ok(AttrValue::List(
            parse_list(array, sizes)?,
            SpanRange::of(array),
        )),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Ok(AttrValue::Bool(b.value, SpanRange::of(b))),
        other => match number(other) {
            Some(n) => Ok(AttrValue::Number(n?)),
            None if names_a_size(other) => Ok(AttrValue::Number(named(other, sizes)?)),
            None => Err(SpanRange::of(other).error(
                "an attribute value must be a literal or a size: a number such as `1` or `-0.5`, a size such as `K` or `{K * 2}`, a list such as `[2, K]`, or `true`/`false`",
            )),
        },
    }
}

fn parse_list(array: &syn::ExprArray, sizes: &Sizes) -> syn::Result<Vec<Number>> {
    array
        .elems
        .iter()
        .map(|e| match number(e) {
            Some(n) => n,
            None if names_a_size(e) => named(e, sizes),
            None => Err(SpanRange::of(e)
                .error("expected a number literal or a size such as `K`, `{K * 2}` or `{N - 1}`")),
        })
        .collect()
}

/// Whether `expr` is written as a size: a constant (`K`,
/// `sizes::UNITS`), a const generic parameter, or a braced product
/// (`{K * 2}`).
fn names_a_size(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Group(g) => names_a_size(&g.expr),
        syn::Expr::Path(_) | syn::Expr::Block(_) => true,
        // `N - 1`, `K * 2` unbraced in a list.
        syn::Expr::Binary(b) => names_a_size(&b.left) || names_a_size(&b.right),
        _ => false,
    }
}

/// A size or position written with names, as a number: a position may
/// be a sum or difference (`[N - 1]`), checked by shape inference against
/// the axis it indexes.
fn named(expr: &syn::Expr, sizes: &Sizes) -> syn::Result<Number> {
    let size = sizes.position(expr)?;
    let span = SpanRange::of(expr);
    let integer = match size.dim.value() {
        Some(v) => Some(
            i64::try_from(v)
                .map_err(|_| span.error("this size does not fit: integers must fit in i64"))?,
        ),
        None => None,
    };
    Ok(Number {
        size: Some(size.dim),
        value: integer.map_or(f64::NAN, |i| i as f64),
        integer,
        span,
    })
}

/// A numeric literal, possibly negated; `None` when `expr` is not one.
fn number(expr: &syn::Expr) -> Option<syn::Result<Number>> {
    match expr {
        syn::Expr::Group(g) => number(&g.expr),
        syn::Expr::Paren(p) => number(&p.expr),
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => literal(lit, false, SpanRange::of(lit)),
        syn::Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match &*u.expr {
            syn::Expr::Lit(syn::ExprLit { lit, .. }) => literal(lit, true, SpanRange::of(u)),
            _ => None,
        },
        _ => None,
    }
}

fn literal(lit: &syn::Lit, negative: bool, span: SpanRange) -> Option<syn::Result<Number>> {
    let sign = if negative { -1.0 } else { 1.0 };
    let parsed = match lit {
        syn::Lit::Int(i) => i.base10_parse::<i64>().map(|v| {
            let v = if negative { -v } else { v };
            Number {
                size: None,
                value: v as f64,
                integer: Some(v),
                span,
            }
        }),
        syn::Lit::Float(f) => f.base10_parse::<f64>().map(|v| Number {
            size: None,
            value: sign * v,
            integer: None,
            span,
        }),
        _ => return None,
    };
    Some(parsed.map_err(|_| span.error("this number does not fit: integers must fit in i64")))
}

#[cfg(test)]
mod tests {
    use super::super::parsed;
    use super::*;

    fn parse(src: &str) -> syn::Result<Expr> {
        parsed(src, |e| parse_expr(e, &Sizes::default()))
    }

    #[test]
    fn calls_keywords_lists_and_plus() {
        let Ok(Expr::Call(call)) = parse("index(x, [2, 0, -1], axis = -1)") else {
            panic!("not a call")
        };
        assert_eq!(call.op, "index");
        assert!(matches!(&call.args[0], Arg::Tensor(Expr::Name(n)) if n == "x"));
        assert!(
            matches!(&call.args[1], Arg::List(l, _) if l.len() == 3 && l[2].integer == Some(-1))
        );
        assert!(
            matches!(&call.args[2], Arg::Keyword(k, AttrValue::Number(n)) if k == "axis" && n.integer == Some(-1))
        );
        let Ok(Expr::Call(add)) = parse("(a + exp(b))") else {
            panic!("not a call")
        };
        assert_eq!(add.op, "add");
    }

    #[test]
    fn star_names_both_readings() {
        let msg = parse("a * b").err().unwrap().to_string();
        assert!(msg.contains("hadamard") && msg.contains("matmul"), "{msg}");
    }

    #[test]
    fn numbers_are_not_tensors() {
        assert!(parse("exp(1.0 + x)").is_err());
        let msg = parse("x.exp()").err().unwrap().to_string();
        assert!(msg.contains("exp(x"), "{msg}");
    }
}
