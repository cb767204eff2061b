//! Every benchmarked graph's optimized call allocates nothing: each one
//! runs once under a counting global allocator (inputs and outputs are
//! allocated before counting starts).

mod support;

#[path = "../benches/workloads/graphs.rs"]
mod graphs;

use graphs::*;
use param_graph::nalgebra::{SMatrix, SVector};
use support::counting::{count_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs the checks on a thread with room for the 256×256 graphs' buffers.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    support::harness::on_stack(64 << 20, f);
}

macro_rules! assert_no_alloc {
    ($call:expr) => {{
        let ((), n) = count_allocations(|| $call);
        assert_eq!(n, 0, "{} allocated {} times", stringify!($call), n);
    }};
}

#[test]
fn w1_graphs_allocate_nothing() {
    on_big_stack(|| {
        macro_rules! w1 {
            ($r:literal, $c:literal, $f:ident) => {{
                let x = fill::<$r, $c>(1);
                let mut out = Box::new(SMatrix::<f64, $r, $c>::zeros());
                assert_no_alloc!($f(&x, &mut out));
            }};
        }
        w1!(4, 8, w1_4x8_into);
        w1!(16, 16, w1_16x16_into);
        w1!(64, 64, w1_64x64_into);
        w1!(256, 256, w1_256x256_into);
    });
}

#[test]
fn w2_w3_graphs_allocate_nothing() {
    on_big_stack(|| {
        macro_rules! w23 {
            ($f:literal, $j:literal, $k:literal, $out:ty, $g:ident) => {{
                let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
                let mut out: Box<$out> = Box::new(param_graph::runtime::zeroed());
                assert_no_alloc!($g(&a, &b, &mut out));
            }};
        }
        w23!(4, 32, 8, [SVector<f64, 8>; 4], w2_4x32x8_into);
        w23!(4, 64, 16, [SVector<f64, 16>; 4], w2_4x64x16_into);
        w23!(16, 32, 8, [SVector<f64, 8>; 16], w2_16x32x8_into);
        w23!(4, 32, 8, [SVector<f64, 1024>; 4], w3_4x32x8_into);
        w23!(8, 16, 4, [SVector<f64, 256>; 8], w3_8x16x4_into);
        w23!(4, 64, 16, [SVector<f64, 4096>; 4], w3_4x64x16_into);
        // The packed contraction kernel (its buffers are on the stack).
        w23!(1, 256, 256, [SVector<f64, 65536>; 1], w3_1x256x256_into);
        w23!(4, 128, 64, [SVector<f64, 16384>; 4], w3_4x128x64_into);
    });
}

#[test]
fn w4_graphs_allocate_nothing() {
    on_big_stack(|| {
        macro_rules! w4 {
            ($p:literal, $pp:literal, $g:ident) => {{
                let (a, b, x) = (fill::<$p, $p>(1), fill::<$p, $p>(2), fill::<$pp, 1>(3));
                let mut out = Box::new(SMatrix::<f64, $pp, 1>::zeros());
                assert_no_alloc!($g(&a, &b, &x, &mut out));
            }};
        }
        w4!(8, 64, w4_8_into);
        w4!(16, 256, w4_16_into);
        w4!(24, 576, w4_24_into);
    });
}

