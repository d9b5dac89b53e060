//! One call of a sweep: take the folder, plan the jobs not yet done, run
//! them as child processes, record each as it ends, and write the summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Result};

use super::folder::{claim_folder, refuse_foreign, run_dir};
use super::ideal::{read_ideal, IDEAL_FILE};
use super::lock::FolderLock;
use super::records::{read_runs, unique_rows, RunRecord, RunsLog, RUNS_FILE};
use super::results::write_results;
use super::runner::{self, Launcher, Progress, Task};
use super::shard::Shard;
use super::spec::{Job, SweepFile, SweepSpec};
use crate::run_folder::RunFolder;

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
    refuse_foreign(out, opts.force)?;
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
                run: RunFolder::new(run_dir(&opts.out, &job)),
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
    let metrics = task.run.metrics_path();
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
