//! A grid sweep's heatmaps: one quantity's mean over repeats in every cell,
//! the first option's values down the rows and the second's across, as CSV
//! and as figures.

use std::path::Path;

use anyhow::Result;

use super::spec::SweepSpec;
use super::summary::ValueSummary;
use crate::output;
use crate::plots::{heatmap_figure, Heatmap};

/// Each heatmap: the runs.csv column averaged over repeats, the file stem
/// of its CSV and figures, and what the colour shows.
const HEATMAPS: [(&str, &str, &str); 4] = [
    (
        "test_acc_mean_over_batches",
        "grid_test_accuracy",
        "Test accuracy (mean over repeats, %)",
    ),
    (
        "test_abs_error_mean_over_samples",
        "grid_test_abs_error",
        "Test absolute error vs true IPD (mean over repeats, deg)",
    ),
    (
        "test_midpoint_error_mean_over_samples",
        "grid_test_midpoint_error",
        "Test class-midpoint error (mean over repeats, deg)",
    ),
    (
        "test_decoded_error_mean_over_samples",
        "grid_test_decoded_error",
        "Test decoded error vs true IPD (mean over repeats, deg)",
    ),
];

/// The files the heatmaps write, for `force` to delete.
pub fn heatmap_files() -> impl Iterator<Item = String> {
    HEATMAPS
        .into_iter()
        .flat_map(|(_, stem, _)| ["csv", "png", "svg"].map(|ext| format!("{stem}.{ext}")))
}

/// `metric`'s mean over repeats per cell, `[value_index][value2_index]`;
/// NaN where no run of the cell has finished.
fn heatmap(spec: &SweepSpec, summaries: &[ValueSummary], metric: &str) -> Vec<Vec<f64>> {
    let mut cells = vec![vec![f64::NAN; spec.values2().len()]; spec.values.len()];
    for s in summaries {
        if let Some(j) = s.cell.value2_index {
            cells[s.cell.value_index][j] = s.stat(metric).0;
        }
    }
    cells
}

/// Writes each heatmap as `<stem>.csv` (the corner names both options, a
/// cell without finished runs is empty) and as `<stem>.png` and `.svg`.
pub fn write_heatmaps(dir: &Path, spec: &SweepSpec, summaries: &[ValueSummary]) -> Result<()> {
    let params = spec.params();
    let (param2, values2) = (params.get(1).copied().unwrap_or_default(), spec.values2());
    let corner = format!("{} \\ {param2}", spec.param);
    let header: Vec<&str> = std::iter::once(corner.as_str())
        .chain(values2.iter().map(String::as_str))
        .collect();
    for (metric, stem, title) in HEATMAPS {
        let cells = heatmap(spec, summaries, metric);
        let rows = spec.values.iter().zip(&cells).map(|(value, row)| {
            std::iter::once(value.clone())
                .chain(row.iter().map(|x| {
                    if x.is_nan() {
                        String::new()
                    } else {
                        x.to_string()
                    }
                }))
                .collect()
        });
        output::write_csv(&dir.join(format!("{stem}.csv")), &header, rows)?;
        heatmap_figure(
            &Heatmap {
                title,
                x_label: param2,
                x_ticks: values2,
                y_label: &spec.param,
                y_ticks: &spec.values,
                cells: &cells,
            },
            &dir.join(stem),
        )?;
    }
    Ok(())
}