/// Every benchmarked VJP allocates nothing in steady state: `name_vjp_with`
/// with a workspace made beforehand allocates nothing at all, and
/// `name_vjp_into` nothing from its second call on a thread (the first
/// makes the thread's workspace when the VJP needs one).
#[test]
fn vjps_allocate_nothing() {
    on_big_stack(|| {
        macro_rules! check {
            ($with:ident, $into:ident, $ws:ident, ($($arg:expr),*), $grads:expr) => {{
                let mut ws = Box::new($ws::new());
                assert_no_alloc!($with($($arg,)* &mut ws, $grads));
                $into($($arg,)* $grads);
                assert_no_alloc!($into($($arg,)* $grads));
            }};
        }
        macro_rules! w1 {
            ($r:literal, $c:literal, $with:ident, $into:ident, $ws:ident) => {{
                let (x, ct) = (fill::<$r, $c>(1), fill::<$r, $c>(2));
                let mut g = Box::new(SMatrix::<f64, $r, $c>::zeros());
                check!($with, $into, $ws, (&x, &ct), &mut g);
            }};
        }
        w1!(4, 8, w1_4x8_vjp_with, w1_4x8_vjp_into, W14x8VjpWorkspace);
        w1!(
            16,
            16,
            w1_16x16_vjp_with,
            w1_16x16_vjp_into,
            W116x16VjpWorkspace
        );
        w1!(
            64,
            64,
            w1_64x64_vjp_with,
            w1_64x64_vjp_into,
            W164x64VjpWorkspace
        );
        w1!(
            256,
            256,
            w1_256x256_vjp_with,
            w1_256x256_vjp_into,
            W1256x256VjpWorkspace
        );
        macro_rules! w23 {
            ($f:literal, $j:literal, $k:literal, $out:ty, $with:ident, $into:ident, $ws:ident) => {{
                let (a, b) = (folds::<$f, $j, $k>(1), folds::<$f, $j, $k>(2));
                let ct: Box<$out> = Box::new(param_graph::runtime::zeroed());
                let mut ga = Box::new([SMatrix::<f64, $j, $k>::zeros(); $f]);
                let mut gb = Box::new([SMatrix::<f64, $j, $k>::zeros(); $f]);
                check!($with, $into, $ws, (&a, &b, &ct), (&mut ga, &mut gb));
            }};
        }
        w23!(
            4,
            32,
            8,
            [SVector<f64, 8>; 4],
            w2_4x32x8_vjp_with,
            w2_4x32x8_vjp_into,
            W24x32x8VjpWorkspace
        );
        w23!(
            4,
            64,
            16,
            [SVector<f64, 16>; 4],
            w2_4x64x16_vjp_with,
            w2_4x64x16_vjp_into,
            W24x64x16VjpWorkspace
        );
        w23!(
            16,
            32,
            8,
            [SVector<f64, 8>; 16],
            w2_16x32x8_vjp_with,
            w2_16x32x8_vjp_into,
            W216x32x8VjpWorkspace
        );
        w23!(
            4,
            32,
            8,
            [SVector<f64, 1024>; 4],
            w3_4x32x8_vjp_with,
            w3_4x32x8_vjp_into,
            W34x32x8VjpWorkspace
        );
        w23!(
            8,
            16,
            4,
            [SVector<f64, 256>; 8],
            w3_8x16x4_vjp_with,
            w3_8x16x4_vjp_into,
            W38x16x4VjpWorkspace
        );
        w23!(
            4,
            64,
            16,
            [SVector<f64, 4096>; 4],
            w3_4x64x16_vjp_with,
            w3_4x64x16_vjp_into,
            W34x64x16VjpWorkspace
        );
        macro_rules! w4 {
            ($p:literal, $pp:literal, $with:ident, $into:ident, $ws:ident) => {{
                let (a, b, x) = (fill::<$p, $p>(1), fill::<$p, $p>(2), fill::<$pp, 1>(3));
                let ct = fill::<$pp, 1>(4);
                let mut g = (
                    Box::new(SMatrix::<f64, $p, $p>::zeros()),
                    Box::new(SMatrix::<f64, $p, $p>::zeros()),
                    Box::new(SMatrix::<f64, $pp, 1>::zeros()),
                );
                check!(
                    $with,
                    $into,
                    $ws,
                    (&a, &b, &x, &ct),
                    (&mut g.0, &mut g.1, &mut g.2)
                );
            }};
        }
        w4!(8, 64, w4_8_vjp_with, w4_8_vjp_into, W48VjpWorkspace);
        w4!(16, 256, w4_16_vjp_with, w4_16_vjp_into, W416VjpWorkspace);
        w4!(24, 576, w4_24_vjp_with, w4_24_vjp_into, W424VjpWorkspace);
    });
}

#[path = "../benches/workloads/named.rs"]
#[allow(dead_code)]
mod named;

/// Graphs over sizes only rustc knows (constants of a module, const
/// generic parameters) keep their buffers in the workspace: `_with`
/// allocates nothing, `_into` nothing after the thread's first call of each
/// instance.
#[test]
fn graphs_over_named_sizes_allocate_nothing() {
    on_big_stack(|| {
        let x = fill::<64, 64>(1);
        let mut out = Box::new(SMatrix::<f64, 64, 64>::zeros());
        let mut ws = named::W1PathWorkspace::new();
        assert_no_alloc!(named::w1_path_with(&x, &mut ws, &mut out));
        let mut ws = named::W1GenericWorkspace::<64, 64>::new();
        assert_no_alloc!(named::w1_generic_with(&x, &mut ws, &mut out));
        named::w1_generic_into(&x, &mut out);
        assert_no_alloc!(named::w1_generic_into(&x, &mut out));
        named::w1_path_into(&x, &mut out);
        assert_no_alloc!(named::w1_path_into(&x, &mut out));
        assert_no_alloc!(named::w1_named_into(&x, &mut out));
        let (a, b) = (folds::<4, 32, 8>(1), folds::<4, 32, 8>(2));
        let mut out2 = Box::new([SVector::<f64, 8>::zeros(); 4]);
        named::w2_generic_into(&a, &b, &mut out2);
        assert_no_alloc!(named::w2_generic_into(&a, &b, &mut out2));
        // Two instances of one generic graph in turn: each keeps its own
        // workspace on the thread, made on its first call.
        let y = fill::<32, 48>(2);
        let mut out_y = Box::new(SMatrix::<f64, 32, 48>::zeros());
        named::w1_generic_into(&y, &mut out_y);
        assert_no_alloc!({
            for _ in 0..3 {
                named::w1_generic_into(&x, &mut out);
                named::w1_generic_into(&y, &mut out_y);
            }
        });
    });
}
