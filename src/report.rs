//! Rendering reports with tera: the built-in templates (`templates/dashboard.html`,
//! `templates/weekly.md`, embedded in the binary), the user's templates from the CRM's
//! `templates/` folder (which override built-ins by name), and the filters and chart functions
//! templates use. HTML templates are autoescaped: every value from a record is escaped; chart
//! functions escape their labels themselves.

use std::path::Path;

use tera::{Context, Kwargs, State, Tera, Value};

const BUILT_IN: &[(&str, &str)] = &[
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    ("weekly.md", include_str!("../templates/weekly.md")),
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown template `{name}`: available: {}", .available.join(", "))]
    UnknownTemplate {
        name: String,
        available: Vec<String>,
    },
    #[error("in template {template}: {message}")]
    Template { template: String, message: String },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
}

/// The templates a CRM can render: built-ins and the files of its `templates/` folder.
pub fn available(user_templates: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    for (name, _) in user_files(user_templates).unwrap_or_default() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    names
}

fn user_files(dir: Option<&Path>) -> Result<Vec<(String, String)>, ReportError> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_file() || name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ReportError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        out.push((name, text));
    }
    Ok(out)
}

/// Renders template `name` with the context. User templates override built-ins.
pub fn render(
    name: &str,
    context: &serde_json::Value,
    user_templates: Option<&Path>,
) -> Result<String, ReportError> {
    let user = user_files(user_templates)?;
    let mut tera = Tera::new();
    tera.autoescape_on([".html", ".htm", ".xml", ".svg"]);
    register(&mut tera);
    let source_of = |n: &str| -> String {
        match user.iter().find(|(u, _)| u == n) {
            Some(_) => format!("templates/{n}"),
            None => format!("built-in {n}"),
        }
    };
    let mut found = false;
    for (n, text) in BUILT_IN {
        if !user.iter().any(|(u, _)| u == n) {
            tera.add_raw_template(n, text)
                .map_err(|e| template_error(&source_of(n), &e))?;
            found |= *n == name;
        }
    }
    for (n, text) in &user {
        // Only the requested template (and what it may include) must compile.
        if let Err(e) = tera.add_raw_template(n, text) {
            if n == name {
                return Err(template_error(&source_of(n), &e));
            }
        }
        found |= n == name;
    }
    if !found {
        return Err(ReportError::UnknownTemplate {
            name: name.to_string(),
            available: available(user_templates),
        });
    }
    let ctx = Context::from_serialize(context).map_err(|e| template_error(name, &e))?;
    tera.render(name, &ctx)
        .map_err(|e| template_error(&source_of(name), &e))
}

/// A tera error with its whole chain (tera reports the line and column in its message).
fn template_error(template: &str, e: &tera::Error) -> ReportError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ReportError::Template {
        template: template.to_string(),
        message,
    }
}

fn register(tera: &mut Tera) {
    tera.register_filter("md", |v: Value, _: Kwargs, _: &State| md(&plain(&v)));
    tera.register_filter("money", |v: Value, _: Kwargs, _: &State| {
        money(v.as_f64().unwrap_or(0.0))
    });
    tera.register_filter("pct", |v: Value, _: Kwargs, _: &State| match v.as_f64() {
        Some(x) => format!("{}%", (x * 100.0).round()),
        None => "—".to_string(),
    });
    tera.register_function("bar_chart", |kw: Kwargs, _: &State| -> Value {
        Value::safe_string(&chart(&kw, Chart::Bars))
    });
    tera.register_function("line_chart", |kw: Kwargs, _: &State| -> Value {
        Value::safe_string(&chart(&kw, Chart::Line))
    });
}

/// A value as plain text (strings without quotes).
fn plain(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_none() || v.is_undefined() => String::new(),
        None => v.to_string(),
    }
}

/// Escapes text for a Markdown table cell: no line breaks, no `|`, no markup.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' => {}
            '\n' => out.push(' '),
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '\\' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Money with thousands separators, without decimals unless there are cents.
pub fn money(x: f64) -> String {
    let s = if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let neg = int.starts_with('-');
    let digits: Vec<char> = int.trim_start_matches('-').chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(*c);
    }
    format!("{}{out}{frac}", if neg && out != "0" { "-" } else { "" })
}

