//! Checks the test suite's own oracle: the reference evaluator
//! (`support::reference`, which the property tests in `index_algebra.rs` and
//! `cirkit_products.rs` trust) must reproduce cirkit's outputs on every
//! fixture case. Each case's body is read by the compiler's front end (the
//! graph as written, no optimizer) and every node is computed by the
//! reference; no code generation or runtime is involved, so this also guards
//! the reference while those change.

mod support;

use serde_json::Value;
use support::reference::T;
use support::{assert_close, ir, parse_numbers};

fn tensor(v: &Value) -> T {
    let shape = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dimension") as usize)
        .collect();
    T::new(shape, parse_numbers(&v["data"]))
}

#[test]
fn reference_reproduces_cirkit_outputs() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cirkit_public.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let inputs: Vec<(&str, T)> = case["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), tensor(v)))
            .collect();
        let want = tensor(&case["output"]);
        let got = ir::eval(case["body"].as_str().unwrap(), &inputs, &want.shape);
        assert_eq!(got.shape, want.shape, "{name}: shape");
        assert_close(name, &got.data, &want.data, 1e-12);
        // The optimized output agrees too, except where the fusion changes
        // what is computed (log(softmax) that underflowed unfused).
        if case.get("note").is_none() {
            let opt = parse_numbers(&case["cirkit_optimized_output"]);
            assert_close(&format!("{name} (optimized)"), &got.data, &opt, 1e-12);
        }
        checked += 1;
    }
    assert_eq!(checked, 79, "number of fixture cases checked");
}
