//! Every example runs to completion, so none of them can rot. Each is
//! included here as a module and its `main` called on the test thread; the
//! examples check their own results with `assert!`, so a wrong number fails
//! the test as well as a panic does.

#[path = "../examples/kronecker_layer.rs"]
mod kronecker_layer;
// Its `main` reads the command line; the test calls `train_and_report`.
#[allow(dead_code)]
#[path = "../examples/learn_digits/main.rs"]
mod learn_digits;
#[path = "../examples/quickstart.rs"]
mod quickstart;
#[path = "../examples/squared_embeddings.rs"]
mod squared_embeddings;
#[path = "../examples/sum_layer.rs"]
mod sum_layer;
#[path = "../examples/tiny_circuit/main.rs"]
mod tiny_circuit;

#[test]
fn quickstart_runs() {
    quickstart::main();
}

#[test]
fn sum_layer_runs() {
    sum_layer::main();
}

#[test]
fn squared_embeddings_runs() {
    squared_embeddings::main();
}

#[test]
fn kronecker_layer_runs() {
    kronecker_layer::main();
}

#[test]
fn tiny_circuit_runs() {
    tiny_circuit::main();
}

/// `learn_digits` trains for seconds at its defaults: here one epoch at
/// K = 2 by Adam and by EM, through the same path (data, training, report,
/// plot).
#[test]
fn learn_digits_runs() {
    let plot = std::env::temp_dir().join(format!("learn_digits_{}.svg", std::process::id()));
    let options = learn_digits::Options {
        k: 2,
        epochs: 1,
        seed: 1,
        plot: plot.clone(),
        methods: vec![learn_digits::Method::Adam, learn_digits::Method::Em],
        eta: 0.5,
        alpha: 0.01,
    };
    learn_digits::train_and_report(&options).expect("the example runs");
    let svg = std::fs::read_to_string(&plot).expect("the learning curve was written");
    assert!(svg.contains("<svg"), "not an SVG");
    let _ = std::fs::remove_file(plot);
}
