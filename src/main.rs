//! The `snnloc` command: a thin layer of flags over the library. The flags
//! and their parsing live in `cli`, what each subcommand does in
//! `cli::commands`, `cli::sweep` and `cli::inspect`.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    snnloc::malloc::pin_thresholds();
    // Die quietly when the reader of stdout goes away (`snnloc train | head`),
    // as command-line tools do, instead of panicking on the failed print.
    #[cfg(unix)]
    // SAFETY: setting signals' dispositions before any other thread
    // exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // Past a file-size limit (`ulimit -f`) a write then fails with
        // EFBIG, which the command reports as one line and cleans up after,
        // instead of the process dying silently with a half-written file.
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::present::usage_error(e),
    };
    let result = cli::runtime::check_environment().and_then(|()| match &cli.command {
        Command::Train(args) => cli::commands::train(args),
        Command::Eval(args) => cli::commands::eval(args),
        Command::Stimulus(args) => cli::commands::stimulus(args),
        Command::Sweep(args) => cli::sweep::sweep(args),
        Command::SweepMerge(args) => cli::sweep::sweep_merge(args),
        Command::Inspect(args) => cli::inspect::inspect_run(args),
        Command::Ideal(args) => cli::inspect::ideal(args),
    });
    match result {
        Ok(()) => leave_now(),
        Err(e) => {
            eprintln!("error: {}", cli::present::error(&e));
            match e.downcast_ref::<snnloc::sweep::Interrupted>() {
                // As a shell reports a process that the signal killed.
                Some(stopped) => ExitCode::from(128 + stopped.signal as u8),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// Ends a successful command without running the C++ static destructors.
///
/// At exit libtorch tears down its operator registry, thousands of kernels:
/// about a third of a tiny `train` (1 batch of 1, 1 epoch), which every run
/// of a sweep would pay (`strace -r` shows the gap between the last file
/// closed and `exit_group`; docs/performance.md has the figures).
/// Nothing needs them: by now the command has dropped, so flushed and
/// closed, every file it wrote, and reaped every child; only stdout's
/// buffer is left to write. (A coverage build, which writes its counts at
/// exit, would lose them here.)
fn leave_now() -> ExitCode {
    if let Err(e) = std::io::stdout().flush() {
        eprintln!("error: {}", cli::present::unwritable_stdout(e));
        return ExitCode::FAILURE;
    }
    #[cfg(unix)]
    // SAFETY: _exit only ends the process; no Rust state is read after it.
    unsafe {
        libc::_exit(0)
    }
    #[cfg(not(unix))]
    ExitCode::SUCCESS
}
