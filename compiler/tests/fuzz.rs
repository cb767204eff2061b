//! Never panic: a fuzz-style property test of the expansion function.
//!
//! `param_graph_compiler::expand` is driven with four kinds of input, one test each: random
//! token trees (some shaped like `fn` items); random programs of the
//! language's grammar with random ops, attributes, types and sizes; well-typed
//! random programs that get through to the optimizer and codegen (some with
//! sizes at the edge of what a buffer may hold); and token-level mutations of
//! a corpus of valid programs. Whatever the input, `expand` must return code
//! or a `compile_error!` (never panic, never nothing, never an internal
//! error), and what it returns must parse as a sequence of Rust items.
//!
//! The inputs come from a small seeded generator (splitmix64) instead of a
//! property-test runner, so the count and the seed are the constants below.
//! Every case draws from its own generator, seeded from the seed, the test's
//! salt and the case index, so one failing case replays alone and exactly:
//!
//! ```text
//! PARAM_GRAPH_FUZZ_SEED=<seed> PARAM_GRAPH_FUZZ_CASE=<index> \
//!     cargo test -p param-graph-compiler --test fuzz <test> -- --nocapture
//! ```
//!
//! CI runs `CASES` cases per test (about 6 s for the four in a debug build on
//! two cores); by hand, `PARAM_GRAPH_FUZZ_CASES=100000`
//! runs more and `PARAM_GRAPH_FUZZ_SEED=<n>` (decimal or `0x` hex) explores
//! other seeds. A failure lists the seed, the case index, the panic message
//! and location, and the input. In the printed input `⟦ ⟧` marks an
//! invisible (`Delimiter::None`) group, and a literal such as `-1` may be one
//! negative literal token: replay the case for the exact tokens.

use param_graph_compiler::expand;
use param_graph_compiler::testing::{type_name, DType, OpSpec, Rng, OPS as CATALOGUE};
use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// The seed of the CI run (`PARAM_GRAPH_FUZZ_SEED` overrides it).
const SEED: u64 = 0x7061_7261_6D67_7266;

/// Cases per test in a CI run (`PARAM_GRAPH_FUZZ_CASES` overrides it).
const CASES: usize = 2000;

/// Distinct failures shown in full; the rest are counted.
const SHOWN: usize = 8;

// ---------------------------------------------------------------------------
// The corpus: valid programs covering every op, every type form, tuple
// returns, `optimize = false`, `Kron` results, lets and negative axes.

const CORPUS: &[&str] = &[
    // Every elementwise map, with lets and a tuple result.
    "fn maps(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>) {
        let e = exp(x);
        let l = log(e);
        let s = square(l);
        let c = conjugate(s);
        (c, sigmoid(x), softplus(x), scaled_sigmoid(x, vmin = 1.0, vmax = 3.0))
    }
    fn clamps(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>, SVector<f64, 3>) {
        (clamp(x, min = 0.0), clamp(x, max = 0.5), clamp(x, min = -0.5, max = 0.5))
    }",
    // Reductions and normalizers, default and explicit axes.
    "fn reductions(m: &SMatrix<f64, 2, 3>) -> (SVector<f64, 2>, SVector<f64, 3>, SVector<f64, 2>) {
        (reduce_sum(m, axis = 1), reduce_prod(m, axis = 0), reduce_lse(m))
    }
    fn normalizers(m: &SMatrix<f64, 2, 3>) -> (SMatrix<f64, 2, 3>, SMatrix<f64, 2, 3>) {
        (softmax(m, axis = 1), log_softmax(m, axis = 0))
    }",
    // index, flatten, constant, add.
    "fn selections(m: &SMatrix<f64, 2, 3>) -> (SMatrix<f64, 2, 4>, SVector<f64, 6>, SMatrix<f64, 2, 3>) {
        (index(m, [2, 0, 0, 1], axis = 1), flatten(m), add(m, constant(0.5, shape = [2, 3])))
    }",
    // Binary ops: hadamard, `+`, kron, matmul, outer_product, outer_sum.
    "fn products(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 3, 2>) -> (SMatrix<f64, 2, 3>, SMatrix<f64, 6, 6>, SMatrix<f64, 2, 2>) {
        (hadamard(a, a) + a, kron(a, b), matmul(a, b))
    }
    fn outers(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 2, 2>) -> (SMatrix<f64, 2, 6>, SMatrix<f64, 2, 6>) {
        (outer_product(a, b, axis = 1), outer_sum(a, b))
    }",
    // Scalars by value, f32 throughout.
    "fn scale(s: f64, v: SVector<f64, 3>) -> f64 {
        let total = reduce_sum(v);
        add(s, total)
    }
    fn single(k: &f32, a: SMatrix<f32, 2, 3>, b: &SMatrix<f32, 3, 2>, v: &SVector<f32, 2>) -> (SMatrix<f32, 2, 2>, SVector<f32, 2>, f32) {
        (matmul(a, b), softmax(v), square(k))
    }",
    // Nested arrays to rank 4, negative axes, flatten with a start.
    "fn arrays(s: &[[[[f64; 2]; 3]; 2]; 2], m: &[[SMatrix<f64, 2, 3>; 2]; 2]) -> ([[[[f64; 2]; 3]; 2]; 2], [[SMatrix<f64, 2, 3>; 2]; 2], [f64; 2]) {
        let sm = softmax(s, axis = -3);
        (sm, log_softmax(m, axis = -4), reduce_sum(flatten(m, start = 1), axis = -1))
    }",
    // Full paths, an unused let, a result that is a parameter, no parameters.
    "fn full_path(x: &param_graph::nalgebra::SMatrix<f64, 2, 2>, v: [SVector<f64, 3>; 2]) -> param_graph::nalgebra::SMatrix<f64, 2, 2> {
        let _unused = exp(v);
        exp(x)
    }
    fn passthrough(x: &SVector<f64, 4>) -> (SVector<f64, 4>, f64) {
        (x, reduce_lse(x))
    }
    fn ones() -> SMatrix<f64, 2, 2> {
        constant(1.0, shape = [2, 2])
    }",
    // Attributes, docs and visibility, `optimize = false`, shadowing, hygiene.
    "/// Log-normalized weights of a sum layer.
    #[inline]
    #[must_use]
    pub fn log_weights(theta: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
        let p = softmax(theta, axis = -1);
        let p = log(p);
        p
    }
    #[inline(always)]
    pub(crate) fn reused(x: &SVector<f64, 3>) -> (SVector<f64, 3>, SVector<f64, 3>) {
        let e = exp(x);
        let twice = e + e;
        (hadamard(e, twice), e)
    }
    #[param_graph(optimize = false)]
    pub(super) fn unoptimized(x: &SMatrix<f64, 2, 2>) -> SVector<f64, 2> {
        reduce_lse(log_softmax(x, axis = -2), axis = -1)
    }
    pub fn shadow(x: SVector<f64, 2>) -> SVector<f64, 2> {
        let x = square(x);
        let x = add(x, x);
        x
    }
    pub fn hygiene(__pg_leaf: &SVector<f64, 2>, __pg_v0: SVector<f64, 2>) -> SVector<f64, 2> {
        let __pg_v1 = __pg_leaf + __pg_v0;
        __pg_v1
    }",
    // Kronecker results, factored and dense.
    "fn factored(a: &SMatrix<f64, 2, 2>, b: &SMatrix<f64, 3, 1>) -> Kron<f64, 2, 2, 3, 1> {
        kron(softmax(a, axis = 1), exp(b))
    }
    fn factored_and_dense(a: &SMatrix<f32, 2, 2>, b: SMatrix<f32, 1, 2>) -> (param_graph::runtime::Kron<f32, 2, 2, 1, 2>, SMatrix<f32, 2, 4>) {
        let k = kron(a, b);
        (k, k)
    }",
    // The rules' patterns, with a softmax that has a second reader.
    "fn fused(x: &[SMatrix<f64, 3, 5>; 2]) -> ([SMatrix<f64, 3, 5>; 2], [SMatrix<f64, 3, 5>; 2]) {
        let p = softmax(x, axis = 1);
        (log(p), p)
    }
    fn stable(x: &SVector<f64, 4>) -> (SVector<f64, 4>, f64, SVector<f64, 4>) {
        (log(sigmoid(x)), log(reduce_sum(exp(x), axis = 0)), log(exp(x)))
    }",
    // sum_outer in both forms and kron_matmul, and the same unoptimized.
    "fn sum_outer(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 2, 4>) -> (SVector<f64, 2>, SVector<f64, 12>) {
        let o = outer_product(a, b, axis = 1);
        (reduce_sum(o, axis = 1), reduce_sum(o, axis = 0))
    }
    fn kron_matmul(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 2, 2>, x: &SMatrix<f64, 6, 4>) -> SMatrix<f64, 4, 4> {
        matmul(kron(a, b), x)
    }
    #[param_graph(optimize = false)]
    fn kron_matmul_plain(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 2, 2>, x: &SMatrix<f64, 6, 4>) -> SMatrix<f64, 4, 4> {
        matmul(kron(a, b), x)
    }",
    // The README's first example, over arrays of f32 matrices.
    "/// Log-normalized weights of a sum layer with 3 outputs and 4 inputs.
    pub fn log_weights(theta: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
        let p = softmax(theta, axis = 1);
        log(p)
    }
    pub(crate) fn mix(a: &[SMatrix<f32, 3, 4>; 2], b: &[SMatrix<f32, 3, 4>; 2]) -> [SMatrix<f32, 3, 4>; 2] {
        add(a, hadamard(a, b))
    }",
    // Rank-3 kron, outer ops over axis 0, flatten ranges, index over axis 0.
    "fn kron3(a: &[SMatrix<f64, 1, 2>; 2], b: &[SMatrix<f64, 3, 2>; 2]) -> [SMatrix<f64, 3, 4>; 4] {
        kron(a, b)
    }
    fn outer0(a: &[SMatrix<f64, 3, 4>; 2], b: &[SMatrix<f64, 3, 4>; 2]) -> ([SMatrix<f64, 3, 4>; 4], [SMatrix<f64, 3, 4>; 4]) {
        (outer_product(a, b, axis = 0), outer_sum(a, b, axis = -3))
    }
    fn flat(x: &[[SMatrix<f64, 4, 2>; 3]; 2]) -> ([SMatrix<f64, 12, 2>; 2], [SMatrix<f64, 3, 8>; 2]) {
        (flatten(x, start = 1, end = 2), flatten(x, start = -2))
    }
    fn pick(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
        index(x, [2, 0, 2], axis = 0)
    }",
    // cirkit's circuit-product ops: mixing weights, Gaussian products (shared
    // and as written), polynomial products and derivatives (one vanishing).
    "fn circuit_products(v: &SMatrix<f64, 3, 2>, m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &[f64; 2], s2: &[f64; 2])
        -> (SMatrix<f64, 3, 6>, SVector<f64, 6>, [f64; 6], SVector<f64, 6>) {
        (
            mixing_weight(v),
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }
    #[param_graph(optimize = false)]
    fn polynomials(p: &[[f32; 3]; 2], q: &SMatrix<f32, 2, 2>) -> ([[f32; 4]; 4], SMatrix<f32, 4, 1>, [[f32; 2]; 2]) {
        let pq = polynomial_product(p, q);
        (pq, polynomial_differential(pq, order = 3), polynomial_differential(p, order = 1))
    }",
    // Bounded maps on f32 arrays, unoptimized, and by value.
    "#[param_graph(optimize = false)]
    fn bounded(x: [SVector<f32, 3>; 2]) -> ([SVector<f32, 3>; 2], [SVector<f32, 3>; 2]) {
        (scaled_sigmoid(x, vmin = 0.0, vmax = 0.5), clamp(x, min = -1.0, max = 1e3))
    }",
    // Scalar constants, scalar ops and a scalar result of a tuple.
    "#[doc = \"scalars\"]
    fn scalars(s: &f64) -> (f64, f64) {
        let c = constant(-2.5, shape = []);
        let t = s + c;
        (softplus(t), hadamard(sigmoid(t), exp(c)))
    }
    fn array_of_scalars(v: &[f64; 5]) -> [f64; 2] {
        index(log_softmax(v, axis = 0), [4, 1], axis = -1)
    }",
];

