//! The learning example (`examples/learn_digits/`): its region graph, its
//! parameter count against cirkit's, the gradient of the whole pipeline
//! (circuit and parameter graphs) against finite differences, short
//! training runs by Adam and by EM, the M-step's normalization, and
//! training steps without allocation.

mod support;

#[allow(dead_code)]
#[path = "../examples/learn_digits/adam.rs"]
mod adam;
#[allow(dead_code)]
#[path = "../examples/learn_digits/circuit.rs"]
mod circuit;
#[allow(dead_code)]
#[path = "../examples/learn_digits/data.rs"]
mod data;
#[allow(dead_code)]
#[path = "../examples/learn_digits/region_graph.rs"]
mod region_graph;
#[allow(dead_code)]
#[path = "../examples/learn_digits/train.rs"]
mod train;
#[allow(dead_code)]
#[path = "../examples/learn_digits/weights.rs"]
mod weights;

use region_graph::RegionGraph;
use support::counting::{count_allocations, Counting};
use train::Trainer;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn digits() -> data::Digits {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/uci_digits.csv.gz");
    data::load(&path).expect("the digits load")
}

#[test]
fn the_data_splits_as_the_issue_says() {
    let d = digits();
    assert_eq!((d.train.len(), d.test.len()), (1437, 360));
    assert!(d
        .train
        .iter()
        .chain(&d.test)
        .all(|im| im.iter().all(|p| *p <= 16)));
}

#[test]
fn every_partition_splits_its_region_and_the_counts_are_cirkits() {
    let g = RegionGraph::quad_graph(8, 8);
    let pixels = g.regions.iter().filter(|r| r.pixel.is_some()).count();
    assert_eq!((pixels, g.regions.len() - pixels), (64, 105));
    assert_eq!((g.partitions(), g.mixed()), (126, 21));
    for (r, region) in g.regions.iter().enumerate() {
        if let Some(v) = region.pixel {
            assert_eq!(region.scope, 1 << v);
            continue;
        }
        for &[a, b] in &region.partitions {
            // Inputs come first, are disjoint, and cover the region.
            assert!(a < r && b < r);
            let (sa, sb) = (g.regions[a].scope, g.regions[b].scope);
            assert_eq!(sa & sb, 0, "region {r}: overlapping inputs");
            assert_eq!(sa | sb, region.scope, "region {r}: inputs miss variables");
        }
    }
    assert_eq!(g.regions[g.root()].scope, u64::MAX);
    // A region is read by one partition (a pair) or two (a pixel or a
    // block), never more: the quad graph is a DAG, not a tree.
    let mut readers = vec![0; g.regions.len()];
    for region in &g.regions {
        for &[a, b] in &region.partitions {
            readers[a] += 1;
            readers[b] += 1;
        }
    }
    assert!(readers[..g.root()].iter().all(|n| *n == 1 || *n == 2));
}

#[test]
fn the_parameter_count_is_cirkits_formula() {
    // 64·256·K categorical, 252 dense K×K, 20 mixing K×2, 2 dense 1×K and
    // a 1×2 root mixing: 252K² + 16426K + 2 (327 330 at K = 16).
    let count = |k: usize| 252 * k * k + 16426 * k + 2;
    assert_eq!(count(16), 327_330);
    assert_eq!(Trainer::<2>::new(1, 0.01, 1).parameters(), count(2));
    assert_eq!(Trainer::<8>::new(1, 0.01, 1).parameters(), count(8));
    assert_eq!(Trainer::<16>::new(1, 0.01, 1).parameters(), count(16));
}

