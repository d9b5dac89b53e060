//! Every number has a limit, checked before any work: no value of any flag
//! makes the program panic, abort or allocate without a word, and each
//! refusal is one line naming the flag.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snnloc::config::{options, ValueKind};

use crate::common::{assert_one_line_error, assert_success, scratch_dir, snnloc, TINY_NET};

/// Values at and past every edge: zero, one, the largest of each type, a
/// huge one whose products overflow, and not numbers. (Text that is no
/// number of the type at all is clap's to refuse, the same for every flag.)
fn extremes(kind: ValueKind) -> &'static [&'static str] {
    match kind {
        ValueKind::Count => &["0", "1", "18446744073709551615", "100000000000"],
        ValueKind::Number => &["-1", "1e-320", "1.7976931348623157e308", "NaN"],
        ValueKind::Seed => &["18446744073709551615", "18446744073709551616"],
        ValueKind::Choice(_) => &[],
    }
}

/// Runs `args` for at most `limit`: a command still running then is doing
/// legitimate work (its limits passed), and is stopped.
fn run_for(args: &[&str], limit: Duration) -> Option<(std::process::ExitStatus, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnloc runs");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Some((status, stderr));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_clean(args: &[&str], limit: Duration) {
    let Some((status, stderr)) = run_for(args, limit) else {
        return;
    };
    // 0, an error (1), or a usage error (2): never a signal or a panic (101).
    assert!(
        status.code().is_some_and(|code| code <= 2),
        "{args:?} ended with {status}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    if !status.success() {
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        let last = lines.last().copied().unwrap_or("");
        assert!(
            last.starts_with("error: ") && last.len() < 600,
            "{args:?}: not a one-line error: {stderr}"
        );
    }
}

#[test]
fn every_numeric_option_at_its_extremes_exits_cleanly() {
    let out = scratch_dir("extremes");
    let out = out.to_str().unwrap();
    for def in options() {
        for value in extremes(def.kind) {
            let flag = format!("--{}", def.name);
            // After the tiny network, so that its value is the one tried.
            let mut args = vec!["train", "--quiet", "--no-plots", "--force", "--out", out];
            args.extend(TINY_NET);
            args.extend([flag.as_str(), value]);
            assert_clean(&args, Duration::from_secs(20));
        }
    }
    // The flags that are not options.
    for value in extremes(ValueKind::Count) {
        let tiny: Vec<&str> = TINY_NET.to_vec();
        let train = [
            &["train", "--quiet", "--no-plots", "--force", "--out", out][..],
            &tiny,
        ]
        .concat();
        assert_clean(
            &[&train[..], &["--threads", value]].concat(),
            Duration::from_secs(20),
        );
        let sweep = [
            "sweep",
            "--param",
            "num-hidden",
            "--values",
            "2,3",
            "--dry-run",
            "--out",
            out,
        ];
        assert_clean(
            &[&sweep[..], &["--repeats", value]].concat(),
            Duration::from_secs(20),
        );
        assert_clean(
            &[&sweep[..], &["--jobs", value]].concat(),
            Duration::from_secs(20),
        );
        assert_clean(
            &["stimulus", "--quiet", "--out", out, "--samples", value],
            Duration::from_secs(20),
        );
    }
}

#[test]
fn sizes_beyond_the_machine_are_refused_by_name() {
    let out = scratch_dir("too-big");
    let out = out.to_str().unwrap();
    assert_one_line_error(
        &["train", "--threads", "100000", "--out", out],
        "--threads 100000: this machine has",
    );
    assert_one_line_error(
        &["train", "--num-hidden", "1000000", "--out", out],
        "this run needs about",
    );
    assert_one_line_error(
        &["train", "--epochs", "100000000000", "--out", out],
        "--epochs must be at most",
    );
    assert_one_line_error(
        &[
            "sweep",
            "--param",
            "tau",
            "--values",
            "5,10",
            "--repeats",
            "9223372036854775808",
            "--out",
            out,
        ],
        "--repeats must be between 1 and",
    );
    let many: Vec<String> = (1..=10_001).map(|i| i.to_string()).collect();
    let many = many.join(",");
    assert_one_line_error(
        &[
            "sweep",
            "--param",
            "num-hidden",
            "--values",
            &many,
            "--out",
            out,
        ],
        "characters)",
    );
    assert_one_line_error(
        &[
            "sweep",
            "--param",
            "num-hidden",
            "--values",
            "1:3:0.5",
            "--out",
            out,
        ],
        "as a whole number",
    );
    assert!(!Path::new(out).exists(), "a refusal wrote {out}");
}

#[test]
fn config_files_are_read_with_limits_and_each_option_once() {
    let dir = scratch_dir("config-limits");
    std::fs::create_dir_all(&dir).unwrap();
    let twice = dir.join("twice.json");
    std::fs::write(&twice, r#"{"network": {"num_hidden": 5}, "num_hidden": 7}"#).unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    assert_one_line_error(
        &["train", "--config", twice.to_str().unwrap(), "--out", out],
        "--num-hidden is given twice",
    );
    assert_one_line_error(
        &["train", "--config", "/dev/zero", "--out", out],
        "not a regular file",
    );
    let huge = dir.join("huge.json");
    std::fs::write(&huge, vec![b' '; 2 << 20]).unwrap();
    assert_one_line_error(
        &["train", "--config", huge.to_str().unwrap(), "--out", out],
        "not a config.json",
    );
}

#[test]
fn weights_that_are_not_finite_are_neither_saved_nor_read() {
    let run = scratch_dir("diverged");
    let mut args = vec![
        "train",
        "--quiet",
        "--lr",
        "1e300",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY_NET);
    let output = snnloc(&args);
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("training diverged"));
    let weights = run.join("weights.safetensors");
    let w = weights.to_str().unwrap();
    // The run kept the weights before the step that overflowed.
    assert_success(&snnloc(&["eval", "--quiet", "--weights", w]));
    let mut tensors = tch::Tensor::read_safetensors(&weights).unwrap();
    tensors[0].1 = tensors[0].1.fill(f64::INFINITY);
    tch::Tensor::write_safetensors(&tensors, &weights).unwrap();
    assert_one_line_error(&["eval", "--weights", w], "holds NaN or infinite values");
    assert_one_line_error(
        &["inspect", run.to_str().unwrap()],
        "holds NaN or infinite values",
    );
    assert_one_line_error(
        &["eval", "--weights", run.to_str().unwrap()],
        "a folder; give the weights.safetensors in it",
    );
}
