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
//! The nodes a rewrite adds get their shapes from shape inference
//! ([`crate::shape::shape_of`]), never from the rule. A rewrite must not
//! change the shape of a node it replaces (the declared types must hold):
//! [`apply_largest`] reports one that would as an internal error, a bug in
//! the rule that the tests see, instead of skipping it.
//!
//! Adding a rule, and what points at each place:
//! - its file here and its entry in [`RULES`];
//! - for a fused op it introduces: a variant of `Op` (or `MapOp`, `ZipOp`)
//!   with its `name()`, its arm in `shape::shape_of`, in
//!   `passes/validate.rs::arity`, in `codegen` and in `testing/eval.rs` (the
//!   compiler's exhaustive matches; `arity` reports a missing entry as an
//!   internal error naming itself), and its runtime function;
//! - its pattern compiles and the rule rewrites it with the same values
//!   (`every_pattern_compiles_and_its_rule_rewrites_it`);
//! - a program of `tests/optimizer.rs` fires it through the macro, both ways
//!   (`every_rule_fires_end_to_end`), which also compiles its fused kernels;
//! - its row in the README's rule table (`tests/catalogue.rs`).

mod gaussian_product;
mod kron_matmul;
mod log_exp;
mod log_normalize;
mod log_sigmoid;
mod log_softmax;
mod log_sum_exp;
mod sum_outer;

use crate::graph::{Graph, Node, NodeId, Op};
use crate::shape::{shape_of, show, Sites};

/// A named pattern and its rewrite.
pub struct Rule {
    /// Name shown in plans (`[rule: name]`).
    pub name: &'static str,
    /// The pattern: a body in the language that the rule rewrites, shown in
    /// plans. Its leaves are named as in `testing::EXAMPLE_LEAVES` and `d`,
    /// `r` stand for any axis; a test compiles every pattern and checks that
    /// its rule fires on it, so a pattern cannot drift from its matcher.
    pub pattern: &'static str,
    /// Matches at `root` and returns the rewrite.
    pub apply: fn(&Graph, NodeId) -> Option<Rewrite>,
}

impl Rule {
    /// The rule `name` rewriting `pattern` by `apply`.
    pub const fn new(
        name: &'static str,
        pattern: &'static str,
        apply: fn(&Graph, NodeId) -> Option<Rewrite>,
    ) -> Self {
        Rule {
            name,
            pattern,
            apply,
        }
    }
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
    log_normalize::RULE,
];

/// An argument of a new node: an existing node or an earlier new one.
#[derive(Clone, Copy, Debug)]
pub enum Ref {
    /// A node already in the graph.
    Old(NodeId),
    /// The `k`-th node of [`Rewrite::nodes`].
    New(usize),
}

