//! **Kronecker weights** — the tensor-dot trick (Zhang et al. 2025, §3.1)
//! behind cirkit's `KroneckerOutParameterPattern` / `DenseKroneckerPattern`.
//!
//! For `A: (P, Q)`, `B: (R, S)` and `X: (Q·S, N)`, with `X` read as a
//! `(Q, S, N)` tensor (row `j·S + l`):
//!
//! ```text
//! matmul(kron(A, B), X)[i·R + k, c] = Σ_j Σ_l A[i, j] B[k, l] X[j·S + l, c]
//!                                   = Σ_j A[i, j] T[j, k, c],   T[j, k, c] = Σ_l B[k, l] X[j·S + l, c]
//! ```
//!
//! Two small contractions, `Q·R·S·N + P·Q·R·N` multiply-adds and a `(Q, R, N)`
//! scratch tensor, instead of forming the `(P·R, Q·S)` matrix `A ⊗ B`
//! (`P·R·Q·S` entries) and then `P·R·Q·S·N` multiply-adds.

use super::{NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new("kron_matmul", "matmul(kron(a, b), x)", apply);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    if !matches!(g.nodes[root].op, Op::MatMul) {
        return None;
    }
    let (kron, x) = (g.nodes[root].args[0], g.nodes[root].args[1]);
    if !matches!(g.nodes[kron].op, Op::Kron) {
        return None;
    }
    let (a, b) = (g.nodes[kron].args[0], g.nodes[kron].args[1]);
    if g.nodes[a].shape.len() != 2 {
        return None;
    }
    Some(Rewrite::single(
        vec![root, kron],
        vec![NewNode {
            op: Op::KronMatMul,
            args: vec![Ref::Old(a), Ref::Old(b), Ref::Old(x)],
        }],
    ))
}
