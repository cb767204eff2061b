//! The stack budget, run: every benchmarked graph
//! (`benches/workloads/graphs.rs`, optimized and `optimize = false`) and the
//! five-op graph of the memory-planning issue,
//!
//! ```text
//! let a = softmax(x, axis = 1); let b = sigmoid(y); let c = hadamard(a, b);
//! add(exp(c), square(a))
//! ```
//!
//! at 256×256 and 1024×1024, `f64` and `f32`, fused and `fuse = false`, and
//! W1 at 1024×1024 in both types too (and its VJP), run
//! on a thread with a 2 MiB stack (`STACK`). Inputs and outputs are boxed
//! (`param_graph::runtime::zeroed_box`, filled in place: a 1024×1024 `f64`
//! input is 8 MB) before counting starts. For each fn:
//!
//! - `name_into` is called once (it may allocate its thread's workspace);
//!   a second `name_into` call allocates nothing (counting allocator,
//!   `tests/support/counting.rs`);
//! - `name_with` with a workspace made beforehand allocates nothing, and
//!   writes the same bits as `name_into`;
//! - the plan's summary (`NAME_PLAN`) puts at most 64 KiB of buffers on the
//!   stack.
//!
//! Values: the optimized graphs against their `optimize = false` copies
//! within 1e-9 relative (absolute floor 1e-10: sums of products of both
//! signs); the five-op graph fused against `fuse = false` within 1e-12
//! relative in `f64` (1e-6 in `f32`), and both against a hand-written `f64`
//! reference within 1e-12 (`f64`) / 1e-5 (`f32`) relative.

mod support;

#[macro_use]
#[path = "../benches/workloads/graphs.rs"]
mod graphs;

use graphs::*;
use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
use param_graph::runtime::zeroed_box;
use support::counting::{count_allocations, Counting};
use support::fill::pattern;
use support::{assert_close, assert_close_abs, FillRowMajor, RowMajor};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The stack of the threads the graphs run on.
const STACK: usize = 2 << 20;

/// The generated code's stack budget (`param_graph_compiler::memory::STACK_BUDGET`).
const BUDGET: usize = 64 << 10;

five!(five_1024, five_1024_unfused, f64, 1024);
five!(five_256_f32, five_256_f32_unfused, f32, 256);
five!(five_1024_f32, five_1024_f32_unfused, f32, 1024);

// W1 at 1024×1024 (the benchmark stops at 256×256), both element types.
param_graph! {
    pub fn w1_1024(x: &SMatrix<f64, 1024, 1024>) -> SMatrix<f64, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
    #[param_graph(optimize = false)]
    pub fn w1_1024_plain(x: &SMatrix<f64, 1024, 1024>) -> SMatrix<f64, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
    pub fn w1_1024_f32(x: &SMatrix<f32, 1024, 1024>) -> SMatrix<f32, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
    #[param_graph(optimize = false)]
    pub fn w1_1024_f32_plain(x: &SMatrix<f32, 1024, 1024>) -> SMatrix<f32, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
    // The same with their VJPs (`w1_1024_grad_vjp`, …).
    #[param_graph(vjp)]
    pub fn w1_1024_grad(x: &SMatrix<f64, 1024, 1024>) -> SMatrix<f64, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
    #[param_graph(vjp)]
    pub fn w1_1024_f32_grad(x: &SMatrix<f32, 1024, 1024>) -> SMatrix<f32, 1024, 1024> {
        log(softmax(x, axis = 1))
    }
}

/// Runs `f` on a fresh thread with a [`STACK`]-byte stack.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the checks passed on a 2 MiB stack");
}

/// `(stack, workspace)` bytes from the last line of a plan.
fn plan_bytes(plan: &str) -> (usize, usize) {
    let last = plan.lines().last().unwrap_or_default();
    let field = |key: &str| -> usize {
        let rest = last
            .split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("no `{key}` in plan summary `{last}`"));
        rest.trim_start()
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad `{key}` in plan summary `{last}`"))
    };
    (field("stack buffers:"), field("workspace:"))
}

