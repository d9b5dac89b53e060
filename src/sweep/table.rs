//! The result files of a sweep: `runs.csv`, one row per finished run,
//! appended as runs end; `summary.csv`, statistics across repeats; and the
//! two error-bar figures.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

use super::spec::{Job, SweepSpec};
use crate::analysis::mean_std;
use crate::output;
use crate::plots::{sweep_figure, ErrorBarSeries};

pub const RUNS_FILE: &str = "runs.csv";
pub const SUMMARY_FILE: &str = "summary.csv";
pub const ACCURACY_FIGURE: &str = "sweep_accuracy";
pub const ABS_ERROR_FIGURE: &str = "sweep_abs_error";

/// The measurements of one run, in runs.csv column order. Accuracy is in
/// percent with its spread over batches (the notebook's error bars); the
/// absolute error is in degrees with its spread over samples, as the
/// notebook's `analyse` computes them.
pub const METRICS: [&str; 10] = [
    "train_acc_mean_over_batches",
    "train_acc_std_over_batches",
    "test_acc_mean_over_batches",
    "test_acc_std_over_batches",
    "train_abs_error_mean_over_samples",
    "train_abs_error_std_over_samples",
    "test_abs_error_mean_over_samples",
    "test_abs_error_std_over_samples",
    "final_loss",
    "seconds",
];
const TRAIN_ACC: usize = 0;
const TEST_ACC: usize = 2;
const TRAIN_ABS_ERROR: usize = 4;
const TEST_ABS_ERROR: usize = 6;
/// Wall-clock time differs between two runs of the same job; everything
/// else must agree when a job appears twice.
const SECONDS: usize = 9;

const KEY_COLUMNS: [&str; 6] = ["job", "param", "value_index", "value", "repeat", "seed"];
const RERUN_COLUMN: &str = "rerun";

/// One row of runs.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub job: Job,
    pub metrics: [f64; METRICS.len()],
    /// The `snnloc train` command that repeats this run on its own.
    pub rerun: String,
}

fn key_fields(param: &str, job: &Job) -> [String; KEY_COLUMNS.len()] {
    [
        job.index.to_string(),
        param.to_string(),
        job.value_index.to_string(),
        job.value.clone(),
        job.repeat.to_string(),
        job.seed.to_string(),
    ]
}

fn runs_header() -> Vec<&'static str> {
    KEY_COLUMNS
        .into_iter()
        .chain(METRICS)
        .chain([RERUN_COLUMN])
        .collect()
}

impl RunRow {
    /// Reads the `metrics.json` that `snnloc train` wrote for this job.
    pub fn from_metrics(
        job: Job,
        metrics_json: &Path,
        seconds: f64,
        rerun: String,
    ) -> Result<Self> {
        #[derive(Deserialize)]
        struct Split {
            accuracy_mean: f64,
            accuracy_std: f64,
            abs_error_mean: f64,
            abs_error_std: f64,
        }
        #[derive(Deserialize)]
        struct Metrics {
            train: Split,
            test: Split,
            loss_hist: Vec<f64>,
        }
        let text = fs::read_to_string(metrics_json)
            .with_context(|| format!("cannot read {}", metrics_json.display()))?;
        let m: Metrics = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a snnloc metrics.json", metrics_json.display()))?;
        let final_loss = *m
            .loss_hist
            .last()
            .with_context(|| format!("{} has no loss", metrics_json.display()))?;
        Ok(RunRow {
            job,
            metrics: [
                m.train.accuracy_mean,
                m.train.accuracy_std,
                m.test.accuracy_mean,
                m.test.accuracy_std,
                m.train.abs_error_mean,
                m.train.abs_error_std,
                m.test.abs_error_mean,
                m.test.abs_error_std,
                final_loss,
                seconds,
            ],
            rerun,
        })
    }

    /// The headline numbers, for a progress line.
    pub fn headline(&self) -> String {
        let m = &self.metrics;
        format!(
            "accuracy train {:.1}% test {:.1}%, test abs error {:.1} deg, {:.1} s",
            m[TRAIN_ACC], m[TEST_ACC], m[TEST_ABS_ERROR], m[SECONDS]
        )
    }

    fn record(&self, param: &str) -> Vec<String> {
        key_fields(param, &self.job)
            .into_iter()
            .chain(self.metrics.iter().map(ToString::to_string))
            .chain([self.rerun.clone()])
            .collect()
    }

