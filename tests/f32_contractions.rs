//! Every f32 contraction path over an inner length ≥ 10⁵ against an f64
//! reference from the same f32 inputs: the sum of an outer product over
//! another axis in each layout (runtime kernel or generated loop), `matmul`
//! with a column-major and with a row-major (intermediate) left operand,
//! and both passes of `kron_matmul`.
//!
//! Generated loops accumulate each f32 output in its own f64 register
//! (error `n·2⁻⁵³·Σ|aₖ·bₖ|` before the one rounding); the runtime kernel
//! adds blocks of 64 f32 steps into f64 (`(64·2⁻²⁴ + (n/64)·2⁻⁵³)·Σ|aₖ·bₖ|`).
//! Both are checked against ½ ulp plus `2⁻¹⁸·Σ|aₖ·bₖ|`, the README's bound;
//! with all-`0.1` inputs a left-to-right f32 loop misses it by two orders of
//! magnitude (`Σ 0.1·0.1` over 10⁵ terms: 1000.665 for 1000.00003).

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use support::harness::{assert_f32_sum, on_stack, Lcg};

mod support;

const N: usize = 100_000;

param_graph! {
    /// The reviewer's case: outer axis 1 of length 1, reduced axis 0.
    fn oc_column(a: &SMatrix<f32, 100000, 1>, b: &SMatrix<f32, 100000, 1>) -> SVector<f32, 1> {
        reduce_sum(outer_product(a, b, axis = 1), axis = 0)
    }

    /// Outer axis 1 of lengths 2 and 3, reduced axis 0 (column-major: the
    /// contraction runs down the columns).
    fn oc_columns(a: &SMatrix<f32, 100000, 2>, b: &SMatrix<f32, 100000, 3>) -> SVector<f32, 6> {
        reduce_sum(outer_product(a, b, axis = 1), axis = 0)
    }

    /// Transposed: outer axis 0, reduced axis 1.
    fn oc_rows(a: &SMatrix<f32, 2, 100000>, b: &SMatrix<f32, 3, 100000>) -> SVector<f32, 6> {
        reduce_sum(outer_product(a, b, axis = 0), axis = 1)
    }

    /// A column-major left operand (a leaf), column-major intermediates,
    /// and a row-major one (an `add` takes its first operand's layout, here
    /// a constant's: the generated loop, not the runtime kernel).
    fn mm(a: &SMatrix<f32, 2, 100000>, c: &SMatrix<f32, 100000, 3>, x: &SMatrix<f32, 1, 100000>)
        -> (SMatrix<f32, 2, 3>, SMatrix<f32, 2, 3>, SMatrix<f32, 2, 3>, SMatrix<f32, 2, 3>) {
        (
            matmul(a, c),
            matmul(outer_product(a, x, axis = 0), c),
            matmul(exp(a), c),
            matmul(add(constant(0.0, shape = [2, 100000]), a), c),
        )
    }

    /// `polynomial_product`: coefficient `c` sums `min(c + 1, 4096, ..)`
    /// products (column-major leaves), and a row-major layout.
    fn poly(p: &SMatrix<f32, 1, 8192>, q: &SMatrix<f32, 2, 4096>) -> SMatrix<f32, 2, 12287> {
        polynomial_product(p, q)
    }

    fn poly_rows(p: &[[f32; 4]; 2], q: &[SVector<f32, 3>; 2]) -> [[f32; 6]; 4] {
        polynomial_product(p, q)
    }

    /// `kron_matmul`'s first pass over 10⁵ terms (`b`'s columns) ...
    fn km_inner(a: &SMatrix<f32, 2, 1>, b: &SMatrix<f32, 1, 100000>, x: &SMatrix<f32, 100000, 2>)
        -> SMatrix<f32, 2, 2> {
        matmul(kron(a, b), x)
    }

    /// ... and its second (over `a`'s columns).
    fn km_outer(a: &SMatrix<f32, 2, 100000>, b: &SMatrix<f32, 1, 1>, x: &SMatrix<f32, 100000, 2>)
        -> SMatrix<f32, 2, 2> {
        matmul(kron(a, b), x)
    }
}

/// Inputs: all `0.1` (the left-to-right f32 loop's worst case), then
/// uniform in `[0.05, 0.15)`.
fn filled<const R: usize, const C: usize>(rng: &mut Option<Lcg>) -> Box<SMatrix<f32, R, C>> {
    let mut m = Box::new(SMatrix::<f32, R, C>::zeros());
    for v in m.iter_mut() {
        *v = match rng {
            None => 0.1,
            Some(r) => r.next(0.05, 0.15),
        };
    }
    m
}

#[track_caller]
fn check(got: f32, terms: impl Iterator<Item = f64> + Clone, what: &str) {
    assert_f32_sum(got, terms, 2f64.powi(-18), what);
}

fn each_input(f: impl Fn(&mut Option<Lcg>) + Send + 'static) {
    on_stack(512 << 20, move || {
        for mut rng in [None, Some(Lcg(11))] {
            f(&mut rng);
        }
    });
}

#[test]
fn outer_contract_reviewer_case() {
    each_input(|rng| {
        let (a, b) = (filled::<N, 1>(rng), filled::<N, 1>(rng));
        let got = oc_column(&a, &b)[0];
        check(
            got,
            (0..N).map(|k| f64::from(a[k]) * f64::from(b[k])),
            "oc_column",
        );
        if rng.is_none() {
            // 1000.66504 when accumulated in f32; the exact sum is 1000.0000298.
            assert_eq!(got, 1000.0);
        }
    });
}

