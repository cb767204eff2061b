//! The optimizer's rewrite rules — this crate's counterpart of cirkit's
//! `DEFAULT_PARAMETER_OPT_RULES`, applied while the macro expands.
//!
//! Each rule lives in its own file with its math in the doc comment. A rule
//! looks at one node (the root of its pattern) and, when the pattern matches,
//! returns a [`Rewrite`]: the nodes it matched, the new nodes, and which old
//! nodes the new ones replace. [`apply_largest`] collects every match in the
//! graph and applies the one that covers the most nodes (cirkit's
//! `LARGEST_MATCH` strategy), then the caller repeats until nothing matches.
//!
//! A rewrite never changes the shape of a node it replaces, so the function's
//! declared types always hold; [`apply_largest`] checks this and skips a
//! rewrite that would break it.

mod gaussian_product;
mod kron_matmul;
mod log_exp;
mod log_sigmoid;
mod log_softmax;
mod log_sum_exp;
mod sum_outer;

use crate::graph::{Graph, Node, NodeId, Op};

/// A named pattern and its rewrite.
pub struct Rule {
    /// Name shown in plans (`[rule: name]`).
    pub name: &'static str,
    /// The pattern, in the language, for documentation and plans.
    pub pattern: &'static str,
    /// Matches at `root` and returns the rewrite.
    pub apply: fn(&Graph, NodeId) -> Option<Rewrite>,
}

/// Every rule, in no particular order: overlaps are resolved by match size.
pub const RULES: &[Rule] = &[
    log_softmax::RULE,
    sum_outer::RULE,
    kron_matmul::RULE,
    log_sigmoid::RULE,
    log_sum_exp::RULE,
    log_exp::RULE,
    gaussian_product::RULE,
];

/// An argument of a new node: an existing node or an earlier new one.
#[derive(Clone, Copy, Debug)]
pub enum Ref {
    /// A node already in the graph.
    Old(NodeId),
    /// The `k`-th node of [`Rewrite::nodes`].
    New(usize),
}

/// A node a rewrite adds.
pub struct NewNode {
    /// What it computes.
    pub op: Op,
    /// Its tensor arguments.
    pub args: Vec<Ref>,
    /// Its shape (the rule knows it).
    pub shape: Vec<usize>,
}

/// The outcome of a match.
pub struct Rewrite {
    /// The nodes the pattern covers, root first (the match size).
    pub matched: Vec<NodeId>,
    /// Nodes to add.
    pub nodes: Vec<NewNode>,
    /// Old nodes whose readers switch to a replacement.
    pub replace: Vec<(NodeId, Ref)>,
}

impl Rewrite {
    /// The usual case: `root` (covering `matched`) becomes the last of `nodes`.
    pub fn single(matched: Vec<NodeId>, nodes: Vec<NewNode>) -> Self {
        let root = matched[0];
        let last = nodes.len() - 1;
        Rewrite {
            matched,
            nodes,
            replace: vec![(root, Ref::New(last))],
        }
    }
}

/// The node's op and sole argument when `op` matches, for pattern matching.
pub fn arg_of(graph: &Graph, id: NodeId, pred: impl Fn(&Op) -> bool) -> Option<NodeId> {
    let node = &graph.nodes[id];
    (pred(&node.op) && node.args.len() == 1).then(|| node.args[0])
}

/// Applies every match of one sweep, largest first: a match that overlaps
/// one already applied is left for the next sweep (where it may no longer
/// match). `true` when anything was applied.
pub fn apply_largest(graph: &mut Graph) -> bool {
    let mut found: Vec<(&Rule, Rewrite)> = Vec::new();
    for id in 0..graph.nodes.len() {
        for rule in RULES {
            if let Some(rewrite) = (rule.apply)(graph, id) {
                if keeps_shapes(graph, &rewrite) {
                    found.push((rule, rewrite));
                }
            }
        }
    }
    // Stable: among equal sizes, the earlier root first.
    found.sort_by_key(|(_, rewrite)| std::cmp::Reverse(rewrite.matched.len()));
    let mut taken = vec![false; graph.nodes.len()];
    let mut applied = false;
    for (rule, rewrite) in found {
        if rewrite.matched.iter().any(|&id| taken[id]) {
            continue;
        }
        for &id in &rewrite.matched {
            taken[id] = true;
        }
        apply(graph, rule.name, rewrite);
        applied = true;
    }
    if applied {
        graph.reorder();
    }
    applied
}

fn keeps_shapes(graph: &Graph, rewrite: &Rewrite) -> bool {
    rewrite.replace.iter().all(|(old, new)| {
        let shape = match new {
            Ref::Old(id) => &graph.nodes[*id].shape,
            Ref::New(k) => match rewrite.nodes.get(*k) {
                Some(n) => &n.shape,
                None => return false,
            },
        };
        *shape == graph.nodes[*old].shape
    })
}

fn apply(graph: &mut Graph, rule: &'static str, rewrite: Rewrite) {
    let base = graph.nodes.len();
    let resolve = |r: Ref| match r {
        Ref::Old(id) => id,
        Ref::New(k) => base + k,
    };
    let root = rewrite.matched[0];
    let span = graph.nodes[root].span;
    let arg_spans = graph.nodes[root].arg_spans.clone();
    for node in rewrite.nodes {
        graph.nodes.push(Node {
            op: node.op,
            args: node.args.into_iter().map(resolve).collect(),
            arg_spans: arg_spans.clone(),
            span,
            shape: node.shape,
            rule: Some(rule),
        });
    }
    for (old, new) in rewrite.replace {
        let new = resolve(new);
        // New nodes read old ones, never the replaced ones; redirecting
        // only the old part of the graph keeps it acyclic.
        for node in &mut graph.nodes[..base] {
            for arg in &mut node.args {
                if *arg == old {
                    *arg = new;
                }
            }
        }
        for out in &mut graph.outputs {
            if *out == old {
                *out = new;
            }
        }
    }
}
