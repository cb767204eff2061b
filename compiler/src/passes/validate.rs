//! The graph's invariants, checked after every sweep of the passes (as
//! rustc validates its MIR between passes): arguments come before their
//! readers (so no id dangles and the graph is acyclic), every node reads as
//! many tensors as its op takes, every stored shape is the one shape
//! inference gives, and the results match the declared types. A violation
//! is a bug in a pass or a rule, reported as an internal error rather than
//! compiled into wrong code.

use crate::graph::ops::OpSpec;
use crate::graph::{GaussianPart, Graph, MapOp, Op, ZipOp};
use crate::shape::{shape_of, show, Sites};

/// `Ok` when `graph` is well formed, else what is wrong.
pub fn validate(graph: &Graph) -> Result<(), String> {
    for (id, node) in graph.nodes.iter().enumerate() {
        let name = node.op.name();
        if let Some(bad) = node.args.iter().find(|a| **a >= id) {
            return Err(format!(
                "%{id} = {name} reads %{bad}, which does not come before it"
            ));
        }
        let Some(want) = arity(&node.op) else {
            return Err(format!(
                "`{name}` is neither in the catalogue nor a fused op listed in passes/validate.rs (`arity`)"
            ));
        };
        if node.args.len() != want {
            return Err(format!(
                "%{id} = {name} reads {} tensors, but `{name}` takes {want}",
                node.args.len()
            ));
        }
        let shapes: Vec<&[crate::dim::Dim]> = node
            .args
            .iter()
            .map(|a| graph.nodes[*a].shape.as_slice())
            .collect();
        let sites = Sites {
            span: node.span,
            args: &node.arg_spans,
            literals: &node.literal_spans,
            checks: None,
        };
        match shape_of(&node.op, &shapes, &sites, &graph.sig) {
            Ok(shape) if crate::shape::may_equal(&shape, &node.shape) => {}
            Ok(shape) => {
                return Err(format!(
                    "%{id} = {name} holds shape {} but its arguments give {}",
                    show(&node.shape),
                    show(&shape)
                ))
            }
            Err(e) => return Err(format!("%{id} = {name} does not type: {e}")),
        }
    }
    if graph.outputs.len() != graph.sig.outputs.len() {
        return Err(format!(
            "{} results for {} declared",
            graph.outputs.len(),
            graph.sig.outputs.len()
        ));
    }
    for (&out, ty) in graph.outputs.iter().zip(&graph.sig.outputs) {
        let Some(node) = graph.nodes.get(out) else {
            return Err(format!("result %{out} does not exist"));
        };
        if ty.kron.is_none() && !crate::shape::may_equal(&node.shape, &ty.shape) {
            return Err(format!(
                "result %{out} has shape {} but {} is declared",
                show(&node.shape),
                show(&ty.shape)
            ));
        }
    }
    Ok(())
}

/// How many tensors `op` reads: the catalogue's arity for the ops users
/// write, the fused ops' own otherwise (an exhaustive match, so a new fused
/// op must say).
fn arity(op: &Op) -> Option<usize> {
    Some(match op {
        Op::Leaf { .. } => 0,
        Op::Map(MapOp::LogSigmoid) | Op::RowMax { .. } | Op::LogNormalize { .. } => 1,
        Op::RowSumExp { .. } | Op::OuterContract { .. } | Op::GaussianVarSum => 2,
        Op::Normalize { .. } | Op::KronMatMul => 3,
        // The Gaussian op's own arguments, then the summed variances.
        Op::GaussianFromVar(GaussianPart::Stddev) => 3,
        Op::GaussianFromVar(_) => 5,
        Op::MapVjp(_) | Op::SoftmaxVjp { .. } => 2,
        Op::LseVjp { .. } | Op::ProdVjp { .. } | Op::ZipVjp { .. } | Op::SumNormalizeVjp { .. } => {
            3
        }
        Op::IndexVjp { .. } | Op::PolynomialDifferentialVjp { .. } => 1,
        // The output's index and one per argument.
        Op::Contract(c) => c.index.len().checked_sub(1)?,
        // The forward arguments, the summed variances, the cotangent.
        Op::GaussianVjp {
            part: GaussianPart::Stddev,
            ..
        } => 4,
        Op::GaussianVjp { .. } => 6,
        Op::Map(
            MapOp::Exp
            | MapOp::Log
            | MapOp::Square
            | MapOp::Sigmoid
            | MapOp::Softplus
            | MapOp::Conjugate
            | MapOp::ScaledSigmoid { .. }
            | MapOp::Sqrt
            | MapOp::Clamp { .. },
        )
        | Op::Zip(
            ZipOp::Add
            | ZipOp::Hadamard
            | ZipOp::Div
            | ZipOp::Maximum
            | ZipOp::Minimum
            | ZipOp::LogAddExp,
        )
        | Op::SumNormalize { .. }
        | Op::Constant { .. }
        | Op::Reduce { .. }
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::Index { .. }
        | Op::Kron
        | Op::Outer { .. }
        | Op::MatMul
        | Op::Flatten { .. }
        | Op::MixingWeight
        | Op::Gaussian(_)
        | Op::PolynomialProduct
        | Op::PolynomialDifferential { .. } => {
            return OpSpec::find(op.name()).map(|spec| spec.tensors)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{graph, optimized};

    const SRC: &str = "fn f(x: &SMatrix<f64, 3, 4>, y: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
        let p = softmax(x, axis = 1);
        add(log(p), hadamard(p, exp(y)))
    }";

    #[test]
    fn compiled_graphs_are_valid() {
        assert_eq!(validate(&graph(SRC)), Ok(()));
        assert_eq!(validate(&optimized(SRC)), Ok(()));
    }

    #[test]
    fn a_wrong_shape_a_dangling_argument_and_a_wrong_arity_are_caught() {
        let mut g = graph(SRC);
        g.nodes[2].shape = crate::testing::dims(&[4, 3]);
        assert!(validate(&g).unwrap_err().contains("holds shape (4, 3)"));
        let mut g = graph(SRC);
        g.nodes[1].args = vec![5];
        assert!(validate(&g)
            .unwrap_err()
            .contains("does not come before it"));
        let mut g = graph(SRC);
        let last = g.nodes.len() - 1;
        g.nodes[last].args.pop();
        assert!(validate(&g).unwrap_err().contains("reads 1 tensors"));
    }

    #[test]
    fn a_result_that_is_not_the_declared_shape_is_caught() {
        let mut g = graph(SRC);
        g.outputs[0] = 0;
        g.nodes[0].shape = crate::testing::dims(&[3, 4]);
        let mut h = g.clone();
        h.sig.outputs[0].shape = crate::testing::dims(&[12]);
        assert!(validate(&h).unwrap_err().contains("declared"));
    }
}
