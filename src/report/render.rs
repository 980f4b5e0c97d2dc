//! Report rendering: the tera templates behind `sloop report`.
//!
//! The metrics module builds one JSON context (documented in the README, "Template
//! context"); this module renders it through a template and returns the text. It never
//! prints and never writes: the shell decides where the output goes.
//!
//! Templates come from two places:
//!
//! - the built-ins, compiled into the binary: `dashboard.html` (a self-contained offline
//!   page with inline SVG charts) and `weekly.md` (the weekly pipeline report for CI);
//! - the CRM's `templates/` folder, whose files override a built-in of the same name or add
//!   new templates (`*.html`, `*.md`, `*.txt`…; a name ending in `.html`, `.htm` or `.xml`
//!   is HTML-escaped automatically). Subfolders are allowed and named with `/`, so a
//!   template may `{% include "partials/header.html" %}`. All templates compile together,
//!   so a user template that does not parse fails every render, naming its file and line.
//!   tera 2 components are global: the built-ins' are namespaced (`dashboard.line`,
//!   `dashboard.columns`, `dashboard.hbars`, `dashboard.funnel`, `weekly.who`…) and a user
//!   template may call them while the built-in is not overridden.
//!
//! Every template can use these filters besides tera's own:
//!
//! - `md`: escapes a value for a Markdown table cell (`|`, newlines, `*`, `_`, backticks,
//!   `[`, `]`, `<`, `>`, `\`, `#`, `~`, `&`, `!`); `null` becomes `—`.
//! - `money`: a number with thousands separators, no decimals unless it has cents
//!   (`12,345`, `1,234.50`); `currency="EUR"` appends the currency; `null` becomes `—`.
//! - `pct`: a ratio in 0..1 as a percentage (`0.4236` → `42%`, `precision=1` → `42.4%`);
//!   `null` becomes `—`.
//! - `num`: a number with at most `precision` decimals (default 1), trailing zeros dropped
//!   (`15.25` → `15.3`, `7.0` → `7`); `null` becomes `—`.
//! - `maxof`: the largest number in a list, of `attribute` when given, and never below 0:
//!   `weekly_pipeline | maxof(attribute="mrr")`. Charts divide by `[…, 1] | maxof`, never 0.
//! - `minof`: the smallest number in a list (0 for an empty one).
//! - `nice`: rounds a number up to a round axis maximum, four whole steps of 1, 2, 3, 4, 5,
//!   6 or 8 × 10ⁿ (0 → 4: gridlines 0, 1, 2, 3, 4).
//! - `code`: a message written for the terminal as HTML, escaped, its `` `spans` `` as
//!   `<code>` (the alerts).

use std::path::{Path, PathBuf};

use tera::{Context, ErrorKind, Kwargs, State, Tera, TeraResult, Value};

/// The built-in templates, by name.
const BUILT_INS: [(&str, &str); 2] = [
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    ("weekly.md", include_str!("../../templates/weekly.md")),
];

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No built-in or user template has this name.
    #[error("unknown template `{name}`; available: {}", .available.join(", "))]
    UnknownTemplate {
        /// The name asked for.
        name: String,
        /// Every template that could be rendered, sorted.
        available: Vec<String>,
    },
    /// A template does not parse, or failed while rendering.
    #[error("{template}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The template's file: its path for a user template, `built-in <name>` for a
        /// built-in one.
        template: String,
        /// The 1-based line of the error, when tera knows it.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// A user template could not be read.
    #[error("cannot read template {}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The names of every template that can be rendered: the built-ins and the files of
