//! Differential property test of the optimizer: random graphs built from the
//! ops (with the rules' patterns planted among them) agree before and after
//! optimization, evaluated by the IR interpreter, wherever the graph as
//! written gives a finite value.

use param_graph_compiler::testing::{self, eval, graph, optimize, sample_inputs};
use proptest::prelude::*;

/// The small leaves the random programs are drawn over.
const LEAVES: &[&[usize]] = &[&[3, 4], &[2, 3, 4], &[4], &[2, 2, 3]];

/// A random well-shaped program over small leaves; its source.
fn random_program(seed: u64) -> String {
    testing::random_program(seed, LEAVES, 2, usize::MAX).source("f", " ")
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The same program with its sizes written as constants of the block
    /// (`const N3: usize = 3;`, `SMatrix<f64, N3, N4>`) compiles to the
    /// same graph: the same ops over the same shapes, the same values.
    #[test]
    fn named_sizes_compile_to_the_graph_of_their_values(seed in any::<u64>(), input_seed in 0u64..1000) {
        let p = testing::random_program(seed, LEAVES, 2, usize::MAX);
        let literal = graph(&p.source("f", " "));
        let named_src = p.named_source("f", " ", "N");
        prop_assert!(named_src.contains("const N"), "{}", named_src);
        let named = graph(&named_src);
        prop_assert_eq!(testing::calls(&literal), testing::calls(&named));
        let inputs = sample_inputs(&literal, input_seed);
        let (want, got) = (eval(&literal, &inputs), eval(&named, &inputs));
        for (w, g) in want.iter().zip(&got) {
            prop_assert_eq!(&w.shape, &g.shape);
            for (x, y) in w.data.iter().zip(&g.data) {
                prop_assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
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
