//! Tables for the terminal views (`ls`, `agenda`, `history`, `pipeline`, `forecast`, `tick`)
//! and their CSV.
//!
//! A table is columns and rows of [`Value`]s. On a terminal of known width the table fits
//! it: free text (names, subjects, messages) is cut with an ellipsis, optional columns are
//! hidden (the least useful first, and a line says which), and an id, a date, a stage or a
//! number is never cut nor split over two lines. Anywhere else (a pipe, a file, a terminal
//! of no size) every value is printed whole, in plain aligned columns. Numbers are written
//! one way in text (`1,200`, `20%`) and raw in CSV (`1200`, `20`). Every cell shown on a
//! terminal goes through `escape::terminal`, every CSV cell through `escape::csv_cell`.

use unicode_width::UnicodeWidthStr;

use super::{CliError, Env, Out, TableFormat};
use crate::escape;

pub use crate::report::money;

/// Spaces between two columns.
const GAP: usize = 2;
/// A text column is not cut narrower than this (or its header, or its widest value).
const MIN_TEXT: usize = 12;

/// One value of a table: text, or a number shown one way in text and raw in CSV.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// An amount of money: `12,345.50` in text, `12345.5` in CSV.
    Money(f64),
    /// A count or a whole number: `1,234` in text, `1234` in CSV.
    Count(u64),
    /// A percentage given in percent: `20%` in text, `20` in CSV.
    Percent(f64),
    /// A yes/no: `yes`/`no` in text, `true`/`false` in CSV.
    Bool(bool),
    Empty,
}

impl Value {
    /// How a person reads it.
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Money(x) => money(*x),
            Value::Count(n) => crate::diag::grouped(*n),
            Value::Percent(p) => format!("{}%", raw_number(*p)),
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Value::Empty => String::new(),
        }
    }

    /// How a spreadsheet reads it.
    pub fn raw(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Money(x) | Value::Percent(x) => raw_number(*x),
            Value::Count(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Empty => String::new(),
        }
    }
}

/// `x` as a spreadsheet reads it: no grouping, no trailing zeros (`2000`, `12.5`).
fn raw_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        x.to_string()
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl<T: ToString> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Empty, |v| Value::Text(v.to_string()))
    }
}

/// What a column holds, which decides how it may be fitted to a width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// Ids, dates, stages, emails: shown whole or not at all.
    Token,
    /// Free text: cut with an ellipsis when the terminal is too narrow.
    Text,
    /// Numbers: aligned right, shown whole.
    Number,
}

/// A column: its header (also the CSV header), what it holds, and whether it may be hidden
/// on a narrow terminal.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    holds: Holds,
    /// `Some(rank)`: may be hidden when the terminal is too narrow, lowest rank first.
    hide: Option<u8>,
}

impl Column {
    /// Ids, dates, stages, statuses, emails: never cut.
    pub fn token(name: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            holds: Holds::Token,
            hide: None,
        }
    }

    /// Free text: cut with `…` to fit the terminal.
    pub fn text(name: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            holds: Holds::Text,
            hide: None,
        }
    }

    /// Numbers, aligned right: never cut.
    pub fn number(name: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            holds: Holds::Number,
            hide: None,
        }
    }

    /// The column may be hidden on a terminal too narrow for the table; columns of a lower
    /// rank are hidden first.
    pub fn optional(mut self, rank: u8) -> Self {
        self.hide = Some(rank);
        self
    }
}

/// Columns and rows, printed as a table or CSV.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Self {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row (one value per column).
    pub fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len(), "a row per column");
        self.rows.push(values);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Prints the table as text (fitted to the terminal, when stdout is one of known width)
    /// or as CSV.
    pub fn print(&self, out: &mut Out, env: &Env, format: TableFormat) -> Result<(), CliError> {
        if format == TableFormat::Csv {
            out.data(&self.csv()?)?;
        } else {
            out.print(&self.render(env.width, out.color))?;
        }
        Ok(())
    }

    /// The CSV: a header line naming every column, raw values.
    pub fn csv(&self) -> Result<String, CliError> {
        let header: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        csv_text(&header, self.rows.iter().map(|r| r.iter().map(Value::raw)))
    }

    /// The table as text: aligned columns, fitted to `width` when it is known, the header
    /// in bold when `color`.
    pub fn render(&self, width: Option<usize>, color: bool) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| escape::terminal(&v.text()).into_owned())
                    .collect()
            })
            .collect();
        let natural: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].width())
                    .chain([c.name.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let fit = fit(&self.columns, &natural, width);
        let mut text = String::new();
        let line = |values: Vec<String>, text: &mut String, header: bool| {
            let mut l = String::new();
            for (k, (&i, w)) in fit.shown.iter().zip(&fit.widths).enumerate() {
                if k > 0 {
                    l.push_str(&" ".repeat(GAP));
                }
                let v = cut(&values[i], *w);
                let pad = " ".repeat(w.saturating_sub(v.width()));
                let right = self.columns[i].holds == Holds::Number;
                let v = if header && color {
                    format!("\x1b[1m{v}\x1b[0m")
                } else {
                    v
                };
                if right {
                    l.push_str(&pad);
                    l.push_str(&v);
                } else {
                    l.push_str(&v);
                    l.push_str(&pad);
                }
            }
            text.push_str(l.trim_end());
            text.push('\n');
        };
        line(
            self.columns.iter().map(|c| c.name.clone()).collect(),
            &mut text,
            true,
        );
        for r in cells {
            line(r, &mut text, false);
        }
        if !fit.hidden.is_empty() {
            let names: Vec<&str> = fit
                .hidden
                .iter()
                .map(|&i| self.columns[i].name.as_str())
                .collect();
            let note = format!("(not shown, to fit the terminal: {})", names.join(", "));
            text.push_str(&wrap(&note, width.unwrap_or(usize::MAX)));
        }
        text
    }
}

