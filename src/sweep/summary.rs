//! `summary.csv` and the error-bar figures: statistics across the repeats
//! of each value (each cell of a grid, whose figures are in `grid`), and
//! the ideal observer beside them when a sweep of one option keeps it.

use std::path::Path;

use anyhow::Result;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::cell::{Cell, CELL_COLUMNS};
use super::ideal::IdealRecord;
use super::records::{RunRecord, METRICS, SUMMARY_COLUMNS};
use super::spec::SweepSpec;
use crate::analysis::mean_std;
use crate::output;
use crate::plots::{sweep_figure, ErrorBarSeries, ReferenceLine};

pub const SUMMARY_FILE: &str = "summary.csv";
pub const ACCURACY_FIGURE: &str = "sweep_accuracy";
pub const ABS_ERROR_FIGURE: &str = "sweep_abs_error";
pub const MIDPOINT_ERROR_FIGURE: &str = "sweep_midpoint_error";
pub const DECODED_ERROR_FIGURE: &str = "sweep_decoded_error";

/// One row of summary.csv: mean and std (numpy's, ddof = 0) across the
/// finished repeats of one value (one cell of a grid), for every measured
/// column of runs.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueSummary {
    pub cell: Cell,
    /// Where the value sits on the figures' x axis.
    pub x: f64,
    /// Finished repeats.
    pub count: usize,
    /// `(mean, std)` of each column named in `METRICS`, in that order.
    pub stats: Vec<(f64, f64)>,
    /// The ideal observer of the value, when the sweep keeps it.
    pub ideal: Option<IdealRecord>,
}

impl ValueSummary {
    /// Mean and std of one measured column.
    pub fn stat(&self, metric: &str) -> (f64, f64) {
        METRICS
            .iter()
            .position(|m| *m == metric)
            .map_or((f64::NAN, f64::NAN), |i| self.stats[i])
    }
}

impl Serialize for ValueSummary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_struct("ValueSummary", 19 + 2 * self.stats.len())?;
        self.cell.serialize_into(&mut row)?;
        row.serialize_field("x", &self.x)?;
        row.serialize_field("count", &self.count)?;
        for ([mean_column, std_column], (mean, std)) in SUMMARY_COLUMNS.iter().zip(&self.stats) {
            row.serialize_field(mean_column, mean)?;
            row.serialize_field(std_column, std)?;
        }
        if let Some(i) = &self.ideal {
            row.serialize_field("ideal_seed", &i.ideal_seed)?;
            row.serialize_field("ideal_samples", &i.ideal_samples)?;
            row.serialize_field("ideal_accuracy_pct", &i.ideal_accuracy_pct)?;
            row.serialize_field("ideal_abs_error_deg", &i.ideal_abs_error_deg)?;
            row.serialize_field("ideal_midpoint_error_deg", &i.ideal_midpoint_error_deg)?;
            row.serialize_field("ideal_decoded_error_deg", &i.ideal_decoded_error_deg)?;
            row.serialize_field("ideal_map_ipd_rms_deg", &i.ideal_map_ipd_rms_deg)?;
            let known = [
                (
                    "ideal_known_offset_accuracy_pct",
                    i.ideal_known_offset_accuracy_pct,
                ),
                (
                    "ideal_known_offset_abs_error_deg",
                    i.ideal_known_offset_abs_error_deg,
                ),
                (
                    "ideal_known_offset_midpoint_error_deg",
                    i.ideal_known_offset_midpoint_error_deg,
                ),
                (
                    "ideal_known_offset_decoded_error_deg",
                    i.ideal_known_offset_decoded_error_deg,
                ),
            ];
            for (column, value) in known {
                row.serialize_field(column, &value)?;
            }
        }
        row.end()
    }
}

/// One summary per value (cell of a grid) with at least one finished run,
/// in job order. `rows` must be sorted by job (as `unique_rows` returns
/// them), so the sums run in the same order however the rows were produced.
pub fn summarise(spec: &SweepSpec, rows: &[RunRecord]) -> Vec<ValueSummary> {
    let (x, _) = x_axis(spec);
    (0..spec.cell_count())
        .filter_map(|cell| {
            let job = spec.job(cell * spec.repeats);
            let runs: Vec<Vec<f64>> = rows
                .iter()
                .filter(|r| {
                    (r.cell.value_index, r.cell.value2_index) == (job.value_index, job.value2_index)
                })
                .map(RunRecord::metrics)
                .collect();
            if runs.is_empty() {
                return None;
            }
            let stats = (0..METRICS.len())
                .map(|i| mean_std(&runs.iter().map(|r| r[i]).collect::<Vec<_>>()))
                .collect();
            Some(ValueSummary {
                cell: Cell::of(spec, &job),
                x: x[job.value_index],
                count: runs.len(),
                stats,
                ideal: None,
            })
        })
        .collect()
}

