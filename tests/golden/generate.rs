//! Turns the cirkit fixture (`tests/fixtures/cirkit_public.json`) into Rust
//! source, `tests/golden/generated.rs`: for every case, a `param_graph!`
//! function with the case's body and a `#[test]` that feeds it the case's
//! inputs and compares the result with cirkit's, at relative tolerance
//! [`REL`] (1e-9):
//!
//! - A case cirkit's optimizer rewrites ([`rewritten_by_cirkit`]: every
//!   `*_fusion_*`, `sum_outer_*` and `kron_matmul` case) gets two functions.
//!   The default (optimized) one is compared with `cirkit_optimized_output`
//!   where the fixture has it, else with `output` (shape from `output.shape`
//!   either way); a copy compiled with `#[param_graph(optimize = false)]` is
//!   compared with `output`. For [`EXTREME_CASE`] the optimized test also
//!   asserts the result is all finite (the unoptimized one must match
//!   `output`'s `-inf`s).
//! - Every other case: the default function, compared with `output`.
//!
//! The macro runs at compile time, so the fixture has to become source code;
//! `generated_file_is_fresh` in `tests/golden.rs` reruns [`generate`] and
//! compares, so the checked-in file cannot drift from the fixture.
//!
//! The output is emitted already formatted the way rustfmt formats it (the
//! `param_graph!` bodies are left alone by rustfmt), and [`normalize`] lets the
//! freshness check ignore layout if a rustfmt version disagrees.

use param_graph_compiler::testing::{type_name, DType};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Whether cirkit's optimizer rewrites this case (fusions: `log(softmax)`
/// into `log_softmax`, `reduce_sum(outer_product)` into an einsum, the
/// `kron_matmul` rewrite), decided by name: every `*_fusion_*`, `sum_outer_*`
/// and `kron_matmul` case. These are checked twice, optimized against
/// `cirkit_optimized_output` (else `output`) and with `optimize = false`
/// against `output`.
pub fn rewritten_by_cirkit(name: &str) -> bool {
    name.contains("_fusion_") || name.starts_with("sum_outer_") || name == "kron_matmul"
}

/// The case where fusion changes the result: the unfused `log(softmax)`
/// underflows to `-inf`, the fused `log_softmax` stays finite, as in cirkit.
/// Its optimized test also asserts the result is all finite.
pub const EXTREME_CASE: &str = "log_softmax_fusion_extreme";

/// The golden value of a rewritten case's optimized (default) function:
/// `cirkit_optimized_output` where present, else `output`.
pub fn optimized_golden(case: &Case) -> &[f64] {
    match &case.optimized_output {
        Some(opt) => {
            assert_eq!(
                opt.len(),
                case.output.data.len(),
                "{}: `cirkit_optimized_output` has {} elements, `output` has {}",
                case.name,
                opt.len(),
                case.output.data.len()
            );
            opt
        }
        None => &case.output.data,
    }
}

/// Relative tolerance of the generated comparisons.
pub const REL: &str = "1e-9";

/// rustfmt's default line width.
const MAX_WIDTH: usize = 100;

/// One fixture case, parsed.
pub struct Case {
    pub name: String,
    pub body: String,
    pub inputs: Vec<(String, Tensor)>,
    pub output: Tensor,
    pub optimized_nodes: Vec<String>,
    /// `cirkit_optimized_output`: flat row-major data, same shape as `output`.
    pub optimized_output: Option<Vec<f64>>,
    pub note: Option<String>,
}

pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Parses the fixture. Inputs keep the fixture's order, which is also the
/// order of the generated parameters.
pub fn parse_fixture(fixture_json: &str) -> (String, Vec<Case>) {
    let (generated_by, cases) = fixture_cases(fixture_json);
    (generated_by, cases.iter().map(parse_case).collect())
}

/// The fixture's `generated_by` and its `cases`, unparsed (for a generator
/// that reads more fields of a case than [`parse_case`]).
pub fn fixture_cases(fixture_json: &str) -> (String, Vec<Json>) {
    let root = json::parse(fixture_json);
    let generated_by = root
        .get("generated_by")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    let cases = root
        .get("cases")
        .and_then(Json::as_array)
        .expect("fixture has no `cases` array")
        .to_vec();
    (generated_by, cases)
}

