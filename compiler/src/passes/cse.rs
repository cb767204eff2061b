//! Common-subexpression elimination.
//!
//! Two nodes with the same op, the same attributes and the same arguments
//! compute the same tensor: the later one is dropped and its readers read the
//! earlier one. Nodes are keyed on the op's derived `Eq`/`Hash` and the
//! argument ids; source spans live in the node, outside the op, so
//! `softmax(x, axis = 1)` written twice is computed once.

use crate::graph::{Graph, NodeId, Op};
use std::collections::HashMap;

/// Merges duplicate nodes; `true` when anything changed.
pub fn eliminate(graph: &mut Graph) -> bool {
    let mut seen: HashMap<(Op, Vec<NodeId>), NodeId> = HashMap::new();
    let mut changed = false;
    // Nodes are in topological order and a duplicate's readers are
    // redirected at once, so arguments are canonical when a node is keyed:
    // whole duplicated subgraphs merge in one call.
    for id in 0..graph.nodes.len() {
        let node = &graph.nodes[id];
        let key = (node.op.clone(), node.args.clone());
        match seen.get(&key) {
            Some(&first) => {
                graph.redirect(id, first);
                changed = true;
            }
            None => {
                seen.insert(key, id);
            }
        }
    }
    if changed {
        graph.reorder();
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::lower::lower;
    use crate::parse::parse_block;

    #[test]
    fn identical_subgraphs_are_computed_once() {
        let fns = parse_block(
            "fn f(a: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> {
                let p = softmax(exp(a), axis = 1);
                let q = softmax(exp(a), axis = -1);
                add(p, q)
            }"
            .parse()
            .unwrap(),
        )
        .unwrap();
        let mut g = crate::shape::infer(lower(&fns[0]).unwrap()).unwrap();
        assert!(eliminate(&mut g));
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        // axis = -1 resolved to 1 by shape inference, so both softmaxes match.
        assert_eq!(ops, vec!["leaf", "exp", "softmax", "add"]);
        assert_eq!(g.nodes[3].args, vec![2, 2]);
        assert!(!eliminate(&mut g));
    }
}