/// x positions of the values and the axis label: the values themselves when
/// all are numbers, otherwise their index (phase-offset, rng, engine).
pub fn x_axis(spec: &SweepSpec) -> (Vec<f64>, String) {
    let numbers: Option<Vec<f64>> = spec.values.iter().map(|v| v.parse().ok()).collect();
    match numbers {
        Some(x) => (x, spec.param.clone()),
        None => {
            let legend: Vec<String> = spec
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{i} = {v}"))
                .collect();
            (
                (0..spec.values.len()).map(|i| i as f64).collect(),
                format!("{} (index of value: {})", spec.param, legend.join(", ")),
            )
        }
    }
}

pub(super) fn write_summary(path: &Path, summaries: &[ValueSummary]) -> Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    if summaries.is_empty() {
        out.write_record(
            CELL_COLUMNS
                .into_iter()
                .chain(["x", "count"])
                .chain(SUMMARY_COLUMNS.iter().flatten().copied()),
        )?;
    }
    for summary in summaries {
        out.serialize(summary)?;
    }
    output::write_bytes(path, &out.into_inner().map_err(|e| e.into_error())?)
}

/// An ideal-observer column of a sweep figure's reference lines.
type Column = fn(&IdealRecord) -> Option<f64>;

/// Each error-bar figure: its train and test columns of runs.csv, its y
/// label and file stem, and the ideal observer's columns, offset unknown
/// and known.
const FIGURES: [([&str; 2], &str, &str, [Column; 2]); 4] = [
    (
        ["train_acc_mean_over_batches", "test_acc_mean_over_batches"],
        "Accuracy (mean ± std over repeats, %)",
        ACCURACY_FIGURE,
        [
            |i| Some(i.ideal_accuracy_pct),
            |i| i.ideal_known_offset_accuracy_pct,
        ],
    ),
    (
        [
            "train_abs_error_mean_over_samples",
            "test_abs_error_mean_over_samples",
        ],
        "Absolute error vs true IPD (mean ± std over repeats, deg)",
        ABS_ERROR_FIGURE,
        [
            |i| Some(i.ideal_abs_error_deg),
            |i| i.ideal_known_offset_abs_error_deg,
        ],
    ),
    (
        [
            "train_midpoint_error_mean_over_samples",
            "test_midpoint_error_mean_over_samples",
        ],
        "Class-midpoint error (mean ± std over repeats, deg)",
        MIDPOINT_ERROR_FIGURE,
        [
            |i| Some(i.ideal_midpoint_error_deg),
            |i| i.ideal_known_offset_midpoint_error_deg,
        ],
    ),
    (
        [
            "train_decoded_error_mean_over_samples",
            "test_decoded_error_mean_over_samples",
        ],
        "Decoded error vs true IPD (mean ± std over repeats, deg)",
        DECODED_ERROR_FIGURE,
        [
            |i| Some(i.ideal_decoded_error_deg),
            |i| i.ideal_known_offset_decoded_error_deg,
        ],
    ),
];

/// The notebook's two error-bar figures, the class-midpoint and the decoded
/// error, with bars across repeats, and the ideal observer as dashed lines
/// when kept.
pub(super) fn write_figures(
    dir: &Path,
    spec: &SweepSpec,
    summaries: &[ValueSummary],
) -> Result<()> {
    let (_, x_label) = x_axis(spec);
    let x: Vec<f64> = summaries.iter().map(|s| s.x).collect();
    for (metrics, y_label, stem, ideal) in FIGURES {
        let columns: Vec<(Vec<f64>, Vec<f64>)> = metrics
            .iter()
            .map(|m| summaries.iter().map(|s| s.stat(m)).unzip())
            .collect();
        let series: Vec<ErrorBarSeries> = ["Train", "Test"]
            .into_iter()
            .zip(&columns)
            .map(|(label, (mean, std))| ErrorBarSeries {
                label,
                x: &x,
                mean,
                std,
            })
            .collect();
        let lines: Vec<Vec<f64>> = ideal
            .iter()
            .map(|column| {
                let value = |s: &ValueSummary| s.ideal.as_ref().and_then(column);
                summaries
                    .iter()
                    .map(|s| value(s).unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        let references: Vec<ReferenceLine> = ["Ideal observer", "Ideal, offset known"]
            .into_iter()
            .zip(&lines)
            .filter(|(_, y)| y.iter().any(|v| v.is_finite()))
            .map(|(label, y)| ReferenceLine { label, x: &x, y })
            .collect();
        sweep_figure(&x_label, y_label, &series, &references, &dir.join(stem))?;
    }
    Ok(())
}
