//! Stage 4 — passes over the shaped graph.
//!
//! Dead-node removal always runs: the generated code computes only what the
//! results need. The optimizer — common-subexpression elimination and the
//! rewrite rules of [`rules`], applied to a fixed point — runs unless
//! the fn says `#[param_graph(optimize = false)]`.

mod cse;
pub mod rules;

use crate::graph::Graph;

/// Removes every node no output depends on, keeping topological order.
pub fn prune(graph: &mut Graph) {
    graph.reorder();
}

/// Runs the optimizer to a fixed point.
pub fn optimize(graph: &mut Graph) {
    prune(graph);
    // Each round strictly shrinks the matched patterns or merges nodes; the
    // bound only guards against a rule pair that would undo each other.
    for _ in 0..1000 {
        let merged = cse::eliminate(graph);
        let rewritten = rules::apply_largest(graph);
        if !merged && !rewritten {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::lower::lower;
    use crate::parse::parse_block;

    #[test]
    fn prune_keeps_only_what_outputs_need() {
        let fns = parse_block(
            "fn f(a: &SMatrix<f64, 2, 2>, b: &SMatrix<f64, 2, 2>) -> SMatrix<f64, 2, 2> {
                let unused = exp(b);
                let x = log(a);
                add(x, a)
            }"
            .parse()
            .unwrap(),
        )
        .unwrap();
        let mut g = lower(&fns[0]).unwrap();
        prune(&mut g);
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, vec!["leaf", "log", "add"]);
        assert_eq!(g.nodes[2].args, vec![1, 0]);
        assert_eq!(g.outputs, vec![2]);
    }
}
