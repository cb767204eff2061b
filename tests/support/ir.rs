//! Evaluates a graph body (the text inside a `param_graph!` function, as in
//! the fixture's `body` field) with the [`reference`](super::reference)
//! evaluator, so the reference can be checked against cirkit's outputs.
//!
//! The body is compiled by the real front end (`param_graph_compiler::
//! testing::graph`: parsed, lowered, shapes inferred, not optimized) and its
//! nodes, described by `testing::calls`, are run one by one with the
//! reference functions. Only the reading of the language is shared with the
//! compiler: the arithmetic is the reference's own.

use super::reference::{self as r, T};
use param_graph_compiler::testing::{calls, graph, type_name, Call, DType, Graph};

/// The reference value of one node, from its arguments' values; `leaf` is
/// the value of a leaf's parameter. This is the one table from an op's name
/// to the reference function; every attribute the node has must be read.
fn apply(call: &Call, args: &[&T], leaf: impl Fn(usize) -> T) -> T {
    let read = std::cell::RefCell::new(Vec::new());
    let key = |k: &'static str| {
        read.borrow_mut().push(k);
        k
    };
    let int = |k| call.int(key(k));
    let axis = |k| int(k) as isize;
    let number = |k| call.number(key(k));
    let number_opt = |k| call.number_opt(key(k));
    let list = |k| call.list(key(k));
    let x = |i: usize| args[i];
    let out = match call.op {
        "leaf" => leaf(call.leaf.expect("a leaf has a parameter")),
        "constant" => r::constant(number("value"), &list("shape")),
        "exp" => r::exp(x(0)),
        "conjugate" => r::conjugate(x(0)),
        "log" => r::log(x(0)),
        "square" => r::square(x(0)),
        "sigmoid" => r::sigmoid(x(0)),
        "softplus" => r::softplus(x(0)),
        "scaled_sigmoid" => r::scaled_sigmoid(x(0), number("vmin"), number("vmax")),
        "clamp" => r::clamp(x(0), number_opt("min"), number_opt("max")),
        "add" => r::add(x(0), x(1)),
        "hadamard" => r::hadamard(x(0), x(1)),
        "div" => r::div(x(0), x(1)),
        "maximum" => r::maximum(x(0), x(1)),
        "minimum" => r::minimum(x(0), x(1)),
        "logaddexp" => r::logaddexp(x(0), x(1)),
        "sqrt" => r::sqrt(x(0)),
        "normalize" => r::normalize(x(0), axis("axis")),
        "matmul" => r::matmul(x(0), x(1)),
        "kron" => r::kron(x(0), x(1)),
        "outer_product" => r::outer_product(x(0), x(1), axis("axis")),
        "outer_sum" => r::outer_sum(x(0), x(1), axis("axis")),
        "reduce_sum" => r::reduce_sum(x(0), axis("axis")),
        "reduce_prod" => r::reduce_prod(x(0), axis("axis")),
        "reduce_lse" => r::reduce_lse(x(0), axis("axis")),
        "softmax" => r::softmax(x(0), axis("axis")),
        "log_softmax" => r::log_softmax(x(0), axis("axis")),
        "flatten" => r::flatten(x(0), axis("start"), axis("end")),
        "index" => r::index(x(0), &list("indices"), axis("axis")),
        "mixing_weight" => r::mixing_weight(x(0)),
        "gaussian_product_mean" => r::gaussian_product_mean(x(0), x(1), x(2), x(3)),
        "gaussian_product_stddev" => r::gaussian_product_stddev(x(0), x(1)),
        "gaussian_product_log_partition" => {
            r::gaussian_product_log_partition(x(0), x(1), x(2), x(3))
        }
        "polynomial_product" => r::polynomial_product(x(0), x(1)),
        "polynomial_differential" => r::polynomial_differential(x(0), int("order")),
        other => panic!("the reference evaluator has no op `{other}` ({call:?})"),
    };
    let read = read.into_inner();
    let unread: Vec<_> = call
        .attrs
        .iter()
        .filter(|(k, _)| !read.contains(k))
        .collect();
    assert!(
        unread.is_empty(),
        "{}: the reference ignores attributes {unread:?}",
        call.op
    );
    out
}

/// The source of `fn f` taking `inputs` and returning a tensor of shape
/// `output`, with `body`.
fn source(body: &str, inputs: &[(&str, T)], output: &[usize]) -> String {
    let params: Vec<String> = inputs
        .iter()
        .map(|(name, t)| format!("{name}: {}", type_name(&t.shape, DType::F64)))
        .collect();
    format!(
        "fn f({}) -> {} {{ {body} }}",
        params.join(", "),
        type_name(output, DType::F64)
    )
}

/// Evaluates `body` with the named input tensors; its result has shape
/// `output` (the declared return type, which the front end checks).
pub fn eval(body: &str, inputs: &[(&str, T)], output: &[usize]) -> T {
    let src = source(body, inputs, output);
    let leaves: Vec<T> = inputs.iter().map(|(_, t)| t.clone()).collect();
    match eval_graph(&graph(&src), &leaves).as_slice() {
        [out] => out.clone(),
        outs => panic!("expected one output, found {} in {src}", outs.len()),
    }
}

/// Evaluates every output of a graph the front end built, `leaves[k]` being
/// parameter `k`.
pub fn eval_graph(g: &Graph, leaves: &[T]) -> Vec<T> {
    let mut values: Vec<T> = Vec::new();
    for call in calls(g) {
        let args: Vec<&T> = call.args.iter().map(|&a| &values[a]).collect();
        let v = apply(&call, &args, |p| leaves[p].clone());
        assert_eq!(
            v.shape, call.shape,
            "{}: the reference's shape is not the inferred one",
            call.op
        );
        values.push(v);
    }
    g.outputs.iter().map(|&o| values[o].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_lets_and_attributes() {
        let x = T::new(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let y = eval(
            "let s = reduce_sum(x, axis = -1);\nlet c = clamp(s, min = -0.5, max = 5.0);\nc",
            &[("x", x.clone())],
            &[2],
        );
        assert_eq!(y, T::new(vec![2], vec![3.0, 5.0]));
        let y = eval(
            "index(x, [1, 1, 0], axis = 0)",
            &[("x", x.clone())],
            &[3, 2],
        );
        assert_eq!(y.data, vec![3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
        // Defaults are the front end's: the last axis, the whole flatten.
        let y = eval("flatten(softmax(x))", &[("x", x)], &[4]);
        let e = 1.0 / (1.0 + 1f64.exp());
        let want = [e, 1.0 - e, e, 1.0 - e];
        for (g, w) in y.data.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{y:?}");
        }
    }

    #[test]
    #[should_panic(expected = "the reference evaluator has no op `no_such_op`")]
    fn an_op_without_a_reference_function_panics() {
        let call = Call {
            op: "no_such_op",
            args: Vec::new(),
            leaf: None,
            attrs: Vec::new(),
            shape: Vec::new(),
        };
        apply(&call, &[], |_| unreachable!());
    }
}
