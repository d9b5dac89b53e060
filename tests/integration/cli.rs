//! The `snnloc` binary as a user meets it: outputs, and bad input answered
//! with one line and a non-zero exit, never a panic or half-written files.

use std::path::Path;
use std::process::Command;

use crate::common::{assert_has_lines, assert_one_line_error, scratch_dir, snnloc};
use snnloc::run_folder::RunFolder;

const TINY: &[&str] = &[
    "--batch-size",
    "16",
    "--n-training-batches",
    "2",
    "--n-testing-batches",
    "2",
    "--epochs",
    "1",
    "--device",
    "cpu",
];

#[test]
fn train_writes_every_output_and_eval_reads_the_weights() {
    let dir = scratch_dir("train");
    let d = dir.to_str().unwrap();
    let out = snnloc(&[&["train", "--out", d, "--seed", "3"], TINY].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_has_lines(
        &stdout,
        &[
            "Epoch 1: loss=",
            "Train classifier accuracy: ",
            "Test absolute error: ",
            "Test decoded error: ",
            "Chance accuracy level: 8.3%",
        ],
    );
    for file in [
        "config.json",
        "metrics.json",
        "loss.csv",
        "confusion_train.csv",
        "confusion_test.csv",
        "confusion_test_normalised.csv",
        "weights.safetensors",
        "loss.png",
        "loss.svg",
        "analysis_train.png",
        "analysis_test.svg",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(!leftover_temp_files(&dir), "temporary files left behind");
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(RunFolder::new(&dir).metrics_path()).unwrap(),
    )
    .unwrap();
    assert!(metrics["test"]["accuracy_mean"].as_f64().is_some());
    let decoded = metrics["test"]["decoded_error_mean"].as_f64().unwrap();
    assert!((0.0..90.0).contains(&decoded), "{decoded}");
    assert!(metrics["seconds"]["total"].as_f64().unwrap() > 0.0);

    let weights = RunFolder::new(&dir).weights_path();
    // Python's safetensors reads the weights with the notebook's names.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let read = Command::new(&python)
        .args(["-c", "import sys; from safetensors.torch import load_file; w = load_file(sys.argv[1]); print(tuple(w['W1'].shape), tuple(w['W2'].shape), w['W1'].dtype)"])
        .arg(&weights)
        .output()
        .unwrap_or_else(|e| panic!("{} missing ({e}): run scripts/setup.sh", python.display()));
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        "(200, 30) (30, 12) torch.float32"
    );
    let eval_dir = dir.join("eval");
    let out = snnloc(&[
        "eval",
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        eval_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Test classifier accuracy: "));
    // Without --seed, eval regenerates the run's own test set and shuffles
    // it as the run did: every test number, bit for bit.
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("eval.json")).unwrap())
            .unwrap();
    assert_eq!(eval["test"], metrics["test"]);
    assert_eq!(
        std::fs::read(eval_dir.join("confusion_test.csv")).unwrap(),
        std::fs::read(dir.join("confusion_test.csv")).unwrap()
    );

    // Weights trained for 30 hidden neurons do not fit 40.
    assert_one_line_error(
        &[
            "eval",
            "--weights",
            weights.to_str().unwrap(),
            "--num-hidden",
            "40",
        ],
        "does not fit the config",
    );
}

fn leftover_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp-"))
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let dir = scratch_dir("bad");
    let d = dir.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--bogus"], "unexpected argument '--bogus'"),
        (&["eval"], "required arguments were not provided: --weights"),
        (
            &["train", "--batch-size", "0", "--out", d],
            "--batch-size must be at least 1",
        ),
        (&["train", "--batch-size", "-3", "--out", d], "--batch-size"),
        (
            &["train", "--tau-ms", "nan", "--out", d],
            "--tau-ms must be a finite number greater than 0",
        ),
        (&["train", "--lr", "-1", "--out", d], "--lr"),
        (
            &["train", "--envelope-power", "-2", "--out", d],
            "--envelope-power",
        ),
        (&["train", "--rate-max", "2000", "--out", d], "--rate-max"),
        (
            &["train", "--num-classes", "1", "--out", d],
            "--num-classes",
        ),
        (
            &["train", "--duration-ms", "1", "--out", d],
            "--duration-ms",
        ),
        (
            &["train", "--phase-offset", "sometimes", "--out", d],
            "--phase-offset",
        ),
        (
            &["train", "--device", "tpu", "--out", d],
            "--device 'tpu' is not a device",
        ),
        (
            &[
                "train",
                "--rng",
                "numpy",
                "--seed",
                "99999999999",
                "--out",
                d,
            ],
            "numpy seeds must be between",
        ),
        (
            &["train", "--config", "/nonexistent/config.json", "--out", d],
            "--config /nonexistent/config.json",
        ),
        (
            &["eval", "--weights", "/nonexistent/w.safetensors"],
            "no such file",
        ),
        (
            &["stimulus", "--samples", "9", "--out", d],
            "--samples must be between 1 and 8",
        ),
    ];
    for (args, needle) in cases {
        assert_one_line_error(args, needle);
    }
    assert!(!dir.exists(), "a failed command created {}", dir.display());
}

