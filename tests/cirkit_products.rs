//! cirkit's circuit-product ops through the macro: `mixing_weight`, the
//! products of Gaussian layers (`gaussian_product_mean`, `_stddev`,
//! `_log_partition`), `polynomial_product` and `polynomial_differential`.
//!
//! Property tests feed random finite inputs to `param_graph!` functions of
//! fixed shapes, in row-major (`[[f64; D]; K]`, `[SVector<f64, D>; K]`) and
//! column-major (`SMatrix`) type forms, and compare with the reference
//! evaluator (`support::reference`, cirkit's formulas as printed, itself
//! checked against cirkit's outputs in `reference_vs_cirkit.rs`). Then: the
//! three Gaussian parameters of one product share their summed variances
//! (and the plan shows it), the stable forms stay finite where cirkit's
//! overflow, the derivative's edge cases, `f32`, and the plans' attributes.
//!
//! Tolerance: relative 1e-12; results that may cancel (the product mean, the
//! log-partition, polynomial coefficients) also pass within 1e-12 times the
//! inputs' magnitude.

mod support;

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use proptest::prelude::*;
use support::reference::{self as r, numel, T};
use support::{assert_close, assert_close_abs, RowMajor};

// ----------------------------------------------------------- mixing weight

param_graph! {
    fn mixing_cols(v: &SMatrix<f64, 3, 2>) -> SMatrix<f64, 3, 6> {
        mixing_weight(v)
    }

    fn mixing_rows(v: &[[f64; 4]; 2]) -> [SVector<f64, 8>; 2] {
        mixing_weight(v)
    }

    fn mixing_single(v: &SMatrix<f64, 1, 3>) -> SMatrix<f64, 1, 3> {
        mixing_weight(v)
    }

    /// A mixing weight read by another op: the result is not the output.
    fn mixing_then_sum(v: &SMatrix<f64, 3, 2>) -> SVector<f64, 3> {
        reduce_sum(mixing_weight(v), axis = 1)
    }
}

// -------------------------------------------------------- Gaussian products

param_graph! {
    fn gauss_mean(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>) -> SVector<f64, 6> {
        gaussian_product_mean(m1, s1, m2, s2)
    }

    fn gauss_stddev(s1: &[f64; 3], s2: &[f64; 2]) -> [f64; 6] {
        gaussian_product_stddev(s1, s2)
    }

    fn gauss_log_partition(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>) -> SVector<f64, 6> {
        gaussian_product_log_partition(m1, s1, m2, s2)
    }

    /// One component on the left: `K1 = 1`.
    fn gauss_single(m1: &SVector<f64, 1>, s1: &SVector<f64, 1>, m2: &SVector<f64, 4>, s2: &SVector<f64, 4>) -> SVector<f64, 4> {
        gaussian_product_mean(m1, s1, m2, s2)
    }

    /// All three parameters of one circuit product: the summed variances are
    /// computed once.
    fn gauss_all(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>)
        -> (SVector<f64, 6>, SVector<f64, 6>, SVector<f64, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }

    /// The same, as written: each op computes its own summed variances.
    #[param_graph(optimize = false)]
    fn gauss_all_plain(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>)
        -> (SVector<f64, 6>, SVector<f64, 6>, SVector<f64, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }

    fn gauss_f32(m1: &SVector<f32, 3>, s1: &SVector<f32, 3>, m2: &SVector<f32, 2>, s2: &SVector<f32, 2>)
        -> (SVector<f32, 6>, SVector<f32, 6>, SVector<f32, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }
}

// ------------------------------------------------------------- polynomials

