//! Calls every graph of `param-graph-consumer` and checks values computed by
//! hand (or with nalgebra directly), so the crate is exercised, not only
//! compiled.
#![forbid(unsafe_code)]
#![deny(warnings, clippy::all)]

use param_graph_consumer as c;
use pg::nalgebra::{SMatrix, SVector};

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

fn close32(a: f32, b: f32) -> bool {
    a == b || (a - b).abs() <= 1e-5 * (1.0 + b.abs())
}

#[track_caller]
fn assert_all_close<const R: usize, const C: usize>(
    got: &SMatrix<f64, R, C>,
    want: &SMatrix<f64, R, C>,
) {
    for (g, w) in got.iter().zip(want.iter()) {
        assert!(close(*g, *w), "got {got}, want {want}");
    }
}

#[track_caller]
fn assert_all_close32<const R: usize, const C: usize>(
    got: &SMatrix<f32, R, C>,
    want: &SMatrix<f32, R, C>,
) {
    for (g, w) in got.iter().zip(want.iter()) {
        assert!(close32(*g, *w), "got {got}, want {want}");
    }
}

/// Row-wise softmax of a matrix, by hand.
fn softmax_rows<const R: usize, const C: usize>(m: &SMatrix<f64, R, C>) -> SMatrix<f64, R, C> {
    let mut out = m.map(f64::exp);
    for mut row in out.row_iter_mut() {
        let total = row.sum();
        row /= total;
    }
    out
}