/// The checks on one fn: `into(out)` calls `name_into`, `with(ws, out)`
/// calls `name_with`, `new_ws` is `NameWorkspace::new`. Returns the result
/// (row-major).
fn exercise<O: RowMajor, W>(
    name: &str,
    plan: &str,
    outs: (&mut O, &mut O),
    mut into: impl FnMut(&mut O),
    new_ws: impl FnOnce() -> W,
    mut with: impl FnMut(&mut W, &mut O),
) -> Vec<f64> {
    let (stack, workspace) = plan_bytes(plan);
    assert!(stack <= BUDGET, "{name}: {stack} bytes on the stack");
    let (out, out2) = outs;
    // The first call may allocate this thread's workspace.
    let ((), first) = count_allocations(|| into(out));
    if workspace == 0 {
        assert_eq!(
            first, 0,
            "{name}_into: no workspace, yet {first} allocations"
        );
    }
    let ((), again) = count_allocations(|| into(out));
    assert_eq!(
        again, 0,
        "{name}_into allocated {again} times after its first call"
    );
    let mut ws = new_ws();
    let ((), n) = count_allocations(|| with(&mut ws, out2));
    assert_eq!(n, 0, "{name}_with allocated {n} times");
    let (a, b) = (out.to_row_major(), out2.to_row_major());
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "{name}: `_into` and `_with` differ"
    );
    eprintln!(
        "{name}: stack {stack} B, workspace {workspace} B, first `_into` call: {first} allocations"
    );
    a
}

/// A boxed input filled with [`pattern`]`(seed)`.
macro_rules! input {
    ($ty:ty, $seed:expr) => {{
        let mut x: Box<$ty> = zeroed_box();
        x.fill_row_major(&mut pattern($seed));
        x
    }};
}

/// Exercises `$f` (with `$f_into`, `$f_with`, `$ws`, `$plan`) on `args`,
/// writing an `$out`; evaluates to the row-major result.
macro_rules! run {
    ($f:expr, $into:ident, $with:ident, $ws:ident, $plan:ident, $out:ty, ($($arg:expr),*)) => {{
        let (mut o1, mut o2): (Box<$out>, Box<$out>) = (zeroed_box(), zeroed_box());
        exercise(
            $f,
            $plan,
            (&mut *o1, &mut *o2),
            |o| $into($($arg,)* o),
            $ws::new,
            |ws, o| $with($($arg,)* ws, o),
        )
    }};
}

#[test]
#[rustfmt::skip]
fn w1_graphs_run_on_a_small_stack_without_allocating() {
    on_small_stack(|| {
        macro_rules! w1 {
            ($r:literal, $c:literal, $f:ident, $fw:ident, $fws:ident, $fp:ident,
             $p:ident, $pw:ident, $pws:ident, $pp:ident) => {{
                let x = input!(SMatrix<f64, $r, $c>, 1);
                let opt = run!(stringify!($f), $f, $fw, $fws, $fp, SMatrix<f64, $r, $c>, (&x));
                let plain = run!(stringify!($p), $p, $pw, $pws, $pp, SMatrix<f64, $r, $c>, (&x));
                assert_close_abs(stringify!($f), &opt, &plain, 1e-9, 1e-10);
            }};
        }
        {
            w1!(4, 8, w1_4x8_into, w1_4x8_with, W14x8Workspace, W1_4X8_PLAN,
                w1_4x8_plain_into, w1_4x8_plain_with, W14x8PlainWorkspace, W1_4X8_PLAIN_PLAN);
            w1!(16, 16, w1_16x16_into, w1_16x16_with, W116x16Workspace, W1_16X16_PLAN,
                w1_16x16_plain_into, w1_16x16_plain_with, W116x16PlainWorkspace, W1_16X16_PLAIN_PLAN);
            w1!(64, 64, w1_64x64_into, w1_64x64_with, W164x64Workspace, W1_64X64_PLAN,
                w1_64x64_plain_into, w1_64x64_plain_with, W164x64PlainWorkspace, W1_64X64_PLAIN_PLAN);
            w1!(256, 256, w1_256x256_into, w1_256x256_with, W1256x256Workspace, W1_256X256_PLAN,
                w1_256x256_plain_into, w1_256x256_plain_with, W1256x256PlainWorkspace, W1_256X256_PLAIN_PLAN);
        }
    });
}

