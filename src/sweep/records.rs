//! `runs.csv`: one row per finished run, appended and synced as runs end.
//! Its columns are `RunRecord`'s fields; the measured ones are listed once,
//! in `run_record!`, which also names the summary's columns.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cell::{Cell, CELL_COLUMNS};
use super::spec::{Job, SweepSpec};
use crate::metrics::Metrics;
use crate::output;

pub const RUNS_FILE: &str = "runs.csv";

/// Writes `RunRecord` with one `f64` column per measurement, the list of
/// those columns (`METRICS`) and the summary's two columns for each.
macro_rules! run_record {
    (|$m:ident, $s:ident| { $( $(#[doc = $doc:literal])* $metric:ident: $value:expr, )+ }) => {
        /// One row of runs.csv. Accuracy is in percent with its spread over
        /// batches (the notebook's error bars); the absolute error (against
        /// the true IPD, the notebook's), the class-midpoint error
        /// (estimated against true class midpoint, the research project's)
        /// and the decoded error (the median of the class probabilities
        /// against the true IPD) are in degrees with their spread over
        /// samples.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct RunRecord {
            /// Index of the job in the sweep (see `Job`).
            pub job: usize,
            pub cell: Cell,
            pub repeat: usize,
            pub seed: u64,
            $( $(#[doc = $doc])* pub $metric: f64, )+
            /// Where training stopped on a loss that was not finite
            /// (`epoch 3 batch 17`); empty when it did not.
            pub diverged: String,
            /// The `snnloc train` command that repeats this run on its own.
            pub rerun: String,
        }

        impl Serialize for RunRecord {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // The job, its cell, repeat and seed, the measurements, and
                // how the run ended and is repeated.
                let columns = 1 + CELL_COLUMNS.len() + 2 + METRICS.len() + 2;
                let mut row = serializer.serialize_struct("RunRecord", columns)?;
                row.serialize_field("job", &self.job)?;
                self.cell.serialize_into(&mut row)?;
                row.serialize_field("repeat", &self.repeat)?;
                row.serialize_field("seed", &self.seed)?;
                $( row.serialize_field(stringify!($metric), &self.$metric)?; )+
                row.serialize_field("diverged", &self.diverged)?;
                row.serialize_field("rerun", &self.rerun)?;
                row.end()
            }
        }

        impl<'de> Deserialize<'de> for RunRecord {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Row;
                impl<'de> Visitor<'de> for Row {
                    type Value = RunRecord;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a row of runs.csv")
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut row: A) -> Result<RunRecord, A::Error> {
                        let mut r = RunRecord::default();
                        while let Some(key) = row.next_key::<String>()? {
                            if r.cell.read_column(&key, &mut row)? {
                                continue;
                            }
                            match key.as_str() {
                                "job" => r.job = row.next_value()?,
                                "repeat" => r.repeat = row.next_value()?,
                                "seed" => r.seed = row.next_value()?,
                                $( stringify!($metric) => r.$metric = row.next_value()?, )+
                                "diverged" => r.diverged = row.next_value()?,
                                "rerun" => r.rerun = row.next_value()?,
                                _ => {
                                    row.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(r)
                    }
                }
                deserializer.deserialize_map(Row)
            }
        }

        /// The measured columns of runs.csv, in order.
        pub const METRICS: &[&str] = &[$(stringify!($metric)),+];

        /// The summary's columns for each measured one: mean and std over
        /// the repeats of a value.
        pub(super) const SUMMARY_COLUMNS: &[[&str; 2]] = &[$([
            concat!(stringify!($metric), "_mean_over_repeats"),
            concat!(stringify!($metric), "_std_over_repeats"),
        ]),+];

        impl RunRecord {
            fn with_metrics(job: &Job, spec: &SweepSpec, m: &Metrics, seconds: f64, rerun: String) -> Self {
                let ($m, $s) = (m, seconds);
                RunRecord {
                    job: job.index,
                    cell: Cell::of(spec, job),
                    repeat: job.repeat,
                    seed: job.seed,
                    $( $metric: $value, )+
                    diverged: m.diverged.map(|at| at.to_string()).unwrap_or_default(),
                    rerun,
                }
            }

            /// The measurements, in `METRICS` order.
            pub fn metrics(&self) -> Vec<f64> {
                vec![$(self.$metric),+]
            }
        }
    };
}

run_record! {
    |m, seconds| {
        train_acc_mean_over_batches: m.train.accuracy_mean,
        train_acc_std_over_batches: m.train.accuracy_std,
        test_acc_mean_over_batches: m.test.accuracy_mean,
        test_acc_std_over_batches: m.test.accuracy_std,
        train_abs_error_mean_over_samples: m.train.abs_error_mean,
        train_abs_error_std_over_samples: m.train.abs_error_std,
        test_abs_error_mean_over_samples: m.test.abs_error_mean,
        test_abs_error_std_over_samples: m.test.abs_error_std,
        train_midpoint_error_mean_over_samples: m.train.midpoint_error_mean,
        train_midpoint_error_std_over_samples: m.train.midpoint_error_std,
        test_midpoint_error_mean_over_samples: m.test.midpoint_error_mean,
        test_midpoint_error_std_over_samples: m.test.midpoint_error_std,
        train_decoded_error_mean_over_samples: m.train.decoded_error_mean,
        train_decoded_error_std_over_samples: m.train.decoded_error_std,
        test_decoded_error_mean_over_samples: m.test.decoded_error_mean,
        test_decoded_error_std_over_samples: m.test.decoded_error_std,
        final_loss: m.final_loss().unwrap_or(f64::NAN),
        /// Wall-clock seconds of the child process.
        seconds: seconds,
    }
}

impl RunRecord {
    /// The row of a run that `snnloc train` finished, from its metrics.json.
    pub fn from_run(
        job: &Job,
        spec: &SweepSpec,
        metrics: &Path,
        seconds: f64,
        rerun: String,
    ) -> Result<Self> {
        let m = Metrics::read(metrics)?;
        ensure!(
            m.final_loss().is_some() || m.diverged.is_some(),
            "{} has no loss",
            metrics.display()
        );
        Ok(RunRecord::with_metrics(job, spec, &m, seconds, rerun))
    }

    /// The headline numbers, for a progress line, after a word on
    /// divergence.
    pub fn headline(&self) -> String {
        let diverged = match self.diverged.as_str() {
            "" => String::new(),
            at => format!("DIVERGED at {at}, "),
        };
        format!(
            "{diverged}accuracy train {:.1}% test {:.1}%, test abs error {:.1} deg (class midpoints {:.1} deg, decoded {:.1} deg), {:.1} s",
            self.train_acc_mean_over_batches,
            self.test_acc_mean_over_batches,
            self.test_abs_error_mean_over_samples,
            self.test_midpoint_error_mean_over_samples,
            self.test_decoded_error_mean_over_samples,
            self.seconds
        )
    }

    /// Checks the row against the sweep it claims to belong to.
    fn check(&self, spec: &SweepSpec) -> Result<()> {
        ensure!(
            self.job < spec.job_count(),
            "job {} does not exist in this sweep",
            self.job
        );
        let job = spec.job(self.job);
        let expected = Cell::of(spec, &job);
        ensure!(
            (&self.cell, self.repeat, self.seed) == (&expected, job.repeat, job.seed),
            "job {} is {} repeat {} seed {} here but {} repeat {} seed {} in this sweep",
            self.job,
            self.cell,
            self.repeat,
            self.seed,
            expected,
            job.repeat,
            job.seed
        );
        Ok(())
    }

    /// The first measurement, other than wall-clock time, in which two runs
    /// of the same job differ.
    fn difference(&self, other: &RunRecord) -> Option<(&'static str, f64, f64)> {
        let (a, b) = (self.metrics(), other.metrics());
        (0..METRICS.len())
            .filter(|&i| METRICS[i] != "seconds")
            .find(|&i| a[i] != b[i])
            .map(|i| (METRICS[i], a[i], b[i]))
    }
}

/// The complete rows of a runs.csv. A trailing line without its newline is
/// a row whose writer was killed mid-write: it is ignored here (and cut off
/// by `RunsLog::open`).
pub fn read_runs(path: &Path, spec: &SweepSpec) -> Result<Vec<RunRecord>> {
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
        header.iter().eq(runs_header()?.iter()),
        "{} does not have the columns of a snnloc sweep's runs.csv",
        path.display()
    );
    reader
        .deserialize::<RunRecord>()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(anyhow::Error::from)
                .and_then(|row| row.check(spec).map(|()| row))
                // Line 1 is the header.
                .with_context(|| format!("{} line {}", path.display(), i + 2))
        })
        .collect()
}

/// The header runs.csv must have: `RunRecord`'s fields.
fn runs_header() -> Result<Vec<String>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.serialize(RunRecord::default())?;
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    Ok(reader.headers()?.iter().map(String::from).collect())
}

