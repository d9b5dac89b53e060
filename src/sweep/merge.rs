//! Joining the folders of one sweep's shards.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::folder::{claim_folder, read_sweep_file, refuse_foreign};
use super::ideal::{read_ideal, IDEAL_FILE};
use super::lock::FolderLock;
use super::records::{read_runs, unique_rows, write_runs, RUNS_FILE};
use super::results::write_results;
use super::shard::Shard;
use super::spec::SweepFile;
use crate::config::first_difference;

/// What `merge` combined.
#[derive(Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// Jobs of the whole sweep.
    pub total: usize,
    /// Jobs found in the shards.
    pub merged: usize,
}

/// Combines the folders of one sweep's shards (or partial copies of it)
/// into `out`: the union of their runs.csv rows, a summary and figures.
/// `out` becomes a folder of the whole sweep (shard 0/1), so running the
/// sweep on it again runs whatever jobs are still missing. The ideal
/// observer is kept with `ideal` or when a folder already keeps it, from
/// the shards' records where they have them. With `force`, an `out` of
/// another sweep has its results deleted first.
pub fn merge(out: &Path, dirs: &[PathBuf], ideal: bool, force: bool) -> Result<MergeReport> {
    let Some(first) = dirs.first() else {
        bail!("sweep-merge needs at least one sweep folder");
    };
    let spec = read_sweep_file(first)?.spec;
    let (mut rows, mut known_ideal) = (Vec::new(), Vec::new());
    for dir in dirs {
        let file = read_sweep_file(dir)?;
        if file.spec != spec {
            let difference = first_difference(
                &serde_json::to_value(&spec)?,
                &serde_json::to_value(&file.spec)?,
            )
            .unwrap_or_default();
            bail!(
                "{} and {} are not shards of the same sweep ({difference})",
                first.display(),
                dir.display()
            );
        }
        rows.extend(read_runs(&dir.join(RUNS_FILE), &spec)?);
        known_ideal.extend(read_ideal(dir, &spec)?);
    }
    let rows = unique_rows(rows)?;
    refuse_foreign(out, force)?;
    let _lock = FolderLock::take(out)?;
    claim_folder(
        out,
        &SweepFile {
            spec: spec.clone(),
            shard: Shard::ALL,
        },
        force,
    )?;
    write_runs(&out.join(RUNS_FILE), &rows)?;
    known_ideal.extend(read_ideal(out, &spec)?);
    let keep_ideal = ideal || !known_ideal.is_empty() || out.join(IDEAL_FILE).exists();
    write_results(out, &spec, &rows, keep_ideal.then_some(known_ideal))?;
    Ok(MergeReport {
        total: spec.job_count(),
        merged: rows.len(),
    })
}
