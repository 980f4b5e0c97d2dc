//! Where commands write: stdout for data, stderr for notes, with the colour decision made once.

use std::io::{self, Write};

/// The command's output streams.
pub struct Out {
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    pub color: bool,
}

impl Out {
    pub fn print(&mut self, text: &str) -> io::Result<()> {
        self.stdout.write_all(text.as_bytes())
    }

    /// Prints `value` as pretty JSON and a newline. A value that cannot be written as JSON
    /// (a map with non-string keys) is an error, not a panic.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.println(&text)
    }

    pub fn println(&mut self, text: &str) -> io::Result<()> {
        self.stdout.write_all(text.as_bytes())?;
        self.stdout.write_all(b"\n")
    }

    pub fn note(&mut self, text: &str) -> io::Result<()> {
        self.stderr.write_all(text.as_bytes())?;
        self.stderr.write_all(b"\n")
    }
}