#[test]
#[rustfmt::skip]
fn w1_at_1024_runs_on_a_small_stack_without_allocating() {
    on_small_stack(|| {
        let x = input!(SMatrix<f64, 1024, 1024>, 1);
        let opt = run!("w1_1024", w1_1024_into, w1_1024_with, W11024Workspace, W1_1024_PLAN, SMatrix<f64, 1024, 1024>, (&x));
        let plain = run!("w1_1024_plain", w1_1024_plain_into, w1_1024_plain_with, W11024PlainWorkspace, W1_1024_PLAIN_PLAN, SMatrix<f64, 1024, 1024>, (&x));
        assert_close_abs("w1_1024", &opt, &plain, 1e-9, 1e-10);
        let x = input!(SMatrix<f32, 1024, 1024>, 2);
        let opt = run!("w1_1024_f32", w1_1024_f32_into, w1_1024_f32_with, W11024F32Workspace, W1_1024_F32_PLAN, SMatrix<f32, 1024, 1024>, (&x));
        let plain = run!("w1_1024_f32_plain", w1_1024_f32_plain_into, w1_1024_f32_plain_with, W11024F32PlainWorkspace, W1_1024_F32_PLAIN_PLAN, SMatrix<f32, 1024, 1024>, (&x));
        assert_close_abs("w1_1024_f32", &opt, &plain, 1e-5, 1e-6);
    });
}

/// The VJP of W1 at 1024×1024 (8 MB of `f64` per tensor) under the same
/// checks, against `ḡ − softmax(x)·Σḡ` per row computed here in `f64`
/// (1e-12 relative, 1e-14 absolute), and its `f32` twin within 1e-5
/// relative of that.
#[test]
#[rustfmt::skip]
fn w1_vjp_at_1024_runs_on_a_small_stack_without_allocating() {
    on_small_stack(|| {
        let (x, ct) = (input!(SMatrix<f64, 1024, 1024>, 1), input!(SMatrix<f64, 1024, 1024>, 3));
        let got = run!("w1_1024_grad_vjp", w1_1024_grad_vjp_into, w1_1024_grad_vjp_with, W11024GradVjpWorkspace, W1_1024_GRAD_VJP_PLAN, SMatrix<f64, 1024, 1024>, (&x, &ct));
        let mut want = vec![0.0; 1024 * 1024];
        for i in 0..1024 {
            let m = (0..1024).map(|j| x[(i, j)]).fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..1024).map(|j| (x[(i, j)] - m).exp()).sum();
            let g: f64 = (0..1024).map(|j| ct[(i, j)]).sum();
            for j in 0..1024 {
                want[i * 1024 + j] = ct[(i, j)] - (x[(i, j)] - m).exp() / s * g;
            }
        }
        assert_close_abs("w1_1024_grad_vjp", &got, &want, 1e-12, 1e-14);
        let (x32, ct32) = (input!(SMatrix<f32, 1024, 1024>, 1), input!(SMatrix<f32, 1024, 1024>, 3));
        let got32 = run!("w1_1024_f32_grad_vjp", w1_1024_f32_grad_vjp_into, w1_1024_f32_grad_vjp_with, W11024F32GradVjpWorkspace, W1_1024_F32_GRAD_VJP_PLAN, SMatrix<f32, 1024, 1024>, (&x32, &ct32));
        assert_close_abs("w1_1024_f32_grad_vjp", &got32, &want, 1e-5, 1e-5);
    });
}

