//! Writes `tests/stack_random/generated.rs`: [`PROGRAMS`] random
//! well-shaped programs over large tensors, each compiled twice by
//! `param_graph!` (default, and `#[param_graph(fuse = false)]`), with a
//! `#[test]` that runs both on a 2 MiB stack and compares them with each
//! other and with the IR interpreter (`tests/stack_random.rs`, `check`).
//!
//! The programs come from the random program generator of the compiler's
//! differential test (`compiler/tests/differential.rs`: the same ops, the
//! rules' patterns planted among them), over leaves of 65 536 elements
//! ([`LEAVES`]: 512 KB each in `f64`). An op whose result (or, for
//! `reduce_sum(outer_product(..))`, whose outer product) would exceed
//! [`MAX_ELEMENTS`] is skipped, and a program is kept only when its
//! intermediate buffers as compiled, one per node ([`naive_bytes`]: what a
//! code generator without fusion or shared buffers would declare), exceed
//! [`NAIVE_BYTES`] (2 MiB), the stack of the thread the test runs it on. The macro runs at compile time, so the programs are
//! generated ahead of time; `generated_file_is_fresh` regenerates and
//! compares.

use param_graph_compiler::testing::{optimized, type_name, DType, Rng as Dice};
use std::fmt::Write as _;

/// How many programs the file holds.
pub const PROGRAMS: usize = 24;

/// The first seed tried; seeds count up from it until [`PROGRAMS`] are kept.
pub const FIRST_SEED: u64 = 0x5eed_0000;

/// The leaves' shapes: 65 536 elements each.
pub const LEAVES: &[&[usize]] = &[&[256, 256], &[4, 128, 128], &[64, 1024], &[16, 64, 64]];

/// The largest node (elements) a program may have: 2 MiB in `f64`.
pub const MAX_ELEMENTS: usize = 1 << 18;

/// A program is kept when its nodes' buffers as written exceed this.
pub const NAIVE_BYTES: usize = 2 << 20;

/// The type of a tensor of `shape` (every program here is `f64`).
fn type_of(shape: &[usize]) -> String {
    type_name(shape, DType::F64)
}

fn elements(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// A random well-shaped program: the types of its parameters `a` and `b`,
/// its return type and its body; `None` when it has no op.
pub fn random_program(seed: u64) -> Option<([String; 2], String, String)> {
    let mut dice = Dice(seed);
    let a: Vec<usize> = LEAVES[dice.below(LEAVES.len())].to_vec();
    let b = if dice.below(2) == 0 {
        a.clone()
    } else {
        LEAVES[dice.below(LEAVES.len())].to_vec()
    };
    let mut pool: Vec<(String, Vec<usize>)> =
        vec![("a".into(), a.clone()), ("b".into(), b.clone())];
    let mut lets = Vec::new();
    for step in 0..(3 + dice.below(6)) {
        let (x, xs) = pool[dice.below(pool.len())].clone();
        let same: Vec<_> = pool.iter().filter(|(_, s)| *s == xs).cloned().collect();
        let (y, _) = same[dice.below(same.len())].clone();
        let rank = xs.len();
        let axis = if rank > 0 { dice.below(rank) } else { 0 };
        let mut reduced = xs.clone();
        if rank > 0 {
            reduced.remove(axis);
        }
        let mut doubled = xs.clone();
        if rank > 0 {
            doubled[axis] *= xs[axis];
        }
        let vectors: Vec<_> = pool.iter().filter(|(_, s)| s.len() == 1).cloned().collect();
        let choice = dice.below(15);
        let (expr, shape) = match choice {
            0 => (format!("log(softmax({x}, axis = {axis}))"), xs.clone()),
            1 => {
                let r = dice.below(rank.max(1));
                if elements(&doubled) > MAX_ELEMENTS {
                    continue;
                }
                let mut s = doubled.clone();
                if rank > 0 {
                    s.remove(r);
                }
                (
                    format!("reduce_sum(outer_product({x}, {y}, axis = {axis}), axis = {r})"),
                    s,
                )
            }
            2 => (format!("log(sigmoid({x}))"), xs.clone()),
            3 => (
                format!("log(reduce_sum(exp({x}), axis = {axis}))"),
                reduced.clone(),
            ),
            4 => (format!("log(exp({x}))"), xs.clone()),
            5 => (format!("softmax({x}, axis = {axis})"), xs.clone()),
            6 => (format!("hadamard({x}, {y})"), xs.clone()),
            7 => (format!("add({x}, {y})"), xs.clone()),
            8 => (format!("exp(clamp({x}, max = 3.0))"), xs.clone()),
            9 => (format!("reduce_lse({x}, axis = {axis})"), reduced.clone()),
            10 => (
                format!("outer_sum({x}, {y}, axis = {axis})"),
                doubled.clone(),
            ),
            11 => (format!("square({x})"), xs.clone()),
            12 => (format!("sigmoid({x})"), xs.clone()),
            13 => (format!("reduce_sum({x}, axis = {axis})"), reduced.clone()),
            _ => {
                // Two parameters of one product of Gaussian layers.
                if rank != 1 {
                    continue;
                }
                let (z, zs) = vectors[dice.below(vectors.len())].clone();
                let part = ["mean", "log_partition"][dice.below(2)];
                (
                    format!(
                        "add(gaussian_product_{part}({y}, {x}, {z}, {z}), gaussian_product_stddev({x}, {z}))"
                    ),
                    vec![xs[0] * zs[0]],
                )
            }
        };
        if rank == 0 && !matches!(choice, 2 | 4 | 6 | 7 | 8 | 11 | 12) {
            continue;
        }
        if elements(&shape) > MAX_ELEMENTS {
            continue;
        }
        let name = format!("v{step}");
        lets.push(format!("let {name} = {expr};"));
        pool.push((name, shape));
    }
    if lets.is_empty() {
        return None;
    }
    let (out, out_shape) = pool.last().cloned().unwrap_or(("a".into(), a.clone()));
    lets.push(out);
    Some((
        [type_of(&a), type_of(&b)],
        type_of(&out_shape),
        lets.join("\n"),
    ))
}

/// Bytes of the intermediate buffers of `src` as compiled (optimized), one
/// per node that is neither a leaf nor the result: what a code generator
/// without fusion or shared buffers would declare.
pub fn naive_bytes(src: &str) -> usize {
    let g = optimized(src);
    g.nodes
        .iter()
        .enumerate()
        .filter(|(id, n)| n.op.name() != "leaf" && !g.outputs.contains(id))
        .map(|(_, n)| n.shape.iter().product::<usize>() * 8)
        .sum()
}

/// One kept program.
pub struct Program {
    pub seed: u64,
    /// The types of `a` and `b`.
    pub params: [String; 2],
    pub ret: String,
    pub body: String,
    pub naive_bytes: usize,
}

impl Program {
    /// Its source as one fn called `name`.
    pub fn source(&self, name: &str) -> String {
        format!(
            "fn {name}(a: &{}, b: &{}) -> {} {{\n{}\n}}",
            self.params[0], self.params[1], self.ret, self.body
        )
    }
}

/// The first [`PROGRAMS`] programs from [`FIRST_SEED`] on whose naive
/// buffers exceed [`NAIVE_BYTES`].
pub fn programs() -> Vec<Program> {
    let mut kept = Vec::new();
    let mut seed = FIRST_SEED;
    while kept.len() < PROGRAMS {
        if let Some((params, ret, body)) = random_program(seed) {
            let p = Program {
                seed,
                params,
                ret,
                body,
                naive_bytes: 0,
            };
            let naive = naive_bytes(&p.source("f"));
            if naive > NAIVE_BYTES {
                kept.push(Program {
                    naive_bytes: naive,
                    ..p
                });
            }
        }
        seed += 1;
    }
    kept
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}\n"))
        .collect::<String>()
}