// ---------------------------------------------------------------------------
// The vocabulary of random tokens.

/// Idents: the ops, the ones not compiled, internal ops and a typo; attribute
/// names, theirs and other libraries'; type names; keywords; names, the
/// macro's own local prefixes, odd spellings and raw idents.
const IDENTS: &str = "\
    exp log square sigmoid softplus conjugate scaled_sigmoid clamp reduce_sum reduce_prod \
    reduce_lse softmax log_softmax index add hadamard kron outer_product outer_sum matmul \
    flatten constant mixing_weight gaussian_product_mean gaussian_product_stddev \
    gaussian_product_log_partition polynomial_product polynomial_differential outer_contract \
    kron_matmul log_sigmoid softmax_from_stats log_softmax_from_stats gaussian_var_sum \
    gaussian_mean_from_var sofmax axis vmin vmax min max start end shape order optimize param_graph dim axes start_dim end_dim doc inline \
    must_use cfg allow f32 f64 SVector SMatrix Kron nalgebra runtime usize i64 u8 Vec Option \
    fn let pub crate super self Self in mut const async unsafe extern impl where return if \
    else true false ref dyn struct as _ x y a b m v p k e theta T N __pg_v0 __pg_leaf __pg_i0 \
    __pg_k b0 inf NaN ß é Ω ŉ r#fn r#exp r#type r#x";

const LITERALS: &[&str] = &[
    "0", "1", "2", "3", "4", "-1", "-2", "0.5", "-0.5", "1.0", "2.0", "1e3", "\"doc\"", "'c'",
    "b'x'", "b\"xy\"", "r\"raw\"",
];

const EXTREME_LITERALS: &[&str] = &[
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456",
    "1e400",
    "-1e400",
    "1e-400",
    "1e308",
    "4.9e-324",
    "0.0",
    "-0.0",
    "3u8",
    "255u8",
    "7usize",
    "0usize",
    "7i64",
    "1.0f32",
    "2f64",
    "3.4e39f32",
    "1_000",
    "0x1F",
    "0b101",
    "0o17",
    "0xFFFF_FFFF_FFFF_FFFF",
];

/// Punctuation, as the compiler spells it: joint within a multi-char operator.
const PUNCTS: &[&str] = &[
    ",", ",", ";", "=", "+", "*", "-", "&", ":", "::", "->", "<", ">", "#", "!", ".", "..", "=>",
    "==", "'",
];

/// The parsed vocabulary and corpus (proc_macro2 values are not `Sync`, so
/// every test builds its own).
struct Vocab {
    idents: Vec<Ident>,
    literals: Vec<Literal>,
    extremes: Vec<Literal>,
    corpus: Vec<Vec<Node>>,
}

impl Vocab {
    fn new() -> Self {
        let ident = |s: &str| match s.strip_prefix("r#") {
            Some(raw) => Ident::new_raw(raw, Span::call_site()),
            None => Ident::new(s, Span::call_site()),
        };
        let literal = |s: &&str| {
            s.parse::<Literal>()
                .unwrap_or_else(|e| panic!("vocabulary literal {s}: {e}"))
        };
        Vocab {
            idents: IDENTS.split_whitespace().map(ident).collect(),
            literals: LITERALS.iter().map(literal).collect(),
            extremes: EXTREME_LITERALS.iter().map(literal).collect(),
            corpus: CORPUS.iter().map(|src| nodes_of(tokens(src))).collect(),
        }
    }
}

fn tokens(src: &str) -> TokenStream {
    src.parse()
        .unwrap_or_else(|e| panic!("generated text does not lex ({e}):\n{src}"))
}