#[test]
#[rustfmt::skip]
fn w2_w3_graphs_run_on_a_small_stack_without_allocating() {
    on_small_stack(|| {
        macro_rules! w23 {
            ($fo:literal, $j:literal, $k:literal, $out:ty, $f:ident, $fw:ident, $fws:ident, $fp:ident,
             $p:ident, $pw:ident, $pws:ident, $pp:ident) => {{
                let a = input!([SMatrix<f64, $j, $k>; $fo], 1);
                let b = input!([SMatrix<f64, $j, $k>; $fo], 2);
                let opt = run!(stringify!($f), $f, $fw, $fws, $fp, $out, (&a, &b));
                let plain = run!(stringify!($p), $p, $pw, $pws, $pp, $out, (&a, &b));
                assert_close_abs(stringify!($f), &opt, &plain, 1e-9, 1e-10);
            }};
        }
        {
            w23!(4, 32, 8, [SVector<f64, 8>; 4], w2_4x32x8_into, w2_4x32x8_with, W24x32x8Workspace, W2_4X32X8_PLAN,
                w2_4x32x8_plain_into, w2_4x32x8_plain_with, W24x32x8PlainWorkspace, W2_4X32X8_PLAIN_PLAN);
            w23!(4, 64, 16, [SVector<f64, 16>; 4], w2_4x64x16_into, w2_4x64x16_with, W24x64x16Workspace, W2_4X64X16_PLAN,
                w2_4x64x16_plain_into, w2_4x64x16_plain_with, W24x64x16PlainWorkspace, W2_4X64X16_PLAIN_PLAN);
            w23!(16, 32, 8, [SVector<f64, 8>; 16], w2_16x32x8_into, w2_16x32x8_with, W216x32x8Workspace, W2_16X32X8_PLAN,
                w2_16x32x8_plain_into, w2_16x32x8_plain_with, W216x32x8PlainWorkspace, W2_16X32X8_PLAIN_PLAN);
            w23!(4, 32, 8, [SVector<f64, 1024>; 4], w3_4x32x8_into, w3_4x32x8_with, W34x32x8Workspace, W3_4X32X8_PLAN,
                w3_4x32x8_plain_into, w3_4x32x8_plain_with, W34x32x8PlainWorkspace, W3_4X32X8_PLAIN_PLAN);
            w23!(8, 16, 4, [SVector<f64, 256>; 8], w3_8x16x4_into, w3_8x16x4_with, W38x16x4Workspace, W3_8X16X4_PLAN,
                w3_8x16x4_plain_into, w3_8x16x4_plain_with, W38x16x4PlainWorkspace, W3_8X16X4_PLAIN_PLAN);
            w23!(4, 64, 16, [SVector<f64, 4096>; 4], w3_4x64x16_into, w3_4x64x16_with, W34x64x16Workspace, W3_4X64X16_PLAN,
                w3_4x64x16_plain_into, w3_4x64x16_plain_with, W34x64x16PlainWorkspace, W3_4X64X16_PLAIN_PLAN);
        }
    });
}

#[test]
#[rustfmt::skip]
fn w4_graphs_run_on_a_small_stack_without_allocating() {
    on_small_stack(|| {
        macro_rules! w4 {
            ($p_:literal, $pp_:literal, $f:ident, $fw:ident, $fws:ident, $fp:ident,
             $p:ident, $pw:ident, $pws:ident, $pp:ident) => {{
                let a = input!(SMatrix<f64, $p_, $p_>, 1);
                let b = input!(SMatrix<f64, $p_, $p_>, 2);
                let x = input!(SMatrix<f64, $pp_, 1>, 3);
                let opt = run!(stringify!($f), $f, $fw, $fws, $fp, SMatrix<f64, $pp_, 1>, (&a, &b, &x));
                let plain = run!(stringify!($p), $p, $pw, $pws, $pp, SMatrix<f64, $pp_, 1>, (&a, &b, &x));
                assert_close_abs(stringify!($f), &opt, &plain, 1e-9, 1e-10);
            }};
        }
        {
            w4!(8, 64, w4_8_into, w4_8_with, W48Workspace, W4_8_PLAN,
                w4_8_plain_into, w4_8_plain_with, W48PlainWorkspace, W4_8_PLAIN_PLAN);
            w4!(16, 256, w4_16_into, w4_16_with, W416Workspace, W4_16_PLAN,
                w4_16_plain_into, w4_16_plain_with, W416PlainWorkspace, W4_16_PLAIN_PLAN);
            w4!(24, 576, w4_24_into, w4_24_with, W424Workspace, W4_24_PLAN,
                w4_24_plain_into, w4_24_plain_with, W424PlainWorkspace, W4_24_PLAIN_PLAN);
        }
    });
}

