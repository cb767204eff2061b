//! **LogSoftmax** — cirkit's `LogSoftmaxPattern` / `apply_log_softmax`.
//!
//! ```text
//! log(softmax(x, axis = a))  →  log_softmax(x, axis = a)
//! log_softmax(x)_i = (x_i − m) − log Σ_j exp(x_j − m),   m = max_j x_j
//! ```
//!
//! The unfused form computes `exp(x_i − m) / Σ` first, which underflows to 0
//! for entries far below the maximum and then gives `log(0) = −inf`; the
//! fused form subtracts in log space and stays finite (cirkit's
//! `log_softmax_fusion_extreme` case: `−800` instead of `−inf`). One `log`
//! per row instead of one per element.
//!
//! When the softmax has other readers (cirkit then leaves the pair alone),
//! both are rewritten over shared row statistics, so the maximum and the sum
//! are computed once:
//!
//! ```text
//! m = row_max(x),  s = Σ_j exp(x_j − m)
//! softmax(x)_i     = exp(x_i − m) / s
//! log(softmax(x))_i = x_i − m − log s
//! ```

use super::{arg_of, NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, MapOp, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new("log_softmax", "log(softmax(x, axis = d))", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let softmax = arg_of(g, root, |op| matches!(op, Op::Map(MapOp::Log)))?;
    let Op::Softmax { axis } = g.nodes[softmax].op else {
        return None;
    };
    let x = g.nodes[softmax].args[0];
    if g.uses(softmax) == 1 {
        return Some(Rewrite::single(
            vec![root, softmax],
            vec![NewNode {
                op: Op::LogSoftmax { axis },
                args: vec![Ref::Old(x)],
            }],
        ));
    }
    let stats = vec![Ref::Old(x), Ref::New(0), Ref::New(1)];
    Some(Rewrite {
        matched: vec![root, softmax],
        nodes: vec![
            NewNode {
                op: Op::RowMax { axis },
                args: vec![Ref::Old(x)],
            },
            NewNode {
                op: Op::RowSumExp { axis },
                args: vec![Ref::Old(x), Ref::New(0)],
            },
            NewNode {
                op: Op::Normalize { axis, log: false },
                args: stats.clone(),
            },
            NewNode {
                op: Op::Normalize { axis, log: true },
                args: stats,
            },
        ],
        replace: vec![(softmax, Ref::New(2)), (root, Ref::New(3))],
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_same_values, ops, optimized};

    const ALONE: &str =
        "fn f(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> { log(softmax(x, axis = 1)) }";
    const SHARED: &str =
        "fn f(x: &SMatrix<f64, 3, 4>) -> (SMatrix<f64, 3, 4>, SMatrix<f64, 3, 4>) {
        let p = softmax(x, axis = 0);
        (p, log(p))
    }";

    #[test]
    fn fuses_a_lone_log_softmax() {
        let g = optimized(ALONE);
        assert_eq!(ops(&g), vec!["leaf", "log_softmax"]);
        assert_eq!(g.nodes[1].rule, Some("log_softmax"));
        assert_same_values(ALONE, 1e-13);
    }

    #[test]
    fn shares_row_statistics_with_other_readers() {
        let g = optimized(SHARED);
        assert_eq!(
            ops(&g),
            vec![
                "leaf",
                "row_max",
                "row_sum_exp",
                "softmax_from_stats",
                "log_softmax_from_stats"
            ]
        );
        assert_same_values(SHARED, 1e-13);
    }

    #[test]
    fn leaves_other_logs_alone() {
        let g = optimized(
            "fn f(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> { log(exp(softmax(x))) }",
        );
        // log(exp(.)) is removed, but softmax is not under a log afterwards
        // until that happens; the fixed point then sees log(softmax)? No: the
        // log is gone entirely, leaving softmax alone.
        assert_eq!(ops(&g), vec!["leaf", "softmax"]);
    }
}