/// The generator of one case: independent of every other case, so a case
/// replays alone.
fn case_rng(seed: u64, salt: u64, index: usize) -> Rng {
    let base = Rng(seed ^ salt).next_u64();
    let mut rng = Rng(base ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next_u64();
    rng
}

// ---------------------------------------------------------------------------
// Token trees as an editable tree.

#[derive(Clone)]
enum Node {
    Leaf(TokenTree),
    Group(Delimiter, Vec<Node>),
}

fn nodes_of(stream: TokenStream) -> Vec<Node> {
    stream
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => Node::Group(g.delimiter(), nodes_of(g.stream())),
            leaf => Node::Leaf(leaf),
        })
        .collect()
}

fn stream_of(nodes: &[Node]) -> TokenStream {
    nodes
        .iter()
        .map(|node| match node {
            Node::Leaf(tt) => tt.clone(),
            Node::Group(d, inner) => TokenTree::Group(Group::new(*d, stream_of(inner))),
        })
        .collect()
}

/// The input as text, invisible groups marked `⟦ ⟧`.
fn render(nodes: &[Node], out: &mut String) {
    for node in nodes {
        match node {
            Node::Leaf(TokenTree::Punct(p)) => {
                out.push(p.as_char());
                if p.spacing() == Spacing::Alone {
                    out.push(' ');
                }
            }
            Node::Leaf(tt) => {
                let _ = write!(out, "{tt} ");
            }
            Node::Group(d, inner) => {
                let (open, close) = match d {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", "}"),
                    Delimiter::None => ("⟦", "⟧"),
                };
                out.push_str(open);
                render(inner, out);
                out.push_str(close);
                out.push(' ');
            }
        }
    }
}

/// Every sequence of the tree (the top level and each group's contents), as
/// the path of group indices leading to it.
fn sequences(nodes: &[Node], path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(path.clone());
    for (i, node) in nodes.iter().enumerate() {
        if let Node::Group(_, inner) = node {
            path.push(i);
            sequences(inner, path, out);
            path.pop();
        }
    }
}

/// Every node of the tree, as its sequence's path and its index there.
fn slots(nodes: &[Node], path: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, usize)>) {
    for (i, node) in nodes.iter().enumerate() {
        out.push((path.clone(), i));
        if let Node::Group(_, inner) = node {
            path.push(i);
            slots(inner, path, out);
            path.pop();
        }
    }
}

fn sequence_mut<'a>(nodes: &'a mut Vec<Node>, path: &[usize]) -> &'a mut Vec<Node> {
    match path.split_first() {
        None => nodes,
        Some((i, rest)) => match &mut nodes[*i] {
            Node::Group(_, inner) => sequence_mut(inner, rest),
            Node::Leaf(_) => unreachable!("a path runs through groups only"),
        },
    }
}

fn node_at<'a>(nodes: &'a mut Vec<Node>, slot: &(Vec<usize>, usize)) -> &'a mut Node {
    &mut sequence_mut(nodes, &slot.0)[slot.1]
}

// ---------------------------------------------------------------------------
// (a) Random token trees.

fn ident(rng: &mut Rng, v: &Vocab) -> Node {
    Node::Leaf(TokenTree::Ident(rng.pick(&v.idents).clone()))
}

fn literal(rng: &mut Rng, v: &Vocab) -> Node {
    let pool = if rng.chance(30) {
        &v.extremes
    } else {
        &v.literals
    };
    Node::Leaf(TokenTree::Literal(rng.pick(pool).clone()))
}

/// A punctuation token or operator; `'` comes with its lifetime's name.
fn punct(rng: &mut Rng, v: &Vocab) -> Vec<Node> {
    let spelling = *rng.pick(PUNCTS);
    let chars: Vec<char> = spelling.chars().collect();
    let mut out: Vec<Node> = chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let spacing = if i + 1 < chars.len() || *c == '\'' {
                Spacing::Joint
            } else {
                Spacing::Alone
            };
            Node::Leaf(TokenTree::Punct(Punct::new(*c, spacing)))
        })
        .collect();
    if spelling == "'" {
        let name = loop {
            if let Node::Leaf(TokenTree::Ident(i)) = ident(rng, v) {
                if !i.to_string().starts_with("r#") {
                    break i;
                }
            }
        };
        out.push(Node::Leaf(TokenTree::Ident(name)));
    }
    out
}

fn delimiter(rng: &mut Rng) -> Delimiter {
    match rng.below(10) {
        0..=3 => Delimiter::Parenthesis,
        4..=5 => Delimiter::Bracket,
        6..=8 => Delimiter::Brace,
        _ => Delimiter::None,
    }
}

fn random_tree(rng: &mut Rng, v: &Vocab, depth: usize, max_len: usize) -> Vec<Node> {
    let mut out = Vec::new();
    let len = rng.below(max_len + 1);
    while out.len() < len {
        if depth > 0 && rng.chance(20) {
            let d = delimiter(rng);
            out.push(Node::Group(d, random_tree(rng, v, depth - 1, max_len)));
            continue;
        }
        match rng.below(10) {
            0..=4 => out.push(ident(rng, v)),
            5..=6 => out.push(literal(rng, v)),
            _ => out.extend(punct(rng, v)),
        }
    }
    out
}

/// Random tokens, or random tokens (and grammar fragments) arranged like
/// `fn` items so that they get past syn to the language's own checks.
fn random_token_tree(rng: &mut Rng, v: &Vocab) -> Vec<Node> {
    if rng.chance(40) {
        return random_tree(rng, v, 4, 12);
    }
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(2) {
        if rng.chance(30) {
            out.extend(nodes_of(tokens(rng.pick::<&str>(FN_ATTRS))));
        }
        if rng.chance(20) {
            out.extend(random_tree(rng, v, 1, 3));
        }
        out.extend(nodes_of(tokens("fn")));
        out.push(if rng.chance(80) {
            ident(rng, v)
        } else {
            Node::Leaf(TokenTree::Ident(Ident::new("f", Span::call_site())))
        });
        let params = if rng.chance(50) {
            random_tree(rng, v, 2, 8)
        } else {
            nodes_of(tokens(&params(rng, "f64").0))
        };
        out.push(Node::Group(Delimiter::Parenthesis, params));
        if rng.chance(85) {
            out.extend(nodes_of(tokens("->")));
            if rng.chance(50) {
                out.extend(random_tree(rng, v, 2, 6));
            } else {
                out.extend(nodes_of(tokens(&tensor_type(rng, "f64", 2))));
            }
        }
        let body = if rng.chance(50) {
            random_tree(rng, v, 3, 10)
        } else {
            let scope = ["x".to_string(), "a".to_string()];
            nodes_of(tokens(&expr(rng, &scope, 3)))
        };
        out.push(Node::Group(Delimiter::Brace, body));
    }
    out
}

// ---------------------------------------------------------------------------
// Random programs of the grammar, as text.

const FN_ATTRS: &[&str] = &[
    "/// Docs.",
    "#[inline]",
    "#[param_graph(optimize = false)]",
    "#[param_graph(optimize = true)]",
    "#[param_graph(optimize = 1)]",
    "#[param_graph(optimize = false, optimize = true)]",
    "#[param_graph(fast)]",
    "#[param_graph(fast = true)]",
    "#[param_graph]",
    "#[param_graph()]",
    "#[param_graph = \"x\"]",
    "#[param_graph(optimize = false)] #[param_graph(optimize = false)]",
    "#[cfg(test)]",
    "#![inner]",
    "#[doc = 1]",
    "#[doc = \"\"]",
    "#[doc(hidden)]",
    "#[doc]",
    "#[doc = concat!(\"a\", \"b\")]",
    "#[param_graph::optimize]",
    "#[cfg_attr(all(), param_graph(optimize = false))]",
    "#[must_use = \"why\"] #[allow(unused)]",
];

/// Qualifiers a graph may not have; `random_fn` uses one now and then.
const ODD_PREFIXES: &[&str] = &[
    "const ",
    "unsafe ",
    "async ",
    "extern \"C\" ",
    "pub(in crate::m) ",
    "default ",
];

