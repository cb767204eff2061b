//! The products the optimizer removes are never formed — shown by running:
//! each graph below would need hundreds of megabytes if the outer or
//! Kronecker product existed, yet it runs in a thread with an 8 MB stack
//! while a counting allocator sees no allocation at all. So do their VJPs
//! (`name_vjp_with`, the workspace made beforehand), whose backward passes
//! never form the products either.

use param_graph::nalgebra::{SMatrix, SVector};
use param_graph::param_graph;
mod support;

use support::counting::{allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

param_graph! {
    /// outer_product(a, b, axis = 0) would be (4194304, 8): 268 MB.
    #[param_graph(vjp)]
    fn sum_outer_same_axis(a: &SMatrix<f64, 2048, 8>, b: &SMatrix<f64, 2048, 8>) -> SVector<f64, 8> {
        reduce_sum(outer_product(a, b, axis = 0), axis = 0)
    }

    /// outer_product(a, b, axis = 0) would be (65536, 512): 268 MB.
    #[param_graph(vjp)]
    fn sum_outer_other_axis(a: &SMatrix<f64, 256, 512>, b: &SMatrix<f64, 256, 512>) -> SVector<f64, 65536> {
        reduce_sum(outer_product(a, b, axis = 0), axis = 1)
    }

    /// kron(a, b) would be 4096 × 4096: 134 MB.
    #[param_graph(vjp)]
    fn kron_times_vector(a: &SMatrix<f64, 64, 64>, b: &SMatrix<f64, 64, 64>, x: &SMatrix<f64, 4096, 1>) -> SMatrix<f64, 4096, 1> {
        matmul(kron(a, b), x)
    }
}

/// Builds the inputs with `setup` (on a roomy stack: nalgebra's
/// constructors keep temporaries there in debug builds), then, in a fresh
/// thread with an 8 MB stack, runs `call` on them, counting its
/// allocations, and hands its result to `after` (there too: results are
/// large). Returns the allocations, what `after` returns and the inputs.
fn on_8_mb_stack<I: Send + 'static, O, R: Send + 'static>(
    setup: impl FnOnce() -> I + Send + 'static,
    call: impl FnOnce(&mut I) -> O + Send + 'static,
    after: impl FnOnce(&I, O) -> R + Send + 'static,
) -> (usize, R, I) {
    let mut inputs = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(setup)
        .expect("spawn")
        .join()
        .expect("inputs built");
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let before = allocations();
            let out = call(&mut inputs);
            let made = allocations() - before;
            (made, after(&inputs, out), inputs)
        })
        .expect("spawn")
        .join()
        .expect("the graph ran")
}

/// [`on_8_mb_stack`] with `check` as `after`; returns the allocations.
fn on_small_stack<I: Send + 'static, O>(
    setup: impl FnOnce() -> I + Send + 'static,
    call: impl FnOnce(&I) -> O + Send + 'static,
    check: impl FnOnce(&I, O) + Send + 'static,
) -> usize {
    on_8_mb_stack(setup, |inputs| call(inputs), check).0
}

#[test]
fn sum_of_outer_product_on_the_same_axis() {
    let n = on_small_stack(
        || {
            let a = Box::new(SMatrix::<f64, 2048, 8>::from_fn(|i, j| {
                ((i * 8 + j) % 7) as f64 - 3.0
            }));
            let b = Box::new(SMatrix::<f64, 2048, 8>::from_fn(|i, j| {
                ((i + j) % 5) as f64 * 0.5
            }));
            (a, b)
        },
        |(a, b)| sum_outer_same_axis(a, b),
        |(a, b), y| {
            for k in 0..8 {
                let want = a.column(k).sum() * b.column(k).sum();
                assert!(
                    (y[k] - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{k}: {} vs {want}",
                    y[k]
                );
            }
        },
    );
    assert_eq!(n, 0, "allocations during the call");
}

#[test]
fn sum_of_outer_product_on_another_axis() {
    let n = on_small_stack(
        || {
            let a = Box::new(SMatrix::<f64, 256, 512>::from_fn(|i, j| {
                ((i * 3 + j) % 11) as f64 * 0.1
            }));
            let b = Box::new(SMatrix::<f64, 256, 512>::from_fn(|i, j| {
                ((i + 2 * j) % 13) as f64 * 0.1 - 0.5
            }));
            (a, b)
        },
        |(a, b)| sum_outer_other_axis(a, b),
        |(a, b), y| {
            // Spot checks: y[i·256 + j] = Σ_k a[i, k] b[j, k].
            for (i, j) in [(0, 0), (3, 200), (255, 1), (128, 255)] {
                let want = a.row(i).dot(&b.row(j));
                let got = y[i * 256 + j];
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{got} vs {want}"
                );
            }
        },
    );
    assert_eq!(n, 0, "allocations during the call");
}

#[test]
fn kronecker_times_vector() {
    let n = on_small_stack(
        || {
            let a = SMatrix::<f64, 64, 64>::from_fn(|i, j| ((i * 64 + j) % 9) as f64 * 0.25 - 1.0);
            let b = SMatrix::<f64, 64, 64>::from_fn(|i, j| ((i + 3 * j) % 7) as f64 * 0.5 - 1.5);
            let x = SMatrix::<f64, 4096, 1>::from_fn(|i, _| (i % 17) as f64 * 0.125);
            (a, b, x)
        },
        |(a, b, x)| kron_times_vector(a, b, x),
        |(a, b, x), y| {
            // Spot checks against the definition, row i·64 + k.
            for (i, k) in [(0, 0), (5, 63), (63, 7), (31, 32)] {
                let mut want = 0.0;
                for j in 0..64 {
                    for l in 0..64 {
                        want += a[(i, j)] * b[(k, l)] * x[j * 64 + l];
                    }
                }
                let got = y[i * 64 + k];
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{got} vs {want}"
                );
            }
        },
    );
    assert_eq!(n, 0, "allocations during the call");
}

