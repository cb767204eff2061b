//! The op catalogue: every op of the language, declared once.
//!
//! An [`OpSpec`] gives an op's name, how many tensors, positional numbers
//! and positional lists it takes, its attributes with their defaults, a call
//! that shows it in use, and the builder that turns a call into an [`Op`].
//! Everything else that needs to know the ops — name lookup and "did you
//! mean", arity and positional-argument checks, the attribute list of an
//! error message, the fuzz generator's schema, the golden generator's op
//! list — reads [`OPS`]; nothing keeps a copy.
//!
//! Adding an op, and what points at each place:
//! - an entry here;
//! - a variant of [`Op`] (or [`MapOp`], [`ZipOp`]) whose `name()` is the
//!   entry's name (`every_entry_builds_an_op_of_its_own_name`);
//! - its shape rule in `shape::shape_of` and its loops in `codegen` (the
//!   compiler's exhaustive matches, unless it shares an arm as the maps do);
//! - its arm in the IR interpreter `testing/eval.rs` (an exhaustive match,
//!   seen by `cargo check --tests`);
//! - its scalar function in the runtime: codegen names it by path, so the
//!   `ui` test's compile-pass programs fail without it, and
//!   `tests/catalogue.rs` requires them to call every op;
//! - its README row and its reference function in `tests/support/`
//!   (`tests/catalogue.rs`).

use super::attrs::{size_or_position, Attrs};
use super::{Float, GaussianPart, MapOp, Op, OuterKind, ReduceKind, WrittenAxis, ZipOp};
use crate::parse::ast::{DType, Number};
use crate::span::SpanRange;

/// One op of the language.
pub struct OpSpec {
    /// The name users call it by.
    pub name: &'static str,
    /// How many tensor arguments it takes.
    pub tensors: usize,
    /// How many positional number literals it takes (`constant`'s value).
    pub numbers: usize,
    /// How many positional lists it takes (`index`'s positions).
    pub lists: usize,
    /// Its `key = value` attributes.
    pub attrs: &'static [AttrSpec],
    /// A call in the language, quoted by error messages as "as in …".
    pub example: &'static str,
    /// Turns a checked call into the op.
    pub build: fn(&mut OpCall) -> syn::Result<Op<WrittenAxis>>,
    /// Its derivative: how the cotangent `ȳ` of the result gives each
    /// argument's (`x̄`), as `#[param_graph(vjp)]` computes it — built by
    /// `graph::derivatives::vjp`, shown in the README's gradient table.
    pub derivative: &'static str,
}

/// One `key = value` attribute of an op.
pub struct AttrSpec {
    /// The key.
    pub name: &'static str,
    /// What it holds.
    pub kind: AttrKind,
}

/// The kind of value an attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// An axis, possibly negative, with its default.
    Axis(i64),
    /// A number (finite in the graph's element type).
    Number,
    /// A list of sizes, each at least 1.
    Sizes,
}

impl OpSpec {
    /// The entry with its derivative's formula.
    const fn vjp(self, derivative: &'static str) -> Self {
        OpSpec { derivative, ..self }
    }

    /// The catalogue entry called `name`.
    pub fn find(name: &str) -> Option<&'static OpSpec> {
        OPS.iter().find(|spec| spec.name == name)
    }

    /// The default of axis attribute `key`.
    fn axis_default(&self, key: &str) -> Option<i64> {
        self.attrs.iter().find_map(|a| match a.kind {
            AttrKind::Axis(default) if a.name == key => Some(default),
            _ => None,
        })
    }
}

/// The names of every op, in catalogue order.
pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    OPS.iter().map(|spec| spec.name)
}

const fn axis(name: &'static str, default: i64) -> AttrSpec {
    AttrSpec {
        name,
        kind: AttrKind::Axis(default),
    }
}

const fn number(name: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        kind: AttrKind::Number,
    }
}

/// An op that takes `tensors` tensors and nothing positional.
const fn op(
    name: &'static str,
    tensors: usize,
    attrs: &'static [AttrSpec],
    example: &'static str,
    build: fn(&mut OpCall) -> syn::Result<Op<WrittenAxis>>,
) -> OpSpec {
    OpSpec {
        name,
        tensors,
        numbers: 0,
        lists: 0,
        attrs,
        example,
        build,
        derivative: "",
    }
}

/// `axis = -1`, the default of every op along one axis (torch's `dim=-1`).
const AXIS: &[AttrSpec] = &[axis("axis", -1)];

