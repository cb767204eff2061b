//! What the optimizer guarantees, tested as stated in the README ("What the
//! optimizer guarantees"): wherever **every intermediate of both forms** —
//! the graph as written and the optimized graph — is finite and no product
//! underflows, the two agree to within rounding,
//!
//! ```text
//! |optimized − as written| ≤ 2·γₙ·S,   γₙ = n·ε / (1 − n·ε),
//! ```
//!
//! per output element, where `S` is the sum of the magnitudes of the
//! elementary products that make up the element (`Σ |a·b|` for a sum of an
//! outer product, `Σ |a·b·x|` for a Kronecker product applied to a matrix),
//! `n` the number of roundings along the longest path of either form, and
//! `ε` the unit roundoff of the element type. ("Finite" for a sum means its
//! terms' magnitudes sum to a finite value, so every partial sum is finite
//! in any order.)
//!
//! The rewrites that reassociate — `sum_outer` (both forms) and
//! `kron_matmul` — are tested here on inputs spanning extreme magnitudes,
//! in f64 and f32. Where the premise fails, nothing is promised: the handed
//! cases below are finite as written and overflow optimized.

use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;
use proptest::prelude::*;

/// `$name::opt::f` (optimized) and `$name::plain::f` (as written).
macro_rules! both {
    ($name:ident ($($p:ident : $t:ty),*) -> $r:ty { $($body:tt)* }) => {
        mod $name {
            #![allow(unused_imports)]
            use param_graph::nalgebra::{SMatrix, SVector};
            use param_graph::param_graph;
            pub mod opt {
                use super::*;
                param_graph! { pub fn f($($p: $t),*) -> $r { $($body)* } }
            }
            pub mod plain {
                use super::*;
                param_graph! {
                    #[param_graph(optimize = false)]
                    pub fn f($($p: $t),*) -> $r { $($body)* }
                }
            }
        }
    };
}

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