/// Column-wise softmax of a matrix, by hand.
fn softmax_cols<const R: usize, const C: usize>(m: &SMatrix<f64, R, C>) -> SMatrix<f64, R, C> {
    softmax_rows(&m.transpose()).transpose()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn m23() -> SMatrix<f64, 2, 3> {
    SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
}

#[test]
fn readme_log_weights() {
    let w = c::log_weights(&SMatrix::<f64, 3, 4>::zeros());
    assert!(w.iter().all(|v| close(*v, 0.25f64.ln())));

    let theta = SMatrix::<f64, 3, 4>::from_fn(|i, j| (i as f64) - 0.5 * j as f64);
    let want = softmax_rows(&theta).map(f64::ln);
    assert_all_close(&c::log_weights(&theta), &want);
    assert_all_close(&c::log_weights_as_written(&theta), &want);
}

#[test]
fn plans_say_how_each_graph_was_compiled() {
    assert!(
        c::LOG_WEIGHTS_PLAN.contains("log_softmax"),
        "{}",
        c::LOG_WEIGHTS_PLAN
    );
    assert!(
        c::LOG_WEIGHTS_PLAN.contains("optimized;"),
        "{}",
        c::LOG_WEIGHTS_PLAN
    );
    assert!(
        c::LOG_WEIGHTS_AS_WRITTEN_PLAN.contains("optimize = false"),
        "{}",
        c::LOG_WEIGHTS_AS_WRITTEN_PLAN
    );
    assert!(c::every_op::MAPS_F32_PLAN.starts_with("%0 = leaf `x`"));
    assert!(c::MIX_PLAN.contains("hadamard"));
}

#[test]
fn readme_mix() {
    let a = [
        SMatrix::<f32, 3, 4>::from_fn(|i, j| (i + j) as f32),
        SMatrix::repeat(2.0),
    ];
    let b = [
        SMatrix::<f32, 3, 4>::repeat(0.5),
        SMatrix::from_fn(|i, j| (i * j) as f32),
    ];
    let [x, y] = c::mix(&a, &b);
    assert_eq!(x, a[0] + a[0].component_mul(&b[0]));
    assert_eq!(y, a[1] + a[1].component_mul(&b[1]));
    assert_eq!(x[(2, 3)], 5.0 + 2.5);
}

#[test]
fn softmax_with_two_readers() {
    let theta = SMatrix::<f64, 2, 3>::new(0.0, 1.0, 2.0, -3.0, 0.0, 3.0);
    let want = softmax_rows(&theta);
    let (p, lp) = c::softmax_and_log_softmax(theta);
    assert_all_close(&p, &want);
    assert_all_close(&lp, &want.map(f64::ln));
    let (p2, lp2) = c::softmax_and_log_softmax_as_written(theta);
    assert_all_close(&p2, &p);
    assert_all_close(&lp2, &lp);
    // Hand value: row (0, 1, 2), entry 0 is 1 / (1 + e + e²).
    assert!(close(p[(0, 0)], 1.0 / (1.0 + 1f64.exp() + 2f64.exp())));
}

#[test]
fn let_bindings_shadow() {
    let x = SVector::<f64, 3>::new(0.0, 1.0, 2.0);
    let (l, y) = c::chain(&x);
    for i in 0..3 {
        assert!(close(y[i], 2.0 * x[i].exp()));
        assert!(close(l[i], 2f64.ln() + x[i]));
    }
}

#[test]
fn unused_parameters_and_constants() {
    let x = SVector::<f64, 2>::new(0.0, 1.0);
    let (same, e) = c::ignores_one(&x, 7.0, &SMatrix::identity());
    assert_eq!(same, x);
    assert_all_close(&e, &SVector::<f64, 2>::new(1.0, 1f64.exp()));

    let (m, s) = c::constants();
    assert_eq!(m, SMatrix::<f64, 2, 2>::repeat(1.5));
    assert_eq!(s, -2.0);
}

#[test]
fn type_forms() {
    assert_eq!(c::scalars(3.0, &0.5), 9.5);
    let (p, half) = c::scalars_f32(2.0, &3.0);
    assert_eq!(p, 6.0);
    assert!(close32(half, 0.5));

    let v = SVector::<f32, 3>::new(1.0, 2.0, 3.0);
    let w = SVector::<f32, 3>::new(-1.0, 0.5, 2.0);
    assert_eq!(c::vectors(v, &w), SVector::<f32, 3>::new(-2.0, 1.5, 8.0));

    let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i + j) as f32);
    let b = SMatrix::<f32, 3, 2>::from_fn(|i, j| (i * j) as f32);
    assert_eq!(c::matrices(a, &b), a * b);

    let s = [[[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [[1.0; 2]; 3]]; 2];
    let m = [[SMatrix::<f64, 2, 3>::from_fn(|i, j| (i * 3 + j) as f64); 2]; 2];
    let (sm, lsm, sums) = c::rank4(&s, m);
    // softmax over axis -3 (the pair of size 2): at [0][0][1][0] the entries are 2 and 1.
    assert!(close(
        sm[0][0][1][0],
        2f64.exp() / (2f64.exp() + 1f64.exp())
    ));
    // log_softmax over axis -4 of two equal halves: ln(1/2) everywhere.
    assert!(close(lsm[1][0][(1, 2)], 0.5f64.ln()));
    assert_eq!(sums, [30.0, 30.0]);

    let v = [
        SVector::<f32, 3>::new(1.0, 2.0, 3.0),
        SVector::<f32, 3>::new(4.0, 5.0, 6.0),
    ];
    let a = [[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]];
    let (flat, vecs) = c::arrays_f32(v, &a);
    assert_eq!(flat, [[11.0, 22.0, 33.0], [44.0, 55.0, 66.0]]);
    assert_eq!(vecs[1], SVector::<f32, 3>::new(44.0, 55.0, 66.0));

    let x = SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
    let v = SMatrix::<f64, 2, 1>::new(10.0, 20.0);
    let w = SVector::<f64, 2>::new(0.0, 1.0);
    let (o, e) = c::full_paths(&x, v, &w);
    assert_eq!(o, SMatrix::<f64, 2, 2>::new(11.0, 12.0, 23.0, 24.0));
    assert_all_close(&e, &w.map(f64::exp));
}

