//! Turns the gradient fixture (`tests/fixtures/cirkit_grad_public.json`:
//! torch autograd through cirkit's parameter nodes) into Rust source,
//! `tests/vjp_golden/generated.rs`. Every case becomes a module with the
//! case's body compiled twice with `#[param_graph(vjp)]`:
//!
//! - `optimized` (the default): its gradients (`optimized_vjp`) are compared
//!   with the case's `cirkit_optimized_grads` (torch autograd through the
//!   graph cirkit's optimizer made), or with `grads` where the fixture has
//!   none;
//! - `as_written` (`optimize = false`): its gradients are compared with
//!   `grads` (torch autograd through the graph as written).
//!
//! Each test also compares the forward result with the case's `output`,
//! except where cirkit's rewrite changes the values
//! ([`optimization_changes_values`]: the fused `log_softmax` stays finite
//! where the unfused `log(softmax)` is `-inf`); there the optimized result
//! must be all finite instead.
//!
//! Everything is compared at relative tolerance [`REL`] with absolute floor
//! [`ABS`] (`check_vjp` in `tests/vjp_golden.rs`, which reports every
//! mismatch of a test, output and all gradients, before failing); non-finite
//! wanted values must match exactly (the same infinity, NaN for NaN).
//!
//! The fixture's layout, the types of shapes, the literals, the names and
//! the rustfmt layout come from the forward generator, [`golden`]
//! (`tests/golden/generate.rs`), which this one extends with the cotangent
//! and the gradients.

#[allow(dead_code)] // the forward generator's own entry points go unused here
#[path = "../golden/generate.rs"]
pub mod golden;

use golden::json::Json;
use golden::{emit_array, emit_call, emit_graph, emit_typed_let, literal, rust_type, Case, Tensor};
use std::fmt::Write as _;

/// Relative tolerance of the generated comparisons.
pub const REL: &str = "1e-9";

/// Absolute floor of the generated comparisons: differences this small pass
/// near zero, where gradients summed in another order may cancel.
pub const ABS: &str = "1e-12";

/// Names the generated tests use for their own constants and variables, as
/// whole input names or (ending in `_`) as prefixes of them; an input so
/// named gets no test. The forward generator's own reserved names
/// (`golden::skip_reason`) apply too.
pub const RESERVED: &[&str] = &[
    "cotangent",
    "output",
    "grads",
    "label",
    "f",
    "vjp",
    "check",
    "rel",
    "abs",
    "grad_",
    "optimized",
    "optimized_",
    "as_written",
    "as_written_",
];

/// One case of the gradient fixture.
pub struct GradCase {
    /// The fields the forward fixture has too.
    pub case: Case,
    /// `cotangent`: the shape of `output`.
    pub cotangent: Tensor,
    /// `grads`: leaf name and gradient, in the order of `inputs`.
    pub grads: Vec<(String, Tensor)>,
    /// `cirkit_optimized_grads`, same leaves as `grads`.
    pub optimized_grads: Option<Vec<(String, Tensor)>>,
}

/// Parses the gradient fixture: `generated_by` and the cases.
pub fn parse_fixture(fixture_json: &str) -> (String, Vec<GradCase>) {
    let (generated_by, cases) = golden::fixture_cases(fixture_json);
    let cases = cases
        .iter()
        .map(|c| {
            let case = golden::parse_case(c);
            let cotangent = golden::tensor(
                &case.name,
                "cotangent",
                c.get("cotangent")
                    .unwrap_or_else(|| panic!("{}: no cotangent", case.name)),
            );
            assert_eq!(
                cotangent.shape, case.output.shape,
                "{}: the cotangent's shape is not the output's",
                case.name
            );
            let grads = leaf_grads(&case, c, "grads")
                .unwrap_or_else(|| panic!("{}: no `grads` object", case.name));
            let optimized_grads = leaf_grads(&case, c, "cirkit_optimized_grads");
            if let Some(opt) = &optimized_grads {
                let names = |g: &[(String, Tensor)]| g.iter().map(|(n, _)| n.clone()).collect();
                let (a, b): (Vec<String>, Vec<String>) = (names(&grads), names(opt));
                assert_eq!(
                    a, b,
                    "{}: `grads` and `cirkit_optimized_grads` leaves",
                    case.name
                );
            }
            GradCase {
                case,
                cotangent,
                grads,
                optimized_grads,
            }
        })
        .collect();
    (generated_by, cases)
}

