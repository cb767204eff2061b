//! Stage 2 — graph IR: the parameter graph as a DAG of op nodes.
//!
//! Lowering (`lower`) resolves names, looks every op up in the catalogue
//! (`ops`) and validates its attributes, so that everything after this stage
//! works on well-formed nodes. Shapes are filled in by the next stage.

mod attributes;
mod attrs;
pub mod derivatives;
pub mod lower;
pub mod ops;
mod signature;
mod suggest;

pub use suggest::nearest;

pub use crate::dim::Dim;
pub use crate::parse::ast::DType;
use crate::span::SpanRange;
#[cfg(any(test, feature = "testing"))]
pub use attributes::Attr;
pub use signature::{Cotangent, Leaf, Output, Signature};

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// One compiled parameter graph, with axes of type `A` (see [`Op`]).
#[derive(Clone, Debug)]
pub struct Graph<A = Axis> {
    /// The fn the graph is compiled for: leaves and declared results.
    pub sig: Signature,
    /// Element type of every tensor.
    pub dtype: DType,
    /// Nodes in topological order: a node's arguments come before it.
    pub nodes: Vec<Node<A>>,
    /// The nodes the function returns, in order.
    pub outputs: Vec<NodeId>,
    /// The rewrite rules applied to the graph, in order (the plan lists
    /// them: a rule that only removes nodes leaves no node to tag).
    pub rules_applied: Vec<&'static str>,
}

/// One operation and the nodes it reads.
#[derive(Clone, Debug)]
pub struct Node<A = Axis> {
    /// What the node computes.
    pub op: Op<A>,
    /// Tensor arguments.
    pub args: Vec<NodeId>,
    /// Source of each tensor argument, for shape errors.
    pub arg_spans: Vec<SpanRange>,
    /// Source of the op (its name for a call), for errors about the node.
    pub span: SpanRange,
    /// Source of each of the op's positional literals (`index` positions),
    /// for range errors; not part of what the node computes.
    pub literal_spans: Vec<SpanRange>,
    /// Result shape; filled in by shape inference.
    pub shape: Vec<Dim>,
    /// Which rule produced the node, `None` when the user wrote it.
    pub rule: Option<&'static str>,
}

/// An axis as written: possibly negative, with its literal (or the op, when
/// the default was used) for errors. Only the graph before shape inference
/// holds these.
#[derive(Clone, Copy, Debug)]
pub struct WrittenAxis {
    /// The axis as written.
    pub index: i64,
    /// The literal, or the op when the default was used.
    pub span: SpanRange,
}

/// An axis resolved by shape inference: non-negative and in range of the
/// tensor it indexes. Shape inference is the only maker, so no other stage
/// can turn a bad axis into a valid-looking one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis(usize);

impl Axis {
    /// The axis.
    pub fn get(self) -> usize {
        self.0
    }

    /// An axis known to be in range of its tensor (shape inference only).
    pub(crate) fn checked(axis: usize) -> Self {
        Axis(axis)
    }
}

/// A float attribute, compared and hashed by its bits: two ops are the same
/// computation exactly when their literals are the same value.
#[derive(Clone, Copy, Debug)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Float {}

impl std::hash::Hash for Float {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Elementwise functions of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapOp {
    /// `exp(x)`.
    Exp,
    /// `log(x)` (natural).
    Log,
    /// `x * x`.
    Square,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `log(1 + exp(x))`, torch's threshold at 20.
    Softplus,
    /// Complex conjugate: the identity on real tensors.
    Conjugate,
    /// `vmin + (vmax - vmin) * sigmoid(x)`.
    ScaledSigmoid {
        /// Lower end.
        vmin: Float,
        /// Upper end.
        vmax: Float,
    },
    /// `log(sigmoid(x)) = -softplus(-x)`, computed without underflow (fused).
    LogSigmoid,
    /// `√x` (NaN below 0, as torch).
    Sqrt,
    /// `min(max(x, min), max)`, NaN kept.
    Clamp {
        /// Lower bound.
        min: Option<Float>,
        /// Upper bound.
        max: Option<Float>,
    },
}

impl ZipOp {
    /// The op's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            ZipOp::Add => "add",
            ZipOp::Hadamard => "hadamard",
            ZipOp::Div => "div",
            ZipOp::Maximum => "maximum",
            ZipOp::Minimum => "minimum",
            ZipOp::LogAddExp => "logaddexp",
        }
    }
}