/// Every op a user may call.
pub const OPS: &[OpSpec] = &[
    op("exp", 1, &[], "exp(x)", |_| Ok(Op::Map(MapOp::Exp)))
    .vjp("`x̄ = ȳ·y`"),
    op("log", 1, &[], "log(x)", |_| Ok(Op::Map(MapOp::Log)))
    .vjp("`x̄ = ȳ / x`"),
    op("square", 1, &[], "square(x)", |_| {
        Ok(Op::Map(MapOp::Square))
    })
    .vjp("`x̄ = ȳ·2x`"),
    op("sigmoid", 1, &[], "sigmoid(x)", |_| {
        Ok(Op::Map(MapOp::Sigmoid))
    })
    .vjp("`x̄ = ȳ·(1 − y)·y`"),
    op("softplus", 1, &[], "softplus(x)", |_| {
        Ok(Op::Map(MapOp::Softplus))
    })
    .vjp("`x̄ = ȳ·eˣ/(eˣ + 1)`; `ȳ` above the threshold 20"),
    op("conjugate", 1, &[], "conjugate(x)", |_| {
        Ok(Op::Map(MapOp::Conjugate))
    })
    .vjp("`x̄ = ȳ`"),
    op(
        "scaled_sigmoid",
        1,
        &[number("vmin"), number("vmax")],
        "scaled_sigmoid(x, vmin = 0.0, vmax = 1.0)",
        scaled_sigmoid,
    )
    .vjp("`x̄ = ȳ·(vmax − vmin)·(1 − σ)·σ`, `σ = sigmoid(x)`"),
    op(
        "clamp",
        1,
        &[number("min"), number("max")],
        "clamp(x, min = 0.0)",
        clamp,
    )
    .vjp("`x̄ = ȳ` strictly inside the bounds, else 0 (0 at a bound and at NaN, as torch 2.15)"),
    op("sqrt", 1, &[], "sqrt(x)", |_| Ok(Op::Map(MapOp::Sqrt)))
    .vjp("`x̄ = ȳ / (2y)`"),
    op("normalize", 1, AXIS, "normalize(x, axis = 1)", |c| {
        Ok(Op::SumNormalize {
            axis: c.axis("axis")?,
        })
    })
    .vjp("`x̄ = ȳ/s − (Σ ȳ ⊙ y)/s` per row, `s = Σ x`"),
    op("reduce_sum", 1, AXIS, "reduce_sum(x, axis = 1)", |c| {
        reduce(c, ReduceKind::Sum)
    })
    .vjp("`x̄ = ȳ` broadcast along `axis`"),
    op("reduce_prod", 1, AXIS, "reduce_prod(x, axis = 1)", |c| {
        reduce(c, ReduceKind::Prod)
    })
    .vjp("`x̄ = ȳ·y/x` when `x` has no zero, else `ȳ`·(product of the others) by prefix·suffix products"),
    op("reduce_lse", 1, AXIS, "reduce_lse(x, axis = 1)", |c| {
        reduce(c, ReduceKind::Lse)
    })
    .vjp("`x̄ = ȳ·exp(x − y)`; 0 for a row that is all `−inf` (torch: NaN)"),
    op("softmax", 1, AXIS, "softmax(x, axis = 1)", |c| {
        Ok(Op::Softmax {
            axis: c.axis("axis")?,
        })
    })
    .vjp("`x̄ = y ⊙ (ȳ − Σ ȳ ⊙ y)` per row"),
    op("log_softmax", 1, AXIS, "log_softmax(x, axis = 1)", |c| {
        Ok(Op::LogSoftmax {
            axis: c.axis("axis")?,
        })
    })
    .vjp("`x̄ = ȳ − exp(y)·Σ ȳ` per row"),
    OpSpec {
        name: "index",
        tensors: 1,
        numbers: 0,
        lists: 1,
        attrs: AXIS,
        example: "index(x, [2, 0, 1], axis = 0)",
        build: index,
        derivative: "",
    }
    .vjp("`x̄` = `ȳ` scattered back to the positions it came from, repeated positions summed"),
    op("add", 2, &[], "add(x, y)", |_| Ok(Op::Zip(ZipOp::Add)))
    .vjp("`ā = b̄ = ȳ`"),
    op("hadamard", 2, &[], "hadamard(x, y)", |_| {
        Ok(Op::Zip(ZipOp::Hadamard))
    })
    .vjp("`ā = ȳ ⊙ b`, `b̄ = ȳ ⊙ a`"),
    op("div", 2, &[], "div(x, y)", |_| Ok(Op::Zip(ZipOp::Div)))
    .vjp("`ā = ȳ / b`, `b̄ = −ȳ·(a / b) / b`"),
    op("maximum", 2, &[], "maximum(x, y)", |_| {
        Ok(Op::Zip(ZipOp::Maximum))
    })
    .vjp("`ȳ` to the larger argument, `ȳ/2` to each at a tie, `ȳ` to both at a NaN (torch)"),
    op("minimum", 2, &[], "minimum(x, y)", |_| {
        Ok(Op::Zip(ZipOp::Minimum))
    })
    .vjp("`ȳ` to the smaller argument, `ȳ/2` to each at a tie, `ȳ` to both at a NaN (torch)"),
    op("logaddexp", 2, &[], "logaddexp(x, y)", |_| {
        Ok(Op::Zip(ZipOp::LogAddExp))
    })
    .vjp("`ā = ȳ / (1 + exp(b − a))`, `b̄ = ȳ / (1 + exp(a − b))`"),
    op("kron", 2, &[], "kron(x, y)", |_| Ok(Op::Kron))
    .vjp("`ā[i] = Σ_j ȳ[i·B + j]·b[j]` per axis, `b̄` alike"),
    op(
        "outer_product",
        2,
        AXIS,
        "outer_product(x, y, axis = 1)",
        |c| outer(c, OuterKind::Product),
    )
    .vjp("`ā[i] = Σ_j ȳ[i·d₂ + j]·b[j]` on `axis`, `b̄` alike"),
    op("outer_sum", 2, AXIS, "outer_sum(x, y, axis = 1)", |c| {
        outer(c, OuterKind::Sum)
    })
    .vjp("`ā[i] = Σ_j ȳ[i·d₂ + j]` on `axis`, `b̄` alike"),
    op("matmul", 2, &[], "matmul(x, y)", |_| Ok(Op::MatMul))
    .vjp("`ā = ȳ·bᵀ`, `b̄ = aᵀ·ȳ`"),
    op(
        "flatten",
        1,
        &[axis("start", 0), axis("end", -1)],
        "flatten(x, start = 0, end = 1)",
        |c| {
            Ok(Op::Flatten {
                start: c.axis("start")?,
                end: c.axis("end")?,
            })
        },
    )
    .vjp("`x̄` = `ȳ` with the merged axes split again"),
    OpSpec {
        name: "constant",
        tensors: 0,
        numbers: 1,
        lists: 0,
        attrs: &[AttrSpec {
            name: "shape",
            kind: AttrKind::Sizes,
        }],
        example: "constant(0.5, shape = [3, 4])",
        build: constant,
        derivative: "none: no tensor argument",
    },
    op("mixing_weight", 1, &[], "mixing_weight(x)", |_| {
        Ok(Op::MixingWeight)
    })
    .vjp("`v̄[k, h] = ȳ[k, h·K + k]`"),
    op(
        "gaussian_product_mean",
        4,
        &[],
        "gaussian_product_mean(m1, s1, m2, s2)",
        |_| Ok(Op::Gaussian(GaussianPart::Mean)),
    )
    .vjp("the partials of `(m1·s2² + m2·s1²)/v`, `v = s1² + s2²`, times `ȳ`, summed over the other layer"),
    op(
        "gaussian_product_stddev",
        2,
        &[],
        "gaussian_product_stddev(s1, s2)",
        |_| Ok(Op::Gaussian(GaussianPart::Stddev)),
    )
    .vjp("`s̄1 = Σⱼ ȳ·sign(s1)·abs(s2)³/v^{3/2}`, `s̄2` alike"),
    op(
        "gaussian_product_log_partition",
        4,
        &[],
        "gaussian_product_log_partition(m1, s1, m2, s2)",
        |_| Ok(Op::Gaussian(GaussianPart::LogPartition)),
    )
    .vjp("`m̄1 = −m̄2 = −Σⱼ ȳ·(m1 − m2)/v`, `s̄1 = Σⱼ ȳ·s1·((m1 − m2)²/v − 1)/v`, `s̄2` alike"),
    op(
        "polynomial_product",
        2,
        &[],
        "polynomial_product(p, q)",
        |_| Ok(Op::PolynomialProduct),
    )
    .vjp("`p̄[i, a] = Σ_{j,b} ȳ[i·K2 + j, a + b]·q[j, b]`, `q̄` alike"),
    op(
        "polynomial_differential",
        1,
        &[number("order")],
        "polynomial_differential(p, order = 1)",
        |c| {
            Ok(Op::PolynomialDifferential {
                order: derivative_order(c)?,
            })
        },
    )
    .vjp("`p̄[k, n + order] = ȳ[k, n]·(n + order)⋯(n + 1)`, 0 below `order`"),
];