#[test]
fn kronecker_results() {
    let a = SMatrix::<f64, 2, 3>::new(0.0, 1.0, 2.0, 1.0, 1.0, 1.0);
    let b = SMatrix::<f64, 4, 2>::from_fn(|i, j| (i * 2 + j) as f64);
    let k = c::kron_weight(&a, &b);
    let dense: SMatrix<f64, 8, 6> = k.to_dense();
    assert_all_close(&dense, &softmax_rows(&a).kronecker(&b));
    assert!(close(dense[(4, 0)], 1.0 / 3.0 * b[(0, 0)]));
    let x = SMatrix::<f64, 6, 2>::from_fn(|i, j| (i + 3 * j) as f64);
    let y: SMatrix<f64, 8, 2> = k.mul_mat(&x);
    assert_all_close(&y, &(dense * x));

    let a = [[1.0f32, 2.0], [3.0, 4.0]];
    let b = SMatrix::<f32, 3, 1>::new(1.0, -1.0, 0.5);
    let (k, d) = c::kron_both(a, &b);
    let am = SMatrix::<f32, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
    assert_eq!(k.a, am);
    assert_eq!(k.b, b);
    assert_eq!(k.to_dense::<6, 2>(), d);
    assert_eq!(d, am.kronecker(&b));
}

#[test]
fn rewrite_rules() {
    let x = SVector::<f64, 4>::new(-2.0, 0.0, 0.5, 3.0);
    // A graph with a workspace: by value, into, and with the caller's.
    let xw = Box::new(SMatrix::<f64, 128, 128>::from_fn(|i, j| {
        ((i * 7 + j * 3) % 11) as f64 / 5.0
    }));
    let yw = Box::new(SMatrix::<f64, 128, 128>::from_fn(|i, j| {
        ((i + j) % 5) as f64 - 2.0
    }));
    let by_value = c::with_workspace(&xw, &yw);
    let mut ws = c::WithWorkspaceWorkspace::new();
    let mut into = Box::new(SMatrix::<f64, 128, 128>::zeros());
    c::with_workspace_with(&xw, &yw, &mut ws, &mut into);
    assert_eq!(by_value, *into);
    let row_sums: Vec<f64> = (0..128).map(|i| xw.row(i).map(f64::exp).sum()).collect();
    for (i, j) in [(0, 0), (5, 77), (127, 127)] {
        let a = xw[(i, j)].exp() / row_sums[i];
        let want = (a / (1.0 + (-yw[(i, j)]).exp())).exp() + a * a;
        assert!(close(into[(i, j)], want), "{i} {j}");
    }
    assert!(c::call_private(&SMatrix::<f32, 128, 128>::zeros()).is_finite());
    let (w, o) = (
        SVector::<f64, 2>::new(1.0, 2.0),
        SVector::<f64, 2>::new(3.0, 4.0),
    );
    assert_eq!(
        c::named_like_generated(&w, &o),
        SVector::<f64, 2>::new(10.0, 18.0)
    );

    let (ls, lse, same) = c::fused_maps(&x);
    for i in 0..4 {
        assert!(close(ls[i], sigmoid(x[i]).ln()));
        assert!(close(same[i], x[i]));
    }
    assert!(close(lse, x.map(f64::exp).sum().ln()));

    let a = m23();
    let b = SMatrix::<f64, 2, 2>::new(1.0, 10.0, 100.0, 1000.0);
    let (rows, merged) = c::fused_outer(&a, &b);
    // Row 0: (1 + 2 + 3)(1 + 10); row 1: (4 + 5 + 6)(100 + 1000).
    assert_eq!(rows, SVector::<f64, 2>::new(66.0, 16500.0));
    // merged[j·2 + k] = Σ_i a[i, j] b[i, k].
    for j in 0..3 {
        for k in 0..2 {
            assert_eq!(
                merged[j * 2 + k],
                a[(0, j)] * b[(0, k)] + a[(1, j)] * b[(1, k)]
            );
        }
    }

    let a = SMatrix::<f64, 2, 2>::new(1.0, 2.0, -1.0, 0.5);
    let b = SMatrix::<f64, 2, 3>::new(1.0, 0.0, 2.0, -1.0, 3.0, 1.0);
    let x = SMatrix::<f64, 6, 2>::from_fn(|i, j| i as f64 - 2.0 * j as f64);
    assert_all_close(&c::fused_kron_matmul(&a, &b, &x), &(a.kronecker(&b) * x));
}

