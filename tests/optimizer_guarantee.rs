//! What the optimizer guarantees, tested exactly as stated in the README
//! ("What the optimizer guarantees"): wherever **every intermediate of both
//! forms** — the graph as written and the optimized graph — is finite, and
//! no written intermediate and no product in either form is subnormal or
//! underflows to 0, the two agree per output element to within
//!
//! ```text
//! |optimized − as written| ≤ 2·γₙ·S,   γₙ = n·ε / (1 − n·ε),
//! ```
//!
//! where `S` is the sum of the magnitudes of every value the written form
//! rounds on the way to the element (a sum counted by its terms'
//! magnitudes: `Σ |a·b|` for a sum of an outer product, `Σ |a·b·x|` for a
//! Kronecker product applied to a matrix; shifts, exponentials, the row
//! sum, `p` and `log p` for `log(softmax)`), `n` the number of roundings
//! along the longest path of either form (an elementary function counting
//! two), and `ε` the unit roundoff of the element type. ("Finite" for a sum
//! means its terms' magnitudes sum to a finite value, so every partial sum
//! is finite in any order.)
//!
//! The rewrites that reassociate — `sum_outer` (both forms) and
//! `kron_matmul` — are tested on inputs spanning extreme magnitudes, the
//! others (`log_exp`, `log_sigmoid`, `log_softmax` fused and with shared
//! statistics, `log_sum_exp`) on inputs reaching beyond the exponential's
//! range, in f64 and f32, with the premise checked case by case. Where the
//! premise fails, nothing is promised: the handed cases below are finite as
//! written and overflow optimized, and `log(softmax([0, −740]))` goes
//! through a subnormal as written (the optimized value is the right one).

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use proptest::prelude::*;
use support::harness::both;

mod support;

both!(kron64(a: &SMatrix<f64, 2, 2>, b: &SMatrix<f64, 2, 3>, x: &SMatrix<f64, 6, 2>) -> SMatrix<f64, 4, 2> {
    matmul(kron(a, b), x)
});
both!(kron32(a: &SMatrix<f32, 2, 2>, b: &SMatrix<f32, 2, 3>, x: &SMatrix<f32, 6, 2>) -> SMatrix<f32, 4, 2> {
    matmul(kron(a, b), x)
});
both!(same64(a: &SMatrix<f64, 2, 4>, b: &SMatrix<f64, 2, 3>) -> SVector<f64, 2> {
    reduce_sum(outer_product(a, b, axis = 1), axis = 1)
});
both!(same32(a: &SMatrix<f32, 2, 4>, b: &SMatrix<f32, 2, 3>) -> SVector<f32, 2> {
    reduce_sum(outer_product(a, b, axis = 1), axis = 1)
});
both!(other64(a: &SMatrix<f64, 3, 4>, b: &SMatrix<f64, 2, 4>) -> SVector<f64, 6> {
    reduce_sum(outer_product(a, b, axis = 0), axis = 1)
});
both!(other32(a: &SMatrix<f32, 3, 4>, b: &SMatrix<f32, 2, 4>) -> SVector<f32, 6> {
    reduce_sum(outer_product(a, b, axis = 0), axis = 1)
});

param_graph! {
    fn kron_opt(a: &SMatrix<f64, 1, 1>, b: &SMatrix<f64, 1, 1>, x: &SMatrix<f64, 1, 1>) -> SMatrix<f64, 1, 1> {
        matmul(kron(a, b), x)
    }
    #[param_graph(optimize = false)]
    fn kron_plain(a: &SMatrix<f64, 1, 1>, b: &SMatrix<f64, 1, 1>, x: &SMatrix<f64, 1, 1>) -> SMatrix<f64, 1, 1> {
        matmul(kron(a, b), x)
    }
}

/// The handed inputs: finite as written, `inf` optimized — outside the
/// premise (an intermediate of the optimized form, `b·x = 1e400` and
/// `Σ a = 2e308`, overflows), so the optimizer promises nothing there.
#[test]
fn reassociation_can_overflow_where_the_written_graph_is_finite() {
    let one = |v: f64| SMatrix::<f64, 1, 1>::new(v);
    let (a, b, x) = (one(1e-200), one(1e200), one(1e200));
    assert_eq!(kron_plain(&a, &b, &x)[0], 1e200);
    assert_eq!(kron_opt(&a, &b, &x)[0], f64::INFINITY);
    let a = SMatrix::<f64, 1, 3>::new(1e308, 1e308, -1e308);
    assert!((same_plain_1x3(&a, 0.1) / 1e307 - 1.0).abs() < 4.0 * f64::EPSILON);
    assert_eq!(same_opt_1x3(&a, 0.1), f64::INFINITY);
}

