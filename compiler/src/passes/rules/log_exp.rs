//! **Log of exp** (beyond cirkit).
//!
//! ```text
//! log(exp(x)) → x
//! ```
//!
//! Exact for every `x` where the unfused form is finite, and correct where it
//! is not (`exp` overflows to `+inf` above 709, underflows to 0 below −745,
//! turning `x` into `±inf`). NaN stays NaN.

use super::{arg_of, Ref, Rewrite, Rule};
use crate::graph::{Graph, MapOp, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new("log_exp", "log(exp(x))", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let exp = arg_of(g, root, |op| matches!(op, Op::Map(MapOp::Log)))?;
    let x = arg_of(g, exp, |op| matches!(op, Op::Map(MapOp::Exp)))?;
    Some(Rewrite {
        matched: vec![root, exp],
        nodes: Vec::new(),
        replace: vec![(root, Ref::Old(x))],
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{ops, optimized};

    #[test]
    fn the_largest_match_wins() {
        // log(reduce_sum(exp(x))) covers three nodes; nothing smaller applies.
        let src = "fn f(x: &SVector<f64, 3>) -> f64 { log(reduce_sum(exp(x))) }";
        assert_eq!(ops(&optimized(src)), vec!["leaf", "reduce_lse"]);
    }
}