#[derive(Clone, Copy, PartialEq)]
enum Chart {
    Bars,
    Line,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// An inline SVG chart: `data` a list of objects, `label` and `value` the keys to plot,
/// `title` an accessible title. Bars are horizontal (labels readable on a phone); a line
/// chart plots the values in order with the first and last labels under it.
fn chart(kw: &Kwargs, kind: Chart) -> String {
    let data: Vec<serde_json::Value> = kw
        .get::<Value>("data")
        .ok()
        .flatten()
        .and_then(|v| serde_json::to_value(&v).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let label_key = kw
        .get::<String>("label")
        .ok()
        .flatten()
        .unwrap_or_else(|| "label".into());
    let value_key = kw
        .get::<String>("value")
        .ok()
        .flatten()
        .unwrap_or_else(|| "value".into());
    let title = xml(&kw.get::<String>("title").ok().flatten().unwrap_or_default());
    let points: Vec<(String, f64)> = data
        .iter()
        .map(|d| {
            let label = match &d[&label_key] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (label, d[&value_key].as_f64().unwrap_or(0.0))
        })
        .collect();
    if points.is_empty() {
        return format!("<p class=\"empty\">{title}: none</p>");
    }
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let scale = |v: f64| if max > 0.0 { v / max } else { 0.0 };
    match kind {
        Chart::Bars => {
            let row = 22.0;
            let height = row * points.len() as f64 + 4.0;
            let mut svg = format!("<svg class=\"chart\" viewBox=\"0 0 600 {height}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>");
            for (i, (label, v)) in points.iter().enumerate() {
                let y = 2.0 + row * i as f64;
                let w = (scale(*v) * 330.0).max(if *v > 0.0 { 1.0 } else { 0.0 });
                svg.push_str(&format!(
                    "<text x=\"160\" y=\"{:.1}\" text-anchor=\"end\" class=\"lbl\">{}</text><rect x=\"168\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"bar\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"val\">{}</text>",
                    y + 15.0,
                    xml(&truncate(label, 24)),
                    row - 6.0,
                    172.0 + w,
                    y + 15.0,
                    xml(&money(*v)),
                ));
            }
            svg.push_str("</svg>");
            svg
        }
        Chart::Line => {
            let (w, h, pad) = (600.0, 180.0, 24.0);
            let n = points.len();
            let step = if n > 1 {
                (w - 2.0 * pad) / (n - 1) as f64
            } else {
                0.0
            };
            let coords: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .map(|(i, (_, v))| (pad + step * i as f64, h - pad - scale(*v) * (h - 2.0 * pad)))
                .collect();
            let path: Vec<String> = coords
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let first = &points[0].0;
            let last = &points[n - 1].0;
            let mut svg = format!("<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>");
            svg.push_str(&format!(
                "<polyline class=\"line\" fill=\"none\" points=\"{}\"/>",
                path.join(" ")
            ));
            svg.push_str(&format!(
                "<text x=\"{pad}\" y=\"{:.1}\" class=\"lbl\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"lbl\">{}</text><text x=\"{pad}\" y=\"14\" class=\"val\">max {}</text>",
                h - 4.0,
                xml(first),
                w - pad,
                h - 4.0,
                xml(last),
                xml(&money(max)),
            ));
            svg.push_str("</svg>");
            svg
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_escapes_table_breaking_characters() {
        assert_eq!(
            md("a|b\nc *d* [e](f) <g>"),
            "a\\|b c \\*d\\* \\[e\\](f) \\<g\\>"
        );
    }

    #[test]
    fn money_formats() {
        assert_eq!(money(1234567.0), "1,234,567");
        assert_eq!(money(950.5), "950.50");
        assert_eq!(money(-1200.0), "-1,200");
    }

    #[test]
    fn charts_escape_labels_and_survive_empty_data() {
        let ctx =
            serde_json::json!({"rows": [{"k": "<script>x</script>", "v": 10}, {"k": "b", "v": 0}]});
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.html"), "{{ bar_chart(data=rows, label=\"k\", value=\"v\", title=\"T<\") }}{{ line_chart(data=[], title=\"empty\") }}").unwrap();
        let out = render("c.html", &ctx, Some(dir.path())).unwrap();
        assert!(out.contains("&lt;script&gt;x&lt;/script&gt;"), "{out}");
        assert!(!out.contains("<script>"));
        assert!(out.contains("empty: none"));
    }

    #[test]
    fn unknown_templates_list_the_available_ones() {
        let err = render("nope.html", &serde_json::json!({}), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown template `nope.html`: available: dashboard.html, weekly.md"
        );
    }

    #[test]
    fn user_templates_override_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("weekly.md"), "mine {{ as_of }}").unwrap();
        let out = render(
            "weekly.md",
            &serde_json::json!({"as_of": "2026-11-26"}),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(out, "mine 2026-11-26");
        std::fs::write(dir.path().join("broken.md"), "line one\n{% for x in %}\n").unwrap();
        let err = render("broken.md", &serde_json::json!({}), Some(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("in template templates/broken.md: "),
            "{text}"
        );
        assert!(text.contains('2'), "the line is named: {text}");
    }
}