const FN_NAMES: &[&str] = &["f", "g", "weights", "F", "f_plan", "r#type", "ß", "__pg_v0"];

const NAMES: &[&str] = &["x", "a", "b", "m", "theta", "p", "__pg_leaf", "_", "self"];

const OTHER_OPS: &[&str] = &[
    "gaussian_var_sum",
    "gaussian_stddev_from_var",
    "outer_contract",
    "kron_matmul",
    "log_sigmoid",
    "softmax_from_stats",
    "log_softmax_from_stats",
    "sofmax",
    "leaf",
];

const ATTR_NAMES: &[&str] = &[
    "axis", "vmin", "vmax", "min", "max", "start", "end", "shape", "dim", "axes", "value", "order",
];

const ODD_TYPES: &[&str] = &[
    "SMatrix<f64, 3>",
    "SVector<f32>",
    "SMatrix",
    "Vec<f64>",
    "&SVector<f64, 3>",
    "[&f64; 2]",
    "(f64, f64)",
    "()",
    "SMatrix<f64, N, 2>",
    "SMatrix<f64, {2}, 2>",
    "SVector<i32, 2>",
    "[f64]",
    "[f64; N]",
    "impl Fn()",
    "_",
    "Self",
    "f64<f64>",
    "<f64 as Tr>::X",
    "[SMatrix<f64, 2, 2>; 0]",
    "[Kron<f64, 1, 1, 1, 1>; 2]",
    "Kron<f64, 2, 2>",
    "dyn Fn(f64) -> f64",
    "fn(f64) -> f64",
    "!",
];

const ODD_EXPRS: &[&str] = &[
    "x * x",
    "a - b",
    "-x",
    "!x",
    "x.exp()",
    "1.0",
    "-2",
    "exp::<f64>(x)",
    "{ x }",
    "x[0]",
    "if c { a } else { b }",
    "foo::bar(x)",
    "&x",
    "(a, b)",
    "()",
    "x as f64",
    "exp(axis = 1)",
    "exp(x, 1)",
    "softmax(x, x = 1)",
    "softmax(x, axis = axis)",
    "(softmax)(x)",
    "index(x, [])",
    "index(x, [0], [1])",
    "constant(x, shape = [2])",
    "constant(1.0)",
    "constant(1.0, shape = [0])",
    "constant(1.0, 2.0, shape = [1])",
    "clamp(x)",
    "clamp(x, min = 1.0, max = -1.0)",
    "scaled_sigmoid(x, vmin = 2.0, vmax = 1.0)",
    "scaled_sigmoid(x, vmin = -1.0, vmax = 1e400)",
    "flatten(x, start = 1, end = 0)",
    "matmul(x, x, x)",
    "kron(x)",
    "add()",
    "x + 1.0",
    "unknown",
    "exp(unknown)",
    "return x",
    "loop {}",
    "x = exp(x)",
];

const ODD_ATTR_VALUES: &[&str] = &[
    "x", "\"s\"", "(1)", "- -1", "--1", "[x]", "1 + 1", "[[1]]", "[1.5]", "[-1]", "'c'", "()",
    "-true", "[1, 2,]", "{1}",
];

fn dimension(rng: &mut Rng) -> String {
    match rng.below(60) {
        0..=54 => (1 + rng.below(4)).to_string(),
        55 => "0".into(),
        56 => rng
            .pick(&[
                "4294967296",
                "18446744073709551615",
                "9223372036854775807",
                "100000",
                "18446744073709551616",
            ])
            .to_string(),
        57 => rng.pick(&["2usize", "3u8", "2i32", "2_usize"]).to_string(),
        58 => rng.pick(NAMED_DIMS).to_string(),
        _ => rng
            .pick(&["-1", "1.5", "(2)", "1e400", "N", "{ 2 }", "2 + 1"])
            .to_string(),
    }
}

/// Sizes written with names: the constants [`CONSTS`] may declare, paths,
/// products, and what a braced size may not hold.
const NAMED_DIMS: &[&str] = &[
    "K",
    "M",
    "Z",
    "U",
    "C",
    "H",
    "O",
    "{K * 2}",
    "{K * M}",
    "{ K * M * 2 }",
    "K * M",
    "sizes::K",
    "crate::K",
    "{K + 1}",
    "{K - K}",
    "(K)",
    "{K * sizes::K}",
    "{}",
    "{K; 2}",
    "{H * H}",
];

/// `const` items a block may start with: good ones, and every way one can
/// fail (zero, not `usize`, a cycle, overflow, an opaque initializer, a
/// duplicate).
const CONSTS: &[&str] = &[
    "const K: usize = 3;",
    "const M: usize = K * 2;",
    "pub const K: usize = 2;",
    "const Z: usize = 0;",
    "const U: u8 = 2;",
    "const C: usize = C + 1;",
    "const H: usize = 4294967296 * 4294967296;",
    "const H: usize = 1 << 40;",
    "const O: usize = usize::MAX;",
    "const O: usize = 1 - 2;",
    "const M: usize = K / 0;",
    "const M: usize = { K };",
    "const K: usize = 4294967296;",
];

fn tensor_type(rng: &mut Rng, dtype: &str, depth: usize) -> String {
    let d = dimension;
    match rng.below(14) {
        0 | 1 => dtype.to_string(),
        2 | 3 => format!("SVector<{dtype}, {}>", d(rng)),
        4..=6 => format!("SMatrix<{dtype}, {}, {}>", d(rng), d(rng)),
        7 | 8 if depth > 0 => format!("[{}; {}]", tensor_type(rng, dtype, depth - 1), d(rng)),
        9 => format!(
            "{}Kron<{dtype}, {}, {}, {}, {}>",
            rng.pick(&["", "param_graph::runtime::"]),
            d(rng),
            d(rng),
            d(rng),
            d(rng)
        ),
        10 => format!(
            "{}SMatrix<{}, {}, {}>",
            rng.pick(&["nalgebra::", "::nalgebra::", "param_graph::nalgebra::"]),
            rng.pick(&[dtype, dtype, "f32", "f64", "i32"]),
            d(rng),
            d(rng)
        ),
        11 => rng.pick(ODD_TYPES).to_string(),
        _ => format!(
            "SMatrix<{dtype}, {}, {}>",
            1 + rng.below(4),
            1 + rng.below(4)
        ),
    }
}

/// A parameter list and the names it declares.
fn params(rng: &mut Rng, dtype: &str) -> (String, Vec<String>, Vec<String>) {
    let mut text = String::new();
    let mut names = Vec::new();
    let mut types = Vec::new();
    for i in 0..rng.below(4) {
        let name = if rng.chance(85) {
            ["x", "a", "b", "m"][i].to_string()
        } else {
            rng.pick(NAMES).to_string()
        };
        let ty = tensor_type(rng, dtype, 2);
        let by_ref = if rng.chance(50) { "&" } else { "" };
        let pattern = if rng.chance(3) {
            rng.pick(&["mut ", "ref ", "(", "&"]).to_string()
        } else {
            String::new()
        };
        let pattern = match pattern.as_str() {
            "(" => format!("({name})"),
            "&" => format!("&{name}"),
            p => format!("{p}{name}"),
        };
        let _ = write!(text, "{pattern}: {by_ref}{ty}, ");
        names.push(name);
        types.push(ty);
    }
    if rng.chance(2) {
        text.push_str("...");
    }
    (text, names, types)
}

fn int_literal(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=7 => {
            let n = rng.below(7) as i64 - 3;
            n.to_string()
        }
        _ => rng.pick(EXTREME_LITERALS).to_string(),
    }
}

