//! cirkit's image circuit trained on the UCI optical digits in Rust: every
//! parameter tensor computed by `param_graph!` (softmaxes of raw
//! parameters, `weights.rs`), differentiated by its generated VJP, the
//! circuit's own passes in plain Rust (`circuit.rs`).
//!
//! ```sh
//! cargo run --release --example learn_digits -- [--k 16] [--epochs 100] [--seed 42] [--plot target/learning_curve.svg]
//! ```
//!
//! The model is the one cirkit's learning tutorial builds for a (1, 8, 8)
//! image: `data_modalities.image_data((1, 8, 8), region_graph='quad-graph',
//! input_layer='categorical', num_input_units=K, sum_product_layer='cp',
//! num_sum_units=K, sum_weight_param=Parameterization(activation='softmax',
//! initialization='normal'))`, trained with Adam (lr 0.01, batch 256) on the
//! mean negative log-likelihood (`bench/cirkit_digits.py` runs it in
//! cirkit). Data: E. Alpaydin and C. Kaynak, UCI Machine Learning
//! Repository, CC BY 4.0 (`data/uci_digits.csv.gz`).

mod adam;
mod circuit;
mod data;
mod plot;
mod region_graph;
mod train;
mod weights;

use std::path::PathBuf;
use std::time::Instant;
use train::Trainer;
use weights::{Parameterization, Softmaxes};

/// The command line.
pub struct Options {
    /// Units per layer: 2, 8 or 16.
    pub k: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Seed of the initialization and the shuffling.
    pub seed: u64,
    /// Where the learning curve goes (SVG).
    pub plot: PathBuf,
    /// Adam, EM, or both one after the other (one figure).
    pub methods: Vec<Method>,
    /// EM's step size.
    pub eta: f64,
    /// EM's pseudocount.
    pub alpha: f64,
}

/// `--help`.
const HELP: &str = "learn_digits: cirkit's quad-graph image circuit trained on the UCI digits

usage: cargo run --release --example learn_digits -- [OPTIONS]

  --k K          units per layer: 2, 8 or 16 (default 16)
  --epochs N     passes over the 1437 training images (default 100; 0: evaluate only)
  --seed S       seed of the N(0, 1) initialization and of the shuffling (default 42)
  --plot FILE    the learning curve, SVG (default target/learning_curve.svg)
  --em           learn by mini-batch EM instead of Adam
  --both         learn by Adam, then by EM from the same start; one figure
  --eta E        EM's step size in (0, 1] (default 0.5)
  --alpha A      EM's pseudocount (default 0.01)
  -h, --help     this text";

/// The value of option `name`, parsed as a `T`.
fn value<T: std::str::FromStr>(
    parser: &mut lexopt::Parser,
    name: &str,
    what: &str,
) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let raw = parser.value().map_err(|e| e.to_string())?;
    let text = raw.to_string_lossy();
    text.parse()
        .map_err(|e| format!("--{name} {text}: expected {what} ({e})"))
}

fn options() -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut o = Options {
        k: 16,
        epochs: 100,
        seed: 42,
        plot: PathBuf::from("target/learning_curve.svg"),
        methods: vec![Method::Adam],
        eta: 0.5,
        alpha: 0.01,
    };
    let (mut em, mut both, mut em_options) = (false, false, Vec::new());
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("k") => o.k = value(&mut parser, "k", "2, 8 or 16")?,
            Long("epochs") => o.epochs = value(&mut parser, "epochs", "a non-negative integer")?,
            Long("seed") => o.seed = value(&mut parser, "seed", "a non-negative integer")?,
            Long("plot") => o.plot = parser.value().map_err(|e| e.to_string())?.into(),
            Long("em") => em = true,
            Long("both") => both = true,
            Long("eta") => {
                o.eta = value(&mut parser, "eta", "a step size in (0, 1]")?;
                em_options.push("--eta");
            }
            Long("alpha") => {
                o.alpha = value(&mut parser, "alpha", "a non-negative pseudocount")?;
                em_options.push("--alpha");
            }
            Long("help") | Short('h') => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().to_string()),
        }
    }
    o.methods = match (em, both) {
        (_, true) => vec![Method::Adam, Method::Em],
        (true, false) => vec![Method::Em],
        (false, false) => vec![Method::Adam],
    };
    if let Some(option) = em_options.first().filter(|_| !(em || both)) {
        return Err(format!("{option} sets EM's parameters: add --em or --both"));
    }
    if !(o.eta > 0.0 && o.eta <= 1.0) {
        return Err(format!("--eta {}: the step size must be in (0, 1]", o.eta));
    }
    if !(o.alpha >= 0.0 && o.alpha.is_finite()) {
        return Err(format!(
            "--alpha {}: the pseudocount must be finite and at least 0",
            o.alpha
        ));
    }
    if ![2, 8, 16].contains(&o.k) {
        return Err(format!(
            "--k {}: this example instantiates its graphs at K = 2, 8 and 16 (sizes are types: another K is one more arm in `train_and_report`)",
            o.k
        ));
    }
    Ok(o)
}