/// `user_templates`, sorted, each once. A folder that cannot be read adds nothing.
pub fn available(user_templates: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILT_INS.iter().map(|(n, _)| (*n).to_string()).collect();
    if let Some(dir) = user_templates {
        if let Ok(files) = user_files(dir) {
            names.extend(files.into_iter().map(|(name, _)| name));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Renders the template `name` with `context` (a JSON object: the report context).
///
/// User templates in `user_templates` override built-ins of the same name and may add new
/// ones. Errors name the template's file and line.
pub fn render(
    name: &str,
    context: &serde_json::Value,
    user_templates: Option<&Path>,
) -> Result<String, ReportError> {
    let user = match user_templates {
        Some(dir) if dir.is_dir() => {
            user_files(dir).map_err(|(path, source)| ReportError::Io { path, source })?
        }
        _ => Vec::new(),
    };
    let mut sources: Vec<(String, String, String)> = Vec::new(); // (name, file label, text)
    for (builtin, text) in BUILT_INS {
        if !user.iter().any(|(n, _)| n == builtin) {
            sources.push((
                builtin.to_string(),
                format!("built-in {builtin}"),
                text.to_string(),
            ));
        }
    }
    for (user_name, path) in &user {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        sources.push((user_name.clone(), path.display().to_string(), text));
    }
    if !sources.iter().any(|(n, _, _)| n == name) {
        let mut available: Vec<String> = sources.into_iter().map(|(n, _, _)| n).collect();
        available.sort();
        return Err(ReportError::UnknownTemplate {
            name: name.to_string(),
            available,
        });
    }

    let label = |template: &str| -> String {
        sources
            .iter()
            .find(|(n, _, _)| n == template)
            .map(|(_, label, _)| label.clone())
            .unwrap_or_else(|| template.to_string())
    };
    let mut tera = Tera::new();
    register_filters(&mut tera);
    // Add templates one at a time so a syntax error names its own file; then once more all
    // together so includes, extends and components across files resolve.
    for (template, _, text) in &sources {
        let mut alone = Tera::new();
        register_filters(&mut alone);
        if let Err(err) = alone.add_raw_template(template, text) {
            if matches!(err.kind(), ErrorKind::SyntaxError(_)) {
                return Err(template_error(&err, template, &label));
            }
        }
    }
    tera.add_raw_templates(sources.iter().map(|(n, _, t)| (n.as_str(), t.as_str())))
        .map_err(|err| template_error(&err, name, &label))?;
    let context = Context::from_serialize(context).map_err(|err| ReportError::Template {
        template: label(name),
        line: None,
        message: format!("the report context is not a JSON object: {err}"),
    })?;
    tera.render(name, &context)
        .map_err(|err| template_error(&err, name, &label))
}

/// The user templates under `dir`: (name with `/` separators, path), skipping hidden files
/// and folders.
fn user_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, (PathBuf, std::io::Error)> {
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(dir).to_path_buf();
            let io = err
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop"));
            (path, io)
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((name, entry.path().to_path_buf()));
    }
    Ok(files)
}

/// Turns a tera error into a [`ReportError::Template`] naming the file and line.
fn template_error(
    err: &tera::Error,
    fallback: &str,
    label: &dyn Fn(&str) -> String,
) -> ReportError {
    match err.kind() {
        ErrorKind::SyntaxError(report) | ErrorKind::RenderingError(report) => {
            let template = if report.filename().is_empty() {
                fallback
            } else {
                report.filename()
            };
            let line = report.span().start_line;
            ReportError::Template {
                template: label(template),
                line: (line > 0).then_some(line),
                message: report.message().to_string(),
            }
        }
        ErrorKind::MissingParent { current, .. } => ReportError::Template {
            template: label(current),
            line: None,
            message: err.to_string(),
        },
        ErrorKind::CircularExtend { tpl, .. } | ErrorKind::CircularInclude { tpl, .. } => {
            ReportError::Template {
                template: label(tpl),
                line: None,
                message: err.to_string(),
            }
        }
        _ => ReportError::Template {
            template: label(fallback),
            line: None,
            message: err.to_string(),
        },
    }
}

/// Registers `md`, `money`, `pct`, `num`, `maxof`, `minof`, `nice` and `code`.
fn register_filters(tera: &mut Tera) {
    tera.register_filter("md", |v: Value, _: Kwargs, _: &State| md_cell(&v));
    tera.register_filter(
        "money",
        |v: Value, kwargs: Kwargs, _: &State| -> TeraResult<String> {
            let currency = kwargs.get::<&str>("currency")?;
            Ok(match (number(&v), currency) {
                (None, _) => "—".to_string(),
                (Some(n), None) => money(n),
                (Some(n), Some(c)) => format!("{} {c}", money(n)),
            })
        },
    );
    tera.register_filter(
        "pct",
        |v: Value, kwargs: Kwargs, _: &State| -> TeraResult<String> {
            let precision = kwargs.get::<usize>("precision")?.unwrap_or(0);
            Ok(match number(&v) {
                None => "—".to_string(),
                Some(n) => format!("{}%", trim_decimals(n * 100.0, precision)),
            })
        },
    );
    tera.register_filter(
        "num",
        |v: Value, kwargs: Kwargs, _: &State| -> TeraResult<String> {
            let precision = kwargs.get::<usize>("precision")?.unwrap_or(1);
            Ok(match number(&v) {
                None => "—".to_string(),
                Some(n) => trim_decimals(n, precision),
            })
        },
    );
    tera.register_filter(
        "maxof",
        |list: &[Value], kwargs: Kwargs, _: &State| -> TeraResult<f64> {
            let attribute = kwargs.get::<&str>("attribute")?;
            Ok(list
                .iter()
                .filter_map(|item| match attribute {
                    Some(path) => item.get_from_path(path).and_then(number),
                    None => number(item),
                })
                .filter(|n| n.is_finite())
                .fold(0.0, f64::max))
        },
    );
    tera.register_filter("minof", |list: &[Value], _: Kwargs, _: &State| -> f64 {
        list.iter()
            .filter_map(number)
            .filter(|n| n.is_finite())
            .reduce(f64::min)
            .unwrap_or(0.0)
    });
    tera.register_filter("nice", |v: f64, _: Kwargs, _: &State| nice(v));
    tera.register_filter("code", |v: &str, _: Kwargs, _: &State| {
        Value::safe_string(&code_spans(v))
    });
}

/// HTML for a message written for the terminal: every character escaped, then each
/// `` `span` `` (a field, a stage, a command) shown as `<code>span</code>` instead of raw
/// Markdown; an unpaired backtick stays as it is.
fn code_spans(text: &str) -> String {
    let mut escaped = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = tera::escape_html(text, &mut escaped);
    let escaped = String::from_utf8_lossy(&escaped);
    let parts: Vec<&str> = escaped.split('`').collect();
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        let is_code = i % 2 == 1 && i + 1 < parts.len();
        match (is_code, i) {
            (true, _) => {
                out.push_str("<code>");
                out.push_str(part);
                out.push_str("</code>");
            }
            (false, 0) => out.push_str(part),
            // The text after a closing backtick, or after an unpaired one.
            (false, _) if i % 2 == 0 => out.push_str(part),
            (false, _) => {
                out.push('`');
                out.push_str(part);
            }
        }
    }
    out
}

/// A round axis maximum for four gridlines at least `v`: four steps of 1, 2, 3, 4, 5, 6 or
/// 8 × 10ⁿ, a step never below 1 (counts and amounts are whole), so every gridline is a
/// round whole number: 16,523 → 20,000 (5k steps), 23,850 → 24,000 (6k steps), 1 or 0 →
/// 4 (0, 1, 2, 3, 4).
fn nice(v: f64) -> f64 {
    let step = if !v.is_finite() || v <= 4.0 {
        1.0
    } else {
        let quarter = v / 4.0;
        let magnitude = 10f64.powf(quarter.log10().floor());
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|n| *n >= quarter * (1.0 - 1e-9))
            .unwrap_or(10.0 * magnitude)
    };
    4.0 * step
}

