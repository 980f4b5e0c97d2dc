//! Where commands write: stdout for data, stderr for notes, with the colour decision made once.
//!
//! Lines for people (`println`, `note`) are shown with their control characters escaped
//! (`escape::terminal_lines`): they carry record text. `print` writes text that is already
//! safe (rendered diagnostics with their own colours, tables of escaped cells); `data`
//! writes a document (CSV, a report), escaped only when stdout is a terminal, so that a
//! file or a pipe gets the bytes as they are.

use std::io::{self, Write};

use crate::escape;

/// The command's output streams.
pub struct Out {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    pub color: bool,
    /// stdout is a terminal.
    pub tty: bool,
}

impl Out {
    pub fn print(&mut self, text: &str) -> io::Result<()> {
        self.stdout.write_all(text.as_bytes())
    }

    /// A document (CSV, a rendered report): control characters escaped on a terminal only.
    pub fn data(&mut self, text: &str) -> io::Result<()> {
        if self.tty {
            self.print(&escape::terminal_lines(text))
        } else {
            self.print(text)
        }
    }

    /// Prints `value` as pretty JSON and a newline. A value that cannot be written as JSON
    /// (a map with non-string keys) is an error, not a panic.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.println(&text)
    }

    pub fn println(&mut self, text: &str) -> io::Result<()> {
        self.stdout
            .write_all(escape::terminal_lines(text).as_bytes())?;
        self.stdout.write_all(b"\n")
    }

    pub fn note(&mut self, text: &str) -> io::Result<()> {
        self.stderr
            .write_all(escape::terminal_lines(text).as_bytes())?;
        self.stderr.write_all(b"\n")
    }
}