/// Which columns a table shows, and how wide.
#[derive(Debug, PartialEq)]
struct Fit {
    shown: Vec<usize>,
    widths: Vec<usize>,
    hidden: Vec<usize>,
}

/// Fits columns of `natural` widths into `width`: hides optional columns (lowest rank
/// first) until the columns that cannot be cut fit beside the text columns at their
/// narrowest, then gives the text columns the room left, in proportion to what they would
/// need. Past that, text columns are cut down to their header, and as a last resort hidden
/// (the rightmost first): ids, dates and numbers are never cut. With no width, or room for
/// everything, every column is as wide as its widest value.
fn fit(columns: &[Column], natural: &[usize], width: Option<usize>) -> Fit {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let Some(width) = width else {
        return Fit {
            widths: natural.to_vec(),
            shown,
            hidden: Vec::new(),
        };
    };
    let narrowest = |i: usize| match columns[i].holds {
        Holds::Text => natural[i].min(MIN_TEXT.max(columns[i].name.width())),
        _ => natural[i],
    };
    let need = |shown: &[usize], w: &dyn Fn(usize) -> usize| {
        shown.iter().map(|&i| w(i)).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    let mut hidden = Vec::new();
    while need(&shown, &narrowest) > width {
        let Some(drop) = shown
            .iter()
            .copied()
            .filter(|&i| columns[i].hide.is_some())
            .min_by_key(|&i| (columns[i].hide, std::cmp::Reverse(i)))
        else {
            break;
        };
        shown.retain(|&i| i != drop);
        hidden.push(drop);
    }
    // Text columns cut down to their header; hidden, the rightmost first, when even that is
    // too wide.
    let floor = |i: usize| match columns[i].holds {
        Holds::Text => columns[i].name.width().max(1).min(natural[i]),
        _ => natural[i],
    };
    while need(&shown, &floor) > width {
        let Some(&drop) = shown
            .iter()
            .rev()
            .find(|&&i| columns[i].holds == Holds::Text)
        else {
            break;
        };
        shown.retain(|&i| i != drop);
        hidden.push(drop);
    }
    hidden.sort_unstable();
    let mut widths: Vec<usize> = shown.iter().map(|&i| natural[i]).collect();
    if need(&shown, &|i| natural[i]) > width {
        let fixed: usize = shown
            .iter()
            .filter(|&&i| columns[i].holds != Holds::Text)
            .map(|&i| natural[i])
            .sum::<usize>()
            + GAP * shown.len().saturating_sub(1);
        let texts: Vec<usize> = (0..shown.len())
            .filter(|&k| columns[shown[k]].holds == Holds::Text)
            .collect();
        let least: usize = texts.iter().map(|&k| narrowest(shown[k])).sum();
        if fixed + least > width {
            // Between the header and the narrowest: take from each in turn what is over.
            let mut over = fixed + least - width;
            for &k in &texts {
                let i = shown[k];
                let give = (narrowest(i) - floor(i)).min(over);
                widths[k] = narrowest(i) - give;
                over -= give;
            }
        } else {
            let room = width - fixed;
            let mut extra = room - least;
            let wants: usize = texts
                .iter()
                .map(|&k| natural[shown[k]] - narrowest(shown[k]))
                .sum();
            for (n, &k) in texts.iter().enumerate() {
                let i = shown[k];
                let want = natural[i] - narrowest(i);
                // The last text column takes what rounding left.
                let give = if n + 1 == texts.len() {
                    extra.min(want)
                } else {
                    (want * (room - least))
                        .checked_div(wants)
                        .unwrap_or(0)
                        .min(extra)
                };
                widths[k] = narrowest(i) + give;
                extra -= give;
            }
        }
    }
    Fit {
        shown,
        widths,
        hidden,
    }
}

/// `s` in lines of at most `width` display columns, broken at spaces.
fn wrap(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in s.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `s` cut to `width` display columns, with `…` at the end when cut.
fn cut(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    // Cut between words when a word was cut, so that a date or an id inside a message is
    // shown whole or not at all (a single word longer than the column is cut as it is).
    let next = s[out.len()..].chars().next();
    if next.is_some_and(|c| !c.is_whitespace()) {
        if let Some(space) = out.rfind(' ').filter(|&i| i > 0) {
            out.truncate(space);
        }
    }
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Rows as CSV text with a header line. Every cell goes through `escape::csv_cell`, so a
/// spreadsheet opening the file never runs a formula from a record.
pub fn csv_text<R, S>(
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
) -> Result<String, CliError>
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    write_csv(Some(header), rows)
}

/// CSV rows without a header (what follows `csv_text`'s header, for rows written in
/// batches), each cell escaped as `csv_text` escapes it.
pub fn csv_rows<R, S>(rows: impl IntoIterator<Item = R>) -> Result<String, CliError>
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    write_csv(None, rows)
}

fn write_csv<R, S>(
    header: Option<&[&str]>,
    rows: impl IntoIterator<Item = R>,
) -> Result<String, CliError>
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let err = |e: csv::Error| CliError::io("cannot write CSV", std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(header) = header {
        w.write_record(header).map_err(err)?;
    }
    for r in rows {
        w.write_record(
            r.into_iter()
                .map(|c| escape::csv_cell(c.as_ref()).into_owned()),
        )
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::io("cannot write CSV", e.into_error()))?;
    String::from_utf8(bytes).map_err(|e| CliError::io("cannot write CSV", std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(vec![
            Column::token("id"),
            Column::text("name"),
            Column::token("stage"),
            Column::number("mrr"),
            Column::token("close date").optional(2),
            Column::token("owner").optional(1),
        ]);
        t.row(vec![
            "acme-corp-new".into(),
            "Acme Corporation, the new billing deal for every entity".into(),
            "qualified".into(),
            Value::Money(12000.0),
            "2026-12-31".into(),
            "marc".into(),
        ]);
        t.row(vec![
            "b".into(),
            "Short".into(),
            "won".into(),
            Value::Money(0.5),
            Value::Empty,
            Value::Empty,
        ]);
        t
    }

    fn widths(text: &str) -> Vec<usize> {
        text.lines().map(UnicodeWidthStr::width).collect()
    }

    #[test]
    fn without_a_width_every_value_is_whole_and_aligned() {
        let text = sample().render(None, false);
        assert_eq!(
            text,
            "id             name                                                     stage         mrr  close date  owner
acme-corp-new  Acme Corporation, the new billing deal for every entity  qualified  12,000  2026-12-31  marc
b              Short                                                    won          0.50
"
        );
    }

    #[test]
    fn text_is_cut_before_columns_are_hidden_and_tokens_never_are() {
        let text = sample().render(Some(80), false);
        assert!(widths(&text).iter().all(|&w| w <= 80), "{text}");
        assert!(text.contains("acme-corp-new") && text.contains("2026-12-31"));
        assert!(
            text.contains("Acme Corporation, the new…   qualified"),
            "{text}"
        );
        assert!(!text.contains("too narrow"), "{text}");
    }

    #[test]
    fn optional_columns_are_hidden_lowest_rank_first_and_named() {
        let text = sample().render(Some(60), false);
        assert!(widths(&text).iter().all(|&w| w <= 60), "{text}");
        assert!(
            !text.contains("marc") && text.contains("2026-12-31"),
            "{text}"
        );
        assert!(
            text.ends_with("\n(not shown, to fit the terminal: owner)\n"),
            "{text}"
        );
        let text = sample().render(Some(50), false);
        assert!(widths(&text).iter().all(|&w| w <= 50), "{text}");
        assert!(text.contains("terminal: close date,\nowner)"), "{text}");
        for token in ["acme-corp-new", "qualified", "12,000"] {
            assert!(text.contains(token), "{token}: {text}");
        }
    }

    #[test]
    fn csv_names_every_column_and_writes_raw_numbers() {
        let mut t = Table::new(vec![
            Column::number("mrr"),
            Column::number("probability"),
            Column::number("count"),
            Column::token("done"),
        ]);
        t.row(vec![
            Value::Money(1200.0),
            Value::Percent(20.0),
            Value::Count(1234),
            Value::Bool(true),
        ]);
        assert_eq!(
            t.csv().unwrap(),
            "mrr,probability,count,done\n1200,20,1234,true\n"
        );
        assert_eq!(
            t.render(None, false),
            "  mrr  probability  count  done\n1,200          20%  1,234  yes\n"
        );
    }

    #[test]
    fn cells_are_escaped_and_measured_as_shown() {
        let mut t = Table::new(vec![Column::text("subject"), Column::token("id")]);
        t.row(vec!["bell\u{7}".into(), "x".into()]);
        assert_eq!(t.render(None, false), "subject    id\nbell\\u{7}  x\n");
    }

    #[test]
    fn cut_counts_display_columns() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("won on 2026-06-18 with", 16), "won on…");
        assert_eq!(cut("a 2026-06-18", 8), "a…");
        assert_eq!(cut("Mercator-Distribution", 8), "Mercato…");
        assert_eq!(cut("日本語テキスト", 5), "日本…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