impl MapOp {
    /// Whether the map's derivative is written with its result `y` (`exp`,
    /// `sigmoid`: `ḡ·y`, `ḡ·y·(1 − y)`) rather than its argument `x`.
    pub fn vjp_reads_result(self) -> bool {
        matches!(self, MapOp::Exp | MapOp::Sigmoid | MapOp::Sqrt)
    }
}

/// Reductions along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    /// Sum.
    Sum,
    /// Product.
    Prod,
    /// `log(sum(exp(x)))`, max-shifted.
    Lse,
}

/// The two outer ops of cirkit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OuterKind {
    /// `a[i] * b[j]`.
    Product,
    /// `a[i] + b[j]`.
    Sum,
}

/// Elementwise combinations of two tensors of one shape, or of a tensor
/// and a scalar `()` (broadcast, as torch broadcasts a 0-d tensor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZipOp {
    /// `a + b`.
    Add,
    /// `a * b` elementwise.
    Hadamard,
    /// `a / b`.
    Div,
    /// `max(a, b)`, NaN-propagating (`torch.maximum`).
    Maximum,
    /// `min(a, b)`, NaN-propagating (`torch.minimum`).
    Minimum,
    /// `log(exp(a) + exp(b))`, stable (`torch.logaddexp`).
    LogAddExp,
}

/// Which parameter of the product of two Gaussian layers a node computes.
///
/// For `N(m1, s1²) · N(m2, s2²) = Z · N(m, s²)`, every pair `(i, j)` of the
/// two layers' components, at index `i·K2 + j`:
/// `s² = s1²·s2² / (s1² + s2²)`, `m = (m1·s2² + m2·s1²) / (s1² + s2²)` and
/// `log Z = log N(m1; m2, s1² + s2²)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GaussianPart {
    /// The mean `m`.
    Mean,
    /// The standard deviation `s`.
    Stddev,
    /// The log normalizer `log Z`.
    LogPartition,
}

