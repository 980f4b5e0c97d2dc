//! Diagnostics: what `sloop check` (and every command that validates) reports.
//!
//! A diagnostic is data — severity, stable code, location, message, hint — and rendering is
//! separate (`render_text`, or serde for JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::escape::{shown_width, terminal};

/// How bad a diagnostic is. Errors make `sloop check` exit 1; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $summary:literal;)*) => {
        /// Stable diagnostic codes. The README documents each, in this order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable name printed in `error[name]` and in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// Looks a code up by its stable name.
            pub fn from_name(name: &str) -> Option<Code> {
                match name { $($name => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    Unreadable = "unreadable", Error, "a file or folder could not be read";
    NotUtf8 = "not-utf8", Error, "a record file is binary or not valid UTF-8";
    EmptyFile = "empty-file", Error, "a record file is empty";
    Syntax = "syntax", Error, "the file is not valid TOML";
    WrongType = "wrong-type", Error, "a field has the wrong TOML type (a string where a date is expected…)";
    UnknownKey = "unknown-key", Error, "a key that the record kind does not have, outside `[custom]`";
    MissingField = "missing-field", Error, "a field every record of its kind needs is absent";
    InvalidId = "invalid-id", Error, "a file name (the record id) is not `[a-z0-9][a-z0-9-]*`, at most 64 characters";
    DuplicateId = "duplicate-id", Error, "two files of the same kind have the same id";
    UnknownValue = "unknown-value", Error, "a value outside its allowed list (status, stage, role, source, lost reason…)";
    InvalidValue = "invalid-value", Error, "a value of the right type that is not valid (negative MRR, malformed email, uppercase domain…)";
    DanglingRef = "dangling-ref", Error, "a reference to a record that does not exist";
    UnknownMember = "unknown-member", Error, "an owner or sdr that is not a member of the team";
    Duplicate = "duplicate", Error, "an account domain or a contact email used twice (case-insensitive)";
    StageRequirement = "stage-requirement", Error, "a field required by the record's current stage or status is missing or not true";
    FieldNotAllowed = "field-not-allowed", Error, "a field set where it is not allowed (`backlog_until` outside backlog, `due` on a call…)";
    Config = "config", Error, "`sloop.toml` breaks its own schema (unknown stage in `next`, bad probability…)";
    SymlinkEscape = "symlink-escape", Error, "a symlink points outside the CRM or into `.git` (it is not followed)";
    IllegalTransition = "illegal-transition", Error, "a stage or status changed to one its `next` list does not allow";
    NotEntry = "not-entry", Error, "a new record starts in a stage or status that is not an entry point";
    DeletedRecord = "deleted-record", Error, "a record file was deleted (close it instead: nothing is lost)";
    StrayFile = "stray-file", Warning, "a file that is not a record where records live (or a misspelt folder)";
    Inconsistent = "inconsistent", Warning, "records that contradict each other (an open opportunity on an account in a pool…)";
    StartBeforeClose = "start-before-close", Warning, "a won opportunity's `commit.start_date` is before its `close_date` (the reports count its MRR from the close date)";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A position in a file: 1-based line and column (in characters), and the length of the
/// underlined text on that line (0: no underline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Loc {
    /// The start of the file, with nothing underlined.
    pub const START: Loc = Loc {
        line: 1,
        column: 1,
        len: 0,
    };
}

/// One problem found in the CRM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// Path relative to the CRM root, with `/` separators.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The commit the problem was found in (`check --range`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The source line, when known, shown under the message.
    #[serde(skip)]
    pub source_line: Option<String>,
    /// Characters to underline in `source_line`.
    #[serde(skip)]
    pub underline: u32,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, path: impl Into<String>, loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            path: path.into(),
            line: loc.line,
            column: loc.column,
            message: message.into(),
            hint: None,
            commit: None,
            source_line: None,
            underline: loc.len,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by path, then position, then code, so output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (
            a.commit.is_some(),
            a.path != "sloop.toml",
            &a.path,
            a.line,
            a.column,
            a.code,
            &a.message,
        )
            .cmp(&(
                b.commit.is_some(),
                b.path != "sloop.toml",
                &b.path,
                b.line,
                b.column,
                b.code,
                &b.message,
            ))
    });
}

/// Counts of errors and warnings.
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    (errors, diags.len() - errors)
}