/// The non-tensor positional arguments of a call.
pub struct Extras<'a> {
    /// Positional number literals.
    pub numbers: Vec<&'a Number>,
    /// Positional lists.
    pub lists: Vec<(&'a [Number], SpanRange)>,
}

/// A call being built: its catalogue entry, its attributes and positional
/// literals, and the graph's element type.
pub struct OpCall<'a, 'b> {
    /// The op's catalogue entry.
    pub spec: &'static OpSpec,
    /// The whole call.
    pub span: SpanRange,
    /// Its `key = value` attributes.
    pub attrs: &'b mut Attrs<'a>,
    /// Its positional numbers and lists (counts already checked).
    pub extras: &'b Extras<'a>,
    /// The element type of the graph.
    pub dtype: DType,
}

impl OpCall<'_, '_> {
    /// The axis attribute `key`, or its catalogue default.
    fn axis(&mut self, key: &'static str) -> syn::Result<WrittenAxis> {
        let default = self.spec.axis_default(key).unwrap_or(-1);
        self.attrs.axis(key, default)
    }

    /// A required number attribute.
    fn required(&mut self, key: &'static str) -> syn::Result<Number> {
        self.attrs.required_number(key, self.spec.example)
    }

    /// A float that must be finite in the graph's element type: the code
    /// generator writes it as a typed literal.
    fn finite(&self, n: Number) -> syn::Result<f64> {
        let ok = match self.dtype {
            DType::F64 => n.value.is_finite(),
            DType::F32 => (n.value as f32).is_finite(),
        };
        if ok {
            Ok(n.value)
        } else {
            Err(n.span.error(format!(
                "this number is not a finite `{}`: it overflows to infinity",
                self.dtype.name()
            )))
        }
    }
}

