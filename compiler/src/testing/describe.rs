//! The graph IR described with plain values, so a test outside the crate
//! (the facade's reference evaluator) can read every node without matching
//! on the compiler's own types: the op's name as users write it, its
//! argument nodes, and its attributes resolved (axes non-negative, defaults
//! filled in, lists and numbers as written).

pub use crate::graph::Attr;
use crate::graph::{Graph, NodeId, Op};

/// One node of a graph, described.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The op's name ([`Op::name`]): the language's name for the ops users
    /// write (`"leaf"` for a parameter), the fused op's name otherwise.
    pub op: &'static str,
    /// The argument nodes, indices into the graph's nodes (and into the
    /// result of [`calls`]).
    pub args: Vec<NodeId>,
    /// The parameter position, for a leaf.
    pub leaf: Option<usize>,
    /// The attributes, keyed by the language's attribute names (`axis`,
    /// `start`, `vmin`, `order`, `shape`, …); positional values are `value`
    /// (a constant's) and `indices` (an index's). An optional attribute that
    /// is absent (`clamp`'s `min` or `max`) is left out.
    pub attrs: Vec<(&'static str, Attr)>,
    /// The inferred result shape.
    pub shape: Vec<usize>,
}

impl Call {
    /// Attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn missing(&self, key: &str, what: &str) -> ! {
        panic!(
            "`{}` has no {what} attribute `{key}` (it has {:?})",
            self.op, self.attrs
        )
    }

    /// Integer attribute `key` (an axis or a count); panics if absent.
    pub fn int(&self, key: &str) -> usize {
        match self.attr(key) {
            Some(Attr::Int(n)) => *n,
            _ => self.missing(key, "integer"),
        }
    }

    /// Number attribute `key`, or `None` if absent; panics if it is not a
    /// number.
    pub fn number_opt(&self, key: &str) -> Option<f64> {
        match self.attr(key) {
            Some(Attr::Number(x)) => Some(*x),
            None => None,
            Some(_) => self.missing(key, "number"),
        }
    }

    /// Number attribute `key`; panics if absent.
    pub fn number(&self, key: &str) -> f64 {
        self.number_opt(key)
            .unwrap_or_else(|| self.missing(key, "number"))
    }

    /// List attribute `key` (sizes or positions the macro knows); panics
    /// if absent.
    pub fn list(&self, key: &str) -> Vec<usize> {
        match self.attr(key) {
            Some(Attr::List(l)) => super::values(l),
            _ => self.missing(key, "list"),
        }
    }
}

/// Every node of `graph`, in order (arguments before readers).
pub fn calls(graph: &Graph) -> Vec<Call> {
    graph
        .nodes
        .iter()
        .map(|node| {
            let leaf = match node.op {
                Op::Leaf { param } => Some(param),
                _ => None,
            };
            Call {
                op: node.op.name(),
                args: node.args.clone(),
                leaf,
                attrs: node.op.attributes(),
                shape: super::values(&node.shape),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_nodes_with_resolved_attributes() {
        let g = super::super::graph(
            "fn f(x: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 2> {
                let c = clamp(x, min = -0.5);
                let s = softmax(c);
                index(s, [2, 0], axis = -1)
            }",
        );
        let calls = calls(&g);
        let ops: Vec<&str> = calls.iter().map(|c| c.op).collect();
        assert_eq!(ops, ["leaf", "clamp", "softmax", "index"]);
        assert_eq!(calls[0].leaf, Some(0));
        assert_eq!(calls[1].args, [0]);
        assert_eq!(calls[1].number_opt("min"), Some(-0.5));
        assert_eq!(calls[1].number_opt("max"), None);
        assert_eq!(calls[2].int("axis"), 1, "the default axis, resolved");
        assert_eq!(calls[3].int("axis"), 1);
        assert_eq!(calls[3].list("indices"), [2, 0]);
        assert_eq!(calls[3].shape, [2, 2]);
    }
}