/// One case's fields common to the fixtures: name, body, inputs, output and
/// cirkit's optimization.
pub fn parse_case(c: &Json) -> Case {
    let field = |key: &str| c.get(key).and_then(Json::as_str).map(String::from);
    let name = field("name").expect("case without a name");
    let inputs = c
        .get("inputs")
        .and_then(Json::as_object)
        .unwrap_or_else(|| panic!("{name}: no `inputs` object"))
        .iter()
        .map(|(k, v)| (k.clone(), tensor(&name, k, v)))
        .collect();
    let output = c
        .get("output")
        .unwrap_or_else(|| panic!("{name}: no output"));
    Case {
        body: field("body").unwrap_or_else(|| panic!("{name}: no body")),
        inputs,
        output: tensor(&name, "output", output),
        optimized_nodes: c
            .get("cirkit_optimized_nodes")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        optimized_output: c
            .get("cirkit_optimized_output")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(number).collect()),
        note: field("note"),
        name,
    }
}

/// A `{"shape": [...], "data": [...]}` tensor of case `case` (`what` names it
/// in panic messages).
pub fn tensor(case: &str, what: &str, v: &Json) -> Tensor {
    let array = |key: &str| {
        v.get(key)
            .and_then(Json::as_array)
            .unwrap_or_else(|| panic!("{case}: {what} has no {key}"))
    };
    let shape: Vec<usize> = array("shape")
        .iter()
        .map(|d| {
            let x = d.as_f64().expect("shape entries are numbers");
            assert!(x >= 0.0 && x.fract() == 0.0, "{case}: bad dimension {x}");
            x as usize
        })
        .collect();
    let data: Vec<f64> = array("data").iter().map(number).collect();
    assert_eq!(
        data.len(),
        shape.iter().product::<usize>(),
        "{case}: {what} has {} elements for shape {shape:?}",
        data.len()
    );
    Tensor { shape, data }
}

/// A fixture value: a number, or `"inf"`, `"-inf"`, `"nan"`.
fn number(v: &Json) -> f64 {
    match v {
        Json::Num(_) => v.as_f64().unwrap(),
        Json::Str(s) if s == "inf" => f64::INFINITY,
        Json::Str(s) if s == "-inf" => f64::NEG_INFINITY,
        Json::Str(s) if s == "nan" => f64::NAN,
        other => panic!("unexpected fixture value {other:?}"),
    }
}

use json::Json;

/// A minimal JSON reader. The generator does not use serde_json because its
/// default float parsing is not correctly rounded (about one fixture value in
/// nine comes out one ulp off); here numbers keep their text and are read with
/// `str::parse::<f64>`, which is. Objects keep their key order.
pub mod json {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Json {
        Null,
        Bool(bool),
        Num(String),
        Str(String),
        Array(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    impl Json {
        pub fn get(&self, key: &str) -> Option<&Json> {
            self.as_object()?
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Json::Str(s) => Some(s),
                _ => None,
            }
        }
        pub fn as_array(&self) -> Option<&[Json]> {
            match self {
                Json::Array(a) => Some(a),
                _ => None,
            }
        }
        pub fn as_object(&self) -> Option<&[(String, Json)]> {
            match self {
                Json::Object(o) => Some(o),
                _ => None,
            }
        }
        pub fn as_f64(&self) -> Option<f64> {
            match self {
                Json::Num(text) => Some(text.parse().expect("JSON number")),
                _ => None,
            }
        }
    }