fn attr_value(rng: &mut Rng) -> String {
    match rng.below(14) {
        0..=6 => int_literal(rng),
        7 | 8 => rng
            .pick(&[
                "0.5", "-0.25", "1e400", "-1e400", "0.0", "-0.0", "3.0", "1e-400",
            ])
            .to_string(),
        9 => list(rng),
        10 => rng.pick(&["true", "false"]).to_string(),
        11 if rng.chance(50) => rng.pick(NAMED_DIMS).to_string(),
        11 => rng
            .pick(&["1usize", "1u8", "1.0f32", "-1i64", "2f64"])
            .to_string(),
        _ => rng.pick(ODD_ATTR_VALUES).to_string(),
    }
}

fn list(rng: &mut Rng) -> String {
    let items: Vec<String> = (0..rng.below(4))
        .map(|_| {
            if rng.chance(80) {
                (1 + rng.below(4)).to_string()
            } else if rng.chance(30) {
                rng.pick(NAMED_DIMS).to_string()
            } else {
                int_literal(rng)
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn name(rng: &mut Rng, scope: &[String]) -> String {
    if !scope.is_empty() && rng.chance(92) {
        rng.pick(scope).clone()
    } else {
        rng.pick(NAMES).to_string()
    }
}

fn expr(rng: &mut Rng, scope: &[String], depth: usize) -> String {
    if depth == 0 || rng.chance(25) {
        return name(rng, scope);
    }
    match rng.below(24) {
        0..=16 => call(rng, scope, depth),
        17 | 18 => format!(
            "{} + {}",
            expr(rng, scope, depth - 1),
            expr(rng, scope, depth - 1)
        ),
        19 => format!("({})", expr(rng, scope, depth - 1)),
        _ => rng.pick(ODD_EXPRS).to_string(),
    }
}

fn call(rng: &mut Rng, scope: &[String], depth: usize) -> String {
    // Every op of the language from the catalogue itself, so the fuzz
    // follows it: its arity, positional literals and attributes.
    let spec = rng.chance(92).then(|| rng.pick(CATALOGUE));
    let op = spec.map_or_else(|| *rng.pick(OTHER_OPS), |s| s.name);
    let (tensors, lists, numbers) = spec.map_or((1, 0, 0), |s| (s.tensors, s.lists, s.numbers));
    let arity = if rng.chance(90) {
        tensors
    } else {
        rng.below(4)
    };
    let mut args: Vec<String> = (0..arity).map(|_| expr(rng, scope, depth - 1)).collect();
    if lists > 0 || rng.chance(3) {
        args.push(list(rng));
    }
    if numbers > 0 || rng.chance(3) {
        args.insert(0, attr_value(rng));
    }
    for key in spec.map_or(&[][..], |s: &OpSpec| s.attrs) {
        if rng.chance(60) {
            args.push(format!("{} = {}", key.name, attr_value(rng)));
        }
    }
    if rng.chance(8) {
        args.push(format!("{} = {}", rng.pick(ATTR_NAMES), attr_value(rng)));
    }
    if rng.chance(10) && !args.is_empty() {
        let i = rng.below(args.len());
        let j = rng.below(args.len());
        args.swap(i, j);
    }
    format!("{op}({})", args.join(", "))
}

fn random_fn(rng: &mut Rng, out: &mut String) {
    for _ in 0..rng.below(3) {
        if rng.chance(50) {
            let _ = writeln!(out, "{}", rng.pick(FN_ATTRS));
        }
    }
    let dtype = if rng.chance(80) { "f64" } else { "f32" };
    let generics = if rng.chance(3) {
        *rng.pick(&["<T>", "<const N: usize>", "<'a>"])
    } else {
        ""
    };
    let (params, mut scope, types) = params(rng, dtype);
    let mut body = String::new();
    for _ in 0..rng.below(4) {
        let value = expr(rng, &scope, 3);
        let name = if rng.chance(80) {
            rng.pick(&["e", "p", "s", "t", "x"]).to_string()
        } else {
            rng.pick(NAMES).to_string()
        };
        let _ = writeln!(body, "    let {name} = {value};");
        scope.push(name);
    }
    let results = if rng.chance(25) { 1 + rng.below(3) } else { 1 };
    let values: Vec<String> = (0..results).map(|_| expr(rng, &scope, 3)).collect();
    let declared: Vec<String> = (0..results)
        .map(|_| {
            if !types.is_empty() && rng.chance(55) {
                rng.pick(&types).clone()
            } else {
                tensor_type(rng, dtype, 2)
            }
        })
        .collect();
    let (result, ret) = if results == 1 && rng.chance(90) {
        (values[0].clone(), declared[0].clone())
    } else {
        (
            format!("({},)", values.join(", ")),
            format!("({},)", declared.join(", ")),
        )
    };
    let ret = if rng.chance(5) {
        String::new()
    } else {
        format!(" -> {ret}")
    };
    let _ = writeln!(
        out,
        "{}fn {}{generics}({params}){ret} {{\n{body}    {result}\n}}",
        if rng.chance(6) {
            rng.pick(ODD_PREFIXES)
        } else {
            rng.pick(&["", "", "pub ", "pub(crate) "])
        },
        rng.pick(FN_NAMES),
    );
}

/// A random program of the grammar: mostly well-formed, with random ops,
/// attributes, types and sizes, so it reaches lowering, shape inference, the
/// optimizer and codegen.
fn random_program(rng: &mut Rng, v: &Vocab) -> Vec<Node> {
    let mut src = String::new();
    if rng.chance(30) {
        for _ in 0..1 + rng.below(3) {
            let item: &&str = rng.pick(CONSTS);
            src.push_str(item);
            src.push('\n');
        }
    }
    let fns = if rng.chance(80) { 1 } else { 2 + rng.below(2) };
    for _ in 0..fns {
        random_fn(rng, &mut src);
    }
    let mut nodes = nodes_of(tokens(&src));
    if rng.chance(15) {
        mutate(rng, v, &mut nodes);
    }
    nodes
}

// ---------------------------------------------------------------------------
// Well-typed random programs: every op applied where its shape rules allow,
// the declared types computed from the shapes, so most cases get through
// shape inference to the optimizer and codegen. Some cases use huge
// sizes (up to the largest buffer the macro accepts).

/// The most elements a tensor may have: its bytes must fit in `isize`.
const MAX_ELEMENTS: usize = isize::MAX as usize / 8;

/// Huge sizes, alone or multiplied together.
const HUGE_DIMS: &[usize] = &[
    1 << 20,
    1 << 30,
    1 << 31,
    1 << 32,
    1 << 59,
    MAX_ELEMENTS,
    MAX_ELEMENTS,
];

/// A tensor expression and its shape; `kron` holds `[p, q, r, s]` when it
/// is a `kron` of a (p, q) and an (r, s) matrix.
#[derive(Clone)]
struct Term {
    text: String,
    shape: Vec<usize>,
    kron: Option<[usize; 4]>,
}

impl Term {
    fn new(text: String, shape: Vec<usize>) -> Self {
        Term {
            text,
            shape,
            kron: None,
        }
    }
}

struct Typed {
    dtype: DType,
    huge: bool,
    env: Vec<Term>,
    /// Sizes in types written as names the block does not declare
    /// (`S3` for 3): symbols only rustc knows, through the symbolic path
    /// of shape inference and codegen.
    symbolic: bool,
}

impl Typed {
    fn limit(&self) -> usize {
        if self.huge {
            MAX_ELEMENTS
        } else {
            4096
        }
    }

    fn fits(&self, shape: &[usize]) -> bool {
        shape
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .is_some_and(|n| n <= self.limit())
    }

    fn dim(&self, rng: &mut Rng) -> usize {
        if self.huge && rng.chance(60) {
            *rng.pick(HUGE_DIMS)
        } else if rng.chance(90) {
            1 + rng.below(4)
        } else {
            5 + rng.below(4)
        }
    }

    fn shape(&self, rng: &mut Rng, max_rank: usize) -> Vec<usize> {
        loop {
            let rank = (*rng.pick(&[0, 1, 1, 2, 2, 2, 3, 3, 4])).min(max_rank);
            let shape: Vec<usize> = (0..rank).map(|_| self.dim(rng)).collect();
            if self.fits(&shape) {
                return shape;
            }
        }
    }

    /// One of the type spellings of `shape`.
    fn spell(&self, rng: &mut Rng, shape: &[usize]) -> String {
        let path = if rng.chance(10) {
            *rng.pick(&["nalgebra::", "param_graph::nalgebra::", "::nalgebra::"])
        } else {
            ""
        };
        let inner = match rng.below(5) {
            0..=2 => 2,
            3 => 1,
            _ => 0,
        }
        .min(shape.len());
        let (outer, tail) = shape.split_at(shape.len() - inner);
        // The scalar, or the nalgebra type (with its optional path) of the
        // last one or two axes, as the compiler spells it.
        let base = type_name(tail, self.dtype);
        let base = if tail.is_empty() {
            base
        } else {
            format!("{path}{base}")
        };
        let ty = outer
            .iter()
            .rev()
            .fold(base, |ty, n| format!("[{ty}; {n}]"));
        if self.symbolic {
            param_graph_compiler::testing::named_sizes(&[&ty], "S")
                .0
                .remove(0)
        } else {
            ty
        }
    }

    fn constant(&self, rng: &mut Rng, shape: Vec<usize>) -> Term {
        let value = rng.pick(&["0.5", "-1.0", "2", "0.0", "1e-3", "-0.25", "3.0"]);
        let text = format!("constant({value}, shape = {})", list_of(&shape));
        Term::new(text, shape)
    }

    /// A term of exactly `shape`: a name or let of that shape, or a constant.
    fn partner(&self, rng: &mut Rng, shape: &[usize]) -> Term {
        let same: Vec<&Term> = self.env.iter().filter(|t| t.shape == shape).collect();
        if !same.is_empty() && rng.chance(75) {
            let t = (*rng.pick(&same)).clone();
            if rng.chance(30) {
                let op = rng.pick(&["exp", "square", "sigmoid"]);
                return Term::new(format!("{op}({})", t.text), t.shape);
            }
            return t;
        }
        self.constant(rng, shape.to_vec())
    }

    fn term(&self, rng: &mut Rng, depth: usize) -> Term {
        if depth == 0 || (!self.env.is_empty() && rng.chance(30)) {
            return if self.env.is_empty() {
                let shape = self.shape(rng, 3);
                self.constant(rng, shape)
            } else {
                rng.pick(&self.env).clone()
            };
        }
        let x = self.term(rng, depth - 1);
        for _ in 0..4 {
            if let Some(t) = self.apply(rng, &x) {
                return t;
            }
        }
        x
    }

    /// `axis = …` for `axis` of a rank-`rank` tensor, positive or negative,
    /// or nothing when `axis` is the op's default and the coin says so.
    fn axis(rng: &mut Rng, key: &str, axis: usize, rank: usize, default: Option<usize>) -> String {
        if default == Some(axis) && rng.chance(40) {
            return String::new();
        }
        if rng.chance(50) {
            format!(", {key} = {axis}")
        } else {
            format!(", {key} = -{}", rank - axis)
        }
    }

    /// An op over `x`, when its shape rules allow one.
    fn apply(&self, rng: &mut Rng, x: &Term) -> Option<Term> {
        let rank = x.shape.len();
        let last = rank.checked_sub(1);
        let a = rng.below(rank.max(1));
        let t = match rng.below(17) {
            0 | 1 => {
                let op = rng.pick(&["exp", "log", "square", "sigmoid", "softplus", "conjugate"]);
                Term::new(format!("{op}({})", x.text), x.shape.clone())
            }
            2 => {
                let vmin = rng.pick(&["0.0", "0", "0.25", "1.0"]);
                let vmax = rng.pick(&["1.5", "2", "10.0"]);
                let text = format!("scaled_sigmoid({}, vmin = {vmin}, vmax = {vmax})", x.text);
                Term::new(text, x.shape.clone())
            }
            3 => {
                let min = format!("min = {}", rng.pick(&["-1.0", "-0.5", "0.0", "-2"]));
                let max = format!("max = {}", rng.pick(&["0.0", "0.5", "1e3", "1"]));
                let attrs = match rng.below(4) {
                    0 => min,
                    1 => max,
                    2 => format!("{max}, {min}"),
                    _ => format!("{min}, {max}"),
                };
                Term::new(format!("clamp({}, {attrs})", x.text), x.shape.clone())
            }
            4 if rank > 0 => {
                let op = rng.pick(&["reduce_sum", "reduce_prod", "reduce_lse"]);
                let axis = Self::axis(rng, "axis", a, rank, last);
                let mut shape = x.shape.clone();
                shape.remove(a);
                Term::new(format!("{op}({}{axis})", x.text), shape)
            }
            5 if rank > 0 => {
                let op = rng.pick(&["softmax", "log_softmax"]);
                let axis = Self::axis(rng, "axis", a, rank, last);
                Term::new(format!("{op}({}{axis})", x.text), x.shape.clone())
            }
            6 if rank > 0 => {
                let size = x.shape[a];
                let positions: Vec<usize> = (0..1 + rng.below(4))
                    .map(|_| {
                        if rng.chance(20) {
                            size - 1
                        } else {
                            rng.below(size.min(8))
                        }
                    })
                    .collect();
                let axis = Self::axis(rng, "axis", a, rank, last);
                let mut shape = x.shape.clone();
                shape[a] = positions.len();
                let text = format!("index({}, {}{axis})", x.text, list_of(&positions));
                Term::new(text, shape)
            }
            7 => {
                let y = self.partner(rng, &x.shape);
                let text = match rng.below(3) {
                    0 => format!("add({}, {})", x.text, y.text),
                    1 => format!("hadamard({}, {})", x.text, y.text),
                    _ => format!("({} + {})", x.text, y.text),
                };
                Term::new(text, x.shape.clone())
            }
            8 if rank > 0 => {
                let shape: Vec<usize> = (0..rank).map(|_| 1 + rng.below(3)).collect();
                let y = self.partner(rng, &shape);
                let product: Vec<usize> = x.shape.iter().zip(&shape).map(|(p, q)| p * q).collect();
                let mut t = Term::new(format!("kron({}, {})", x.text, y.text), product);
                if let ([p, q], [r, s]) = (x.shape.as_slice(), shape.as_slice()) {
                    t.kron = Some([*p, *q, *r, *s]);
                }
                t
            }
            9 if rank > 0 => {
                let mut other = x.shape.clone();
                other[a] = 1 + rng.below(3);
                let y = self.partner(rng, &other);
                let op = rng.pick(&["outer_product", "outer_sum"]);
                let axis = Self::axis(rng, "axis", a, rank, last);
                let mut shape = x.shape.clone();
                shape[a] = x.shape[a].checked_mul(other[a])?;
                Term::new(format!("{op}({}, {}{axis})", x.text, y.text), shape)
            }
            10 if rank == 2 => {
                let n = 1 + rng.below(4);
                let y = self.partner(rng, &[x.shape[1], n]);
                Term::new(
                    format!("matmul({}, {})", x.text, y.text),
                    vec![x.shape[0], n],
                )
            }
            11 if rank > 0 => {
                let s = rng.below(rank);
                let e = s + rng.below(rank - s);
                let start = Self::axis(rng, "start", s, rank, Some(0));
                let end = Self::axis(rng, "end", e, rank, last);
                let mut shape = x.shape[..s].to_vec();
                shape.push(x.shape[s..=e].iter().product());
                shape.extend_from_slice(&x.shape[e + 1..]);
                Term::new(format!("flatten({}{start}{end})", x.text), shape)
            }
            12 => {
                let shape = self.shape(rng, 3);
                self.constant(rng, shape)
            }
            13 => Term::new(format!("({})", x.text), x.shape.clone()),
            14 if rank == 2 => {
                let (k, h) = (x.shape[0], x.shape[1]);
                let shape = vec![k, k.checked_mul(h)?];
                Term::new(format!("mixing_weight({})", x.text), shape)
            }
            15 if rank == 2 => {
                if rng.chance(50) {
                    let other = [1 + rng.below(3), 1 + rng.below(4)];
                    let y = self.partner(rng, &other);
                    let shape = vec![x.shape[0].checked_mul(other[0])?, x.shape[1] + other[1] - 1];
                    Term::new(format!("polynomial_product({}, {})", x.text, y.text), shape)
                } else {
                    let order = 1 + rng.below(4);
                    let attr = if order == 1 && rng.chance(50) {
                        String::new()
                    } else {
                        format!(", order = {order}")
                    };
                    let shape = vec![x.shape[0], x.shape[1].saturating_sub(order).max(1)];
                    Term::new(format!("polynomial_differential({}{attr})", x.text), shape)
                }
            }
            16 if rank == 1 => {
                let other = [1 + rng.below(4)];
                let (s1, s2) = (self.partner(rng, &x.shape), self.partner(rng, &other));
                let m2 = self.partner(rng, &other);
                let shape = vec![x.shape[0].checked_mul(other[0])?];
                let text = match rng.below(3) {
                    0 => format!("gaussian_product_stddev({}, {})", x.text, s2.text),
                    1 => format!(
                        "gaussian_product_mean({}, {}, {}, {})",
                        x.text, s1.text, m2.text, s2.text
                    ),
                    _ => format!(
                        "gaussian_product_log_partition({}, {}, {}, {})",
                        x.text, s1.text, m2.text, s2.text
                    ),
                };
                Term::new(text, shape)
            }
            _ => return None,
        };
        self.fits(&t.shape).then_some(t)
    }

    /// The declared type of an output.
    fn declare(&self, rng: &mut Rng, t: &Term) -> String {
        match t.kron {
            Some([p, q, r, s]) if rng.chance(50) => format!(
                "{}Kron<{}, {p}, {q}, {r}, {s}>",
                rng.pick(&["", "param_graph::runtime::"]),
                self.dtype.name()
            ),
            _ => self.spell(rng, &t.shape),
        }
    }
}

fn list_of(items: &[usize]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn well_typed_fn(rng: &mut Rng, huge: bool, name: &str, out: &mut String) {
    let mut g = Typed {
        dtype: if rng.chance(75) {
            DType::F64
        } else {
            DType::F32
        },
        huge,
        env: Vec::new(),
        symbolic: rng.chance(30),
    };
    if rng.chance(30) {
        out.push_str("#[param_graph(optimize = false)]\n");
    }
    if rng.chance(15) {
        out.push_str("/// Docs.\n#[inline]\n");
    }
    if rng.chance(5) {
        let _ = writeln!(out, "{}", rng.pick(FN_ATTRS));
    }
    let mut params = Vec::new();
    for param in ["x", "a", "b", "m"]
        .iter()
        .take(*rng.pick(&[0, 1, 1, 1, 2, 2, 3, 4]))
    {
        let shape = g.shape(rng, 4);
        let by_ref = if rng.chance(60) { "&" } else { "" };
        params.push(format!("{param}: {by_ref}{}", g.spell(rng, &shape)));
        g.env.push(Term::new(param.to_string(), shape));
    }
    let mut body = String::new();
    let lets = if huge { 2 + rng.below(4) } else { rng.below(5) };
    for _ in 0..lets {
        let depth = 1 + rng.below(3);
        let value = g.term(rng, depth);
        let name = if rng.chance(10) && !g.env.is_empty() {
            rng.pick(&g.env).text.clone()
        } else {
            rng.pick(&["e", "p", "s", "t"]).to_string()
        };
        if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let _ = writeln!(body, "    let {name} = {};", value.text);
        g.env.retain(|t| t.text != name);
        g.env.push(Term {
            text: name,
            ..value
        });
    }
    let count = if rng.chance(75) { 1 } else { 2 + rng.below(2) };
    let outputs: Vec<Term> = (0..count)
        .map(|_| {
            let depth = rng.below(4);
            g.term(rng, depth)
        })
        .collect();
    let types: Vec<String> = outputs.iter().map(|t| g.declare(rng, t)).collect();
    let texts: Vec<&str> = outputs.iter().map(|t| t.text.as_str()).collect();
    let (ret, result) = if count == 1 {
        (types[0].clone(), texts[0].to_string())
    } else {
        (
            format!("({})", types.join(", ")),
            format!("({})", texts.join(", ")),
        )
    };
    let vis = rng.pick(&["", "pub ", "pub(crate) "]);
    let _ = writeln!(
        out,
        "{vis}fn {name}({}) -> {ret} {{\n{body}    {result}\n}}",
        params.join(", ")
    );
}

/// A well-typed random program; now and then mutated once or twice.
fn well_typed_program(rng: &mut Rng, v: &Vocab) -> Vec<Node> {
    let huge = rng.chance(15);
    let mut src = String::new();
    if rng.chance(30) {
        for _ in 0..1 + rng.below(3) {
            let item: &&str = rng.pick(CONSTS);
            src.push_str(item);
            src.push('\n');
        }
    }
    let fns = if rng.chance(80) { 1 } else { 2 + rng.below(2) };
    for i in 0..fns {
        well_typed_fn(rng, huge, &format!("f{i}"), &mut src);
    }
    let mut nodes = nodes_of(tokens(&src));
    if rng.chance(25) {
        for _ in 0..1 + rng.below(2) {
            mutate(rng, v, &mut nodes);
        }
    }
    nodes
}

// ---------------------------------------------------------------------------
// (b) Token-level mutations of the corpus.

fn random_slot(
    rng: &mut Rng,
    nodes: &[Node],
    keep: impl Fn(&Node) -> bool,
) -> Option<(Vec<usize>, usize)> {
    let mut all = Vec::new();
    slots(nodes, &mut Vec::new(), &mut all);
    let mut kept: Vec<_> = all
        .into_iter()
        .filter(|(path, i)| {
            let mut at = nodes;
            for step in path {
                match &at[*step] {
                    Node::Group(_, inner) => at = inner,
                    Node::Leaf(_) => unreachable!("a path runs through groups only"),
                }
            }
            keep(&at[*i])
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        let i = rng.below(kept.len());
        Some(kept.swap_remove(i))
    }
}

fn random_sequence(rng: &mut Rng, nodes: &[Node], inner_only: bool) -> Vec<usize> {
    let mut all = Vec::new();
    sequences(nodes, &mut Vec::new(), &mut all);
    if inner_only && all.len() > 1 {
        all.remove(0);
    }
    rng.pick(&all).clone()
}

fn is_literal(node: &Node) -> bool {
    matches!(node, Node::Leaf(TokenTree::Literal(_)))
}

fn is_ident(node: &Node) -> bool {
    matches!(node, Node::Leaf(TokenTree::Ident(_)))
}

/// Inserts `new` at a random place of a random sequence.
fn insert_anywhere(rng: &mut Rng, nodes: &mut Vec<Node>, new: Vec<Node>) {
    let path = random_sequence(rng, nodes, false);
    let seq = sequence_mut(nodes, &path);
    let at = rng.below(seq.len() + 1);
    seq.splice(at..at, new);
}

/// One random edit of the token tree.
fn mutate(rng: &mut Rng, v: &Vocab, nodes: &mut Vec<Node>) {
    let Some(slot) = random_slot(rng, nodes, |_| true) else {
        nodes.extend(random_tree(rng, v, 2, 6));
        return;
    };
    match rng.below(11) {
        // Delete a token (or a whole group).
        0 | 1 => {
            sequence_mut(nodes, &slot.0).remove(slot.1);
        }
        // Duplicate one.
        2 => {
            let seq = sequence_mut(nodes, &slot.0);
            let copy = seq[slot.1].clone();
            seq.insert(slot.1 + 1, copy);
        }
        // Swap two of one sequence.
        3 => {
            let seq = sequence_mut(nodes, &slot.0);
            let other = rng.below(seq.len());
            seq.swap(slot.1, other);
        }
        // Replace a literal by an extreme one (or plant one).
        4 | 5 => {
            let extreme = Node::Leaf(TokenTree::Literal(rng.pick(&v.extremes).clone()));
            match random_slot(rng, nodes, is_literal) {
                Some(lit) => *node_at(nodes, &lit) = extreme,
                None => insert_anywhere(rng, nodes, vec![extreme]),
            }
        }
        // Replace an ident by a random one of the vocabulary.
        6 | 7 => {
            let new = ident(rng, v);
            if let Some(id) = random_slot(rng, nodes, is_ident) {
                *node_at(nodes, &id) = new;
            }
        }
        // Truncate inside a group.
        8 => {
            let path = random_sequence(rng, nodes, true);
            let seq = sequence_mut(nodes, &path);
            let keep = rng.below(seq.len() + 1);
            seq.truncate(keep);
        }
        // Wrap a run of tokens in extra parentheses (or another group).
        9 => {
            let seq = sequence_mut(nodes, &slot.0);
            let end = slot.1 + 1 + rng.below((seq.len() - slot.1).min(6));
            let mut wrapped: Vec<Node> = seq.drain(slot.1..end).collect();
            for _ in 0..1 + rng.below(3) {
                // Invisible groups are what `macro_rules!` fragments
                // (`$x:expr`, `$t:ty`) arrive as.
                let d = match rng.below(20) {
                    0..=11 => Delimiter::Parenthesis,
                    12..=16 => Delimiter::None,
                    _ => delimiter(rng),
                };
                wrapped = vec![Node::Group(d, wrapped)];
            }
            seq.splice(slot.1..slot.1, wrapped);
        }
        // Insert a random token, or a copy of a subtree from elsewhere.
        _ => {
            let new = if rng.chance(50) {
                let copy = sequence_mut(nodes, &slot.0)[slot.1].clone();
                vec![copy]
            } else {
                match rng.below(3) {
                    0 => vec![ident(rng, v)],
                    1 => vec![literal(rng, v)],
                    _ => punct(rng, v),
                }
            };
            insert_anywhere(rng, nodes, new);
        }
    }
}

fn mutated_program(rng: &mut Rng, v: &Vocab) -> Vec<Node> {
    let mut nodes = rng.pick(&v.corpus).clone();
    if rng.chance(5) {
        nodes.extend(rng.pick(&v.corpus).iter().cloned());
    }
    let edits = match rng.below(4) {
        0 | 1 => 1,
        2 => 2,
        _ => 3 + rng.below(4),
    };
    for _ in 0..edits {
        mutate(rng, v, &mut nodes);
    }
    nodes
}

// ---------------------------------------------------------------------------
// The property.

thread_local! {
    /// Set while this thread runs `expand` under `catch_unwind`.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The location and message of the last panic caught while quiet.
    static CAUGHT: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// A panic hook that records, instead of printing, the panics of a thread
/// running a case; other threads' panics go to the previous hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map_or_else(|| "an unknown location".into(), ToString::to_string);
                let message = payload_text(info.payload());
                CAUGHT.with(|c| *c.borrow_mut() = Some((location, message)));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-string panic payload)".into()
    }
}

enum Verdict {
    Compiled,
    Rejected,
}

/// A broken property: a short key to group failures by, and the details.
struct Broken {
    key: String,
    details: String,
}

fn check(nodes: &[Node]) -> Result<Verdict, Broken> {
    let input = stream_of(nodes);
    let krate = quote!(::param_graph);
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| expand(input, &krate)));
    QUIET.with(|q| q.set(false));
    let output = match result {
        Ok(output) => output,
        Err(payload) => {
            let (location, message) = CAUGHT
                .with(|c| c.borrow_mut().take())
                .unwrap_or_else(|| ("an unknown location".into(), payload_text(&*payload)));
            return Err(Broken {
                key: format!("panic at {location}"),
                details: format!("panicked at {location}: {message}"),
            });
        }
    };
    if output.is_empty() {
        return Err(Broken {
            key: "empty output".into(),
            details: "returned no tokens: neither code nor a compile_error!".into(),
        });
    }
    let text = output.to_string();
    if let Err(e) = syn::parse2::<syn::File>(output) {
        return Err(Broken {
            key: format!("output does not parse: {e}"),
            details: format!("returned tokens that do not parse as items ({e}):\n{text}"),
        });
    }
    // A broken invariant is reported, not panicked on; it is still a bug.
    if text.contains("internal error in param_graph!") {
        return Err(Broken {
            key: "internal error".into(),
            details: format!("reported an internal error:\n{text}"),
        });
    }
    Ok(if text.contains("compile_error") {
        Verdict::Rejected
    } else {
        Verdict::Compiled
    })
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim().replace('_', "");
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={text}: {e}")))
}

/// Runs the cases of one generator and fails with every distinct broken
/// property, each with a case that shows it.
fn run(test: &str, salt: u64, generate: fn(&mut Rng, &Vocab) -> Vec<Node>) {
    install_hook();
    let seed = env_number("PARAM_GRAPH_FUZZ_SEED").unwrap_or(SEED);
    let cases = env_number("PARAM_GRAPH_FUZZ_CASES").map_or(CASES, |n| n as usize);
    let indices = match env_number("PARAM_GRAPH_FUZZ_CASE") {
        Some(only) => only as usize..only as usize + 1,
        None => 0..cases,
    };
    let vocab = Vocab::new();
    let (mut compiled, mut rejected, mut failed) = (0usize, 0usize, 0usize);
    // Distinct failures: key, count, the first case's report.
    let mut distinct: Vec<(String, usize, String)> = Vec::new();
    let ran = indices.len();
    for index in indices {
        let mut rng = case_rng(seed, salt, index);
        let nodes = generate(&mut rng, &vocab);
        match check(&nodes) {
            Ok(Verdict::Compiled) => compiled += 1,
            Ok(Verdict::Rejected) => rejected += 1,
            Err(broken) => {
                failed += 1;
                if let Some(seen) = distinct.iter_mut().find(|(k, _, _)| *k == broken.key) {
                    seen.1 += 1;
                    continue;
                }
                let mut input = String::new();
                render(&nodes, &mut input);
                let report = format!(
                    "case {index} (replay: PARAM_GRAPH_FUZZ_SEED={seed:#x} PARAM_GRAPH_FUZZ_CASE={index} \
                     cargo test -p param-graph-compiler --test fuzz {test} -- --nocapture)\n  {}\n  input: {}",
                    broken.details,
                    input.trim_end()
                );
                distinct.push((broken.key, 1, report));
            }
        }
    }
    println!(
        "fuzz::{test}: seed {seed:#x}, {ran} cases: {compiled} compiled, \
         {rejected} rejected with compile_error!, {failed} broke the property"
    );
    if failed > 0 {
        let mut message = format!(
            "{failed} of {ran} cases broke the property (seed {seed:#x}), {} distinct:\n",
            distinct.len()
        );
        for (key, count, report) in distinct.iter().take(SHOWN) {
            let _ = writeln!(message, "\n[{count} cases] {key}\n{report}");
        }
        if distinct.len() > SHOWN {
            let _ = writeln!(message, "\n... and {} more", distinct.len() - SHOWN);
        }
        panic!("{message}");
    }
}

#[test]
fn corpus_programs_compile() {
    for src in CORPUS {
        let output = expand(tokens(src), &quote!(::param_graph));
        let text = output.to_string();
        assert!(!text.contains("compile_error"), "{src}\n=> {text}");
        syn::parse2::<syn::File>(output).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}

#[test]
fn random_token_trees_never_panic() {
    run("random_token_trees_never_panic", 0xA1, random_token_tree);
}

#[test]
fn random_programs_never_panic() {
    run("random_programs_never_panic", 0xB2, random_program);
}

#[test]
fn well_typed_programs_never_panic() {
    run("well_typed_programs_never_panic", 0xD4, well_typed_program);
}

#[test]
fn mutated_programs_never_panic() {
    run("mutated_programs_never_panic", 0xC3, mutated_program);
}
