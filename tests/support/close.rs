//! Tolerant comparison of float data, and the fixture's number format.

use serde_json::Value;

/// Absolute floor of [`assert_close`]: differences this small pass even when
/// the wanted value is zero (or rounds to it).
pub const ABS_FLOOR: f64 = 1e-15;

/// Asserts `got` matches `want` element by element.
///
/// Non-finite wanted values must be matched exactly (same sign of infinity,
/// NaN for NaN). A finite wanted value `w` is matched by a finite `g` with
/// `|g - w| <= rel * max(|w|, 1e-300)` or `|g - w| <= 1e-15`.
/// On failure the message lists the mismatching indices and both values.
#[track_caller]
pub fn assert_close(name: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_close_abs(name, got, want, rel, ABS_FLOOR);
}

/// [`assert_close`] with a caller-chosen absolute tolerance `abs` instead of
/// the `1e-15` floor, for results that may legitimately cancel (sums of terms
/// of both signs computed in a different order).
#[track_caller]
pub fn assert_close_abs(name: &str, got: &[f64], want: &[f64], rel: f64, abs: f64) {
    if let Some(msg) = mismatches(name, got, want, rel, abs) {
        panic!("{msg}");
    }
}

/// [`assert_close_abs`] for several results at once: every `(name, got,
/// want)` is compared, and the panic message lists the mismatches of all
/// of them, not only of the first that differs.
#[track_caller]
pub fn assert_all_close(checks: &[(&str, &[f64], &[f64])], rel: f64, abs: f64) {
    let msgs: Vec<String> = checks
        .iter()
        .filter_map(|(name, got, want)| mismatches(name, got, want, rel, abs))
        .collect();
    if !msgs.is_empty() {
        panic!("{}", msgs.join(""));
    }
}

/// The report of [`assert_close_abs`]: `None` when `got` matches `want`,
/// else the mismatching indices (the first 20) with both values.
pub fn mismatches(name: &str, got: &[f64], want: &[f64], rel: f64, abs: f64) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{name}: got {} elements, want {}\n",
            got.len(),
            want.len()
        ));
    }
    let bad: Vec<usize> = (0..want.len())
        .filter(|&i| !is_close(got[i], want[i], rel, abs))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let mut msg = format!(
        "{name}: {} of {} elements differ (rel {rel:e}, abs {abs:e}):\n",
        bad.len(),
        want.len()
    );
    for &i in bad.iter().take(20) {
        let (g, w) = (got[i], want[i]);
        msg.push_str(&format!(
            "  [{i}] got {g:?}, want {w:?} (diff {:e})\n",
            (g - w).abs()
        ));
    }
    if bad.len() > 20 {
        msg.push_str(&format!("  ... and {} more\n", bad.len() - 20));
    }
    Some(msg)
}

/// The element test of [`assert_close_abs`].
pub fn is_close(got: f64, want: f64, rel: f64, abs: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    if !got.is_finite() {
        return false;
    }
    let diff = (got - want).abs();
    diff <= rel * want.abs().max(1e-300) || diff <= abs
}

/// Reads one fixture value: a JSON number, or one of the strings `"inf"`,
/// `"-inf"` and `"nan"` that stand for the non-finite values.
///
/// serde_json's default float parsing is not correctly rounded (a value can
/// come out one ulp off), which is harmless for tolerant comparisons; the
/// golden generator, which must reproduce values exactly, has its own reader.
pub fn parse_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n
            .as_f64()
            .unwrap_or_else(|| panic!("fixture number {n} is not an f64")),
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("fixture string {other:?} is not inf, -inf or nan"),
        },
        other => panic!("fixture value {other} is neither a number nor inf/-inf/nan"),
    }
}

/// Reads a JSON array of fixture values (see [`parse_number`]).
pub fn parse_numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array of numbers, found {v}"))
        .iter()
        .map(parse_number)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_rules() {
        assert!(is_close(1.0 + 1e-10, 1.0, 1e-9, ABS_FLOOR));
        assert!(!is_close(1.0 + 1e-8, 1.0, 1e-9, ABS_FLOOR));
        assert!(is_close(1e-16, 0.0, 1e-9, ABS_FLOOR));
        assert!(!is_close(1e-14, 0.0, 1e-9, ABS_FLOOR));
        assert!(is_close(f64::NAN, f64::NAN, 1e-9, ABS_FLOOR));
        assert!(!is_close(0.0, f64::NAN, 1e-9, ABS_FLOOR));
        assert!(!is_close(f64::NAN, 0.0, 1e-9, ABS_FLOOR));
        assert!(is_close(f64::NEG_INFINITY, f64::NEG_INFINITY, 1e-9, 0.0));
        assert!(!is_close(f64::INFINITY, f64::NEG_INFINITY, 1e-9, 0.0));
        assert!(!is_close(-1e308, f64::NEG_INFINITY, 1e-9, 0.0));
        assert!(!is_close(f64::INFINITY, 1e308, 1e-9, 0.0));
    }
}