/// Text rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Renders one diagnostic the way compilers do:
///
/// ```text
/// accounts/acme.toml:3:1: error[unknown-key]: unknown key `stauts` in an account
///   3 | stauts = "target"
///     | ^^^^^^
///     = help: did you mean `status`?
/// ```
///
/// `display_path` is the path to print (the CRM root joined with `d.path`).
pub fn render_text(d: &Diagnostic, display_path: &str, style: Style) -> String {
    let paint = |code: &str, text: &str| {
        if style.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let (label, colour) = match d.severity {
        Severity::Error => ("error", RED),
        Severity::Warning => ("warning", YELLOW),
    };
    let mut out = String::new();
    // File names, messages, hints and source lines carry text from the files: shown with
    // their control characters escaped, so a record cannot drive the terminal.
    let display_path = terminal(display_path);
    let location = if d.line > 0 {
        format!("{display_path}:{}:{}", d.line, d.column)
    } else {
        display_path.to_string()
    };
    let commit = d
        .commit
        .as_deref()
        .map(|c| format!(" (commit {})", &c[..c.len().min(12)]))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}{commit}: {}: {}",
        paint(BOLD, &location),
        paint(colour, &format!("{label}[{}]", d.code)),
        paint(BOLD, &terminal(&d.message))
    );
    let gutter_width = d.line.to_string().len();
    let pad = " ".repeat(gutter_width);
    if let Some(src) = d.source_line.as_ref().filter(|_| d.underline > 0) {
        let src = src.trim_end_matches(['\r', '\n']);
        let _ = writeln!(
            out,
            " {} {} {}",
            paint(BLUE, &d.line.to_string()),
            paint(BLUE, "|"),
            terminal(src)
        );
        {
            // Under the escaped line: an escaped character takes the width of its escape.
            let before = d.column.saturating_sub(1) as usize;
            let indent: String = src
                .chars()
                .take(before)
                .flat_map(|c| {
                    let fill = if c == '\t' { '\t' } else { ' ' };
                    std::iter::repeat_n(fill, shown_width(c))
                })
                .collect();
            let width: usize = src
                .chars()
                .skip(before)
                .take(d.underline as usize)
                .map(shown_width)
                .sum();
            let carets = "^".repeat(width.max(d.underline as usize));
            let _ = writeln!(
                out,
                " {pad} {} {indent}{}",
                paint(BLUE, "|"),
                paint(colour, &carets)
            );
        }
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(
            out,
            " {pad} {} {}: {}",
            paint(BLUE, "="),
            paint(BOLD, "help"),
            terminal(hint)
        );
    }
    out
}

/// Byte offsets of line starts in a text, to turn spans into line and column.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// Location of a byte span: line, column (characters) and the underline length, clipped
    /// to the first line of the span.
    pub fn loc(&self, span: std::ops::Range<usize>) -> Loc {
        let start = span.start.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= start) - 1;
        let line_start = self.starts[line];
        // The line as shown (`line_text`), without the CR of a CRLF: a span that starts on
        // the line break points just past the last character, as it does with LF.
        let line_end = line_start
            + self.text[line_start..self.line_end(line)]
                .trim_end_matches('\r')
                .len();
        let start = start.min(line_end);
        let column = self.text[line_start..floor_char(self.text, start)]
            .chars()
            .count()
            + 1;
        let end = span.end.clamp(start, line_end);
        let len = self.text[floor_char(self.text, start)..floor_char(self.text, end)]
            .chars()
            .count();
        Loc {
            line: line as u32 + 1,
            column: column as u32,
            len: len as u32,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> Option<&'a str> {
        let i = (line as usize).checked_sub(1)?;
        let start = *self.starts.get(i)?;
        Some(self.text[start..self.line_end(i)].trim_end_matches('\r'))
    }

    fn line_end(&self, line: usize) -> usize {
        self.starts
            .get(line + 1)
            .map(|s| s - 1)
            .unwrap_or(self.text.len())
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// "Did you mean" for a mistyped name: the closest candidate within a small edit distance.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// One diagnostic as a GitHub Actions workflow command, which annotates the file and line in
/// a pull request: `::error file=crm/accounts/acme.toml,line=3,col=9,title=unknown-value::…`.
/// `repo_path` is the file's path from the top of the repository (what GitHub matches with
/// the pull request's files). The message carries the hint and, for `--range`, the commit;
/// `%`, CR and LF are encoded as the runner decodes them (and `:` and `,` in properties).
pub fn render_github(d: &Diagnostic, repo_path: &str) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = vec![format!("file={}", property(repo_path))];
    if d.line > 0 {
        props.push(format!("line={}", d.line));
        if d.column > 0 {
            props.push(format!("col={}", d.column));
            if d.underline > 1 {
                props.push(format!("endColumn={}", d.column + d.underline));
            }
        }
    }
    props.push(format!(
        "title={}",
        property(&format!("sloop {level}[{}]", d.code.as_str()))
    ));
    let mut message = d.message.clone();
    if let Some(hint) = &d.hint {
        message.push_str("\nhelp: ");
        message.push_str(hint);
    }
    if let Some(commit) = &d.commit {
        message.push_str("\nin commit ");
        message.push_str(commit);
    }
    format!("::{level} {}::{}\n", props.join(","), data(&message))
}