/// What a node computes, with its axes of type `A`: [`WrittenAxis`] from
/// lowering until shape inference resolves them into [`Axis`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op<A = Axis> {
    /// The function's parameter number `param`.
    Leaf {
        /// Position in the signature.
        param: usize,
    },
    /// A tensor filled with one value.
    Constant {
        /// The value.
        value: Float,
        /// The shape.
        shape: Vec<Dim>,
    },
    /// An elementwise function.
    Map(MapOp),
    /// An elementwise combination of two tensors.
    Zip(ZipOp),
    /// A reduction along `axis`.
    Reduce {
        /// Which reduction.
        kind: ReduceKind,
        /// The reduced axis.
        axis: A,
    },
    /// `exp(x) / sum(exp(x))` along `axis`.
    Softmax {
        /// The normalized axis.
        axis: A,
    },
    /// `x - logsumexp(x)` along `axis`.
    LogSoftmax {
        /// The normalized axis.
        axis: A,
    },
    /// `index_select` along `axis`.
    Index {
        /// The indexed axis.
        axis: A,
        /// Positions taken, in order (repeats allowed).
        indices: Vec<Dim>,
    },
    /// Kronecker product of two tensors of equal rank.
    Kron,
    /// Outer product or sum along `axis`, the merged axis row-major.
    Outer {
        /// Product or sum.
        kind: OuterKind,
        /// The axis whose sizes multiply.
        axis: A,
    },
    /// `(m, k) · (k, n)`.
    MatMul,
    /// Axes `start..=end` merged into one, row-major.
    Flatten {
        /// First merged axis.
        start: A,
        /// Last merged axis.
        end: A,
    },
    /// Fused: the row maxima of `x` along `axis` (NaN-propagating), the
    /// shift torch's softmax subtracts.
    RowMax {
        /// The normalized axis.
        axis: A,
    },
    /// Fused: `sum(exp(x - m))` along `axis`, for arguments `(x, m)`.
    RowSumExp {
        /// The normalized axis.
        axis: A,
    },
    /// Fused: softmax (`exp(x - m) / s`) or log-softmax (`x - m - log(s)`)
    /// from shared row statistics, for arguments `(x, m, s)`.
    Normalize {
        /// The normalized axis.
        axis: A,
        /// `true` for log-softmax.
        log: bool,
    },
    /// Fused: `reduce_sum(outer_product(a, b, axis = outer), axis = reduce)`
    /// with `outer != reduce`, as one contraction writing the merged axis
    /// directly.
    OuterContract {
        /// The axis whose sizes multiply.
        outer: A,
        /// The summed axis.
        reduce: A,
    },
    /// Fused: `matmul(kron(a, b), x)` by the tensor-dot trick, for arguments
    /// `(a, b, x)`, never forming `a ⊗ b`.
    KronMatMul,
    /// cirkit's mixing weight: `(K, H) → (K, K·H)`,
    /// `W[k, h·K + k'] = v[k, h]` when `k = k'`, else 0.
    MixingWeight,
    /// A parameter of the product of two Gaussian layers, `(K1,)` and `(K2,)`
    /// into `(K1·K2,)`: arguments `(m1, s1, m2, s2)` for the mean and the
    /// log-partition, `(s1, s2)` for the standard deviation.
    Gaussian(GaussianPart),
    /// Fused: the summed variances `s1[i]² + s2[j]²` at `i·K2 + j`, shared by
    /// the [`Op::GaussianFromVar`] nodes of one product.
    GaussianVarSum,
    /// Fused: a Gaussian product parameter from the summed variances `v`:
    /// the arguments of the [`Op::Gaussian`] it replaces, then `v` —
    /// `(m1, s1, m2, s2, v)` for the mean and the log-partition,
    /// `(s1, s2, v)` for the standard deviation.
    GaussianFromVar(GaussianPart),
    /// Products of two layers of polynomials, `(K1, D1)` and `(K2, D2)`
    /// coefficients (lowest degree first) into `(K1·K2, D1 + D2 − 1)`, the
    /// pair `(i, j)` at row `i·K2 + j`; a direct convolution.
    PolynomialProduct,
    /// The `order`-th derivative of `(K, D)` polynomial coefficients:
    /// `(K, D − order)`, or `(K, 1)` of zeros when `D ≤ order`.
    PolynomialDifferential {
        /// How many times to differentiate (at least 1).
        order: usize,
    },
    /// Backward: the cotangent of a map's argument, from `(v, ḡ)` where `v`
    /// is the map's argument or its result ([`MapOp::vjp_reads_result`]).
    MapVjp(MapOp),
    /// Backward: an affine contraction (see [`Contraction`]), of one or two
    /// arguments.
    Contract(Contraction),
    /// `x / Σ x` along `axis` (a zero row gives NaN, as torch).
    SumNormalize {
        /// The normalized axis.
        axis: A,
    },
    /// Fused: `log(normalize(x))` = `log x − log Σ x` along `axis` where
    /// both are positive (one sum per row, no quotient to underflow), and
    /// `log(x / Σ x)` elsewhere (the unfused value).
    LogNormalize {
        /// The normalized axis.
        axis: A,
    },
    /// Backward of a zip: the cotangent of its argument `wrt` from
    /// `(a, b, ḡ)`, elementwise over the broadcast shape.
    ZipVjp {
        /// The forward op.
        op: ZipOp,
        /// Which argument the cotangent is of.
        wrt: usize,
    },
    /// Backward of `normalize` along `axis`, from `(x, y, ḡ)`:
    /// `(ḡ − Σ ḡ ⊙ y) / Σ x`.
    SumNormalizeVjp {
        /// The normalized axis.
        axis: A,
    },
    /// Backward of `reduce_prod` along `axis`, from `(x, y, ḡ)`, as torch's
    /// `prod_backward`: `ḡ · y / x` when `x` holds no zero, else `ḡ` times
    /// the product of the others in its row, by prefix and suffix products
    /// (no division: one zero in a row gives a gradient only there, two
    /// give 0).
    ProdVjp {
        /// The reduced axis.
        axis: A,
    },
    /// Backward of `reduce_lse` along `axis`, from `(x, y, ḡ)`:
    /// `ḡ · exp(x − y)`, and 0 where `y = −∞`.
    LseVjp {
        /// The reduced axis.
        axis: A,
    },
    /// Backward of softmax (`y ⊙ (ḡ − Σ ḡ ⊙ y)`) or log-softmax
    /// (`ḡ − exp(y) · Σ ḡ`) along `axis`, from `(y, ḡ)`.
    SoftmaxVjp {
        /// The normalized axis.
        axis: A,
        /// `true` for log-softmax.
        log: bool,
    },
    /// Backward of `index` along `axis`, from `(ḡ)`: `ḡ` scattered back,
    /// repeated positions accumulating, into `size` positions.
    IndexVjp {
        /// The indexed axis.
        axis: A,
        /// The forward op's positions.
        indices: Vec<Dim>,
        /// The size of the indexed axis of the forward argument.
        size: Dim,
    },
    /// Backward of a Gaussian product parameter with respect to its argument
    /// `wrt`, from the forward arguments, the summed variances `v`, then `ḡ`.
    GaussianVjp {
        /// Which parameter the forward node computes.
        part: GaussianPart,
        /// Which forward argument the cotangent is of.
        wrt: usize,
    },
    /// Backward of `polynomial_differential`, from `(ḡ)`: `(K, size)`
    /// coefficient cotangents.
    PolynomialDifferentialVjp {
        /// The forward op's order.
        order: usize,
        /// The coefficients of the forward argument.
        size: Dim,
    },
}

