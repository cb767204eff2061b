//! Stage 2 — graph IR: the parameter graph as a DAG of op nodes.
//!
//! Lowering (`lower`) resolves names, looks every op up in the catalogue
//! (`ops`) and validates its attributes, so that everything after this stage
//! works on well-formed nodes. Shapes are filled in by the next stage.

mod attrs;
pub mod lower;
pub mod ops;
mod signature;
mod suggest;

pub use crate::parse::ast::DType;
use crate::span::SpanRange;
pub use signature::{Output, Signature};

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// One compiled parameter graph.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The fn the graph is compiled for: leaves and declared results.
    pub sig: Signature,
    /// Element type of every tensor.
    pub dtype: DType,
    /// Nodes in topological order: a node's arguments come before it.
    pub nodes: Vec<Node>,
    /// The nodes the function returns, in order.
    pub outputs: Vec<NodeId>,
}

/// One operation and the nodes it reads.
#[derive(Clone, Debug)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// Tensor arguments.
    pub args: Vec<NodeId>,
    /// Source of each tensor argument, for shape errors.
    pub arg_spans: Vec<SpanRange>,
    /// Source of the op (its name for a call), for errors about the node.
    pub span: SpanRange,
    /// Result shape; filled in by shape inference.
    pub shape: Vec<usize>,
    /// Which rule produced the node, `None` when the user wrote it.
    pub rule: Option<&'static str>,
}

/// An axis attribute. Before shape inference `index` is as written (possibly
/// negative); inference replaces it by the non-negative axis.
#[derive(Clone, Copy)]
pub struct Axis {
    /// The axis.
    pub index: i64,
    /// The literal, or the op when the default was used.
    pub span: SpanRange,
}

/// Only the index: two ops that differ only in where they were written are
/// the same computation (common-subexpression elimination keys on this).
impl std::fmt::Debug for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.index)
    }
}

/// Source ranges that do not take part in an op's identity.
#[derive(Clone, Default)]
pub struct Spans(pub Vec<SpanRange>);

impl std::fmt::Debug for Spans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("_")
    }
}

impl Axis {
    /// The resolved axis (valid after shape inference).
    pub fn get(&self) -> usize {
        usize::try_from(self.index).unwrap_or(0)
    }
}

/// Elementwise functions of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
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
        vmin: f64,
        /// Upper end.
        vmax: f64,
    },
    /// `log(sigmoid(x)) = -softplus(-x)`, computed without underflow (fused).
    LogSigmoid,
    /// `min(max(x, min), max)`, NaN kept.
    Clamp {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
}

/// Reductions along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// Sum.
    Sum,
    /// Product.
    Prod,
    /// `log(sum(exp(x)))`, max-shifted.
    Lse,
}

/// The two outer ops of cirkit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OuterKind {
    /// `a[i] * b[j]`.
    Product,
    /// `a[i] + b[j]`.
    Sum,
}

/// Elementwise combinations of two equal-shaped tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipOp {
    /// `a + b`.
    Add,
    /// `a * b` elementwise.
    Hadamard,
}

/// Which parameter of the product of two Gaussian layers a node computes.
///
/// For `N(m1, s1²) · N(m2, s2²) = Z · N(m, s²)`, every pair `(i, j)` of the
/// two layers' components, at index `i·K2 + j`:
/// `s² = s1²·s2² / (s1² + s2²)`, `m = (m1·s2² + m2·s1²) / (s1² + s2²)` and
/// `log Z = log N(m1; m2, s1² + s2²)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaussianPart {
    /// The mean `m`.
    Mean,
    /// The standard deviation `s`.
    Stddev,
    /// The log normalizer `log Z`.
    LogPartition,
}

/// What a node computes.
#[derive(Clone, Debug)]
pub enum Op {
    /// The function's parameter number `param`.
    Leaf {
        /// Position in the signature.
        param: usize,
    },
    /// A tensor filled with one value.
    Constant {
        /// The value.
        value: f64,
        /// The shape.
        shape: Vec<usize>,
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
        axis: Axis,
    },
    /// `exp(x) / sum(exp(x))` along `axis`.
    Softmax {
        /// The normalized axis.
        axis: Axis,
    },
    /// `x - logsumexp(x)` along `axis`.
    LogSoftmax {
        /// The normalized axis.
        axis: Axis,
    },
    /// `index_select` along `axis`.
    Index {
        /// The indexed axis.
        axis: Axis,
        /// Positions taken, in order (repeats allowed).
        indices: Vec<usize>,
        /// Source of each index, for range errors.
        spans: Spans,
    },
    /// Kronecker product of two tensors of equal rank.
    Kron,
    /// Outer product or sum along `axis`, the merged axis row-major.
    Outer {
        /// Product or sum.
        kind: OuterKind,
        /// The axis whose sizes multiply.
        axis: Axis,
    },
    /// `(m, k) · (k, n)`.
    MatMul,
    /// Axes `start..=end` merged into one, row-major.
    Flatten {
        /// First merged axis.
        start: Axis,
        /// Last merged axis.
        end: Axis,
    },
    /// Fused: the row maxima of `x` along `axis` (NaN-propagating), the
    /// shift torch's softmax subtracts.
    RowMax {
        /// The normalized axis.
        axis: Axis,
    },
    /// Fused: `sum(exp(x - m))` along `axis`, for arguments `(x, m)`.
    RowSumExp {
        /// The normalized axis.
        axis: Axis,
    },
    /// Fused: softmax (`exp(x - m) / s`) or log-softmax (`x - m - log(s)`)
    /// from shared row statistics, for arguments `(x, m, s)`.
    Normalize {
        /// The normalized axis.
        axis: Axis,
        /// `true` for log-softmax.
        log: bool,
    },
    /// Fused: `reduce_sum(outer_product(a, b, axis = outer), axis = reduce)`
    /// with `outer != reduce`, as one contraction writing the merged axis
    /// directly.
    OuterContract {
        /// The axis whose sizes multiply.
        outer: Axis,
        /// The summed axis.
        reduce: Axis,
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
    /// Fused: a Gaussian product parameter from the summed variances `v`
    /// (last argument): `(m1, s1, m2, v)` for the mean, `(s1, s2, v)` for the
    /// standard deviation, `(m1, m2, v)` for the log-partition.
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
}

impl Op {
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
            },
            Op::Zip(ZipOp::Add) => "add",
            Op::Zip(ZipOp::Hadamard) => "hadamard",
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
        }
    }
}

impl Graph {
    /// Appends a node and returns its id.
    pub fn push(&mut self, node: Node) -> NodeId {
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
        let mut old_nodes: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
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
