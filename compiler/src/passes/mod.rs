//! Stage 4 — passes over the shaped graph.
//!
//! Dead-node removal always runs: the generated code computes only what the
//! results need. The optimizer — common-subexpression elimination and the
//! rewrite rules of [`rules`], applied to a fixed point — runs unless
//! the fn says `#[param_graph(optimize = false)]`.

mod cse;
pub mod rules;

pub use validate::validate;

use crate::graph::Graph;

mod validate;

/// Sweeps after which the optimizer gives up: every rule strictly shrinks
/// what it matches or merges nodes, so reaching this is a bug (two rules
/// undoing each other), reported as an internal error.
const MAX_SWEEPS: usize = 1000;

/// Removes every node no output depends on, keeping topological order.
pub fn prune(graph: &mut Graph) {
    graph.reorder();
}

/// Merges duplicate nodes (common-subexpression elimination) once.
pub fn cse(graph: &mut Graph) {
    cse::eliminate(graph);
}

/// Runs the optimizer to a fixed point, validating the graph after every
/// sweep. An error is a bug in a rule or pass (an internal error).
pub fn optimize(graph: &mut Graph) -> Result<(), String> {
    prune(graph);
    validate(graph)?;
    for _ in 0..MAX_SWEEPS {
        let merged = cse::eliminate(graph);
        let rewritten = rules::apply_largest(graph)?;
        validate(graph)?;
        if !merged && !rewritten {
            return Ok(());
        }
    }
    Err(format!(
        "the rewrite rules did not reach a fixed point in {MAX_SWEEPS} sweeps"
    ))
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
        let mut g = crate::shape::infer(lower(&fns[0]).unwrap()).unwrap();
        prune(&mut g);
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, vec!["leaf", "log", "add"]);
        assert_eq!(g.nodes[2].args, vec![1, 0]);
        assert_eq!(g.outputs, vec![2]);
    }
}
