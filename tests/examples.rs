//! Every example runs to completion, so none of them can rot. Each is
//! included here as a module and its `main` called on the test thread; the
//! examples check their own results with `assert!`, so a wrong number fails
//! the test as well as a panic does.

#[path = "../examples/kronecker_layer.rs"]
mod kronecker_layer;
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
