//! Compile-fail and compile-pass snapshots of `param_graph!`'s diagnostics.
//!
//! `tests/ui/fail/*.rs` each trigger one error path of the macro; their
//! `.stderr` files are the exact messages a user sees. `tests/ui/pass/*.rs`
//! must compile under `#![deny(warnings)]`. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn compile_pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