#[test]
fn every_op_f64() {
    use c::every_op::*;
    let x = SVector::<f64, 3>::new(-1.0, 0.25, 2.0);
    let (sq, sig, sp, ss, e) = maps(&x);
    for i in 0..3 {
        assert!(close(sq[i], x[i] * x[i]));
        assert!(close(sig[i], sigmoid(x[i])));
        assert!(close(sp[i], (1.0 + x[i].exp()).ln()));
        assert!(close(ss[i], 1.0 + 2.0 * sigmoid(x[i])));
        assert!(close(e[i], x[i].exp()));
    }
    assert!(close(sig[1], 1.0 / (1.0 + (-0.25f64).exp())));

    let (lo, hi, both) = clamps(&x);
    assert_eq!(lo, SVector::<f64, 3>::new(0.0, 0.25, 2.0));
    assert_eq!(hi, SVector::<f64, 3>::new(-1.0, 0.25, 0.5));
    assert_eq!(both, SVector::<f64, 3>::new(-0.5, 0.25, 0.5));

    let m = m23();
    let (rows, cols, lse) = reductions(&m);
    assert_eq!(rows, SVector::<f64, 2>::new(6.0, 15.0));
    assert_eq!(cols, SVector::<f64, 3>::new(4.0, 10.0, 18.0));
    assert!(close(lse[0], (1f64.exp() + 2f64.exp() + 3f64.exp()).ln()));
    assert!(close(
        lse[1],
        6.0 + (1.0 + (-1f64).exp() + (-2f64).exp()).ln()
    ));

    let (sm, lsm) = normalizers(&m);
    assert_all_close(&sm, &softmax_rows(&m));
    assert_all_close(&lsm, &softmax_cols(&m).map(f64::ln));
    // Columns differ by 3 between rows: log(1 / (1 + e³)) at the top.
    assert!(close(lsm[(0, 0)], -(1.0 + 3f64.exp()).ln()));

    let r = [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]];
    let (picked, flat, shifted, flat_r, row) = selections(&m, &r);
    assert_eq!(
        picked,
        SMatrix::<f64, 2, 4>::new(3.0, 1.0, 1.0, 2.0, 6.0, 4.0, 4.0, 5.0)
    );
    assert_eq!(
        flat,
        SVector::<f64, 6>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert_eq!(shifted, m.add_scalar(0.5));
    assert_eq!(
        flat_r,
        SVector::<f64, 6>::from_column_slice(&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0])
    );
    assert_eq!(row, SMatrix::<f64, 1, 3>::new(10.0, 11.0, 12.0));

    let b = SMatrix::<f64, 3, 2>::new(1.0, 0.0, 0.0, 1.0, 1.0, 1.0);
    let (h, k, mm) = products(&m, &b);
    assert_eq!(h, m.component_mul(&m) + m);
    assert_eq!(k, m.kronecker(&b));
    assert_eq!(mm, SMatrix::<f64, 2, 2>::new(4.0, 5.0, 10.0, 11.0));

    let b = SMatrix::<f64, 2, 2>::new(1.0, 10.0, 100.0, 1000.0);
    let (op, os) = outers(&m, &b);
    assert_eq!(op[(0, 1)], m[(0, 0)] * b[(0, 1)]);
    assert_eq!(op[(1, 5)], 6.0 * 1000.0);
    assert_eq!(os[(1, 5)], m[(1, 2)] + b[(1, 1)]);
    assert_eq!(os[(0, 2)], 2.0 + 1.0);
}

