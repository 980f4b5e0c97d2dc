//! Reading typed fields out of a parsed TOML table, reporting every problem as a diagnostic
//! with its exact position instead of stopping at the first (what serde would do).

use std::borrow::Cow;
use std::ops::Range;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::{one_of, suggest, Code, Diagnostic, LineIndex, Loc};
use crate::model::When;

/// The largest amount of money a field or a target may hold: a million million (per month
/// for `mrr`). No deal comes near it, and sums over any number of records stay finite, so
/// no report prints a figure that overflowed.
pub const MAX_AMOUNT: f64 = 1e12;

pub use crate::diag::{group_digits, grouped};

/// One file being read: its path, its text (for positions) and what was found so far.
pub struct FileReader<'a> {
    pub path: &'a str,
    pub lines: LineIndex<'a>,
    pub diags: Vec<Diagnostic>,
    pub locs: Vec<(&'static str, Loc)>,
}

impl<'a> FileReader<'a> {
    pub fn new(path: &'a str, text: &'a str) -> Self {
        FileReader {
            path,
            lines: LineIndex::new(text),
            diags: Vec::new(),
            locs: Vec::new(),
        }
    }

    /// Parses the text as a TOML document, reporting syntax errors. Returns `None` when the
    /// document is unusable.
    pub fn parse(&mut self, text: &'a str) -> Option<DeTable<'a>> {
        let (doc, errors) = DeTable::parse_recoverable(text);
        if errors.is_empty() {
            return Some(doc.into_inner());
        }
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let loc = self.lines.loc(span.clone());
            let loc = Loc {
                len: loc.len.max(1),
                ..loc
            };
            let message = first_line(e.message());
            self.push(Diagnostic::new(
                Code::Syntax,
                self.path,
                loc,
                format!("invalid TOML: {message}"),
            ));
        }
        None
    }

    pub fn loc(&self, span: Range<usize>) -> Loc {
        self.lines.loc(span)
    }

    /// Adds a diagnostic, attaching the source line.
    pub fn push(&mut self, mut d: Diagnostic) {
        if d.source_line.is_none() && d.line > 0 {
            d.source_line = self.lines.line_text(d.line).map(str::to_string);
        }
        self.diags.push(d);
    }

    pub fn error(&mut self, code: Code, span: Range<usize>, message: impl Into<String>) {
        let loc = self.loc(span);
        self.push(Diagnostic::new(code, self.path, loc, message));
    }

    pub fn error_hint(
        &mut self,
        code: Code,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let loc = self.loc(span);
        self.push(Diagnostic::new(code, self.path, loc, message).with_hint(hint));
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The fields of one table (the document, or a sub-table such as `[bant]`). Fields are named
/// by their full dotted name (`bant.budget`); `finish` reports every key nobody asked for.
pub struct Fields<'t, 'i> {
    table: &'t DeTable<'i>,
    /// `""` for the document, `"bant."` for `[bant]`.
    prefix: &'static str,
    /// What the table is, for messages: "an account", "the [bant] table".
    what: &'static str,
    known: &'static [&'static str],
    /// Keys of the enclosing table, to explain a key written below a `[table]` header.
    parent: &'static [&'static str],
    used: Vec<bool>,
}

