//! An mbox file split into its messages as it is read, a line at a time, so that memory
//! holds one message, never the file.
//!
//! A message starts at a `From ` line at the start of the file or after a blank line that
//! looks like a separator (`From sender date`: it holds a time `hh:mm`). Body lines that the
//! writer quoted (`>From `, `>>From `…) lose one `>`: that restores an mboxrd file exactly
//! (mblaze's `mexport`, Gmail's Takeout); in an mboxo file (procmail's `formail`) a line the
//! author wrote as `>From ` loses its `>` too, as every mbox reader does, since the two
//! cannot be told apart.

use super::email::MAX_MESSAGE;

/// One message of an mbox: the line its `From ` separator is on, and its bytes (without the
/// separator). A message larger than `MAX_MESSAGE` keeps none of its bytes, only its size.
#[derive(Debug, Clone, PartialEq)]
pub struct MboxMessage {
    pub line: usize,
    pub bytes: Vec<u8>,
    pub too_large: Option<u64>,
}

/// Splits an mbox fed a line at a time (each with its line break).
#[derive(Debug, Default)]
pub struct MboxReader {
    current: Option<MboxMessage>,
    size: u64,
    line: usize,
    previous_blank: bool,
    /// Lines before the first separator (a file that is not an mbox has only those).
    pub preamble: usize,
}

impl MboxReader {
    pub fn new() -> Self {
        MboxReader {
            previous_blank: true,
            ..MboxReader::default()
        }
    }

    /// Reads one line; returns the message it ends, if it starts the next one.
    pub fn push_line(&mut self, line: &[u8]) -> Option<MboxMessage> {
        self.line += 1;
        let blank = line == b"\n" || line == b"\r\n";
        if self.previous_blank && is_separator(line) {
            self.previous_blank = false;
            let done = self.take();
            self.current = Some(MboxMessage {
                line: self.line,
                bytes: Vec::new(),
                too_large: None,
            });
            self.size = 0;
            return done;
        }
        self.previous_blank = blank;
        let Some(msg) = self.current.as_mut() else {
            if !blank {
                self.preamble += 1;
            }
            return None;
        };
        let unquoted = match line.iter().position(|b| *b != b'>') {
            Some(n) if n > 0 && line[n..].starts_with(b"From ") => &line[1..],
            _ => line,
        };
        self.size += unquoted.len() as u64;
        if self.size > MAX_MESSAGE {
            msg.bytes = Vec::new();
            msg.too_large = Some(self.size);
        } else {
            msg.bytes.extend_from_slice(unquoted);
        }
        None
    }

    /// The last message, at the end of the file.
    pub fn finish(&mut self) -> Option<MboxMessage> {
        self.take()
    }

    fn take(&mut self) -> Option<MboxMessage> {
        let mut m = self.current.take()?;
        // The blank line before the next separator belongs to the mbox, not the message.
        if m.bytes.ends_with(b"\r\n\r\n") {
            m.bytes.truncate(m.bytes.len() - 2);
        } else if m.bytes.ends_with(b"\n\n") {
            m.bytes.pop();
        }
        Some(m)
    }
}

/// `From sender date`: `From ` then a time (`hh:mm`) somewhere on the line.
fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        && line.windows(5).any(|w| {
            w[0].is_ascii_digit()
                && w[1].is_ascii_digit()
                && w[2] == b':'
                && w[3].is_ascii_digit()
                && w[4].is_ascii_digit()
        })
}

/// Whether a Maildir file name is a message (not hidden: `.` files are a tool's own).
pub fn is_message_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> (Vec<(usize, String)>, usize) {
        let mut r = MboxReader::new();
        let mut out = Vec::new();
        for line in text.split_inclusive('\n') {
            out.extend(r.push_line(line.as_bytes()));
        }
        out.extend(r.finish());
        (
            out.into_iter()
                .map(|m| (m.line, String::from_utf8(m.bytes).unwrap()))
                .collect(),
            r.preamble,
        )
    }

    #[test]
    fn messages_split_at_separators_and_lose_one_quote() {
        let mbox = "From a@x Tue Nov 24 09:15:32 2026\nSubject: one\n\nFrom the top\n>From ours\n>>From deep\n\nFrom  Fri Nov 27 10:09:58 2026\nSubject: two\n\nbody\n";
        // (A writer quotes the body's `From the top`; here it is not, and not after a blank
        // line with a time, so it stays in the body.)
        let (msgs, preamble) = split(mbox);
        assert_eq!(preamble, 0);
        assert_eq!(
            msgs,
            [
                (
                    1,
                    "Subject: one\n\nFrom the top\nFrom ours\n>From deep\n".to_string()
                ),
                (8, "Subject: two\n\nbody\n".to_string())
            ]
        );
        let (msgs, preamble) = split("not an mbox\nat all\n");
        assert!(msgs.is_empty());
        assert_eq!(preamble, 2);
        let (msgs, _) = split("From x Mon Jan  1 00:00:00 2026\r\nA: b\r\n\r\nc\r\n\r\nFrom y Mon Jan  1 00:00:01 2026\r\n\r\n");
        assert_eq!(msgs[0].1, "A: b\r\n\r\nc\r\n");
    }
}
