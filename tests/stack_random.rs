//! Random graphs whose buffers, one per node, would not fit a 2 MiB stack
//! run on a 2 MiB stack and give the same values fused and unfused, and the
//! same as the IR interpreter; so do their VJPs.
//!
//! `stack_random/generated.rs` holds 24 random well-shaped programs (the
//! differential test's generator, `compiler/tests/differential.rs`, over
//! leaves of 65 536 elements; see `stack_random/generate.rs`), each
//! compiled twice: by default (with `#[param_graph(vjp)]`) and with
//! `#[param_graph(fuse = false)]`. For each, [`check`]
//!
//! - evaluates the program's source with the IR interpreter
//!   (`param_graph_compiler::testing::eval` of `testing::graph`: the graph
//!   as written, unoptimized) on deterministic pseudo-random inputs in
//!   `[-2, 2)` (`testing::sample_inputs`, seed [`INPUT_SEED`]);
//! - checks the three fns' plans (the VJP's too) keep at most 64 KiB of
//!   buffers on the stack;
//! - runs both compiled fns (`name_into`) on a thread with a 2 MiB stack,
//!   inputs and outputs boxed (`zeroed_box`, filled in place);
//! - asserts fused == unfused within 1e-12 relative or 1e-12 absolute
//!   (non-finite values identical), and both == the interpreter within
//!   1e-9 relative or 1e-12 absolute wherever the interpreter's value is
//!   finite (the optimizer's guarantee: a rewrite may turn an overflow of
//!   the graph as written into a finite value);
//! - runs the VJP (`name_vjp_into`) on the same thread, for a cotangent of
//!   pseudo-random values in `[-1, 1)`, and asserts both leaves' cotangents
//!   equal the interpreter's evaluation of the VJP graph of the optimized
//!   graph (`testing::vjp`, whose backward ops the interpreter writes out
//!   plainly, row-major) within 1e-9 relative or 1e-12 absolute wherever
//!   the interpreter's are finite.
//!
//! The macro runs at compile time, so the programs are generated ahead of
//! time. After changing the generator, regenerate with
//!
//! ```text
//! UPDATE_STACK_RANDOM=1 cargo test -p param-graph --test stack_random generated_file_is_fresh
//! ```
//!
//! (if the stale file no longer compiles, empty it first); without it,
//! [`generated_file_is_fresh`] fails when the file is not what the
//! generator makes.

mod support;

#[path = "stack_random/generate.rs"]
mod generate;

#[path = "stack_random/generated.rs"]
mod generated;

use param_graph_compiler::testing::{eval, graph, optimized, sample_inputs, vjp, Tensor};
use std::path::PathBuf;
use support::assert_close_abs;

/// The stack of the thread the programs run on.
const STACK: usize = 2 << 20;

/// The seed of the inputs.
const INPUT_SEED: u64 = 7;

/// What a program's fns computed, row-major.
pub struct Runs {
    /// The default fn's result.
    pub fused: Vec<f64>,
    /// The `fuse = false` copy's.
    pub unfused: Vec<f64>,
    /// The default fn's VJP: the cotangents of `a` and `b`.
    pub grads: [Vec<f64>; 2],
}

/// Runs a program's fns on row-major inputs and, for the VJP, a row-major
/// cotangent.
type Run = fn(&[Vec<f64>], &[f64]) -> Runs;