#[test]
fn every_op_f32() {
    use c::every_op::*;
    let x = SVector::<f32, 3>::new(-1.0, 0.25, 2.0);
    let (sq, sig, sp, ss) = maps_f32(&x);
    for i in 0..3 {
        let s = 1.0 / (1.0 + (-x[i]).exp());
        assert!(close32(sq[i], x[i] * x[i]));
        assert!(close32(sig[i], s));
        assert!(close32(sp[i], (1.0 + x[i].exp()).ln()));
        assert!(close32(ss[i], 2.0 * s));
    }

    assert_eq!(clamps_f32(x), SVector::<f32, 3>::new(-0.5, 0.25, 0.5));

    let m = SMatrix::<f32, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
    let (rows, cols, lse) = reductions_f32(&m);
    assert_eq!(rows, SVector::<f32, 2>::new(6.0, 15.0));
    assert_eq!(cols, SVector::<f32, 3>::new(4.0, 10.0, 18.0));
    assert!(close32(lse[0], (1f32.exp() + 2f32.exp() + 3f32.exp()).ln()));

    let (sm, lsm) = normalizers_f32(&m);
    let want = softmax_rows(&m.cast::<f64>()).cast::<f32>();
    assert_all_close32(&sm, &want);
    let want = softmax_cols(&m.cast::<f64>()).map(f64::ln).cast::<f32>();
    assert_all_close32(&lsm, &want);

    let (row, flat, plus) = selections_f32(m);
    assert_eq!(row, SMatrix::<f32, 1, 3>::new(4.0, 5.0, 6.0));
    assert_eq!(
        flat,
        SVector::<f32, 6>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    assert_eq!(plus, m.add_scalar(1.0));

    let a = SMatrix::<f32, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
    let b = SMatrix::<f32, 2, 2>::new(0.0, 1.0, 1.0, 0.0);
    let (h, k, mm) = products_f32(&a, &b);
    assert_eq!(h, SMatrix::<f32, 2, 2>::new(0.0, 2.0, 3.0, 0.0));
    assert_eq!(k, a.kronecker(&b));
    assert_eq!(mm, SMatrix::<f32, 2, 2>::new(2.0, 1.0, 4.0, 3.0));

    let a = SVector::<f32, 2>::new(1.0, 2.0);
    let b = SVector::<f32, 3>::new(10.0, 20.0, 30.0);
    let (op, os) = outers_f32(&a, &b);
    assert_eq!(
        op,
        SVector::<f32, 6>::from_column_slice(&[10.0, 20.0, 30.0, 20.0, 40.0, 60.0])
    );
    assert_eq!(
        os,
        SVector::<f32, 6>::from_column_slice(&[11.0, 21.0, 31.0, 12.0, 22.0, 32.0])
    );
}

#[test]
fn private_graphs_are_reachable_through_public_fns() {
    let x = SVector::<f64, 4>::new(0.0, 1.0, 2.0, 3.0);
    let (total, lse, doubled) = c::private_graphs(&x);
    assert!(close(total, 1.0));
    assert!(close(lse, x.map(f64::exp).sum().ln()));
    assert_eq!(doubled, 12.0);
}

#[test]
fn parameters_named_like_ops_and_generated_locals() {
    use c::helper_names::*;
    let x = SVector::<f64, 3>::new(0.0, 1.0, 2.0);
    let y = SVector::<f64, 3>::new(1.0, 2.0, 4.0);
    let (prod, sq) = op_names(&x, y, &3.0);
    for i in 0..3 {
        assert!(close(prod[i], x[i].exp() * y[i].ln()));
    }
    assert_eq!(prod[0], 0.0);
    assert_eq!(sq, 9.0);

    let v0 = SMatrix::<f64, 2, 2>::new(0.0, 0.0, 0.0, 0.0);
    let v1 = SMatrix::<f64, 2, 2>::new(2.0, 4.0, 6.0, 8.0);
    let k = SVector::<f64, 2>::new(0.0, 0.0);
    let (h, e, s) = generated_names(&v0, v1, &k, -3.0);
    assert_all_close(&h, &SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0));
    assert_all_close(&e, &SVector::<f64, 2>::new(1.0, 1.0));
    assert_eq!(s, 9.0);

    let a = SVector::<f64, 2>::new(1.0, 2.0);
    let b = SVector::<f64, 2>::new(3.0, 4.0);
    assert_eq!(path_names(&a, &b, a, &b), SVector::<f64, 2>::new(7.0, 14.0));
}

