//! **Sum of an outer product** — cirkit's `ReduceSumOuterProductPattern` /
//! `apply_sum_outer_prod_einsum`, at any rank (cirkit stops at 4).
//!
//! `outer_product(a, b, axis = d)` has, on axis `d`, index `i·D₂ + j` and value
//! `a[.., i, ..] · b[.., j, ..]`; the other axes are shared. Summing it over
//! axis `r` never needs the outer product itself:
//!
//! ```text
//! r = d:  Σ_{i,j} a[.., i, ..] b[.., j, ..] = (Σ_i a[.., i, ..]) (Σ_j b[.., j, ..])
//!         → hadamard(reduce_sum(a, d), reduce_sum(b, d))          O(D₁ + D₂)
//! r ≠ d:  out[.., i·D₂ + j @ d, ..] = Σ_k a[.., i @ d, .., k @ r, ..] b[.., j @ d, .., k @ r, ..]
//!         → outer_contract(a, b): one contraction writing the merged axis
//! ```
//!
//! cirkit's einsum does the full `O(D₁·D₂)` work in the first case; here it is
//! two sums and a product. In the second case the flattened `(D₁·D₂)` axis is
//! written directly (cirkit: einsum, then flatten). Either way the outer
//! product — the tensor that ran squared circuits out of memory — is never
//! formed.

use super::{NewNode, Ref, Rewrite, Rule};
use crate::graph::{Graph, NodeId, Op, OuterKind, ReduceKind, ZipOp};

/// The rule.
pub const RULE: Rule = Rule::new(
    "sum_outer",
    "reduce_sum(outer_product(a, b, axis = d), axis = r)",
    apply,
);

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let outer = *g.nodes[root].args.first()?;
    let (
        Op::Reduce {
            kind: ReduceKind::Sum,
            axis: r,
        },
        Op::Outer {
            kind: OuterKind::Product,
            axis: d,
        },
    ) = (&g.nodes[root].op, &g.nodes[outer].op)
    else {
        return None;
    };
    let (r, d) = (*r, *d);
    let (a, b) = (g.nodes[outer].args[0], g.nodes[outer].args[1]);
    let matched = vec![root, outer];
    if r.get() != d.get() {
        return Some(Rewrite::single(
            matched,
            vec![NewNode {
                op: Op::OuterContract {
                    outer: d,
                    reduce: r,
                },
                args: vec![Ref::Old(a), Ref::Old(b)],
            }],
        ));
    }
    let sum = |x: NodeId| NewNode {
        op: Op::Reduce {
            kind: ReduceKind::Sum,
            axis: d,
        },
        args: vec![Ref::Old(x)],
    };
    Some(Rewrite::single(
        matched,
        vec![
            sum(a),
            sum(b),
            NewNode {
                op: Op::Zip(ZipOp::Hadamard),
                args: vec![Ref::New(0), Ref::New(1)],
            },
        ],
    ))
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_same_values, ops, optimized};

    #[test]
    fn same_axis_becomes_a_product_of_sums() {
        let src = "fn f(a: &[SMatrix<f64, 3, 4>; 2], b: &[SMatrix<f64, 5, 4>; 2]) -> [SVector<f64, 4>; 2] {
            reduce_sum(outer_product(a, b, axis = 1), axis = 1)
        }";
        let g = optimized(src);
        assert_eq!(
            ops(&g),
            vec!["leaf", "reduce_sum", "leaf", "reduce_sum", "hadamard"]
        );
        assert_same_values(src, 1e-12);
    }

    #[test]
    fn other_axes_become_one_contraction_at_any_rank() {
        for (d, r) in [(0, 1), (1, 0), (2, 4), (4, 0), (3, 2)] {
            let src = format!(
                "fn f(a: &[[[SMatrix<f64, 2, 3>; 2]; 2]; 2], b: &[[[SMatrix<f64, 2, 3>; 2]; 2]; 2]) -> f64 {{
                    reduce_sum(reduce_sum(reduce_sum(reduce_sum(
                        reduce_sum(outer_product(a, b, axis = {d}), axis = {r})))))
                }}"
            );
            let g = optimized(&src);
            assert!(ops(&g).contains(&"outer_contract"), "{:?}", ops(&g));
            assert!(!ops(&g).contains(&"outer_product"));
            assert_same_values(&src, 1e-12);
        }
    }
}