    /// A row read back, checked against the sweep it claims to belong to.
    fn parse(record: &csv::StringRecord, spec: &SweepSpec) -> Result<Self> {
        let field = |i: usize| record.get(i).unwrap_or_default();
        let index: usize = field(0).parse().context("bad job")?;
        ensure!(
            index < spec.job_count(),
            "job {index} does not exist in this sweep"
        );
        let job = spec.job(index);
        let expected = key_fields(&spec.param, &job);
        let stored: Vec<&str> = record.iter().take(expected.len()).collect();
        ensure!(
            stored == expected,
            "job {index} is {} here but {} in this sweep ({})",
            stored.join(","),
            expected.join(","),
            KEY_COLUMNS.join(",")
        );
        let mut metrics = [0.0; METRICS.len()];
        for (i, (slot, name)) in metrics.iter_mut().zip(METRICS).enumerate() {
            *slot = field(KEY_COLUMNS.len() + i)
                .parse()
                .with_context(|| format!("bad {name}"))?;
        }
        Ok(RunRow {
            job,
            metrics,
            rerun: field(KEY_COLUMNS.len() + METRICS.len()).to_string(),
        })
    }
}

/// The complete rows of a runs.csv. A trailing line without its newline is
/// a row whose writer was killed mid-write: it is ignored here (and cut off
/// by `RunsLog::open`).
pub fn read_runs(path: &Path, spec: &SweepSpec) -> Result<Vec<RunRow>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let complete = &bytes[..complete_len(&bytes)];
    if complete.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_reader(complete);
    let header = reader
        .headers()
        .with_context(|| format!("{}: unreadable header", path.display()))?;
    ensure!(
        header.iter().eq(runs_header()),
        "{} does not have the columns of a snnloc sweep's runs.csv",
        path.display()
    );
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            record
                .map_err(anyhow::Error::from)
                .and_then(|r| RunRow::parse(&r, spec))
                // Line 1 is the header.
                .with_context(|| format!("{} line {}", path.display(), i + 2))
        })
        .collect()
}