impl<'t, 'i> Fields<'t, 'i> {
    /// `known` lists every key of the table, with the prefix (`bant.budget`).
    pub fn new(
        table: &'t DeTable<'i>,
        prefix: &'static str,
        what: &'static str,
        known: &'static [&'static str],
    ) -> Self {
        Fields {
            table,
            prefix,
            what,
            known,
            parent: &[],
            used: vec![false; table.len()],
        }
    }

    /// Declares the keys of the enclosing table: an unknown key that belongs there gets a hint
    /// about TOML's rule that keys after a `[table]` header belong to that table.
    pub fn within(mut self, parent: &'static [&'static str]) -> Self {
        self.parent = parent;
        self
    }

    fn get(&mut self, r: &mut FileReader, name: &'static str) -> Option<&'t Spanned<DeValue<'i>>> {
        debug_assert!(self.known.contains(&name), "{name} not declared");
        let key = name.strip_prefix(self.prefix).unwrap_or(name);
        let (i, (_, value)) = self
            .table
            .iter()
            .enumerate()
            .find(|(_, (k, _))| k.get_ref() == key)?;
        self.used[i] = true;
        r.locs.push((name, r.loc(value.span())));
        Some(value)
    }

    fn wrong_type(r: &mut FileReader, name: &str, v: &Spanned<DeValue>, expected: &str) {
        let found = type_name(v.get_ref());
        let hint = match (v.get_ref(), expected) {
            (DeValue::String(s), e)
                if e.starts_with("a date") && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
            {
                Some(format!("write the date without quotes: `{name} = {s}`"))
            }
            (DeValue::String(s), e) if e.contains("number") || e.contains("integer") => s
                .trim()
                .parse::<f64>()
                .ok()
                .map(|_| format!("write the number without quotes: `{name} = {}`", s.trim())),
            (DeValue::String(s), "a boolean") if matches!(s.as_ref(), "true" | "false") => {
                Some(format!("write `{name} = {s}` without quotes"))
            }
            _ => None,
        };
        let loc = r.loc(v.span());
        r.push(
            Diagnostic::new(
                Code::WrongType,
                r.path,
                loc,
                format!("`{name}` must be {expected}, found {found}"),
            )
            .with_hint_opt(hint),
        );
    }

    /// A string field.
    pub fn str(&mut self, r: &mut FileReader, name: &'static str) -> Option<String> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                Self::wrong_type(r, name, v, "a string");
                None
            }
        }
    }

    /// A string field that must not be blank.
    pub fn text(&mut self, r: &mut FileReader, name: &'static str) -> Option<String> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                r.error(Code::InvalidValue, v.span(), format!("`{name}` is blank"));
                None
            }
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                Self::wrong_type(r, name, v, "a string");
                None
            }
        }
    }

    /// A string field that is required: reports `missing-field` when absent.
    pub fn required_text(&mut self, r: &mut FileReader, name: &'static str) -> Option<String> {
        let present = self.has(name);
        let v = self.text(r, name);
        if !present {
            self.missing(r, name);
        }
        v
    }

    /// Reports a required field as missing.
    pub fn missing(&self, r: &mut FileReader, name: &str) {
        let key = name.strip_prefix(self.prefix).unwrap_or(name);
        // The classic TOML slip: the key is there, but below a `[table]` header.
        let swallowed = self.table.iter().find_map(|(k, v)| match v.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .find(|(tk, _)| tk.get_ref() == key)
                .map(|(tk, _)| (k.get_ref().to_string(), tk.span())),
            _ => None,
        });
        let d = match swallowed {
            Some((table, span)) => {
                let loc = r.loc(span);
                Diagnostic::new(Code::MissingField, r.path, loc, format!("{} needs `{name}`, and this `{key}` belongs to `[{table}]`", self.what))
                    .with_hint(format!("move `{key}` above the `[{table}]` line: in TOML, keys after a table header belong to that table"))
            }
            None => Diagnostic::new(
                Code::MissingField,
                r.path,
                Loc::START,
                format!("{} needs `{name}`", self.what),
            )
            .with_hint(format!("add `{key} = …`")),
        };
        r.push(d);
    }

    /// Whether the key is present (without marking it used).
    pub fn has(&self, name: &str) -> bool {
        let key = name.strip_prefix(self.prefix).unwrap_or(name);
        self.table.contains_key(key)
    }

    /// A string that must be one of `allowed` (when `allowed` is not empty).
    pub fn one_of(
        &mut self,
        r: &mut FileReader,
        name: &'static str,
        allowed: &[impl AsRef<str>],
    ) -> Option<String> {
        let v = self.get(r, name)?;
        let DeValue::String(s) = v.get_ref() else {
            Self::wrong_type(r, name, v, "a string");
            return None;
        };
        if allowed.is_empty() || allowed.iter().any(|a| a.as_ref() == s.as_ref()) {
            return Some(s.to_string());
        }
        let close = suggest(s, allowed.iter().map(|a| a.as_ref()));
        let hint = match close {
            Some(c) => format!("did you mean `{c}`? allowed: {}", one_of(allowed)),
            None => format!("allowed: {}", one_of(allowed)),
        };
        r.error_hint(
            Code::UnknownValue,
            v.span(),
            format!("unknown {name} `{s}`"),
            hint,
        );
        None
    }

    /// A reference to another record or a member: a string that is a valid id.
    pub fn id<T: std::str::FromStr<Err = crate::model::IdError>>(
        &mut self,
        r: &mut FileReader,
        name: &'static str,
    ) -> Option<T> {
        let v = self.get(r, name)?;
        let DeValue::String(s) = v.get_ref() else {
            Self::wrong_type(r, name, v, "a string (an id)");
            return None;
        };
        match s.parse::<T>() {
            Ok(id) => Some(id),
            Err(e) => {
                r.error_hint(
                    Code::InvalidValue,
                    v.span(),
                    format!("`{name}` is not a valid id: {e}"),
                    "ids are file names without `.toml`: lowercase letters, digits and `-`",
                );
                None
            }
        }
    }

    /// A TOML local date (`2026-11-26`).
    pub fn date(&mut self, r: &mut FileReader, name: &'static str) -> Option<NaiveDate> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::Datetime(toml::value::Datetime {
                date: Some(d),
                time: None,
                ..
            }) => match NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()) {
                Some(date) => Some(date),
                None => {
                    r.error(
                        Code::InvalidValue,
                        v.span(),
                        format!("`{name}` is not a real date"),
                    );
                    None
                }
            },
            DeValue::Datetime(_) => {
                let loc = r.loc(v.span());
                r.push(
                    Diagnostic::new(
                        Code::WrongType,
                        r.path,
                        loc,
                        format!("`{name}` must be a date like 2026-11-26, found a date-time"),
                    )
                    .with_hint("keep only the day: `YYYY-MM-DD`"),
                );
                None
            }
            _ => {
                Self::wrong_type(r, name, v, "a date like 2026-11-26");
                None
            }
        }
    }

    /// A date, a local date-time, or an offset date-time.
    pub fn when(&mut self, r: &mut FileReader, name: &'static str) -> Option<When> {
        let v = self.get(r, name)?;
        let DeValue::Datetime(dt) = v.get_ref() else {
            Self::wrong_type(
                r,
                name,
                v,
                "a date (2026-11-26) or a date-time (2026-11-26T10:30:00+01:00)",
            );
            return None;
        };
        let Some(d) = dt.date else {
            Self::wrong_type(
                r,
                name,
                v,
                "a date (2026-11-26) or a date-time (2026-11-26T10:30:00+01:00)",
            );
            return None;
        };
        let Some(date) = NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
        else {
            r.error(
                Code::InvalidValue,
                v.span(),
                format!("`{name}` is not a real date"),
            );
            return None;
        };
        let Some(t) = dt.time else {
            return Some(When::Date(date));
        };
        let time = NaiveTime::from_hms_nano_opt(
            t.hour.into(),
            t.minute.into(),
            t.second.unwrap_or(0).into(),
            t.nanosecond.unwrap_or(0),
        );
        let Some(time) = time else {
            r.error(
                Code::InvalidValue,
                v.span(),
                format!("`{name}` is not a real time"),
            );
            return None;
        };
        let local = NaiveDateTime::new(date, time);
        match dt.offset {
            None => Some(When::Local(local)),
            Some(offset) => {
                let minutes = match offset {
                    toml::value::Offset::Z => 0,
                    toml::value::Offset::Custom { minutes } => i32::from(minutes),
                };
                let fixed = FixedOffset::east_opt(minutes * 60)?;
                let at = local.and_local_timezone(fixed).single()?;
                Some(When::Offset(at))
            }
        }
    }

    /// A non-negative integer.
    pub fn count(&mut self, r: &mut FileReader, name: &'static str) -> Option<u64> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(n) if n >= 0 => Some(n as u64),
                    Ok(_) => {
                        r.error(
                            Code::InvalidValue,
                            v.span(),
                            format!("`{name}` cannot be negative"),
                        );
                        None
                    }
                    Err(_) => {
                        r.error(
                            Code::InvalidValue,
                            v.span(),
                            format!("`{name}` is out of range"),
                        );
                        None
                    }
                }
            }
            _ => {
                Self::wrong_type(r, name, v, "a whole number");
                None
            }
        }
    }

    /// A whole number from 0 to `max` (`unit` follows it in the message: `" days"`). Out of
    /// range is an error with `code` naming the range, and no value: a number past what any
    /// sales team means cannot reach the date arithmetic or the sums.
    pub fn count_up_to(
        &mut self,
        r: &mut FileReader,
        name: &'static str,
        max: u64,
        code: Code,
        unit: &str,
    ) -> Option<u64> {
        let v = self.get(r, name)?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
            }
            _ => {
                Self::wrong_type(r, name, v, "a whole number");
                return None;
            }
        };
        match n {
            Some(n) if n >= 0 && n as u64 <= max => Some(n as u64),
            _ => {
                r.error(
                    code,
                    v.span(),
                    format!("`{name}` must be from 0 to {}{unit}", grouped(max)),
                );
                None
            }
        }
    }

    /// A number ≥ 0 (integer or float), at most [`MAX_AMOUNT`].
    pub fn amount(&mut self, r: &mut FileReader, name: &'static str) -> Option<f64> {
        let v = self.get(r, name)?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => {
                Self::wrong_type(r, name, v, "a number");
                return None;
            }
        };
        match n {
            Some(n) if (0.0..=MAX_AMOUNT).contains(&n) => Some(n),
            _ => {
                r.error(
                    Code::InvalidValue,
                    v.span(),
                    format!(
                        "`{name}` must be a number from 0 to {}",
                        grouped(MAX_AMOUNT as u64)
                    ),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, r: &mut FileReader, name: &'static str) -> Option<bool> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                Self::wrong_type(r, name, v, "a boolean");
                None
            }
        }
    }

    /// An array of strings. A single string is a type error (with a hint).
    pub fn strings(&mut self, r: &mut FileReader, name: &'static str) -> Vec<String> {
        let Some(v) = self.get(r, name) else {
            return Vec::new();
        };
        match v.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => {
                            let loc = r.loc(item.span());
                            r.push(Diagnostic::new(
                                Code::WrongType,
                                r.path,
                                loc,
                                format!("`{name}` must hold strings, found {}", type_name(other)),
                            ));
                        }
                    }
                }
                out
            }
            DeValue::String(s) => {
                let loc = r.loc(v.span());
                r.push(
                    Diagnostic::new(
                        Code::WrongType,
                        r.path,
                        loc,
                        format!("`{name}` must be an array of strings, found a string"),
                    )
                    .with_hint(format!("write `{name} = [\"{s}\"]`")),
                );
                Vec::new()
            }
            _ => {
                Self::wrong_type(r, name, v, "an array of strings");
                Vec::new()
            }
        }
    }

    /// A sub-table (`[bant]`), or `None` (reported when present with another type).
    pub fn table(&mut self, r: &mut FileReader, name: &'static str) -> Option<&'t DeTable<'i>> {
        let v = self.get(r, name)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                Self::wrong_type(r, name, v, "a table");
                None
            }
        }
    }

    /// The `[custom]` table, as plain TOML. Its values are not checked, but a number TOML
    /// cannot hold (an integer beyond 64 bits, a float beyond ±1.8e308) is an error as it is
    /// anywhere else: the editor refuses such a file, so no command could edit the record.
    pub fn custom(&mut self, r: &mut FileReader, name: &'static str) -> crate::model::Custom {
        let t = self.table(r, name)?;
        for (key, value) in t.iter() {
            out_of_range(r, &format!("{name}.{}", key.get_ref()), value);
        }
        Some(Box::new(to_toml_table(t)))
    }

    /// Every key of the table, in order, with its spans (for tables keyed by names, like
    /// `[team]` or `[stages]`). Marks them all used.
    pub fn entries(
        &mut self,
    ) -> impl Iterator<Item = (&'t Spanned<Cow<'i, str>>, &'t Spanned<DeValue<'i>>)> {
        self.used.iter_mut().for_each(|u| *u = true);
        self.table.iter()
    }

    /// Reports every key that was never read as `unknown-key`, with a suggestion.
    pub fn finish(self, r: &mut FileReader) {
        self.finish_with_hint(r, None);
    }

    /// Like `finish`, with an extra hint for unknown keys (e.g. "put custom fields under `[custom]`").
    pub fn finish_with_hint(self, r: &mut FileReader, extra: Option<&str>) {
        for ((key, _), used) in self.table.iter().zip(self.used) {
            if used {
                continue;
            }
            let name = key.get_ref();
            let local: Vec<&str> = self
                .known
                .iter()
                .map(|k| k.strip_prefix(self.prefix).unwrap_or(k))
                .collect();
            let table = self.prefix.trim_end_matches('.');
            let hint = match (suggest(name, local.iter().copied()), extra) {
                _ if self.parent.contains(&name.as_ref()) => Some(format!(
                    "`{name}` belongs above the `[{table}]` line: in TOML, keys after a table header belong to that table"
                )),
                (Some(s), _) => Some(format!("did you mean `{s}`?")),
                (None, Some(extra)) => Some(extra.to_string()),
                (None, None) => None,
            };
            let loc = r.loc(key.span());
            r.push(
                Diagnostic::new(
                    Code::UnknownKey,
                    r.path,
                    loc,
                    format!("unknown key `{}{name}` in {}", self.prefix, self.what),
                )
                .with_hint_opt(hint),
            );
        }
    }
}

