//! Property tests of the index algebra: `param_graph!` functions of fixed
//! shapes, fed random finite inputs, compared with the reference evaluator
//! (`support::reference`, itself checked against cirkit in
//! `reference_vs_cirkit.rs`).
//!
//! Covered: kron, outer_product, outer_sum, flatten, index, reduce_sum,
//! reduce_prod, reduce_lse, softmax and log_softmax, on ranks 2 to 4, with
//! negative axes, and with several type forms of one shape: (3, 4) as
//! `SMatrix<f64, 3, 4>`, `[SVector<f64, 4>; 3]` and `[[f64; 4]; 3]`; (2, 3, 4)
//! as `[SMatrix<f64, 3, 4>; 2]` and `[[SVector<f64, 4>; 3]; 2]`.
//!
//! Tolerance: relative 1e-12. Results that are sums of terms of both signs
//! (reduce_sum, reduce_lse, log_softmax) may cancel, and their summation order
//! is the macro's choice, so those also pass within an absolute 1e-12 times
//! the inputs' total magnitude; a wrong index is off by far more than that.

mod support;

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use proptest::prelude::*;
use support::reference::{self as r, numel, T};
use support::{assert_close_abs, RowMajor};

// ----------------------------------------------------------------- kron

param_graph! {
    fn kron_matrices(a: &SMatrix<f64, 2, 3>, b: &SMatrix<f64, 3, 2>) -> SMatrix<f64, 6, 6> {
        kron(a, b)
    }
}

param_graph! {
    // The shapes of `kron_matrices`, other type forms.
    fn kron_arrays(a: &[SVector<f64, 3>; 2], b: &[[f64; 2]; 3]) -> [[f64; 6]; 6] {
        kron(a, b)
    }
}

param_graph! {
    fn kron_rank3(
        a: &[SMatrix<f64, 1, 2>; 2],
        b: &[[SVector<f64, 2>; 3]; 2],
    ) -> [SMatrix<f64, 3, 4>; 4] {
        kron(a, b)
    }
}

param_graph! {
    fn kron_rank4(
        a: &[[SMatrix<f64, 2, 1>; 2]; 1],
        b: &[[SMatrix<f64, 1, 3>; 1]; 2],
    ) -> [[SMatrix<f64, 2, 3>; 2]; 2] {
        kron(a, b)
    }
}

// -------------------------------------------------------- outer product / sum

param_graph! {
    fn outer_product_rows(a: &SMatrix<f64, 2, 3>, b: &[[f64; 3]; 4]) -> SMatrix<f64, 8, 3> {
        outer_product(a, b, axis = 0)
    }
}

param_graph! {
    fn outer_product_last(
        a: &[SMatrix<f64, 3, 4>; 2],
        b: &[[SVector<f64, 2>; 3]; 2],
    ) -> [SMatrix<f64, 3, 8>; 2] {
        outer_product(a, b, axis = -1)
    }
}

param_graph! {
    fn outer_product_rank4(
        a: &[[SMatrix<f64, 2, 2>; 3]; 2],
        b: &[[SMatrix<f64, 2, 2>; 2]; 2],
    ) -> [[SMatrix<f64, 2, 2>; 6]; 2] {
        outer_product(a, b, axis = -3)
    }
}

param_graph! {
    fn outer_sum_cols(a: &[SVector<f64, 4>; 3], b: &[[f64; 2]; 3]) -> SMatrix<f64, 3, 8> {
        outer_sum(a, b, axis = -1)
    }
}

param_graph! {
    fn outer_sum_rank3(
        a: &[SMatrix<f64, 3, 4>; 2],
        b: &[SMatrix<f64, 3, 4>; 3],
    ) -> [SMatrix<f64, 3, 4>; 6] {
        outer_sum(a, b, axis = 0)
    }
}

param_graph! {
    fn outer_sum_rank4(
        a: &[[SMatrix<f64, 2, 2>; 3]; 2],
        b: &[[SMatrix<f64, 3, 2>; 3]; 2],
    ) -> [[SMatrix<f64, 6, 2>; 3]; 2] {
        outer_sum(a, b, axis = 2)
    }
}

// ---------------------------------------------------------------- flatten

param_graph! {
    fn flatten_inner(x: &[SMatrix<f64, 3, 4>; 2]) -> SMatrix<f64, 2, 12> {
        flatten(x, start = 1, end = 2)
    }
}

param_graph! {
    fn flatten_outer(x: &[[SVector<f64, 4>; 3]; 2]) -> SMatrix<f64, 6, 4> {
        flatten(x, start = 0, end = -2)
    }
}

