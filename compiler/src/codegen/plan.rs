//! The plan: a readable listing of the graph the code was generated from,
//! one node per line with its op, attributes, shape and the rule that made
//! it. It is emitted as `NAME_PLAN` and in the fn's doc comment.

use crate::graph::{Graph, MapOp, Op};
use crate::passes::rules::RULES;
use crate::shape::show;

/// The plan of `graph`.
pub fn render(graph: &Graph, stack_bytes: usize) -> String {
    let f = &graph.sig;
    let mut lines = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let args: Vec<String> = node.args.iter().map(|a| format!("%{a}")).collect();
        let call = match &node.op {
            Op::Leaf { param } => format!("leaf `{}`", f.params[*param].name),
            Op::Constant { value, .. } => format!("constant({value})"),
            op => {
                let mut parts = args;
                parts.extend(attributes(op));
                format!("{}({})", op.name(), parts.join(", "))
            }
        };
        let origin = match node.rule {
            Some(rule) => format!("  [rule: {rule}{}]", pattern(rule)),
            None => String::new(),
        };
        lines.push(format!("%{id} = {call} : {}{origin}", show(&node.shape)));
    }
    let outs: Vec<String> = graph.outputs.iter().map(|o| format!("%{o}")).collect();
    lines.push(format!("return {}", outs.join(", ")));
    let mode = if f.optimize {
        "optimized"
    } else {
        "as written (optimize = false)"
    };
    lines.push(format!(
        "{mode}; {} nodes; stack buffers: {stack_bytes} bytes",
        graph.nodes.len()
    ));
    lines.join("\n")
}

fn pattern(rule: &str) -> String {
    RULES
        .iter()
        .find(|r| r.name == rule)
        .map(|r| format!(" from {}", r.pattern))
        .unwrap_or_default()
}

fn attributes(op: &Op) -> Vec<String> {
    let axis = |name: &str, a: &crate::graph::Axis| format!("{name} = {}", a.get());
    match op {
        Op::Map(MapOp::ScaledSigmoid { vmin, vmax }) => {
            vec![format!("vmin = {vmin}"), format!("vmax = {vmax}")]
        }
        Op::Map(MapOp::Clamp { min, max }) => min
            .iter()
            .map(|v| format!("min = {v}"))
            .chain(max.iter().map(|v| format!("max = {v}")))
            .collect(),
        Op::Reduce { axis: a, .. }
        | Op::Softmax { axis: a }
        | Op::LogSoftmax { axis: a }
        | Op::Outer { axis: a, .. }
        | Op::RowMax { axis: a }
        | Op::RowSumExp { axis: a }
        | Op::Normalize { axis: a, .. } => vec![axis("axis", a)],
        Op::Index {
            axis: a, indices, ..
        } => vec![format!("{indices:?}"), axis("axis", a)],
        Op::Flatten { start, end } => vec![axis("start", start), axis("end", end)],
        Op::OuterContract { outer, reduce } => vec![axis("outer", outer), axis("reduce", reduce)],
        // Always the direct O(D1·D2) convolution (cirkit uses an FFT): no
        // FFT round-off, and faster at the small degrees circuits use; there
        // is no FFT path for large ones.
        Op::PolynomialProduct => vec!["method = direct".to_string()],
        Op::PolynomialDifferential { order } => vec![format!("order = {order}")],
        _ => Vec::new(),
    }
}

/// `NAME_PLAN` for a fn called `name` (raw identifiers lose their `r#`).
pub fn const_name(name: &str) -> String {
    format!("{}_PLAN", name.trim_start_matches("r#").to_uppercase())
}
