//! Cross-checks the port against `scripts/reference.py`, the notebook's
//! cells behind a command line, run from the project venv on a small config.
//!
//! With `rng = numpy` both sides must draw exactly the same IPDs, spikes,
//! initial weights and batch order; the network's arithmetic must then agree
//! to rounding on the first batch and the whole (short) training run.
//!
//! Tolerances on tensors are relative to the largest magnitude of the
//! reference tensor: `max|rust - python| <= tol * max|python|`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use snnloc::config::{Config, EngineChoice, RngMode};
use snnloc::data::data_generator;
use snnloc::engine::{fused, reference, Engine};
use snnloc::labels::discretise;
use snnloc::model::{init_weight_matrices, Surrogate, Weights};
use snnloc::portable::Arithmetic;
use snnloc::seed::seed_torch;
use snnloc::spikes::{SpikeSet, Spikes};
use snnloc::stimulus::{random_ipd_input_signal, StimulusRng};
use tch::{Device, Kind, Tensor};

const SEED: u64 = 3;
const BATCH_SIZE: usize = 16;
const TRAINING_BATCHES: usize = 4;
const TESTING_BATCHES: usize = 2;
const EPOCHS: usize = 2;

fn config(engine: Engine) -> Config {
    let mut cfg = Config::default();
    cfg.run.seed = SEED;
    cfg.data.batch_size = BATCH_SIZE;
    cfg.data.n_training_batches = TRAINING_BATCHES;
    cfg.data.n_testing_batches = TESTING_BATCHES;
    cfg.training.epochs = EPOCHS;
    cfg.run.rng = RngMode::Numpy;
    cfg.run.engine = match engine {
        Engine::Reference => EngineChoice::Reference,
        Engine::Fused => EngineChoice::Fused,
    };
    assert_eq!(Engine::resolve(&cfg, Device::Cpu).unwrap(), engine);
    cfg
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh to create the project venv with torch, numpy and safetensors",
        python.display()
    );
    python
}

fn scratch_dir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crosscheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn run_python(args: &[&str]) {
    let output = Command::new(python())
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("could not run the venv's python: {e}"));
    assert!(
        output.status.success(),
        "python {args:?} failed (run scripts/setup.sh?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read_tensors(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .into_iter()
        .collect()
}

/// reference.py's results and intermediate tensors for the small config.
struct Reference {
    json: Value,
    tensors: HashMap<String, Tensor>,
}

impl Reference {
    fn tensor(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("reference tensors lack {name}"))
    }
}

/// Runs reference.py once for all tests of this file (it takes seconds) and
/// loads its results; tensors are not `Sync`, so each test loads its own.
fn reference() -> Reference {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (json, tensors) = FILES.get_or_init(|| {
        let dir = scratch_dir();
        let (json, tensors) = (
            dir.join("reference.json"),
            dir.join("reference.safetensors"),
        );
        let n = |x: usize| x.to_string();
        run_python(&[
            "scripts/reference.py",
            "--quiet",
            "--seed",
            &n(SEED as usize),
            "--batch-size",
            &n(BATCH_SIZE),
            "--n-training-batches",
            &n(TRAINING_BATCHES),
            "--n-testing-batches",
            &n(TESTING_BATCHES),
            "--epochs",
            &n(EPOCHS),
            "--json",
            json.to_str().unwrap(),
            "--tensors",
            tensors.to_str().unwrap(),
            // One thread, as `whole_run` trains: see there.
            "--threads",
            "1",
        ]);
        (json, tensors)
    });
    Reference {
        json: serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap(),
        tensors: read_tensors(tensors),
    }
}

fn assert_identical(what: &str, rust: &Tensor, python: &Tensor) {
    assert_eq!(rust.size(), python.size(), "{what}: shape");
    let rust = rust.to_kind(python.kind());
    if !rust.equal(python) {
        let diff = (&rust - python).abs().max().double_value(&[]);
        panic!("{what} differs from reference.py's (max |difference| {diff:e})");
    }
}

/// Largest difference relative to the reference's largest magnitude.
fn relative_difference(rust: &Tensor, python: &Tensor) -> f64 {
    assert_eq!(rust.size(), python.size(), "shape");
    let diff = (rust.to_kind(Kind::Double) - python.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[]);
    diff / python.abs().max().double_value(&[])
}

fn assert_close(what: &str, rust: &Tensor, python: &Tensor, tol: f64) {
    let rel = relative_difference(rust, python);
    assert!(
        rel <= tol,
        "{what}: max |rust - python| / max|python| = {rel:e} > {tol:e}"
    );
}

