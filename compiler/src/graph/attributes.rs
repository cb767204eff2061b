//! An op's attributes as plain values: the one description of what each op
//! carries besides its arguments, read by the plan and by tests outside the
//! crate (`testing::calls`).

use super::{Axis, Dim, MapOp, Op};

/// One attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// An axis (resolved, non-negative) or a count (`order`).
    Int(usize),
    /// A size (a backward op's forward size).
    Size(Dim),
    /// A number (`vmin`, `min`, a constant's value, …).
    Number(f64),
    /// A list of sizes or positions (`index`'s positions, `constant`'s
    /// shape).
    List(Vec<Dim>),
}

impl std::fmt::Display for Attr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attr::Int(n) => write!(f, "{n}"),
            Attr::Size(n) => write!(f, "{n}"),
            Attr::Number(x) => write!(f, "{x}"),
            Attr::List(items) => write!(f, "{items:?}"),
        }
    }
}

impl Op {
    /// The attributes, keyed by the language's names (`axis`, `start`,
    /// `vmin`, `order`, `shape`, …) in the order a call writes them;
    /// positional values are `indices` (an index's) and `value` (a
    /// constant's). An absent optional attribute (`clamp`'s `min` or `max`)
    /// is left out; a leaf has none.
    pub fn attributes(&self) -> Vec<(&'static str, Attr)> {
        let axis = |key, a: &Axis| (key, Attr::Int(a.get()));
        match self {
            Op::Constant { value, shape } => vec![
                ("value", Attr::Number(value.0)),
                ("shape", Attr::List(shape.clone())),
            ],
            Op::Map(MapOp::ScaledSigmoid { vmin, vmax }) => vec![
                ("vmin", Attr::Number(vmin.0)),
                ("vmax", Attr::Number(vmax.0)),
            ],
            Op::Map(MapOp::Clamp { min, max }) => [("min", min), ("max", max)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, Attr::Number(v.0))))
                .collect(),
            Op::Reduce { axis: a, .. }
            | Op::Softmax { axis: a }
            | Op::LogSoftmax { axis: a }
            | Op::Outer { axis: a, .. }
            | Op::RowMax { axis: a }
            | Op::RowSumExp { axis: a }
            | Op::Normalize { axis: a, .. }
            | Op::ProdVjp { axis: a }
            | Op::LseVjp { axis: a }
            | Op::SoftmaxVjp { axis: a, .. }
            | Op::SumNormalize { axis: a }
            | Op::LogNormalize { axis: a }
            | Op::SumNormalizeVjp { axis: a } => vec![axis("axis", a)],
            Op::ZipVjp { wrt, .. } => vec![("wrt", Attr::Int(*wrt))],
            Op::IndexVjp {
                axis: a,
                indices,
                size,
            } => vec![
                ("indices", Attr::List(indices.clone())),
                axis("axis", a),
                ("size", Attr::Size(*size)),
            ],
            Op::GaussianVjp { wrt, .. } => vec![("wrt", Attr::Int(*wrt))],
            Op::PolynomialDifferentialVjp { order, size } => {
                vec![("order", Attr::Int(*order)), ("size", Attr::Size(*size))]
            }
            Op::Contract(c) => vec![("dims", Attr::List(c.dims.clone()))],
            Op::Index { axis: a, indices } => {
                vec![("indices", Attr::List(indices.clone())), axis("axis", a)]
            }
            Op::Flatten { start, end } => vec![axis("start", start), axis("end", end)],
            Op::OuterContract { outer, reduce } => {
                vec![axis("outer", outer), axis("reduce", reduce)]
            }
            Op::PolynomialDifferential { order } => vec![("order", Attr::Int(*order))],
            Op::Leaf { .. }
            | Op::Map(_)
            | Op::MapVjp(_)
            | Op::Zip(_)
            | Op::Kron
            | Op::MatMul
            | Op::KronMatMul
            | Op::MixingWeight
            | Op::Gaussian(_)
            | Op::GaussianVarSum
            | Op::GaussianFromVar(_)
            | Op::PolynomialProduct => Vec::new(),
        }
    }
}
