//! How the library words its errors for people: options and other inputs
//! are named in backticks (`tau-ms`), so that a program can show them in
//! its own terms (the command line shows flags).

/// An error and its causes on one line; libtorch's messages carry C++
/// backtraces after their first line, which are dropped.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|cause| {
            cause
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}
