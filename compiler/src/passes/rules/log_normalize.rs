//! **Log-normalize** (beyond cirkit; an M-step's logits).
//!
//! ```text
//! log(normalize(x, axis = d)) → log_normalize(x, axis = d) = log x − log Σ_d x
//! ```
//!
//! One sum per row and one `log` per element, in one pass over `x` for the
//! result, and no quotient `x / Σx` to underflow: for `x = 1e-300` in a row
//! summing to `1e10` the unfused form gives `log(0) = −inf`, the fused one
//! the finite `≈ −713.8`. Where `x` or the sum is not positive (a row of
//! negative numbers, a zero, NaN) the kernel takes `log(x / Σx)` itself, so
//! the rewrite is valid on the whole domain.

use super::{arg_of, NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, MapOp, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new("log_normalize", "log(normalize(x, axis = d))", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let inner = arg_of(g, root, |op| matches!(op, Op::Map(MapOp::Log)))?;
    let Op::SumNormalize { axis } = g.nodes[inner].op else {
        return None;
    };
    let x = g.nodes[inner].args[0];
    Some(Rewrite::single(
        vec![root, inner],
        vec![NewNode {
            op: Op::LogNormalize { axis },
            args: vec![Ref::Old(x)],
        }],
    ))
}