fn scaled_sigmoid(c: &mut OpCall) -> syn::Result<Op<WrittenAxis>> {
    let vmin = c.required("vmin")?;
    let vmax = c.required("vmax")?;
    let (lo, hi) = (c.finite(vmin)?, c.finite(vmax)?);
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
    Ok(Op::Map(MapOp::ScaledSigmoid {
        vmin: Float(lo),
        vmax: Float(hi),
    }))
}

fn clamp(c: &mut OpCall) -> syn::Result<Op<WrittenAxis>> {
    let min = c.attrs.number("min")?;
    let max = c.attrs.number("max")?;
    match (min, max) {
        (None, None) => {
            return Err(c.span.error(format!(
                "`clamp` needs `min`, `max` or both, as in `{}`",
                c.spec.example
            )))
        }
        (Some(lo), Some(hi)) if lo.value > hi.value => {
            return Err(lo.span.to(hi.span).error(format!(
                "`min` must not exceed `max`, found min = {:?} and max = {:?}",
                lo.value, hi.value
            )))
        }
        _ => {}
    }
    Ok(Op::Map(MapOp::Clamp {
        min: min.map(|n| c.finite(n).map(Float)).transpose()?,
        max: max.map(|n| c.finite(n).map(Float)).transpose()?,
    }))
}

fn reduce(c: &mut OpCall, kind: ReduceKind) -> syn::Result<Op<WrittenAxis>> {
    Ok(Op::Reduce {
        kind,
        axis: c.axis("axis")?,
    })
}

fn outer(c: &mut OpCall, kind: OuterKind) -> syn::Result<Op<WrittenAxis>> {
    Ok(Op::Outer {
        kind,
        axis: c.axis("axis")?,
    })
}

fn index(c: &mut OpCall) -> syn::Result<Op<WrittenAxis>> {
    let axis = c.axis("axis")?;
    let (list, span) = c.extras.lists[0];
    let indices = list
        .iter()
        .map(|n| size_or_position(n, "an `index` position"))
        .collect::<syn::Result<Vec<_>>>()?;
    if indices.is_empty() {
        return Err(span.error("`index` needs at least one position"));
    }
    Ok(Op::Index { axis, indices })
}

fn constant(c: &mut OpCall) -> syn::Result<Op<WrittenAxis>> {
    let value = *c.extras.numbers[0];
    let shape = c.attrs.size_list("shape")?.ok_or_else(|| {
        c.span.error(format!(
            "`constant` needs its shape, as in `{}`; `shape = []` is a scalar",
            c.spec.example
        ))
    })?;
    if crate::shape::element_count(&shape).is_none() {
        return Err(c
            .span
            .error("this constant has more elements than fit in memory"));
    }
    Ok(Op::Constant {
        value: Float(c.finite(value)?),
        shape,
    })
}

