//! The type grammar: `f32`/`f64`, `SVector<T, N>`, `SMatrix<T, R, C>`, `[X; N]`.

use super::ast::{DType, TensorType, TypeForm};
use super::sizes::{Size, Sizes};
use crate::dim::Dim;
use crate::span::SpanRange;
use proc_macro2::Span;
use syn::{GenericArgument, PathArguments, Type};

const GRAMMAR: &str =
    "expected `f32`, `f64`, `SVector<T, N>`, `SMatrix<T, R, C>` or an array `[X; N]` of these";

/// Parses a leaf or return type, its sizes named by `sizes`.
pub fn parse_tensor_type(ty: &Type, sizes: &Sizes) -> syn::Result<TensorType> {
    let mut written = Vec::new();
    let (form, dtype, dtype_span) = parse_form(ty, sizes, &mut written)?;
    for size in &written {
        refuse_generic_product(size)?;
    }
    if crate::shape::element_count(&form.shape()).is_none() {
        return Err(SpanRange::of(ty).error("this type has more elements than any buffer can hold"));
    }
    Ok(TensorType {
        dtype,
        dtype_span,
        written,
        form,
        syn_type: ty.clone(),
        span: SpanRange::of(ty),
    })
}

/// The form of `ty`; `written` receives its sizes in the order written
/// (outer array lengths first).
fn parse_form(
    ty: &Type,
    sizes: &Sizes,
    written: &mut Vec<Size>,
) -> syn::Result<(TypeForm, DType, Span)> {
    match ty {
        Type::Paren(inner) => parse_form(&inner.elem, sizes, written),
        Type::Group(inner) => parse_form(&inner.elem, sizes, written),
        Type::Array(array) => {
            let n = sizes.dimension(&array.len)?;
            written.push(n.clone());
            let (inner, dtype, span) = parse_form(&array.elem, sizes, written)?;
            if matches!(inner, TypeForm::Kron(_)) {
                return Err(SpanRange::of(&array.elem)
                    .error("`Kron` is a result type of its own and cannot be an array element"));
            }
            Ok((TypeForm::Array(Box::new(inner), n.dim), dtype, span))
        }
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return Err(SpanRange::of(ty).error(GRAMMAR));
            };
            let name = last.ident.to_string();
            match name.as_str() {
                "f32" | "f64" if matches!(last.arguments, PathArguments::None) => {
                    Ok((TypeForm::Scalar, scalar(&name), last.ident.span()))
                }
                "SVector" | "SMatrix" | "Kron" => {
                    let wanted = match name.as_str() {
                        "SVector" => 2,
                        "SMatrix" => 3,
                        _ => 5,
                    };
                    let args = generic_args(last, wanted, ty)?;
                    let (dtype, dtype_span) = parse_scalar_arg(args[0])?;
                    let named = args[1..]
                        .iter()
                        .map(|a| sizes.dimension_arg(a))
                        .collect::<syn::Result<Vec<_>>>()?;
                    let dims: Vec<Dim> = named.iter().map(|s| s.dim).collect();
                    written.extend(named);
                    let form = match dims.as_slice() {
                        [n] => TypeForm::Vector(*n),
                        [r, c] => TypeForm::Matrix(*r, *c),
                        [p, q, r, s] => TypeForm::Kron([*p, *q, *r, *s]),
                        _ => return Err(SpanRange::of(ty).error(GRAMMAR)),
                    };
                    Ok((form, dtype, dtype_span))
                }
                other => Err(SpanRange::of(ty)
                    .error(format!("unsupported tensor type `{other}`: {GRAMMAR}"))),
            }
        }
        Type::Reference(r) => Err(SpanRange::of(ty).error(format!(
            "a tensor type cannot contain a reference: write `{}` here, and take a parameter by reference as a whole (`x: &[SVector<f64, 3>; 2]`)",
            crate::span::source_text(&r.elem)
        ))),
        _ => Err(SpanRange::of(ty).error(format!("unsupported tensor type: {GRAMMAR}"))),
    }
}