#[test]
fn a_diverging_training_says_so_and_still_writes_its_results() {
    let dir = scratch_dir("diverging");
    let args = [
        &[
            "train",
            "--quiet",
            "--lr",
            "1e38",
            "--out",
            dir.to_str().unwrap(),
        ],
        TINY,
    ]
    .concat();
    let out = snnloc(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("warning: training diverged at epoch 1 batch ")
            && stderr.contains("try a lower --lr"),
        "{stderr}"
    );
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(RunFolder::new(&dir).metrics_path()).unwrap(),
    )
    .unwrap();
    assert_eq!(metrics["diverged"]["epoch"], 1);
    assert!(metrics["diverged"]["batch"].as_u64().unwrap() >= 1);
    assert!(metrics["test"]["accuracy_mean"].as_f64().is_some());
    let decoded = metrics["test"]["decoded_error_mean"].as_f64().unwrap();
    assert!((0.0..90.0).contains(&decoded), "{decoded}");
    assert!(RunFolder::new(&dir).weights_path().is_file());
}

#[test]
fn cuda_request_is_an_error_where_there_is_none() {
    if tch::Cuda::is_available() {
        return;
    }
    assert_one_line_error(&["train", "--device", "cuda"], "CUDA is not available");
    assert_one_line_error(&["train", "--device", "cuda:1"], "CUDA is not available");
}

#[test]
fn stimulus_draws_the_raster() {
    let dir = scratch_dir("stimulus");
    let out = snnloc(&[
        "stimulus",
        "--out",
        dir.to_str().unwrap(),
        "--envelope-power",
        "10",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("stimulus.png").is_file() && dir.join("stimulus.svg").is_file());
}

#[test]
fn a_config_file_may_give_only_some_fields() {
    let dir = scratch_dir("partial-config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("partial.json");
    std::fs::write(&file, r#"{"tau_ms": 10, "num_hidden": 7}"#).unwrap();
    let out_dir = dir.join("run");
    let args = [
        &[
            "train",
            "--config",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--quiet",
            "--no-plots",
        ],
        TINY,
    ]
    .concat();
    let out = snnloc(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(RunFolder::new(&out_dir).config_path()).unwrap(),
    )
    .unwrap();
    // tau_ms, the notebook's one time constant, sets both layers'.
    assert_eq!(cfg["network"]["tau_hidden_ms"], 10.0);
    assert_eq!(cfg["network"]["tau_output_ms"], 10.0);
    assert_eq!(cfg["network"]["num_hidden"], 7);
    assert_eq!(
        cfg["stimulus"]["anf_per_ear"], 100,
        "a missing field keeps the notebook's value"
    );

    std::fs::write(&file, r#"{"tau": 10}"#).unwrap();
    assert_one_line_error(
        &["train", "--config", file.to_str().unwrap()],
        "unknown field `tau`",
    );
}

#[test]
fn a_closed_stdout_ends_the_program_without_a_panic() {
    use std::process::Stdio;
    let dir = scratch_dir("pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args([&["train", "--out", dir.to_str().unwrap()], TINY].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `println!` panics where stdout cannot take a line; a full disk behind a
/// redirect must be a one-line error instead, like any other.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_a_one_line_error() {
    let dir = scratch_dir("full");
    let train = [&["train", "--out", dir.to_str().unwrap()], TINY].concat();
    let dry_run = [
        "sweep",
        "--param",
        "envelope-power",
        "--values",
        "1,2",
        "--out",
        dir.to_str().unwrap(),
        "--dry-run",
    ];
    for args in [&train[..], &dry_run[..]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_snnloc"))
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: cannot write to stdout"),
            "{args:?}: {stderr}"
        );
    }
}