/// An affine contraction: over an iteration space of sizes `dims`, the
/// output element at index `index[0]` accumulates the product of the
/// arguments at `index[1]`, `index[2]` (one or two arguments). Each index
/// gives, per axis of its tensor, the terms `(iteration axis, coefficient)`
/// of that axis's position — `i·D₂ + j` for a Kronecker or outer axis,
/// `a + b` for a convolution. The output starts at zero: elements no
/// iteration reaches stay 0.
///
/// Every backward contraction is one of these: the cotangents of `kron`,
/// `outer_*`, `matmul`, the fused contractions, `mixing_weight`,
/// `polynomial_product`, and the broadcasts and reshapes of `reduce_sum`
/// and `flatten`.
/// The position along one tensor axis in a [`Contraction`]: the terms
/// `(iteration axis, coefficient)` summed.
pub type AxisIndex = Vec<(usize, Dim)>;

/// The position of a tensor element in a [`Contraction`]: one
/// [`AxisIndex`] per axis.
pub type TensorIndex = Vec<AxisIndex>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Contraction {
    /// Sizes of the iteration axes.
    pub dims: Vec<Dim>,
    /// The output's index, then each argument's.
    pub index: Vec<TensorIndex>,
}

impl Contraction {
    /// The size of a tensor axis addressed by `terms`: one more than its
    /// largest position.
    pub fn extent(&self, terms: &[(usize, Dim)]) -> Dim {
        terms
            .iter()
            .map(|(t, c)| *c * (self.dims[*t] - 1))
            .sum::<Dim>()
            + 1
    }

    /// The shape of operand `k` (0 the output) the index implies.
    pub fn shape(&self, k: usize) -> Vec<Dim> {
        self.index[k].iter().map(|t| self.extent(t)).collect()
    }
}