/// Bytes up to and including the last newline.
fn complete_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Keeps one row per job, sorted by job; a job found twice (a shard run
/// twice, say) must have the same results both times, wall-clock aside.
pub fn unique_rows(rows: Vec<RunRow>) -> Result<Vec<RunRow>> {
    let mut by_job: BTreeMap<usize, RunRow> = BTreeMap::new();
    for row in rows {
        if let Some(seen) = by_job.get(&row.job.index) {
            let differs =
                (0..METRICS.len()).find(|&i| i != SECONDS && seen.metrics[i] != row.metrics[i]);
            if let Some(i) = differs {
                bail!(
                    "job {} ({}, repeat {}) appears twice with different {}: {} and {}",
                    row.job.index,
                    row.job.value,
                    row.job.repeat,
                    METRICS[i],
                    seen.metrics[i],
                    row.metrics[i]
                );
            }
        } else {
            by_job.insert(row.job.index, row);
        }
    }
    Ok(by_job.into_values().collect())
}

/// Writes a whole runs.csv at once (a merge).
pub fn write_runs(path: &Path, spec: &SweepSpec, rows: &[RunRow]) -> Result<()> {
    output::write_csv(
        path,
        &runs_header(),
        rows.iter().map(|r| r.record(&spec.param)),
    )
}

/// runs.csv opened for appending, one row as each run ends.
pub struct RunsLog {
    file: fs::File,
    param: String,
}

impl RunsLog {
    /// Opens (or starts) runs.csv, first cutting off a row torn by a kill.
    pub fn open(path: &Path, spec: &SweepSpec) -> Result<Self> {
        let fail = || format!("cannot update {}", path.display());
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .with_context(fail)?;
        let bytes = fs::read(path).with_context(fail)?;
        let keep = complete_len(&bytes);
        if keep < bytes.len() {
            file.set_len(keep as u64).with_context(fail)?;
        }
        if keep == 0 {
            file.write_all(&csv_line(&runs_header())?)
                .and_then(|()| file.sync_data())
                .with_context(fail)?;
        }
        Ok(RunsLog {
            file,
            param: spec.param.clone(),
        })
    }

    /// Appends one row in a single write and waits until it is on disk, so
    /// a kill loses at most this row, and only as a partial last line.
    pub fn append(&mut self, row: &RunRow) -> Result<()> {
        self.file
            .write_all(&csv_line(&row.record(&self.param))?)
            .and_then(|()| self.file.sync_data())
            .context("cannot append to runs.csv")
    }
}

fn csv_line<S: AsRef<[u8]>>(fields: &[S]) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(fields)?;
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Mean and std across the repeats of one value, for every metric.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueSummary {
    pub value_index: usize,
    pub value: String,
    /// Where the value sits on the figures' x axis.
    pub x: f64,
    /// Finished repeats.
    pub count: usize,
    pub mean: [f64; METRICS.len()],
    pub std: [f64; METRICS.len()],
}

/// One summary per value with at least one finished run, in value order.
/// `rows` must be sorted by job (as `unique_rows` returns them), so the
/// sums run in the same order however the rows were produced.
pub fn summarise(spec: &SweepSpec, rows: &[RunRow]) -> Vec<ValueSummary> {
    let (x, _) = x_axis(spec);
    (0..spec.values.len())
        .filter_map(|v| {
            let runs: Vec<&RunRow> = rows.iter().filter(|r| r.job.value_index == v).collect();
            if runs.is_empty() {
                return None;
            }
            let mut summary = ValueSummary {
                value_index: v,
                value: spec.values[v].clone(),
                x: x[v],
                count: runs.len(),
                mean: [0.0; METRICS.len()],
                std: [0.0; METRICS.len()],
            };
            for i in 0..METRICS.len() {
                let column: Vec<f64> = runs.iter().map(|r| r.metrics[i]).collect();
                (summary.mean[i], summary.std[i]) = mean_std(&column);
            }
            Some(summary)
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

pub fn write_summary(path: &Path, spec: &SweepSpec, summaries: &[ValueSummary]) -> Result<()> {
    let stat_columns: Vec<String> = METRICS
        .iter()
        .flat_map(|m| {
            [
                format!("{m}_mean_over_repeats"),
                format!("{m}_std_over_repeats"),
            ]
        })
        .collect();
    let header: Vec<&str> = ["param", "value_index", "value", "x", "count"]
        .into_iter()
        .chain(stat_columns.iter().map(String::as_str))
        .collect();
    let rows = summaries.iter().map(|s| {
        [
            spec.param.clone(),
            s.value_index.to_string(),
            s.value.clone(),
            s.x.to_string(),
            s.count.to_string(),
        ]
        .into_iter()
        .chain(
            s.mean
                .iter()
                .zip(&s.std)
                .flat_map(|(m, sd)| [m.to_string(), sd.to_string()]),
        )
        .collect()
    });
    output::write_csv(path, &header, rows)
}

/// The notebook's two error-bar figures, with bars across repeats.
pub fn write_figures(dir: &Path, spec: &SweepSpec, summaries: &[ValueSummary]) -> Result<()> {
    let (_, x_label) = x_axis(spec);
    let x: Vec<f64> = summaries.iter().map(|s| s.x).collect();
    let column = |stats: fn(&ValueSummary) -> &[f64; METRICS.len()], i: usize| -> Vec<f64> {
        summaries.iter().map(|s| stats(s)[i]).collect()
    };
    let figures = [
        (
            TRAIN_ACC,
            TEST_ACC,
            "Accuracy (mean ± std over repeats, %)",
            ACCURACY_FIGURE,
        ),
        (
            TRAIN_ABS_ERROR,
            TEST_ABS_ERROR,
            "Absolute error (mean ± std over repeats, deg)",
            ABS_ERROR_FIGURE,
        ),
    ];
    for (train, test, y_label, stem) in figures {
        let (train_mean, train_std) = (column(|s| &s.mean, train), column(|s| &s.std, train));
        let (test_mean, test_std) = (column(|s| &s.mean, test), column(|s| &s.std, test));
        let series = [
            ErrorBarSeries {
                label: "Train",
                x: &x,
                mean: &train_mean,
                std: &train_std,
            },
            ErrorBarSeries {
                label: "Test",
                x: &x,
                mean: &test_mean,
                std: &test_std,
            },
        ];
        sweep_figure(&x_label, y_label, &series, &dir.join(stem))?;
    }
    Ok(())
}

/// Rewrites summary.csv and, when any run finished, the figures.
pub fn write_results(dir: &Path, spec: &SweepSpec, rows: &[RunRow]) -> Result<()> {
    let summaries = summarise(spec, rows);
    write_summary(&dir.join(SUMMARY_FILE), spec, &summaries)?;
    if !summaries.is_empty() {
        write_figures(dir, spec, &summaries)?;
    }
    Ok(())
}