/// The gradients under `key`, in the order of the case's inputs; each leaf
/// must be an input and have its shape.
fn leaf_grads(case: &Case, c: &Json, key: &str) -> Option<Vec<(String, Tensor)>> {
    let fields = c.get(key)?.as_object()?;
    for (leaf, _) in fields {
        assert!(
            case.inputs.iter().any(|(n, _)| n == leaf),
            "{}: `{key}` has leaf `{leaf}`, which is not an input",
            case.name
        );
    }
    let grads = case
        .inputs
        .iter()
        .filter_map(|(name, input)| {
            let (_, v) = fields.iter().find(|(leaf, _)| leaf == name)?;
            let t = golden::tensor(&case.name, &format!("{key}.{name}"), v);
            assert_eq!(
                t.shape, input.shape,
                "{}: `{key}.{name}` does not have the input's shape",
                case.name
            );
            Some((name.clone(), t))
        })
        .collect();
    Some(grads)
}

/// The gradients the optimized function is compared with:
/// `cirkit_optimized_grads` where present, else `grads`.
pub fn optimized_golden(gc: &GradCase) -> &[(String, Tensor)] {
    gc.optimized_grads.as_deref().unwrap_or(&gc.grads)
}

/// Whether cirkit's rewrite changes the function's values, so that the
/// fixture's `output` (the graph as written) is not the optimized graph's:
/// `output` is not all finite, the gradients as written are not all finite
/// and cirkit's optimized ones are (`log(softmax)` underflowing to `-inf`
/// where the fused `log_softmax` does not). The optimized test then asserts
/// its result is all finite instead of comparing it with `output`.
pub fn optimization_changes_values(gc: &GradCase) -> bool {
    let finite =
        |g: &[(String, Tensor)]| g.iter().all(|(_, t)| t.data.iter().all(|v| v.is_finite()));
    gc.optimized_grads.is_some()
        && !gc.case.output.data.iter().all(|v| v.is_finite())
        && !finite(&gc.grads)
        && finite(optimized_golden(gc))
}

/// Why a case gets no generated tests, or `None` if it gets them.
pub fn skip_reason(gc: &GradCase) -> Option<String> {
    if let Some(reason) = golden::skip_reason(&gc.case) {
        return Some(reason);
    }
    if gc.grads.is_empty() {
        return Some("no leaf has a gradient".to_string());
    }
    let reserved = gc.case.inputs.iter().map(|(n, _)| n).find(|n| {
        RESERVED.iter().any(|r| match r.strip_suffix('_') {
            Some(_) => n.starts_with(r),
            None => n == r,
        })
    });
    if let Some(name) = reserved {
        return Some(format!(
            "input name `{name}` is not usable as a Rust variable here"
        ));
    }
    let mut upper: Vec<String> = gc
        .case
        .inputs
        .iter()
        .map(|(n, _)| n.to_uppercase())
        .collect();
    upper.sort();
    upper.dedup();
    if upper.len() < gc.case.inputs.len() {
        return Some("two inputs differ only in case (their constants would clash)".to_string());
    }
    None
}

/// The `vjp` option of a case: `vjp` when every input has a gradient, else
/// `vjp(a, b)` naming those that do.
pub fn vjp_option(gc: &GradCase) -> String {
    if gc.grads.len() == gc.case.inputs.len() {
        "vjp".to_string()
    } else {
        let leaves: Vec<&str> = gc.grads.iter().map(|(n, _)| n.as_str()).collect();
        format!("vjp({})", leaves.join(", "))
    }
}

/// `const {name}: [f64; N] = [...];` at `indent` spaces.
fn emit_const(out: &mut String, indent: usize, name: &str, data: &[f64]) {
    let items: Vec<String> = data.iter().map(|&x| literal(x)).collect();
    let prefix = format!("const {name}: [f64; {}] = ", data.len());
    emit_array(out, indent, &prefix, &items, ";");
}

/// The name of the constant holding the optimized function's golden
/// gradient of `leaf`: the as-written one's where the two are the same.
fn optimized_const(gc: &GradCase, leaf: usize) -> String {
    let (name, plain) = &gc.grads[leaf];
    let (_, opt) = &optimized_golden(gc)[leaf];
    let same = plain
        .data
        .iter()
        .zip(&opt.data)
        .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
    if same {
        format!("GRAD_{}", name.to_uppercase())
    } else {
        format!("OPTIMIZED_GRAD_{}", name.to_uppercase())
    }
}

