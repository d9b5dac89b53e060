//! Runs jobs as child training processes, several at once, and shows
//! progress. A child process per run means a crash or kill loses only that
//! run, and libtorch's global state (seed, threads) is fresh for each.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use super::spec::Job;
use crate::config::Config;
use crate::output;

/// How to start a training process; the program that runs sweeps knows.
pub trait Launcher: Sync {
    /// The command that trains the config in `config` (a config.json) and
    /// writes its results, metrics.json included, into `out`.
    fn command(&self, config: &Path, out: &Path) -> Command;

    /// How a person repeats one run on its own, for runs.csv.
    fn rerun(&self, cfg: &Config, swept: &str) -> String;
}

/// How a child run ended: wall-clock seconds, or why it failed.
pub type ChildResult = std::result::Result<f64, String>;

/// One job ready to run.
pub struct Task {
    pub job: Job,
    pub config: Config,
    /// The run's own folder; the child writes its results there.
    pub dir: PathBuf,
    /// The command that repeats the run on its own.
    pub rerun: String,
}

/// Starts the training of one task on its own thread; the thread sends the
/// task back with the result when the process exits.
fn start(launcher: &dyn Launcher, task: Task, done: mpsc::Sender<(Task, ChildResult)>) {
    let mut command = launcher.command(&task.dir.join("config.json"), &task.dir);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    std::thread::spawn(move || {
        let result = run_child(command, &task.config, &task.dir);
        // The receiver outlives every sender unless the sweep is aborting,
        // when the result no longer matters.
        let _ = done.send((task, result));
    });
}

fn run_child(mut command: Command, cfg: &Config, run_dir: &Path) -> ChildResult {
    // Start from an empty folder so that the metrics.json read afterwards
    // can only be this run's, not one left by a killed earlier attempt.
    if run_dir.exists() {
        std::fs::remove_dir_all(run_dir)
            .map_err(|e| format!("cannot clear {}: {e}", run_dir.display()))?;
    }
    output::create_dir(run_dir)
        .and_then(|()| output::write_json(&run_dir.join("config.json"), cfg))
        .map_err(|e| crate::error::one_line(&e))?;
    let clock = Instant::now();
    let out = command.output().map_err(|e| {
        format!(
            "cannot start {}: {e}",
            command.get_program().to_string_lossy()
        )
    })?;
    if out.status.success() {
        return Ok(clock.elapsed().as_secs_f64());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
    Err(match last {
        Some(line) => format!("{} ({})", line, out.status),
        None => format!("training {}", out.status),
    })
}

/// Where progress goes: a bar with ETA on a terminal, one line per run
/// otherwise (logs, CI), nothing but errors when quiet.
pub enum Progress {
    Quiet,
    Lines { done: usize, total: usize },
    Bar(ProgressBar),
}

impl Progress {
    pub fn new(quiet: bool, done: usize, total: usize) -> Self {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs [{elapsed_precise} < {eta_precise}] {msg}",
            ) {
                bar.set_style(style);
            }
            bar.set_position(done as u64);
            // Runs finished before a resume took no time in this process.
            bar.reset_eta();
            Progress::Bar(bar)
        } else {
            Progress::Lines { done, total }
        }
    }

    /// An informational line.
    pub fn say(&self, line: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { .. } => eprintln!("{line}"),
            Progress::Bar(bar) => bar.println(line),
        }
    }

    /// An error line, shown even when quiet.
    pub fn error(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(format!("error: {line}")),
            _ => eprintln!("error: {line}"),
        }
    }

    /// One more job is over (finished or failed); `line` describes it.
    pub fn advance(&mut self, line: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { done, total } => {
                *done += 1;
                eprintln!("[{done}/{total}] {line}");
            }
            Progress::Bar(bar) => {
                bar.inc(1);
                bar.println(line);
            }
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Runs `tasks` through `launcher`, at most `parallel` at once, and hands
/// each outcome to `on_done` as it arrives. An error from `on_done` stops
/// the sweep at once; children already running are left to finish.
pub fn run_all(
    launcher: &dyn Launcher,
    tasks: Vec<Task>,
    parallel: usize,
    mut on_done: impl FnMut(Task, ChildResult) -> Result<()>,
) -> Result<()> {
    let (sender, receiver) = mpsc::channel();
    let mut queue = tasks.into_iter();
    let mut running = 0;
    loop {
        while running < parallel {
            let Some(task) = queue.next() else {
                break;
            };
            start(launcher, task, sender.clone());
            running += 1;
        }
        if running == 0 {
            return Ok(());
        }
        // Cannot fail: this function holds a sender.
        let (task, result) = receiver.recv()?;
        running -= 1;
        on_done(task, result)?;
    }
}