/// `order` of `polynomial_differential`: an integer of at least 1, default 1
/// (cirkit's default).
fn derivative_order(c: &mut OpCall) -> syn::Result<usize> {
    let Some(n) = c.attrs.number("order")? else {
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

/// The positional literals of a call against its entry's counts.
pub fn check_extras(spec: &OpSpec, call_span: SpanRange, extras: &Extras) -> syn::Result<()> {
    let name = spec.name;
    if extras.lists.len() > spec.lists {
        let (_, span) = extras.lists[spec.lists];
        return Err(span.error(format!(
            "`{name}` takes no list here; attributes are written `key = value`"
        )));
    }
    if extras.numbers.len() > spec.numbers {
        return Err(extras.numbers[spec.numbers].span.error(format!(
            "`{name}` takes no number here: a tensor argument is a name or an op call (write `constant(value, shape = [...])` for a constant tensor), and attributes are written `key = value`, as in `axis = 1`"
        )));
    }
    if extras.lists.len() < spec.lists {
        return Err(call_span.error(format!(
            "`{name}` needs the list of positions, as in `{}`",
            spec.example
        )));
    }
    if extras.numbers.len() < spec.numbers {
        return Err(call_span.error(format!(
            "`{name}` needs its value, as in `{}`",
            spec.example
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry's example compiles (over `testing::EXAMPLE_LEAVES`) to
    /// one node whose op has the entry's name and reads the entry's arity.
    #[test]
    fn every_entry_builds_an_op_of_its_own_name() {
        for spec in OPS {
            let g = crate::testing::example_graph(spec.example);
            let node = &g.nodes[g.outputs[0]];
            assert_eq!(node.op.name(), spec.name);
            assert_eq!(node.args.len(), spec.tensors, "{}", spec.name);
        }
    }

    #[test]
    fn names_are_unique_and_examples_call_their_op() {
        for (k, spec) in OPS.iter().enumerate() {
            assert!(
                OPS[..k].iter().all(|other| other.name != spec.name),
                "{} twice",
                spec.name
            );
            assert!(spec.example.starts_with(&format!("{}(", spec.name)));
        }
    }

    /// Every entry states its derivative, and the VJP `graph::derivatives`
    /// builds for its example agrees with central finite differences of the
    /// interpreter, element by element, at inputs in `[0.5, 2)` (positive
    /// for `log` and the stddevs, away from `clamp`'s bound 0): relative
    /// 1e-6 with step 1e-6.
    #[test]
    fn every_derivative_matches_finite_differences() {
        use crate::testing::{eval, example_graph, sample_inputs, vjp, Tensor};
        for spec in OPS {
            assert!(
                !spec.derivative.is_empty(),
                "{} states no derivative",
                spec.name
            );
            if spec.tensors == 0 {
                continue;
            }
            let g = example_graph(spec.example);
            let inputs: Vec<Tensor> = sample_inputs(&g, 3)
                .into_iter()
                .map(|t| Tensor {
                    data: t.data.iter().map(|v| 0.5 + v.abs() * 0.375).collect(),
                    ..t
                })
                .collect();
            let outputs = eval(&g, &inputs);
            let cotangents: Vec<Tensor> = outputs
                .iter()
                .map(|y| Tensor {
                    shape: y.shape.clone(),
                    data: (0..y.data.len())
                        .map(|k| ((k * 7) % 5) as f64 * 0.5 - 1.0)
                        .collect(),
                })
                .collect();
            let loss = |xs: &[Tensor]| -> f64 {
                eval(&g, xs)
                    .iter()
                    .zip(&cotangents)
                    .map(|(y, c)| y.data.iter().zip(&c.data).map(|(a, b)| a * b).sum::<f64>())
                    .sum()
            };
            let mut all = inputs.clone();
            all.extend(cotangents.iter().cloned());
            let grads = eval(&vjp(&g), &all);
            for (leaf, grad) in grads.iter().enumerate() {
                for k in 0..inputs[leaf].data.len() {
                    let h = 1e-6;
                    let (mut up, mut down) = (inputs.clone(), inputs.clone());
                    up[leaf].data[k] += h;
                    down[leaf].data[k] -= h;
                    let fd = (loss(&up) - loss(&down)) / (2.0 * h);
                    let got = grad.data[k];
                    assert!(
                        (got - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                        "{}: leaf {leaf}[{k}]: VJP {got}, finite difference {fd}",
                        spec.name
                    );
                }
            }
        }
    }
}
