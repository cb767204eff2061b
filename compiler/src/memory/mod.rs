//! Stage 5 — memory planning: which nodes run fused inside their readers'
//! loops ([`fusion`]), and where every remaining buffer lives.
//!
//! Code generation runs twice. The first run records every buffer a kernel
//! declares (a node's result or a kernel's scratch) with its length and the
//! node declaring it; [`plan`] then gives each buffer a *slot*. A buffer is
//! live from the node that writes it to the last node that reads it (a
//! scratch buffer only during its node); buffers whose lifetimes do not
//! overlap share a slot (greedy interval colouring, best fit, as XLA's
//! buffer assignment). Slots are put on the stack, smallest first, while
//! their total stays within [`STACK_BUDGET`]; the others are fields of the
//! fn's workspace, boxed on the heap. The second run emits each buffer as a
//! view of its slot.

pub mod fusion;

use crate::dim::Dim;
use crate::graph::{Graph, NodeId};
use std::collections::HashMap;

/// Bytes of buffers a generated fn keeps on its own stack frame, whatever
/// the sizes of its tensors; larger buffers live in its workspace.
pub const STACK_BUDGET: usize = 64 * 1024;

/// Elements of the strip a fused loop computes at a time when it calls a
/// vectorized kernel (`exp`) in the middle: small enough to stay in L1.
pub const STRIP: usize = 256;

/// A buffer a kernel declared.
#[derive(Clone, Debug)]
pub struct Decl {
    /// Its name in the generated code.
    pub name: String,
    /// Elements.
    pub len: Dim,
    /// The node whose kernel declared it.
    pub node: NodeId,
    /// `true` for the node's result, `false` for a scratch buffer.
    pub result: bool,
}

/// Where a slot lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// A local array of the generated fn.
    Stack,
    /// A field of the fn's workspace.
    Workspace,
}

/// A storage unit shared by buffers whose lifetimes do not overlap.
#[derive(Clone, Debug)]
pub struct Slot {
    /// Elements (the largest buffer it holds).
    pub len: Dim,
    /// Where it lives.
    pub home: Home,
    /// Its index among the slots of its home (`s0`, `s1`, … / `w0`, …).
    pub index: usize,
}

/// The memory plan of one generated fn.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Every slot.
    pub slots: Vec<Slot>,
    /// The slot of each buffer, by name.
    pub slot_of: HashMap<String, usize>,
    /// The buffers, in the order they were declared.
    pub decls: Vec<Decl>,
}

impl Plan {
    /// The slots living in `home`, in index order.
    pub fn slots_in(&self, home: Home) -> impl Iterator<Item = &Slot> {
        let mut slots: Vec<&Slot> = self.slots.iter().filter(|s| s.home == home).collect();
        slots.sort_by_key(|s| s.index);
        slots.into_iter()
    }

    /// Elements in slots living in `home`.
    pub fn elements_in(&self, home: Home) -> Dim {
        self.slots_in(home).map(|s| s.len).sum()
    }
}

/// For every node, the last node that reads its buffer: `usize::MAX` when a
/// result of the fn is (or is stored in) it. A node inlined into its readers
/// reads its arguments where those readers run; a node aliasing its
/// argument's buffer (`alias_of`, a `flatten` of adjacent axes) extends that
/// buffer's life instead of having one.
pub fn last_reads(graph: &Graph, alias_of: &[Option<NodeId>], inlined: &[bool]) -> Vec<usize> {
    let n = graph.nodes.len();
    // Where each node's computation runs: itself, or (inlined) the latest
    // of its readers' sites.
    let mut site: Vec<usize> = (0..n).collect();
    let mut readers: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    for (id, node) in graph.nodes.iter().enumerate() {
        for &a in &node.args {
            readers[a].push(id);
        }
    }
    for id in (0..n).rev() {
        if inlined[id] {
            site[id] = readers[id].iter().map(|r| site[*r]).max().unwrap_or(id);
        }
    }
    let owner = |mut id: NodeId| {
        while let Some(Some(source)) = alias_of.get(id) {
            id = *source;
        }
        id
    };
    let mut last: Vec<usize> = (0..n).collect();
    for (id, node) in graph.nodes.iter().enumerate() {
        for &a in &node.args {
            let o = owner(a);
            last[o] = last[o].max(site[id]);
        }
    }
    for &out in &graph.outputs {
        last[owner(out)] = usize::MAX;
        // A factored `Kron` result is copied out of its factors at the end.
        for &a in &graph.nodes[out].args {
            if matches!(graph.nodes[out].op, crate::graph::Op::Kron) {
                last[owner(a)] = usize::MAX;
            }
        }
    }
    last
}