param_graph! {
    fn flatten_all(x: &[[SMatrix<f64, 2, 2>; 3]; 2]) -> SVector<f64, 24> {
        flatten(x)
    }
}

param_graph! {
    fn flatten_middle(x: &[[SMatrix<f64, 4, 2>; 3]; 2]) -> [SMatrix<f64, 12, 2>; 2] {
        flatten(x, start = -3, end = 2)
    }
}

// ------------------------------------------------------------------ index

param_graph! {
    fn index_rows(x: &SMatrix<f64, 3, 4>) -> SMatrix<f64, 3, 4> {
        index(x, [2, 0, 2], axis = 0)
    }
}

param_graph! {
    fn index_cols(x: &[[f64; 4]; 3]) -> SMatrix<f64, 3, 5> {
        index(x, [3, 0, 0, 2, 1], axis = 1)
    }
}

param_graph! {
    fn index_last(x: &[[SVector<f64, 4>; 3]; 2]) -> [SMatrix<f64, 3, 2>; 2] {
        index(x, [1, 1], axis = -1)
    }
}

param_graph! {
    fn index_rank4(x: &[[SMatrix<f64, 2, 2>; 3]; 2]) -> [[SMatrix<f64, 2, 2>; 4]; 2] {
        index(x, [2, 0, 1, 2], axis = 1)
    }
}

// ------------------------------------------------------------- reductions

param_graph! {
    fn sum_rows(x: &[SVector<f64, 4>; 3]) -> SVector<f64, 4> {
        reduce_sum(x, axis = 0)
    }
}

param_graph! {
    fn sum_axis0(x: &[SMatrix<f64, 3, 4>; 2]) -> SMatrix<f64, 3, 4> {
        reduce_sum(x, axis = 0)
    }
}

param_graph! {
    fn sum_rank4_last(x: &[[SMatrix<f64, 2, 3>; 3]; 2]) -> [SMatrix<f64, 3, 2>; 2] {
        reduce_sum(x, axis = -1)
    }
}

param_graph! {
    fn prod_middle(x: &[[SVector<f64, 4>; 3]; 2]) -> SMatrix<f64, 2, 4> {
        reduce_prod(x, axis = -2)
    }
}

param_graph! {
    fn prod_cols(x: &[[f64; 4]; 3]) -> SVector<f64, 3> {
        reduce_prod(x, axis = 1)
    }
}

param_graph! {
    fn lse_last(x: &[SMatrix<f64, 3, 4>; 2]) -> SMatrix<f64, 2, 3> {
        reduce_lse(x, axis = 2)
    }
}

param_graph! {
    fn lse_rank4(x: &[[SMatrix<f64, 2, 3>; 3]; 2]) -> [SMatrix<f64, 2, 3>; 2] {
        reduce_lse(x, axis = 1)
    }
}

// --------------------------------------------------- softmax, log_softmax

param_graph! {
    fn softmax_axis0(x: &[SMatrix<f64, 3, 4>; 2]) -> [SMatrix<f64, 3, 4>; 2] {
        softmax(x, axis = 0)
    }
}

param_graph! {
    fn softmax_axis1(x: &[[SVector<f64, 4>; 3]; 2]) -> [SMatrix<f64, 3, 4>; 2] {
        softmax(x, axis = 1)
    }
}

param_graph! {
    fn softmax_axis2(x: &[SMatrix<f64, 3, 4>; 2]) -> [[SVector<f64, 4>; 3]; 2] {
        softmax(x, axis = 2)
    }
}

param_graph! {
    fn softmax_rank4(x: &[[SMatrix<f64, 2, 3>; 3]; 2]) -> [[SMatrix<f64, 2, 3>; 3]; 2] {
        softmax(x, axis = -2)
    }
}

param_graph! {
    fn log_softmax_rows(x: &[[f64; 4]; 3]) -> SMatrix<f64, 3, 4> {
        log_softmax(x, axis = 0)
    }
}

param_graph! {
    fn log_softmax_cols(x: &SMatrix<f64, 3, 4>) -> [SVector<f64, 4>; 3] {
        log_softmax(x, axis = -1)
    }
}

// ---------------------------------------------------------- compositions

param_graph! {
    fn composite(a: &SMatrix<f64, 2, 3>, b: &[SVector<f64, 3>; 2]) -> SVector<f64, 9> {
        let o = outer_product(a, b, axis = 1);
        let i = index(o, [8, 0, 4], axis = -1);
        let k = kron(i, a);
        reduce_sum(k, axis = 0)
    }
}