    /// Parses a JSON document; panics with the byte offset on bad input.
    pub fn parse(text: &str) -> Json {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert!(p.i == p.s.len(), "JSON: trailing text at byte {}", p.i);
        v
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn peek(&mut self) -> u8 {
            self.ws();
            *self
                .s
                .get(self.i)
                .unwrap_or_else(|| panic!("JSON: unexpected end"))
        }

        fn expect(&mut self, c: u8) {
            assert!(
                self.peek() == c,
                "JSON: expected `{}` at byte {}",
                c as char,
                self.i
            );
            self.i += 1;
        }

        fn literal(&mut self, word: &str, v: Json) -> Json {
            assert!(
                self.s[self.i..].starts_with(word.as_bytes()),
                "JSON: bad literal at byte {}",
                self.i
            );
            self.i += word.len();
            v
        }

        fn value(&mut self) -> Json {
            match self.peek() {
                b'{' => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    if self.peek() == b'}' {
                        self.i += 1;
                        return Json::Object(fields);
                    }
                    loop {
                        let key = self.string();
                        self.expect(b':');
                        fields.push((key, self.value()));
                        if self.peek() == b',' {
                            self.i += 1;
                        } else {
                            self.expect(b'}');
                            return Json::Object(fields);
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if self.peek() == b']' {
                        self.i += 1;
                        return Json::Array(items);
                    }
                    loop {
                        items.push(self.value());
                        if self.peek() == b',' {
                            self.i += 1;
                        } else {
                            self.expect(b']');
                            return Json::Array(items);
                        }
                    }
                }
                b'"' => Json::Str(self.string()),
                b't' => self.literal("true", Json::Bool(true)),
                b'f' => self.literal("false", Json::Bool(false)),
                b'n' => self.literal("null", Json::Null),
                // Python's `json` writes non-finite floats bare (`NaN`,
                // `Infinity`, `-Infinity`); they mean what the fixtures'
                // strings "nan", "inf", "-inf" mean.
                b'N' => self.literal("NaN", Json::Str("nan".into())),
                b'I' => self.literal("Infinity", Json::Str("inf".into())),
                b'-' if self.s[self.i..].starts_with(b"-Infinity") => {
                    self.literal("-Infinity", Json::Str("-inf".into()))
                }
                _ => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                        )
                    {
                        self.i += 1;
                    }
                    let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                    assert!(
                        text.parse::<f64>().is_ok(),
                        "JSON: bad number {text:?} at byte {start}"
                    );
                    Json::Num(text.to_string())
                }
            }
        }

        fn string(&mut self) -> String {
            self.expect(b'"');
            let mut out = String::new();
            loop {
                let lead = *self.s.get(self.i).expect("JSON: unterminated string");
                let width = match lead {
                    0..=0x7f => 1,
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                let bytes = &self.s[self.i..self.i + width];
                let c = std::str::from_utf8(bytes)
                    .expect("JSON is UTF-8")
                    .chars()
                    .next()
                    .unwrap();
                self.i += width;
                match c {
                    '"' => return out,
                    '\\' => {
                        let e = self.s[self.i];
                        self.i += 1;
                        out.push(match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                self.i += 4;
                                let code = u32::from_str_radix(hex, 16).expect("JSON: \\u escape");
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            _ => panic!("JSON: bad escape at byte {}", self.i),
                        });
                    }
                    c => out.push(c),
                }
            }
        }
    }
}

/// Why a case gets no generated test, or `None` if it gets one.
pub fn skip_reason(case: &Case) -> Option<String> {
    let unknown: Vec<String> = called_names(&case.body)
        .into_iter()
        .filter(|op| {
            !param_graph_compiler::testing::OPS
                .iter()
                .any(|spec| spec.name == op)
        })
        .collect();
    if !unknown.is_empty() {
        return Some(format!("unknown op(s) {}", unknown.join(", ")));
    }
    for (name, t) in case.inputs.iter().map(|(n, t)| (n.as_str(), t)) {
        if let Err(e) = rust_type(&t.shape) {
            return Some(format!("input `{name}`: {e}"));
        }
        if !is_identifier(name) || ["got", "want"].contains(&name) || name.starts_with("data_") {
            return Some(format!(
                "input name `{name}` is not usable as a Rust variable here"
            ));
        }
    }
    if let Err(e) = rust_type(&case.output.shape) {
        return Some(format!("output: {e}"));
    }
    None
}

/// Identifiers directly followed by `(` in a body: the ops it calls.
pub fn called_names(body: &str) -> BTreeSet<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if j < chars.len() && chars[j] == '(' {
                out.insert(word);
            }
        } else if chars[i].is_ascii_digit() {
            // Skip numbers such as `1e-3` whole, so `e` is not a word.
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "yield",
];

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
        && !KEYWORDS.contains(&s)
}

/// A case name as a Rust identifier fragment: lowercase ASCII letters,
/// digits and single underscores; a `-` before a digit (a negative axis)
/// becomes `_m`, as in `softmax_axis-1` -> `softmax_axis_m1`.
pub fn sanitize(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            out.push_str("_m");
        } else {
            out.push('_');
        }
    }
    let mut collapsed = String::new();
    for c in out.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    let trimmed = collapsed.trim_matches('_').to_string();
    if trimmed.is_empty() || trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{trimmed}")
    } else {
        trimmed
    }
}

/// The Rust type of a tensor shape, as the compiler spells it
/// (`testing::type_name` with `f64`), or why the generator does not use the
/// shape: an empty axis (no such tensor type), or a rank above 4.
pub fn rust_type(shape: &[usize]) -> Result<String, String> {
    if shape.contains(&0) {
        return Err(format!("shape {shape:?} has an empty axis"));
    }
    if shape.len() > 4 {
        return Err(format!("rank {} is above 4", shape.len()));
    }
    Ok(type_name(shape, DType::F64))
}

