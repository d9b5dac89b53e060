//! Helpers shared by the integration tests: driving the `snnloc` binary,
//! small configs, data and weights.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use snnloc::config::Config;
use snnloc::data::data_generator;
use snnloc::engine::Engine;
use snnloc::labels::discretise;
use snnloc::model::{init_weight_matrices, Weights};
use snnloc::portable::Arithmetic;
use snnloc::seed::seed_torch;
use snnloc::spikes::SpikeSet;
use snnloc::stimulus::{random_ipd_input_signal, Dataset, StimulusRng};
use tch::{Device, Tensor};

/// A network and data set that train in well under a second.
pub const TINY_NET: [&str; 14] = [
    "--anf-per-ear",
    "10",
    "--duration-ms",
    "20",
    "--batch-size",
    "8",
    "--n-training-batches",
    "2",
    "--n-testing-batches",
    "1",
    "--epochs",
    "1",
    "--num-hidden",
    "5",
];

/// `TINY_NET` as a config, each pair applied through its option's own
/// parser, as the command line would.
pub fn tiny_net_config() -> Config {
    let mut cfg = Config::default();
    for pair in TINY_NET.chunks(2) {
        snnloc::config::option(pair[0])
            .unwrap()
            .parse(pair[1])
            .unwrap()
            .apply(&mut cfg);
    }
    cfg
}

pub fn snnloc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args(args)
        .output()
        .expect("snnloc runs")
}

/// The command must have succeeded; its stderr says why not.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every one of `lines` must appear in `text` (a command's output).
pub fn assert_has_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "missing '{line}' in:\n{text}");
    }
}

/// A fresh, not yet existing folder per call: all tests share one process
/// and run side by side, and two of them may pick the same name.
pub fn scratch_dir(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("snnloc-test-{}-{call}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The command must fail with one line on stderr that starts with `error:`
/// and contains `needle`, and must not panic.
pub fn assert_one_line_error(args: &[&str], needle: &str) {
    let out = snnloc(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line:\n{stderr}"
    );
    assert!(
        stderr.starts_with("error:") && stderr.contains(needle),
        "{args:?}: '{needle}' not in: {stderr}"
    );
}

/// One batch of real stimulus and freshly initialised weights.
pub fn batch_and_weights(cfg: &Config, seed: u64) -> (Tensor, Tensor, Weights) {
    let mut cfg = cfg.clone();
    cfg.run.seed = seed;
    let mut rng = StimulusRng::new(&cfg).unwrap();
    let _generator = seed_torch(seed);
    let data = random_ipd_input_signal(&cfg, cfg.data.batch_size, &mut rng, Device::Cpu).unwrap();
    let w = init_weight_matrices(&cfg, Device::Cpu, Arithmetic::Libtorch).unwrap();
    let labels = discretise(&data.ipd, cfg.data.num_classes).unwrap();
    let set = SpikeSet::Dense(data.spikes.shallow_clone());
    let batch = data_generator(&labels, &set, cfg.data.batch_size)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    (batch.spikes.dense().unwrap(), batch.targets, w)
}

pub fn max_relative_difference(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]).max(1e-12);
    (a - b).abs().max().double_value(&[]) / scale
}

/// The default stimulus and network with 128 test samples in batches of
/// 32.
pub fn small_config() -> Config {
    let mut cfg = Config::default();
    cfg.data.batch_size = 32;
    cfg.data.n_training_batches = 4;
    cfg.data.n_testing_batches = 4;
    cfg
}

/// The weights a training with `cfg` starts from, detached.
pub fn initial_weights(cfg: &Config) -> Weights {
    let _generator = seed_torch(cfg.run.seed);
    init_weight_matrices(
        cfg,
        Device::Cpu,
        Engine::resolve(cfg, Device::Cpu).unwrap().arithmetic(),
    )
    .unwrap()
    .detached_copy(Device::Cpu)
    .unwrap()
}

/// `n` samples of random IPDs from the config's stimulus stream.
pub fn draw(cfg: &Config, n: usize) -> Dataset {
    let mut rng = StimulusRng::new(cfg).unwrap();
    random_ipd_input_signal(cfg, n, &mut rng, Device::Cpu).unwrap()
}

/// A CSV file as its header and rows of named fields.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("csv row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The jobs in a sweep's runs.csv, sorted.
pub fn job_ids(path: &Path) -> Vec<usize> {
    let mut jobs: Vec<usize> = read_csv(path)
        .iter()
        .map(|r| r["job"].parse().unwrap())
        .collect();
    jobs.sort();
    jobs
}

/// Decodes a PNG into its size and per-pixel luminance (0 black, 255 white).
pub fn luminance(path: &Path) -> (u32, u32, Vec<f64>) {
    let mut decoder = png::Decoder::new(fs::File::open(path).expect("open png"));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let lum = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| match px {
            [g] | [g, _] => f64::from(*g),
            [r, g, b, ..] => 0.299 * f64::from(*r) + 0.587 * f64::from(*g) + 0.114 * f64::from(*b),
            [] => unreachable!("chunks are never empty"),
        })
        .collect();
    (info.width, info.height, lum)
}

/// Rows without the wall-clock column, which differs between two runs of
/// the same job.
pub fn without_seconds(rows: Vec<BTreeMap<String, String>>) -> BTreeSet<Vec<(String, String)>> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .filter(|(k, _)| !k.starts_with("seconds"))
                .collect()
        })
        .collect()
}

/// A few small batches and two epochs: the model tests' config.
pub fn model_config() -> Config {
    let mut cfg = Config::default();
    cfg.data.batch_size = 16;
    cfg.data.n_training_batches = 4;
    cfg.data.n_testing_batches = 2;
    cfg.training.epochs = 2;
    cfg
}

/// `model_config` with a short hidden time constant, so that the hidden
/// layer fires and every path of the backward pass carries gradient.
pub fn firing_config() -> Config {
    let mut cfg = model_config();
    cfg.network.tau_hidden_ms = 5.0;
    cfg
}

pub fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.to_kind(tch::Kind::Float).flatten(0, -1)).unwrap()
}