/// The number in a value, if it is one.
fn number(v: &Value) -> Option<f64> {
    if v.is_number() {
        v.as_f64()
    } else {
        None
    }
}

/// Escapes a value for a Markdown (GFM) table cell: table-breaking and formatting
/// characters are backslash-escaped, line breaks become spaces, `null` becomes `—`.
pub fn md_cell(v: &Value) -> String {
    let text = if v.is_none() || v.is_undefined() {
        return "—".to_string();
    } else if let Some(s) = v.as_str() {
        s.to_string()
    } else {
        v.to_string()
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push(' ');
                }
            }
            '\n' => out.push(' '),
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '\\' | '#' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `1234567.5` → `1,234,567.50`; `1234` → `1,234`; negative numbers keep their sign. Every
/// finite number is written out in full (amounts are bounded when read, so sums stay far
/// from overflow); a number that is not finite is `—`, never a made-up figure.
pub fn money(n: f64) -> String {
    if !n.is_finite() {
        return "—".to_string();
    }
    let fixed = format!("{:.2}", n.abs());
    let (units, cents) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let grouped = crate::model::reader::group_digits(units);
    let sign = if n < 0.0 && fixed != "0.00" { "-" } else { "" };
    if cents == "00" {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{cents}")
    }
}

/// `n` with at most `precision` decimals, trailing zeros (and a trailing dot) removed.
fn trim_decimals(n: f64, precision: usize) -> String {
    let s = format!("{n:.precision$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = "<script>alert(1)</script> | *bold* [x](y)";

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/fixtures/report-context.json")).unwrap()
    }

    /// The fixture with every list emptied and every optional number null.
    fn empty_fixture() -> serde_json::Value {
        fn empty(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Array(items) => items.clear(),
                serde_json::Value::Object(map) => map.values_mut().for_each(empty),
                _ => {}
            }
        }
        let mut ctx = fixture();
        empty(&mut ctx);
        ctx["mrr"]["target"] = serde_json::Value::Null;
        ctx["mrr"]["target_by_member"] = serde_json::json!({});
        ctx["forecast"]["overdue"]["count"] = 0.into();
        for period in ["quarter", "90d", "all"] {
            ctx["win_loss"][period]["win_rate"] = serde_json::Value::Null;
            ctx["analytics"]["touchpoints_per_won"][period] = serde_json::Value::Null;
        }
        ctx
    }

    fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn dashboard_renders_the_fixture() {
        let html = render("dashboard.html", &fixture(), None).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
        for heading in [
            "Pipeline by stage",
            "MRR over time",
            "Forecast by month",
            "Sales floor",
        ] {
            assert!(html.contains(heading), "missing heading {heading}");
        }
        assert!(html.contains("<svg"));
        // offline: nothing is fetched from anywhere
        for external in ["http://", "https://", "src=", "@import", "url("] {
            assert!(
                !html.contains(external),
                "the dashboard references `{external}`"
            );
        }
    }

    #[test]
    fn dashboard_escapes_record_values() {
        let html = render("dashboard.html", &fixture(), None).unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"));
        assert!(!html.contains("<script>alert"));
        assert!(
            !html.contains("<script"),
            "the dashboard needs no script at all"
        );
    }

    #[test]
    fn dashboard_escapes_values_drawn_in_svg() {
        let mut ctx = fixture();
        ctx["lost_reasons"]["quarter"][0]["reason"] = EVIL.into();
        ctx["pipeline"]["by_stage"][0]["stage"] = EVIL.into();
        ctx["weekly_pipeline"][0]["week"] = EVIL.into();
        let html = render("dashboard.html", &ctx, None).unwrap();
        let svgs: Vec<&str> = html
            .split("<svg")
            .skip(1)
            .filter_map(|s| s.split("</svg>").next())
            .collect();
        assert!(svgs.len() >= 5, "{} charts", svgs.len());
        let shown = svgs
            .iter()
            .filter(|svg| svg.contains(">&lt;script&gt;alert("));
        assert_eq!(shown.count(), 3, "each chart shows the value escaped");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn weekly_renders_the_fixture() {
        let md = render("weekly.md", &fixture(), None).unwrap();
        assert!(md.starts_with("# Weekly pipeline report"), "{md}");
        assert!(md.contains("Kestrel Analytics"));
        assert!(md.contains("| identified |"), "{md}");
        assert!(md.contains("12,000 EUR"), "{md}");
    }

    #[test]
    fn weekly_escapes_record_values_in_table_cells() {
        let md = render("weekly.md", &fixture(), None).unwrap();
        let escaped = md_cell(&Value::from(EVIL));
        assert_eq!(
            escaped,
            r"\<script\>alert(1)\</script\> \| \*bold\* \[x\](y)"
        );
        assert!(md.contains(&escaped), "{md}");
        assert!(!md.contains("<script>"));
        // Every table row has as many unescaped pipes as its header.
        let mut columns = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let pipes = unescaped_pipes(line);
            match columns {
                None => columns = Some(pipes),
                Some(n) => assert_eq!(pipes, n, "row breaks its table: {line}"),
            }
        }
    }

    /// Every text in the context hostile (names, ids, stages, owners, dates, the currency…):
    /// nothing reaches the Markdown unescaped and no table row gains a column. The currency
    /// used to be printed raw after each amount.
    #[test]
    fn weekly_escapes_every_text_of_the_context() {
        fn poison(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => *s = EVIL.into(),
                serde_json::Value::Array(items) => items.iter_mut().for_each(poison),
                serde_json::Value::Object(map) => map.values_mut().for_each(poison),
                _ => {}
            }
        }
        let mut ctx = fixture();
        poison(&mut ctx);
        assert_eq!(ctx["currency"], EVIL);
        // `period` names which entry of the figures by period the template shows: a key of
        // the context, not a text from the records.
        ctx["period"] = "quarter".into();
        let md = render("weekly.md", &ctx, None).unwrap();
        let raw_angle = md.match_indices('<').any(|(i, _)| !md[..i].ends_with('\\'));
        assert!(!raw_angle, "an unescaped `<`:\n{md}");
        let escaped = md_cell(&Value::from(EVIL));
        assert!(md.contains(&format!("12,000 {escaped}")), "{md}");
        let mut columns = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let pipes = unescaped_pipes(line);
            match columns {
                None => columns = Some(pipes),
                Some(n) => assert_eq!(pipes, n, "row breaks its table: {line}"),
            }
        }
    }

    fn unescaped_pipes(line: &str) -> usize {
        let mut count = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => escaped = true,
                '|' if !escaped => count += 1,
                _ => escaped = false,
            }
        }
        count
    }

    #[test]
    fn code_spans_escape_then_mark_code() {
        assert_eq!(
            code_spans("`acme` <b> in `target` & a ` left"),
            "<code>acme</code> &lt;b&gt; in <code>target</code> &amp; a ` left"
        );
        assert_eq!(code_spans("`<script>`"), "<code>&lt;script&gt;</code>");
        assert_eq!(code_spans("none"), "none");
    }

    #[test]
    fn md_escapes_newlines_and_null() {
        assert_eq!(md_cell(&Value::from("a\r\nb\nc")), "a b c");
        assert_eq!(md_cell(&Value::none()), "—");
        assert_eq!(md_cell(&Value::from(12)), "12");
    }

    #[test]
    fn money_pct_and_num_format() {
        assert_eq!(money(0.0), "0");
        assert_eq!(money(999.0), "999");
        assert_eq!(money(1234.0), "1,234");
        assert_eq!(money(1234567.5), "1,234,567.50");
        assert_eq!(money(-26350.5), "-26,350.50");
        assert_eq!(money(-0.001), "0");
        assert_eq!(money(0.005), "0.01");
        // Past u128 (where a cast saturates) and past finite: no made-up figure.
        assert!(money(1.797e308).starts_with("179,"));
        assert_eq!(money(1.797e308).len(), 309 + 102);
        assert_eq!(money(f64::INFINITY), "—");
        assert_eq!(money(f64::NAN), "—");
        assert_eq!(trim_decimals(15.26, 1), "15.3");
        assert_eq!(trim_decimals(7.0, 1), "7");
        assert_eq!(nice(16523.0), 20000.0);
        assert_eq!(nice(2100.0), 2400.0);
        assert_eq!(nice(23850.0), 24000.0);
        assert_eq!(nice(1.0), 4.0);
        assert_eq!(nice(0.0), 4.0);
        assert_eq!(nice(7.0), 8.0);
        assert_eq!(nice(13.0), 16.0);
        let ctx = serde_json::json!({"r": 0.4236, "n": null, "m": 12000, "d": 21.0});
        let mut tera = Tera::new();
        register_filters(&mut tera);
        tera.add_raw_template(
            "t.txt",
            "{{ r | pct }} {{ r | pct(precision=1) }} {{ n | pct }} {{ m | money(currency=\"EUR\") }} {{ d | num }} {{ [1, 5.5, 3] | maxof }} {{ [] | maxof }}",
        )
        .unwrap();
        let out = tera
            .render("t.txt", &Context::from_serialize(&ctx).unwrap())
            .unwrap();
        assert_eq!(out, "42% 42.4% — 12,000 EUR 21 5.5 0.0");
    }

    #[test]
    fn empty_lists_render() {
        let ctx = empty_fixture();
        let html = render("dashboard.html", &ctx, None).unwrap();
        for empty_chart in [
            "None yet: no month with MRR.",
            "None yet: no open opportunity.",
            "None yet: no history of the pipeline.",
            "None: no open opportunity has a close date.",
            "None: no opportunity lost in the period.",
        ] {
            assert!(html.contains(empty_chart), "missing {empty_chart}");
        }
        assert!(!html.contains("NaN") && !html.contains("inf"));
        let md = render("weekly.md", &ctx, None).unwrap();
        assert!(md.contains("None"), "{md}");
    }

    #[test]
    fn a_shallow_history_is_said_in_both_built_ins() {
        let mut ctx = fixture();
        ctx["history"]["shallow"] = true.into();
        let html = render("dashboard.html", &ctx, None).unwrap();
        assert!(html.contains("Shallow history"));
        let md = render("weekly.md", &ctx, None).unwrap();
        assert!(md.contains("shallow history"), "{md}");
    }

    #[test]
    fn a_broken_user_template_fails_every_render_naming_itself() {
        // All templates compile together (includes, components), so a broken file is
        // reported whichever template is asked for, rather than skipped silently.
        let dir = user_dir(&[("broken.txt", "ok\n{{ as_of \n")]);
        let err = render("dashboard.html", &fixture(), Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("broken.txt:"), "{err}");
    }

    #[test]
    fn unknown_template_lists_the_available_ones() {
        let dir = user_dir(&[("board.txt", "{{ as_of }}")]);
        let err = render("dashbord.html", &fixture(), Some(dir.path())).unwrap_err();
        assert!(matches!(err, ReportError::UnknownTemplate { .. }));
        assert_eq!(
            err.to_string(),
            "unknown template `dashbord.html`; available: board.txt, dashboard.html, weekly.md"
        );
        assert_eq!(
            available(Some(dir.path())),
            ["board.txt", "dashboard.html", "weekly.md"]
        );
        assert_eq!(available(None), ["dashboard.html", "weekly.md"]);
    }

    #[test]
    fn user_template_overrides_a_built_in_and_adds_new_ones() {
        let dir = user_dir(&[
            (
                "weekly.md",
                "Our week to {{ as_of }}: {{ mrr.total | money }}",
            ),
            (
                "partials/title.html",
                "<h1>{{ this_week.created[2].name }}</h1>",
            ),
            ("mine.html", "{% include \"partials/title.html\" %}"),
        ]);
        let out = render("weekly.md", &fixture(), Some(dir.path())).unwrap();
        assert!(out.starts_with("Our week to 2026-11-26: "), "{out}");
        let html = render("mine.html", &fixture(), Some(dir.path())).unwrap();
        assert!(html.starts_with("<h1>&lt;script&gt;"), "{html}");
        // the other built-in is still there
        render("dashboard.html", &fixture(), Some(dir.path())).unwrap();
    }

    #[test]
    fn a_broken_user_template_names_its_file_and_line() {
        let dir = user_dir(&[("weekly.md", "# Week\n\nfine {{ as_of }}\n{% if %}\n")]);
        let err = render("weekly.md", &fixture(), Some(dir.path())).unwrap_err();
        let ReportError::Template { template, line, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(template.ends_with("weekly.md"), "{template}");
        assert!(template.starts_with(&dir.path().display().to_string()));
        assert_eq!(*line, Some(4), "{err}");
        assert!(err.to_string().contains("weekly.md:4: "), "{err}");
    }

    #[test]
    fn a_rendering_error_names_its_file_and_line() {
        let dir = user_dir(&[("odd.txt", "line one\n{{ mrr.nope }}\n")]);
        let err = render("odd.txt", &fixture(), Some(dir.path())).unwrap_err();
        let ReportError::Template {
            template,
            line,
            message,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(template.ends_with("odd.txt"), "{template}");
        assert_eq!(*line, Some(2), "{err}");
        assert!(message.contains("nope"), "{message}");
    }
}
