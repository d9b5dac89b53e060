//! What a sweep folder shows after each call: summary.csv with the ideal
//! observer of each value when the sweep keeps it, and the figures, error
//! bars against the value or a grid's heatmaps.

use std::path::Path;

use anyhow::Result;

use super::grid::write_heatmaps;
use super::ideal::{update_ideal, IdealRecord};
use super::records::RunRecord;
use super::spec::SweepSpec;
use super::summary::{summarise, write_figures, write_summary, SUMMARY_FILE};

/// Rewrites summary.csv and, when any run finished, the figures: error
/// bars against the value, or a grid's heatmaps. With `ideal` (the records
/// known so far; see `ideal`), every value of the summary gets its ideal
/// observer, computed if not yet known.
pub fn write_results(
    dir: &Path,
    spec: &SweepSpec,
    rows: &[RunRecord],
    ideal: Option<Vec<IdealRecord>>,
) -> Result<()> {
    let mut summaries = summarise(spec, rows);
    if let Some(known) = ideal {
        let values: Vec<usize> = summaries.iter().map(|s| s.cell.value_index).collect();
        let records = update_ideal(dir, spec, &values, known)?;
        for (summary, record) in summaries.iter_mut().zip(records) {
            summary.ideal = Some(record);
        }
    }
    write_summary(&dir.join(SUMMARY_FILE), &summaries)?;
    if summaries.is_empty() {
        return Ok(());
    }
    match &spec.second {
        None => write_figures(dir, spec, &summaries),
        Some(_) => write_heatmaps(dir, spec, &summaries),
    }
}
