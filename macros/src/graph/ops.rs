//! The op catalogue: every op name of the language, how many tensors it
//! takes, and how its attributes become an [`Op`].

use super::attrs::{non_negative, Attrs};
use super::{GaussianPart, MapOp, Op, OuterKind, ReduceKind, ZipOp};
use crate::parse::ast::{DType, Number};
use crate::span::SpanRange;

/// Every op a user may call.
pub const OP_NAMES: &[&str] = &[
    "exp",
    "log",
    "square",
    "sigmoid",
    "softplus",
    "conjugate",
    "scaled_sigmoid",
    "clamp",
    "reduce_sum",
    "reduce_prod",
    "reduce_lse",
    "softmax",
    "log_softmax",
    "index",
    "add",
    "hadamard",
    "kron",
    "outer_product",
    "outer_sum",
    "matmul",
    "flatten",
    "constant",
    "mixing_weight",
    "gaussian_product_mean",
    "gaussian_product_stddev",
    "gaussian_product_log_partition",
    "polynomial_product",
    "polynomial_differential",
];

/// The non-tensor positional arguments of a call.
pub struct Extras<'a> {
    /// Positional number literals.
    pub numbers: Vec<&'a Number>,
    /// Positional lists.
    pub lists: Vec<(&'a [Number], SpanRange)>,
}

/// Number of tensor arguments `op` takes.
pub fn tensor_arity(op: &str) -> usize {
    match op {
        "add"
        | "hadamard"
        | "kron"
        | "outer_product"
        | "outer_sum"
        | "matmul"
        | "gaussian_product_stddev"
        | "polynomial_product" => 2,
        "gaussian_product_mean" | "gaussian_product_log_partition" => 4,
        "constant" => 0,
        _ => 1,
    }
}

/// Builds the op `name`, reading its attributes and positional literals.
pub fn build(
    name: &str,
    call_span: SpanRange,
    attrs: &mut Attrs,
    extras: &Extras,
    dtype: DType,
) -> syn::Result<Op> {
    let finite = |n: Number| finite(n, dtype);
    let op = match name {
        "exp" => Op::Map(MapOp::Exp),
        "log" => Op::Map(MapOp::Log),
        "square" => Op::Map(MapOp::Square),
        "sigmoid" => Op::Map(MapOp::Sigmoid),
        "softplus" => Op::Map(MapOp::Softplus),
        "conjugate" => Op::Map(MapOp::Conjugate),
        "scaled_sigmoid" => {
            let vmin =
                attrs.required_number("vmin", "scaled_sigmoid(x, vmin = 0.0, vmax = 1.0)")?;
            let vmax =
                attrs.required_number("vmax", "scaled_sigmoid(x, vmin = 0.0, vmax = 1.0)")?;
            let (lo, hi) = (finite(vmin)?, finite(vmax)?);
            if lo < 0.0 {
                return Err(vmin.span.error(format!(
                    "`vmin` must be at least 0 (cirkit's scaled sigmoid maps into [vmin, vmax] with 0 <= vmin < vmax), found {lo:?}"
                )));
            }
            if lo >= hi {
                return Err(vmin.span.to(vmax.span).error(format!(
                    "`vmin` must be smaller than `vmax`, found vmin = {lo:?} and vmax = {hi:?}"
                )));
            }
            Op::Map(MapOp::ScaledSigmoid { vmin: lo, vmax: hi })
        }
        "clamp" => {
            let min = attrs.number("min")?;
            let max = attrs.number("max")?;
            match (min, max) {
                (None, None) => {
                    return Err(call_span
                        .error("`clamp` needs `min`, `max` or both, as in `clamp(x, min = 0.0)`"))
                }
                (Some(lo), Some(hi)) if lo.value > hi.value => {
                    return Err(lo.span.to(hi.span).error(format!(
                        "`min` must not exceed `max`, found min = {:?} and max = {:?}",
                        lo.value, hi.value
                    )))
                }
                _ => {}
            }
            Op::Map(MapOp::Clamp {
                min: min.map(finite).transpose()?,
                max: max.map(finite).transpose()?,
            })
        }
        "reduce_sum" | "reduce_prod" | "reduce_lse" => Op::Reduce {
            kind: match name {
                "reduce_sum" => ReduceKind::Sum,
                "reduce_prod" => ReduceKind::Prod,
                _ => ReduceKind::Lse,
            },
            axis: attrs.axis("axis", -1)?,
        },
        "softmax" => Op::Softmax {
            axis: attrs.axis("axis", -1)?,
        },
        "log_softmax" => Op::LogSoftmax {
            axis: attrs.axis("axis", -1)?,
        },
        "index" => {
            let axis = attrs.axis("axis", -1)?;
            let Some(&(list, _)) = extras.lists.first() else {
                return Err(call_span.error("`index` needs the list of positions"));
            };
            let indices = list
                .iter()
                .map(|n| non_negative(n, "an `index` position"))
                .collect::<syn::Result<Vec<_>>>()?;
            if indices.is_empty() {
                let (_, span) = extras.lists[0];
                return Err(span.error("`index` needs at least one position"));
            }
            Op::Index {
                axis,
                indices,
                spans: super::Spans(list.iter().map(|n| n.span).collect()),
            }
        }
        "add" => Op::Zip(ZipOp::Add),
        "hadamard" => Op::Zip(ZipOp::Hadamard),
        "kron" => Op::Kron,
        "outer_product" | "outer_sum" => Op::Outer {
            kind: if name == "outer_product" {
                OuterKind::Product
            } else {
                OuterKind::Sum
            },
            axis: attrs.axis("axis", -1)?,
        },
        "matmul" => Op::MatMul,
        "flatten" => Op::Flatten {
            start: attrs.axis("start", 0)?,
            end: attrs.axis("end", -1)?,
        },
        "constant" => {
            let Some(value) = extras.numbers.first() else {
                return Err(call_span.error("`constant` needs its value"));
            };
            let shape = attrs.usize_list("shape")?.ok_or_else(|| {
                call_span.error("`constant` needs its shape, as in `constant(0.5, shape = [3, 4])`; `shape = []` is a scalar")
            })?;
            if shape
                .iter()
                .try_fold(1usize, |n, d| n.checked_mul(*d))
                .is_none()
            {
                return Err(call_span.error("this constant has more elements than fit in memory"));
            }
            Op::Constant {
                value: finite(**value)?,
                shape,
            }
        }
        "mixing_weight" => Op::MixingWeight,
        "gaussian_product_mean" => Op::Gaussian(GaussianPart::Mean),
        "gaussian_product_stddev" => Op::Gaussian(GaussianPart::Stddev),
        "gaussian_product_log_partition" => Op::Gaussian(GaussianPart::LogPartition),
        "polynomial_product" => Op::PolynomialProduct,
        "polynomial_differential" => Op::PolynomialDifferential {
            order: derivative_order(attrs)?,
        },
        _ => return Err(call_span.error(format!("unknown op `{name}`"))),
    };
    Ok(op)
}