/// Reports every number in `value` (recursively) that TOML cannot hold.
fn out_of_range(r: &mut FileReader, name: &str, value: &Spanned<DeValue>) {
    let bad = match value.get_ref() {
        DeValue::Integer(i) => {
            i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).is_err()
        }
        DeValue::Float(f) => {
            let text = f.as_str().replace('_', "");
            // `inf` and `nan` are TOML; `1e400` is a finite literal that overflows.
            !text.contains("inf")
                && !text.contains("nan")
                && !text.parse::<f64>().is_ok_and(f64::is_finite)
        }
        DeValue::Array(items) => {
            for item in items.iter() {
                out_of_range(r, name, item);
            }
            false
        }
        DeValue::Table(t) => {
            for (k, v) in t.iter() {
                out_of_range(r, &format!("{name}.{}", k.get_ref()), v);
            }
            false
        }
        _ => false,
    };
    if bad {
        r.error_hint(
            Code::InvalidValue,
            value.span(),
            format!("`{name}` is out of range: TOML numbers are 64-bit"),
            "write it as a string if it is an identifier (`\"…\"`)",
        );
    }
}

/// The TOML type of a value, for messages.
pub fn type_name(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Converts a parsed table to a plain `toml::Table` (for `[custom]`).
pub fn to_toml_table(t: &DeTable) -> toml::Table {
    t.iter()
        .map(|(k, v)| (k.get_ref().to_string(), to_toml_value(v.get_ref())))
        .collect()
}

fn to_toml_value(v: &DeValue) -> toml::Value {
    match v {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(i.as_str().to_string())),
        // JSON (exports, history) has no NaN or infinity: keep such a value as its text.
        DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
            Ok(x) if x.is_finite() => toml::Value::Float(x),
            _ => toml::Value::String(f.as_str().to_string()),
        },
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(a) => {
            toml::Value::Array(a.iter().map(|x| to_toml_value(x.get_ref())).collect())
        }
        DeValue::Table(t) => toml::Value::Table(to_toml_table(t)),
    }
}