/// A size of a leaf or result type may be a const generic parameter, but
/// not a product with one: stable Rust has no `generic_const_exprs`, so
/// `SVector<f64, {K * 4}>` is no type inside `fn f<const K: usize>`.
fn refuse_generic_product(size: &Size) -> syn::Result<()> {
    let single = size
        .dim
        .monomial()
        .is_some_and(|(c, symbols)| c == 1 && symbols.len() == 1);
    if !size.dim.is_generic() || single {
        return Ok(());
    }
    let written = size.written();
    // A name for the new parameter: `K * 4` → `K4`, `K * H` → `KH`.
    let name: String = written
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    Err(size.span.error(format!(
        "`{written}` multiplies a const generic parameter, and stable Rust cannot use a generic expression in a type (it has no `generic_const_exprs`): give the size a parameter of its own, `const {name}: usize`, and write `{name}` here (the macro asserts `{name} == {written}` for each instance); or use a constant"
    )))
}

fn scalar(name: &str) -> DType {
    if name == "f32" {
        DType::F32
    } else {
        DType::F64
    }
}

fn generic_args<'a>(
    segment: &'a syn::PathSegment,
    wanted: usize,
    ty: &Type,
) -> syn::Result<Vec<&'a GenericArgument>> {
    let name = &segment.ident;
    let usage = match wanted {
        2 => "SVector<T, N>",
        3 => "SMatrix<T, R, C>",
        _ => "Kron<T, P, Q, R, S>",
    };
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return Err(SpanRange::of(ty).error(format!(
            "`{name}` needs its element type and sizes: write `{usage}`"
        )));
    };
    let args: Vec<_> = args.args.iter().collect();
    if args.len() != wanted {
        return Err(SpanRange::of(ty).error(format!(
            "`{name}` takes {wanted} generic arguments (`{usage}`), found {}",
            args.len()
        )));
    }
    Ok(args)
}

fn parse_scalar_arg(arg: &GenericArgument) -> syn::Result<(DType, Span)> {
    // The last path segment, as for the tensor types: `::core::primitive::f64`
    // is `f64` too.
    if let GenericArgument::Type(Type::Path(p)) = arg {
        if let Some(last) = p.path.segments.last() {
            let name = last.ident.to_string();
            if (name == "f32" || name == "f64") && matches!(last.arguments, PathArguments::None) {
                return Ok((scalar(&name), last.ident.span()));
            }
        }
    }
    Err(SpanRange::of(arg).error("the element type must be `f32` or `f64`"))
}

#[cfg(test)]
mod tests {
    use super::super::parsed;
    use super::*;

    fn form(src: &str) -> syn::Result<TensorType> {
        parsed(src, |t| parse_tensor_type(t, &Sizes::default()))
    }

    #[test]
    fn shapes_and_storage_orders() {
        let t = form("[SMatrix<f64, 3, 4>; 2]").unwrap();
        assert_eq!(t.shape(), vec![2, 3, 4]);
        assert_eq!(t.storage_order(), vec![0, 2, 1]);
        assert_eq!(t.dtype, DType::F64);
        let t = form("nalgebra::SVector<f32, 5>").unwrap();
        assert_eq!(t.shape(), vec![5]);
        assert_eq!(t.dtype, DType::F32);
        let t = form("[[f64; 4]; 3]").unwrap();
        assert_eq!(t.shape(), vec![3, 4]);
        assert_eq!(t.storage_order(), vec![0, 1]);
        assert_eq!(form("f64").unwrap().shape(), Vec::<usize>::new());
    }

    #[test]
    fn rejects_what_is_outside_the_grammar() {
        let msg = |s: &str| form(s).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(form("SMatrix<f64, N, 4>").is_ok(), "a name is a size");
        assert!(msg("SMatrix<f64, {N + 1}, 4>").contains("is a product"));
        assert!(msg("SMatrix<f64, 0, 4>").contains("at least 1"));
        assert!(msg("SMatrix<i32, 3, 4>").contains("`f32` or `f64`"));
        assert!(msg("Vec<f64>").contains("unsupported tensor type `Vec`"));
        assert!(msg("SMatrix<f64, 3>").contains("3 generic arguments"));
    }
}
