//! Loop fusion: which elementwise nodes run inside their readers' loops
//! instead of storing a buffer (XLA's producer–consumer fusion, restricted
//! to elementwise ops).
//!
//! A map or a zip (`exp`, `sigmoid`, `add`, `hadamard`, …) is *inlined* —
//! computed where its readers need each element — when it is not a result,
//! every reader is itself elementwise (so producer and readers walk the same
//! elements in one loop), and either
//! - it is read exactly once (one argument of one node): inlining only saves
//!   the store and the load; or
//! - recomputing it costs less than storing it: it and everything inlined
//!   into it are one-flop ops (`add`, `hadamard`, `square`, `conjugate`,
//!   `clamp`) and there are at most [`MAX_RECOMPUTED`] of them. A
//!   transcendental function (`exp`, `log`, `sigmoid`, …) read twice is
//!   stored once instead.
//!
//! The remaining elementwise nodes are the roots of *fused groups*: one loop
//! computes the root from materialized buffers, with the inlined nodes as
//! expressions. Row kernels, contractions and the other ops read and write
//! materialized buffers.

use crate::graph::{Graph, MapOp, Op, ZipOp};

/// The largest one-flop expression recomputed for each of several readers.
pub const MAX_RECOMPUTED: usize = 8;

/// `true` for the maps and zips: one output element from the elements at
/// the same position of the arguments.
pub fn elementwise(op: &Op) -> bool {
    matches!(
        op,
        Op::Map(_) | Op::Zip(_) | Op::MapVjp(_) | Op::ZipVjp { .. }
    )
}

/// One floating-point operation per element, no function call.
fn one_flop(op: &Op) -> bool {
    matches!(
        op,
        Op::Map(MapOp::Square | MapOp::Conjugate | MapOp::Clamp { .. })
            | Op::Zip(ZipOp::Add | ZipOp::Hadamard)
    )
}

/// For every node, whether it is inlined into its readers' loops (none
/// under `#[param_graph(fuse = false)]`).
pub fn inlined(graph: &Graph) -> Vec<bool> {
    let n = graph.nodes.len();
    if !graph.sig.fuse {
        return vec![false; n];
    }
    let mut slots = vec![0usize; n];
    let mut all_elementwise = vec![true; n];
    for node in &graph.nodes {
        for &a in &node.args {
            slots[a] += 1;
            // A scalar broadcast into a larger reader is stored: computed
            // once, not at every element.
            all_elementwise[a] &= elementwise(&node.op) && graph.nodes[a].shape == node.shape;
        }
    }
    let is_output: Vec<bool> = (0..n).map(|id| graph.outputs.contains(&id)).collect();
    let mut inlined = vec![false; n];
    // Nodes of one-flop ops counted in each node's inlined expression;
    // `None` when it holds anything else.
    let mut flops: Vec<Option<usize>> = vec![None; n];
    for (id, node) in graph.nodes.iter().enumerate() {
        if !elementwise(&node.op) {
            continue;
        }
        let cheap = one_flop(&node.op).then(|| {
            node.args
                .iter()
                .filter(|a| inlined[**a])
                .try_fold(1usize, |sum, a| flops[*a].map(|f| sum + f))
        });
        flops[id] = cheap.flatten();
        let recompute = flops[id].is_some_and(|f| f <= MAX_RECOMPUTED);
        inlined[id] =
            !is_output[id] && slots[id] > 0 && all_elementwise[id] && (slots[id] == 1 || recompute);
    }
    inlined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::graph;

    fn inlined_ops(src: &str) -> Vec<&'static str> {
        let g = graph(src);
        let inl = inlined(&g);
        g.nodes
            .iter()
            .zip(inl)
            .filter(|(_, i)| *i)
            .map(|(n, _)| n.op.name())
            .collect()
    }

    #[test]
    fn the_five_op_graph_is_one_row_kernel_and_one_loop() {
        let src = "fn g(x: &SMatrix<f64, 4, 4>, y: &SMatrix<f64, 4, 4>) -> SMatrix<f64, 4, 4> {
            let a = softmax(x, axis = 1);
            let b = sigmoid(y);
            let c = hadamard(a, b);
            add(exp(c), square(a))
        }";
        // `a` is a row kernel's output, read twice: stored. The rest runs in
        // the loop of `add`.
        assert_eq!(inlined_ops(src), ["sigmoid", "hadamard", "exp", "square"]);
    }

    #[test]
    fn a_transcendental_read_twice_is_stored_a_cheap_one_recomputed() {
        let src = "fn g(x: &SVector<f64, 4>) -> (SVector<f64, 4>, SVector<f64, 4>) {
            let e = exp(x);
            let s = add(x, x);
            (hadamard(e, s), add(e, s))
        }";
        assert_eq!(inlined_ops(src), ["add"]);
    }

    #[test]
    fn results_and_inputs_of_other_kernels_are_stored() {
        let src = "fn g(x: &SMatrix<f64, 3, 4>) -> (SMatrix<f64, 3, 4>, SVector<f64, 3>) {
            let e = exp(x);
            (e, reduce_sum(square(x), axis = 1))
        }";
        assert!(inlined_ops(src).is_empty());
    }

    #[test]
    fn recomputation_is_bounded() {
        // Each level doubles the expression: only the first levels are
        // recomputed, the rest stored.
        let src = "fn g(x: &SVector<f64, 4>) -> SVector<f64, 4> {
            let a = add(x, x);
            let b = add(a, a);
            let c = add(b, b);
            let d = add(c, c);
            let e = add(d, d);
            add(e, e)
        }";
        let ops = inlined_ops(src);
        assert!(!ops.is_empty() && ops.len() < 5, "{ops:?}");
    }
}