impl<A> Op<A> {
    /// The op's name in the language (used in plans and errors).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Leaf { .. } => "leaf",
            Op::Constant { .. } => "constant",
            Op::Map(m) => match m {
                MapOp::Exp => "exp",
                MapOp::Log => "log",
                MapOp::Square => "square",
                MapOp::Sigmoid => "sigmoid",
                MapOp::Softplus => "softplus",
                MapOp::Conjugate => "conjugate",
                MapOp::ScaledSigmoid { .. } => "scaled_sigmoid",
                MapOp::LogSigmoid => "log_sigmoid",
                MapOp::Clamp { .. } => "clamp",
                MapOp::Sqrt => "sqrt",
            },
            Op::Zip(z) => z.name(),
            Op::SumNormalize { .. } => "normalize",
            Op::LogNormalize { .. } => "log_normalize",
            Op::ZipVjp { op, .. } => match op {
                ZipOp::Add => "add_vjp",
                ZipOp::Hadamard => "hadamard_vjp",
                ZipOp::Div => "div_vjp",
                ZipOp::Maximum => "maximum_vjp",
                ZipOp::Minimum => "minimum_vjp",
                ZipOp::LogAddExp => "logaddexp_vjp",
            },
            Op::SumNormalizeVjp { .. } => "normalize_vjp",
            Op::Reduce { kind, .. } => match kind {
                ReduceKind::Sum => "reduce_sum",
                ReduceKind::Prod => "reduce_prod",
                ReduceKind::Lse => "reduce_lse",
            },
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::Index { .. } => "index",
            Op::Kron => "kron",
            Op::Outer {
                kind: OuterKind::Product,
                ..
            } => "outer_product",
            Op::Outer {
                kind: OuterKind::Sum,
                ..
            } => "outer_sum",
            Op::MatMul => "matmul",
            Op::Flatten { .. } => "flatten",
            Op::RowMax { .. } => "row_max",
            Op::RowSumExp { .. } => "row_sum_exp",
            Op::Normalize { log: false, .. } => "softmax_from_stats",
            Op::Normalize { log: true, .. } => "log_softmax_from_stats",
            Op::OuterContract { .. } => "outer_contract",
            Op::KronMatMul => "kron_matmul",
            Op::MixingWeight => "mixing_weight",
            Op::Gaussian(part) => match part {
                GaussianPart::Mean => "gaussian_product_mean",
                GaussianPart::Stddev => "gaussian_product_stddev",
                GaussianPart::LogPartition => "gaussian_product_log_partition",
            },
            Op::GaussianVarSum => "gaussian_var_sum",
            Op::GaussianFromVar(part) => match part {
                GaussianPart::Mean => "gaussian_mean_from_var",
                GaussianPart::Stddev => "gaussian_stddev_from_var",
                GaussianPart::LogPartition => "gaussian_log_partition_from_var",
            },
            Op::PolynomialProduct => "polynomial_product",
            Op::PolynomialDifferential { .. } => "polynomial_differential",
            Op::MapVjp(m) => match m {
                MapOp::Exp => "exp_vjp",
                MapOp::Log => "log_vjp",
                MapOp::Square => "square_vjp",
                MapOp::Sigmoid => "sigmoid_vjp",
                MapOp::Softplus => "softplus_vjp",
                MapOp::Conjugate => "conjugate_vjp",
                MapOp::ScaledSigmoid { .. } => "scaled_sigmoid_vjp",
                MapOp::LogSigmoid => "log_sigmoid_vjp",
                MapOp::Clamp { .. } => "clamp_vjp",
                MapOp::Sqrt => "sqrt_vjp",
            },
            Op::Contract(_) => "contract",
            Op::ProdVjp { .. } => "reduce_prod_vjp",
            Op::LseVjp { .. } => "reduce_lse_vjp",
            Op::SoftmaxVjp { log: false, .. } => "softmax_vjp",
            Op::SoftmaxVjp { log: true, .. } => "log_softmax_vjp",
            Op::IndexVjp { .. } => "index_vjp",
            Op::GaussianVjp { .. } => "gaussian_vjp",
            Op::PolynomialDifferentialVjp { .. } => "polynomial_differential_vjp",
        }
    }
}

