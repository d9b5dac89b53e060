//! Parameter sweeps, the notebook's "Project" section done robustly: train
//! independently `repeats` times for every value of one parameter, record
//! each run as it ends, and summarise mean ± std across repeats.
//!
//! A sweep folder holds `sweep.lock` (one process at a time), `sweep.json`
//! (the definition), `runs.csv` (one row per finished run, appended and
//! synced as runs end), `summary.csv`, the figures `sweep_accuracy`,
//! `sweep_abs_error` and `sweep_midpoint_error`, `ideal.csv` when the sweep
//! keeps the ideal observer (`ideal`), and `runs/<value>-<repeat>/` with
//! each run's own files. Re-running the same sweep on the folder resumes
//! it; `shard` splits it over machines and `merge` joins shards.

mod grid;
mod ideal;
mod lock;
mod records;
mod runner;
mod spec;
mod summary;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};

pub use ideal::{check_ideal, read_ideal, IdealRecord, IDEAL_FILE};
pub use lock::LOCK_FILE;
pub use records::{read_runs, RunRecord, METRICS, RUNS_FILE};
pub use runner::Launcher;
pub use spec::{derive_seed, parse_values, Job, Shard, SweepFile, SweepSpec};
pub use summary::{
    summarise, x_axis, ValueSummary, ABS_ERROR_FIGURE, ACCURACY_FIGURE, MIDPOINT_ERROR_FIGURE,
    SUMMARY_FILE,
};

use crate::output;
use lock::FolderLock;
use records::{unique_rows, write_runs, RunsLog};
use runner::{Progress, Task};
use summary::write_results;

pub const SWEEP_FILE: &str = "sweep.json";
/// Each run's own folder, `runs/<value-index>-<repeat>`.
pub const RUNS_DIR: &str = "runs";

/// How to run a sweep, beyond what it is.
pub struct Options<'a> {
    pub out: PathBuf,
    pub shard: Shard,
    pub launcher: &'a dyn Launcher,
    /// Training processes at once.
    pub jobs: usize,
    /// Start at most this many runs, then stop as if interrupted.
    pub max_runs: Option<usize>,
    /// Delete the results of a different sweep found in `out`.
    pub force: bool,
    pub quiet: bool,
    /// A signal number (SIGINT, SIGTERM) to pass on to the runs in
    /// progress, 0 while none came: once set, no run starts, the summary
    /// covers the runs that finished and `run` fails with `Interrupted`.
    pub stop: &'a AtomicUsize,
    /// Start keeping the ideal observer of every value (`ideal`); a folder
    /// that has an ideal.csv keeps it anyway.
    pub ideal: bool,
}

/// A sweep stopped by a signal, after writing the summary of the runs that
/// finished. A program exits with 128 + `signal`, as a shell reports a
/// process killed by it.
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
    /// Runs that finished in this call, before or after the signal.
    pub finished: usize,
    /// Runs stopped by the signal.
    pub stopped: usize,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.signal {
            libc::SIGINT => "SIGINT".to_string(),
            libc::SIGTERM => "SIGTERM".to_string(),
            n => format!("signal {n}"),
        };
        write!(
            f,
            "stopped by {name}: {} runs finished and are in the summary, {} were stopped; run the same command again to resume",
            self.finished, self.stopped
        )
    }
}

impl std::error::Error for Interrupted {}

/// What a call of `run` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    /// Jobs of this shard.
    pub total: usize,
    /// Jobs finished before this call.
    pub already_done: usize,
    /// Runs that finished in this call.
    pub finished: usize,
}