#[test]
fn outer_contract_every_layout() {
    each_input(|rng| {
        let (a, b) = (filled::<N, 2>(rng), filled::<N, 3>(rng));
        let got = oc_columns(&a, &b);
        for i in 0..2 {
            for j in 0..3 {
                let (ar, br) = (&a, &b);
                let terms = (0..N).map(move |k| f64::from(ar[(k, i)]) * f64::from(br[(k, j)]));
                check(got[i * 3 + j], terms, "oc_columns");
            }
        }
        let (a, b) = (filled::<2, N>(rng), filled::<3, N>(rng));
        let got = oc_rows(&a, &b);
        for i in 0..2 {
            for j in 0..3 {
                let (ar, br) = (&a, &b);
                let terms = (0..N).map(move |k| f64::from(ar[(i, k)]) * f64::from(br[(j, k)]));
                check(got[i * 3 + j], terms, "oc_rows");
            }
        }
    });
}

#[test]
fn matmul_every_left_layout() {
    each_input(|rng| {
        let (a, c, x) = (
            filled::<2, N>(rng),
            filled::<N, 3>(rng),
            filled::<1, N>(rng),
        );
        let (plain, outer, exps, row_major) = mm(&a, &c, &x);
        for i in 0..2 {
            for j in 0..3 {
                let (ar, cr, xr) = (&a, &c, &x);
                let terms = (0..N).map(move |k| f64::from(ar[(i, k)]) * f64::from(cr[(k, j)]));
                check(plain[(i, j)], terms.clone(), "matmul");
                check(row_major[(i, j)], terms, "matmul, row-major left");
                // The left operand is an f32 intermediate: the reference
                // multiplies its f32 values.
                let terms =
                    (0..N).map(move |k| f64::from(ar[(i, k)] * xr[(0, k)]) * f64::from(cr[(k, j)]));
                check(outer[(i, j)], terms, "matmul(outer_product)");
                let terms = (0..N).map(move |k| {
                    let e = param_graph::runtime::math::exp_f32(ar[(i, k)]);
                    f64::from(e) * f64::from(cr[(k, j)])
                });
                check(exps[(i, j)], terms, "matmul(exp)");
            }
        }
    });
}

#[test]
fn kron_matmul_both_passes() {
    each_input(|rng| {
        let (a, b, x) = (
            filled::<2, 1>(rng),
            filled::<1, N>(rng),
            filled::<N, 2>(rng),
        );
        let got = km_inner(&a, &b, &x);
        for i in 0..2 {
            for c in 0..2 {
                // Y[i, c] = a[i]·Σ_l b[l]·x[l, c]: the inner sum is the
                // generated pass (rounded to f32 once), then one product.
                let (br, xr) = (&b, &x);
                let t: f64 = (0..N)
                    .map(|l| f64::from(br[(0, l)]) * f64::from(xr[(l, c)]))
                    .sum();
                let want = f64::from(a[(i, 0)]) * t;
                let got = f64::from(got[(i, c)]);
                assert!(
                    (got - want).abs() <= want.abs() * 2f64.powi(-22),
                    "kron_matmul pass 1: {got} vs {want}"
                );
            }
        }
        let (a, b, x) = (
            filled::<2, N>(rng),
            filled::<1, 1>(rng),
            filled::<N, 2>(rng),
        );
        let got = km_outer(&a, &b, &x);
        for i in 0..2 {
            for c in 0..2 {
                // T[j, c] = b·x[j, c] rounded to f32, then Σ_j a[i, j]·T[j, c].
                let (ar, br, xr) = (&a, &b, &x);
                let terms =
                    (0..N).map(move |j| f64::from(ar[(i, j)]) * f64::from(br[(0, 0)] * xr[(j, c)]));
                check(got[(i, c)], terms, "kron_matmul pass 2");
            }
        }
    });
}

#[test]
fn polynomial_product_coefficients_are_summed_in_f64() {
    each_input(|rng| {
        let (p, q) = (filled::<1, 8192>(rng), filled::<2, 4096>(rng));
        let got = poly(&p, &q);
        for j in 0..2 {
            for c in (0..12287usize).step_by(97).chain([4095, 8191, 12286]) {
                let lo = c.saturating_sub(4095);
                let hi = c.min(8191);
                let (pr, qr) = (&p, &q);
                let terms =
                    (lo..=hi).map(move |a| f64::from(pr[(0, a)]) * f64::from(qr[(j, c - a)]));
                let exact: f64 = terms.clone().sum();
                let abs: f64 = terms.map(f64::abs).sum();
                // f64 per coefficient: ½ ulp plus n·2⁻⁵³·Σ (n ≤ 4096), far
                // inside 2⁻³⁰·Σ, which an f32 accumulator misses.
                let bound = f64::from(exact as f32).abs() * 2f64.powi(-24) + abs * 2f64.powi(-30);
                let g = f64::from(got[(j, c)]);
                assert!(
                    (g - exact).abs() <= bound,
                    "poly ({j}, {c}): {g} vs {exact} (bound {bound:e})"
                );
            }
        }
    });
    // Row-major nested arrays: every coefficient the f64 sum rounded once.
    let p = [[0.1f32, -0.3, 0.7, 1.1], [2.0, 0.5, -0.25, 3.0]];
    let q = [
        SVector::<f32, 3>::new(0.3, 0.2, -0.9),
        SVector::<f32, 3>::new(1.5, -0.1, 0.05),
    ];
    let got = poly_rows(&p, &q);
    for i in 0..2 {
        for j in 0..2 {
            for c in 0..6 {
                let want: f64 = (0..4)
                    .filter(|a| c >= *a && c - a < 3)
                    .map(|a| f64::from(p[i][a]) * f64::from(q[j][c - a]))
                    .sum();
                assert_eq!(got[i * 2 + j][c], want as f32, "poly_rows ({i}, {j}, {c})");
            }
        }
    }
}