both!(same1x3(a: &SMatrix<f64, 1, 3>, b: &SMatrix<f64, 1, 1>) -> SVector<f64, 1> {
    reduce_sum(outer_product(a, b, axis = 1), axis = 1)
});

fn same_plain_1x3(a: &SMatrix<f64, 1, 3>, b: f64) -> f64 {
    same1x3::plain::f(a, &SMatrix::<f64, 1, 1>::new(b))[0]
}

fn same_opt_1x3(a: &SMatrix<f64, 1, 3>, b: f64) -> f64 {
    same1x3::opt::f(a, &SMatrix::<f64, 1, 1>::new(b))[0]
}

/// The limits of one element type, in f64.
#[derive(Clone, Copy, Debug)]
struct Ty {
    eps: f64,
    max: f64,
    min_normal: f64,
}

const F64: Ty = Ty {
    eps: f64::EPSILON / 2.0,
    max: f64::MAX,
    min_normal: f64::MIN_POSITIVE,
};
const F32: Ty = Ty {
    eps: f32::EPSILON as f64 / 2.0,
    max: f32::MAX as f64,
    min_normal: f32::MIN_POSITIVE as f64,
};

/// Tracks the premise over the intermediates of both forms.
struct Premise {
    ty: Ty,
    ok: bool,
}

impl Premise {
    fn new(ty: Ty) -> Self {
        Premise { ty, ok: true }
    }
    /// A product of two stored values: finite and, if its exact value is
    /// nonzero, not below the smallest normal number (computed in f64, so
    /// exact to f64 rounding for f32 operands).
    fn product(&mut self, a: f64, b: f64) -> f64 {
        let p = a * b;
        // (NaN and overflow fail the first test.)
        let finite = p.abs() <= self.ty.max;
        if !finite || (a != 0.0 && b != 0.0 && p.abs() < self.ty.min_normal) {
            self.ok = false;
        }
        p
    }
    /// A sum of terms: the sum of their magnitudes is finite (with room for
    /// rounding). Returns the sum.
    fn sum(&mut self, terms: &[f64]) -> f64 {
        let abs: f64 = terms.iter().map(|t| t.abs()).sum();
        let finite = abs * (1.0 + 64.0 * self.ty.eps) <= self.ty.max;
        if !finite {
            self.ok = false;
        }
        terms.iter().sum()
    }
}

/// `γₙ = n·ε / (1 − n·ε)`.
fn gamma(n: usize, ty: Ty) -> f64 {
    let ne = n as f64 * ty.eps;
    ne / (1.0 - ne)
}

#[track_caller]
fn agree(opt: f64, plain: f64, s: f64, n: usize, ty: Ty, what: &str) -> Result<(), TestCaseError> {
    let bound = 2.0 * gamma(n, ty) * s;
    prop_assert!(
        opt == plain || (opt - plain).abs() <= bound,
        "{what}: optimized {opt:e}, as written {plain:e}, bound {bound:e} (S = {s:e})"
    );
    Ok(())
}

/// Values of every magnitude of the type: `±m·10^e` with `e` uniform in
/// `[-e_max, e_max]`, sometimes 0, sometimes moderate. The ranges below
/// make products leave the type's range in about a fifth to a third of the
/// cases (where nothing is checked) and stay inside it in the rest.
fn value(e_max: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-e_max..e_max, 1.0..10.0f64, any::<bool>()).prop_map(|(e, m, neg)| {
            let v = m * 10f64.powf(e);
            if neg { -v } else { v }
        }),
        2 => -8.0..8.0f64,
        1 => Just(0.0),
    ]
}

fn values(n: usize, e_max: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(value(e_max), n)
}

