//! Helpers shared by the integration tests that drive the `snnloc` binary.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn snnloc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnloc"))
        .args(args)
        .output()
        .expect("snnloc runs")
}

/// A fresh, not yet existing folder per test and process, so tests can run
/// in parallel.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnloc-test-{}-{name}", std::process::id()));
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