/// Central differences of the mean NLL of four images along 60 parameter
/// coordinates, spread over every tensor, against the gradient (circuit
/// backward + the parameter graph's VJP): within `1e-6·|fd| + 1e-7`, the
/// absolute term the difference's round-off (`ε·|L|/h ≈ 1e-16·350/1e-6`).
#[test]
fn the_whole_gradient_matches_finite_differences() {
    let d = digits();
    let batch = &d.train[..4];
    let mut t = Trainer::<2>::new(7, 0.01, batch.len());
    t.gradient(batch);
    let grads: Vec<Vec<f64>> = t.grads().slices().map(<[f64]>::to_vec).collect();
    let lens: Vec<usize> = grads.iter().map(Vec::len).collect();
    let total: usize = lens.iter().sum();
    let mut checked = 0;
    for n in 0..60 {
        // Every 60th of the flat index space, then into a matrix and entry.
        let mut flat = n * total / 60 + n % 7;
        let m = lens.iter().position(|l| {
            if flat < *l {
                true
            } else {
                flat -= l;
                false
            }
        });
        let Some(m) = m else { continue };
        let h = 1e-6;
        let loss_at = |t: &mut Trainer<2>, delta: f64| {
            t.raw.slices_mut().nth(m).expect("matrix")[flat] += delta;
            let nll = t.gradient(batch);
            t.raw.slices_mut().nth(m).expect("matrix")[flat] -= delta;
            nll
        };
        let fd = (loss_at(&mut t, h) - loss_at(&mut t, -h)) / (2.0 * h);
        let got = grads[m][flat];
        assert!(
            (got - fd).abs() <= 1e-6 * fd.abs() + 1e-7,
            "matrix {m} entry {flat}: gradient {got}, finite difference {fd}"
        );
        checked += 1;
    }
    assert_eq!(checked, 60);
}

/// `epochs` epochs of `epoch` on 512 training images at K = 2 lower the
/// training loss and raise the test log-likelihood.
fn short_run_learns(
    lr: f64,
    epochs: usize,
    epoch: impl Fn(&mut Trainer<2>, &[data::Image]) -> f64,
) {
    let d = digits();
    let train = &d.train[..512];
    let mut t = Trainer::<2>::new(3, lr, train.len());
    let before = t.log_likelihood(&d.test);
    let first = epoch(&mut t, train);
    let mut last = first;
    for _ in 1..epochs {
        last = epoch(&mut t, train);
    }
    let after = t.log_likelihood(&d.test);
    assert!(last < first, "train NLL {first} → {last}");
    assert!(
        after.is_finite() && after > before,
        "test log-likelihood {before} → {after}"
    );
}

#[test]
fn a_short_training_run_learns() {
    short_run_learns(0.05, 5, |t, train| t.epoch(train));
}

#[test]
fn a_short_em_run_learns() {
    short_run_learns(0.01, 3, |t, train| t.em_epoch(train, 0.5, 0.01));
}

/// An M-step keeps every distribution normalized: the weights after it
/// (the softmaxes of the new logits) sum to 1 over each row.
#[test]
fn the_m_step_keeps_the_distributions_normalized() {
    use weights::{Parameterization, Softmaxes, Tensors};
    let d = digits();
    let mut t = Trainer::<2>::new(11, 0.01, 256);
    t.em_step(&d.train[..256], 0.5, 0.01);
    let mut w = Tensors::<2>::zeros();
    Softmaxes::weights(&t.raw, &mut w);
    // softmax(log w) = w: the logits are the weights' logs.
    for (logits, weights) in t.raw.slices().zip(w.slices()) {
        assert!(logits.iter().all(|l| l.is_finite()));
        assert!(weights.iter().all(|p| *p > 0.0 && *p <= 1.0));
    }
    for row in w.dense.iter() {
        for i in 0..2 {
            assert!((row.row(i).sum() - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn a_training_step_allocates_nothing_after_warm_up() {
    let d = digits();
    let mut t = Trainer::<16>::new(5, 0.01, d.train.len());
    // The first epoch makes the parameter graph's thread-local workspaces.
    t.epoch(&d.train);
    let (_, n) = count_allocations(|| t.epoch(&d.train));
    assert_eq!(n, 0, "a training epoch allocated {n} times");
    let (_, n) = count_allocations(|| t.log_likelihood(&d.test));
    assert_eq!(n, 0, "evaluation allocated {n} times");
    // EM: the first epoch makes the M-step graph's workspace.
    t.em_epoch(&d.train, 0.5, 0.01);
    let (_, n) = count_allocations(|| t.em_epoch(&d.train, 0.5, 0.01));
    assert_eq!(n, 0, "an EM epoch allocated {n} times");
}
