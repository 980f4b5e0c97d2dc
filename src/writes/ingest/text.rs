//! A message's body as the activity keeps it: plain text (HTML turned into text), the quoted
//! reply and the signature trimmed, capped at `MAX_BODY` bytes.
//!
//! HTML is turned into text here rather than by a rendering crate: the activity keeps a
//! capped note of what was said, not a rendering, and this function must be total over any
//! bytes (it is fuzzed). It drops markup, `<head>`, `<style>`, `<script>` and comments (Word's
//! conditional comments included), breaks lines at block elements and `<br>`, decodes
//! entities, and writes `<blockquote>` as `> ` lines so that the quote trimmer sees a quote.

/// The most a body keeps, in bytes of UTF-8 (cut at a character boundary, then `[…]`).
pub const MAX_BODY: usize = 16 * 1024;

/// The marker after a body that was cut at `MAX_BODY`.
pub const CUT: &str = "\n[…]";

/// Elements whose start or end breaks the line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "pre",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
    "dl",
];

/// HTML as plain text.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut quote_depth = 0usize;
    let mut skip: Option<&'static str> = None;
    let mut rest = html;
    let mut pending_space = false;
    let mut at_line_start = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let Some(end) = tag_end(rest) else {
                break;
            };
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(s) = skip {
                if closing && name == s {
                    skip = None;
                }
                continue;
            }
            match name.as_str() {
                "head" | "style" | "script" | "title" if !closing && !tag.ends_with('/') => {
                    skip = Some(match name.as_str() {
                        "head" => "head",
                        "style" => "style",
                        "script" => "script",
                        _ => "title",
                    });
                }
                "blockquote" => {
                    quote_depth = if closing {
                        quote_depth.saturating_sub(1)
                    } else {
                        quote_depth + 1
                    };
                    newline(&mut out, &mut at_line_start);
                }
                "td" | "th" if closing => pending_space = true,
                n if BLOCKS.contains(&n) => {
                    if n == "br" || n == "p" || !at_line_start {
                        newline(&mut out, &mut at_line_start);
                    }
                    pending_space = false;
                }
                _ => {}
            }
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        if skip.is_none() {
            for c in decode_entities(&rest[..next]).chars() {
                if c.is_whitespace() && c != '\u{a0}' {
                    pending_space = !at_line_start;
                    continue;
                }
                if at_line_start {
                    for _ in 0..quote_depth {
                        out.push_str("> ");
                    }
                    at_line_start = false;
                } else if pending_space {
                    out.push(' ');
                }
                pending_space = false;
                out.push(if c == '\u{a0}' { ' ' } else { c });
            }
        }
        rest = &rest[next..];
    }
    tidy(&out)
}

fn newline(out: &mut String, at_line_start: &mut bool) {
    out.push('\n');
    *at_line_start = true;
}

/// The index of the `>` closing a tag that starts at 0, outside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// `&amp;`, `&lt;`, `&#233;`, `&#xE9;` and the named entities mail writes.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|j| j + 1);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            entity(name).map(|c| (c, if rest[e..].starts_with(';') { e + 1 } else { e }))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "ecirc" => 'ê',
        "ocirc" => 'ô',
        "euro" => '€',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "times" => '×',
        "middot" => '·',
        "bull" => '•',
        _ => return None,
    })
}

/// Lines without trailing spaces, at most one blank line in a row, none at either end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// The body without the quoted message it replies to and without the signature: cut at the
/// first signature line (`-- `), quoted line (`>`), attribution (`On … wrote:`, `Le … a
/// écrit :`, `Am … schrieb …:`, `El … escribió:`, over one or two lines), or Outlook's
/// `-----Original Message-----` / `From:`+`Sent:` block. A forwarded message is kept: it is
/// what was sent.
pub fn trim_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        let joined = lines
            .get(i + 1)
            .map(|n| format!("{} {}", t, n.trim()))
            .unwrap_or_default();
        if t == "--"
            || line.trim_end_matches(['\r', '\n']) == "-- "
            || t.starts_with('>')
            || t.contains("-----Original Message-----")
            || t.contains("----- Original Message -----")
            || t.starts_with("________________________________")
                && lines.get(i + 1).is_some_and(|n| {
                    n.starts_with("From:") || n.starts_with("De :") || n.starts_with("De:")
                })
            || is_attribution(t)
            || (!t.is_empty()
                && is_attribution(&joined)
                && !is_attribution(lines.get(i + 1).unwrap_or(&"")))
            || (t.starts_with("From:") || t.starts_with("De :"))
                && lines.get(i + 1).is_some_and(|n| {
                    n.starts_with("Sent:") || n.starts_with("Envoyé :") || n.starts_with("Date:")
                })
                && !lines[..i]
                    .iter()
                    .rev()
                    .take(2)
                    .any(|p| p.contains("Forwarded") || p.contains("transféré"))
        {
            end = i;
            break;
        }
    }
    tidy(&lines[..end].join("\n"))
}