/// Bytes up to and including the last newline.
fn complete_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Keeps one row per job, sorted by job; a job found twice (a shard run
/// twice, say) must have the same results both times, wall-clock aside.
pub fn unique_rows(rows: Vec<RunRecord>) -> Result<Vec<RunRecord>> {
    let mut by_job: BTreeMap<usize, RunRecord> = BTreeMap::new();
    for row in rows {
        if let Some(seen) = by_job.get(&row.job) {
            if let Some((column, a, b)) = seen.difference(&row) {
                bail!(
                    "job {} ({}, repeat {}) appears twice with different {column}: {a} and {b}",
                    row.job,
                    row.cell.value,
                    row.repeat
                );
            }
        } else {
            by_job.insert(row.job, row);
        }
    }
    Ok(by_job.into_values().collect())
}

/// Writes a whole runs.csv at once (a merge).
pub fn write_runs(path: &Path, rows: &[RunRecord]) -> Result<()> {
    output::write_bytes(path, &csv_rows(rows)?)
}

fn csv_rows(rows: &[RunRecord]) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.serialize(row)?;
    }
    if rows.is_empty() {
        out.write_record(runs_header()?)?;
    }
    Ok(out.into_inner().map_err(|e| e.into_error())?)
}

/// runs.csv opened for appending, one row as each run ends.
pub struct RunsLog {
    file: fs::File,
}