/// A value as a Rust `f64` expression: the shortest literal that reads back
/// as the same value, or one of the `f64` constants for non-finite values.
pub fn literal(x: f64) -> String {
    if x.is_nan() {
        "f64::NAN".to_string()
    } else if x == f64::INFINITY {
        "f64::INFINITY".to_string()
    } else if x == f64::NEG_INFINITY {
        "f64::NEG_INFINITY".to_string()
    } else {
        // `{:?}` is the shortest round-trip form and always has a `.` or an
        // exponent, so it is a float literal (`2.0`, `0.1`, `1e-7`, `1e16`).
        format!("{x:?}")
    }
}

/// Emits `prefix[items]suffix` at `indent` spaces the way rustfmt lays out an
/// array literal: on one line if it fits, else one element per line (rustfmt
/// packs several per line only when all are at most 10 characters wide).
pub fn emit_array(out: &mut String, indent: usize, prefix: &str, items: &[String], suffix: &str) {
    let pad = " ".repeat(indent);
    let one_line = format!("[{}]", items.join(", "));
    if one_line.len() <= MAX_WIDTH * 6 / 10
        && indent + prefix.len() + one_line.len() + suffix.len() <= MAX_WIDTH
    {
        let _ = writeln!(out, "{pad}{prefix}{one_line}{suffix}");
        return;
    }
    let _ = writeln!(out, "{pad}{prefix}[");
    let inner = " ".repeat(indent + 4);
    if items.iter().all(|s| s.len() <= 10) {
        // rustfmt's "mixed" layout: as many per line as fit.
        let mut line = String::new();
        for item in items {
            let piece = format!("{item},");
            // rustfmt counts the space after each separator, so a full line
            // is at most 99 characters.
            if !line.is_empty() && inner.len() + line.len() + 1 + piece.len() + 1 > MAX_WIDTH {
                let _ = writeln!(out, "{inner}{line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        let _ = writeln!(out, "{inner}{line}");
    } else {
        for item in items {
            let _ = writeln!(out, "{inner}{item},");
        }
    }
    let _ = writeln!(out, "{pad}]{suffix}");
}

/// Emits the `param_graph!` function of a case at `indent` spaces, with
/// `#[param_graph(options)]` unless `options` is empty. rustfmt does not
/// format inside brace-delimited macro calls, so this is laid out by hand in
/// the same style.
pub fn emit_graph(out: &mut String, indent: usize, case: &Case, fn_name: &str, options: &str) {
    let params: Vec<String> = case
        .inputs
        .iter()
        .map(|(n, t)| {
            let ty = rust_type(&t.shape).unwrap();
            if t.shape.is_empty() {
                format!("{n}: {ty}")
            } else {
                format!("{n}: &{ty}")
            }
        })
        .collect();
    let ret = rust_type(&case.output.shape).unwrap();
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}param_graph! {{");
    if !options.is_empty() {
        let _ = writeln!(out, "{pad}    #[param_graph({options})]");
    }
    let one_line = format!("{pad}    fn {fn_name}({}) -> {ret} {{", params.join(", "));
    if one_line.len() <= MAX_WIDTH {
        let _ = writeln!(out, "{one_line}");
    } else {
        let _ = writeln!(out, "{pad}    fn {fn_name}(");
        for p in &params {
            let _ = writeln!(out, "{pad}        {p},");
        }
        let _ = writeln!(out, "{pad}    ) -> {ret} {{");
    }
    for line in case.body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let _ = writeln!(out, "{pad}        {line}");
    }
    let _ = writeln!(out, "{pad}    }}\n{pad}}}");
}

/// Emits `{prefix}{callee}(args){suffix}` at `indent` spaces as rustfmt lays
/// out a call: arguments on one line if they take at most 60 characters and
/// the line fits, else one per line.
pub fn emit_call(out: &mut String, indent: usize, prefix: &str, callee: &str, args: &[String]) {
    let pad = " ".repeat(indent);
    let joined = args.join(", ");
    let one_line = format!("{pad}{prefix}{callee}({joined});");
    if joined.len() <= MAX_WIDTH * 6 / 10 && one_line.len() <= MAX_WIDTH {
        let _ = writeln!(out, "{one_line}");
        return;
    }
    let _ = writeln!(out, "{pad}{prefix}{callee}(");
    for a in args {
        let _ = writeln!(out, "{pad}    {a},");
    }
    let _ = writeln!(out, "{pad});");
}

/// Emits `let {name}: {ty} = {value};`, breaking after `=` if it is too long.
pub fn emit_typed_let(out: &mut String, indent: usize, name: &str, ty: &str, value: &str) {
    let pad = " ".repeat(indent);
    let one_line = format!("{pad}let {name}: {ty} = {value};");
    if one_line.len() <= MAX_WIDTH {
        let _ = writeln!(out, "{one_line}");
    } else {
        let _ = writeln!(out, "{pad}let {name}: {ty} =\n{pad}    {value};");
    }
}

fn emit_test(
    out: &mut String,
    case: &Case,
    fn_name: &str,
    test_name: &str,
    want: &[f64],
    label: &str,
    assert_finite: bool,
) {
    let _ = writeln!(out, "#[test]\nfn {test_name}() {{");
    let mut args = Vec::new();
    for (name, t) in &case.inputs {
        let items: Vec<String> = t.data.iter().map(|&x| literal(x)).collect();
        emit_array(out, 4, &format!("let data_{name} = "), &items, ";");
    }
    for (name, t) in &case.inputs {
        let ty = rust_type(&t.shape).unwrap();
        let value = format!("RowMajor::from_row_major(&data_{name})");
        emit_typed_let(out, 4, name, &ty, &value);
        args.push(if t.shape.is_empty() {
            name.clone()
        } else {
            format!("&{name}")
        });
    }
    emit_call(out, 4, "let got = ", fn_name, &args);
    let items: Vec<String> = want.iter().map(|&x| literal(x)).collect();
    emit_array(out, 4, "let want = ", &items, ";");
    let args = [
        format!("{label:?}"),
        "&got.to_row_major()".to_string(),
        "&want".to_string(),
        REL.to_string(),
    ];
    emit_call(out, 4, "", "assert_close", &args);
    if assert_finite {
        let args = [
            "got.to_row_major().iter().all(|v| v.is_finite())".to_string(),
            format!("{:?}", format!("{label}: result is not all finite")),
        ];
        emit_call(out, 4, "", "assert!", &args);
    }
    out.push_str("}\n");
}

/// The cases that get tests, each with its [`sanitize`]d name (distinct),
/// and a line `name: reason` for each case that does not ([`skip_reason`]).
pub fn select<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
) -> (Vec<(&'a Case, String)>, Vec<String>) {
    let mut skipped = Vec::new();
    let mut kept = Vec::new();
    let mut seen = BTreeSet::new();
    for case in cases {
        match skip_reason(case) {
            Some(reason) => skipped.push(format!("{}: {reason}", case.name)),
            None => {
                let id = sanitize(&case.name);
                assert!(
                    seen.insert(id.clone()),
                    "two cases sanitize to the same name `{id}`"
                );
                kept.push((case, id));
            }
        }
    }
    (kept, skipped)
}

/// Generates `tests/golden/generated.rs` from the fixture's JSON text.
pub fn generate(fixture_json: &str) -> String {
    let (generated_by, cases) = parse_fixture(fixture_json);
    let (kept, skipped) = select(&cases);

    let mut out = String::new();
    out.push_str(
        "// Generated by tests/golden/generate.rs from tests/fixtures/cirkit_public.json;\n\
         // do not edit. Regenerate with\n\
         //   UPDATE_GOLDEN=1 cargo test --test golden generated_file_is_fresh\n",
    );
    let _ = writeln!(out, "//\n// Fixture: {generated_by}.");
    let rewritten = kept
        .iter()
        .filter(|(c, _)| rewritten_by_cirkit(&c.name))
        .count();
    let _ = writeln!(
        out,
        "// {} of {} cases generated, compared at relative tolerance {REL}.",
        kept.len(),
        cases.len()
    );
    let _ = writeln!(
        out,
        "// The {} cases cirkit's optimizer rewrites (`*_fusion_*`, `sum_outer_*`,\n\
         // `kron_matmul`): the default (optimized) graph against `cirkit_optimized_output`\n\
         // (`output` where absent), and an `optimize = false` copy against `output`;\n\
         // for {EXTREME_CASE} the optimized result must also be all finite.\n\
         // The other {}: the default graph against `output`.",
        rewritten,
        kept.len() - rewritten
    );
    emit_skipped_and_allow(&mut out, &skipped);
    emit_uses(&mut out, &kept, "assert_close, RowMajor");

    for (case, id) in &kept {
        let fn_name = format!("case_{id}");
        out.push('\n');
        let body_one_line: Vec<&str> = case.body.lines().map(str::trim).collect();
        let _ = writeln!(out, "// {}: {}", case.name, body_one_line.join(" "));
        if let Some(note) = &case.note {
            let _ = writeln!(out, "// Note from the fixture: {note}.");
        }
        if !rewritten_by_cirkit(&case.name) {
            emit_graph(&mut out, 0, case, &fn_name, "");
            out.push('\n');
            emit_test(
                &mut out,
                case,
                &fn_name,
                &format!("{id}_matches_cirkit"),
                &case.output.data,
                &case.name,
                false,
            );
            continue;
        }
        let ops: Vec<&str> = case
            .optimized_nodes
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "TorchTensorParameter")
            .collect();
        let extreme = case.name == EXTREME_CASE;
        let golden = optimized_golden(case);
        if extreme {
            // The contract below is cirkit's behaviour; check the fixture
            // still shows it.
            assert!(
                golden.iter().all(|v| v.is_finite()),
                "{}: `cirkit_optimized_output` is not all finite",
                case.name
            );
            assert!(
                case.output.data.contains(&f64::NEG_INFINITY),
                "{}: `output` has no -inf",
                case.name
            );
        }
        let _ = writeln!(
            out,
            "// cirkit's optimizer rewrites this to: {}.\n\
             // Compiled twice: optimized (the default), checked against {}, and\n\
             // as written (`optimize = false`), checked against `output`.",
            ops.join(", "),
            if case.optimized_output.is_some() {
                "`cirkit_optimized_output`"
            } else {
                "`output` (the fixture has no `cirkit_optimized_output`)"
            }
        );
        if extreme {
            out.push_str(
                "// As in cirkit, the fused result is finite and the unfused one is -inf;\n\
                 // the optimized test also asserts the result is all finite.\n",
            );
        }
        emit_graph(&mut out, 0, case, &fn_name, "");
        out.push('\n');
        emit_test(
            &mut out,
            case,
            &fn_name,
            &format!("{id}_matches_cirkit"),
            golden,
            &format!("{} (optimized)", case.name),
            extreme,
        );
        out.push('\n');
        let plain = format!("{fn_name}_unoptimized");
        emit_graph(&mut out, 0, case, &plain, "optimize = false");
        out.push('\n');
        emit_test(
            &mut out,
            case,
            &plain,
            &format!("{id}_unoptimized_matches_cirkit"),
            &case.output.data,
            &format!("{} (unoptimized)", case.name),
            false,
        );
    }
    out
}

/// Emits the `use` lines of a generated file: `crate::support::{support}`,
/// the nalgebra types the cases' shapes need, and `param_graph!`.
pub fn emit_uses(out: &mut String, cases: &[(&Case, String)], support: &str) {
    let all_shapes = || {
        cases.iter().flat_map(|(c, _)| {
            c.inputs
                .iter()
                .map(|(_, t)| t.shape.len())
                .chain([c.output.shape.len()])
        })
    };
    let mut types = Vec::new();
    if all_shapes().any(|r| r >= 2) {
        types.push("SMatrix");
    }
    if all_shapes().any(|r| r == 1) {
        types.push("SVector");
    }
    if support.contains(',') {
        let _ = writeln!(out, "use crate::support::{{{support}}};");
    } else {
        let _ = writeln!(out, "use crate::support::{support};");
    }
    match types.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "use param_graph::nalgebra::{one};");
        }
        _ => {
            let _ = writeln!(out, "use param_graph::nalgebra::{{{}}};", types.join(", "));
        }
    }
    out.push_str("use param_graph::param_graph;\n");
}