/// A node a rewrite adds; shape inference gives its shape.
pub struct NewNode {
    /// What it computes.
    pub op: Op,
    /// Its tensor arguments.
    pub args: Vec<Ref>,
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
/// match). `Ok(true)` when anything was applied; an error describes a rule
/// that broke the graph (a bug).
pub fn apply_largest(graph: &mut Graph) -> Result<bool, String> {
    let mut found: Vec<(&Rule, Rewrite)> = Vec::new();
    for id in 0..graph.nodes.len() {
        for rule in RULES {
            if let Some(rewrite) = (rule.apply)(graph, id) {
                found.push((rule, rewrite));
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
        apply(graph, rule.name, rewrite)?;
        graph.rules_applied.push(rule.name);
        applied = true;
    }
    if applied {
        graph.reorder();
    }
    Ok(applied)
}

fn apply(graph: &mut Graph, rule: &'static str, rewrite: Rewrite) -> Result<(), String> {
    let base = graph.nodes.len();
    let resolve = |r: Ref| match r {
        Ref::Old(id) => id,
        Ref::New(k) => base + k,
    };
    let root = rewrite.matched[0];
    let span = graph.nodes[root].span;
    let arg_spans = graph.nodes[root].arg_spans.clone();
    for node in rewrite.nodes {
        let args: Vec<NodeId> = node.args.into_iter().map(resolve).collect();
        if let Some(bad) = args.iter().find(|a| **a >= graph.nodes.len()) {
            return Err(format!("rule `{rule}` reads %{bad}, which does not exist"));
        }
        let shapes: Vec<&[crate::dim::Dim]> = args
            .iter()
            .map(|a| graph.nodes[*a].shape.as_slice())
            .collect();
        let sites = Sites {
            span,
            args: &arg_spans,
            literals: &[],
            checks: None,
        };
        let shape = shape_of(&node.op, &shapes, &sites, &graph.sig).map_err(|e| {
            format!(
                "rule `{rule}` adds a `{}` node that does not type: {e}",
                node.op.name()
            )
        })?;
        graph.nodes.push(Node {
            op: node.op,
            args,
            arg_spans: arg_spans.clone(),
            span,
            literal_spans: Vec::new(),
            shape,
            rule: Some(rule),
        });
    }
    for (old, new) in rewrite.replace {
        let new = resolve(new);
        let (was, now) = (&graph.nodes[old].shape, &graph.nodes[new].shape);
        if was != now {
            return Err(format!(
                "rule `{rule}` replaces %{old} of shape {} by a node of shape {}",
                show(was),
                show(now)
            ));
        }
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rewrites, eval, example_graph, optimized_graph, sample_inputs};

    #[test]
    fn every_pattern_compiles_and_its_rule_rewrites_it() {
        for rule in RULES {
            let plain = example_graph(rule.pattern);
            let Some(rewrite) = (0..plain.nodes.len()).find_map(|id| (rule.apply)(&plain, id))
            else {
                panic!(
                    "`{}` does not match its pattern {}",
                    rule.name, rule.pattern
                );
            };
            let fast = optimized_graph(plain.clone());
            let still = (0..fast.nodes.len()).any(|id| (rule.apply)(&fast, id).is_some());
            assert!(!still, "`{}` still matches after the optimizer", rule.name);
            // A rewrite that adds nodes tags them with its name.
            let tagged = fast.nodes.iter().any(|n| n.rule == Some(rule.name));
            assert!(
                tagged || rewrite.nodes.is_empty(),
                "`{}` lost to another rule on its own pattern {}",
                rule.name,
                rule.pattern
            );
            // Same values wherever the pattern as written is finite.
            for seed in 0..4 {
                let inputs = sample_inputs(&plain, seed);
                let want = eval(&plain, &inputs);
                let got = eval(&fast, &inputs);
                for (w, g) in want.iter().zip(&got) {
                    for (x, y) in w.data.iter().zip(&g.data) {
                        let close = (x - y).abs() <= 1e-12 * x.abs().max(1.0);
                        assert!(!x.is_finite() || close, "`{}`: {x} vs {y}", rule.name);
                    }
                }
            }
        }
    }

    /// Each rule on a graph of its own: the ops it leaves, and the values
    /// before and after within the relative tolerance given (round-off of
    /// the fused form; `log_exp` is exact but for `exp`'s last bit).
    #[test]
    fn rewrites_keep_values() {
        let cases: &[(&str, &[&str], f64)] = &[
            (
                "fn f(x: &SVector<f64, 5>) -> SVector<f64, 5> { log(sigmoid(x)) }",
                &["leaf", "log_sigmoid"],
                1e-13,
            ),
            (
                "fn f(x: &[SMatrix<f64, 3, 4>; 2]) -> SMatrix<f64, 2, 4> { log(reduce_sum(exp(x), axis = 1)) }",
                &["leaf", "reduce_lse"],
                1e-13,
            ),
            (
                "fn f(x: &SVector<f64, 3>) -> SVector<f64, 3> { square(log(exp(x))) }",
                &["leaf", "square"],
                1e-15,
            ),
            // Never forms the Kronecker product.
            (
                "fn f(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 4, 2>, x: &SMatrix<f64, 6, 3>) -> SMatrix<f64, 8, 3> { matmul(kron(a, b), x) }",
                &["leaf", "leaf", "leaf", "kron_matmul"],
                1e-12,
            ),
        ];
        for (src, want, rel) in cases {
            assert_rewrites(src, want, *rel);
        }
    }
}