/// Runs the jobs of `opts.shard` not yet in `runs.csv`, then rewrites the
/// summary and figures. Fails after the other jobs if any run failed.
pub fn run(spec: &SweepSpec, opts: &Options) -> Result<Report> {
    anyhow::ensure!(
        opts.jobs >= 1,
        "`jobs` must be at least 1, got {}",
        opts.jobs
    );
    let out = &opts.out;
    let lock = FolderLock::take(out)?;
    claim_folder(
        out,
        &SweepFile {
            spec: spec.clone(),
            shard: opts.shard,
        },
        opts.force,
    )?;
    let runs_path = out.join(RUNS_FILE);
    let mut log = RunsLog::open(&runs_path)?;
    let mut rows = unique_rows(read_runs(&runs_path, spec)?)?;
    let plan = plan(spec, opts, &rows)?;

    let mut progress = Progress::new(opts.quiet, plan.already_done, plan.total);
    progress.say(&opening_line(spec, opts, &plan, &runs_path));
    let (mut finished, mut failed, mut stopped) = (0, 0, 0);
    let on_done = |task: Task, result: runner::ChildResult| {
        if result.is_err() && opts.stop.load(Ordering::SeqCst) != 0 {
            stopped += 1;
            return Ok(());
        }
        match record(spec, &task, result, &mut log, &mut progress)? {
            Some(row) => {
                rows.push(row);
                finished += 1;
            }
            None => failed += 1,
        }
        Ok(())
    };
    runner::run_all(
        opts.launcher,
        plan.tasks,
        opts.jobs,
        opts.stop,
        &lock,
        on_done,
    )?;
    progress.finish();
    let signal = opts.stop.load(Ordering::SeqCst);
    // A stopped sweep stops at once: the observer of new values waits for
    // the next call.
    let keep_ideal = signal == 0 && (opts.ideal || out.join(IDEAL_FILE).exists());
    let ideal = keep_ideal.then(|| read_ideal(out, spec)).transpose()?;
    write_results(out, spec, &unique_rows(rows)?, ideal)?;
    if signal != 0 {
        return Err(Interrupted {
            signal: signal as i32,
            finished,
            stopped,
        }
        .into());
    }
    if failed > 0 {
        bail!(
            "{failed} of {} runs failed (see above); re-run the same command to retry them",
            failed + finished
        );
    }
    progress.say(&format!(
        "{} of {} jobs of shard {} done; results in {}",
        plan.already_done + finished,
        plan.total,
        opts.shard,
        out.display()
    ));
    Ok(Report {
        total: plan.total,
        already_done: plan.already_done,
        finished,
    })
}

/// What a call is about to do, for the first progress line.
fn opening_line(spec: &SweepSpec, opts: &Options, plan: &Plan, runs_path: &Path) -> String {
    format!(
        "sweep of {} over {} values x {} repeats = {} jobs; shard {} holds {}, {} already in {}; running {} ({} at a time)",
        spec.params().join(" x "),
        spec.shape(),
        spec.repeats,
        spec.job_count(),
        opts.shard,
        plan.total,
        plan.already_done,
        runs_path.display(),
        plan.tasks.len(),
        opts.jobs
    )
}

/// The jobs of one call: what the shard holds, what is done already, and
/// the tasks to run now.
struct Plan {
    total: usize,
    already_done: usize,
    tasks: Vec<Task>,
}

