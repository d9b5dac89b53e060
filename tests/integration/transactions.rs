//! A run folder is one transaction: whatever is killed when, a reader sees
//! a whole finished run or none, a folder that is not snnloc's is not
//! touched without `--force`, and what a killed process left is cleaned up
//! by the next write.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use snnloc::faults::{KILL_AT_ENV, KILL_SIGNAL_ENV};

use crate::common::{assert_one_line_error, assert_success, scratch_dir, snnloc, TINY_NET};

fn train(out: &Path, seed: u64, extra: &[&str], kill: Option<(u64, &str)>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnloc"));
    command
        .args([
            "train",
            "--quiet",
            "--threads",
            "1",
            "--seed",
            &seed.to_string(),
        ])
        .args(TINY_NET)
        .args(extra)
        .arg("--out")
        .arg(out);
    if let Some((at, signal)) = kill {
        command
            .env(KILL_AT_ENV, at.to_string())
            .env(KILL_SIGNAL_ENV, signal);
    }
    command.output().expect("snnloc runs")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `eval` of the folder's weights either refuses or reproduces every test
/// number its metrics.json records.
fn assert_whole_or_refused(run: &Path, what: &str) {
    let report = run.with_extension("eval");
    let _ = fs::remove_dir_all(&report);
    let weights = run.join("weights.safetensors");
    let eval = snnloc(&[
        "eval",
        "--quiet",
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    if !eval.status.success() {
        return;
    }
    let (recorded, replayed) = (
        json(&run.join("metrics.json")),
        json(&report.join("eval.json")),
    );
    for key in [
        "accuracy_mean",
        "accuracy_std",
        "abs_error_mean",
        "abs_error_std",
        "decoded_error_mean",
        "decoded_error_std",
        "confusion",
    ] {
        assert_eq!(
            recorded["test"][key], replayed["test"][key],
            "{what}: eval gives another {key} than the folder's metrics.json: runs mixed"
        );
    }
}

#[test]
fn a_killed_train_leaves_the_old_run_or_the_new_one_whole() {
    let root = scratch_dir("transactions");
    let run = root.join("run");
    assert_success(&train(&run, 1, &[], None));
    let mut seed = 1;
    for signal in ["KILL", "TERM"] {
        // Every kill point of a run in turn, until one runs to its end.
        for at in 1.. {
            seed += 1;
            let output = train(&run, seed, &["--force"], Some((at, signal)));
            let what = format!("SIG{signal} at point {at}");
            assert_whole_or_refused(&run, &what);
            if output.status.success() {
                assert!(at > 20, "{what}: only {at} points, expected every file's");
                break;
            }
            assert!(output.status.signal().is_some(), "{what}: {output:?}");
        }
    }
    // The next write cleans up what the killed ones left.
    assert_success(&train(&run, 1, &["--force"], None));
    let left: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".eval"))
        .collect();
    assert_eq!(left, ["run"], "leftovers beside the run folder");
    for entry in fs::read_dir(&run).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "leftover {name} in the run folder");
    }
}

#[test]
fn a_rerun_replaces_a_run_of_the_same_config_and_refuses_another_without_force() {
    let run = scratch_dir("rerun");
    assert_success(&train(&run, 1, &[], None));
    fs::write(run.join("loss.png"), "a figure of an earlier run").unwrap();
    // The same config again: the folder is replaced whole (no stale figure
    // beside a --no-plots run).
    assert_success(&train(&run, 1, &["--no-plots"], None));
    assert!(
        !run.join("loss.png").exists(),
        "a file of the old run stayed"
    );
    let out = run.to_str().unwrap();
    let mut args = vec!["train", "--seed", "2", "--out", out];
    args.extend(TINY_NET);
    assert_one_line_error(&args, "holds a run of another config (run.seed: 1 vs 2");
    args.push("--force");
    assert_success(&snnloc(&args));
    assert_eq!(json(&run.join("config.json"))["run"]["seed"], 2);
}

#[test]
fn a_folder_that_is_not_snnlocs_is_not_touched_without_force() {
    let dir = scratch_dir("foreign");
    fs::create_dir_all(dir.join("runs/0-0")).unwrap();
    fs::write(dir.join("summary.csv"), "the user's own").unwrap();
    let out = dir.to_str().unwrap();
    let mut train_args = vec!["train", "--out", out];
    train_args.extend(TINY_NET);
    assert_one_line_error(&train_args, "which no snnloc run writes");
    let sweep_args = [
        "sweep",
        "--param",
        "num-hidden",
        "--values",
        "2,3",
        "--out",
        out,
        "--epochs",
        "1",
    ];
    assert_one_line_error(&sweep_args, "but no sweep.json");
    let inspect_out = dir.join("runs");
    fs::write(inspect_out.join("notes.txt"), "mine").unwrap();
    let run = scratch_dir("foreign-run");
    assert_success(&train(&run, 1, &[], None));
    let inspect_args = [
        "inspect",
        run.to_str().unwrap(),
        "--out",
        inspect_out.to_str().unwrap(),
    ];
    assert_one_line_error(&inspect_args, "which inspect does not write");
    assert!(
        !dir.join("sweep.lock").exists(),
        "the sweep left its lock in the folder"
    );
    assert_eq!(
        fs::read_to_string(dir.join("summary.csv")).unwrap(),
        "the user's own"
    );
    assert!(dir.join("runs/0-0").is_dir() && inspect_out.join("notes.txt").exists());
}

#[test]
fn a_dangling_link_as_out_is_named_as_one() {
    let dir = scratch_dir("dangling");
    fs::create_dir_all(&dir).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(dir.join("nowhere"), &link).unwrap();
    let mut args = vec!["train", "--out", link.to_str().unwrap()];
    args.extend(TINY_NET);
    assert_one_line_error(&args, "a symbolic link to nothing");
}
