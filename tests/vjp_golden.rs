//! Golden gradient tests: every case of the gradient fixture
//! (`tests/fixtures/cirkit_grad_public.json`, a copy of `shared/golden/`:
//! torch autograd through cirkit's parameter nodes, float64) compiled
//! through `param_graph!` with `#[param_graph(vjp)]`, and its gradients
//! compared with torch's.
//!
//! The macro runs at compile time, so the cases live as Rust source in
//! `vjp_golden/generated.rs`, written by `vjp_golden/generate.rs` (which
//! builds on the forward generator, `golden/generate.rs`). After changing
//! the fixture or either generator, regenerate with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test vjp_golden generated_file_is_fresh
//! ```
//!
//! (if the stale file no longer compiles, empty it first:
//! `: > tests/vjp_golden/generated.rs`). Without `UPDATE_GOLDEN`,
//! [`generated_file_is_fresh`] fails when the checked-in file is not what the
//! generator makes of the fixture.
//!
//! Each case is a module with two tests:
//!
//! - `optimized_matches_torch`: the default (optimized) function's
//!   `_vjp` against `cirkit_optimized_grads` (the gradient through the graph
//!   cirkit's optimizer made), or `grads` where absent;
//! - `as_written_matches_torch`: an `optimize = false` copy's `_vjp`
//!   against `grads` (the gradient through the graph as written).
//!
//! Both also compare the forward result with `output`, except where
//! cirkit's rewrite makes `output`'s `-inf`s finite (the
//! `log_softmax_fusion_extreme*` cases): there the optimized result must be
//! all finite. All comparisons are at relative tolerance 1e-9 with an
//! absolute floor of 1e-12 (`assert_close_abs`); non-finite wanted values
//! (`"inf"`, `"-inf"`, `"nan"` in the fixture) must match exactly.
//!
//! Run one case with `cargo test --test vjp_golden <case>::`.

mod support;

#[path = "vjp_golden/generate.rs"]
mod generate;

#[path = "vjp_golden/generated.rs"]
mod generated;

/// The EM ops' golden cases (`tests/fixtures/torch_em_ops_public.json`:
/// torch's values and gradients of `normalize`, `div`, `sqrt`, `maximum`,
/// `minimum`, `logaddexp`, scalar broadcasting and two M-step
/// compositions), generated the same way.
#[path = "vjp_golden/em_generated.rs"]
mod em_generated;

use generate::golden;
use std::path::PathBuf;
use support::assert_all_close;

/// The comparisons of one generated test, all made before it fails: the
/// forward result `got` with `output` (`None`: `got` must be all finite
/// instead), and each `(leaf, gradient, golden gradient)` of `grads`, at
/// relative tolerance `rel` with absolute floor `abs`. `label` names the
/// case and the function in the messages.
pub fn check_vjp(
    label: &str,
    got: &[f64],
    output: Option<&[f64]>,
    grads: &[(&str, Vec<f64>, &[f64])],
    rel: f64,
    abs: f64,
) {
    let mut names = Vec::new();
    let mut checks = Vec::new();
    match output {
        Some(want) => {
            names.push(format!("{label}: output"));
            checks.push((got, want));
        }
        None => assert!(
            got.iter().all(|v| v.is_finite()),
            "{label}: output is not all finite: {got:?}"
        ),
    }
    for (leaf, grad, want) in grads {
        names.push(format!("{label}: gradient of {leaf}"));
        checks.push((grad.as_slice(), *want));
    }
    let checks: Vec<(&str, &[f64], &[f64])> = names
        .iter()
        .zip(checks)
        .map(|(name, (got, want))| (name.as_str(), got, want))
        .collect();
    assert_all_close(&checks, rel, abs);
}

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixture() -> String {
    let path = tests_dir().join("fixtures/cirkit_grad_public.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn em_generated_file_is_fresh() {
    let generated_path = tests_dir().join("vjp_golden/em_generated.rs");
    let path = tests_dir().join("fixtures/torch_em_ops_public.json");
    let json = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let want = generate::generate_from(
        &json,
        "torch_em_ops_public.json",
        "em_generated_file_is_fresh",
    );
    golden::check_fresh(&generated_path, &want, "vjp_golden");
}

#[test]
fn generated_file_is_fresh() {
    let generated_path = tests_dir().join("vjp_golden/generated.rs");
    let want = generate::generate(&fixture());
    golden::check_fresh(&generated_path, &want, "vjp_golden");
}

/// The fixture is what the generator expects: every case generated, its
/// gradients the shapes of its inputs, and the cases where cirkit's rewrite
/// changes the values the ones the fixture's note says.
#[test]
fn fixture_shape() {
    let (_, cases) = generate::parse_fixture(&fixture());
    assert_eq!(cases.len(), 97);
    for gc in &cases {
        assert_eq!(generate::skip_reason(gc), None, "{}", gc.case.name);
        assert_eq!(generate::vjp_option(gc), "vjp", "{}", gc.case.name);
        assert!(gc.optimized_grads.is_some(), "{}", gc.case.name);
    }
    let changed: Vec<&str> = cases
        .iter()
        .filter(|gc| generate::optimization_changes_values(gc))
        .map(|gc| gc.case.name.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "log_softmax_fusion_extreme",
            "log_softmax_fusion_extreme_grad"
        ]
    );
    // Spot-check values against the fixture's text.
    let exp = &cases[0];
    assert_eq!(exp.case.name, "exp");
    assert_eq!(exp.cotangent.data[0], 0.4172935128966035);
    assert_eq!(exp.grads[0].1.data[0], 3.912030565918079);
}