param_graph! {
    fn poly_product_cols(p: &SMatrix<f64, 2, 3>, q: &SMatrix<f64, 3, 2>) -> SMatrix<f64, 6, 4> {
        polynomial_product(p, q)
    }

    fn poly_product_rows(p: &[[f64; 4]; 2], q: &[SVector<f64, 3>; 2]) -> [[f64; 6]; 4] {
        polynomial_product(p, q)
    }

    /// Constants times polynomials: `D1 = 1`.
    fn poly_product_constant(p: &SMatrix<f64, 3, 1>, q: &SMatrix<f64, 2, 5>) -> SMatrix<f64, 6, 5> {
        polynomial_product(p, q)
    }

    fn poly_derivative(p: &SMatrix<f64, 3, 5>) -> SMatrix<f64, 3, 4> {
        polynomial_differential(p)
    }

    fn poly_derivative_2(p: &[[f64; 5]; 3]) -> [[f64; 3]; 3] {
        polynomial_differential(p, order = 2)
    }

    fn poly_derivative_4(p: &SMatrix<f64, 3, 5>) -> SMatrix<f64, 3, 1> {
        polynomial_differential(p, order = 4)
    }

    /// `D ≤ order`: a column of zeros.
    fn poly_derivative_gone(p: &SMatrix<f64, 3, 5>) -> SMatrix<f64, 3, 1> {
        polynomial_differential(p, order = 5)
    }

    fn poly_derivative_gone_rows(p: &[[f64; 2]; 3]) -> [[f64; 1]; 3] {
        polynomial_differential(p, order = 7)
    }

    /// The derivative of a product: (p·q)' read from an intermediate.
    fn poly_chain(p: &SMatrix<f64, 2, 3>, q: &[[f64; 2]; 3]) -> SMatrix<f64, 6, 3> {
        polynomial_differential(polynomial_product(p, q), order = 1)
    }
}

// ------------------------------------------------------------------ harness

const REL: f64 = 1e-12;

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-5.0f64..5.0, n)
}

/// Standard deviations: positive, as cirkit's are (the sign does not matter
/// to the ops, which square them).
fn stddevs(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.05f64..5.0, n)
}

/// 1e-12 times the inputs' total magnitude: the absolute tolerance of
/// results that may cancel.
fn cancelling(inputs: &[&[f64]]) -> f64 {
    let total: f64 = inputs.iter().flat_map(|x| x.iter()).map(|v| v.abs()).sum();
    REL * total.max(1.0)
}

fn t(shape: &[usize], data: &[f64]) -> T {
    assert_eq!(numel(shape), data.len(), "test data for {shape:?}");
    T::new(shape.to_vec(), data.to_vec())
}

fn from<X: RowMajor>(data: &[f64]) -> X {
    X::from_row_major(data)
}

#[track_caller]
fn check(name: &str, got: &impl RowMajor, want: &T, abs: f64) {
    assert_close_abs(name, &got.to_row_major(), &want.data, REL, abs);
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn mixing_weight_matches_reference(v in values(8)) {
        mixing_cases(&v);
    }

    #[test]
    fn gaussian_products_match_reference(m1 in values(3), s1 in stddevs(3), m2 in values(4), s2 in stddevs(4)) {
        gaussian_cases(&m1, &s1, &m2, &s2);
    }

    #[test]
    fn polynomial_product_matches_reference(p in values(10), q in values(10)) {
        polynomial_product_cases(&p, &q);
    }

    #[test]
    fn polynomial_differential_matches_reference(p in values(15)) {
        polynomial_differential_cases(&p);
    }
}

fn mixing_cases(v: &[f64]) {
    let v6 = &v[..6];
    check(
        "mixing_cols",
        &mixing_cols(&from(v6)),
        &r::mixing_weight(&t(&[3, 2], v6)),
        0.0,
    );
    check(
        "mixing_rows",
        &mixing_rows(&from(v)),
        &r::mixing_weight(&t(&[2, 4], v)),
        0.0,
    );
    let v3 = &v[..3];
    check(
        "mixing_single",
        &mixing_single(&from(v3)),
        &r::mixing_weight(&t(&[1, 3], v3)),
        0.0,
    );
    let summed = r::reduce_sum(&r::mixing_weight(&t(&[3, 2], v6)), 1);
    check(
        "mixing_then_sum",
        &mixing_then_sum(&from(v6)),
        &summed,
        cancelling(&[v6]),
    );
}