/// Ends a generated file's header: the skipped cases (`name: reason`
/// lines), then the file's lint allowances.
pub fn emit_skipped_and_allow(out: &mut String, skipped: &[String]) {
    if !skipped.is_empty() {
        let _ = writeln!(out, "//\n// Skipped:");
        for s in skipped {
            let _ = writeln!(out, "// - {s}");
        }
    }
    out.push('\n');
    // Random data may come close to a named constant or carry 17 digits.
    out.push_str("#![allow(clippy::approx_constant, clippy::excessive_precision)]\n\n");
}

/// The freshness check of a generated file. With `UPDATE_GOLDEN=1` in the
/// environment, writes `want` to `path` and lays it out with rustfmt (when
/// installed; the generators emit its layout, or close to it, and
/// `cargo fmt --check` holds the checked-in file to it); otherwise asserts
/// the file is `want` up to layout ([`normalize`]), naming the command
/// that regenerates it.
pub fn check_fresh(path: &std::path::Path, want: &str, test: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(path, want).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let _ = std::process::Command::new("rustfmt")
            .args(["--edition", "2021"])
            .arg(path)
            .status();
        eprintln!("rewrote {}", path.display());
        return;
    }
    let have =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        normalize(&have) == normalize(want),
        "{} is stale: it is not what its generator makes of the fixture. Regenerate it with\n  \
         UPDATE_GOLDEN=1 cargo test --test {test} generated_file_is_fresh",
        path.display()
    );
}

