//! Differential property test of the optimizer: random graphs built from the
//! ops (with the rules' patterns planted among them) agree before and after
//! optimization, evaluated by the IR interpreter, wherever the graph as
//! written gives a finite value.

use param_graph_compiler::testing::{
    eval, graph, optimize, sample_inputs, type_name, DType, Rng as Dice,
};
use proptest::prelude::*;

/// The type of a tensor of `shape` (every graph here is `f64`).
fn type_of(shape: &[usize]) -> String {
    type_name(shape, DType::F64)
}

/// A random well-shaped program; returns its source.
fn random_program(seed: u64) -> String {
    let mut dice = Dice(seed);
    let shapes = [vec![3, 4], vec![2, 3, 4], vec![4], vec![2, 2, 3]];
    let a = shapes[dice.below(shapes.len())].clone();
    let b = if dice.below(2) == 0 {
        a.clone()
    } else {
        shapes[dice.below(shapes.len())].clone()
    };
    let mut pool: Vec<(String, Vec<usize>)> =
        vec![("a".into(), a.clone()), ("b".into(), b.clone())];
    let mut lets = Vec::new();
    for step in 0..(2 + dice.below(6)) {
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
        let name = format!("v{step}");
        lets.push(format!("let {name} = {expr};"));
        pool.push((name, shape));
    }
    let (out, out_shape) = pool.last().cloned().unwrap_or(("a".into(), a.clone()));
    format!(
        "fn f(a: &{}, b: &{}) -> {} {{ {} {out} }}",
        type_of(&a),
        type_of(&b),
        type_of(&out_shape),
        lets.join(" ")
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn optimized_graphs_agree_with_the_graphs_as_written(seed in any::<u64>(), input_seed in 0u64..1000) {
        let src = random_program(seed);
        let plain = graph(&src);
        let mut fast = plain.clone();
        optimize(&mut fast);
        let inputs = sample_inputs(&plain, input_seed);
        let want = eval(&plain, &inputs);
        let got = eval(&fast, &inputs);
        for (w, g) in want.iter().zip(&got) {
            prop_assert_eq!(&w.shape, &g.shape);
            for (x, y) in w.data.iter().zip(&g.data) {
                if x.is_finite() {
                    let diff = (x - y).abs();
                    prop_assert!(diff <= 1e-9 * x.abs() || diff <= 1e-12, "{} vs {} in {}", x, y, src);
                }
            }
        }
    }
}

#[test]
fn the_random_programs_exercise_every_rule() {
    let mut fired = std::collections::HashSet::new();
    for seed in 0..400 {
        let mut g = graph(&random_program(seed));
        optimize(&mut g);
        fired.extend(g.nodes.iter().filter_map(|n| n.rule));
    }
    for rule in [
        "log_softmax",
        "sum_outer",
        "log_sigmoid",
        "log_sum_exp",
        "gaussian_product",
    ] {
        assert!(fired.contains(rule), "{rule} never fired: {fired:?}");
    }
}
