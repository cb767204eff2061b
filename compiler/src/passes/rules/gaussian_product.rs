//! **Gaussian product** — the parameters of one product of two Gaussian
//! layers share their summed variances (cirkit computes them once per op).
//!
//! ```text
//! N(x; m1, s1²) · N(x; m2, s2²) = Z · N(x; m, s²),   v = s1² + s2²
//! m = (m1·s2² + m2·s1²) / v     s² = s1²·s2² / v     log Z = −½ (log 2π + log v + (m1 − m2)² / v)
//! ```
//!
//! (each evaluated in the stable form of `param_graph_runtime::ProductOps`,
//! where the shared `v` is held scaled by `max(s1², s2²)` so it never
//! overflows or underflows).
//!
//! When a circuit product multiplies two Gaussian layers, the mean, the
//! stddev and the log-partition of the product all read the same `s1` and
//! `s2`. Each of these ops that has a sibling on the same `(s1, s2)` — another
//! Gaussian product op, or the shared node itself — becomes its `_from_var`
//! form reading one `gaussian_var_sum(s1, s2)` node:
//!
//! ```text
//! gaussian_product_mean(m1, s1, m2, s2)  →  gaussian_mean_from_var(m1, s1, m2, s2, v)
//! gaussian_product_stddev(s1, s2)        →  gaussian_stddev_from_var(s1, s2, v)
//! gaussian_product_log_partition(..)     →  gaussian_log_partition_from_var(m1, s1, m2, s2, v)
//! v = gaussian_var_sum(s1, s2)  (computed once; common-subexpression elimination merges copies)
//! ```
//!
//! Exact: an op computed alone evaluates the same `ProductOps` expressions
//! with `v` inline, so the results are bit for bit those of the unshared
//! graph. A lone op is left alone (sharing would only add a buffer).

use super::{NewNode, Ref, Rewrite, Rule};
use crate::graph::{GaussianPart, Graph, NodeId, Op};

/// The rule.
pub const RULE: Rule = Rule::new(
    "gaussian_product",
    "(gaussian_product_mean(m1, s1, m2, s2), gaussian_product_stddev(s1, s2))",
    apply,
);

/// The `(s1, s2)` a Gaussian product node reads, with its part.
fn stddevs(g: &Graph, id: NodeId) -> Option<(NodeId, NodeId)> {
    let node = &g.nodes[id];
    match node.op {
        Op::Gaussian(GaussianPart::Stddev) | Op::GaussianVarSum => {
            Some((node.args[0], node.args[1]))
        }
        Op::GaussianFromVar(GaussianPart::Stddev) => Some((node.args[0], node.args[1])),
        Op::Gaussian(_) | Op::GaussianFromVar(_) => Some((node.args[1], node.args[3])),
        _ => None,
    }
}

fn apply(g: &Graph, root: NodeId) -> Option<Rewrite> {
    let Op::Gaussian(part) = g.nodes[root].op else {
        return None;
    };
    let pair = stddevs(g, root)?;
    let siblings: Vec<NodeId> = (0..g.nodes.len())
        .filter(|&id| id != root && stddevs(g, id) == Some(pair))
        .collect();
    if siblings.is_empty() {
        return None;
    }
    let shared = siblings
        .iter()
        .copied()
        .find(|&id| matches!(g.nodes[id].op, Op::GaussianVarSum));
    let mut nodes = Vec::new();
    let v = match shared {
        Some(id) => Ref::Old(id),
        None => {
            nodes.push(NewNode {
                op: Op::GaussianVarSum,
                args: vec![Ref::Old(pair.0), Ref::Old(pair.1)],
            });
            Ref::New(0)
        }
    };
    let mut args: Vec<Ref> = g.nodes[root].args.iter().map(|a| Ref::Old(*a)).collect();
    args.push(v);
    nodes.push(NewNode {
        op: Op::GaussianFromVar(part),
        args,
    });
    Some(Rewrite::single(vec![root], nodes))
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_same_values, ops, optimized};

    const ALL_THREE: &str = "fn f(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>)
        -> (SVector<f64, 6>, SVector<f64, 6>, SVector<f64, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }";

    #[test]
    fn the_three_parameters_share_one_variance_sum() {
        let g = optimized(ALL_THREE);
        let names = ops(&g);
        assert_eq!(
            names.iter().filter(|n| **n == "gaussian_var_sum").count(),
            1,
            "{names:?}"
        );
        let v = names.iter().position(|n| *n == "gaussian_var_sum").unwrap();
        let readers: Vec<&str> = g
            .nodes
            .iter()
            .filter(|n| n.args.contains(&v))
            .map(|n| n.op.name())
            .collect();
        assert_eq!(
            readers,
            vec![
                "gaussian_mean_from_var",
                "gaussian_stddev_from_var",
                "gaussian_log_partition_from_var"
            ]
        );
        assert!(g
            .nodes
            .iter()
            .skip(4)
            .all(|n| n.rule == Some("gaussian_product")));
        assert_same_values(ALL_THREE, 1e-12);
    }

    #[test]
    fn a_lone_parameter_is_left_alone() {
        let g = optimized(
            "fn f(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>)
                -> SVector<f64, 6> { gaussian_product_mean(m1, s1, m2, s2) }",
        );
        assert_eq!(
            ops(&g),
            vec!["leaf", "leaf", "leaf", "leaf", "gaussian_product_mean"]
        );
    }

    #[test]
    fn different_stddevs_share_nothing() {
        let g = optimized(
            "fn f(s1: &SVector<f64, 3>, s2: &SVector<f64, 2>, s3: &SVector<f64, 2>)
                -> (SVector<f64, 6>, SVector<f64, 6>) {
                (gaussian_product_stddev(s1, s2), gaussian_product_stddev(s1, s3))
            }",
        );
        assert!(!ops(&g).contains(&"gaussian_var_sum"), "{:?}", ops(&g));
    }
}