/// The text with all whitespace and all trailing commas (before `)`, `]`,
/// `}`) removed: what the freshness check compares, so that reformatting the
/// generated file does not make it stale.
pub fn normalize(src: &str) -> String {
    let compact: Vec<char> = src.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::with_capacity(compact.len());
    for (i, &c) in compact.iter().enumerate() {
        if c == ',' && matches!(compact.get(i + 1), Some(')' | ']' | '}')) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The sizes of a case written as named constants: per axis of each input
/// and of the output, `N3` for a size 3, or `{N2 * N3}` for a size that is
/// the product of two other sizes of the case; and the `const` items those
/// names need, in increasing order of value.
pub fn named_sizes(case: &Case) -> (Vec<Vec<String>>, Vec<String>) {
    let shapes: Vec<&[usize]> = case
        .inputs
        .iter()
        .map(|(_, t)| t.shape.as_slice())
        .chain([case.output.shape.as_slice()])
        .collect();
    let values: BTreeSet<usize> = shapes.iter().flat_map(|s| s.iter().copied()).collect();
    let mut used = BTreeSet::new();
    let names = shapes
        .iter()
        .map(|shape| {
            shape
                .iter()
                .map(|&v| {
                    let factors = values
                        .iter()
                        .copied()
                        .filter(|&a| a > 1 && a < v && v % a == 0)
                        .find(|&a| a < v / a && values.contains(&(v / a)));
                    match factors {
                        Some(a) => {
                            used.extend([a, v / a]);
                            format!("{{N{a} * N{}}}", v / a)
                        }
                        None => {
                            used.insert(v);
                            format!("N{v}")
                        }
                    }
                })
                .collect()
        })
        .collect();
    let consts = used
        .into_iter()
        .map(|v| format!("const N{v}: usize = {v};"))
        .collect();
    (names, consts)
}

/// The test of the named-size graph (`graph`, from [`emit_test`]) made to
/// check `generic` too, on the same inputs: its call and its comparison,
/// each after the named one's.
fn with_generic_call(test: &str, generic: &str) -> String {
    // A statement of the test: the lines from `start` to the one ending in `;`.
    let statement = |start: &str| -> Vec<String> {
        let lines: Vec<&str> = test.lines().collect();
        let first = lines
            .iter()
            .position(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no `{start}` in the test"));
        let last = (first..lines.len())
            .find(|k| lines[*k].ends_with(';'))
            .expect("the statement ends");
        lines[first..=last].iter().map(|l| l.to_string()).collect()
    };
    let call = statement("let got = graph(");
    let compare = statement("assert_close(");
    let generic_call: Vec<String> = call
        .iter()
        .map(|l| l.replace("let got = graph", &format!("let got_generic = {generic}")))
        .collect();
    let generic_compare: Vec<String> = compare
        .iter()
        .map(|l| {
            l.replace("&got.to_row_major()", "&got_generic.to_row_major()")
                .replace("(named sizes)", "(generic sizes)")
        })
        .collect();
    let mut out = String::new();
    for line in test.lines() {
        out.push_str(line);
        out.push('\n');
        for (block, extra) in [(&call, &generic_call), (&compare, &generic_compare)] {
            if line == block[block.len() - 1] && out.ends_with(&format!("{}\n", block.join("\n"))) {
                for l in extra {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// The distinct sizes of a case's inputs and output, in increasing order.
pub fn sizes_of(case: &Case) -> Vec<usize> {
    let values: BTreeSet<usize> = case
        .inputs
        .iter()
        .map(|(_, t)| &t.shape)
        .chain([&case.output.shape])
        .flat_map(|s| s.iter().copied())
        .collect();
    values.into_iter().collect()
}

/// The type of a tensor whose axes are written `dims`, in the grammar
/// [`rust_type`] uses.
pub fn named_type(dims: &[String]) -> String {
    match dims {
        [] => "f64".to_string(),
        [n] => format!("SVector<f64, {n}>"),
        [r, c] => format!("SMatrix<f64, {r}, {c}>"),
        // An array length is an expression: no braces (rustc warns).
        [n, rest @ ..] => format!("[{}; {}]", named_type(rest), n.trim_matches(['{', '}'])),
    }
}

/// Generates `tests/golden/named_generated.rs`: every case again, in a
/// module of its own, twice: its sizes written as constants declared in
/// the block ([`named_sizes`]), and as const generic parameters of the fn
/// (`G3` for a size 3, instantiated with the case's sizes); one test runs
/// both on the same inputs against the same values as the literal case.
pub fn generate_named(fixture_json: &str) -> String {
    let (generated_by, cases) = parse_fixture(fixture_json);
    let (kept, skipped) = select(&cases);
    let mut out = String::new();
    out.push_str(
        "// Generated by tests/golden/generate.rs (`generate_named`) from\n\
         // tests/fixtures/cirkit_public.json; do not edit. Regenerate with\n\
         //   UPDATE_GOLDEN=1 cargo test --test golden generated_file_is_fresh\n",
    );
    let _ = writeln!(out, "//\n// Fixture: {generated_by}.");
    let _ = writeln!(
        out,
        "// The {} cases of golden/generated.rs again, twice: every size written as a\n\
         // named constant of the block (or a braced product of two), and as a const\n\
         // generic parameter of the fn; compared with the same values at relative\n\
         // tolerance {REL}.",
        kept.len()
    );
    emit_skipped_and_allow(&mut out, &skipped);
    for (case, id) in &kept {
        let (names, consts) = named_sizes(case);
        let _ = writeln!(out, "\nmod {id} {{");
        emit_uses(&mut out, &[(case, id.clone())], "assert_close, RowMajor");
        out.push_str("\n    param_graph! {\n");
        for c in &consts {
            let _ = writeln!(out, "        {c}");
        }
        let params: Vec<String> = case
            .inputs
            .iter()
            .zip(&names)
            .map(|((n, t), dims)| {
                let ty = named_type(dims);
                if t.shape.is_empty() {
                    format!("{n}: {ty}")
                } else {
                    format!("{n}: &{ty}")
                }
            })
            .collect();
        let ret = named_type(&names[names.len() - 1]);
        let _ = writeln!(out, "        fn graph(");
        for p in &params {
            let _ = writeln!(out, "            {p},");
        }
        let _ = writeln!(out, "        ) -> {ret} {{");
        for line in case.body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = writeln!(out, "            {line}");
        }
        out.push_str("        }\n\n");
        // The same graph generic over every size (`N3` for a size 3, a
        // product its own parameter, asserted equal to the product).
        let values: Vec<usize> = sizes_of(case);
        let generics: Vec<String> = values
            .iter()
            .map(|v| format!("const G{v}: usize"))
            .collect();
        let generic_params: Vec<String> = case
            .inputs
            .iter()
            .map(|(n, t)| {
                let dims: Vec<String> = t.shape.iter().map(|v| format!("G{v}")).collect();
                let ty = named_type(&dims);
                if t.shape.is_empty() {
                    format!("{n}: {ty}")
                } else {
                    format!("{n}: &{ty}")
                }
            })
            .collect();
        let out_dims: Vec<String> = case.output.shape.iter().map(|v| format!("G{v}")).collect();
        let _ = writeln!(out, "        fn generic<{}>(", generics.join(", "));
        for p in &generic_params {
            let _ = writeln!(out, "            {p},");
        }
        let _ = writeln!(out, "        ) -> {} {{", named_type(&out_dims));
        for line in case.body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = writeln!(out, "            {line}");
        }
        out.push_str("        }\n    }\n\n");
        let want = if rewritten_by_cirkit(&case.name) {
            optimized_golden(case)
        } else {
            &case.output.data
        };
        let mut test = String::new();
        emit_test(
            &mut test,
            case,
            "graph",
            "named_and_generic_sizes_match_cirkit",
            want,
            &format!("{} (named sizes)", case.name),
            false,
        );
        let turbofish: Vec<String> = values.iter().map(ToString::to_string).collect();
        let test = with_generic_call(&test, &format!("generic::<{}>", turbofish.join(", ")));
        for line in test.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "    {line}");
            }
        }
        out.push_str("}\n");
    }
    out
}