/// Runs a VJP (`call`) on inputs, workspace and gradient storage built by
/// `setup`, on an 8 MB stack: the allocations it made, and what `setup`
/// built (the gradients written).
fn vjp_on_small_stack<I: Send + 'static>(
    setup: impl FnOnce() -> I + Send + 'static,
    call: impl FnOnce(&mut I) + Send + 'static,
) -> (usize, I) {
    let (made, (), inputs) = on_8_mb_stack(setup, call, |_, ()| ());
    (made, inputs)
}

#[track_caller]
fn assert_close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{got} vs {want}"
    );
}

#[test]
fn vjp_of_the_sum_of_outer_product_on_the_same_axis() {
    type M = SMatrix<f64, 2048, 8>;
    let (n, (a, b, ct, _, grads)) = vjp_on_small_stack(
        || {
            let a = Box::new(M::from_fn(|i, j| ((i * 8 + j) % 7) as f64 - 3.0));
            let b = Box::new(M::from_fn(|i, j| ((i + j) % 5) as f64 * 0.5));
            let ct = SVector::<f64, 8>::from_fn(|k, _| k as f64 - 3.5);
            let grads = (Box::new(M::zeros()), Box::new(M::zeros()));
            (a, b, ct, SumOuterSameAxisVjpWorkspace::new(), grads)
        },
        |(a, b, ct, ws, (ga, gb))| sum_outer_same_axis_vjp_with(a, b, ct, ws, (ga, gb)),
    );
    assert_eq!(n, 0, "allocations during the call");
    // y[k] = (Σ_i a[i, k])·(Σ_i b[i, k]): ā[i, k] = ȳ[k]·Σ_i b[i, k].
    for (i, k) in [(0, 0), (2047, 7), (1000, 3)] {
        assert_close(grads.0[(i, k)], ct[k] * b.column(k).sum());
        assert_close(grads.1[(i, k)], ct[k] * a.column(k).sum());
    }
}

#[test]
fn vjp_of_the_sum_of_outer_product_on_another_axis() {
    type M = SMatrix<f64, 256, 512>;
    let (n, (a, b, ct, _, grads)) = vjp_on_small_stack(
        || {
            let a = Box::new(M::from_fn(|i, j| ((i * 3 + j) % 11) as f64 * 0.1));
            let b = Box::new(M::from_fn(|i, j| ((i + 2 * j) % 13) as f64 * 0.1 - 0.5));
            let ct = Box::new(SVector::<f64, 65536>::from_fn(|k, _| {
                ((k % 19) as f64) * 0.25 - 2.0
            }));
            let grads = (Box::new(M::zeros()), Box::new(M::zeros()));
            (
                a,
                b,
                ct,
                Box::new(SumOuterOtherAxisVjpWorkspace::new()),
                grads,
            )
        },
        |(a, b, ct, ws, (ga, gb))| sum_outer_other_axis_vjp_with(a, b, ct, ws, (ga, gb)),
    );
    assert_eq!(n, 0, "allocations during the call");
    // y[i·256 + j] = Σ_k a[i, k] b[j, k]: ā[i, k] = Σ_j ȳ[i·256 + j] b[j, k],
    // b̄[j, k] = Σ_i ȳ[i·256 + j] a[i, k].
    for (i, k) in [(0, 0), (3, 511), (255, 17), (128, 300)] {
        let da: f64 = (0..256).map(|j| ct[i * 256 + j] * b[(j, k)]).sum();
        let db: f64 = (0..256).map(|r| ct[r * 256 + i] * a[(r, k)]).sum();
        assert_close(grads.0[(i, k)], da);
        assert_close(grads.1[(i, k)], db);
    }
}

#[test]
fn vjp_of_the_kronecker_product_times_a_vector() {
    type M = SMatrix<f64, 64, 64>;
    type V = SMatrix<f64, 4096, 1>;
    let (n, (a, b, x, ct, _, grads)) = vjp_on_small_stack(
        || {
            let a = Box::new(M::from_fn(|i, j| ((i * 64 + j) % 9) as f64 * 0.25 - 1.0));
            let b = Box::new(M::from_fn(|i, j| ((i + 3 * j) % 7) as f64 * 0.5 - 1.5));
            let x = Box::new(V::from_fn(|i, _| (i % 17) as f64 * 0.125));
            let ct = Box::new(V::from_fn(|i, _| (i % 23) as f64 * 0.1 - 1.0));
            let grads = (
                Box::new(M::zeros()),
                Box::new(M::zeros()),
                Box::new(V::zeros()),
            );
            (
                a,
                b,
                x,
                ct,
                Box::new(KronTimesVectorVjpWorkspace::new()),
                grads,
            )
        },
        |(a, b, x, ct, ws, (ga, gb, gx))| kron_times_vector_vjp_with(a, b, x, ct, ws, (ga, gb, gx)),
    );
    assert_eq!(n, 0, "allocations during the call");
    // Against the runtime's factored VJP (tested against the dense product
    // and finite differences in its own crate).
    let (da, db, dx) = param_graph::runtime::Kron::new(*a, *b).mul_mat_vjp(&*x, &*ct);
    for k in 0..4096 {
        assert_close(grads.2[k], dx[k]);
    }
    for (i, j) in [(0, 0), (63, 1), (17, 40), (5, 63)] {
        assert_close(grads.0[(i, j)], da[(i, j)]);
        assert_close(grads.1[(i, j)], db[(i, j)]);
    }
}