/// `matmul(kron(a, b), x)` (P, Q) = (2, 2), (R, S) = (2, 3), N = 2, with
/// both forms' intermediates: as written `K = a_ij·b_kl`, `K·x`, sums of
/// Q·S terms; optimized `t = Σ_l b_kl·x`, `a_ij·t`, sums of Q terms.
fn check_kron(
    a: &[f64],
    b: &[f64],
    x: &[f64],
    got: (&[f64], &[f64]),
    ty: Ty,
) -> Result<bool, TestCaseError> {
    let (p, q, r, s, n) = (2, 2, 2, 3, 2);
    // Row-major readers.
    let a_ = |i: usize, j: usize| a[i * q + j];
    let b_ = |k: usize, l: usize| b[k * s + l];
    let x_ = |row: usize, c: usize| x[row * n + c];
    let mut pre = Premise::new(ty);
    for i in 0..p {
        for k in 0..r {
            for c in 0..n {
                // As written.
                let mut terms = Vec::new();
                for j in 0..q {
                    for l in 0..s {
                        let kv = pre.product(a_(i, j), b_(k, l));
                        terms.push(pre.product(kv, x_(j * s + l, c)));
                    }
                }
                pre.sum(&terms);
                // Optimized.
                let mut outer = Vec::new();
                for j in 0..q {
                    let inner: Vec<f64> = (0..s)
                        .map(|l| pre.product(b_(k, l), x_(j * s + l, c)))
                        .collect();
                    let t = pre.sum(&inner);
                    outer.push(pre.product(a_(i, j), t));
                }
                pre.sum(&outer);
            }
        }
    }
    if !pre.ok {
        return Ok(false);
    }
    for i in 0..p {
        for k in 0..r {
            for c in 0..n {
                let s_abs: f64 = (0..q)
                    .flat_map(|j| (0..s).map(move |l| (j, l)))
                    .map(|(j, l)| (a_(i, j) * b_(k, l) * x_(j * s + l, c)).abs())
                    .sum();
                let at = (i * r + k) * n + c;
                agree(got.0[at], got.1[at], s_abs, q * s + 3, ty, "kron_matmul")?;
            }
        }
    }
    Ok(true)
}

/// `reduce_sum(outer_product(a, b, axis = 1), axis = 1)` for (2, D1), (2, D2):
/// as written the products `a_i·b_j` summed; optimized `(Σa)(Σb)`.
fn check_same(
    a: &[f64],
    b: &[f64],
    (d1, d2): (usize, usize),
    got: (&[f64], &[f64]),
    ty: Ty,
) -> Result<bool, TestCaseError> {
    let mut pre = Premise::new(ty);
    for row in 0..2 {
        let (ra, rb) = (&a[row * d1..(row + 1) * d1], &b[row * d2..(row + 1) * d2]);
        let terms: Vec<f64> = ra
            .iter()
            .flat_map(|x| rb.iter().map(move |y| (*x, *y)))
            .map(|(x, y)| pre.product(x, y))
            .collect();
        pre.sum(&terms);
        let (sa, sb) = (pre.sum(ra), pre.sum(rb));
        pre.product(sa, sb);
    }
    if !pre.ok {
        return Ok(false);
    }
    for row in 0..2 {
        let sa: f64 = a[row * d1..(row + 1) * d1].iter().map(|v| v.abs()).sum();
        let sb: f64 = b[row * d2..(row + 1) * d2].iter().map(|v| v.abs()).sum();
        agree(
            got.0[row],
            got.1[row],
            sa * sb,
            d1 * d2 + 2,
            ty,
            "sum_outer, same axis",
        )?;
    }
    Ok(true)
}

/// `reduce_sum(outer_product(a, b, axis = 0), axis = 1)` for (3, K), (2, K):
/// both forms sum the same products `a_ik·b_jk`, in different orders.
fn check_other(
    a: &[f64],
    b: &[f64],
    k: usize,
    got: (&[f64], &[f64]),
    ty: Ty,
) -> Result<bool, TestCaseError> {
    let mut pre = Premise::new(ty);
    let mut sums = Vec::new();
    for i in 0..3 {
        for j in 0..2 {
            let terms: Vec<f64> = (0..k)
                .map(|t| pre.product(a[i * k + t], b[j * k + t]))
                .collect();
            pre.sum(&terms);
            sums.push(terms.iter().map(|t| t.abs()).sum::<f64>());
        }
    }
    if !pre.ok {
        return Ok(false);
    }
    for (at, s) in sums.iter().enumerate() {
        agree(got.0[at], got.1[at], *s, k + 1, ty, "sum_outer, other axis")?;
    }
    Ok(true)
}

