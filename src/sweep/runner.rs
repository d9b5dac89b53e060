//! Runs jobs as child training processes, several at once, and shows
//! progress. A child process per run means a crash or kill loses only that
//! run, and libtorch's global state (seed, threads) is fresh for each.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use super::lock::FolderLock;
use super::spec::Job;
use crate::checkpoint::CHECKPOINT_FILE;
use crate::config::Config;
use crate::output;
use crate::run_folder::RunFolder;

/// How to start a training process; the program that runs sweeps knows.
pub trait Launcher: Sync {
    /// The command that trains the config in `config` (a config.json) and
    /// writes its results, metrics.json included, into `out`.
    fn command(&self, config: &Path, out: &Path) -> Command;

    /// How a person repeats one run on its own, for runs.csv; `swept` are
    /// the swept options, which the command names even at their defaults.
    fn rerun(&self, cfg: &Config, swept: &[&str]) -> String;
}

/// How a child run ended: wall-clock seconds, or why it failed.
pub type ChildResult = std::result::Result<f64, String>;

/// One job ready to run.
pub struct Task {
    pub job: Job,
    pub config: Config,
    /// The run's own folder; the child writes its results there.
    pub run: RunFolder,
    /// The command that repeats the run on its own.
    pub rerun: String,
}

/// A run in progress. The sweep's thread alone reaps it, so its pid stays
/// its own while this exists and a signal sent to it reaches no other.
struct Running {
    task: Task,
    child: Child,
    /// Drains the child's stderr, so that a chatty child never blocks on a
    /// full pipe; hands back the text at the end.
    stderr: JoinHandle<String>,
    clock: Instant,
}

/// The runs in progress. Dropping it kills and reaps those still running,
/// so no run outlives `run_all`, whichever way it returns.
#[derive(Default)]
struct Children(Vec<Running>);

impl Children {
    /// Starts the training of one task; gives the task back with the
    /// reason when it cannot start.
    fn start(
        &mut self,
        launcher: &dyn Launcher,
        task: Task,
        lock: &FolderLock,
    ) -> std::result::Result<(), Box<(Task, String)>> {
        let mut child = match spawn(launcher, &task, lock) {
            Ok(child) => child,
            Err(reason) => return Err(Box::new((task, reason))),
        };
        let mut pipe = child.stderr.take();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(pipe) = &mut pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        });
        self.0.push(Running {
            task,
            child,
            stderr,
            clock: Instant::now(),
        });
        Ok(())
    }

    /// Sends `signal` to every run in progress.
    fn signal(&self, signal: i32) {
        for run in &self.0 {
            // SAFETY: kill has no memory effects; the pid is an unreaped child.
            #[cfg(unix)]
            unsafe {
                libc::kill(run.child.id() as libc::pid_t, signal);
            }
        }
    }

    /// A run that has ended, if any, with its result.
    fn reap(&mut self) -> Option<(Task, ChildResult)> {
        let index = self
            .0
            .iter_mut()
            .position(|run| !matches!(run.child.try_wait(), Ok(None)))?;
        let mut run = self.0.swap_remove(index);
        let status = run.child.wait();
        let stderr = run.stderr.join().unwrap_or_default();
        let result = match status {
            Ok(status) if status.success() => Ok(run.clock.elapsed().as_secs_f64()),
            Ok(status) => {
                let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
                Err(match last {
                    Some(line) => format!("{line} ({status})"),
                    None => format!("training {status}"),
                })
            }
            Err(e) => Err(format!("cannot wait for the training: {e}")),
        };
        Some((run.task, result))
    }
}

fn clear_but_checkpoint(dir: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        match entry.file_type()?.is_dir() {
            _ if entry.file_name() == CHECKPOINT_FILE => {}
            true => std::fs::remove_dir_all(entry.path())?,
            false => std::fs::remove_file(entry.path())?,
        }
    }
    Ok(())
}

/// Starts the training of one task in a folder cleared of everything but
/// the checkpoint of an interrupted training of it, so that the
/// metrics.json read afterwards can only be this run's, and the run goes
/// on from its last epoch (`TrainProcess` adds `--resume`).
fn spawn(
    launcher: &dyn Launcher,
    task: &Task,
    lock: &FolderLock,
) -> std::result::Result<Child, String> {
    let dir = task.run.dir();
    clear_but_checkpoint(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    output::create_dir(dir)
        .and_then(|()| task.run.write_config(&task.config))
        .map_err(|e| crate::error::one_line(&e))?;
    let mut command = launcher.command(&task.run.config_path(), dir);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    tie_to_sweep(&mut command, lock);
    command.spawn().map_err(|e| {
        format!(
            "cannot start {}: {e}",
            command.get_program().to_string_lossy()
        )
    })
}

impl Drop for Children {
    fn drop(&mut self) {
        for run in &mut self.0 {
            let _ = run.child.kill();
            let _ = run.child.wait();
        }
    }
}

/// Ties a run to the sweep that starts it. The run inherits the lock on the
/// sweep folder, so the folder is not taken while a run of a dead sweep may
/// still write into it; on Linux the kernel also kills the run when the
/// sweep dies, however it dies. That parent-death signal follows the thread
/// that forks, here `run_all`'s, which outlives its runs.
#[cfg(unix)]
fn tie_to_sweep(command: &mut Command, lock: &FolderLock) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let lock = lock.as_raw_fd();
    #[cfg(target_os = "linux")]
    let sweep = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure makes only
    // async-signal-safe calls (fcntl, prctl, getppid) and does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(lock, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // A sweep that died before the prctl is never signalled.
                if libc::getppid() != sweep {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn tie_to_sweep(_: &mut Command, _: &FolderLock) {}

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

/// How often `run_all` looks for ended runs and signals.
const POLL: Duration = Duration::from_millis(50);

/// Runs `tasks` through `launcher`, at most `parallel` at once, and hands
/// each outcome to `on_done` as it arrives. Once `stop` holds a signal
/// number, the runs in progress get that signal and no more start; their
/// outcomes still arrive. An error from `on_done` kills the runs and stops.
pub fn run_all(
    launcher: &dyn Launcher,
    tasks: Vec<Task>,
    parallel: usize,
    stop: &AtomicUsize,
    lock: &FolderLock,
    mut on_done: impl FnMut(Task, ChildResult) -> Result<()>,
) -> Result<()> {
    let mut queue = tasks.into_iter();
    let mut children = Children::default();
    let mut forwarded = 0;
    loop {
        let signal = stop.load(Ordering::SeqCst);
        if signal != forwarded {
            children.signal(signal as i32);
            forwarded = signal;
        }
        while signal == 0 && children.0.len() < parallel {
            let Some(task) = queue.next() else {
                break;
            };
            if let Err(failed) = children.start(launcher, task, lock) {
                let (task, reason) = *failed;
                on_done(task, Err(reason))?;
            }
        }
        if children.0.is_empty() {
            return Ok(());
        }
        match children.reap() {
            Some((task, result)) => on_done(task, result)?,
            None => std::thread::sleep(POLL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_folder_keeps_only_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("snnloc-clear-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inspect")).unwrap();
        for name in ["metrics.json", "config.json", CHECKPOINT_FILE] {
            std::fs::write(dir.join(name), name).unwrap();
        }
        clear_but_checkpoint(&dir).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [CHECKPOINT_FILE]);
        std::fs::remove_dir_all(&dir).unwrap();
        clear_but_checkpoint(&dir).unwrap();
    }
}