param_graph! {
    fn composite_rank3(x: &[SMatrix<f64, 3, 4>; 2], y: &[[f64; 2]; 3]) -> SMatrix<f64, 3, 8> {
        let s = softmax(x, axis = 0);
        let f = flatten(s, start = 0, end = 1);
        let p = index(f, [5, 0, 3], axis = 0);
        outer_sum(p, y, axis = 1)
    }
}

// ---------------------------------------------------------------- harness

const REL: f64 = 1e-12;

/// The absolute tolerance of results that may cancel: 1e-12 times the
/// inputs' total magnitude.
fn cancelling(inputs: &[&[f64]]) -> f64 {
    let total: f64 = inputs.iter().flat_map(|x| x.iter()).map(|v| v.abs()).sum();
    REL * total.max(1.0)
}

/// The absolute tolerance of results computed without cancellation.
const EXACT: f64 = support::close::ABS_FLOOR;

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-5.0f64..5.0, n)
}

/// Checks a unary graph against the reference: `x` has shape `x_shape`, the
/// result shape `out_shape` (which must be what the reference computes and
/// must match the graph's return type).
fn check1<X: RowMajor, Y: RowMajor>(
    name: &str,
    graph: fn(&X) -> Y,
    (x, x_shape): (&[f64], &[usize]),
    out_shape: &[usize],
    reference: impl Fn(&T) -> T,
    abs: f64,
) {
    assert_eq!(X::LEN, numel(x_shape), "{name}: input type vs shape");
    assert_eq!(Y::LEN, numel(out_shape), "{name}: return type vs shape");
    let want = reference(&T::new(x_shape.to_vec(), x.to_vec()));
    assert_eq!(want.shape, out_shape, "{name}: reference shape");
    let got = graph(&X::from_row_major(x)).to_row_major();
    assert_close_abs(name, &got, &want.data, REL, abs);
}

/// [`check1`] for binary graphs.
fn check2<A: RowMajor, B: RowMajor, Y: RowMajor>(
    name: &str,
    graph: fn(&A, &B) -> Y,
    (a, a_shape): (&[f64], &[usize]),
    (b, b_shape): (&[f64], &[usize]),
    out_shape: &[usize],
    reference: impl Fn(&T, &T) -> T,
    abs: f64,
) {
    assert_eq!(A::LEN, numel(a_shape), "{name}: first input type vs shape");
    assert_eq!(B::LEN, numel(b_shape), "{name}: second input type vs shape");
    assert_eq!(Y::LEN, numel(out_shape), "{name}: return type vs shape");
    let ta = T::new(a_shape.to_vec(), a.to_vec());
    let tb = T::new(b_shape.to_vec(), b.to_vec());
    let want = reference(&ta, &tb);
    assert_eq!(want.shape, out_shape, "{name}: reference shape");
    let got = graph(&A::from_row_major(a), &B::from_row_major(b)).to_row_major();
    assert_close_abs(name, &got, &want.data, REL, abs);
}

// The property bodies live in plain functions (below) so rustfmt formats
// them; `proptest!` only draws the inputs.
proptest! {
    #[test]
    fn kron_matches_reference(a in values(6), b in values(12)) {
        kron_cases(&a, &b);
    }

    #[test]
    fn outer_product_matches_reference(a in values(24), b in values(24)) {
        outer_product_cases(&a, &b);
    }

    #[test]
    fn outer_sum_matches_reference(a in values(24), b in values(36)) {
        outer_sum_cases(&a, &b);
    }

    #[test]
    fn flatten_matches_reference(x in values(48)) {
        flatten_cases(&x);
    }

    #[test]
    fn index_matches_reference(x in values(24)) {
        index_cases(&x);
    }

    #[test]
    fn reductions_match_reference(x in values(36)) {
        reduction_cases(&x);
    }

    #[test]
    fn softmax_matches_reference(x in values(36)) {
        softmax_cases(&x);
    }

    #[test]
    fn compositions_match_reference(ab in values(12), x in values(24), y in values(6)) {
        composition_cases(&ab[..6], &ab[6..], &x, &y);
    }
}

