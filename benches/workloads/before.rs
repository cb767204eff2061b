//! The baseline of the fusion benchmark: the five-op graph at 256×256 as
//! `param_graph!` compiled it before memory planning (commit 98c5a48), its
//! expansion kept verbatim (formatted): one full-size stack array per
//! intermediate, one loop per op, the scalar `sigmoid`. It needs 2.6 MB of
//! stack, which the benchmark's main thread has.

#![allow(dead_code)]
// Generated code, kept as generated: lints of hand-written code do not apply.
#![allow(clippy::all)]

use param_graph::nalgebra::SMatrix;

/// `five_256` as compiled before memory planning.
pub fn five_256_before_into(
    x: &SMatrix<f64, 256, 256>,
    y: &SMatrix<f64, 256, 256>,
    out: &mut SMatrix<f64, 256, 256>,
) {
    let __pg_r0 = out;
    let __pg_o0: &mut [::core::primitive::f64; 65536] = ::param_graph::runtime::flat_mut(__pg_r0);
    let __pg_v0: &[::core::primitive::f64; 65536] = ::param_graph::runtime::flat(x);
    let mut __pg_m1 = [0f64; 256];
    let mut __pg_s1 = [0f64; 256];
    let mut __pg_v1 = [0f64; 65536];
    ::param_graph::runtime::rows::softmax_f64(
        &__pg_v0[..],
        &mut __pg_v1[..],
        &mut __pg_m1[..],
        &mut __pg_s1[..],
        ::param_graph::runtime::rows::Rows {
            outer: 1,
            len: 256,
            inner: 256,
        },
        false,
    );
    let __pg_v2: &[::core::primitive::f64; 65536] = ::param_graph::runtime::flat(y);
    let mut __pg_v3 = [0f64; 65536];
    for __pg_k in 0..65536 {
        __pg_v3[__pg_k] =
            <::core::primitive::f64 as ::param_graph::runtime::Real>::sigmoid(__pg_v2[__pg_k]);
    }
    let mut __pg_v4 = [0f64; 65536];
    for __pg_k in 0..65536 {
        __pg_v4[__pg_k] = __pg_v1[__pg_k] * __pg_v3[__pg_k];
    }
    let mut __pg_v5 = [0f64; 65536];
    for __pg_k in 0..65536 {
        __pg_v5[__pg_k] = __pg_v4[__pg_k];
    }
    <::core::primitive::f64 as ::param_graph::runtime::Real>::exp_in_place(&mut __pg_v5[..]);
    let mut __pg_v6 = [0f64; 65536];
    for __pg_k in 0..65536 {
        __pg_v6[__pg_k] = __pg_v1[__pg_k] * __pg_v1[__pg_k];
    }
    for __pg_k in 0..65536 {
        __pg_o0[__pg_k] = __pg_v5[__pg_k] + __pg_v6[__pg_k];
    }
}
