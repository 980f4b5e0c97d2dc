//! Text from records on its way out, where it could be taken for something other than
//! text: control sequences on a terminal, formulas in a spreadsheet. Every place that shows
//! record text on a terminal goes through [`terminal`] (or [`terminal_lines`] for text of
//! several lines), every CSV cell sloop writes goes through [`csv_cell`], and every value on
//! a page `sloop serve` renders goes through [`html`].

use std::borrow::Cow;

/// `s` with every character that a terminal would act on shown as a Rust escape instead:
/// the C0 controls (ESC `\u{1b}`, BEL `\u{7}`, backspace, CR `\r`, LF `\n`…), DEL and the
/// C1 controls, and the bidirectional overrides and isolates that reorder what is shown
/// (U+202A–U+202E, U+2066–U+2069). Tabs are kept. For one line of output (a message, a
/// table cell, a source line): a record cannot move the cursor, recolour, retitle or clear
/// the terminal, nor start a line of its own.
pub fn terminal(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// [`terminal`] for text of several lines: line feeds (and CR LF line ends) are kept.
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// Whether `terminal` shows `c` escaped.
pub fn is_escaped(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How many characters `terminal` shows for `c`.
pub fn shown_width(c: char) -> usize {
    if is_escaped(c) {
        escaped(c).chars().count()
    } else {
        1
    }
}

fn escaped(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    if !s.chars().any(is_escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let kept = keep_lines && (c == '\n' || (c == '\r' && chars.peek() == Some(&'\n')));
        if kept || !is_escaped(c) {
            out.push(c);
        } else {
            out.push_str(&escaped(c));
        }
    }
    Cow::Owned(out)
}

/// JSON text (a whole document, as serde_json writes it) with every character [`terminal`]
/// escapes written as JSON's own `\uXXXX` escape: the same JSON value, still valid JSON, and
/// safe on a terminal. serde_json already escapes the C0 controls inside strings; DEL, the C1
/// controls and the bidirectional overrides and isolates it leaves as they are, and
/// [`terminal`]'s `\u{202e}` inside a JSON string is not JSON. Line feeds are kept: outside
/// strings they are the pretty printer's line ends, and inside strings serde_json has
/// already written them as `\n`.
pub fn json(s: &str) -> Cow<'_, str> {
    let escaped_here = |c: char| c != '\n' && is_escaped(c);
    if !s.chars().any(escaped_here) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escaped_here(c) {
            // Every character escaped here is in the Basic Multilingual Plane: one `\uXXXX`.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection
/// rule, as of 2025): a cell that starts with `=`, `+`, `-`, `@`, a tab, a carriage return
/// or a line feed gets a leading `'`. A cell that is a plain number (`-120`, `+3.5`,
/// `-1e3`) is left as it is: a spreadsheet reads it as that number, and the numeric
/// columns (MRR, counts) stay numbers. The CSV writer quotes separators and quotes, so a
/// cell cannot start another one.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n') if !is_plain_number(s) => {
            Cow::Owned(format!("'{s}"))
        }
        _ => Cow::Borrowed(s),
    }
}

/// A cell as written before `csv_cell`: a leading `'` before `=`, `+`, `-`, `@`, a tab, a
/// carriage return or a line feed is dropped, so a CSV sloop wrote (the import's rejected
/// rows) reads back as it was.
pub fn csv_cell_read(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) => rest,
        _ => s,
    }
}

/// `s` as HTML text or a quoted attribute value: `&`, `<`, `>`, `"` and `'` as character
/// references, so a record value can neither open a tag nor close an attribute.
pub fn html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `s` for a message that quotes input, with how much was left
/// out: an error never echoes a whole megabyte of someone's file.
pub fn excerpt(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => {
            let more = s[cut..].chars().count();
            Cow::Owned(format!("{}… ({more} more characters)", &s[..cut]))
        }
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, nothing else.
fn is_plain_number(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_the_terminal_escapes_as_json_escapes_and_keeps_line_ends() {
        let doc = "{\n  \"s\": \"x\u{202e}y\u{7f}\u{9b}z\u{2069}\\n\u{e9}\"\n}";
        assert_eq!(
            json(doc),
            "{\n  \"s\": \"x\\u202ey\\u007f\\u009bz\\u2069\\n\u{e9}\"\n}"
        );
        assert!(matches!(
            json("{\n  \"a\": \"\u{e9}\\t\"\n}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn html_escapes_what_could_open_a_tag_or_close_an_attribute() {
        assert_eq!(
            html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert!(matches!(html("Acme GmbH"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(terminal("Acme"), Cow::Borrowed("Acme"));
        assert_eq!(terminal("a\u{1b}[2Jb\u{7}c\td"), "a\\u{1b}[2Jb\\u{7}c\td");
        assert_eq!(terminal("one\ntwo\r\n"), "one\\ntwo\\r\\n");
        assert_eq!(terminal("\u{9b}31m \u{7f}"), "\\u{9b}31m \\u{7f}");
        assert_eq!(terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(
            terminal_lines("one\r\ntwo\n\u{1b}]0;x\u{7}"),
            "one\r\ntwo\n\\u{1b}]0;x\\u{7}"
        );
        assert_eq!(terminal_lines("a\rb"), "a\\rb");
        // Escaping twice changes nothing: the escapes hold no control character.
        let once = terminal("\u{1b}[31m").into_owned();
        assert_eq!(terminal(&once), once);
        assert_eq!("\u{1b}".chars().map(shown_width).sum::<usize>(), 6);
        assert_eq!(shown_width('é'), 1);
    }

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("\n=1", "'\n=1"),
            ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
            ("-", "'-"),
            ("-1e", "'-1e"),
            ("-.5", "'-.5"),
            ("Acme = good", "Acme = good"),
            ("", ""),
            ("-120", "-120"),
            ("+3.5", "+3.5"),
            ("-1e3", "-1e3"),
            ("-2.5E-3", "-2.5E-3"),
            ("1500", "1500"),
        ] {
            assert_eq!(csv_cell(cell), expected, "{cell:?}");
            assert_eq!(csv_cell_read(&csv_cell(cell)), cell, "{cell:?}");
        }
        assert_eq!(csv_cell_read("'quoted"), "'quoted");
    }

    #[test]
    fn excerpts_say_what_they_leave_out() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("ééééé", 5), "ééééé");
        assert_eq!(excerpt("éééééé", 5), "ééééé… (1 more characters)");
    }
}
