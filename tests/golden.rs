//! Golden tests: every case of cirkit's public fixture
//! (`tests/fixtures/cirkit_public.json`, a copy of `shared/golden/`) compiled
//! through `param_graph!` and compared with what cirkit computed.
//!
//! The macro runs at compile time, so the cases live as Rust source in
//! `golden/generated.rs`, written by `golden/generate.rs`. After changing the
//! fixture or the generator, regenerate with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test golden generated_file_is_fresh
//! ```
//!
//! (if the stale file no longer compiles, empty it first:
//! `: > tests/golden/generated.rs`). Without `UPDATE_GOLDEN`,
//! [`generated_file_is_fresh`] fails when the checked-in file is not what the
//! generator makes of the fixture, so the two cannot drift apart.
//!
//! What is compared, all at relative tolerance 1e-9 (`generate::REL`, with
//! `assert_close`'s absolute floor of 1e-15; non-finite values must match
//! exactly):
//!
//! - Every case cirkit's optimizer rewrites, chosen by name
//!   (`generate::rewritten_by_cirkit`): the `*_fusion_*` cases (`log(softmax)`
//!   into `log_softmax`), the `sum_outer_*` cases (`reduce_sum(outer_product)`
//!   into an einsum) and `kron_matmul`. The default (optimized) function is
//!   compared with the case's `cirkit_optimized_output` where present, else
//!   with `output` (the shape is `output.shape` either way), and a second
//!   function compiled with `#[param_graph(optimize = false)]` is compared
//!   with `output`. For `log_softmax_fusion_extreme` this means, as in cirkit,
//!   that the fused result is finite while the unfused one is `-inf`; its
//!   optimized test also asserts the result is all finite.
//! - Every other case: the default function, compared with `output`.
//!
//! `golden/named_generated.rs` (same generator, `generate_named`) compiles
//! every case again with its sizes written as constants declared in the
//! block (`const N3: usize = 3;`, `SMatrix<f64, N2, N3>`, a product of two
//! sizes as `{N2 * N3}`), and again generic over every size
//! (`fn generic<const G2: usize, const G3: usize, const G6: usize>`, where
//! the macro asserts `G6 == G2 * G3` for the instance), each case in its own
//! module, against the same values.

mod support;

#[path = "golden/generate.rs"]
mod generate;

#[path = "golden/generated.rs"]
mod generated;

#[path = "golden/named_generated.rs"]
mod named_generated;

use std::path::PathBuf;

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn generated_file_is_fresh() {
    let fixture_path = tests_dir().join("fixtures/cirkit_public.json");
    let generated_path = tests_dir().join("golden/generated.rs");
    let fixture = std::fs::read_to_string(&fixture_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", fixture_path.display()));
    let want = generate::generate(&fixture);
    generate::check_fresh(&generated_path, &want, "golden");
    let named_path = tests_dir().join("golden/named_generated.rs");
    generate::check_fresh(&named_path, &generate::generate_named(&fixture), "golden");
}

/// The generator's own pieces, checked on small inputs.
#[test]
fn generator_pieces() {
    assert_eq!(generate::sanitize("softmax_axis-1"), "softmax_axis_m1");
    assert_eq!(generate::sanitize("log_softmax_axis0"), "log_softmax_axis0");
    assert_eq!(generate::sanitize("A b--c"), "a_b_c");
    assert_eq!(generate::rust_type(&[]).unwrap(), "f64");
    assert_eq!(generate::rust_type(&[5]).unwrap(), "SVector<f64, 5>");
    assert_eq!(generate::rust_type(&[2, 3]).unwrap(), "SMatrix<f64, 2, 3>");
    assert_eq!(
        generate::rust_type(&[2, 3, 4]).unwrap(),
        "[SMatrix<f64, 3, 4>; 2]"
    );
    assert_eq!(
        generate::rust_type(&[2, 3, 4, 5]).unwrap(),
        "[[SMatrix<f64, 4, 5>; 3]; 2]"
    );
    assert!(generate::rust_type(&[1, 2, 3, 4, 5]).is_err());
    assert!(generate::rewritten_by_cirkit("log_softmax_fusion_axis0"));
    assert!(generate::rewritten_by_cirkit(generate::EXTREME_CASE));
    assert!(generate::rewritten_by_cirkit("sum_outer_rank3"));
    assert!(generate::rewritten_by_cirkit("kron_matmul"));
    assert!(!generate::rewritten_by_cirkit("kron"));
    assert!(!generate::rewritten_by_cirkit("log_softmax_axis0"));
    assert!(!generate::rewritten_by_cirkit("outer_sum_axis0"));
    assert_eq!(generate::literal(0.1), "0.1");
    assert_eq!(generate::literal(-2.0), "-2.0");
    assert_eq!(generate::literal(1e-300), "1e-300");
    assert_eq!(generate::literal(f64::NEG_INFINITY), "f64::NEG_INFINITY");
    let ops = generate::called_names("let p = softmax(theta, axis = 1);\nlog(p) + f(1e-3)");
    assert_eq!(ops.into_iter().collect::<Vec<_>>(), ["f", "log", "softmax"]);
    assert_eq!(
        generate::normalize("f(\n    a,\n    b,\n);"),
        generate::normalize("f(a, b);")
    );
}

/// Every fixture value survives the trip to a Rust literal and back bit for
/// bit (the generator reads numbers with its own correctly rounded parser).
#[test]
fn fixture_values_round_trip_through_literals() {
    let fixture = std::fs::read_to_string(tests_dir().join("fixtures/cirkit_public.json")).unwrap();
    let (_, cases) = generate::parse_fixture(&fixture);
    let mut count = 0;
    for case in &cases {
        let tensors = case.inputs.iter().map(|(_, t)| t).chain([&case.output]);
        for x in tensors.flat_map(|t| t.data.iter().copied()) {
            let lit = generate::literal(x);
            let back = match lit.as_str() {
                "f64::INFINITY" => f64::INFINITY,
                "f64::NEG_INFINITY" => f64::NEG_INFINITY,
                "f64::NAN" => f64::NAN,
                _ => lit.parse().unwrap(),
            };
            assert!(
                back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()),
                "{}: {x:?} printed as {lit}",
                case.name
            );
            count += 1;
        }
    }
    assert!(count > 5000, "only {count} values in the fixture");
    // Spot-check one value against the fixture's text.
    assert_eq!(cases[0].inputs[0].1.data[0], 2.2380220024403648);
}
