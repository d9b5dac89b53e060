//! A sweep's processes: runs that die with their sweep, a lock that keeps a
//! second sweep off its folder, signals that stop it in order, and a
//! diverging run recorded as such.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    assert_one_line_error, assert_success, job_ids, read_csv, scratch_dir, TINY_NET,
};

/// Epochs that keep a tiny run busy for seconds.
const LONG: &str = "1500";

/// The arguments of a sweep of 4 long runs, 2 at a time, into `out`.
fn sweep_args(out: &Path) -> Vec<String> {
    ["sweep", "--param", "envelope-power", "--values", "0,1"]
        .into_iter()
        .chain(["--repeats", "2", "--jobs", "2", "--threads", "1"])
        .chain(["--device", "cpu", "--out", out.to_str().unwrap()])
        .chain(TINY_NET)
        .chain(["--epochs", LONG])
        .map(String::from)
        .collect()
}

fn start_sweep(out: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnloc"));
    command
        .args(sweep_args(out))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: signal is async-signal-safe. A sweep leaves an ignored SIGINT
    // ignored, and these tests may run as a script's background job.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    command.spawn().unwrap()
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| stat(p).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

/// A process's state letter and parent pid.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces.
    let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// A zombie has exited; only its exit status is left to collect.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z')
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(start.elapsed() < limit, "no {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runs_in_progress(sweep: &Child) -> Vec<u32> {
    wait_for("runs in progress", Duration::from_secs(120), || {
        let runs = children_of(sweep.id());
        (runs.len() == 2).then_some(runs)
    })
}

#[test]
fn a_killed_sweep_leaves_no_run_behind_and_resumes_each_job_once() {
    let out = scratch_dir("killed");
    let mut sweep = start_sweep(&out);
    let runs = runs_in_progress(&sweep);
    sweep.kill().unwrap();
    sweep.wait().unwrap();
    wait_for("end of the runs", Duration::from_secs(2), || {
        runs.iter().all(|&run| !alive(run)).then_some(())
    });

    let resumed = Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args(sweep_args(&out))
        .output()
        .unwrap();
    assert_success(&resumed);
    assert_eq!(job_ids(&out.join("runs.csv")), [0, 1, 2, 3]);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_busy_folder_is_refused_and_signals_stop_the_sweep_in_order() {
    for (signal, name, code) in [
        (libc::SIGTERM, "SIGTERM", 143),
        (libc::SIGINT, "SIGINT", 130),
    ] {
        let out = scratch_dir(&format!("busy-{name}"));
        let sweep = start_sweep(&out);
        let runs = runs_in_progress(&sweep);
        let holder = format!("in use by process {}", sweep.id());
        let second = sweep_args(&out);
        assert_one_line_error(
            &second.iter().map(String::as_str).collect::<Vec<_>>(),
            &holder,
        );
        let folder = out.to_str().unwrap();
        assert_one_line_error(&["sweep-merge", "--out", folder, folder], &holder);

        // SAFETY: a signal to a child that has not been reaped.
        unsafe { libc::kill(sweep.id() as libc::pid_t, signal) };
        let ended = sweep.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&ended.stderr);
        assert_eq!(ended.status.code(), Some(code), "{stderr}");
        assert!(
            stderr
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .contains(&format!("stopped by {name}")),
            "{stderr}"
        );
        assert!(
            runs.iter().all(|&run| !alive(run)),
            "a run outlived its sweep"
        );
        assert!(out.join("summary.csv").is_file());
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn a_diverging_run_is_recorded_as_such() {
    let out = scratch_dir("diverging");
    let mut args = vec![
        "sweep",
        "--param",
        "lr",
        "--values",
        "0.01,1e38",
        "--threads",
        "1",
    ];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(TINY_NET);
    let sweep = crate::common::snnloc(&args);
    let stderr = String::from_utf8_lossy(&sweep.stderr);
    assert!(sweep.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("] job ")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(!lines
        .iter()
        .any(|l| l.contains("lr=0.01") && l.contains("DIVERGED")));
    assert!(lines
        .iter()
        .any(|l| l.contains("lr=1e+38") && l.contains("DIVERGED at epoch 1 batch")));
    let runs = read_csv(&out.join("runs.csv"));
    assert_eq!(runs[0]["diverged"], "");
    assert!(
        runs[1]["diverged"].starts_with("epoch 1 batch "),
        "{:?}",
        runs[1]
    );
    assert_eq!(runs[1]["final_loss"], "NaN");
    std::fs::remove_dir_all(&out).unwrap();
}
