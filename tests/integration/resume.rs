//! A long training survives a kill: `train` leaves a checkpoint after every
//! epoch, and `train --resume` goes on from it to the very numbers of a run
//! never interrupted, with either engine.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use snnloc::faults::KILL_AT_ENV;

use crate::common::{assert_one_line_error, assert_success, scratch_dir, TINY_NET};

/// The tiny network for 4 epochs on one thread (the reference engine's
/// sums are then in one order).
fn train(out: &Path, engine: &str, extra: &[&str], kill_at: Option<u64>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnloc"));
    command
        .args([
            "train",
            "--quiet",
            "--no-plots",
            "--threads",
            "1",
            "--engine",
            engine,
        ])
        .args(TINY_NET)
        .args(["--epochs", "4"])
        .args(extra)
        .arg("--out")
        .arg(out);
    if let Some(at) = kill_at {
        command.env(KILL_AT_ENV, at.to_string());
    }
    command.output().expect("snnloc runs")
}

/// loss.csv without its seconds, metrics.json without its seconds, and the
/// weights' bytes.
fn numbers(run: &Path) -> (Vec<String>, Value, Vec<u8>) {
    let loss = std::fs::read_to_string(run.join("loss.csv")).unwrap();
    let loss = loss
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    let mut metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    metrics.as_object_mut().unwrap().remove("seconds");
    (
        loss,
        metrics,
        std::fs::read(run.join("weights.safetensors")).unwrap(),
    )
}

#[test]
fn a_killed_train_resumes_to_the_numbers_of_one_never_interrupted() {
    // Each epoch's checkpoint passes two kill points (written, renamed).
    // Points 1 and 2 kill while or after the first is written; a third is
    // drawn at random among the others.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let random = 3 + nanos.subsec_nanos() as u64 % 5;
    let fresh: &[&str] = &["--training-data", "fresh", "--phase-offset", "per-sample"];
    let learned: &[&str] = &[
        "--tau-init",
        "gamma",
        "--learn-tau",
        "on",
        "--tau-ms",
        "5",
        "--recurrent",
        "on",
        "--max-delay-ms",
        "3",
    ];
    for (engine, extra) in [
        ("fused", &[][..]),
        ("reference", &[]),
        ("fused", fresh),
        ("reference", learned),
    ] {
        let whole = scratch_dir("never-interrupted");
        assert_success(&train(&whole, engine, extra, None));
        let want = numbers(&whole);
        for at in [1, 2, random] {
            let run = scratch_dir("resumed");
            let killed = train(&run, engine, extra, Some(at));
            assert!(
                !killed.status.success(),
                "{engine}: point {at} did not kill"
            );
            let resume = [extra, &["--resume"]].concat();
            let resumed = match run.join("checkpoint.safetensors").exists() {
                true => train(&run, engine, &resume, None),
                false => train(&run, engine, extra, None),
            };
            assert_success(&resumed);
            assert!(
                numbers(&run) == want,
                "{engine} {extra:?}, killed at point {at}: the resumed run's numbers differ"
            );
            assert!(
                !run.join("checkpoint.safetensors").exists(),
                "the finished run kept its checkpoint"
            );
        }
    }
}

#[test]
fn a_checkpoint_is_resumed_only_with_its_own_config() {
    let run = scratch_dir("resume-refused");
    let killed = train(&run, "fused", &[], Some(2));
    assert!(!killed.status.success());
    let out = run.to_str().unwrap();
    let mut args = vec!["train", "--out", out, "--engine", "fused"];
    args.extend(TINY_NET);
    args.extend(["--epochs", "4"]);
    assert_one_line_error(
        &args,
        "holds the checkpoint of an unfinished run; add --resume",
    );
    let mut other = args.clone();
    other.extend(["--epochs", "5", "--resume"]);
    assert_one_line_error(&other, "is of another config (training.epochs: 4 vs 5");
    let fresh = scratch_dir("resume-nothing");
    let mut nothing = vec!["train", "--resume", "--out", fresh.to_str().unwrap()];
    nothing.extend(TINY_NET);
    assert_one_line_error(&nothing, "no checkpoint");
}