/// The first training batch as reference.py formed it: samples
/// `first_perm[..batch_size]` of its training set, spikes and classes.
fn first_batch(r: &Reference, cfg: &Config) -> (Tensor, Tensor) {
    let idx = r
        .tensor("first_perm")
        .narrow(0, 0, cfg.data.batch_size as i64);
    let spikes = r.tensor("train_spikes").index_select(0, &idx);
    let labels = discretise(
        &r.tensor("train_ipds").index_select(0, &idx),
        cfg.data.num_classes,
    )
    .expect("discretise");
    (spikes, labels)
}

/// `engine`'s output, loss and W1/W2 gradients on reference.py's first
/// batch, with weights `w`: output and loss within 1e-6, gradients within
/// `gradient_tolerance`, all relative.
fn assert_first_batch_matches(r: &Reference, engine: Engine, w: &Weights, gradient_tolerance: f64) {
    let cfg = config(engine);
    let (spikes, labels) = first_batch(r, &cfg);
    let output = match engine {
        Engine::Reference => tch::no_grad(|| reference::snn(&spikes, w, &cfg)),
        Engine::Fused => fused::snn(&Spikes::from(&spikes), w, &cfg),
    }
    .unwrap();
    assert_close(
        &format!("{engine:?} first output"),
        &output,
        r.tensor("first_output"),
        1e-6,
    );
    let grads = engine
        .loss_and_gradients(&Spikes::from(&spikes), &labels, w, &cfg)
        .unwrap();
    let want_loss = r.tensor("first_loss").double_value(&[0]);
    assert!(
        (grads.loss - want_loss).abs() <= 1e-6 * want_loss.abs(),
        "{engine:?} first loss {} vs {want_loss}",
        grads.loss
    );
    for (what, got, name) in [
        ("W1", &grads.w1, "first_grad_w1"),
        ("W2", &grads.w2, "first_grad_w2"),
    ] {
        let rel = relative_difference(got, r.tensor(name));
        eprintln!("{engine:?} first {what} gradient: relative difference {rel:e}");
        assert!(
            rel <= gradient_tolerance,
            "{engine:?} first {what} gradient: relative difference {rel:e}"
        );
    }
}

fn reference_weights(r: &Reference) -> Weights {
    Weights {
        w1: r.tensor("w1_init").copy().set_requires_grad(true),
        w2: r.tensor("w2_init").copy().set_requires_grad(true),
        tau: None,
        w_rec: None,
        delays: None,
    }
}

/// Draws, first batch and whole run of the reference engine.
#[test]
fn reference_engine_matches_notebook_draw_for_draw() {
    let r = &reference();
    let cfg = config(Engine::Reference);

    // The numpy stream: training set, then test set.
    let mut rng = StimulusRng::new(&cfg).unwrap();
    let train = random_ipd_input_signal(&cfg, cfg.n_training_samples(), &mut rng, Device::Cpu)
        .expect("training set");
    let test = random_ipd_input_signal(&cfg, cfg.n_testing_samples(), &mut rng, Device::Cpu)
        .expect("test set");
    assert_identical("training IPDs", &train.ipd, r.tensor("train_ipds"));
    assert_identical("training spikes", &train.spikes, r.tensor("train_spikes"));
    assert_identical("test IPDs", &test.ipd, r.tensor("test_ipds"));

    // libtorch's stream: W1, W2, then the first epoch's permutation, which
    // batches of sample indices reveal in full.
    let generator = seed_torch(SEED);
    let w = init_weight_matrices(&cfg, Device::Cpu, Arithmetic::Libtorch).unwrap();
    assert_identical("initial W1", &w.w1, r.tensor("w1_init"));
    assert_identical("initial W2", &w.w2, r.tensor("w2_init"));
    let n = cfg.n_training_samples() as i64;
    let indices = Tensor::arange(n, (Kind::Int64, Device::Cpu));
    let batches: Vec<Tensor> = data_generator(
        &indices,
        &SpikeSet::Dense(train.spikes.shallow_clone()),
        cfg.data.batch_size,
    )
    .unwrap()
    .map(|batch| batch.unwrap().targets)
    .collect();
    assert_identical(
        "first permutation",
        &Tensor::cat(&batches, 0),
        r.tensor("first_perm"),
    );

    // The first batch's forward pass and gradients, before any Adam step.
    assert_first_batch_matches(r, Engine::Reference, &w, 1e-6);
    drop(generator);

    // The whole run, as the CLI runs it.
    let (loss, metrics, weights) = whole_run();
    let want: Vec<f64> = serde_json::from_value(r.json["loss_hist"].clone()).unwrap();
    assert_eq!(loss.len(), want.len(), "epochs in the loss history");
    for (epoch, (got, want)) in loss.iter().zip(&want).enumerate() {
        assert!(
            (got - want).abs() <= 1e-4 * want.abs(),
            "epoch {}: loss {got} vs reference {want}",
            epoch + 1
        );
    }
    assert_close("final W1", &weights["W1"], r.tensor("w1_final"), 1e-4);
    assert_close("final W2", &weights["W2"], r.tensor("w2_final"), 1e-4);
    // Same data, same order and weights equal to rounding: every sample is
    // classified the same, so the metrics agree to summation rounding.
    for label in ["train", "test"] {
        let (got, want) = (&metrics[label], &r.json[label]);
        for (metric, ours) in [
            ("acc_mean", "accuracy_mean"),
            ("acc_std", "accuracy_std"),
            ("err_mean", "abs_error_mean"),
            ("err_std", "abs_error_std"),
        ] {
            let (got, want) = (got[ours].as_f64().unwrap(), want[metric].as_f64().unwrap());
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{label} {metric}: {got} vs reference {want}"
            );
        }
    }
}

