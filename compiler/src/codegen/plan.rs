//! The plan: a readable listing of the graph the code was generated from,
//! one node per line with its op, attributes, shape, the rule that made it
//! and where its result lives (`{fused}` for a node computed inside its
//! readers' loop, `-> s0` for a stack slot, `-> w0` for a workspace slot);
//! then the slots, the kernels' scratch buffers, and a summary. It is
//! emitted as `NAME_PLAN` and in the fn's doc comment.

use crate::graph::{Graph, Op};
use crate::memory::{Home, Plan};
use crate::passes::rules::RULES;
use crate::shape::{show, show_named};

/// The plan of `graph`, whose buffers `memory` placed; `inlined` marks the
/// nodes fused into their readers.
pub fn render(graph: &Graph, memory: &Plan, inlined: &[bool], elem_bytes: usize) -> String {
    let slot_name = |k: usize| {
        let slot = &memory.slots[k];
        match slot.home {
            Home::Stack => format!("s{}", slot.index),
            Home::Workspace => format!("w{}", slot.index),
        }
    };
    let home_of = |id: usize| {
        memory
            .decls
            .iter()
            .find(|d| d.node == id && d.result)
            .and_then(|d| memory.slot_of.get(&d.name))
            .map(|&k| format!("  -> {}", slot_name(k)))
            .unwrap_or_default()
    };
    let f = &graph.sig;
    let mut lines = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let args: Vec<String> = node.args.iter().map(|a| format!("%{a}")).collect();
        let call = match &node.op {
            Op::Leaf { param } => match &f.cotangent {
                // A part of a VJP's cotangent.
                Some(c) if *param >= c.visible => {
                    let part = *param - c.visible;
                    if c.parts.len() == 1 {
                        "cotangent".to_string()
                    } else {
                        format!("cotangent part {part}")
                    }
                }
                _ => format!("leaf `{}`", f.params[*param].name),
            },
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
        let home = if inlined.get(id).copied().unwrap_or(false) {
            "  {fused}".to_string()
        } else {
            home_of(id)
        };
        // Leaves and results as their types write them: `(K, 4) = (16, 4)`.
        let written = match &node.op {
            Op::Leaf { param } => Some(&f.params[*param].written),
            _ => graph
                .outputs
                .iter()
                .position(|o| *o == id)
                .and_then(|k| f.outputs.get(k))
                .filter(|o| o.kron.is_none() && o.shape == node.shape)
                .map(|o| &o.written),
        };
        let shape = match written {
            Some(written) => show_named(written, &node.shape),
            None => show(&node.shape),
        };
        lines.push(format!("%{id} = {call} : {shape}{home}{origin}"));
    }
    let outs: Vec<String> = graph.outputs.iter().map(|o| format!("%{o}")).collect();
    lines.push(format!("return {}", outs.join(", ")));
    if !memory.slots.is_empty() {
        // Stack slots first, then the workspace's, each in index order.
        let mut order: Vec<usize> = (0..memory.slots.len()).collect();
        order.sort_by_key(|&k| {
            (
                memory.slots[k].home == Home::Workspace,
                memory.slots[k].index,
            )
        });
        let slots: Vec<String> = order
            .into_iter()
            .map(|k| format!("{} [{}]", slot_name(k), memory.slots[k].len))
            .collect();
        lines.push(format!("slots: {}", slots.join(", ")));
    }
    let scratch: Vec<String> = memory
        .decls
        .iter()
        .filter(|d| !d.result)
        .filter_map(|d| {
            let k = memory.slot_of.get(&d.name)?;
            Some(format!("%{} [{}] -> {}", d.node, d.len, slot_name(*k)))
        })
        .collect();
    if !scratch.is_empty() {
        lines.push(format!("scratch: {}", scratch.join(", ")));
    }
    let stack_bytes = memory.elements_in(Home::Stack) * elem_bytes;
    let workspace_bytes = memory.elements_in(Home::Workspace) * elem_bytes;
    let mut rules: Vec<&str> = graph.rules_applied.clone();
    rules.sort_unstable();
    rules.dedup();
    let mode = if !f.optimize {
        "as written (optimize = false)".to_string()
    } else if rules.is_empty() {
        "optimized".to_string()
    } else {
        format!("optimized; rules applied: {}", rules.join(", "))
    };
    lines.push(format!(
        "{mode}; {} nodes; stack buffers: {stack_bytes} bytes; workspace: {workspace_bytes} bytes",
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

/// `key = value` for each attribute, an index's positions bare (as written).
fn attributes(op: &Op) -> Vec<String> {
    let mut parts: Vec<String> = op
        .attributes()
        .into_iter()
        .map(|(key, value)| match key {
            "indices" => value.to_string(),
            _ => format!("{key} = {value}"),
        })
        .collect();
    if let Op::PolynomialProduct = op {
        // Always the direct O(D1·D2) convolution (cirkit uses an FFT): no
        // FFT round-off, and faster at the small degrees circuits use; there
        // is no FFT path for large ones.
        parts.push("method = direct".to_string());
    }
    parts
}

/// `NAME_PLAN` for a fn called `name` (raw identifiers lose their `r#`).
pub fn const_name(name: &str) -> String {
    format!("{}_PLAN", name.trim_start_matches("r#").to_uppercase())
}
