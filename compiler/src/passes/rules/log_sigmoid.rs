//! **Log-sigmoid** (beyond cirkit).
//!
//! ```text
//! log(sigmoid(x)) → log_sigmoid(x) = −softplus(−x)
//!                 = −log1p(exp(−x))          for x ≥ 0
//!                 = x − log1p(exp(x))        for x < 0
//! ```
//!
//! Strictly more accurate: `sigmoid(x)` underflows to 0 below x ≈ −745 and
//! the unfused `log` then gives `−inf` where the true value is ≈ `x`; and for
//! large positive `x`, `log(1 − ε)` loses the digits of ε that `log1p` keeps.
//! Both branches evaluate `exp` of a non-positive number, so nothing
//! overflows.

use super::{arg_of, NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, MapOp, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new("log_sigmoid", "log(sigmoid(x))", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let inner = arg_of(g, root, |op| matches!(op, Op::Map(MapOp::Log)))?;
    let x = arg_of(g, inner, |op| matches!(op, Op::Map(MapOp::Sigmoid)))?;
    Some(Rewrite::single(
        vec![root, inner],
        vec![NewNode {
            op: Op::Map(MapOp::LogSigmoid),
            args: vec![Ref::Old(x)],
        }],
    ))
}