fn row_major<const R: usize, const C: usize>(v: &[f64]) -> SMatrix<f64, R, C> {
    SMatrix::from_row_slice(v)
}

fn row_major32<const R: usize, const C: usize>(v: &[f64]) -> SMatrix<f32, R, C> {
    SMatrix::from_fn(|i, j| v[i * C + j] as f32)
}

/// Row-major f64 data of a matrix.
fn data<T: Copy + Into<f64>, const R: usize, const C: usize>(m: &SMatrix<T, R, C>) -> Vec<f64> {
    (0..R)
        .flat_map(|i| (0..C).map(move |j| m[(i, j)].into()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn f64_reassociating_rules_agree_where_both_forms_are_finite(
        a in values(4, 140.0), b in values(6, 140.0), x in values(12, 140.0),
        c in values(8, 200.0), d in values(6, 200.0),
        e in values(12, 200.0), f in values(8, 200.0),
    ) {
        let (am, bm, xm) = (row_major::<2, 2>(&a), row_major::<2, 3>(&b), row_major::<6, 2>(&x));
        let (o, p) = (kron64::opt::f(&am, &bm, &xm), kron64::plain::f(&am, &bm, &xm));
        check_kron(&a, &b, &x, (&data(&o), &data(&p)), F64)?;
        let (cm, dm) = (row_major::<2, 4>(&c), row_major::<2, 3>(&d));
        let (o, p) = (same64::opt::f(&cm, &dm), same64::plain::f(&cm, &dm));
        check_same(&c, &d, (4, 3), (o.as_slice(), p.as_slice()), F64)?;
        let (em, fm) = (row_major::<3, 4>(&e), row_major::<2, 4>(&f));
        let (o, p) = (other64::opt::f(&em, &fm), other64::plain::f(&em, &fm));
        check_other(&e, &f, 4, (o.as_slice(), p.as_slice()), F64)?;
    }

    #[test]
    fn f32_reassociating_rules_agree_where_both_forms_are_finite(
        a in values(4, 16.0), b in values(6, 16.0), x in values(12, 16.0),
        c in values(8, 24.0), d in values(6, 24.0),
        e in values(12, 24.0), f in values(8, 24.0),
    ) {
        // The reference reads the stored (rounded) f32 values.
        let (am, bm, xm) = (row_major32::<2, 2>(&a), row_major32::<2, 3>(&b), row_major32::<6, 2>(&x));
        let (o, p) = (kron32::opt::f(&am, &bm, &xm), kron32::plain::f(&am, &bm, &xm));
        check_kron(&data(&am), &data(&bm), &data(&xm), (&data(&o), &data(&p)), F32)?;
        let (cm, dm) = (row_major32::<2, 4>(&c), row_major32::<2, 3>(&d));
        let (o, p) = (same32::opt::f(&cm, &dm), same32::plain::f(&cm, &dm));
        let (o, p): (Vec<f64>, Vec<f64>) = (o.iter().map(|v| f64::from(*v)).collect(), p.iter().map(|v| f64::from(*v)).collect());
        check_same(&data(&cm), &data(&dm), (4, 3), (&o, &p), F32)?;
        let (em, fm) = (row_major32::<3, 4>(&e), row_major32::<2, 4>(&f));
        let (o, p) = (other32::opt::f(&em, &fm), other32::plain::f(&em, &fm));
        let (o, p): (Vec<f64>, Vec<f64>) = (o.iter().map(|v| f64::from(*v)).collect(), p.iter().map(|v| f64::from(*v)).collect());
        check_other(&data(&em), &data(&fm), 4, (&o, &p), F32)?;
    }
}

// ------------------------------------------------- the non-reassociating rules
//
// `log_exp`, `log_sigmoid`, `log_softmax` (fused and shared statistics) and
// `log_sum_exp` replace a written form by one with fewer or smaller
// roundings. The same statement holds for them, with `S` the sum of the
// magnitudes of every value the written form rounds on the way to the
// element (a sum counted by its terms' magnitudes) and an elementary
// function counted as two roundings (the runtime's are within 1 ulp); the
// premise additionally excludes a written intermediate that is subnormal or
// underflows to 0 (such a value has lost its relative accuracy, and the
// optimized form is then the accurate one).

both!(lexp64(x: &SMatrix<f64, 1, 4>) -> SMatrix<f64, 1, 4> { log(exp(x)) });
both!(lexp32(x: &SMatrix<f32, 1, 4>) -> SMatrix<f32, 1, 4> { log(exp(x)) });
both!(lsig64(x: &SMatrix<f64, 1, 4>) -> SMatrix<f64, 1, 4> { log(sigmoid(x)) });
both!(lsig32(x: &SMatrix<f32, 1, 4>) -> SMatrix<f32, 1, 4> { log(sigmoid(x)) });
both!(lsm64(x: &SMatrix<f64, 2, 4>) -> SMatrix<f64, 2, 4> { log(softmax(x, axis = 1)) });
both!(lsm32(x: &SMatrix<f32, 2, 4>) -> SMatrix<f32, 2, 4> { log(softmax(x, axis = 1)) });
both!(shared64(x: &SMatrix<f64, 2, 4>) -> (SMatrix<f64, 2, 4>, SMatrix<f64, 2, 4>) {
    let p = softmax(x, axis = 1);
    (p, log(p))
});
both!(shared32(x: &SMatrix<f32, 2, 4>) -> (SMatrix<f32, 2, 4>, SMatrix<f32, 2, 4>) {
    let p = softmax(x, axis = 1);
    (p, log(p))
});
both!(lse64(x: &SMatrix<f64, 2, 4>) -> SVector<f64, 2> { log(reduce_sum(exp(x), axis = 1)) });
both!(lse32(x: &SMatrix<f32, 2, 4>) -> SVector<f32, 2> { log(reduce_sum(exp(x), axis = 1)) });
both!(pair64(x: &SMatrix<f64, 1, 2>) -> SMatrix<f64, 1, 2> { log(softmax(x, axis = 1)) });

impl Premise {
    /// A value the written form rounds: finite, and normal unless it is
    /// exactly 0 (computed in f64 from the stored inputs, so for f32 within
    /// f64 rounding of the f32 operation's exact value). Returns `|v|`.
    fn value(&mut self, v: f64) -> f64 {
        if v.is_nan() || v.abs() > self.ty.max || (v != 0.0 && v.abs() < self.ty.min_normal) {
            self.ok = false;
        }
        v.abs()
    }
}

/// `S` of `log(exp(x))` and whether the premise holds.
fn s_log_exp(x: f64, ty: Ty) -> (f64, bool) {
    let mut pre = Premise::new(ty);
    let e = x.exp();
    let s = pre.value(e) + pre.value(e.ln());
    (s, pre.ok)
}

/// `S` of `log(sigmoid(x))` in the runtime's two-branch form.
fn s_log_sigmoid(x: f64, ty: Ty) -> (f64, bool) {
    let mut pre = Premise::new(ty);
    let e = (-x.abs()).exp();
    let p = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    let s = pre.value(e) + pre.value(1.0 + e) + pre.value(p) + pre.value(p.ln());
    (s, pre.ok)
}

/// `S` of element `i` of `log(softmax(row))` (and of `softmax(row)` when
/// `log` is false): the shifts, the exponentials, the sum, `p_i`, `log p_i`.
fn s_log_softmax(row: &[f64], i: usize, log: bool, ty: Ty) -> (f64, bool) {
    let mut pre = Premise::new(ty);
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    let mut sum = 0.0;
    for v in row {
        s += pre.value(v - m);
        let e = (v - m).exp();
        s += pre.value(e);
        sum += e;
    }
    s += pre.value(sum);
    let p = (row[i] - m).exp() / sum;
    s += pre.value(p);
    if log {
        s += pre.value(p.ln());
    }
    (s, pre.ok)
}

/// `S` of `log(Σ exp(row))`.
fn s_log_sum_exp(row: &[f64], ty: Ty) -> (f64, bool) {
    let mut pre = Premise::new(ty);
    let (mut s, mut sum) = (0.0, 0.0);
    for v in row {
        let e = v.exp();
        s += pre.value(e);
        sum += e;
    }
    s += pre.value(sum) + pre.value(sum.ln());
    (s, pre.ok)
}

/// Roundings along the longest path: the functions count two each.
const N_LOG_EXP: usize = 4;
const N_LOG_SIGMOID: usize = 6;
/// Rows of 4: shift, exp, 3 additions, division, log, and the optimized
/// form's subtraction, with room.
const N_ROW: usize = 4 + 8;

/// Checks `opt` against `plain` elementwise where the premise holds;
/// returns how many elements it checked.
fn agree_all(
    opt: &[f64],
    plain: &[f64],
    s_ok: impl Fn(usize) -> (f64, bool),
    n: usize,
    ty: Ty,
    what: &str,
) -> Result<usize, TestCaseError> {
    let mut checked = 0;
    for (k, (o, p)) in opt.iter().zip(plain).enumerate() {
        let (s, ok) = s_ok(k);
        if ok {
            agree(*o, *p, s, n, ty, what)?;
            checked += 1;
        }
    }
    Ok(checked)
}

fn f64s<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| (*x).into()).collect()
}

