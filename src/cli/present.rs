//! How errors reach a person: one line, inputs named as the flags that set
//! them. The library names inputs in backticks (`tau-ms`); here each one
//! that is a flag of this program becomes `--tau-ms`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

/// `println!`, but a line that stdout cannot take (a full disk behind `>`)
/// is an error for the command to return, where `println!` panics. A reader
/// that goes away (`| head`) never gets this far: `main` lets SIGPIPE end
/// the program quietly, as command-line tools do.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).map_err($crate::cli::present::unwritable_stdout)
    }};
}
pub(crate) use say;

pub fn unwritable_stdout(e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("cannot write to stdout: {e}; send it where there is room, or add --quiet")
}

/// An error and its causes on one line, inputs named as flags.
pub fn error(e: &anyhow::Error) -> String {
    let flags: Vec<String> = Cli::command()
        .get_subcommands()
        .flat_map(|sub| {
            sub.get_arguments()
                .filter_map(|a| a.get_long().map(String::from))
        })
        .collect();
    with_flags(&snnloc::error::one_line(e), |name| {
        flags.iter().any(|f| f == name)
    })
}

/// `text` with every backticked name for which `is_flag` holds written as
/// a flag.
pub fn with_flags(text: &str, is_flag: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        out.push_str(&rest[..start]);
        if is_flag(name) {
            out.push_str("--");
            out.push_str(name);
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Prints a command-line mistake as one line and returns clap's exit code;
/// help and version requests print in full.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(e.exit_code() as u8);
    }
    let text = e.to_string();
    let mut lines = text.lines();
    let mut message = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // Some messages end in a colon and list what they mean on the indented
    // lines that follow (e.g. the missing required arguments).
    if message.ends_with(':') {
        let items: Vec<&str> = lines
            .take_while(|line| line.starts_with("  "))
            .map(str::trim)
            .collect();
        message = format!("{message} {}", items.join(", "));
    }
    eprintln!("error: {message} (see 'snnloc --help')");
    ExitCode::from(2)
}