/// The whole generated file.
pub fn generate() -> String {
    let mut s = String::new();
    s.push_str(
        "// Generated by tests/stack_random/generate.rs; do not edit. Regenerate with\n\
         //   UPDATE_STACK_RANDOM=1 cargo test -p param-graph --test stack_random generated_file_is_fresh\n\
         //\n\
         // Each program: the default fn and a `fuse = false` copy, run on a 2 MiB stack\n\
         // by `check` (tests/stack_random.rs) against each other and the IR interpreter.\n\n\
         use crate::support::RowMajor;\n\
         use crate::{check, input};\n\
         use param_graph::nalgebra::{SMatrix, SVector};\n\
         use param_graph::param_graph;\n\
         use param_graph::runtime::zeroed_box;\n",
    );
    for (k, p) in programs().iter().enumerate() {
        let name = format!("p{k:02}");
        let src = p.source(&name);
        let unfused_src = p.source(&format!("{name}_unfused"));
        writeln!(
            s,
            "\n// Seed {:#x}; naive buffers {} bytes.\nconst {}: &str = {:?};\n",
            p.seed,
            p.naive_bytes,
            name.to_uppercase(),
            src
        )
        .unwrap();
        write!(
            s,
            "param_graph! {{\n{}\n    #[param_graph(fuse = false)]\n{}}}\n",
            indent(&src, "    ").trim_end(),
            indent(&unfused_src, "    ")
        )
        .unwrap();
        let mut run = String::new();
        for (j, t) in p.params.iter().enumerate() {
            let v = ["a", "b"][j];
            writeln!(run, "let mut {v}: Box<{t}> = zeroed_box();").unwrap();
            writeln!(run, "input(&mut *{v}, &inputs[{j}]);").unwrap();
        }
        writeln!(run, "let mut fused: Box<{}> = zeroed_box();", p.ret).unwrap();
        writeln!(run, "let mut unfused: Box<{}> = zeroed_box();", p.ret).unwrap();
        writeln!(run, "{name}_into(&a, &b, &mut fused);").unwrap();
        writeln!(run, "{name}_unfused_into(&a, &b, &mut unfused);").unwrap();
        writeln!(run, "(fused.to_row_major(), unfused.to_row_major())").unwrap();
        write!(
            s,
            "\n#[test]\nfn {name}_on_a_2_mib_stack() {{\n    check({0}, [{0}_PLAN, {0}_UNFUSED_PLAN], |inputs| {{\n{1}    }});\n}}\n",
            name.to_uppercase(),
            indent(&run, "        ")
        )
        .unwrap();
    }
    s
}

/// `text` without whitespace or trailing commas before a closing bracket:
/// what the freshness check compares (rustfmt may lay the file out
/// differently from the generator).
pub fn normalize(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed
        .replace(",)", ")")
        .replace(",]", "]")
        .replace(",}", "}")
}
