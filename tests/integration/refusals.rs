//! The README's promise that bad input is refused before any work, tried on
//! every command: one line, a non-zero exit, nothing written, in moments
//! even where the work would take hours; and a write that fails midway
//! leaves no partial file.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{assert_one_line_error, assert_success, scratch_dir, snnloc, TINY_NET};
use snnloc::run_folder::RunFolder;

/// Far less than the work the commands below would do before failing late.
const PROMPT: Duration = Duration::from_secs(30);

/// A tiny run's folder, for its weights and config.json.
fn trained(dir: &Path) -> PathBuf {
    let args = [
        &["train", "--out", dir.to_str().unwrap(), "--quiet"],
        &TINY_NET[..],
    ]
    .concat();
    let out = snnloc(&args);
    assert_success(&out);
    RunFolder::new(dir).weights_path()
}

/// Refused in one line, promptly and before any output of work.
fn assert_refused(args: &[&str], needle: &str) {
    let start = Instant::now();
    assert_one_line_error(args, needle);
    assert!(
        start.elapsed() < PROMPT,
        "{args:?} took {:?}",
        start.elapsed()
    );
}

#[test]
fn every_command_refuses_bad_input_before_any_work() {
    let root = scratch_dir("refusals");
    let weights = trained(&root.join("run"));
    let typo = root.join("typo.json");
    std::fs::write(&typo, r#"{"network": {"tau_mss": 3}}"#).unwrap();
    let config = ["--config", typo.to_str().unwrap()];
    let out = root.join("never");
    let o = out.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["train", "--out", o],
        &["eval", "--weights", weights.to_str().unwrap(), "--out", o],
        &["stimulus", "--out", o],
        &[
            "sweep",
            "--param",
            "envelope-power",
            "--values",
            "1",
            "--out",
            o,
        ],
    ];
    let mut inputs: Vec<(&[&str], &str)> = vec![
        (
            &["--batch-size", "0"],
            "--batch-size must be at least 1, got 0",
        ),
        (&["--anf-per-ear", "0"], "--anf-per-ear must be at least 1"),
        (&["--tau-ms", "nan"], "--tau-ms must be a finite number"),
        (
            &["--f", "-20"],
            "--f must be a finite number greater than 0",
        ),
        (
            &["--rate-max", "2000"],
            "--rate-max 2000 Hz times --dt-ms 1 ms",
        ),
        (&["--device", "tpu"], "--device 'tpu' is not a device"),
        (&config, "unknown field `tau_mss`"),
    ];
    if !tch::Cuda::is_available() {
        inputs.push((&["--device", "cuda"], "CUDA is not available"));
    }
    for command in commands {
        for (input, needle) in &inputs {
            assert_refused(&[command, input].concat(), needle);
        }
    }
    // `ideal` takes the config's flags but runs on the CPU, without --device.
    for (input, needle) in inputs.iter().filter(|(input, _)| input[0] != "--device") {
        assert_refused(&[&["ideal", "--out", o][..], input].concat(), needle);
    }
    assert!(!out.exists(), "a refused command wrote {o}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn eval_refuses_missing_corrupt_and_misshapen_weights() {
    let root = scratch_dir("weights");
    let weights = trained(&root.join("run"));
    let corrupt = root.join("corrupt.safetensors");
    std::fs::write(&corrupt, b"not a tensor file at all").unwrap();
    let truncated = root.join("truncated.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let w = weights.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--weights", "/nonexistent/w.safetensors"], "no such file"),
        (
            &["--weights", corrupt.to_str().unwrap()],
            "not a readable safetensors file",
        ),
        (
            &["--weights", truncated.to_str().unwrap()],
            "not a readable safetensors file",
        ),
        (
            &["--weights", w, "--num-hidden", "7"],
            "does not fit the config",
        ),
        (
            &["--weights", w, "--anf-per-ear", "11"],
            "does not fit the config",
        ),
    ];
    for (args, needle) in cases {
        assert_refused(&[&["eval"], args].concat(), needle);
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_unwritable_out_is_refused_before_any_work() {
    let root = scratch_dir("unwritable");
    let weights = trained(&root.join("run"));
    let shard = root.join("shard");
    let s = shard.to_str().unwrap();
    let empty_sweep = [
        "sweep",
        "--param",
        "tau",
        "--values",
        "5",
        "--max-runs",
        "0",
    ];
    let made = snnloc(&[&empty_sweep[..], &["--quiet", "--out", s]].concat());
    assert_success(&made);
    let file = root.join("run/config.json");
    let under_file = file.join("out");
    // Hours of training, were the folder checked only at the end.
    let long = ["--epochs", "100000"];
    // Root may write anywhere on a disk: /proc refuses even root.
    for (out, needle) in [
        (
            "/proc/forbidden",
            "cannot create output folder /proc/forbidden",
        ),
        // Written into (`cannot write into it`), or, by the commands that
        // replace a folder whole, refused for the files it holds.
        ("/proc/self", "--out /proc/self"),
        (file.to_str().unwrap(), "exists and is not a folder"),
        (under_file.to_str().unwrap(), "cannot create output folder"),
    ] {
        assert_refused(&[&["train", "--out", out][..], &long].concat(), needle);
        let eval = ["eval", "--weights", weights.to_str().unwrap(), "--out", out];
        assert_refused(&eval, needle);
        assert_refused(&["stimulus", "--out", out], needle);
        let sweep = ["sweep", "--param", "tau", "--values", "5,10", "--out", out];
        assert_refused(&[&sweep[..], &long].concat(), needle);
        assert_refused(&["sweep-merge", "--out", out, s], needle);
        assert_refused(&["ideal", "--out", out], needle);
        let run = root.join("run");
        assert_refused(&["inspect", run.to_str().unwrap(), "--out", out], needle);
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_write_that_fails_midway_leaves_no_partial_file() {
    const LIMIT: u64 = 2048;
    let dir = scratch_dir("file-size-limit");
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnloc"));
    command
        .args(["train", "--quiet", "--out", dir.to_str().unwrap()])
        .args(TINY_NET);
    // SAFETY: setrlimit is async-signal-safe. SIGXFSZ keeps its default
    // disposition (death), as under a shell's `ulimit -f`: snnloc itself
    // must turn the limit into an error.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot write ") && stderr.contains("File too large"));
    assert!(
        !stderr.contains('{') && !stderr.contains(".tmp-"),
        "internal detail: {stderr}"
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "temporary file {name} left behind");
        // A file cut by the limit would be exactly LIMIT bytes long.
        assert!(entry.metadata().unwrap().len() < LIMIT, "{name} is partial");
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        }
    }
    assert!(!RunFolder::new(&dir).weights_path().exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