fn gaussian_cases(m1: &[f64], s1: &[f64], m2: &[f64], s2: &[f64]) {
    // `gauss_single` takes all four of the second layer, the rest two.
    let (m2_4, s2_4) = (m2, s2);
    let (m2, s2) = (&m2[..2], &s2[..2]);
    let args = (from(m1), from(s1), from(m2), from(s2));
    let (tm1, ts1, tm2, ts2) = (t(&[3], m1), t(&[3], s1), t(&[2], m2), t(&[2], s2));
    let abs = cancelling(&[m1, m2]);
    let mean = r::gaussian_product_mean(&tm1, &ts1, &tm2, &ts2);
    let stddev = r::gaussian_product_stddev(&ts1, &ts2);
    let log_z = r::gaussian_product_log_partition(&tm1, &ts1, &tm2, &ts2);
    check(
        "gauss_mean",
        &gauss_mean(&args.0, &args.1, &args.2, &args.3),
        &mean,
        abs,
    );
    check(
        "gauss_stddev",
        &gauss_stddev(&from(s1), &from(s2)),
        &stddev,
        0.0,
    );
    check(
        "gauss_log_partition",
        &gauss_log_partition(&args.0, &args.1, &args.2, &args.3),
        &log_z,
        REL * 100.0,
    );
    let single = r::gaussian_product_mean(
        &t(&[1], &m1[..1]),
        &t(&[1], &s1[..1]),
        &t(&[4], m2_4),
        &t(&[4], s2_4),
    );
    check(
        "gauss_single",
        &gauss_single(&from(&m1[..1]), &from(&s1[..1]), &from(m2_4), &from(s2_4)),
        &single,
        abs,
    );

    // Shared summed variances: the same values, bit for bit, as each op alone.
    let shared = gauss_all(&args.0, &args.1, &args.2, &args.3);
    let plain = gauss_all_plain(&args.0, &args.1, &args.2, &args.3);
    assert_eq!(shared, plain, "shared vs unshared summed variances");
    assert_eq!(shared.0, gauss_mean(&args.0, &args.1, &args.2, &args.3));
    check("gauss_all.0", &shared.0, &mean, abs);
    check("gauss_all.1", &shared.1, &stddev, 0.0);
    check("gauss_all.2", &shared.2, &log_z, REL * 100.0);

    // f32: the same to f32 precision.
    let narrow = |x: &[f64]| -> Vec<f64> { x.iter().map(|v| *v as f32 as f64).collect() };
    let (n1, t1, n2, t2) = (narrow(m1), narrow(s1), narrow(m2), narrow(s2));
    let (tn1, tt1, tn2, tt2) = (t(&[3], &n1), t(&[3], &t1), t(&[2], &n2), t(&[2], &t2));
    let f = gauss_f32(&from(&n1), &from(&t1), &from(&n2), &from(&t2));
    let loose = |name: &str, got: &SVector<f32, 6>, want: &T, abs: f64| {
        assert_close_abs(name, &got.to_row_major(), &want.data, 1e-5, abs);
    };
    let abs32 = 1e-5 * (n1.iter().chain(&n2).map(|v| v.abs()).sum::<f64>()).max(1.0);
    loose(
        "gauss_f32.0",
        &f.0,
        &r::gaussian_product_mean(&tn1, &tt1, &tn2, &tt2),
        abs32,
    );
    loose(
        "gauss_f32.1",
        &f.1,
        &r::gaussian_product_stddev(&tt1, &tt2),
        0.0,
    );
    loose(
        "gauss_f32.2",
        &f.2,
        &r::gaussian_product_log_partition(&tn1, &tt1, &tn2, &tt2),
        1e-4,
    );
}

fn polynomial_product_cases(p: &[f64], q: &[f64]) {
    let (p6, q6) = (&p[..6], &q[..6]);
    check(
        "poly_product_cols",
        &poly_product_cols(&from(p6), &from(q6)),
        &r::polynomial_product(&t(&[2, 3], p6), &t(&[3, 2], q6)),
        cancelling(&[p6, q6]) * 5.0,
    );
    let (p8, q6b) = (&p[..8], &q[4..10]);
    check(
        "poly_product_rows",
        &poly_product_rows(&from(p8), &from(q6b)),
        &r::polynomial_product(&t(&[2, 4], p8), &t(&[2, 3], q6b)),
        cancelling(&[p8, q6b]) * 5.0,
    );
    let (p3, q10) = (&p[..3], q);
    check(
        "poly_product_constant",
        &poly_product_constant(&from(p3), &from(q10)),
        &r::polynomial_product(&t(&[3, 1], p3), &t(&[2, 5], q10)),
        0.0,
    );
    let chained =
        r::polynomial_differential(&r::polynomial_product(&t(&[2, 3], p6), &t(&[3, 2], q6)), 1);
    check(
        "poly_chain",
        &poly_chain(&from(p6), &from(q6)),
        &chained,
        cancelling(&[p6, q6]) * 20.0,
    );
}