/// Runs `src`'s program (`run` calls its fused and unfused fns on the
/// row-major `inputs` and returns their row-major results) on a 2 MiB
/// stack and compares as the module doc says; `plans` are the two fns'
/// plans, whose stack buffers must fit the 64 KiB budget.
fn check(src: &'static str, plans: [&str; 3], run: Run) {
    for plan in plans {
        let summary = plan.lines().last().unwrap_or_default();
        let stack: usize = summary
            .split("stack buffers: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no stack size in `{summary}`"));
        assert!(stack <= 64 << 10, "{stack} bytes on the stack:\n{plan}");
        eprintln!("{summary}");
    }
    let g = graph(src);
    let inputs = sample_inputs(&g, INPUT_SEED);
    let want = eval(&g, &inputs);
    assert_eq!(want.len(), 1, "one result: {src}");
    let want = &want[0].data;
    // A parameter the program does not read has no leaf: the interpreter
    // gets a scalar placeholder for it, the compiled fns zeros.
    // (`sample_inputs` stops at the last parameter with a leaf).
    let mut data: Vec<Vec<f64>> = inputs
        .into_iter()
        .map(|t| {
            if t.shape.is_empty() {
                Vec::new()
            } else {
                t.data
            }
        })
        .collect();
    data.resize(g.sig.params.len(), Vec::new());
    // The VJP's cotangent: values in [-1, 1) of the result's shape.
    let mut rng = param_graph_compiler::testing::Rng(INPUT_SEED);
    let cotangent: Vec<f64> = (0..want.len())
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        .collect();
    let want_grads = interpreted_vjp(src, &inputs_of(&data, &g), &cotangent);
    let ct = cotangent.clone();
    let Runs {
        fused,
        unfused,
        grads,
    } = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || run(&data, &ct))
        .expect("spawn")
        .join()
        .unwrap_or_else(|_| panic!("the program ran on a 2 MiB stack: {src}"));
    for (k, (got, want)) in grads.iter().zip(&want_grads).enumerate() {
        assert_eq!(
            got.len(),
            want.len(),
            "gradient {k}: element count in {src}"
        );
        let finite: Vec<usize> = (0..want.len()).filter(|&i| want[i].is_finite()).collect();
        let pick = |v: &[f64]| finite.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        assert_close_abs(
            &format!("VJP (leaf {k}) vs the interpreter's in\n{src}\n"),
            &pick(got),
            &pick(want),
            1e-9,
            1e-12,
        );
    }
    assert_close_abs(
        &format!("fused vs unfused in\n{src}\n"),
        &fused,
        &unfused,
        1e-12,
        1e-12,
    );
    let finite: Vec<usize> = (0..want.len()).filter(|&i| want[i].is_finite()).collect();
    let pick = |v: &[f64]| finite.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let want_finite = pick(want);
    for (what, got) in [("fused", &fused), ("unfused", &unfused)] {
        assert_eq!(got.len(), want.len(), "{what}: element count in {src}");
        assert_close_abs(
            &format!("{what} vs interpreter in\n{src}\n"),
            &pick(got),
            &want_finite,
            1e-9,
            1e-12,
        );
    }
}

/// The interpreter's tensors for the compiled fns' row-major inputs
/// (zeros for a parameter the program does not read).
fn inputs_of(data: &[Vec<f64>], g: &param_graph_compiler::testing::Graph) -> Vec<Tensor> {
    g.sig
        .params
        .iter()
        .zip(data)
        .map(|(p, d)| Tensor {
            shape: param_graph_compiler::testing::values(&p.shape),
            data: if d.is_empty() {
                vec![
                    0.0;
                    param_graph_compiler::testing::values(&p.shape)
                        .iter()
                        .product()
                ]
            } else {
                d.clone()
            },
        })
        .collect()
}

/// The cotangents of `a` and `b` by the interpreter's evaluation of the VJP
/// of the optimized graph (what the default fn's VJP computes).
fn interpreted_vjp(src: &str, inputs: &[Tensor], cotangent: &[f64]) -> Vec<Vec<f64>> {
    let g = optimized(src);
    let ct = Tensor {
        shape: param_graph_compiler::testing::values(&g.sig.outputs[0].shape),
        data: cotangent.to_vec(),
    };
    let mut all = inputs.to_vec();
    all.push(ct);
    eval(&vjp(&g), &all).into_iter().map(|t| t.data).collect()
}

/// Copies row-major `data` into `x`; leaves `x` as it is (zeros) when
/// `data` is empty (a parameter the program does not read).
fn input<T: support::FillRowMajor>(x: &mut T, data: &[f64]) {
    if !data.is_empty() {
        x.copy_row_major(data);
    }
}

fn generated_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/stack_random/generated.rs")
}

#[test]
fn generated_file_is_fresh() {
    let want = generate::generate();
    let path = generated_path();
    if std::env::var_os("UPDATE_STACK_RANDOM").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let _ = std::process::Command::new("rustfmt")
            .args(["--edition", "2021"])
            .arg(&path)
            .status();
        eprintln!("rewrote {}", path.display());
        return;
    }
    let have = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        generate::normalize(&have) == generate::normalize(&want),
        "tests/stack_random/generated.rs is stale: it is not what \
         tests/stack_random/generate.rs makes. Regenerate it with\n  \
         UPDATE_STACK_RANDOM=1 cargo test -p param-graph --test stack_random generated_file_is_fresh"
    );
}

/// Every program's naive buffers exceed the 2 MiB stack it runs on, and
/// the programs are not all alike.
#[test]
fn the_programs_are_big_and_varied() {
    let programs = generate::programs();
    assert_eq!(programs.len(), generate::PROGRAMS);
    assert!(programs
        .iter()
        .all(|p| p.naive_bytes > generate::NAIVE_BYTES));
    let mut ops = std::collections::BTreeSet::new();
    for p in &programs {
        ops.extend(graph(&p.source("f")).nodes.iter().map(|n| n.op.name()));
    }
    for op in [
        "softmax",
        "outer_product",
        "outer_sum",
        "reduce_lse",
        "sigmoid",
        "exp",
        "hadamard",
    ] {
        assert!(ops.contains(op), "no program uses {op}: {ops:?}");
    }
}
