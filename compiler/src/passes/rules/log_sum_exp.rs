//! **Log-sum-exp** (beyond cirkit).
//!
//! ```text
//! log(reduce_sum(exp(x), axis = a)) → reduce_lse(x, axis = a)
//! log Σ_i exp(x_i) = m + log Σ_i exp(x_i − m),   m = max_i x_i (0 when infinite)
//! ```
//!
//! Strictly more accurate: the unfused sum overflows to `+inf` once any
//! `x_i > 709` and underflows to `log(0) = −inf` when every `x_i < −745`; the
//! shifted form is finite wherever the true value is. On the special values
//! both agree (a row of `−inf` gives `−inf`, a `+inf` gives `+inf`, NaN
//! propagates), because the shift is masked to 0 when the maximum is
//! infinite, as in `torch.logsumexp`.

use super::{arg_of, NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, MapOp, NodeId, Op, ReduceKind};

/// The rule.
pub const RULE: Rule = Rule::new("log_sum_exp", "log(reduce_sum(exp(x), axis = d))", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let sum = arg_of(g, root, |op| matches!(op, Op::Map(MapOp::Log)))?;
    let Op::Reduce {
        kind: ReduceKind::Sum,
        axis,
    } = g.nodes[sum].op
    else {
        return None;
    };
    let exp = g.nodes[sum].args[0];
    let x = arg_of(g, exp, |op| matches!(op, Op::Map(MapOp::Exp)))?;
    Some(Rewrite::single(
        vec![root, sum, exp],
        vec![NewNode {
            op: Op::Reduce {
                kind: ReduceKind::Lse,
                axis,
            },
            args: vec![Ref::Old(x)],
        }],
    ))
}