fn kron_cases(a: &[f64], b: &[f64]) {
    let k = r::kron;
    let (a6, b6) = ((&a[..6], &[2, 3][..]), (&b[..6], &[3, 2][..]));
    check2("kron_matrices", kron_matrices, a6, b6, &[6, 6], k, EXACT);
    check2("kron_arrays", kron_arrays, a6, b6, &[6, 6], k, EXACT);
    let (a3, b3) = ((&a[..4], &[2, 1, 2][..]), (&b[..12], &[2, 3, 2][..]));
    check2("kron_rank3", kron_rank3, a3, b3, &[4, 3, 4], k, EXACT);
    let (a4, b4) = ((&a[..4], &[1, 2, 2, 1][..]), (&b[..6], &[2, 1, 1, 3][..]));
    check2("kron_rank4", kron_rank4, a4, b4, &[2, 2, 2, 3], k, EXACT);
}

fn outer_product_cases(a: &[f64], b: &[f64]) {
    let op = |axis| move |x: &T, y: &T| r::outer_product(x, y, axis);
    let (a2, b2) = ((&a[..6], &[2, 3][..]), (&b[..12], &[4, 3][..]));
    check2(
        "outer_product_rows",
        outer_product_rows,
        a2,
        b2,
        &[8, 3],
        op(0),
        EXACT,
    );
    let (a3, b3) = ((a, &[2, 3, 4][..]), (&b[..12], &[2, 3, 2][..]));
    check2(
        "outer_product_last",
        outer_product_last,
        a3,
        b3,
        &[2, 3, 8],
        op(-1),
        EXACT,
    );
    let (a4, b4) = ((a, &[2, 3, 2, 2][..]), (&b[..16], &[2, 2, 2, 2][..]));
    check2(
        "outer_product_rank4",
        outer_product_rank4,
        a4,
        b4,
        &[2, 6, 2, 2],
        op(-3),
        EXACT,
    );
}

fn outer_sum_cases(a: &[f64], b: &[f64]) {
    let os = |axis| move |x: &T, y: &T| r::outer_sum(x, y, axis);
    let (a2, b2) = ((&a[..12], &[3, 4][..]), (&b[..6], &[3, 2][..]));
    check2(
        "outer_sum_cols",
        outer_sum_cols,
        a2,
        b2,
        &[3, 8],
        os(-1),
        EXACT,
    );
    let (a3, b3) = ((a, &[2, 3, 4][..]), (b, &[3, 3, 4][..]));
    check2(
        "outer_sum_rank3",
        outer_sum_rank3,
        a3,
        b3,
        &[6, 3, 4],
        os(0),
        EXACT,
    );
    let (a4, b4) = ((a, &[2, 3, 2, 2][..]), (b, &[2, 3, 3, 2][..]));
    check2(
        "outer_sum_rank4",
        outer_sum_rank4,
        a4,
        b4,
        &[2, 3, 6, 2],
        os(2),
        EXACT,
    );
}

fn flatten_cases(x: &[f64]) {
    let fl = |s, e| move |t: &T| r::flatten(t, s, e);
    let x3 = (&x[..24], &[2, 3, 4][..]);
    check1(
        "flatten_inner",
        flatten_inner,
        x3,
        &[2, 12],
        fl(1, 2),
        EXACT,
    );
    check1(
        "flatten_outer",
        flatten_outer,
        x3,
        &[6, 4],
        fl(0, -2),
        EXACT,
    );
    let x4 = (&x[..24], &[2, 3, 2, 2][..]);
    check1("flatten_all", flatten_all, x4, &[24], fl(0, -1), EXACT);
    let x4 = (x, &[2, 3, 4, 2][..]);
    check1(
        "flatten_middle",
        flatten_middle,
        x4,
        &[2, 12, 2],
        fl(-3, 2),
        EXACT,
    );
}

fn index_cases(x: &[f64]) {
    let ix = |list: &'static [usize], axis| move |t: &T| r::index(t, list, axis);
    let x2 = (&x[..12], &[3, 4][..]);
    check1(
        "index_rows",
        index_rows,
        x2,
        &[3, 4],
        ix(&[2, 0, 2], 0),
        EXACT,
    );
    check1(
        "index_cols",
        index_cols,
        x2,
        &[3, 5],
        ix(&[3, 0, 0, 2, 1], 1),
        EXACT,
    );
    let x3 = (x, &[2, 3, 4][..]);
    check1(
        "index_last",
        index_last,
        x3,
        &[2, 3, 2],
        ix(&[1, 1], -1),
        EXACT,
    );
    let x4 = (x, &[2, 3, 2, 2][..]);
    check1(
        "index_rank4",
        index_rank4,
        x4,
        &[2, 4, 2, 2],
        ix(&[2, 0, 1, 2], 1),
        EXACT,
    );
}

