use std::process::ExitCode;

use clap::Parser;
use snnloc::cli::{Cli, Command};
use snnloc::commands;

mod malloc;

fn main() -> ExitCode {
    malloc::pin_thresholds();
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
        Err(e) => return snnloc::cli::report_usage_error(e),
    };
    let result = match &cli.command {
        Command::Train(args) => commands::train(args),
        Command::Eval(args) => commands::eval(args),
        Command::Stimulus(args) => commands::stimulus(args),
        Command::Sweep(args) => commands::sweep(args),
        Command::SweepMerge(args) => commands::sweep_merge(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", snnloc::cli::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