/// The five-op graph at `$n`×`$n` over `$t`: fused against `fuse = false`
/// within `$rel_unfused`, both against [`five_hand`] within `$rel_hand`.
macro_rules! five_case {
    ($t:ident, $n:literal, $rel_unfused:expr, $rel_hand:expr,
     $f:ident, $fw:ident, $fws:ident, $fp:ident, $u:ident, $uw:ident, $uws:ident, $up:ident) => {
        on_small_stack(|| {
            let x = input!(SMatrix<$t, $n, $n>, 1);
            let y = input!(SMatrix<$t, $n, $n>, 2);
            let fused = run!(stringify!($f), $f, $fw, $fws, $fp, SMatrix<$t, $n, $n>, (&x, &y));
            let unfused = run!(stringify!($u), $u, $uw, $uws, $up, SMatrix<$t, $n, $n>, (&x, &y));
            assert!(
                $fp.lines().any(|l| l.contains("{fused}")),
                "{} fuses nothing:\n{}", stringify!($f), $fp
            );
            assert!(!$up.contains("{fused}"), "{} fuses:\n{}", stringify!($u), $up);
            assert_close(stringify!($f), &fused, &unfused, $rel_unfused);
            let mut want = vec![0.0; $n * $n];
            five_hand(&*x, &*y, &mut want);
            assert_close(concat!(stringify!($f), " vs hand"), &fused, &want, $rel_hand);
            assert_close(concat!(stringify!($u), " vs hand"), &unfused, &want, $rel_hand);
        })
    };
}

#[test]
#[rustfmt::skip]
fn five_op_256_f64() {
    five_case!(f64, 256, 1e-12, 1e-12,
        five_256_into, five_256_with, Five256Workspace, FIVE_256_PLAN,
        five_256_unfused_into, five_256_unfused_with, Five256UnfusedWorkspace, FIVE_256_UNFUSED_PLAN);
}

#[test]
#[rustfmt::skip]
fn five_op_1024_f64() {
    five_case!(f64, 1024, 1e-12, 1e-12,
        five_1024_into, five_1024_with, Five1024Workspace, FIVE_1024_PLAN,
        five_1024_unfused_into, five_1024_unfused_with, Five1024UnfusedWorkspace, FIVE_1024_UNFUSED_PLAN);
}

#[test]
#[rustfmt::skip]
fn five_op_256_f32() {
    five_case!(f32, 256, 1e-6, 1e-5,
        five_256_f32_into, five_256_f32_with, Five256F32Workspace, FIVE_256_F32_PLAN,
        five_256_f32_unfused_into, five_256_f32_unfused_with, Five256F32UnfusedWorkspace, FIVE_256_F32_UNFUSED_PLAN);
}

#[test]
#[rustfmt::skip]
fn five_op_1024_f32() {
    five_case!(f32, 1024, 1e-6, 1e-5,
        five_1024_f32_into, five_1024_f32_with, Five1024F32Workspace, FIVE_1024_F32_PLAN,
        five_1024_f32_unfused_into, five_1024_f32_unfused_with, Five1024F32UnfusedWorkspace, FIVE_1024_F32_UNFUSED_PLAN);
}

/// The plan summary parser reads both numbers.
#[test]
fn plan_summary_is_parsed() {
    assert_eq!(
        plan_bytes("x\noptimized; 5 nodes; stack buffers: 4096 bytes; workspace: 524288 bytes"),
        (4096, 524288)
    );
    assert!(plan_bytes(FIVE_1024_PLAN).0 <= BUDGET);
    // For `--nocapture`: what the five-op graph compiles to.
    eprintln!("{FIVE_256_PLAN}\n\n{FIVE_256_UNFUSED_PLAN}");
}

/// The benchmark's hand-written bound on the five-op tail computes what the
/// generated tail computes.
#[test]
fn five_tail_hand_vectorized_matches_the_generated_tail() {
    on_small_stack(|| {
        let a = input!(SMatrix<f64, 256, 256>, 3);
        let y = input!(SMatrix<f64, 256, 256>, 4);
        let (mut got, mut want): (Box<SMatrix<f64, 256, 256>>, Box<SMatrix<f64, 256, 256>>) =
            (zeroed_box(), zeroed_box());
        five_tail_hand_vectorized(&a, &y, &mut got);
        five_part_tail_into(&a, &y, &mut want);
        assert_close("tail", &got.to_row_major(), &want.to_row_major(), 1e-13);
    });
}