fn polynomial_differential_cases(p: &[f64]) {
    let tp = t(&[3, 5], p);
    check(
        "poly_derivative",
        &poly_derivative(&from(p)),
        &r::polynomial_differential(&tp, 1),
        0.0,
    );
    check(
        "poly_derivative_2",
        &poly_derivative_2(&from(p)),
        &r::polynomial_differential(&tp, 2),
        0.0,
    );
    check(
        "poly_derivative_4",
        &poly_derivative_4(&from(p)),
        &r::polynomial_differential(&tp, 4),
        0.0,
    );
    check(
        "poly_derivative_gone",
        &poly_derivative_gone(&from(p)),
        &r::polynomial_differential(&tp, 5),
        0.0,
    );
    let p6 = &p[..6];
    check(
        "poly_derivative_gone_rows",
        &poly_derivative_gone_rows(&from(p6)),
        &r::polynomial_differential(&t(&[3, 2], p6), 7),
        0.0,
    );
}

// ------------------------------------------------------------ fixed cases

#[test]
fn mixing_weight_places_each_row_on_its_diagonal() {
    let v = SMatrix::<f64, 3, 2>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
    let w = mixing_cols(&v);
    #[rustfmt::skip]
    let want = SMatrix::<f64, 3, 6>::from_row_slice(&[
        1.0, 0.0, 0.0, 2.0, 0.0, 0.0,
        0.0, 3.0, 0.0, 0.0, 4.0, 0.0,
        0.0, 0.0, 5.0, 0.0, 0.0, 6.0,
    ]);
    assert_eq!(w, want);
}

#[test]
fn gaussian_products_by_hand() {
    // N(0, 3²)·N(0, 4²): v = 25, s = 12/5, m = 0, log Z = −½(log 2π + log 25).
    let (m, s, l) = gauss_all(
        &SVector::<f64, 3>::repeat(0.0),
        &SVector::<f64, 3>::repeat(3.0),
        &SVector::<f64, 2>::repeat(0.0),
        &SVector::<f64, 2>::repeat(4.0),
    );
    assert_eq!(m, SVector::<f64, 6>::zeros());
    assert!(s.iter().all(|v| (v - 2.4).abs() < 1e-15), "{s}");
    let want = -0.5 * ((2.0 * std::f64::consts::PI).ln() + 25f64.ln());
    assert!(l.iter().all(|v| (v - want).abs() < 1e-15), "{l}");
}

#[test]
fn gaussian_products_stay_finite_where_the_textbook_form_overflows() {
    // Means near 1e200 and stddevs near 1e100: cirkit's m1·s2² and s1²·s2²
    // overflow to infinity, the products themselves are finite.
    let m1 = SVector::<f64, 3>::new(1e200, -2e200, 3e200);
    let s1 = SVector::<f64, 3>::new(1e100, 2e100, 3e100);
    let m2 = SVector::<f64, 2>::new(2e200, 0.0);
    let s2 = SVector::<f64, 2>::new(1e100, 5e99);
    let (mean, stddev, log_z) = gauss_all(&m1, &s1, &m2, &s2);
    assert!(mean
        .iter()
        .chain(&stddev)
        .chain(&log_z)
        .all(|v| v.is_finite()));
    // Pair (0, 0): equal variances, mean halfway, stddev s/√2.
    assert!((mean[0] / 1.5e200 - 1.0).abs() < 1e-15, "{}", mean[0]);
    assert!((stddev[0] / (1e100 / 2f64.sqrt()) - 1.0).abs() < 1e-15);
    // Equal means give that mean exactly, whatever the variances.
    let same = gauss_mean(
        &SVector::repeat(0.1),
        &SVector::<f64, 3>::new(0.3, 1.0, 7.0),
        &SVector::repeat(0.1),
        &SVector::<f64, 2>::new(0.2, 9.0),
    );
    assert!(same.iter().all(|v| *v == 0.1), "{same}");
}

#[test]
fn a_vanished_derivative_is_zero_even_for_nan_coefficients() {
    let p = SMatrix::<f64, 3, 5>::repeat(f64::NAN);
    assert_eq!(poly_derivative_gone(&p), SMatrix::<f64, 3, 1>::zeros());
    assert!(poly_derivative(&p).iter().all(|v| v.is_nan()));
}