fn reduction_cases(x: &[f64]) {
    let tol = cancelling(&[x]);
    let rs = |axis| move |t: &T| r::reduce_sum(t, axis);
    let rp = |axis| move |t: &T| r::reduce_prod(t, axis);
    let lse = |axis| move |t: &T| r::reduce_lse(t, axis);
    let x2 = (&x[..12], &[3, 4][..]);
    let x3 = (&x[..24], &[2, 3, 4][..]);
    let x4 = (x, &[2, 3, 2, 3][..]);
    check1("sum_rows", sum_rows, x2, &[4], rs(0), tol);
    check1("sum_axis0", sum_axis0, x3, &[3, 4], rs(0), tol);
    check1(
        "sum_rank4_last",
        sum_rank4_last,
        x4,
        &[2, 3, 2],
        rs(-1),
        tol,
    );
    check1("prod_middle", prod_middle, x3, &[2, 4], rp(-2), EXACT);
    check1("prod_cols", prod_cols, x2, &[3], rp(1), EXACT);
    check1("lse_last", lse_last, x3, &[2, 3], lse(2), tol);
    check1("lse_rank4", lse_rank4, x4, &[2, 2, 3], lse(1), tol);
}

fn softmax_cases(x: &[f64]) {
    let sm = |axis| move |t: &T| r::softmax(t, axis);
    let s3: &[usize] = &[2, 3, 4];
    let x3 = (&x[..24], s3);
    check1("softmax_axis0", softmax_axis0, x3, s3, sm(0), EXACT);
    check1("softmax_axis1", softmax_axis1, x3, s3, sm(1), EXACT);
    check1("softmax_axis2", softmax_axis2, x3, s3, sm(2), EXACT);
    let s4: &[usize] = &[2, 3, 2, 3];
    check1("softmax_rank4", softmax_rank4, (x, s4), s4, sm(-2), EXACT);

    let x2 = &x[..12];
    let tol = cancelling(&[x2]);
    let lsm = |axis| move |t: &T| r::log_softmax(t, axis);
    let s2: &[usize] = &[3, 4];
    check1(
        "log_softmax_rows",
        log_softmax_rows,
        (x2, s2),
        s2,
        lsm(0),
        tol,
    );
    check1(
        "log_softmax_cols",
        log_softmax_cols,
        (x2, s2),
        s2,
        lsm(-1),
        tol,
    );
}

fn composition_cases(a: &[f64], b: &[f64], x: &[f64], y: &[f64]) {
    let reference = |a: &T, b: &T| {
        let o = r::outer_product(a, b, 1);
        let i = r::index(&o, &[8, 0, 4], -1);
        r::reduce_sum(&r::kron(&i, a), 0)
    };
    let (a2, b2) = ((a, &[2, 3][..]), (b, &[2, 3][..]));
    let tol = cancelling(&[a, b]);
    check2("composite", composite, a2, b2, &[9], reference, tol);

    let reference = |x: &T, y: &T| {
        let f = r::flatten(&r::softmax(x, 0), 0, 1);
        r::outer_sum(&r::index(&f, &[5, 0, 3], 0), y, 1)
    };
    let (x3, y2) = ((x, &[2, 3, 4][..]), (y, &[3, 2][..]));
    check2(
        "composite_rank3",
        composite_rank3,
        x3,
        y2,
        &[3, 8],
        reference,
        EXACT,
    );
}

/// The row-major conversions themselves, on a known layout (no macro).
#[test]
fn row_major_layouts() {
    let data: Vec<f64> = (0..12).map(f64::from).collect();
    let m = SMatrix::<f64, 3, 4>::from_row_major(&data);
    assert_eq!(m[(1, 2)], 6.0);
    let rows = <[SVector<f64, 4>; 3]>::from_row_major(&data);
    assert_eq!(rows[1][2], 6.0);
    let nested = <[[f64; 4]; 3]>::from_row_major(&data);
    assert_eq!(nested[1][2], 6.0);
    let cube = <[SMatrix<f64, 2, 3>; 2]>::from_row_major(&data);
    assert_eq!(cube[1][(0, 2)], 8.0);
    let single = <SMatrix<f32, 2, 2>>::from_row_major(&data[..4]);
    assert_eq!(single[(1, 0)], 2.0f32);
    for v in [m.to_row_major(), rows.to_row_major(), nested.to_row_major()] {
        assert_eq!(v, data);
    }
    assert_eq!(cube.to_row_major(), data);
    assert_eq!(2.5f64.to_row_major(), vec![2.5]);
}
