//! The fused engine with the fast generator gives the same bits on every
//! x86-64 processor from AVX2 up: shown on one machine by forcing each of
//! ATen's capability levels, MKL's AVX2 code and every vector level of the
//! program's own loops that the CPU has; and pinned by a golden run, which
//! CI on another processor checks.

use std::fs;
use std::path::Path;

use serde_json::Value;
use snnloc::vectors::{Vectors, VECTORS_ENV};

use crate::common::{assert_success, scratch_dir};

/// The default network on a small data set: 4 batches of 32, 3 epochs.
const SMALL: [&str; 12] = [
    "--batch-size",
    "32",
    "--n-training-batches",
    "4",
    "--n-testing-batches",
    "2",
    "--epochs",
    "3",
    "--threads",
    "2",
    "--no-plots",
    "--quiet",
];

/// Every model option off its default at once, so that each path of the
/// engine is covered.
const OPTIONS: [&str; 12] = [
    "--readout",
    "max",
    "--reset",
    "subtractive",
    "--surrogate",
    "fast-sigmoid",
    "--rate-reg-strength",
    "0.5",
    "--rate-reg-low-hz",
    "5",
    "--dale-inhibitory-input",
    "0.25",
];

/// What a run leaves that must not depend on the processor.
#[derive(Debug, PartialEq)]
struct Numbers {
    /// `loss.csv` without its seconds.
    loss: Vec<String>,
    /// `metrics.json` without its seconds.
    metrics: Value,
    weights: Vec<u8>,
}

fn train(args: &[&str], env: &[(&str, &str)]) -> Numbers {
    let dir = scratch_dir("same-bits");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_snnloc"));
    command.arg("train").args(SMALL).args(args);
    command.arg("--out").arg(&dir).envs(env.iter().copied());
    let output = command.output().expect("snnloc runs");
    assert_success(&output);
    let numbers = read(&dir);
    let _ = fs::remove_dir_all(&dir);
    numbers
}

fn read(dir: &Path) -> Numbers {
    let loss = fs::read_to_string(dir.join("loss.csv")).unwrap();
    let loss = loss
        .lines()
        .map(|line| line.rsplit_once(',').unwrap().0.to_string())
        .collect();
    let mut metrics: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    metrics.as_object_mut().unwrap().remove("seconds");
    let weights = fs::read(dir.join("weights.safetensors")).unwrap();
    Numbers {
        loss,
        metrics,
        weights,
    }
}

/// Each setting that, left to libtorch and the CPU, changes numbers.
fn forced_levels() -> Vec<(&'static str, &'static str)> {
    let mut levels = vec![
        ("ATEN_CPU_CAPABILITY", "default"),
        ("ATEN_CPU_CAPABILITY", "avx2"),
        ("ATEN_CPU_CAPABILITY", "avx512"),
        ("MKL_CBWR", "AVX2"),
    ];
    for level in [Vectors::Baseline, Vectors::Avx2, Vectors::Avx512] {
        if level <= Vectors::detected() {
            levels.push((VECTORS_ENV, level.name()));
        }
    }
    levels
}

#[test]
fn every_kernel_level_gives_the_same_training() {
    for args in [&[][..], &OPTIONS[..]] {
        let native = train(args, &[]);
        for (name, value) in forced_levels() {
            assert!(
                train(args, &[(name, value)]) == native,
                "{args:?} with {name}={value}: other numbers than the CPU's own choice"
            );
        }
    }
}

/// FNV-1a, 64 bits: a hash whose definition is fixed, unlike std's.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn golden_run_is_the_same_on_every_processor() {
    let run = train(&[], &[]);
    let want_loss = [
        "epoch,loss",
        "1,3.483683191691564",
        "2,2.7005746257719387",
        "3,2.4892781053192112",
    ];
    assert_eq!(
        run.loss, want_loss,
        "the golden run's loss history moved: the fused engine now depends on something this CPU does differently"
    );
    assert_eq!(
        fnv1a(&run.weights),
        0x5871_a4e2_9f17_f949,
        "the golden run's weights moved"
    );
    assert_eq!(
        run.metrics["test"]["accuracy_mean"], 14.0625,
        "test accuracy"
    );
}

#[test]
fn a_vector_level_the_cpu_cannot_run_is_refused_before_any_work() {
    let dir = scratch_dir("vectors-refused");
    for value in ["avx9", "AVX2", ""] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_snnloc"))
            .args(["train", "--out"])
            .arg(&dir)
            .env(VECTORS_ENV, value)
            .output()
            .expect("snnloc runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{VECTORS_ENV}={value:?} was taken"
        );
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains("baseline, avx2, avx512"));
        assert!(!dir.exists(), "{VECTORS_ENV}={value:?} left a folder");
    }
}