#[test]
fn derivatives_by_hand() {
    // 1 + 2x + 3x² + 4x³ + 5x⁴: p' = 2 + 6x + 12x² + 20x³, p'' = 6 + 24x + 60x².
    let row = [1.0, 2.0, 3.0, 4.0, 5.0];
    let p = [row, row, row];
    assert_eq!(poly_derivative_2(&p), [[6.0, 24.0, 60.0]; 3]);
    let d1 = poly_derivative(&SMatrix::from_fn(|_, j| row[j]));
    assert_eq!(
        d1.row(0).iter().copied().collect::<Vec<_>>(),
        [2.0, 6.0, 12.0, 20.0]
    );
    // p'''' = 120.
    let d4 = poly_derivative_4(&SMatrix::from_fn(|_, j| row[j]));
    assert_eq!(d4, SMatrix::<f64, 3, 1>::repeat(120.0));
}

#[test]
fn polynomial_product_by_hand() {
    // (1 + x)(1 − x) = 1 − x²; (1 + x)(2) = 2 + 2x.
    let p = SMatrix::<f64, 1, 2>::new(1.0, 1.0);
    let q = [[1.0, -1.0], [2.0, 0.0]];
    param_graph! {
        fn pq(p: &SMatrix<f64, 1, 2>, q: &[[f64; 2]; 2]) -> [[f64; 3]; 2] {
            polynomial_product(p, q)
        }
    }
    assert_eq!(pq(&p, &q), [[1.0, 0.0, -1.0], [2.0, 2.0, 0.0]]);
}

// ------------------------------------------------------------------ plans

#[test]
fn the_plan_shows_one_variance_sum_read_by_three() {
    let plan = GAUSS_ALL_PLAN;
    let lines: Vec<&str> = plan.lines().collect();
    let sums: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("= gaussian_var_sum("))
        .collect();
    assert_eq!(sums.len(), 1, "{plan}");
    let id = sums[0].split(' ').next().unwrap();
    for op in [
        "gaussian_mean_from_var",
        "gaussian_stddev_from_var",
        "gaussian_log_partition_from_var",
    ] {
        let line = lines
            .iter()
            .find(|l| l.contains(op))
            .unwrap_or_else(|| panic!("no {op} in\n{plan}"));
        assert!(
            line.contains(&format!("{id})")),
            "{op} does not read {id}:\n{plan}"
        );
        assert!(line.contains("[rule: gaussian_product"), "{plan}");
    }
    assert!(
        plan.contains("%4 = gaussian_var_sum(%1, %3) : (6,)"),
        "{plan}"
    );
    // As written, every op computes its own.
    assert!(
        !GAUSS_ALL_PLAIN_PLAN.contains("gaussian_var_sum"),
        "{GAUSS_ALL_PLAIN_PLAN}"
    );
    assert!(GAUSS_MEAN_PLAN.contains("gaussian_product_mean(%0, %1, %2, %3) : (6,)"));
}

#[test]
fn polynomial_plans_name_the_method_and_the_order() {
    assert!(
        POLY_PRODUCT_COLS_PLAN.contains("polynomial_product(%0, %1, method = direct) : (6, 4)"),
        "{POLY_PRODUCT_COLS_PLAN}"
    );
    assert!(
        POLY_DERIVATIVE_2_PLAN.contains("polynomial_differential(%0, order = 2) : (3, 3)"),
        "{POLY_DERIVATIVE_2_PLAN}"
    );
    assert!(
        POLY_DERIVATIVE_PLAN.contains("polynomial_differential(%0, order = 1) : (3, 4)"),
        "{POLY_DERIVATIVE_PLAN}"
    );
    assert!(MIXING_COLS_PLAN.contains("mixing_weight(%0) : (3, 6)"));
}

#[test]
fn fixture_cases_agree_with_the_reference_through_the_macro() {
    // One more spelling of the fixture's own cases: cirkit's stddev op on
    // arrays, compared with the fixture's numbers (the golden tests cover
    // the rest).
    let got = gauss_stddev(
        &[0.7152033969641176, 0.1620880183551712, 1.0105000578969163],
        &[0.37836512469835804, 0.48292653812859254],
    );
    let want = [
        0.3344471006520544,
        0.4002303944546765,
        0.14899215596682971,
        0.15366366845517254,
        0.35434025107462064,
        0.43572430442071824,
    ];
    assert_close("gauss_stddev (fixture)", &got, &want, 1e-15);
}
