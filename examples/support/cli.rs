//! The examples' command line and progress output, shared so that each
//! example states only its flags.
//!
//! - [`Args`]: `--flag value` pairs and bare `--switch`es, taken by name in
//!   any order; `-h`/`--help` prints the usage; a bad or unknown flag prints
//!   a one-line error and the usage and exits with status 2 (no panic, no
//!   backtrace).
//! - [`Progress`]: a live progress line redrawn with `\r` only when stderr
//!   is a terminal. Sent to a file or a CI log, it prints nothing but the
//!   lines passed to [`Progress::done`].
#![allow(dead_code)]

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::str::FromStr;

/// The process arguments, consumed flag by flag.
pub(crate) struct Args {
    usage: &'static str,
    rest: Vec<String>,
}

impl Args {
    /// Reads the process arguments; handles `-h`/`--help`.
    pub(crate) fn parse(usage: &'static str) -> Self {
        let rest: Vec<String> = std::env::args().skip(1).collect();
        if rest.iter().any(|a| a == "-h" || a == "--help") {
            println!("usage: {usage}");
            std::process::exit(0);
        }
        Args { usage, rest }
    }

    /// Prints `message` and the usage, and exits with status 2.
    pub(crate) fn fail(&self, message: impl Display) -> ! {
        eprintln!("error: {message}\nusage: {}", self.usage);
        std::process::exit(2);
    }

    /// The value of `--flag VALUE`, parsed, if the flag is given.
    pub(crate) fn value<T: FromStr>(&mut self, flag: &str) -> Option<T> {
        let at = self.rest.iter().position(|a| a == flag)?;
        if at + 1 >= self.rest.len() {
            self.fail(format_args!("{flag} needs a value"));
        }
        let raw = self.rest.remove(at + 1);
        self.rest.remove(at);
        match raw.parse() {
            Ok(v) => Some(v),
            Err(_) => self.fail(format_args!("{flag}: cannot read {raw:?}")),
        }
    }

    /// The value of `--flag VALUE`, or `default`.
    pub(crate) fn value_or<T: FromStr>(&mut self, flag: &str, default: T) -> T {
        self.value(flag).unwrap_or(default)
    }

    /// A comma-separated list `--flag a,b,c`, if given.
    pub(crate) fn list<T: FromStr>(&mut self, flag: &str) -> Option<Vec<T>> {
        let raw: String = self.value(flag)?;
        let items = raw
            .split(',')
            .map(|item| {
                item.parse()
                    .unwrap_or_else(|_| self.fail(format_args!("{flag}: cannot read {item:?}")))
            })
            .collect();
        Some(items)
    }

    /// Whether the bare `--switch` is given.
    pub(crate) fn switch(&mut self, flag: &str) -> bool {
        match self.rest.iter().position(|a| a == flag) {
            Some(at) => {
                self.rest.remove(at);
                true
            }
            None => false,
        }
    }

    /// The first argument that is not a flag, if any.
    pub(crate) fn positional(&mut self) -> Option<String> {
        let at = self.rest.iter().position(|a| !a.starts_with("--"))?;
        Some(self.rest.remove(at))
    }

    /// Fails on anything not taken.
    pub(crate) fn finish(self) {
        if let Some(extra) = self.rest.first() {
            self.fail(format_args!("unknown argument {extra:?}"));
        }
    }
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