fn plan(spec: &SweepSpec, opts: &Options, done: &[RunRecord]) -> Result<Plan> {
    let shard_jobs: Vec<Job> = spec.jobs(opts.shard).collect();
    let total = shard_jobs.len();
    let todo: Vec<Job> = shard_jobs
        .into_iter()
        .filter(|j| !done.iter().any(|r| r.job == j.index))
        .collect();
    let already_done = total - todo.len();
    let tasks = todo
        .into_iter()
        .take(opts.max_runs.unwrap_or(usize::MAX))
        .map(|job| {
            let config = spec.config(&job)?;
            Ok(Task {
                dir: run_dir(&opts.out, &job),
                rerun: opts.launcher.rerun(&config, &spec.params()),
                config,
                job,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Plan {
        total,
        already_done,
        tasks,
    })
}

/// The folder of one run: `runs/<value-index>-<repeat>`, in a grid
/// `runs/<value-index>-<value2-index>-<repeat>`.
pub fn run_dir(out: &Path, job: &Job) -> PathBuf {
    let cell = match job.value2_index {
        None => job.value_index.to_string(),
        Some(j) => format!("{}-{j}", job.value_index),
    };
    out.join(RUNS_DIR).join(format!("{cell}-{}", job.repeat))
}

/// Appends a finished run to runs.csv and reports it; a failed run is only
/// reported. Returns the row of a finished run; failing to append stops the
/// sweep.
fn record(
    spec: &SweepSpec,
    task: &Task,
    result: runner::ChildResult,
    log: &mut RunsLog,
    progress: &mut Progress,
) -> Result<Option<RunRecord>> {
    let job = &task.job;
    let what = format!(
        "job {} {} repeat {} seed {}",
        job.index,
        spec.cell_label(job),
        job.repeat,
        job.seed
    );
    let metrics = task.dir.join("metrics.json");
    let row = result.and_then(|seconds| {
        RunRecord::from_run(job, spec, &metrics, seconds, task.rerun.clone())
            .map_err(|e| crate::error::one_line(&e))
    });
    match row {
        Ok(row) => {
            log.append(&row)?;
            progress.advance(&format!(
                "{what}: {}; rerun: {}",
                row.headline(),
                task.rerun
            ));
            Ok(Some(row))
        }
        Err(reason) => {
            progress.error(&format!("{what} failed: {reason}; rerun: {}", task.rerun));
            progress.advance(&format!("{what} failed"));
            Ok(None)
        }
    }
}

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
/// the shards' records where they have them.
pub fn merge(out: &Path, dirs: &[PathBuf], ideal: bool) -> Result<MergeReport> {
    let Some(first) = dirs.first() else {
        bail!("sweep-merge needs at least one sweep folder");
    };
    let spec = read_sweep_file(first)?.spec;
    let (mut rows, mut known_ideal) = (Vec::new(), Vec::new());
    for dir in dirs {
        let file = read_sweep_file(dir)?;
        if file.spec != spec {
            let difference = spec::first_difference(
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
    let _lock = FolderLock::take(out)?;
    claim_folder(
        out,
        &SweepFile {
            spec: spec.clone(),
            shard: Shard::ALL,
        },
        false,
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

fn read_sweep_file(dir: &Path) -> Result<SweepFile> {
    let path = dir.join(SWEEP_FILE);
    let text = fs::read_to_string(&path)
        .with_context(|| format!("{}: not a sweep folder (no {SWEEP_FILE})", dir.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a snnloc {SWEEP_FILE}", path.display()))
}

/// Makes `out` the folder of this sweep: a new folder gets `sweep.json`; a
/// folder of the same sweep is resumed; one of a different sweep is an
/// error, or with `force` has its results deleted first.
fn claim_folder(out: &Path, file: &SweepFile, force: bool) -> Result<()> {
    let path = out.join(SWEEP_FILE);
    let conflict = match fs::read_to_string(&path) {
        Ok(text) => {
            let stored: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a snnloc {SWEEP_FILE}", path.display()))?;
            // Through text, as the stored file went, so floats compare alike.
            let wanted = serde_json::from_str(&serde_json::to_string(file)?)?;
            match spec::first_difference(&stored, &wanted) {
                None => return Ok(()),
                Some(difference) => {
                    format!("a different sweep ({difference}; stored vs requested)")
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !out.join(RUNS_FILE).exists() {
                output::create_dir(out)?;
                return output::write_json(&path, file);
            }
            format!("a {RUNS_FILE} but no {SWEEP_FILE}")
        }
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

/// Deletes what a sweep wrote into `out`, and nothing else.
fn discard_results(out: &Path) -> Result<()> {
    let figures = [ACCURACY_FIGURE, ABS_ERROR_FIGURE, MIDPOINT_ERROR_FIGURE]
        .into_iter()
        .flat_map(|stem| [format!("{stem}.png"), format!("{stem}.svg")]);
    let files = [SWEEP_FILE, RUNS_FILE, SUMMARY_FILE, IDEAL_FILE]
        .into_iter()
        .map(String::from)
        .chain(figures)
        .chain(grid::heatmap_files());
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