/// The type of a parameter of the case's functions: a reference to the
/// tensor type, or the scalar itself.
fn param_type(shape: &[usize]) -> String {
    let ty = rust_type(shape).unwrap();
    if shape.is_empty() {
        ty
    } else {
        format!("&{ty}")
    }
}

/// The case module's `check` (with `Forward` and `Backward`, the types of
/// the compiled functions and of their `_vjp`): runs a compiled function
/// and its `_vjp` on the case's inputs and cotangent, and hands the results to
/// `crate::check_vjp` with the golden values it is given.
fn emit_check(out: &mut String, gc: &GradCase) {
    let case = &gc.case;
    let mut params: Vec<String> = case
        .inputs
        .iter()
        .map(|(_, t)| param_type(&t.shape))
        .collect();
    let ret = rust_type(&case.output.shape).unwrap();
    let grad_types: Vec<String> = gc
        .grads
        .iter()
        .map(|(_, t)| rust_type(&t.shape).unwrap())
        .collect();
    let grads_ret = match grad_types.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    };
    let f = format!("fn({}) -> {ret}", params.join(", "));
    params.push(param_type(&case.output.shape));
    let vjp = format!("fn({}) -> {grads_ret}", params.join(", "));
    let n = gc.grads.len();
    let _ = writeln!(
        out,
        "    type Forward = {f};\n    type Backward = {vjp};\n\n    \
         fn check(\n        label: &str,\n        f: Forward,\n        vjp: Backward,\n        \
         output: Option<&[f64]>,\n        grads: [&[f64]; {n}],\n    ) {{"
    );
    let mut args = Vec::new();
    for (name, t) in &case.inputs {
        let ty = rust_type(&t.shape).unwrap();
        let value = format!("RowMajor::from_row_major(&{})", name.to_uppercase());
        emit_typed_let(out, 8, name, &ty, &value);
        args.push(if t.shape.is_empty() {
            name.clone()
        } else {
            format!("&{name}")
        });
    }
    emit_typed_let(
        out,
        8,
        "cotangent",
        &ret,
        "RowMajor::from_row_major(&COTANGENT)",
    );
    emit_call(out, 8, "let got = ", "f", &args);
    let locals: Vec<String> = gc.grads.iter().map(|(n, _)| format!("grad_{n}")).collect();
    let pattern = match locals.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    };
    args.push("&cotangent".to_string());
    emit_call(out, 8, &format!("let {pattern} = "), "vjp", &args);
    let items: Vec<String> = gc
        .grads
        .iter()
        .zip(&locals)
        .enumerate()
        .map(|(k, ((leaf, _), local))| format!("({leaf:?}, {local}.to_row_major(), grads[{k}])"))
        .collect();
    emit_array(out, 8, "let grads = ", &items, ";");
    let args = [
        "label",
        "&got.to_row_major()",
        "output",
        "&grads",
        "REL",
        "ABS",
    ]
    .map(String::from);
    emit_call(out, 8, "", "check_vjp", &args);
    out.push_str("    }\n");
}

/// The `#[test]` of one compiled function, `fn_name` (`optimized` or
/// `as_written`), inside the case's module: its `check` against the golden
/// gradients `grad_consts` and, unless cirkit's rewrite changes the values
/// ([`optimization_changes_values`], optimized only), `OUTPUT`.
fn emit_test(out: &mut String, gc: &GradCase, fn_name: &str, grad_consts: &[String]) {
    let optimized = fn_name == "optimized";
    let label = format!(
        "{} ({})",
        gc.case.name,
        if optimized { "optimized" } else { "as written" }
    );
    let output = if optimized && optimization_changes_values(gc) {
        "None"
    } else {
        "Some(&OUTPUT)"
    };
    let grads: Vec<String> = grad_consts.iter().map(|c| format!("&{c}")).collect();
    let args = [
        format!("{label:?}"),
        fn_name.to_string(),
        format!("{fn_name}_vjp"),
        output.to_string(),
        format!("[{}]", grads.join(", ")),
    ];
    let _ = writeln!(out, "    #[test]\n    fn {fn_name}_matches_torch() {{");
    emit_call(out, 8, "", "check", &args);
    out.push_str("    }\n");
}

/// Generates `tests/vjp_golden/generated.rs` from the fixture's JSON text.
pub fn generate(fixture_json: &str) -> String {
    generate_from(
        fixture_json,
        "cirkit_grad_public.json",
        "generated_file_is_fresh",
    )
}