/// Runs every non-reassociating rule on `x` (row-major 2×4; the 1×4 ops
/// take its first row) in the type of `ty`.
fn check_exact_rules(x: &[f64], ty: Ty) -> Result<usize, TestCaseError> {
    let single = ty.eps > F64.eps;
    // The stored inputs, in f64.
    let x: Vec<f64> = if single {
        x.iter().map(|v| f64::from(*v as f32)).collect()
    } else {
        x.to_vec()
    };
    let rows = [&x[..4], &x[4..]];
    let mut checked = 0;
    let (lexp, lsig, lsm, shp, shl, lse);
    if single {
        let r1 = row_major32::<1, 4>(&x[..4]);
        let r2 = row_major32::<2, 4>(&x);
        let (so, sp) = (shared32::opt::f(&r2), shared32::plain::f(&r2));
        lexp = (
            f64s(lexp32::opt::f(&r1).as_slice()),
            f64s(lexp32::plain::f(&r1).as_slice()),
        );
        lsig = (
            f64s(lsig32::opt::f(&r1).as_slice()),
            f64s(lsig32::plain::f(&r1).as_slice()),
        );
        lsm = (data(&lsm32::opt::f(&r2)), data(&lsm32::plain::f(&r2)));
        shp = (data(&so.0), data(&sp.0));
        shl = (data(&so.1), data(&sp.1));
        lse = (
            f64s(lse32::opt::f(&r2).as_slice()),
            f64s(lse32::plain::f(&r2).as_slice()),
        );
    } else {
        let r1 = row_major::<1, 4>(&x[..4]);
        let r2 = row_major::<2, 4>(&x);
        let (so, sp) = (shared64::opt::f(&r2), shared64::plain::f(&r2));
        lexp = (
            lexp64::opt::f(&r1).as_slice().to_vec(),
            lexp64::plain::f(&r1).as_slice().to_vec(),
        );
        lsig = (
            lsig64::opt::f(&r1).as_slice().to_vec(),
            lsig64::plain::f(&r1).as_slice().to_vec(),
        );
        lsm = (data(&lsm64::opt::f(&r2)), data(&lsm64::plain::f(&r2)));
        shp = (data(&so.0), data(&sp.0));
        shl = (data(&so.1), data(&sp.1));
        lse = (
            lse64::opt::f(&r2).as_slice().to_vec(),
            lse64::plain::f(&r2).as_slice().to_vec(),
        );
    }
    checked += agree_all(
        &lexp.0,
        &lexp.1,
        |k| s_log_exp(x[k], ty),
        N_LOG_EXP,
        ty,
        "log_exp",
    )?;
    checked += agree_all(
        &lsig.0,
        &lsig.1,
        |k| s_log_sigmoid(x[k], ty),
        N_LOG_SIGMOID,
        ty,
        "log_sigmoid",
    )?;
    let row_s = |log: bool| move |k: usize| s_log_softmax(rows[k / 4], k % 4, log, ty);
    checked += agree_all(&lsm.0, &lsm.1, row_s(true), N_ROW, ty, "log_softmax")?;
    checked += agree_all(&shp.0, &shp.1, row_s(false), N_ROW, ty, "shared softmax")?;
    checked += agree_all(&shl.0, &shl.1, row_s(true), N_ROW, ty, "shared log_softmax")?;
    checked += agree_all(
        &lse.0,
        &lse.1,
        |k| s_log_sum_exp(rows[k], ty),
        N_ROW,
        ty,
        "log_sum_exp",
    )?;
    Ok(checked)
}