/// `order` of `polynomial_differential`: an integer of at least 1, default 1
/// (cirkit's default).
fn derivative_order(attrs: &mut Attrs) -> syn::Result<usize> {
    let Some(n) = attrs.number("order")? else {
        return Ok(1);
    };
    match n.integer {
        Some(v) if v >= 1 => usize::try_from(v).map_err(|_| n.span.error("`order` is too large")),
        Some(v) => Err(n.span.error(format!(
            "`order` is how many times to differentiate and must be at least 1, found {v}"
        ))),
        None => Err(n.span.error(format!(
            "`order` is how many times to differentiate and takes an integer such as `1`, found {:?}",
            n.value
        ))),
    }
}

/// A float attribute must be finite in the graph's element type: the code
/// generator writes it as a typed literal.
fn finite(n: Number, dtype: DType) -> syn::Result<f64> {
    let ok = match dtype {
        DType::F64 => n.value.is_finite(),
        DType::F32 => (n.value as f32).is_finite(),
    };
    if ok {
        Ok(n.value)
    } else {
        Err(n.span.error(format!(
            "this number is not a finite `{}`: it overflows to infinity",
            dtype.name()
        )))
    }
}

/// `index` takes one list after its tensor, `constant` one number; nothing
/// else takes positional literals.
pub fn check_extras(name: &str, call_span: SpanRange, extras: &Extras) -> syn::Result<()> {
    let (numbers, lists) = match name {
        "index" => (0, 1),
        "constant" => (1, 0),
        _ => (0, 0),
    };
    if extras.lists.len() > lists {
        let (_, span) = extras.lists[lists];
        return Err(span.error(format!(
            "`{name}` takes no list here; attributes are written `key = value`"
        )));
    }
    if extras.numbers.len() > numbers {
        return Err(extras.numbers[numbers].span.error(format!(
            "`{name}` takes no number here: a tensor argument is a name or an op call (write `constant(value, shape = [...])` for a constant tensor), and attributes are written `key = value`, as in `axis = 1`"
        )));
    }
    if extras.lists.len() < lists {
        return Err(call_span
            .error("`index` needs the list of positions, as in `index(x, [2, 0, 1], axis = 0)`"));
    }
    if extras.numbers.len() < numbers {
        return Err(
            call_span.error("`constant` needs its value, as in `constant(0.5, shape = [3, 4])`")
        );
    }
    Ok(())
}
