//! `sweep` and `sweep-merge`: flags in, the library's sweep out, with each
//! run a child `snnloc train` of this very executable.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

use super::present::say;
use super::runtime::runtime;
use super::{SweepArgs, SweepMergeArgs};
use snnloc::sweep::{self, train_command, Shard, SweepSpec};

/// Splits the cores among parallel runs: libtorch gives every process a
/// thread per core, and OpenMP threads spin-waiting on oversubscribed cores
/// slow every run down.
fn threads_per_job(jobs: usize) -> Option<usize> {
    (jobs > 1).then(|| (snnloc::machine::cores() / jobs).max(1))
}

/// Checks every input, then runs (or with --dry-run lists) a sweep's jobs.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let base = args.config.resolve_unvalidated()?;
    let params: Vec<&str> = args.param.iter().map(String::as_str).collect();
    let values: Vec<&str> = args.values.iter().map(String::as_str).collect();
    let most = super::runtime::max_threads();
    anyhow::ensure!(
        args.jobs <= most,
        "`jobs` {}: this machine has {} cores; give at most {most}",
        args.jobs,
        snnloc::machine::cores()
    );
    let spec = SweepSpec::grid(&params, &values, args.repeats, base)?;
    let shard: Shard = args.shard.parse()?;
    // The children use --device and --threads; a bad one fails here, once.
    runtime(&args.runtime)?;
    if args.ideal || args.inspect {
        sweep::check_ideal(&spec)?;
    }
    if args.dry_run {
        for job in spec.jobs(shard) {
            say!(
                "job {} {} repeat {}: {}",
                job.index,
                spec.cell_label(&job),
                job.repeat,
                train_command(&spec.config(&job)?, &spec.params())
            )?;
        }
        return Ok(());
    }
    // From here a signal stops the sweep in order (see `sweep::Options`)
    // instead of killing it outright.
    let stop = Arc::new(AtomicUsize::new(0));
    for signal in [SIGINT, SIGTERM].into_iter().filter(|&s| !ignored(s)) {
        signal_hook::flag::register_usize(signal, Arc::clone(&stop), signal as usize)
            .context("cannot catch SIGINT and SIGTERM")?;
    }
    let launcher = sweep::TrainProcess {
        exe: std::env::current_exe().context("cannot find the snnloc executable to run")?,
        device: args.runtime.device.clone(),
        threads: args.runtime.threads.or_else(|| threads_per_job(args.jobs)),
        inspect: args.inspect,
    };
    sweep::run(
        &spec,
        &sweep::Options {
            out: args.out.clone(),
            shard,
            launcher: &launcher,
            jobs: args.jobs,
            max_runs: args.max_runs,
            force: args.force,
            quiet: args.runtime.quiet,
            stop: &stop,
            ideal: args.ideal,
        },
    )?;
    Ok(())
}

/// Whether `signal` was ignored when the program started, as a script's
/// background job ignores SIGINT: it stays ignored, as the shell meant.
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: a null action only reads the disposition into `old`, which
    // all-zero bytes initialise validly.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(not(unix))]
fn ignored(_: i32) -> bool {
    false
}

pub fn sweep_merge(args: &SweepMergeArgs) -> Result<()> {
    let report = sweep::merge(&args.out, &args.dirs, args.ideal, args.force)?;
    if !args.quiet {
        say!(
            "merged {} of {} jobs into {}{}",
            report.merged,
            report.total,
            args.out.display(),
            if report.merged < report.total {
                "; run the missing shards, or `snnloc sweep ... --out` the merged folder to run the rest"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}
