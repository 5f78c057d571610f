//! Standard output for the CLI. Every line goes through [`line`], which
//! reports a write failure (a closed pipe included) as
//! [`CliError::Output`] instead of panicking as `println!` does.

use std::io::Write as _;

use super::error::CliError;

/// Writes one line to stdout and flushes it.
pub fn line(args: std::fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// `println!` that returns `Result<(), CliError>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