/// Assigns slots to `decls` (in declaration order, which is node order);
/// `last_read[n]` is the last node reading node `n`'s result (`usize::MAX`
/// when a result of the fn reads it, at the very end). `elem_bytes` is the
/// size of an element.
///
/// A length only rustc knows (`crate::dim`) shares a slot only where the
/// slot is certainly large enough (`K * 4` holds `K * 2`), and lives in the
/// workspace: the stack holds what the macro can count.
pub fn plan(decls: Vec<Decl>, last_read: &[usize], elem_bytes: usize) -> Plan {
    // (slot length, last node using it) per slot.
    let mut slots: Vec<(Dim, usize)> = Vec::new();
    let mut slot_of = HashMap::new();
    for d in &decls {
        let end = if d.result {
            last_read
                .get(d.node)
                .copied()
                .unwrap_or(usize::MAX)
                .max(d.node)
        } else {
            d.node
        };
        // Free: last used before this node starts (a node reads its
        // arguments while it writes its result, so they must not share).
        let free = |(_, busy): &(Dim, usize)| *busy < d.node;
        let fitting = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| free(s) && s.0.certainly_ge(d.len))
            .min_by_key(|(_, s)| s.0)
            .map(|(k, _)| k);
        let k = fitting
            .or_else(|| {
                // No free slot is large enough: grow the largest free one
                // (when its size and this buffer's compare).
                slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| free(s) && s.0.certain_max(d.len).is_some())
                    .max_by_key(|(_, s)| s.0)
                    .map(|(k, _)| k)
            })
            .unwrap_or_else(|| {
                slots.push((Dim::ZERO, 0));
                slots.len() - 1
            });
        let len = slots[k].0.certain_max(d.len).unwrap_or(d.len);
        slots[k] = (len, end);
        slot_of.insert(d.name.clone(), k);
    }
    // Smallest slots on the stack while they fit the budget.
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&k| (slots[k].0, k));
    let mut homes = vec![Home::Workspace; slots.len()];
    let mut stack_bytes = 0usize;
    for &k in &order {
        let Some(len) = slots[k].0.value() else {
            continue;
        };
        let bytes = len.saturating_mul(elem_bytes);
        if stack_bytes.saturating_add(bytes) <= STACK_BUDGET {
            stack_bytes += bytes;
            homes[k] = Home::Stack;
        }
    }
    let mut counts = [0usize; 2];
    let slots = slots
        .iter()
        .zip(homes)
        .map(|(&(len, _), home)| {
            let c = &mut counts[usize::from(home == Home::Workspace)];
            *c += 1;
            Slot {
                len,
                home,
                index: *c - 1,
            }
        })
        .collect();
    Plan {
        slots,
        slot_of,
        decls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of buffers `(name, len, node, result)` whose results are
    /// last read at `last`, 8-byte elements.
    fn planned(buffers: &[(&str, usize, NodeId, bool)], last: &[usize]) -> Plan {
        let decls = buffers
            .iter()
            .map(|&(name, len, node, result)| Decl {
                name: name.into(),
                len: Dim::known(len),
                node,
                result,
            })
            .collect();
        plan(decls, last, 8)
    }

    /// v1 is read by node 2 only, v2 by node 3, v3 at the end; m2 is node
    /// 2's scratch. v3 reuses v1's slot (dead after node 2, the best fit),
    /// never v2's; the scratch shares with neither its node's input nor its
    /// result; the result of node 2 cannot take its input's slot.
    #[test]
    fn buffers_share_slots_exactly_when_their_lifetimes_do_not_overlap() {
        let buffers = [
            ("v1", 100, 1, true),
            ("m2", 10, 2, false),
            ("v2", 100, 2, true),
            ("v3", 80, 3, true),
        ];
        let p = planned(&buffers, &[0, 2, 3, usize::MAX]);
        let s = |n: &str| p.slot_of[n];
        assert_eq!(p.slots.len(), 3);
        assert_eq!(s("v3"), s("v1"));
        assert_ne!(s("v2"), s("v3"));
        assert_ne!(s("v2"), s("v1"));
        assert_ne!(s("m2"), s("v1"));
        assert_ne!(s("m2"), s("v2"));
    }

    #[test]
    fn slots_beyond_the_stack_budget_go_to_the_workspace() {
        let big = STACK_BUDGET / 8 + 1;
        let p = planned(
            &[("small", 16, 1, true), ("big", big, 2, true)],
            &[0, usize::MAX, usize::MAX],
        );
        assert_eq!(p.slots[p.slot_of["small"]].home, Home::Stack);
        assert_eq!(p.slots[p.slot_of["big"]].home, Home::Workspace);
        assert!(p.elements_in(Home::Stack).value().unwrap() * 8 <= STACK_BUDGET);
    }

    #[test]
    fn sizes_only_rustc_knows_share_where_certainly_large_enough_and_live_in_the_workspace() {
        crate::dim::reset();
        let sym = |text: &str| {
            Dim::symbol(crate::dim::Symbol {
                tokens: text.parse().unwrap(),
                text: text.to_string(),
                generic: false,
            })
        };
        let (k, m) = (sym("K"), sym("M"));
        let decl = |name: &str, len: Dim, node: NodeId| Decl {
            name: name.into(),
            len,
            node,
            result: true,
        };
        // v1 (K·4) dies at node 2: v2 (K·2) fits in it, v3 (M) does not.
        let decls = vec![
            decl("v1", k * 4, 1),
            decl("v2", k * 2, 3),
            decl("v3", m, 4),
            decl("v4", Dim::known(8), 5),
        ];
        let p = plan(
            decls,
            &[0, 2, usize::MAX, usize::MAX, usize::MAX, usize::MAX],
            8,
        );
        let s = |n: &str| p.slot_of[n];
        assert_eq!(s("v1"), s("v2"));
        assert_eq!(p.slots[s("v2")].len, k * 4);
        assert_ne!(s("v3"), s("v1"));
        for symbolic in ["v1", "v3"] {
            assert_eq!(p.slots[s(symbolic)].home, Home::Workspace);
        }
        assert_eq!(p.slots[s("v4")].home, Home::Stack);
        assert_eq!(p.elements_in(Home::Workspace), k * 4 + m);
    }
}