/// `snnloc train` of the reference engine with the notebook's draws on one
/// thread, as reference.py runs: with two, MKL splits a product's sums
/// between threads as the machine's load allows, so a busy machine (the
/// other tests) can change the last digits, which training amplifies past
/// the tolerance. Its loss history, metrics.json and weights.
fn whole_run() -> (Vec<f64>, Value, HashMap<String, Tensor>) {
    let dir = scratch_dir().join("whole-run");
    let n = |x: usize| x.to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args(["train", "--engine", "reference", "--rng", "numpy", "--seed"])
        .args([n(SEED as usize), "--batch-size".into(), n(BATCH_SIZE)])
        .args(["--n-training-batches".into(), n(TRAINING_BATCHES)])
        .args(["--n-testing-batches".into(), n(TESTING_BATCHES)])
        .args(["--epochs".into(), n(EPOCHS)])
        .args(["--threads", "1", "--no-plots", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("snnloc runs");
    assert!(
        output.status.success(),
        "snnloc train failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let loss = read("loss.csv")
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let metrics = serde_json::from_str(&read("metrics.json")).unwrap();
    let weights = read_tensors(&dir.join("weights.safetensors"));
    let _ = std::fs::remove_dir_all(&dir);
    (loss, metrics, weights)
}

/// The fused engine on reference.py's own first batch and weights.
#[test]
fn fused_engine_matches_reference_first_batch() {
    let r = &reference();
    assert_first_batch_matches(r, Engine::Fused, &reference_weights(r), 1e-5);
}

#[test]
fn surrogate_matches_notebook_autograd_function() {
    let path = scratch_dir().join("surrogate.safetensors");
    let script = format!(
        "import sys, torch\n\
         sys.path.insert(0, 'scripts')\n\
         from reference import SurrGradSpike\n\
         from safetensors.torch import save_file\n\
         g = torch.Generator().manual_seed(0)\n\
         x = torch.cat([torch.linspace(-4, 4, 801), 3 * torch.randn(4000, generator=g), torch.zeros(1)])\n\
         x.requires_grad_(True)\n\
         grad_out = torch.randn(x.shape, generator=g)\n\
         out = {{'x': x.detach().clone(), 'grad_out': grad_out}}\n\
         for beta in (5, 0.7):\n\
         \x20   y = SurrGradSpike.apply(x, beta)\n\
         \x20   (grad,) = torch.autograd.grad(y, x, grad_out)\n\
         \x20   out[f'forward_{{beta}}'] = y.detach()\n\
         \x20   out[f'grad_{{beta}}'] = grad\n\
         save_file(out, {path:?})\n",
        path = path.to_str().unwrap()
    );
    run_python(&["-c", &script]);
    let t = read_tensors(&path);
    let x = t["x"].copy().set_requires_grad(true);
    for beta in [5.0, 0.7] {
        let key = if beta == 5.0 { "5" } else { "0.7" };
        let y = Surrogate::sigmoid(beta).spike(&x);
        // Seeding the backward pass with grad_out through `sum(y * grad_out)`
        // hands autograd exactly grad_out (ones times grad_out).
        let grad = Tensor::run_backward(
            &[(&y * &t["grad_out"]).sum(Kind::Float)],
            &[&x],
            false,
            false,
        )
        .remove(0);
        assert_identical(
            &format!("spike forward, beta {beta}"),
            &y,
            &t[&format!("forward_{key}")],
        );
        let want = &t[&format!("grad_{key}")];
        let diff = (&grad - want).abs().max().double_value(&[]);
        eprintln!("surrogate gradient, beta {beta}: max |difference| {diff:e}");
        assert!(
            diff <= 1e-6,
            "surrogate gradient, beta {beta}: max |difference| {diff:e}"
        );
    }
}
