//! The sweep folder's claim: whose sweep a folder holds, and where each
//! run's own folder is.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::grid::heatmap_files;
use super::ideal::IDEAL_FILE;
use super::lock::LOCK_FILE;
use super::records::RUNS_FILE;
use super::spec::{Job, SweepFile};
use super::summary::{
    ABS_ERROR_FIGURE, ACCURACY_FIGURE, DECODED_ERROR_FIGURE, MIDPOINT_ERROR_FIGURE, SUMMARY_FILE,
};
use crate::config::stored_difference;
use crate::output;

pub const SWEEP_FILE: &str = "sweep.json";
/// Each run's own folder, `runs/<value-index>-<repeat>`.
pub const RUNS_DIR: &str = "runs";

/// The folder of one run: `runs/<value-index>-<repeat>`, in a grid
/// `runs/<value-index>-<value2-index>-<repeat>`.
pub fn run_dir(out: &Path, job: &Job) -> PathBuf {
    let cell = match job.value2_index {
        None => job.value_index.to_string(),
        Some(j) => format!("{}-{j}", job.value_index),
    };
    out.join(RUNS_DIR).join(format!("{cell}-{}", job.repeat))
}

pub(super) fn read_sweep_file(dir: &Path) -> Result<SweepFile> {
    let path = dir.join(SWEEP_FILE);
    let text = fs::read_to_string(&path)
        .with_context(|| format!("{}: not a sweep folder (no {SWEEP_FILE})", dir.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a snnloc {SWEEP_FILE}", path.display()))
}

/// Refuses, before its lock file is made in it, an `out` that holds files
/// but no `sweep.json`: a folder that is not a sweep's is not touched
/// without `force`.
pub(super) fn refuse_foreign(out: &Path, force: bool) -> Result<()> {
    if force || out.join(SWEEP_FILE).exists() {
        return Ok(());
    }
    match first_entry(out) {
        Some(name) => bail!(
            "`out` {} holds {name} but no {SWEEP_FILE}; choose another `out`, or add `force` to delete its results",
            out.display()
        ),
        None => Ok(()),
    }
}

/// Makes `out` the folder of this sweep: a new folder gets `sweep.json`; a
/// folder of the same sweep is resumed; one of a different sweep is an
/// error, or with `force` has its results deleted first.
pub(super) fn claim_folder(out: &Path, file: &SweepFile, force: bool) -> Result<()> {
    let path = out.join(SWEEP_FILE);
    let conflict = match fs::read_to_string(&path) {
        Ok(text) => {
            let stored: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a snnloc {SWEEP_FILE}", path.display()))?;
            match stored_difference(&stored, file)? {
                None => return Ok(()),
                Some(difference) => {
                    format!("a different sweep ({difference}; stored vs requested)")
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match first_entry(out) {
            None => {
                output::create_dir(out)?;
                return output::write_json(&path, file);
            }
            Some(name) => format!("{name} but no {SWEEP_FILE}"),
        },
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if !force {
        bail!(
            "`out` {} holds {conflict}; choose another `out`, or add `force` to delete its results",
            out.display()
        );
    }
    discard_results(out)?;
    output::write_json(&path, file)
}

/// The first name in `out` that is neither hidden nor this sweep's lock,
/// if `out` exists: a folder with one is not a new sweep's, whoever wrote
/// it.
fn first_entry(out: &Path) -> Option<String> {
    fs::read_dir(out)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| !name.starts_with('.') && name != LOCK_FILE)
}

/// Deletes what a sweep wrote into `out`, and nothing else.
fn discard_results(out: &Path) -> Result<()> {
    let figures = [
        ACCURACY_FIGURE,
        ABS_ERROR_FIGURE,
        MIDPOINT_ERROR_FIGURE,
        DECODED_ERROR_FIGURE,
    ]
    .into_iter()
    .flat_map(|stem| [format!("{stem}.png"), format!("{stem}.svg")]);
    let files = [SWEEP_FILE, RUNS_FILE, SUMMARY_FILE, IDEAL_FILE]
        .into_iter()
        .map(String::from)
        .chain(figures)
        .chain(heatmap_files());
    for name in files {
        let path = out.join(name);
        if path.exists() {
            fs::remove_file(&path)
                .with_context(|| format!("`force`: cannot delete {}", path.display()))?;
        }
    }
    let runs = out.join(RUNS_DIR);
    if runs.exists() {
        fs::remove_dir_all(&runs)
            .with_context(|| format!("`force`: cannot delete {}", runs.display()))?;
    }
    Ok(())
}