/// Diagnostics as a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers: one
/// rule per diagnostic code (its summary from the README's table), one result per
/// diagnostic. `repo_path` gives each diagnostic's path from the top of the repository
/// (SARIF's `%SRCROOT%`).
pub fn sarif(
    diags: &[Diagnostic],
    repo_path: impl Fn(&Diagnostic) -> String,
    version: &str,
) -> serde_json::Value {
    use serde_json::json;
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let rules: Vec<serde_json::Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": {"text": c.summary()},
                "defaultConfiguration": {"level": level(c.severity())},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(hint) = &d.hint {
                text.push_str("\nhelp: ");
                text.push_str(hint);
            }
            let mut location = json!({
                "artifactLocation": {"uri": repo_path(d), "uriBaseId": "%SRCROOT%"},
            });
            if d.line > 0 {
                let mut region = json!({"startLine": d.line});
                if d.column > 0 {
                    region["startColumn"] = json!(d.column);
                    if d.underline > 0 {
                        region["endColumn"] = json!(d.column + d.underline);
                    }
                }
                if let Some(line) = &d.source_line {
                    region["snippet"] = json!({"text": line});
                }
                location["region"] = region;
            }
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": Code::ALL.iter().position(|c| *c == d.code),
                "level": level(d.severity),
                "message": {"text": text},
                "locations": [{"physicalLocation": location}],
            });
            if let Some(commit) = &d.commit {
                result["properties"] = json!({"commit": commit});
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sloop",
                "version": version,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// "`a`, `b` or `c`" for messages.
pub fn one_of<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.len() {
        0 => "nothing".to_string(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// `36500` → `36,500`.
pub fn grouped(n: u64) -> String {
    group_digits(&n.to_string())
}

/// ASCII digits in groups of three: `"1234567"` → `"1,234,567"`.
pub fn group_digits(digits: &str) -> String {
    let lead = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        n => n,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..lead]);
    for group in digits.as_bytes()[lead..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    out
}

/// `n` and a noun, singular for one and plural otherwise, the number grouped by thousands:
/// `1 lead`, `0 errors`, `2 opportunities`, `1,200 records`.
pub fn count(n: usize, noun: &str) -> String {
    let n_text = group_digits(&n.to_string());
    if n == 1 {
        return format!("{n_text} {noun}");
    }
    let consonant_y =
        noun.ends_with('y') && !noun[..noun.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    let plural = if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if noun.ends_with(['s', 'x']) || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    };
    format!("{n_text} {plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_says_one_thing_and_many_things() {
        assert_eq!(count(1, "lead"), "1 lead");
        assert_eq!(count(0, "lead"), "0 leads");
        assert_eq!(count(2, "opportunity"), "2 opportunities");
        assert_eq!(count(3, "day"), "3 days");
        assert_eq!(count(2, "match"), "2 matches");
        assert_eq!(count(1200, "record"), "1,200 records");
    }

    #[test]
    fn loc_counts_characters_and_clips_to_the_line() {
        let text = "a = 1\nnamé = \"x\"\nb = [\n 1]\n";
        let idx = LineIndex::new(text);
        let start = text.find("\"x\"").unwrap();
        assert_eq!(
            idx.loc(start..start + 3),
            Loc {
                line: 2,
                column: 8,
                len: 3
            }
        );
        let arr = text.find('[').unwrap();
        assert_eq!(idx.loc(arr..text.len()).len, 1);
        assert_eq!(idx.line_text(2), Some("namé = \"x\""));
    }

    #[test]
    fn a_span_on_a_crlf_line_break_stays_on_the_line_shown() {
        // Found by the fuzz harness: the CR counted as a character, so the caret of an
        // error at the line break sat one column past the line as printed.
        let text = "kind = \"call\"\r\naccount = \"\r\nx\"\r\n";
        let idx = LineIndex::new(text);
        let at = text.find("\"\r\nx").unwrap() + 1;
        let loc = idx.loc(at..at + 1);
        assert_eq!((loc.line, loc.column), (2, 12));
        assert_eq!(idx.line_text(2).unwrap().chars().count(), 11);
        // A lone CR ending the file: the caret is where the CR is.
        let text = "name = \"A\"\r";
        let loc = LineIndex::new(text).loc(text.len()..text.len());
        assert_eq!((loc.line, loc.column), (1, 11));
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["status", "stage", "owner"];
        assert_eq!(suggest("stauts", keys), Some("status"));
        assert_eq!(suggest("ownr", keys), Some("owner"));
        assert_eq!(suggest("zzzzzz", keys), None);
    }

    #[test]
    fn renders_location_source_caret_and_help() {
        let mut d = Diagnostic::new(
            Code::UnknownKey,
            "accounts/acme.toml",
            Loc {
                line: 3,
                column: 1,
                len: 6,
            },
            "unknown key `stauts` in an account",
        )
        .with_hint("did you mean `status`?");
        d.source_line = Some("stauts = \"target\"".into());
        let text = render_text(&d, "crm/accounts/acme.toml", Style::default());
        assert_eq!(
            text,
            "crm/accounts/acme.toml:3:1: error[unknown-key]: unknown key `stauts` in an account\n \
             3 | stauts = \"target\"\n   | ^^^^^^\n   = help: did you mean `status`?\n"
        );
    }

    #[test]
    fn one_of_lists_naturally() {
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(one_of(&["a"]), "`a`");
    }
}