impl Op<WrittenAxis> {
    /// The same op with every axis resolved by `resolve(axis, key)`, `key`
    /// being the attribute's name (`axis`, `start`, `end`).
    pub fn resolve_axes(
        self,
        mut resolve: impl FnMut(WrittenAxis, &'static str) -> syn::Result<Axis>,
    ) -> syn::Result<Op> {
        let mut axis = |a| resolve(a, "axis");
        Ok(match self {
            Op::Leaf { param } => Op::Leaf { param },
            Op::Constant { value, shape } => Op::Constant { value, shape },
            Op::Map(m) => Op::Map(m),
            Op::Zip(z) => Op::Zip(z),
            Op::Reduce { kind, axis: a } => Op::Reduce {
                kind,
                axis: axis(a)?,
            },
            Op::Softmax { axis: a } => Op::Softmax { axis: axis(a)? },
            Op::LogSoftmax { axis: a } => Op::LogSoftmax { axis: axis(a)? },
            Op::Index { axis: a, indices } => Op::Index {
                axis: axis(a)?,
                indices,
            },
            Op::Kron => Op::Kron,
            Op::Outer { kind, axis: a } => Op::Outer {
                kind,
                axis: axis(a)?,
            },
            Op::MatMul => Op::MatMul,
            Op::Flatten { start, end } => Op::Flatten {
                start: resolve(start, "start")?,
                end: resolve(end, "end")?,
            },
            Op::RowMax { axis: a } => Op::RowMax { axis: axis(a)? },
            Op::RowSumExp { axis: a } => Op::RowSumExp { axis: axis(a)? },
            Op::Normalize { axis: a, log } => Op::Normalize {
                axis: axis(a)?,
                log,
            },
            Op::OuterContract { outer, reduce } => Op::OuterContract {
                outer: resolve(outer, "outer")?,
                reduce: resolve(reduce, "reduce")?,
            },
            Op::KronMatMul => Op::KronMatMul,
            Op::MixingWeight => Op::MixingWeight,
            Op::Gaussian(part) => Op::Gaussian(part),
            Op::GaussianVarSum => Op::GaussianVarSum,
            Op::GaussianFromVar(part) => Op::GaussianFromVar(part),
            Op::PolynomialProduct => Op::PolynomialProduct,
            Op::PolynomialDifferential { order } => Op::PolynomialDifferential { order },
            Op::MapVjp(m) => Op::MapVjp(m),
            Op::Contract(c) => Op::Contract(c),
            Op::SumNormalize { axis: a } => Op::SumNormalize { axis: axis(a)? },
            Op::LogNormalize { axis: a } => Op::LogNormalize { axis: axis(a)? },
            Op::ZipVjp { op, wrt } => Op::ZipVjp { op, wrt },
            Op::SumNormalizeVjp { axis: a } => Op::SumNormalizeVjp { axis: axis(a)? },
            Op::ProdVjp { axis: a } => Op::ProdVjp { axis: axis(a)? },
            Op::LseVjp { axis: a } => Op::LseVjp { axis: axis(a)? },
            Op::SoftmaxVjp { axis: a, log } => Op::SoftmaxVjp {
                axis: axis(a)?,
                log,
            },
            Op::IndexVjp {
                axis: a,
                indices,
                size,
            } => Op::IndexVjp {
                axis: axis(a)?,
                indices,
                size,
            },
            Op::GaussianVjp { part, wrt } => Op::GaussianVjp { part, wrt },
            Op::PolynomialDifferentialVjp { order, size } => {
                Op::PolynomialDifferentialVjp { order, size }
            }
        })
    }
}

impl<A> Graph<A> {
    /// Appends a node and returns its id.
    pub fn push(&mut self, node: Node<A>) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// How many times `id` is read: as an argument of a node (once per
    /// argument slot) or as an output.
    pub fn uses(&self, id: NodeId) -> usize {
        let by_nodes: usize = self
            .nodes
            .iter()
            .map(|n| n.args.iter().filter(|a| **a == id).count())
            .sum();
        by_nodes + self.outputs.iter().filter(|o| **o == id).count()
    }

    /// Makes every reader of `old` (nodes and outputs) read `new` instead.
    pub fn redirect(&mut self, old: NodeId, new: NodeId) {
        for node in &mut self.nodes {
            for arg in &mut node.args {
                if *arg == old {
                    *arg = new;
                }
            }
        }
        for out in &mut self.outputs {
            if *out == old {
                *out = new;
            }
        }
    }

    /// Keeps only the nodes the outputs depend on, renumbered in a
    /// topological order (arguments before readers; otherwise in the order
    /// they were created).
    pub fn reorder(&mut self) {
        let n = self.nodes.len();
        let mut order = Vec::with_capacity(n);
        let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 placed
        for &out in &self.outputs {
            // Iterative post-order DFS: argument lists are short but graphs
            // may be deep.
            let mut stack = vec![(out, 0usize)];
            while let Some((id, next)) = stack.pop() {
                if state[id] == 2 {
                    continue;
                }
                state[id] = 1;
                if let Some(&arg) = self.nodes[id].args.get(next) {
                    stack.push((id, next + 1));
                    if state[arg] == 0 {
                        stack.push((arg, 0));
                    }
                } else {
                    state[id] = 2;
                    order.push(id);
                }
            }
        }
        let mut renumber = vec![usize::MAX; n];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = new;
        }
        let mut old_nodes: Vec<Option<Node<A>>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .iter()
            .filter_map(|&old| old_nodes[old].take())
            .map(|mut node| {
                for arg in &mut node.args {
                    *arg = renumber[*arg];
                }
                node
            })
            .collect();
        for out in &mut self.outputs {
            *out = renumber[*out];
        }
    }
}
