//! The ideal observer beside a sweep: for every value, the best accuracy
//! and errors any classifier can reach, computed once on the test set of
//! the value's repeat 0 (seed `derive_seed(seed, value, 0)`, whether or not
//! that run finished) and kept in `ideal.csv`, so that resuming, merging
//! and rewriting the summary never compute it twice.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use tch::Device;

use super::spec::SweepSpec;
use crate::config::Config;
use crate::experiment::test_set;
use crate::ideal::{check_ideal as check_config, ideal_limits, DEFAULT_PHASE_POINTS};
use crate::output;

pub const IDEAL_FILE: &str = "ideal.csv";

/// One row of ideal.csv; its fields from `ideal_seed` on are summary.csv's
/// ideal columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdealRecord {
    pub value_index: usize,
    pub value: String,
    /// Seed of the test set the observer read: that of the value's repeat 0.
    pub ideal_seed: u64,
    pub ideal_samples: usize,
    /// With the phase offset marginalised: the limit for per-sample
    /// offsets, and for any observer that does not know a shared one.
    pub ideal_accuracy_pct: f64,
    pub ideal_abs_error_deg: f64,
    pub ideal_midpoint_error_deg: f64,
    /// Of the posterior median IPD.
    pub ideal_decoded_error_deg: f64,
    pub ideal_map_ipd_rms_deg: f64,
    /// With per-call offsets only: the observer told the test set's shared
    /// offset, an upper bound.
    pub ideal_known_offset_accuracy_pct: Option<f64>,
    pub ideal_known_offset_abs_error_deg: Option<f64>,
    pub ideal_known_offset_midpoint_error_deg: Option<f64>,
    pub ideal_known_offset_decoded_error_deg: Option<f64>,
}

/// The config whose test set value `value_index`'s observer reads (in a
/// sweep of one option, a value is a cell).
fn config_of(spec: &SweepSpec, value_index: usize) -> Result<Config> {
    spec.config(&spec.job(value_index * spec.repeats))
}

/// Refuses, before any run, a grid (its cells would each need an observer
/// and a heatmap of their own) and a value whose observer would not fit in
/// memory.
pub fn check_ideal(spec: &SweepSpec) -> Result<()> {
    ensure!(
        spec.second.is_none(),
        "`ideal` works on sweeps of one option, not on grids; run `snnloc ideal` on a cell instead"
    );
    for (v, value) in spec.values.iter().enumerate() {
        check_config(&config_of(spec, v)?).with_context(|| format!("`values` {value}"))?;
    }
    Ok(())
}

/// The rows of `dir`'s ideal.csv, none when there is no such file.
pub fn read_ideal(dir: &Path, spec: &SweepSpec) -> Result<Vec<IdealRecord>> {
    let path = dir.join(IDEAL_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let what = || format!("{}: not a snnloc {IDEAL_FILE}", path.display());
    let mut reader = csv::Reader::from_path(&path).with_context(what)?;
    let rows: Vec<IdealRecord> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .with_context(what)?;
    for row in &rows {
        ensure!(
            spec.values.get(row.value_index) == Some(&row.value),
            "{}: value {} at index {} is not this sweep's",
            path.display(),
            row.value,
            row.value_index
        );
    }
    Ok(rows)
}

/// The records of `values` (indices), those in `known` reused and the
/// others computed, in value order; every record is written to `dir`'s
/// ideal.csv.
pub fn update_ideal(
    dir: &Path,
    spec: &SweepSpec,
    values: &[usize],
    mut known: Vec<IdealRecord>,
) -> Result<Vec<IdealRecord>> {
    known.sort_by_key(|r| r.value_index);
    known.dedup_by_key(|r| r.value_index);
    for &v in values {
        if !known.iter().any(|r| r.value_index == v) {
            known.push(observe(spec, v)?);
        }
    }
    known.sort_by_key(|r| r.value_index);
    output::write_csv_rows(&dir.join(IDEAL_FILE), &known)?;
    Ok(known
        .into_iter()
        .filter(|r| values.contains(&r.value_index))
        .collect())
}

fn observe(spec: &SweepSpec, v: usize) -> Result<IdealRecord> {
    let cfg = config_of(spec, v)?;
    let data = test_set(&cfg, Device::Cpu)?;
    let limits = ideal_limits(&cfg, &data, DEFAULT_PHASE_POINTS)
        .with_context(|| format!("the ideal observer of {} {}", spec.param, spec.values[v]))?;
    let (s, known) = (
        limits.unknown_offset.score,
        limits.known_offset.map(|(_, r)| r.score),
    );
    Ok(IdealRecord {
        value_index: v,
        value: spec.values[v].clone(),
        ideal_seed: cfg.run.seed,
        ideal_samples: data.len(),
        ideal_accuracy_pct: s.accuracy_pct,
        ideal_abs_error_deg: s.abs_error_deg,
        ideal_midpoint_error_deg: s.midpoint_error_deg,
        ideal_decoded_error_deg: s.decoded_error_deg,
        ideal_map_ipd_rms_deg: limits.unknown_offset.map_ipd_rms_deg,
        ideal_known_offset_accuracy_pct: known.map(|k| k.accuracy_pct),
        ideal_known_offset_abs_error_deg: known.map(|k| k.abs_error_deg),
        ideal_known_offset_midpoint_error_deg: known.map(|k| k.midpoint_error_deg),
        ideal_known_offset_decoded_error_deg: known.map(|k| k.decoded_error_deg),
    })
}