fn is_attribution(line: &str) -> bool {
    let l = line.trim();
    let starts = |p: &[&str]| p.iter().any(|s| l.starts_with(s));
    let ends = |p: &[&str]| p.iter().any(|s| l.ends_with(s));
    (starts(&["On "]) && ends(&["wrote:"]))
        || (starts(&["Le "]) && ends(&["a écrit :", "a écrit:"]))
        || (starts(&["Am "]) && ends(&["schrieb:"])
            || starts(&["Am "]) && l.contains(" schrieb ") && l.ends_with(':'))
        || (starts(&["El "]) && ends(&["escribió:"]))
}

/// The text cut at `MAX_BODY` bytes (at a character boundary), with `CUT` after it.
pub fn cap(text: String) -> String {
    if text.len() <= MAX_BODY {
        return text;
    }
    let mut end = MAX_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].trim_end().to_string();
    out.push_str(CUT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_with_blocks_quotes_and_entities() {
        let html = "<html><head><style>p{x:1}</style><title>t</title></head><body>\
            <!--[if gte mso 9]><xml>junk</xml><![endif]-->\
            <p class=MsoNormal>Bonjour&nbsp;Claire,<o:p></o:p></p>\
            <p>Voici le devis&#8239;: 1&nbsp;200&euro; <b>HT</b> &amp; c&#x27;est tout.</p>\
            <div>Line one<br>Line two</div>\
            <blockquote type=\"cite\"><div>Earlier message</div></blockquote>\
            <table><tr><td>a</td><td>b</td></tr></table>\
            <a href=\"x>y\">link</a> &unknown; 5 < 6</body></html>";
        assert_eq!(
            html_to_text(html),
            "Bonjour Claire,\n\nVoici le devis : 1 200€ HT & c'est tout.\nLine one\nLine two\n\n> Earlier message\n\na b\nlink &unknown; 5"
        );
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn replies_lose_their_quote_and_signature() {
        let reply = "Thanks Marc, works for us.\n\n-- \nClaire Dubois\nNorthwind\n\n> On 24 Nov 2026, at 16:02, Marc <m@x> wrote:\n> Hi";
        assert_eq!(trim_reply(reply), "Thanks Marc, works for us.");
        let gmail = "Sounds good.\n\nOn Tue, Nov 24, 2026 at 10:15 AM Marc Delacroix <\nmarc@tidewater.io> wrote:\n\n> Hello";
        assert_eq!(trim_reply(gmail), "Sounds good.");
        let fr = "D'accord.\n\nLe mar. 24 nov. 2026 à 10:15, Marc <m@x> a écrit :\n> Bonjour";
        assert_eq!(trim_reply(fr), "D'accord.");
        let outlook =
            "OK for Tuesday.\n\n________________________________\nFrom: Marc\nSent: Tuesday\n\nold";
        assert_eq!(trim_reply(outlook), "OK for Tuesday.");
        let forward = "FYI\n\n---------- Forwarded message ---------\nFrom: Mathieu <m@lyon-cycles.fr>\nDate: Mon, Nov 23, 2026 at 6:04 PM\n\nHello";
        assert_eq!(trim_reply(forward), forward);
    }

    #[test]
    fn long_bodies_are_capped_at_a_character_boundary() {
        let text = "é".repeat(MAX_BODY);
        let capped = cap(text);
        assert!(capped.ends_with(CUT));
        assert!(capped.len() <= MAX_BODY + CUT.len());
        assert_eq!(cap("short".into()), "short");
    }
}