/// The reviewer's inputs. The first, third and fourth meet the premise and
/// the bound (`S ≈ 1`, `2`, `2`); the second's written form goes through
/// the subnormal `exp(−740)` and is outside it. The optimized values are
/// the accurate ones.
#[test]
fn exact_rules_on_the_handed_inputs() {
    let x = SMatrix::<f64, 1, 4>::new(1e-20, 30.0, 40.0, -1.0);
    // log(exp(1e-20)): exp rounds to 1, so the written form gives 0.
    let (o, p) = (lexp64::opt::f(&x), lexp64::plain::f(&x));
    assert_eq!((o[0], p[0]), (1e-20, 0.0));
    let (s, ok) = s_log_exp(1e-20, F64);
    assert!(ok && agree(o[0], p[0], s, N_LOG_EXP, F64, "log_exp").is_ok());
    // log(sigmoid(x)) = −log1p(exp(−x)): 30 → −9.357622968839299e-14 (the
    // written log(1 − 9.36e-14) gives −9.3480779e-14); 40 → −4.248e-18 (the
    // written sigmoid rounds to 1 and its log to 0).
    let (o, p) = (lsig64::opt::f(&x), lsig64::plain::f(&x));
    let want30 = -(-30f64).exp().ln_1p();
    let want40 = -(-40f64).exp().ln_1p();
    assert!((o[1] / want30 - 1.0).abs() < 4.0 * f64::EPSILON, "{}", o[1]);
    assert!((p[1] / -9.348_077_9e-14 - 1.0).abs() < 1e-7, "{}", p[1]);
    assert!((o[2] / want40 - 1.0).abs() < 4.0 * f64::EPSILON, "{}", o[2]);
    assert_eq!(p[2], 0.0);
    for k in [1, 2] {
        let (s, ok) = s_log_sigmoid(x[k], F64);
        assert!(ok && agree(o[k], p[k], s, N_LOG_SIGMOID, F64, "log_sigmoid").is_ok());
    }
    // log(softmax([0, −740])): the written p₁ = exp(−740) is subnormal
    // (4.2e-322, 3 significant bits): −739.99742 where the value is −740.
    let x = SMatrix::<f64, 1, 2>::new(0.0, -740.0);
    let (o, p) = (pair64::opt::f(&x), pair64::plain::f(&x));
    assert_eq!(o[1], -740.0);
    assert!((p[1] - -739.997_42).abs() < 1e-5, "{}", p[1]);
    assert!(!s_log_softmax(&[0.0, -740.0], 1, true, F64).1);
}

/// Inputs of every sign, moderate to beyond the exponential's range, so
/// that some cases leave the premise (a written intermediate overflows or
/// turns subnormal) and most do not.
fn exponents(scale: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            3 => -scale..scale,
            2 => -8.0..8.0f64,
            1 => (-40.0..40.0f64).prop_map(|e| 10f64.powf(e / 2.0)),
            1 => Just(0.0),
        ],
        8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn f64_exact_rules_agree_where_the_premise_holds(x in exponents(800.0)) {
        check_exact_rules(&x, F64)?;
    }

    #[test]
    fn f32_exact_rules_agree_where_the_premise_holds(x in exponents(110.0)) {
        check_exact_rules(&x, F32)?;
    }
}

/// The premise is met in most cases: the property tests above check
/// something.
#[test]
fn exact_rule_premise_usually_holds() {
    let x = [0.5, -3.0, 2.0, 7.5, -1.0, 1e-10, 4.0, 0.0];
    assert_eq!(check_exact_rules(&x, F64).unwrap(), 4 + 4 + 8 + 8 + 8 + 2);
    assert_eq!(check_exact_rules(&x, F32).unwrap(), 4 + 4 + 8 + 8 + 8 + 2);
}
