//! The op catalogue (`param_graph_compiler::testing::OPS`) is the one list
//! of ops; these tests point at whatever a new op forgot: its row in the
//! README's op table, its use in an end-to-end compile-pass program,
//! and its reference semantics, which must agree with the compiler's IR
//! interpreter on the op's example call.

mod support;

use param_graph_compiler::testing::{eval, example_graph, rules, sample_inputs, OPS};
use support::ir::eval_graph;
use support::T;

/// The README's `### Ops` section (its table and notes).
fn readme_ops_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme.find("### Ops").expect("an `### Ops` section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n#").map_or(rest.len(), |k| k + 3);
    rest[..end].to_string()
}

#[test]
fn every_op_has_a_row_in_the_readme() {
    let table = readme_ops_section();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
    for spec in OPS {
        let name = format!("`{}`", spec.name);
        let call = format!("`{}(", spec.name);
        assert!(
            rows.iter().any(|r| r.contains(&name) || r.contains(&call)),
            "`{}` has no row in the README's op table",
            spec.name
        );
    }
}

/// The README's gradient table shows every op's derivative exactly as the
/// catalogue states it (`OpSpec::derivative`, which `name_vjp`'s rustdoc
/// also quotes).
#[test]
fn every_op_has_its_derivative_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## Gradients")
        .expect("a `## Gradients` section");
    let section = &readme[start..];
    for spec in OPS {
        let row = format!("| `{}` | ", spec.name);
        let Some(line) = section.lines().find(|l| l.starts_with(&row)) else {
            panic!("`{}` has no row in the README's gradient table", spec.name);
        };
        assert!(
            line.contains(spec.derivative),
            "the README's gradient row for `{}` does not show its derivative `{}`",
            spec.name,
            spec.derivative
        );
    }
}

/// The compile-pass programs (`tests/ui/pass/`, which `tests/ui.rs` builds
/// under `deny(warnings)` and runs, checking their results) call every op:
/// with this test, a new op without its runtime function or kernel fails
/// the `ui` test.
#[test]
fn every_rule_has_a_row_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## The optimizer")
        .expect("a `## The optimizer` section");
    let section = &readme[start..];
    for (rule, pattern) in rules() {
        let row = format!("| `{rule}`");
        let Some(line) = section.lines().find(|l| l.starts_with(&row)) else {
            panic!("the optimizer's rule `{rule}` has no row in the README's rule table");
        };
        assert!(
            line.contains(&format!("`{pattern}`")),
            "the README's row for `{rule}` does not show its pattern `{pattern}`"
        );
    }
}

#[test]
fn every_op_is_compiled_end_to_end() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui/pass");
    let programs: String = std::fs::read_dir(dir)
        .expect("tests/ui/pass")
        .map(|entry| std::fs::read_to_string(entry.expect("an entry").path()).expect("a program"))
        .collect();
    for spec in OPS {
        assert!(
            programs.contains(&format!("{}(", spec.name)),
            "no program in tests/ui/pass calls `{}`",
            spec.name
        );
    }
}

#[test]
fn the_reference_agrees_with_the_ir_interpreter_on_every_example() {
    for spec in OPS {
        let g = example_graph(spec.example);
        for seed in 0..4 {
            let inputs = sample_inputs(&g, seed);
            let leaves: Vec<T> = inputs
                .iter()
                .map(|t| T::new(t.shape.clone(), t.data.clone()))
                .collect();
            let want = eval_graph(&g, &leaves);
            let got = eval(&g, &inputs);
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w.shape, g.shape, "{}", spec.example);
                for (x, y) in w.data.iter().zip(&g.data) {
                    // Two independent evaluations of one formula: rounding
                    // differences only.
                    let close = (x - y).abs() <= 1e-12 * x.abs().max(1.0);
                    assert!(
                        close || (x.is_nan() && y.is_nan()),
                        "{}: reference {x} vs interpreter {y}",
                        spec.example
                    );
                }
            }
        }
    }
}
