//! Where commands write: stdout for data, stderr for notes, with the colour decision made once.
//!
//! Lines for people (`println`, `note`) are shown with their control characters escaped
//! (`escape::terminal_lines`): they carry record text. `print` writes text that is already
//! safe (rendered diagnostics with their own colours, tables of escaped cells); `data`
//! writes a document (CSV, a report), escaped only when stdout is a terminal, so that a
//! file or a pipe gets the bytes as they are. JSON (`json`, `json_stream`) is escaped with
//! JSON's own escapes (`escape::json`), always: the same value, valid JSON everywhere.

use std::io::{self, Write};

use crate::escape;

/// A writer that passes JSON text on a line at a time, escaped as [`Out::json`] escapes it
/// (`escape::json`: each character is escaped on its own), so that JSON written in pieces
/// comes out as the same text printed whole would.
struct JsonLines<'a> {
    out: &'a mut Box<dyn Write>,
    /// The line being written, up to and with its line feed.
    line: Vec<u8>,
}

impl JsonLines<'_> {
    fn write_line(&mut self) -> io::Result<()> {
        let text = std::str::from_utf8(&self.line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.out.write_all(escape::json(text).as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl Write for JsonLines<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=end]);
            self.write_line()?;
            rest = &rest[end + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

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

    /// Prints `value` as pretty JSON and a newline, record text's terminal controls written
    /// as JSON escapes (`escape::json`: valid JSON, the same value). A value that cannot be
    /// written as JSON (a map with non-string keys) is an error, not a panic.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.print(&escape::json(&text))?;
        self.print("\n")
    }

    /// Prints `value` as [`json`](Out::json) does, byte for byte, but written as it is
    /// serialised, a line at a time: a value that reads its elements from disk (a capture
    /// run's lists) is never held whole, as a tree or as text. An error part-way (a list that
    /// cannot be read back) leaves the output cut short; the command then fails.
    pub fn json_stream<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        let mut lines = JsonLines {
            out: &mut self.stdout,
            line: Vec::new(),
        };
        let mut ser = serde_json::Serializer::with_formatter(
            &mut lines,
            serde_json::ser::PrettyFormatter::new(),
        );
        value.serialize(&mut ser).map_err(io::Error::other)?;
        lines.write_line()?;
        self.stdout.write_all(b"\n")
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

#[cfg(test)]
mod tests {
    use super::Out;
    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn printed(print: impl FnOnce(&mut Out) -> io::Result<()>) -> Vec<u8> {
        let buf = Shared::default();
        let mut out = Out {
            stdout: Box::new(buf.clone()),
            stderr: Box::new(io::sink()),
            color: false,
            tty: false,
        };
        print(&mut out).unwrap();
        drop(out);
        let bytes = buf.0.borrow().clone();
        bytes
    }

    #[test]
    fn streamed_json_is_the_json_printed_whole_byte_for_byte() {
        // Record text that the terminal escaping changes (a bidi override, C1 and DEL
        // controls, a CR before a line feed inside a string), several lines, empty lists.
        let value = serde_json::json!({
            "recorded": 2,
            "files": ["activities/a.toml", "activités/é\u{202e}b.toml"],
            "invalid": [{"item": "line 2", "reason": "bad \u{7f}\u{85} \r\n end\r"}],
            "skipped": [],
            "nested": {"a": [[], {}], "b": null, "c": 1.5, "d": "\u{2066}x\u{2069}"},
        });
        let whole = printed(|o| o.json(&value));
        let streamed = printed(|o| o.json_stream(&value));
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole).unwrap()
        );
        for scalar in [
            serde_json::json!("x\r"),
            serde_json::json!(3),
            serde_json::json!([]),
        ] {
            assert_eq!(
                printed(|o| o.json_stream(&scalar)),
                printed(|o| o.json(&scalar))
            );
        }
    }

    #[test]
    fn json_output_is_valid_json_with_terminal_controls_escaped() {
        // serde_json leaves DEL, C1 controls and bidi overrides raw; the terminal escaping
        // (`\u{202e}`) would make the string invalid JSON. Both printers write JSON escapes.
        let text = "a\u{202e}b\u{7f}c\u{85}d\u{2066}e\u{1b}[31m\nf\tg";
        let value = serde_json::json!({ "subject": text, "n": [1, 2] });
        for bytes in [
            printed(|o| o.json(&value)),
            printed(|o| o.json_stream(&value)),
        ] {
            let out = String::from_utf8(bytes).unwrap();
            assert!(
                !out.chars()
                    .any(|c| c != '\n' && crate::escape::is_escaped(c)),
                "{out:?}"
            );
            assert!(
                out.contains(r#""a\u202eb\u007fc\u0085d\u2066e\u001b[31m\nf\tg""#),
                "{out}"
            );
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back, value);
        }
        let report = crate::cli::to_json_text(&value).unwrap();
        assert_eq!(
            report,
            String::from_utf8(printed(|o| o.json(&value))).unwrap()
        );
    }
}
