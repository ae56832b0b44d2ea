//! The examples' command line and progress output, shared so that each
//! example states only its flags.
//!
//! - [`parse`]: runs an example's `lexopt` loop over the process arguments.
//!   The loop matches its own flags and ends with
//!   `_ => return Err(arg.unexpected())`; an unexpected `-h`/`--help` is the
//!   help request (prints the usage, exits 0), and any other error (an
//!   unknown flag, a missing or unreadable value) prints a one-line error and
//!   the usage and exits with status 2 (no panic, no backtrace).
//! - [`list`]: the comma-separated value of a flag (`--threads 1,2,4`).
//! - [`Progress`]: a live progress line redrawn with `\r` only when stderr
//!   is a terminal. Sent to a file or a CI log, it prints nothing but the
//!   lines passed to [`Progress::done`].
#![allow(dead_code)]

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::str::FromStr;

use lexopt::ValueExt;

/// Reads the process arguments with `read` (an example's `lexopt` loop);
/// handles `-h`/`--help` and every error as the module doc says.
pub(crate) fn parse<T>(
    usage: &'static str,
    read: impl FnOnce(&mut lexopt::Parser) -> Result<T, lexopt::Error>,
) -> T {
    match read(&mut lexopt::Parser::from_env()) {
        Ok(parsed) => parsed,
        Err(lexopt::Error::UnexpectedOption(flag)) if flag == "-h" || flag == "--help" => {
            println!("usage: {usage}");
            std::process::exit(0);
        }
        Err(e) => fail(usage, e),
    }
}

/// Prints `message` and the usage, and exits with status 2.
pub(crate) fn fail(usage: &str, message: impl Display) -> ! {
    eprintln!("error: {message}\nusage: {usage}");
    std::process::exit(2);
}

/// The value of the flag just read, as a comma-separated list.
pub(crate) fn list<T>(parser: &mut lexopt::Parser) -> Result<Vec<T>, lexopt::Error>
where
    T: FromStr,
    T::Err: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let raw = parser.value()?.string()?;
    raw.split(',')
        .map(|item| {
            item.parse()
                .map_err(|e: T::Err| lexopt::Error::ParsingFailed {
                    value: item.to_owned(),
                    error: e.into(),
                })
        })
        .collect()
}

/// A progress line on stderr, live only on a terminal.
pub(crate) struct Progress {
    live: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            live: std::io::stderr().is_terminal(),
        }
    }
}

impl Progress {
    /// Redraws the progress line (terminal only).
    pub(crate) fn update(&self, line: impl Display) {
        if self.live {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
        }
    }

    /// Ends the current item with a line kept in any output.
    pub(crate) fn done(&self, line: impl Display) {
        if self.live {
            eprintln!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }

    /// Clears the progress line (terminal only).
    pub(crate) fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[K");
        }
    }
}
