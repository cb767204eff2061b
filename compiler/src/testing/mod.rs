//! Test support (the `testing` feature): compile a source text to its graph
//! IR, run the passes on it, and evaluate it with a slow interpreter, so
//! rules, passes and the optimizer as a whole are checked by running graphs
//! before and after; and describe a graph's nodes with plain values
//! ([`calls`]), so the facade's reference evaluator can run the graph the
//! front end built. Nothing here is used to expand the macro.

mod describe;
mod eval;
mod eval_vjp;
mod random;

pub use crate::graph::ops::{OpSpec, OPS};
pub use crate::graph::{DType, Dim, Graph};

pub use describe::{calls, Attr, Call};
pub use eval::{eval, sample_inputs, Tensor};
pub use random::{named_sizes, random_program, RandomProgram};

use crate::graph::lower::lower;

/// The type a user writes for a tensor of `shape` (`shape::type_name`).
pub fn type_name(shape: &[usize], dtype: DType) -> String {
    crate::shape::type_name(&dims(shape), dtype)
}

/// Sizes as the compiler's [`Dim`]s.
pub fn dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&n| Dim::known(n)).collect()
}

/// The values of sizes the macro knows: the interpreter runs graphs over
/// literal and block-constant sizes only (a size only rustc knows has no
/// value here; panics).
pub fn values(shape: &[Dim]) -> Vec<usize> {
    shape
        .iter()
        .map(|d| {
            d.value()
                .unwrap_or_else(|| panic!("the interpreter needs known sizes, found `{d}`"))
        })
        .collect()
}
use crate::parse::parse_block;

/// The optimizer's rules: each one's name and pattern, as plans show them
/// (`[rule: name from pattern]`).
pub fn rules() -> Vec<(&'static str, &'static str)> {
    crate::passes::rules::RULES
        .iter()
        .map(|r| (r.name, r.pattern))
        .collect()
}

/// The graph of `src` (one fn) as written, shapes inferred and dead nodes
/// removed. Panics with the compiler's message when `src` does not compile.
pub fn graph(src: &str) -> Graph {
    let tokens = src.parse().expect("the source lexes");
    let fns = parse_block(tokens).unwrap_or_else(|e| panic!("{e}: {src}"));
    let written = lower(&fns[0]).unwrap_or_else(|e| panic!("{e}: {src}"));
    let mut g = crate::shape::infer(written).unwrap_or_else(|e| panic!("{e}: {src}"));
    crate::passes::prune(&mut g);
    g
}

/// The shapes of the leaves that rule patterns and the catalogue's example
/// calls are written over ([`example_graph`]): every pattern and example
/// type-checks over them (`kron(a, b)` is `(4, 4)`, so
/// `matmul(kron(a, b), x)` fits; `x` and `y` add and multiply).
pub const EXAMPLE_LEAVES: &[(&str, &[usize])] = &[
    ("a", &[2, 2]),
    ("b", &[2, 2]),
    ("x", &[4, 4]),
    ("y", &[4, 4]),
    ("m1", &[3]),
    ("s1", &[3]),
    ("m2", &[2]),
    ("s2", &[2]),
    ("p", &[2, 3]),
    ("q", &[2, 2]),
];

/// The graph of a body in the language over the leaves of
/// [`EXAMPLE_LEAVES`] (a rule's pattern, an op's example call), whose axis
/// metavariables `d` and `r` (`axis = d`) stand for any axis: here `d = 1`
/// and `r = 0`. A tuple body has several results. The result types are
/// whatever the body computes; the leaves are in [`EXAMPLE_LEAVES`] order,
/// those the body does not name left out.
pub fn example_graph(pattern: &str) -> Graph {
    let body = pattern.replace("= d)", "= 1)").replace("= r)", "= 0)");
    let leaves: Vec<String> = EXAMPLE_LEAVES
        .iter()
        .filter(|(name, _)| {
            body.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == *name)
        })
        .map(|(name, shape)| format!("{name}: &{}", type_name(shape, DType::F64)))
        .collect();
    let results = match syn::parse_str::<syn::Expr>(&body) {
        Ok(syn::Expr::Tuple(t)) => t.elems.len(),
        Ok(_) => 1,
        Err(e) => panic!("pattern `{pattern}` is not an expression: {e}"),
    };
    let ret = match results {
        1 => "f64".to_string(),
        n => format!("({})", vec!["f64"; n].join(", ")),
    };
    let src = format!("fn pattern({}) -> {ret} {{ {body} }}", leaves.join(", "));
    let fns = parse_block(src.parse().expect("the pattern lexes"))
        .unwrap_or_else(|e| panic!("{e}: {src}"));
    let written = lower(&fns[0]).unwrap_or_else(|e| panic!("{e}: {src}"));
    let mut g = crate::shape::infer_nodes(written, false).unwrap_or_else(|e| panic!("{e}: {src}"));
    for (k, &out) in g.outputs.iter().enumerate() {
        g.sig.outputs[k].shape = g.nodes[out].shape.clone();
    }
    crate::passes::prune(&mut g);
    g
}

/// Runs the optimizer on `graph` (what a fn without `optimize = false`
/// gets); panics on an internal error (a broken rule).
pub fn optimize(graph: &mut Graph) {
    if let Err(bug) = crate::passes::optimize(graph) {
        panic!("internal error: {bug}");
    }
}

/// The same graph after the optimizer.
pub fn optimized(src: &str) -> Graph {
    optimized_graph(graph(src))
}

/// `graph` after the optimizer.
pub fn optimized_graph(mut graph: Graph) -> Graph {
    optimize(&mut graph);
    graph
}

/// The VJP graph of `graph` with respect to every leaf (or the leaves of
/// its `vjp(…)` option), as `#[param_graph(vjp)]` builds it: its
/// parameters are `graph`'s, then one cotangent per result; its results
/// are the leaves' cotangents. Panics on an internal error.
pub fn vjp(graph: &Graph) -> Graph {
    let mut g = crate::autodiff::vjp_graph(graph, &quote::quote!(::param_graph))
        .unwrap_or_else(|bug| panic!("internal error: {bug}"));
    crate::passes::cse(&mut g);
    if let Err(bug) = crate::passes::validate(&g) {
        panic!("internal error: {bug}");
    }
    g
}

/// The ops of a graph, in order.
pub fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

/// Asserts that the optimizer turns `src` into the ops `want` and that the
/// values stay the same within relative `rel` ([`assert_same_values`]).
pub fn assert_rewrites(src: &str, want: &[&str], rel: f64) {
    assert_eq!(ops(&optimized(src)), want, "{src}");
    assert_same_values(src, rel);
}

/// Asserts that `src` evaluates to the same outputs before and after the
/// optimizer, on deterministic pseudo-random inputs, within relative `rel`.
pub fn assert_same_values(src: &str, rel: f64) {
    let plain = graph(src);
    let fast = optimized(src);
    let inputs: Vec<Tensor> = sample_inputs(&plain, 7);
    let want = eval(&plain, &inputs);
    let got = eval(&fast, &inputs);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w.shape, g.shape);
        for (x, y) in w.data.iter().zip(&g.data) {
            assert!(
                (x - y).abs() <= rel * x.abs().max(1e-300) || (x.is_nan() && y.is_nan()),
                "{x} vs {y} in {src}"
            );
        }
    }
}

/// A seeded generator (splitmix64), so a failing random case replays.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent / 100`.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
