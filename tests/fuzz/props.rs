//! Properties several targets check.

use std::collections::BTreeMap;

use sloop::diag::Diagnostic;

/// A file's text as the parsers see it: without a leading BOM; bytes that are not UTF-8
/// replaced (they come after the point a `not-utf8` diagnostic points at).
pub fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every diagnostic names one of `files` (or `sloop.toml`), and a position (line > 0) is
/// inside its file: the line exists, the column is at most one past its last character,
/// the underline stays on the line, and the source line shown is that line.
pub fn positions(diags: &[Diagnostic], files: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    for d in diags {
        let Some(bytes) = files.get(&d.path) else {
            return Err(format!("diagnostic for a file that was not given: {d:?}"));
        };
        if d.line == 0 {
            if d.column != 0 {
                return Err(format!("column without a line: {d:?}"));
            }
            continue;
        }
        let text = text_of(bytes);
        let lines: Vec<&str> = text.split('\n').collect();
        let Some(line) = lines.get(d.line as usize - 1) else {
            return Err(format!(
                "line {} is past the end of {} ({} lines): {d:?}",
                d.line,
                d.path,
                lines.len()
            ));
        };
        // As shown: without the CR of a CRLF (or a lone CR at the end of the file).
        let line = line.trim_end_matches('\r');
        let chars = line.chars().count() as u32;
        if d.column == 0 || d.column > chars + 1 {
            return Err(format!(
                "column {} is outside line {} of {} ({chars} characters: {line:?}): {d:?}",
                d.column, d.line, d.path
            ));
        }
        if d.underline > 0 && d.column - 1 + d.underline > chars + 1 {
            return Err(format!(
                "underline of {} from column {} runs past line {} of {} ({chars} characters): {d:?}",
                d.underline, d.column, d.line, d.path
            ));
        }
        if let Some(src) = &d.source_line {
            if src != line {
                return Err(format!(
                    "source line {src:?} is not line {} of {} ({line:?}): {d:?}",
                    d.line, d.path
                ));
            }
        }
    }
    Ok(())
}

/// Fails with `what` when `cond` is false.
pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}