pub fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("learn_digits: {e} (try --help)");
            std::process::exit(2);
        }
    };
    if let Err(e) = train_and_report(&o) {
        eprintln!("learn_digits: {e}");
        std::process::exit(1);
    }
}

/// Loads the data, trains as `o` says and prints the report (progress,
/// test log-likelihood, the JSON line) and the learning curve.
pub fn train_and_report(o: &Options) -> Result<(), String> {
    // Fail now, not after training, if the plot cannot be written.
    if o.epochs > 0 {
        if let Some(dir) = o.plot.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("--plot {}: {e}", o.plot.display()))?;
        }
        std::fs::File::create(&o.plot).map_err(|e| format!("--plot {}: {e}", o.plot.display()))?;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/uci_digits.csv.gz");
    let digits = data::load(&path)?;
    match o.k {
        2 => run::<2>(o, &digits),
        8 => run::<8>(o, &digits),
        16 => run::<16>(o, &digits),
        k => Err(format!(
            "--k {k}: this example instantiates its graphs at K = 2, 8 and 16 (sizes are types: another K is one more arm in `train_and_report`)"
        )),
    }
}

/// How the circuit learns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Adam on the mean negative log-likelihood (cirkit's tutorial).
    Adam,
    /// Mini-batch EM: flows from the backward pass, the M-step graph.
    Em,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Adam => "adam",
            Method::Em => "em",
        }
    }
}

fn run<const K: usize>(o: &Options, digits: &data::Digits) -> Result<(), String>
where
    Softmaxes: Parameterization<K>,
{
    let graph = region_graph::RegionGraph::quad_graph(8, 8);
    println!(
        "quad graph over 8×8 pixels: {} regions, {} partitions, {} regions mixing two",
        graph.regions.len(),
        graph.partitions(),
        graph.mixed()
    );
    let mut curves = Vec::new();
    for &method in &o.methods {
        let mut trainer = Trainer::<K>::new(o.seed, 0.01, digits.train.len());
        println!(
            "UCI digits: {} train, {} test images; K = {K}: {} learnable parameters; learning by {}",
            digits.train.len(),
            digits.test.len(),
            trainer.parameters(),
            match method {
                Method::Adam => "Adam (lr 0.01, batches of 256)".to_string(),
                Method::Em => format!("mini-batch EM (step size {}, pseudocount {}, batches of 256)", o.eta, o.alpha),
            }
        );
        println!(
            "initial test log-likelihood: {:.3} nats per image",
            trainer.log_likelihood(&digits.test)
        );
        let mut curve = Vec::with_capacity(o.epochs);
        let mut seconds = Vec::with_capacity(o.epochs);
        for epoch in 1..=o.epochs {
            let start = Instant::now();
            let nll = match method {
                Method::Adam => trainer.epoch(&digits.train),
                Method::Em => trainer.em_epoch(&digits.train, o.eta, o.alpha),
            };
            let s = start.elapsed().as_secs_f64();
            println!("epoch {epoch:3}  train NLL {nll:9.4}  {s:.3} s");
            if !nll.is_finite() {
                let hint = if method == Method::Em && o.alpha == 0.0 {
                    " (without a pseudocount an M-step can set a probability to 0: give a positive --alpha)"
                } else {
                    ""
                };
                return Err(format!(
                    "epoch {epoch}: the training loss is {nll}, so training stopped{hint}"
                ));
            }
            curve.push(nll);
            seconds.push(s);
        }
        let test_ll = trainer.log_likelihood(&digits.test);
        let bpp = -test_ll / (64.0 * std::f64::consts::LN_2);
        println!("test log-likelihood: {test_ll:.4} nats per image, {bpp:.4} bits per pixel");
        seconds.sort_by(f64::total_cmp);
        let median = seconds.get(seconds.len() / 2).copied().unwrap_or(0.0);
        curves.push((method, curve, -test_ll));
        println!(
            "{{\"method\": \"{}\", \"params\": {}, \"epochs\": {}, \"test_ll_nats\": {test_ll:.6}, \"test_bpp\": {bpp:.6}, \"epoch_s_median\": {median:.6}}}",
            method.name(),
            trainer.parameters(),
            o.epochs
        );
    }
    if o.epochs > 0 {
        let series: Vec<(&str, &[f64], f64)> = curves
            .iter()
            .map(|(m, c, t)| (m.name(), c.as_slice(), *t))
            .collect();
        plot::learning_curves(&o.plot, &series, K)
            .map_err(|e| format!("--plot {}: {e}", o.plot.display()))?;
        eprintln!("learning curve: {}", o.plot.display());
    }
    Ok(())
}