/// Generates the golden tests of fixture `tests/fixtures/<fixture>`, whose
/// freshness test is `fresh_test` (the gradient fixture's, or the EM ops'
/// `torch_em_ops_public.json`, which has no optimized gradients: both
/// functions are then compared with `grads`).
pub fn generate_from(fixture_json: &str, fixture: &str, fresh_test: &str) -> String {
    let (generated_by, grad_cases) = parse_fixture(fixture_json);
    let mut skipped = Vec::new();
    let mut usable = Vec::new();
    for gc in &grad_cases {
        match skip_reason(gc) {
            Some(reason) => skipped.push(format!("{}: {reason}", gc.case.name)),
            None => usable.push(gc),
        }
    }
    // Names: the forward generator's, which also checks they are distinct
    // and usable (it skips nothing more here).
    let (kept, more_skipped) = golden::select(usable.iter().map(|gc| &gc.case));
    assert!(more_skipped.is_empty(), "{more_skipped:?}");
    for (_, id) in &kept {
        assert!(
            golden::is_identifier(id),
            "case name `{id}` is not usable as a module name"
        );
    }

    let mut out = String::new();
    let _ = write!(
        out,
        "// Generated by tests/vjp_golden/generate.rs from tests/fixtures/{fixture};\n\
         // do not edit. Regenerate with\n\
         //   UPDATE_GOLDEN=1 cargo test --test vjp_golden {fresh_test}\n",
    );
    let _ = writeln!(out, "//\n// Fixture: {generated_by}.");
    let _ = writeln!(
        out,
        "// {} of {} cases generated, each compiled with `#[param_graph(vjp)]` twice:\n\
         // `optimized` (the default) against `cirkit_optimized_grads` (`grads` where\n\
         // absent), `as_written` (`optimize = false`) against `grads`; both also\n\
         // compare the forward result with `output`, except where cirkit's rewrite\n\
         // makes `output`'s non-finite values finite (then the optimized result\n\
         // must be all finite). Relative tolerance {REL}, absolute floor {ABS}.",
        kept.len(),
        grad_cases.len()
    );
    golden::emit_skipped_and_allow(&mut out, &skipped);
    out.push_str("use crate::check_vjp;\n");
    golden::emit_uses(&mut out, &kept, "RowMajor");
    let _ = writeln!(out, "\nconst REL: f64 = {REL};\nconst ABS: f64 = {ABS};");

    for (gc, (_, id)) in usable.iter().zip(&kept) {
        let case = &gc.case;
        out.push('\n');
        let body_one_line: Vec<&str> = case.body.lines().map(str::trim).collect();
        let _ = writeln!(out, "// {}: {}", case.name, body_one_line.join(" "));
        if let Some(note) = &case.note {
            let _ = writeln!(out, "// Note from the fixture: {note}.");
        }
        if optimization_changes_values(gc) {
            out.push_str(
                "// cirkit's rewrite makes the result finite: the optimized output must be\n\
                 // all finite rather than match `output`.\n",
            );
        }
        let _ = writeln!(out, "mod {id} {{\n    use super::*;\n");
        let vjp = vjp_option(gc);
        emit_graph(&mut out, 4, case, "optimized", &vjp);
        out.push('\n');
        emit_graph(
            &mut out,
            4,
            case,
            "as_written",
            &format!("optimize = false, {vjp}"),
        );
        out.push('\n');
        for (name, t) in &case.inputs {
            emit_const(&mut out, 4, &name.to_uppercase(), &t.data);
        }
        emit_const(&mut out, 4, "COTANGENT", &gc.cotangent.data);
        emit_const(&mut out, 4, "OUTPUT", &case.output.data);
        let plain: Vec<String> = gc
            .grads
            .iter()
            .map(|(n, _)| format!("GRAD_{}", n.to_uppercase()))
            .collect();
        for ((_, t), name) in gc.grads.iter().zip(&plain) {
            emit_const(&mut out, 4, name, &t.data);
        }
        let optimized: Vec<String> = (0..gc.grads.len())
            .map(|leaf| optimized_const(gc, leaf))
            .collect();
        for ((_, t), name) in optimized_golden(gc).iter().zip(&optimized) {
            if !plain.contains(name) {
                emit_const(&mut out, 4, name, &t.data);
            }
        }
        out.push('\n');
        emit_check(&mut out, gc);
        out.push('\n');
        emit_test(&mut out, gc, "optimized", &optimized);
        out.push('\n');
        emit_test(&mut out, gc, "as_written", &plain);
        out.push_str("}\n");
    }
    out
}
