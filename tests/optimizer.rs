//! The optimizer, run end to end through the macro: rewrites agree with the
//! graph as written (`#[param_graph(optimize = false)]`), the fused forms are
//! finite where the unfused ones overflow, and the outer and Kronecker
//! products that the rules remove are really never formed.

mod support;

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use param_graph::runtime::Kron;
use proptest::prelude::*;
use support::harness::both;
use support::RowMajor;

both!(log_softmax_alone(x: &[SMatrix<f64, 3, 5>; 2]) -> [SMatrix<f64, 3, 5>; 2] {
    log(softmax(x, axis = 1))
});
both!(log_softmax_shared(x: &SMatrix<f64, 4, 6>) -> SMatrix<f64, 4, 6> {
    let p = softmax(x, axis = 0);
    add(p, log(p))
});
both!(sum_outer_same_axis(a: &[SMatrix<f64, 3, 4>; 2], b: &[SMatrix<f64, 5, 4>; 2]) -> [SVector<f64, 4>; 2] {
    reduce_sum(outer_product(a, b, axis = 1), axis = 1)
});
both!(sum_outer_other_axis(a: &[SMatrix<f64, 3, 4>; 2], b: &[SMatrix<f64, 3, 6>; 2]) -> [SVector<f64, 24>; 2] {
    reduce_sum(outer_product(a, b, axis = 2), axis = 1)
});
both!(sum_outer_rank5(a: &[[[SMatrix<f64, 2, 3>; 2]; 3]; 2], b: &[[[SMatrix<f64, 2, 3>; 2]; 3]; 2]) -> [[SMatrix<f64, 4, 3>; 3]; 2] {
    reduce_sum(outer_product(a, b, axis = 2), axis = 3)
});
both!(kron_then_matmul(a: &SMatrix<f64, 3, 2>, b: &SMatrix<f64, 2, 4>, x: &SMatrix<f64, 8, 5>) -> SMatrix<f64, 6, 5> {
    matmul(kron(a, b), x)
});
both!(beyond_cirkit(x: &SMatrix<f64, 3, 4>) -> (SMatrix<f64, 3, 4>, SVector<f64, 3>, SMatrix<f64, 3, 4>) {
    (log(sigmoid(x)), log(reduce_sum(exp(x), axis = 1)), square(log(exp(x))))
});
both!(log_normalized(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
    log(normalize(x, axis = 1))
});
both!(gaussian_shared(m1: &SVector<f64, 3>, s1: &SVector<f64, 3>, m2: &SVector<f64, 2>, s2: &SVector<f64, 2>) -> (SVector<f64, 6>, SVector<f64, 6>) {
    (gaussian_product_mean(m1, s1, m2, s2), gaussian_product_stddev(s1, s2))
});
both!(mixed_chain(a: &SMatrix<f64, 4, 3>, b: &SMatrix<f64, 4, 3>) -> SVector<f64, 4> {
    let w = log(softmax(hadamard(a, exp(b)), axis = 1));
    let z = log(reduce_sum(exp(add(w, a)), axis = 1));
    let s = reduce_sum(outer_product(exp(w), sigmoid(b), axis = 1), axis = 1);
    add(z, log(s))
});

fn values(len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-6.0f64..6.0, len)
}