impl RunsLog {
    /// Opens (or starts) runs.csv, first cutting off a row torn by a kill.
    pub fn open(path: &Path) -> Result<Self> {
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
            let mut header = csv::Writer::from_writer(Vec::new());
            header.write_record(runs_header()?)?;
            file.write_all(&header.into_inner().map_err(|e| e.into_error())?)
                .and_then(|()| file.sync_data())
                .with_context(fail)?;
        }
        Ok(RunsLog { file })
    }

    /// Appends one row in a single write and waits until it is on disk, so
    /// a kill loses at most this row, and only as a partial last line; a
    /// write that fails (a full disk) is cut off again at once.
    pub fn append(&mut self, row: &RunRecord) -> Result<()> {
        let mut line = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        line.serialize(row)?;
        let line = line.into_inner().map_err(|e| e.into_error())?;
        let whole = self.file.metadata()?.len();
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if written.is_err() {
            let _ = self.file.set_len(whole);
        }
        written.context("cannot append to runs.csv")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value2_index: Option<usize>) -> RunRecord {
        RunRecord {
            job: 3,
            cell: Cell {
                param: "tau-ms".into(),
                value_index: 1,
                value: "2.0".into(),
                param2: value2_index.map_or(String::new(), |_| "envelope-power".into()),
                value2_index,
                value2: value2_index.map_or(String::new(), |_| "10.0".into()),
            },
            repeat: 1,
            seed: 4_000_000_000,
            test_acc_mean_over_batches: 55.125,
            final_loss: f64::NAN,
            diverged: "epoch 2 batch 7".into(),
            rerun: "snnloc train --seed 4000000000 --tau-ms 2".into(),
            ..RunRecord::default()
        }
    }

    #[test]
    fn a_row_reads_back_as_written_under_the_header() {
        for row in [record(None), record(Some(0))] {
            let bytes = csv_rows(std::slice::from_ref(&row)).unwrap();
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            assert!(reader
                .headers()
                .unwrap()
                .iter()
                .eq(runs_header().unwrap().iter()));
            let back: Vec<RunRecord> = reader.deserialize().map(Result::unwrap).collect();
            assert_eq!(back.len(), 1);
            // NaN is not equal to itself: compare the rest.
            assert!(back[0].final_loss.is_nan());
            let (mut a, mut b) = (back[0].clone(), row);
            a.final_loss = 0.0;
            b.final_loss = 0.0;
            assert_eq!(a, b);
        }
    }

    #[test]
    fn the_header_puts_the_cell_after_the_job() {
        let header = runs_header().unwrap();
        assert_eq!(header[0], "job");
        assert_eq!(header[1..7], CELL_COLUMNS);
        assert_eq!(header[7..9], ["repeat", "seed"]);
        assert_eq!(header.len(), 9 + METRICS.len() + 2);
    }
}
