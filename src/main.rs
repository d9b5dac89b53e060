//! The `snnloc` command: a thin layer of flags over the library. The flags
//! and their parsing live in `cli`, what each subcommand does in
//! `cli::commands`, `cli::sweep` and `cli::inspect`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    snnloc::malloc::pin_thresholds();
    // Die quietly when the reader of stdout goes away (`snnloc train | head`),
    // as command-line tools do, instead of panicking on the failed print.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::present::usage_error(e),
    };
    let result = match &cli.command {
        Command::Train(args) => cli::commands::train(args),
        Command::Eval(args) => cli::commands::eval(args),
        Command::Stimulus(args) => cli::commands::stimulus(args),
        Command::Sweep(args) => cli::sweep::sweep(args),
        Command::SweepMerge(args) => cli::sweep::sweep_merge(args),
        Command::Inspect(args) => cli::inspect::inspect_run(args),
        Command::Ideal(args) => cli::inspect::ideal(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