#[test]
fn shadowed_crate_and_module_names() {
    use c::shadowed_paths::{through_decoys, through_decoys_f32};
    let x = m23();
    let v = [SVector::<f64, 3>::new(0.0, 1.0, -1.0); 2];
    let (sm, lse, sig) = through_decoys(&x, v);
    assert_all_close(&sm, &softmax_rows(&x));
    assert!(close(lse[1], (4f64.exp() + 5f64.exp() + 6f64.exp()).ln()));
    assert!(close(sig[1][0], 0.5));
    assert!(close(sig[0][2], sigmoid(-1.0)));

    let (lsm, total) = through_decoys_f32(&[[0.0, 1.0], [0.0, 1.0]]);
    assert!(lsm.iter().all(|v| close32(*v, 0.5f32.ln())));
    assert_eq!(total, 2.0);
}

#[test]
fn shadowed_float_and_integer_types() {
    use c::shadowed_floats::{arrays, arrays_f32, scalars};
    let (s, clamped) = scalars(0.0, &1.0);
    assert!(close(s, 1.5));
    assert_eq!(clamped, 2.0);
    let m = [[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]];
    let (sm, lse, flat) = arrays(&m);
    assert!(close(sm[1][2], 1.0 / 3.0));
    assert!(close(sm[0][0], 1.0 / (1.0 + 1f64.exp() + 2f64.exp())));
    assert!(close(lse[1], 3f64.ln()));
    assert!(close(flat[0], 0.5f64.ln()));
    assert!(close(flat[5], -(1.0 + 2f64.exp()).ln()));
    let sp = arrays_f32([0.0, 30.0, -1.0]);
    assert!(close32(sp[0], 2f32.ln()));
    assert_eq!(sp[1], 30.0); // torch's threshold: x itself above 20
    assert!(close32(sp[2], (1.0 + (-1f32).exp()).ln()));

    let m = m23();
    let r = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]];
    let (sum, prod, flat) = c::shadowed_integers::loops(&m, &r);
    assert_eq!(sum, [[2.0, 3.0, 4.0], [6.0, 7.0, 8.0]]);
    assert_eq!(prod, SVector::<f64, 3>::new(4.0, 10.0, 18.0));
    assert_eq!(
        flat,
        SVector::<f64, 6>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
}

#[test]
fn items_named_like_generated_locals() {
    let x = SVector::<f64, 3>::new(0.0, 1.0, -1.0);
    let m = m23();
    let (e, lse, sm) = c::generated_local_names::busy(&x, &m);
    assert_all_close(&e, &x.map(f64::exp));
    assert!(close(lse[0], (1f64.exp() + 2f64.exp() + 3f64.exp()).ln()));
    assert_all_close(&sm, &softmax_cols(&m));
}

#[test]
fn no_implicit_prelude() {
    use c::no_prelude::*;
    let a = SMatrix::<f64, 2, 3>::new(0.0, 0.0, 0.0, 1.0, 2.0, 3.0);
    let b = SMatrix::<f64, 3, 2>::new(1.0, 0.0, 0.0, 1.0, 1.0, 1.0);
    let r = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
    let (mm, lsm, lse, op, sum) = kernels(&a, b, &r);
    let s = softmax_cols(&a);
    assert_all_close(&mm, &(s * b));
    assert_all_close(&lsm, &softmax_rows(&a).map(f64::ln));
    assert!(lse.iter().all(|v| close(*v, 2f64.ln())));
    assert_eq!(op[(1, 5)], 2.0 * 3.0);
    assert_eq!(sum, [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]);

    let a = SMatrix::<f32, 2, 2>::zeros();
    let b = SMatrix::<f32, 1, 2>::new(2.0, -1.0);
    let k = factored(&a, &b);
    assert_all_close32(&k.a, &SMatrix::<f32, 2, 2>::repeat(1.0));
    assert_all_close32(
        &k.to_dense::<2, 4>(),
        &SMatrix::<f32, 2, 4>::new(2.0, -1.0, 2.0, -1.0, 2.0, -1.0, 2.0, -1.0),
    );
}