/// Optimized and as-written agree to relative 1e-9 wherever the as-written
/// result is finite (an absolute floor of 1e-12 covers results that cancel
/// to about zero, such as a log-softmax entry at the row maximum).
fn check<T: RowMajor>(got: &T, want: &T, what: &str) {
    let (g, w) = (got.to_row_major(), want.to_row_major());
    for (k, (x, y)) in g.iter().zip(&w).enumerate() {
        if !y.is_finite() {
            continue;
        }
        let diff = (x - y).abs();
        assert!(
            diff <= 1e-9 * y.abs() || diff <= 1e-12,
            "{what}[{k}]: optimized {x}, as written {y}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn log_softmax_agrees(x in values(30)) {
        let x = RowMajor::from_row_major(&x);
        check(&log_softmax_alone::opt::f(&x), &log_softmax_alone::plain::f(&x), "log_softmax");
    }

    #[test]
    fn shared_log_softmax_agrees(x in values(24)) {
        let x = RowMajor::from_row_major(&x);
        check(&log_softmax_shared::opt::f(&x), &log_softmax_shared::plain::f(&x), "shared");
    }

    #[test]
    fn sum_outer_agrees(a in values(24), b in values(40), c in values(36), e in values(72), f in values(72)) {
        let (a1, b1) = (RowMajor::from_row_major(&a), RowMajor::from_row_major(&b));
        check(&sum_outer_same_axis::opt::f(&a1, &b1), &sum_outer_same_axis::plain::f(&a1, &b1), "same axis");
        let c1 = RowMajor::from_row_major(&c);
        check(&sum_outer_other_axis::opt::f(&a1, &c1), &sum_outer_other_axis::plain::f(&a1, &c1), "other axis");
        let (e1, f1) = (RowMajor::from_row_major(&e), RowMajor::from_row_major(&f));
        check(&sum_outer_rank5::opt::f(&e1, &f1), &sum_outer_rank5::plain::f(&e1, &f1), "rank 5");
    }

    #[test]
    fn kron_matmul_agrees(a in values(6), b in values(8), x in values(40)) {
        let (a, b, x) = (RowMajor::from_row_major(&a), RowMajor::from_row_major(&b), RowMajor::from_row_major(&x));
        check(&kron_then_matmul::opt::f(&a, &b, &x), &kron_then_matmul::plain::f(&a, &b, &x), "kron_matmul");
    }

    #[test]
    fn beyond_cirkit_rules_agree(x in values(12)) {
        let x = RowMajor::from_row_major(&x);
        let (o1, o2, o3) = beyond_cirkit::opt::f(&x);
        let (p1, p2, p3) = beyond_cirkit::plain::f(&x);
        check(&o1, &p1, "log_sigmoid");
        check(&o2, &p2, "log_sum_exp");
        check(&o3, &p3, "log_exp");
    }

    #[test]
    fn log_normalize_agrees(x in values(12)) {
        // Positive rows (flows plus a pseudocount) take the fused form;
        // rows of either sign `log(x / Σx)`, as written.
        let positive: Vec<f64> = x.iter().map(|v| v.abs() + 0.01).collect();
        for row in [positive, x] {
            let row = RowMajor::from_row_major(&row);
            let (o, p) = (log_normalized::opt::f(&row), log_normalized::plain::f(&row));
            for (a, b) in o.iter().zip(p.iter()) {
                let close = a == b || (a - b).abs() <= 1e-12 * b.abs().max(1.0);
                prop_assert!(close || (a.is_nan() && b.is_nan()), "{} vs {}", a, b);
            }
        }
    }

    #[test]
    fn shared_gaussian_terms_agree(m1 in values(3), s1 in values(3), m2 in values(2), s2 in values(2)) {
        let (m1, s1) = (RowMajor::from_row_major(&m1), RowMajor::from_row_major(&s1));
        let (m2, s2) = (RowMajor::from_row_major(&m2), RowMajor::from_row_major(&s2));
        let (o1, o2) = gaussian_shared::opt::f(&m1, &s1, &m2, &s2);
        let (p1, p2) = gaussian_shared::plain::f(&m1, &s1, &m2, &s2);
        check(&o1, &p1, "gaussian mean");
        check(&o2, &p2, "gaussian stddev");
    }

    #[test]
    fn chains_of_rules_agree(a in values(12), b in values(12)) {
        let (a, b) = (RowMajor::from_row_major(&a), RowMajor::from_row_major(&b));
        check(&mixed_chain::opt::f(&a, &b), &mixed_chain::plain::f(&a, &b), "chain");
    }
}

#[test]
fn fused_forms_stay_finite_where_unfused_ones_overflow() {
    let x = SMatrix::<f64, 3, 4>::from_row_slice(&[
        -800.0, 0.0, 1.0, 2.0, //
        750.0, 760.0, 1.0, 0.0, //
        -1000.0, -900.0, 3.0, 1.0,
    ]);
    let (ls, lse, le) = beyond_cirkit::opt::f(&x);
    let (pls, plse, ple) = beyond_cirkit::plain::f(&x);
    assert_eq!(pls[(0, 0)], f64::NEG_INFINITY);
    assert_eq!(ls[(0, 0)], -800.0);
    assert_eq!(plse[1], f64::INFINITY);
    assert!((lse[1] - (760.0 + (1.0 + (-10.0f64).exp()).ln())).abs() < 1e-12);
    assert_eq!(ple[(1, 1)], f64::INFINITY);
    assert_eq!(le[(1, 1)], 760.0 * 760.0);
}

param_graph! {
    /// Returns the factors, never the 8×6 dense matrix.
    fn factored(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 4, 2>) -> Kron<f64, 2, 3, 4, 2> {
        kron(exp(a), b)
    }
}

#[test]
fn kron_results_stay_factored() {
    let a = SMatrix::<f64, 2, 3>::from_fn(|i, j| 0.1 * (i + j) as f64);
    let b = SMatrix::<f64, 4, 2>::from_fn(|i, j| i as f64 - j as f64);
    let k = factored(&a, &b);
    assert_eq!(k.a, a.map(f64::exp));
    assert_eq!(k.b, b);
    let dense: SMatrix<f64, 8, 6> = k.to_dense();
    let x = SMatrix::<f64, 6, 2>::from_fn(|i, j| (i * 2 + j) as f64);
    let y: SMatrix<f64, 8, 2> = k.mul_mat(&x);
    assert!((y - dense * x).abs().max() < 1e-12);
    assert!(!FACTORED_PLAN.contains("kron_matmul"));
}

/// Every rule of the optimizer (`RULES`) fires in one of the programs above,
/// compiled through the macro: its fused nodes have kernels and runtime
/// functions, and its values are checked against the graph as written.
#[test]
fn every_rule_fires_end_to_end() {
    let plans = [
        log_softmax_alone::opt::F_PLAN,
        log_softmax_shared::opt::F_PLAN,
        sum_outer_same_axis::opt::F_PLAN,
        sum_outer_other_axis::opt::F_PLAN,
        kron_then_matmul::opt::F_PLAN,
        beyond_cirkit::opt::F_PLAN,
        gaussian_shared::opt::F_PLAN,
        log_normalized::opt::F_PLAN,
        mixed_chain::opt::F_PLAN,
    ];
    for (rule, _) in param_graph_compiler::testing::rules() {
        // The summary line lists every rule applied (a rule may only remove
        // nodes, and then no node carries its tag).
        let applied = |plan: &&str| {
            plan.lines()
                .last()
                .and_then(|l| l.split("rules applied: ").nth(1))
                .is_some_and(|rest| {
                    rest.split(';')
                        .next()
                        .unwrap_or("")
                        .split(", ")
                        .any(|r| r == rule)
                })
        };
        assert!(
            plans.iter().any(applied),
            "no program of tests/optimizer.rs fires `{rule}` end to end: add a `both!` case"
        );
    }
}

#[test]
fn plans_name_the_rules_that_fired() {
    assert!(log_softmax_alone::opt::F_PLAN.contains("log_softmax(%0, axis = 1) : (2, 3, 5)"));
    assert!(log_softmax_alone::opt::F_PLAN.contains("[rule: log_softmax"));
    assert!(log_softmax_alone::plain::F_PLAN.contains("%1 = softmax(%0, axis = 1)"));
    assert!(log_softmax_alone::plain::F_PLAN.contains("optimize = false"));
    assert!(kron_then_matmul::opt::F_PLAN.contains("kron_matmul(%0, %1, %2) : (6, 5)"));
    assert!(sum_outer_other_axis::opt::F_PLAN.contains("outer_contract"));
}

// Shapes large enough for the runtime's contraction kernel (AVX2/FMA where
// available): the same W3 contraction as the benchmarks, and a matmul.
both!(sum_outer_as_gemm(a: &[SMatrix<f64, 32, 8>; 4], b: &[SMatrix<f64, 32, 8>; 4]) -> [SVector<f64, 1024>; 4] {
    reduce_sum(outer_product(a, b, axis = 1), axis = 2)
});

param_graph! {
    fn matmul_as_gemm(a: &SMatrix<f64, 16, 8>, b: &SMatrix<f64, 8, 12>) -> SMatrix<f64, 16, 12> {
        matmul(a, b)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn contraction_kernel_agrees(a in values(1024), b in values(1024), c in values(128), e in values(96)) {
        let (a1, b1) = (RowMajor::from_row_major(&a), RowMajor::from_row_major(&b));
        check(&sum_outer_as_gemm::opt::f(&a1, &b1), &sum_outer_as_gemm::plain::f(&a1, &b1), "gemm");
        let (x, y): (SMatrix<f64, 16, 8>, SMatrix<f64, 8, 12>) = (RowMajor::from_row_major(&c), RowMajor::from_row_major(&e));
        check(&matmul_as_gemm(&x, &y), &(x * y), "matmul");
    }
}

// The same kernels in f32: the contraction kernel's f32 variant, and the
// generated (not runtime) softmax loops that f32 graphs use.
param_graph! {
    fn matmul_f32(a: &SMatrix<f32, 16, 8>, b: &SMatrix<f32, 8, 12>) -> SMatrix<f32, 16, 12> {
        matmul(a, b)
    }
    fn log_softmax_f32(x: &SMatrix<f32, 6, 5>) -> (SMatrix<f32, 6, 5>, SMatrix<f32, 6, 5>) {
        (log(softmax(x, axis = 1)), softmax(x, axis = 0))
    }
}

#[test]
fn f32_graphs_match_nalgebra_and_the_definition() {
    let a = SMatrix::<f32, 16, 8>::from_fn(|i, j| ((i * 8 + j) % 11) as f32 * 0.25 - 1.0);
    let b = SMatrix::<f32, 8, 12>::from_fn(|i, j| ((i + 3 * j) % 7) as f32 * 0.5 - 1.5);
    assert!((matmul_f32(&a, &b) - a * b).abs().max() < 1e-5);
    let x = SMatrix::<f32, 6, 5>::from_fn(|i, j| ((i * 5 + j) % 9) as f32 - 4.0);
    let (ls, sm) = log_softmax_f32(&x);
    for i in 0..6 {
        let lse = x
            .row(i)
            .iter()
            .map(|v| f64::from(*v).exp())
            .sum::<f64>()
            .ln();
        for j in 0..5 {
            assert!((f64::from(ls[(i, j)]) - (f64::from(x[(i, j)]) - lse)).abs() < 1e-5);
        }
    }
    for j in 0..5 {
        assert!((sm.column(j).sum() - 1.0).abs() < 1e-6);
    }
}