#[test]
fn invoked_inside_a_function_through_the_renamed_path() {
    // Local decoys in the invoking scope.
    #[allow(dead_code)]
    fn exp() {}
    #[allow(dead_code)]
    mod nalgebra {}

    pg::param_graph! {
        fn local(x: &SVector<f64, 2>) -> f64 {
            reduce_sum(exp(x))
        }
    }
    assert!(close(
        local(&SVector::<f64, 2>::new(0.0, 1.0)),
        1.0 + 1f64.exp()
    ));
}

#[test]
fn long_parameter_lists() {
    use c::many_params::{eight, six};
    let v = SVector::<f64, 2>::new(1.0, -1.0);
    let (sum, prod) = six(&v, &v, v, &v, 3.0, &0.5);
    assert_eq!(sum, SVector::<f64, 2>::new(4.0, -4.0));
    assert_eq!(prod, 1.5);
    assert_eq!(
        eight(&v, &v, &v, &v, &v, &v, &v, &v),
        SVector::<f64, 2>::new(8.0, -8.0)
    );
}

#[test]
fn vjps_of_hand_differentiated_graphs() {
    // (c ⊙ g, w²): ∂/∂c = ct0 ⊙ g, ∂/∂g = ct0 ⊙ c, ∂/∂w = 2w·ct1.
    let (cot, g, w) = (
        SVector::<f64, 2>::new(1.0, 2.0),
        SVector::<f64, 2>::new(3.0, -1.0),
        1.5,
    );
    let ct = (SVector::<f64, 2>::new(0.5, 4.0), 2.0);
    let (dc, dg, dw) = c::named_like_vjp_vjp(&cot, g, &w, (&ct.0, &ct.1));
    assert_eq!(dc, SVector::<f64, 2>::new(1.5, -4.0));
    assert_eq!(dg, SVector::<f64, 2>::new(0.5, 8.0));
    assert_eq!(dw, 6.0);
    // Into caller storage, overwriting what was there.
    let mut grads = (
        SVector::<f64, 2>::repeat(9.0),
        SVector::<f64, 2>::repeat(9.0),
        9.0,
    );
    c::named_like_vjp_vjp_into(
        &cot,
        g,
        &w,
        (&ct.0, &ct.1),
        (&mut grads.0, &mut grads.1, &mut grads.2),
    );
    assert_eq!((grads.0, grads.1, grads.2), (dc, dg, dw));
}

#[test]
fn vjp_of_a_kron_result_takes_the_factor_cotangents() {
    // kron(softmax(a), b) returned as `Kron`: the cotangent holds one
    // matrix per factor, and b̄ is that factor's cotangent itself.
    let a = SMatrix::<f64, 2, 3>::new(0.1, 0.2, 0.3, -1.0, 0.0, 1.0);
    let b = SMatrix::<f64, 4, 2>::from_fn(|i, j| (i + 2 * j) as f64);
    let ct = pg::runtime::Kron::new(
        SMatrix::<f64, 2, 3>::from_fn(|i, j| 1.0 + (i * 3 + j) as f64),
        SMatrix::<f64, 4, 2>::repeat(0.25),
    );
    let (da, db) = c::kron_weight_vjp(&a, &b, &ct);
    assert_eq!(db, ct.b);
    // softmax rows: ā = y ⊙ (ḡ − Σ ḡ ⊙ y).
    for i in 0..2 {
        let row: Vec<f64> = (0..3).map(|j| a[(i, j)].exp()).collect();
        let total: f64 = row.iter().sum();
        let y: Vec<f64> = row.iter().map(|e| e / total).collect();
        let dot: f64 = (0..3).map(|j| ct.a[(i, j)] * y[j]).sum();
        for j in 0..3 {
            assert!(close(da[(i, j)], y[j] * (ct.a[(i, j)] - dot)));
        }
    }
}
