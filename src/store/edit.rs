//! Format-preserving writes to one record file: every command that changes a record (`tick`,
//! `move`, `set`, `done`, lead conversion) edits its text through [`RecordEdit`], and `new`
//! writes a fresh one with [`render_new`].
//!
//! What people wrote stays as they wrote it:
//!
//! - a document that is not changed comes back byte for byte;
//! - setting an existing field replaces only its value: the spacing around it and a trailing
//!   `# comment` on its line are kept (toml_edit would drop them if the value were simply
//!   assigned, so the old value's decor is copied onto the new one); setting a field to the
//!   value it already has changes nothing, not even the quoting style;
//! - a new top-level field goes after the last top-level key (before the first `[table]`
//!   header), a new `bant.*` / `commit.*` / `custom.*` field at the end of that table, which is
//!   created at the end of the document when missing; inline tables (`bant = { … }`) and
//!   dotted keys (`bant.budget = …`) are edited where they are;
//! - removing a field removes its line with its trailing comment; comment and blank lines above
//!   it stay, now above whatever follows;
//! - CRLF files stay CRLF and a byte order mark stays (toml_edit writes `\n` only).
//!
//! Field names are dotted paths of one or two keys: `status`, `bant.budget`, `custom.region`.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use toml_edit::{Array, DocumentMut, InlineTable, Item, KeyMut, RawString, Table, Value};

/// A value to write into a record, in the TOML types records use.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A string, written as a TOML string (`"…"`, or `'…'` when that avoids escapes).
    Str(String),
    /// A date, written as a TOML local date: `2026-11-26`, unquoted.
    Date(NaiveDate),
    /// An integer.
    Int(i64),
    /// A float (`mrr = 1200.5`).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An array of strings (`tools`, `tags`).
    Strings(Vec<String>),
    /// An activity's date with its time: a TOML offset date-time (`2026-12-01T10:00:00+01:00`)
    /// or, for a floating time, a local date-time; a `When::Date` is a local date.
    When(crate::model::When),
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Str(s.to_string())
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Str(s)
    }
}

impl From<NaiveDate> for FieldValue {
    fn from(d: NaiveDate) -> Self {
        FieldValue::Date(d)
    }
}

impl From<i64> for FieldValue {
    fn from(i: i64) -> Self {
        FieldValue::Int(i)
    }
}

impl From<f64> for FieldValue {
    fn from(f: f64) -> Self {
        FieldValue::Float(f)
    }
}

impl From<bool> for FieldValue {
    fn from(b: bool) -> Self {
        FieldValue::Bool(b)
    }
}

impl From<Vec<String>> for FieldValue {
    fn from(v: Vec<String>) -> Self {
        FieldValue::Strings(v)
    }
}

impl FieldValue {
    /// The TOML value, with default formatting. `crlf`: the document's lines end in CRLF,
    /// so strings are written on one line (see `string_value`).
    fn to_toml(&self, field: &str, crlf: bool) -> Result<Value, EditError> {
        Ok(match self {
            FieldValue::Str(s) => string_value(s, crlf),
            FieldValue::Date(d) => {
                let year = u16::try_from(d.year())
                    .ok()
                    .filter(|y| *y <= 9999)
                    .ok_or_else(|| EditError::Unrepresentable {
                        field: field.to_string(),
                        reason: format!("the year of {d} is outside 0000–9999"),
                    })?;
                Value::from(toml_edit::Datetime {
                    date: Some(toml_edit::Date {
                        year,
                        // chrono guarantees 1..=12 and 1..=31.
                        month: d.month() as u8,
                        day: d.day() as u8,
                    }),
                    time: None,
                    offset: None,
                })
            }
            FieldValue::Int(i) => Value::from(*i),
            FieldValue::Float(f) => Value::from(*f),
            FieldValue::Bool(b) => Value::from(*b),
            FieldValue::Strings(v) => {
                Value::Array(v.iter().map(|s| string_value(s, crlf)).collect())
            }
            FieldValue::When(w) => {
                use crate::model::When;
                let text = match w {
                    When::Date(d) => return FieldValue::Date(*d).to_toml(field, crlf),
                    When::Local(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    When::Offset(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                };
                let unrepresentable = || EditError::Unrepresentable {
                    field: field.to_string(),
                    reason: format!("{text} is not a TOML date-time of the years 0000–9999"),
                };
                if !(0..=9999).contains(&w.date().year()) {
                    return Err(unrepresentable());
                }
                Value::from(
                    text.parse::<toml_edit::Datetime>()
                        .map_err(|_| unrepresentable())?,
                )
            }
        })
    }

    /// The typed value of a TOML value, when it has one of the record types.
    fn from_toml(v: &Value) -> Option<Self> {
        Some(match v {
            Value::String(s) => FieldValue::Str(s.value().clone()),
            Value::Integer(i) => FieldValue::Int(*i.value()),
            Value::Float(f) => FieldValue::Float(*f.value()),
            Value::Boolean(b) => FieldValue::Bool(*b.value()),
            Value::Datetime(dt) => FieldValue::Date(local_date(dt.value())?),
            Value::Array(a) => FieldValue::Strings(
                a.iter()
                    .map(|e| e.as_str().map(str::to_string))
                    .collect::<Option<_>>()?,
            ),
            Value::InlineTable(_) => return None,
        })
    }
}

/// A TOML string as toml_edit writes it (`"…"`, `'…'` to avoid escapes, `"""…"""` over several
/// lines), except that a one-line string stays on one line: toml_edit would write
/// `it's "quoted"` as a multi-line string, which reads as a mistake in a record.
///
/// With `one_line`, a string with line breaks is written on one line too (`"a\nb"`): in a
/// CRLF file the breaks of a multi-line string would become CRLF with the rest of the
/// document, and read back as `"a\r\nb"`.
fn string_value(s: &str, one_line: bool) -> Value {
    let value = Value::from(s);
    let multi_line = match &value {
        Value::String(f) => {
            let repr = f.display_repr();
            repr.starts_with("\"\"\"") || repr.starts_with("'''")
        }
        _ => false,
    };
    if (s.contains('\n') && !one_line) || !multi_line {
        return value;
    }
    let mut basic = String::with_capacity(s.len() + 8);
    basic.push('"');
    for c in s.chars() {
        match c {
            '"' => basic.push_str("\\\""),
            '\\' => basic.push_str("\\\\"),
            '\t' => basic.push_str("\\t"),
            '\n' => basic.push_str("\\n"),
            '\r' => basic.push_str("\\r"),
            c if c.is_control() => basic.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => basic.push(c),
        }
    }
    basic.push('"');
    basic.parse().unwrap_or(value)
}

/// A TOML local date (no time, no offset) as a chrono date.
fn local_date(dt: &toml_edit::Datetime) -> Option<NaiveDate> {
    match dt {
        toml_edit::Datetime {
            date: Some(d),
            time: None,
            offset: None,
        } => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()),
        _ => None,
    }
}

/// Why a record could not be edited.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The file is not valid TOML. `line` and `column` are 1-based (column in characters).
    #[error("line {line}, column {column}: {message}")]
    Parse {
        /// What toml_edit says is wrong.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// The field's parent exists but is not a table (`bant = "yes"` and `bant.need` is set).
    #[error("`{field}` is not a table")]
    NotATable {
        /// The field name as given.
        field: String,
    },
    /// The field is a table, not a value (`set("bant", …)` on a file with `[bant]`).
    #[error("`{field}` is a table, not a value")]
    NotAValue {
        /// The field name as given.
        field: String,
    },
    /// The field name is not one or two dot-separated keys.
    #[error("`{field}` is not a field name (expected `key` or `table.key`)")]
    InvalidField {
        /// The field name as given.
        field: String,
    },
    /// The value cannot be written as TOML.
    #[error("`{field}` cannot be written: {reason}")]
    Unrepresentable {
        /// The field name as given.
        field: String,
        /// Why the value has no TOML form.
        reason: String,
    },
}

/// A field name split into its table (for `bant.budget`) and key.
#[derive(Debug, Clone, Copy)]
struct FieldPath<'a> {
    table: Option<&'a str>,
    key: &'a str,
}

impl<'a> FieldPath<'a> {
    fn parse(field: &'a str) -> Result<Self, EditError> {
        let invalid = || EditError::InvalidField {
            field: field.to_string(),
        };
        let mut parts = field.split('.');
        let (first, second) = (parts.next().ok_or_else(invalid)?, parts.next());
        if parts.next().is_some() || first.is_empty() || second.is_some_and(str::is_empty) {
            return Err(invalid());
        }
        Ok(match second {
            Some(key) => FieldPath {
                table: Some(first),
                key,
            },
            None => FieldPath {
                table: None,
                key: first,
            },
        })
    }
}

/// A record file being edited. Parse it, [`set`](Self::set) and [`remove`](Self::remove)
/// fields, then write [`finish`](Self::finish) (or `to_string()`) back.
#[derive(Debug, Clone)]
pub struct RecordEdit {
    doc: DocumentMut,
    original: String,
    /// Set by the first edit that changes the text; until then the original is written back.
    changed: bool,
}

impl RecordEdit {
    /// Parses a record file's text.
    pub fn parse(text: &str) -> Result<Self, EditError> {
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let at = e.span().map_or(0, |s| s.start).min(text.len());
            let before = text.get(..at).unwrap_or(text);
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            EditError::Parse {
                message: e.message().to_string(),
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            }
        })?;
        Ok(RecordEdit {
            doc,
            original: text.to_string(),
            changed: false,
        })
    }

    /// Whether an edit changed the text.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Whether the original's lines end in CRLF (its first line decides, as git's does).
    fn is_crlf(&self) -> bool {
        self.original
            .find('\n')
            .is_some_and(|i| self.original[..i].ends_with('\r'))
    }

    /// Sets a field (`status`, `bant.budget`…), keeping the formatting around it; returns
    /// whether the text changed (setting the value a field already has changes nothing).
    ///
    /// An existing value is replaced in place with its spacing and trailing comment (and a
    /// multi-line array stays multi-line). A new top-level field goes after the last top-level
    /// key; a new `table.key` at the end of that table, which is created at the end of the
    /// document if missing.
    pub fn set(&mut self, field: &str, value: impl Into<FieldValue>) -> Result<bool, EditError> {
        let path = FieldPath::parse(field)?;
        let value = value.into();
        let new = value.to_toml(field, self.is_crlf())?;
        let changed = match path.table {
            None => set_in_table(self.doc.as_table_mut(), field, path.key, &value, new)?,
            Some(name) => {
                let root = self.doc.as_table_mut();
                if !root.contains_key(name) {
                    let mut table = Table::new();
                    table.set_position(Some(max_position(root).map_or(0, |p| p + 1)));
                    root.insert(name, Item::Table(table));
                }
                match root.get_mut(name) {
                    Some(Item::Table(table)) => set_in_table(table, field, path.key, &value, new)?,
                    Some(Item::Value(Value::InlineTable(table))) => {
                        set_in_inline(table, path.key, &value, new)
                    }
                    _ => {
                        return Err(EditError::NotATable {
                            field: name.to_string(),
                        })
                    }
                }
            }
        };
        self.changed |= changed;
        Ok(changed)
    }

    /// Removes a field's line (with its trailing comment) and returns whether it was there.
    /// Comment and blank lines above it are kept: they stay above whatever follows.
    ///
    /// Removing the last field of a `[bant]`, `[commit]` or `[custom]` table keeps the empty
    /// table header: it may carry comments, an empty table reads the same as an absent one, and
    /// setting a field of that table again puts it back under the same header.
    pub fn remove(&mut self, field: &str) -> bool {
        let Ok(path) = FieldPath::parse(field) else {
            return false;
        };
        let root = self.doc.as_table_mut();
        // The comment and blank lines above the removed key, and whether they found a place.
        let (carried, placed, std_table) = match path.table {
            None => {
                let Some((index, carried)) = remove_from_table(root, path.key) else {
                    return false;
                };
                let placed = carry_to_key(root, index, &carried);
                (carried, placed, None)
            }
            Some(name) => {
                let at = root.iter().position(|(k, _)| k == name).unwrap_or(0);
                match root.get_mut(name) {
                    Some(Item::Table(table)) => {
                        let dotted = table.is_dotted();
                        let Some((index, carried)) = remove_from_table(table, path.key) else {
                            return false;
                        };
                        let mut placed = carry_to_key(table, index, &carried);
                        if dotted && !placed {
                            // `bant.budget = …` lines are printed among the root's keys.
                            placed = carry_to_key(root, at + 1, &carried);
                        }
                        (carried, placed, (!dotted).then_some(name))
                    }
                    Some(Item::Value(Value::InlineTable(table))) => {
                        if !remove_from_inline(table, path.key) {
                            return false;
                        }
                        (String::new(), true, None)
                    }
                    _ => return false,
                }
            }
        };
        self.changed = true;
        if !placed {
            self.carry_to_header(std_table, &carried);
        }
        true
    }

    /// The typed value of a field, when it has one of the [`FieldValue`] types.
    pub fn get(&self, field: &str) -> Option<FieldValue> {
        self.value(field).and_then(FieldValue::from_toml)
    }

    /// The value of a string field.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.value(field).and_then(Value::as_str)
    }

    /// Whether the field is present (with any value).
    pub fn contains(&self, field: &str) -> bool {
        self.value(field).is_some()
    }

    /// The edited text (the same as `to_string()`).
    pub fn finish(self) -> String {
        if self.changed {
            self.to_string()
        } else {
            self.original
        }
    }

    fn value(&self, field: &str) -> Option<&Value> {
        let path = FieldPath::parse(field).ok()?;
        let root = self.doc.as_table();
        match path.table {
            None => root.get(path.key)?.as_value(),
            Some(name) => match root.get(name)? {
                Item::Table(t) => t.get(path.key)?.as_value(),
                Item::Value(Value::InlineTable(t)) => t.get(path.key),
                _ => None,
            },
        }
    }

    /// Prepends `carried` to what is printed after the table `table` (the root when `None`)
    /// ends: the next table header, or the end of the document.
    fn carry_to_header(&mut self, table: Option<&str>, carried: &str) {
        let root = self.doc.as_table();
        let after = match table.and_then(|t| root.get(t)).and_then(Item::as_table) {
            Some(t) if !t.is_dotted() => t.position(),
            _ => None,
        };
        let mut headers = Vec::new();
        header_positions(root, &mut headers);
        let next = headers
            .iter()
            .copied()
            .filter(|p| after.is_none_or(|a| *p > a))
            .min();
        let first_printed = root.get_values().is_empty() && headers.iter().min() == next.as_ref();
        match next.and_then(|p| table_at_mut(self.doc.as_table_mut(), p)) {
            Some(t) => {
                let default = if first_printed { "" } else { "\n" };
                let prefix = raw(t.decor().prefix(), default);
                t.decor_mut().set_prefix(join_lines(carried, &prefix));
            }
            None => {
                let trailing = raw(Some(self.doc.trailing()), "");
                self.doc.set_trailing(join_lines(carried, &trailing));
            }
        }
    }
}

impl fmt::Display for RecordEdit {
    /// The edited text: the original when nothing changed, else toml_edit's output with the
    /// original's byte order mark and CRLF line endings restored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.changed {
            return f.write_str(&self.original);
        }
        if self.original.starts_with('\u{feff}') {
            f.write_str("\u{feff}")?;
        }
        let out = self.doc.to_string();
        if !self.is_crlf() {
            return f.write_str(&out);
        }
        let mut crlf = String::with_capacity(out.len() + out.len() / 16);
        let mut prev = '\0';
        for c in out.chars() {
            if c == '\n' && prev != '\r' {
                crlf.push('\r');
            }
            crlf.push(c);
            prev = c;
        }
        // A CRLF file may still hold an LF inside a multi-line string, which the conversion
        // would turn into CRLF, changing a value nobody edited: such a file keeps toml_edit's
        // line endings.
        let mixed = self.original.matches('\n').count() != self.original.matches("\r\n").count();
        if mixed
            && toml::from_str::<toml::Table>(&crlf).ok() != toml::from_str::<toml::Table>(&out).ok()
        {
            return f.write_str(&out);
        }
        f.write_str(&crlf)
    }
}

/// A brand-new record file in the canonical layout: the top-level fields in the given order,
/// then the `[bant]`, `[commit]` and `[custom]` tables (then any other table, in order of
/// first appearance) with their fields in the given order, one blank line between sections and
/// a trailing newline. A field given twice keeps its first position and its last value.
pub fn render_new(fields: &[(&str, FieldValue)]) -> Result<String, EditError> {
    let mut ordered = Vec::with_capacity(fields.len());
    let mut tables: Vec<&str> = Vec::new();
    for (field, value) in fields {
        let path = FieldPath::parse(field)?;
        if let Some(t) = path.table {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
        ordered.push((path.table, *field, value));
    }
    let rank = |t: &str| {
        ["bant", "commit", "custom"]
            .iter()
            .position(|c| *c == t)
            .unwrap_or_else(|| 3 + tables.iter().position(|x| *x == t).unwrap_or(0))
    };
    // Stable: keeps the given order within the top level and within each table.
    ordered.sort_by_key(|(table, _, _)| table.map_or(0, |t| 1 + rank(t)));
    let mut edit = RecordEdit::parse("")?;
    for (_, field, value) in ordered {
        edit.set(field, value.clone())?;
    }
    Ok(edit.finish())
}

/// Sets `key` in a standard, dotted or root table.
fn set_in_table(
    table: &mut Table,
    field: &str,
    key: &str,
    value: &FieldValue,
    mut new: Value,
) -> Result<bool, EditError> {
    match table.get_mut(key) {
        Some(Item::Value(old)) if !old.is_inline_table() => Ok(replace(old, value, new)),
        Some(Item::None) | None => {
            let indent = table
                .iter()
                .filter(|(_, item)| item.is_value())
                .last()
                .and_then(|(k, _)| table.key(k))
                .map(|k| indentation(&raw(k.leaf_decor().prefix(), "")).to_string())
                .unwrap_or_default();
            new.decor_mut().clear();
            table.insert(key, Item::Value(new));
            if let Some(mut k) = table.key_mut(key) {
                k.leaf_decor_mut().set_prefix(indent);
            }
            Ok(true)
        }
        Some(_) => Err(EditError::NotAValue {
            field: field.to_string(),
        }),
    }
}

/// Sets `key` in an inline table (`bant = { budget = "…" }`).
fn set_in_inline(table: &mut InlineTable, key: &str, value: &FieldValue, mut new: Value) -> bool {
    if let Some(old) = table.get_mut(key) {
        return replace(old, value, new);
    }
    if table.is_empty() {
        table.set_trailing("");
    }
    // The space before `}` is the last value's suffix: hand it on to the new last value.
    if let Some((_, last)) = table.iter_mut().last() {
        if let Some(suffix) = last.decor().suffix().cloned() {
            last.decor_mut().set_suffix("");
            new.decor_mut().set_suffix(suffix);
        }
    }
    table.insert(key, new);
    true
}

/// Replaces `old` by `new` unless it already holds `value`, keeping `old`'s decor (spacing and
/// trailing comment) and, for arrays, its one-element-per-line layout.
fn replace(old: &mut Value, value: &FieldValue, mut new: Value) -> bool {
    if FieldValue::from_toml(old).as_ref() == Some(value) {
        return false;
    }
    *new.decor_mut() = old.decor().clone();
    if let (Value::Array(old), Value::Array(new)) = (&*old, &mut new) {
        shape_like(new, old);
    }
    *old = new;
    true
}

/// Lays `new` out one element per line when `old` was.
fn shape_like(new: &mut Array, old: &Array) {
    let prefixes: Vec<String> = old.iter().map(|v| raw(v.decor().prefix(), "")).collect();
    let Some(first) = prefixes.iter().find(|p| p.contains('\n')) else {
        return;
    };
    let indent = format!("\n{}", indentation(first));
    for v in new.iter_mut() {
        v.decor_mut().set_prefix(indent.as_str());
        v.decor_mut().set_suffix("");
    }
    new.set_trailing_comma(old.trailing_comma());
    new.set_trailing(old.trailing().clone());
}

/// Removes a value from a table; returns its index and the whole lines of its key's prefix
/// (comments and blank lines above it), which the caller moves to what follows.
fn remove_from_table(table: &mut Table, key: &str) -> Option<(usize, String)> {
    let index = table.iter().position(|(k, _)| k == key)?;
    if !table.get(key)?.is_value() {
        return None;
    }
    let (removed, _) = table.remove_entry(key)?;
    let prefix = raw(removed.leaf_decor().prefix(), "");
    let lines = prefix.rfind('\n').map_or("", |i| &prefix[..=i]).to_string();
    Some((index, lines))
}

/// Removes a value from an inline table, keeping the spacing before `}`.
fn remove_from_inline(table: &mut InlineTable, key: &str) -> bool {
    let Some(index) = table.iter().position(|(k, _)| k == key) else {
        return false;
    };
    let was_last = index + 1 == table.len();
    let Some(removed) = table.remove(key) else {
        return false;
    };
    if table.is_empty() {
        table.set_trailing("");
    } else if was_last {
        if let Some((_, last)) = table.iter_mut().last() {
            let suffix = removed
                .decor()
                .suffix()
                .cloned()
                .unwrap_or_else(|| RawString::from(" "));
            last.decor_mut().set_suffix(suffix);
        }
    }
    true
}

/// Prepends `carried` to the first key-value line printed from item `from` of `table` on;
/// returns whether there was one (nothing to carry counts as placed).
fn carry_to_key(table: &mut Table, from: usize, carried: &str) -> bool {
    if carried.is_empty() {
        return true;
    }
    match first_key_from(table, from) {
        Some(mut key) => {
            let prefix = raw(key.leaf_decor().prefix(), "");
            key.leaf_decor_mut()
                .set_prefix(join_lines(carried, &prefix));
            true
        }
        None => false,
    }
}

/// The key of the first key-value line printed from item `from` of `table` on.
fn first_key_from(table: &mut Table, from: usize) -> Option<KeyMut<'_>> {
    for (key, item) in table.iter_mut().skip(from) {
        match item {
            Item::Value(_) => return Some(key),
            Item::Table(t) if t.is_dotted() => {
                if let Some(k) = first_key_from(t, 0) {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whole lines of `carried` followed by `next`, with a blank line where both meet counted once.
fn join_lines(carried: &str, next: &str) -> String {
    let body = carried.strip_suffix('\n').unwrap_or(carried);
    let last_line_start = body.rfind('\n').map_or(0, |i| i + 1);
    let carried_ends_blank = carried.ends_with('\n') && body[last_line_start..].trim().is_empty();
    let next_starts_blank = next
        .split_once('\n')
        .is_some_and(|(first, _)| first.trim().is_empty());
    if carried_ends_blank && next_starts_blank {
        format!("{}{next}", &carried[..last_line_start])
    } else {
        format!("{carried}{next}")
    }
}

/// The whitespace a line starts with, from a key's prefix (comments and blank lines above it,
/// then the indentation).
fn indentation(prefix: &str) -> &str {
    let tail = prefix.rfind('\n').map_or(prefix, |i| &prefix[i + 1..]);
    if tail.trim().is_empty() {
        tail
    } else {
        ""
    }
}

/// A decor string (after parsing, decor is always explicit text).
fn raw(r: Option<&RawString>, default: &str) -> String {
    r.and_then(RawString::as_str).unwrap_or(default).to_string()
}

/// The largest position of any table header, to put a new table at the end.
fn max_position(table: &Table) -> Option<isize> {
    let mut headers = Vec::new();
    header_positions(table, &mut headers);
    headers.into_iter().max()
}

/// Positions of the printed table headers under `table` (`[a]`, `[a.b]`, `[[c]]`).
fn header_positions(table: &Table, out: &mut Vec<isize>) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(t) => {
                // Dotted tables have no header; toml_edit hides empty implicit ones.
                let hidden = t.is_dotted() || (t.is_implicit() && t.get_values().is_empty());
                let printed = !hidden;
                if let (true, Some(p)) = (printed, t.position()) {
                    out.push(p);
                }
                header_positions(t, out);
            }
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    out.extend(t.position());
                    header_positions(t, out);
                }
            }
            _ => {}
        }
    }
}

/// The table whose header is at `position`.
fn table_at_mut(table: &mut Table, position: isize) -> Option<&mut Table> {
    for (_, item) in table.iter_mut() {
        let found = match item {
            Item::Table(t) => {
                if !t.is_dotted() && t.position() == Some(position) {
                    return Some(t);
                }
                table_at_mut(t, position)
            }
            Item::ArrayOfTables(a) => a.iter_mut().find_map(|t| {
                if t.position() == Some(position) {
                    Some(t)
                } else {
                    table_at_mut(t, position)
                }
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{render_new, EditError, FieldValue, RecordEdit};
    use crate::config::Config;
    use crate::model::AnyRecord;
    use crate::model::Kind;
    use crate::store::parse::parse_record;

    /// An account as a person writes it: a header comment, a trailing comment, a comment above
    /// a key, blank lines, unicode, a table with a comment above its header.
    const ACCOUNT: &str = r#"# Mercator: biggest deal of the Q4 pipeline — « priorité ».
name = "Mercator Distribution"
status = "backlog"   # parked after the tender
owner = "marc"

# revisit after the tender results
backlog_until = 2027-01-15
fit = "high"
tools = ["Pennylane", "Sage X3"]

# from the partner ☕
[custom]
siren = "529 310 774"
"#;

    /// An opportunity with odd spacing, a commented `[bant]` and a `[custom]` table.
    const OPPORTUNITY: &str = r#"# Upsell: second studio in Bordeaux (separate SAS).
name = "Atelier Lumen — Bordeaux"
account = "atelier-lumen"
owner = "marc"
stage="qualified"          # after the discovery call
source = "upsell"
mrr = 250
close_date = 2026-12-18

# Hélène's notes
[bant]
budget = "+250 €/month OK"   # confirmed by email
authority = "Claire"
need = "consolidated AR"

[custom]
segment = "PME"
"#;

    /// BANT as an inline table with a trailing comment.
    const INLINE: &str = r#"name = "Brightpath — new"
account = "brightpath-logistics"
owner = "sofia"
stage = "identified"
source = "inbound"
bant = { budget = "unknown", authority = "COO" }   # from the webinar form
"#;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn edit(text: &str) -> RecordEdit {
        RecordEdit::parse(text).unwrap()
    }

    fn crlf(text: &str) -> String {
        text.replace('\n', "\r\n")
    }

    fn reparse(kind: Kind, text: &str) -> AnyRecord {
        let (record, diags) = parse_record(kind, "r", "r.toml", text, &Config::default());
        assert!(diags.is_empty(), "{diags:?}\n{text}");
        record
    }

    #[test]
    fn untouched_documents_are_byte_identical() {
        let odd = "name='Odd'\nstatus=\"target\"\t# tab before\n\n\n  owner = \"a\"   \n";
        for text in [
            ACCOUNT,
            OPPORTUNITY,
            INLINE,
            odd,
            "",
            "name = \"no newline\"",
        ] {
            for text in [text.to_string(), crlf(text), format!("\u{feff}{text}")] {
                let e = edit(&text);
                assert_eq!(e.to_string(), text);
                assert!(!e.is_changed());
                assert_eq!(e.finish(), text);
            }
        }
    }

    #[test]
    fn setting_an_existing_key_changes_only_its_value() {
        let mut e = edit(OPPORTUNITY);
        assert!(e.set("stage", "closing").unwrap());
        assert!(e.set("mrr", 300i64).unwrap());
        assert!(e.set("close_date", date("2027-01-31")).unwrap());
        assert_eq!(
            e.finish(),
            r#"# Upsell: second studio in Bordeaux (separate SAS).
name = "Atelier Lumen — Bordeaux"
account = "atelier-lumen"
owner = "marc"
stage="closing"          # after the discovery call
source = "upsell"
mrr = 300
close_date = 2027-01-31

# Hélène's notes
[bant]
budget = "+250 €/month OK"   # confirmed by email
authority = "Claire"
need = "consolidated AR"

[custom]
segment = "PME"
"#
        );
    }

    #[test]
    fn a_trailing_comment_survives_a_set() {
        let mut e = edit(OPPORTUNITY);
        e.set("bant.budget", "+300 €/month, signed off by the CFO")
            .unwrap();
        e.set("status", "ignored").ok();
        let out = e.finish();
        assert!(
            out.contains(
                "budget = \"+300 €/month, signed off by the CFO\"   # confirmed by email\n"
            ),
            "{out}"
        );

        let mut e = edit(ACCOUNT);
        e.set("status", "qualified_pool").unwrap();
        assert_eq!(
            e.finish(),
            ACCOUNT.replace(
                "status = \"backlog\"   # parked",
                "status = \"qualified_pool\"   # parked"
            )
        );
    }

    #[test]
    fn setting_the_same_value_changes_nothing_not_even_quoting() {
        let text = "name = 'Acme'\nstatus = 'target' # keep\nmrr = 1_000\nclose_date = 2026-12-01\ntools = [ \"a\" ]\n";
        let mut e = edit(text);
        assert!(!e.set("name", "Acme").unwrap());
        assert!(!e.set("status", "target").unwrap());
        assert!(!e.set("mrr", 1000i64).unwrap());
        assert!(!e.set("close_date", date("2026-12-01")).unwrap());
        assert!(!e
            .set("tools", FieldValue::Strings(vec!["a".into()]))
            .unwrap());
        assert!(!e.is_changed());
        assert_eq!(e.finish(), text);
    }

    #[test]
    fn a_new_top_level_key_goes_after_the_last_top_level_key() {
        let mut e = edit(ACCOUNT);
        e.set("industry", "Wholesale (foodservice)").unwrap();
        e.set("employees", 210i64).unwrap();
        assert_eq!(
            e.finish(),
            r#"# Mercator: biggest deal of the Q4 pipeline — « priorité ».
name = "Mercator Distribution"
status = "backlog"   # parked after the tender
owner = "marc"

# revisit after the tender results
backlog_until = 2027-01-15
fit = "high"
tools = ["Pennylane", "Sage X3"]
industry = "Wholesale (foodservice)"
employees = 210

# from the partner ☕
[custom]
siren = "529 310 774"
"#
        );

        // Without tables: before a trailing comment block, with a newline added when missing.
        let mut e = edit("name = \"A\"\nstatus = \"target\"\n\n# to do: find the CFO\n");
        e.set("owner", "alice").unwrap();
        assert_eq!(
            e.finish(),
            "name = \"A\"\nstatus = \"target\"\nowner = \"alice\"\n\n# to do: find the CFO\n"
        );
        let mut e = edit("name = \"A\"");
        e.set("status", "target").unwrap();
        assert_eq!(e.finish(), "name = \"A\"\nstatus = \"target\"\n");
    }

    #[test]
    fn a_new_sub_table_key_goes_to_its_table_or_a_new_table_at_the_end() {
        let mut e = edit(OPPORTUNITY);
        e.set("bant.timeline", "January").unwrap();
        e.set("commit.plan", "Pro").unwrap();
        e.set("commit.start_date", date("2027-01-04")).unwrap();
        e.set("commit.invoice_scheduled", true).unwrap();
        e.set("custom.partner", "Pennylane").unwrap();
        assert_eq!(
            e.finish(),
            r#"# Upsell: second studio in Bordeaux (separate SAS).
name = "Atelier Lumen — Bordeaux"
account = "atelier-lumen"
owner = "marc"
stage="qualified"          # after the discovery call
source = "upsell"
mrr = 250
close_date = 2026-12-18

# Hélène's notes
[bant]
budget = "+250 €/month OK"   # confirmed by email
authority = "Claire"
need = "consolidated AR"
timeline = "January"

[custom]
segment = "PME"
partner = "Pennylane"

[commit]
plan = "Pro"
start_date = 2027-01-04
invoice_scheduled = true
"#
        );
    }

    #[test]
    fn a_new_key_copies_the_indentation_of_its_table() {
        let mut e = edit("name = \"A\"\n\n[bant]\n  budget = \"x\"\n");
        e.set("bant.need", "y").unwrap();
        assert_eq!(
            e.finish(),
            "name = \"A\"\n\n[bant]\n  budget = \"x\"\n  need = \"y\"\n"
        );
    }

    #[test]
    fn inline_tables_are_edited_in_place() {
        let mut e = edit(INLINE);
        e.set("bant.need", "route planning").unwrap();
        e.set("bant.budget", "20k €").unwrap();
        assert_eq!(
            e.finish(),
            INLINE.replace(
                r#"bant = { budget = "unknown", authority = "COO" }"#,
                r#"bant = { budget = "20k €", authority = "COO", need = "route planning" }"#
            )
        );

        let mut e = edit(INLINE);
        assert!(e.remove("bant.authority"));
        let out = e.finish();
        assert!(
            out.ends_with("bant = { budget = \"unknown\" }   # from the webinar form\n"),
            "{out}"
        );
        let mut e = edit(INLINE);
        assert!(e.remove("bant.budget"));
        assert!(e.remove("bant.authority"));
        assert!(!e.remove("bant.need"));
        let out = e.finish();
        assert!(
            out.ends_with("bant = {}   # from the webinar form\n"),
            "{out}"
        );
        let mut e = edit(&out);
        e.set("bant.need", "x").unwrap();
        assert!(e
            .finish()
            .ends_with("bant = { need = \"x\" }   # from the webinar form\n"));
    }

    #[test]
    fn dotted_keys_are_edited_where_they_are() {
        let text = "name = \"X\"\n\n# qualification\nbant.budget = \"yes\"   # t\nstage = \"identified\"\n";
        let mut e = edit(text);
        e.set("bant.need", "y").unwrap();
        e.set("bant.budget", "no").unwrap();
        let out = e.finish();
        assert_eq!(
            out,
            "name = \"X\"\n\n# qualification\nbant.budget = \"no\"   # t\nbant.need = \"y\"\nstage = \"identified\"\n"
        );
        let mut e = edit(&out);
        assert!(e.remove("bant.budget"));
        assert_eq!(
            e.to_string(),
            "name = \"X\"\n\n# qualification\nbant.need = \"y\"\nstage = \"identified\"\n"
        );
        assert!(e.remove("bant.need"));
        assert_eq!(
            e.finish(),
            "name = \"X\"\n\n# qualification\nstage = \"identified\"\n"
        );
    }

    #[test]
    fn removing_a_key_removes_its_line_and_keeps_the_comments_around_it() {
        // The tick's backlog-expired move: the status changes, `backlog_until` goes.
        let mut e = edit(ACCOUNT);
        e.set("status", "qualified_pool").unwrap();
        assert!(e.remove("backlog_until"));
        assert!(!e.remove("backlog_until"));
        assert_eq!(
            e.finish(),
            r#"# Mercator: biggest deal of the Q4 pipeline — « priorité ».
name = "Mercator Distribution"
status = "qualified_pool"   # parked after the tender
owner = "marc"

# revisit after the tender results
fit = "high"
tools = ["Pennylane", "Sage X3"]

# from the partner ☕
[custom]
siren = "529 310 774"
"#
        );

        // A trailing comment goes with its line; the comment above the next key stays.
        let mut e = edit(ACCOUNT);
        assert!(e.remove("status"));
        assert!(e.to_string().contains(
            "name = \"Mercator Distribution\"\nowner = \"marc\"\n\n# revisit after the tender results\nbacklog_until"
        ));

        // Blank lines on both sides of the removed line count once.
        let mut e = edit("name = \"A\"\n\nstatus = \"target\"\n\nowner = \"a\"\n");
        assert!(e.remove("status"));
        assert_eq!(e.finish(), "name = \"A\"\n\nowner = \"a\"\n");

        // The last top-level key: its comment stays above the next table header.
        let mut e = edit(ACCOUNT);
        assert!(e.remove("tools"));
        assert!(e.remove("fit"));
        assert!(e.remove("backlog_until"));
        assert_eq!(
            e.finish(),
            r#"# Mercator: biggest deal of the Q4 pipeline — « priorité ».
name = "Mercator Distribution"
status = "backlog"   # parked after the tender
owner = "marc"

# revisit after the tender results

# from the partner ☕
[custom]
siren = "529 310 774"
"#
        );

        // The last key of the document: its comment stays at the end.
        let mut e = edit("name = \"A\"\n\n# why\nstatus = \"target\"\n");
        assert!(e.remove("status"));
        assert_eq!(e.finish(), "name = \"A\"\n\n# why\n");
    }

    #[test]
    fn the_comment_above_the_last_key_of_a_table_stays_above_the_next_header() {
        let mut e = edit("name = \"A\"\n\n[bant]\nbudget = \"x\"\n# ask again in March\nneed = \"y\"  # vague\n\n[custom]\na = 1\n");
        assert!(e.remove("bant.need"));
        assert_eq!(
            e.finish(),
            "name = \"A\"\n\n[bant]\nbudget = \"x\"\n# ask again in March\n\n[custom]\na = 1\n"
        );
    }

    #[test]
    fn removing_the_last_key_of_a_table_keeps_its_header() {
        let mut e = edit(OPPORTUNITY);
        assert!(e.remove("custom.segment"));
        assert!(e.remove("bant.budget"));
        assert!(e.remove("bant.authority"));
        assert!(e.remove("bant.need"));
        assert!(!e.remove("bant.timeline"));
        assert!(!e.remove("commit.plan"));
        assert!(!e.remove("custom"));
        assert!(!e.remove("a.b.c"));
        assert_eq!(
            e.finish(),
            r#"# Upsell: second studio in Bordeaux (separate SAS).
name = "Atelier Lumen — Bordeaux"
account = "atelier-lumen"
owner = "marc"
stage="qualified"          # after the discovery call
source = "upsell"
mrr = 250
close_date = 2026-12-18

# Hélène's notes
[bant]

[custom]
"#
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let mut e = edit(&crlf(ACCOUNT));
        e.set("status", "qualified_pool").unwrap();
        e.remove("backlog_until");
        e.set("industry", "Wholesale").unwrap();
        e.set("custom.partner", "Pennylane").unwrap();
        let mut lf = edit(ACCOUNT);
        lf.set("status", "qualified_pool").unwrap();
        lf.remove("backlog_until");
        lf.set("industry", "Wholesale").unwrap();
        lf.set("custom.partner", "Pennylane").unwrap();
        let lf = lf.finish();
        assert!(lf.contains("industry = \"Wholesale\"\n") && !lf.contains('\r'));
        assert_eq!(e.finish(), crlf(&lf));

        let mut e = edit(&format!("\u{feff}{}", crlf(INLINE)));
        e.set("bant.need", "x").unwrap();
        let out = e.finish();
        assert!(out.starts_with("\u{feff}name"));
        assert_eq!(out.matches("\r\n").count(), out.matches('\n').count());
    }

    #[test]
    fn a_line_break_in_a_value_survives_a_crlf_file() {
        // Found by the fuzz harness: the break of a multi-line string became CRLF with the
        // rest of the file, and `"a\nb"` read back as `"a\r\nb"`.
        for value in [
            FieldValue::Str("a\nb".into()),
            FieldValue::Strings(vec!["\n".into(), "x\r\ny".into()]),
        ] {
            let mut e = edit("name = \"A\"\r\n");
            e.set("name", value.clone()).unwrap();
            let out = e.finish();
            assert_eq!(
                out.matches("\r\n").count(),
                out.matches('\n').count(),
                "{out:?}"
            );
            assert_eq!(edit(&out).get("name"), Some(value), "{out:?}");
        }
        // In an LF file a multi-line value is still written over several lines.
        let mut e = edit("name = \"A\"\n");
        e.set("name", "a\nb").unwrap();
        assert_eq!(e.finish(), "name = \"\"\"\na\nb\"\"\"\n");
    }

    #[test]
    fn a_file_with_mixed_line_endings_keeps_its_values() {
        // Found by the fuzz harness: an LF inside a multi-line string of a CRLF file became
        // CRLF when another field was edited, changing the untouched value.
        let text = "name = \"A\"\r\nbody = \"\"\"\r\none\ntwo\"\"\"\r\n";
        let before = edit(text).get("body");
        assert_eq!(before, Some(FieldValue::Str("one\ntwo".into())));
        let mut e = edit(text);
        e.set("name", "B").unwrap();
        let out = e.finish();
        assert_eq!(edit(&out).get("body"), before, "{out:?}");
        assert!(out.starts_with("name = \"B\""), "{out:?}");
        // Without an LF inside a value, a CRLF file with a stray LF line stays CRLF.
        let mut e = edit("name = \"A\"\r\nfit = \"low\"\n");
        e.set("name", "B").unwrap();
        assert_eq!(e.finish(), "name = \"B\"\r\nfit = \"low\"\r\n");
    }

    #[test]
    fn a_multi_line_array_stays_multi_line() {
        let text = "name = \"A\"\ntools = [\n    \"Pennylane\",\n    \"Sage X3\",\n]  # seen at the demo\nfit = \"low\"\n";
        let mut e = edit(text);
        e.set(
            "tools",
            FieldValue::Strings(vec!["Pennylane".into(), "Chargebee".into(), "Qonto".into()]),
        )
        .unwrap();
        assert_eq!(
            e.finish(),
            "name = \"A\"\ntools = [\n    \"Pennylane\",\n    \"Chargebee\",\n    \"Qonto\",\n]  # seen at the demo\nfit = \"low\"\n"
        );
    }

    #[test]
    fn values_are_written_in_their_toml_types() {
        let mut e = edit("");
        e.set("s", "it's \"quoted\" ☕").unwrap();
        e.set("d", date("2026-11-26")).unwrap();
        e.set("i", -3i64).unwrap();
        e.set("f", 1200.5).unwrap();
        e.set("b", false).unwrap();
        e.set("a", FieldValue::Strings(vec![])).unwrap();
        e.set("q", "l'\"été\"\t!").unwrap();
        e.set("n", "l\"été\"").unwrap();
        e.set("body", "Hi,\nsee you Monday.").unwrap();
        assert_eq!(
            e.to_string(),
            r#"s = "it's \"quoted\" ☕"
d = 2026-11-26
i = -3
f = 1200.5
b = false
a = []
q = "l'\"été\"\t!"
n = 'l"été"'
body = """
Hi,
see you Monday."""
"#
        );
        assert_eq!(e.get_str("body"), Some("Hi,\nsee you Monday."));
        assert_eq!(e.get_str("q"), Some("l'\"été\"\t!"));
        assert_eq!(e.get("d"), Some(FieldValue::Date(date("2026-11-26"))));
        assert_eq!(e.get("f"), Some(FieldValue::Float(1200.5)));
        assert_eq!(e.get_str("s"), Some("it's \"quoted\" ☕"));
        assert_eq!(e.get_str("d"), None);
        assert!(e.contains("a") && !e.contains("zz"));
    }

    #[test]
    fn get_reads_top_level_table_and_inline_fields() {
        let e = edit(OPPORTUNITY);
        assert_eq!(e.get_str("stage"), Some("qualified"));
        assert_eq!(e.get_str("bant.authority"), Some("Claire"));
        assert_eq!(e.get("mrr"), Some(FieldValue::Int(250)));
        assert_eq!(e.get_str("commit.plan"), None);
        let e = edit(INLINE);
        assert_eq!(e.get_str("bant.authority"), Some("COO"));
        assert_eq!(e.get_str("bant"), None);
        assert!(e.contains("bant"));
    }

    #[test]
    fn errors_name_the_field_and_the_position() {
        let mut e = edit("name = \"A\"\nbant = \"yes\"\n\n[commit]\nplan = \"x\"\n");
        assert_eq!(
            e.set("bant.need", "y"),
            Err(EditError::NotATable {
                field: "bant".into()
            })
        );
        assert_eq!(
            e.set("commit", "y"),
            Err(EditError::NotAValue {
                field: "commit".into()
            })
        );
        assert_eq!(
            edit(INLINE).set("bant", "y"),
            Err(EditError::NotAValue {
                field: "bant".into()
            })
        );
        for bad in ["", ".", "a.", ".b", "custom.a.b"] {
            assert_eq!(
                e.set(bad, 1i64),
                Err(EditError::InvalidField { field: bad.into() })
            );
        }
        assert!(matches!(
            e.set("d", date("-0001-01-01")),
            Err(EditError::Unrepresentable { .. })
        ));
        assert!(!e.is_changed());

        let err = RecordEdit::parse("name = \"A\"\nsubject = \"Café\" oops\n").unwrap_err();
        let EditError::Parse { line, column, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*line, *column), (2, 18), "{err}");
        assert!(err.to_string().starts_with("line 2, column 18: "), "{err}");
    }

    #[test]
    fn render_new_writes_the_canonical_layout() {
        let out = render_new(&[
            ("name", "Acme Café".into()),
            ("custom.region", "EMEA".into()),
            ("status", "target".into()),
            ("commit.plan", "Pro".into()),
            ("owner", "alice".into()),
            ("bant.budget", "10k €".into()),
            ("backlog_until", date("2026-11-26").into()),
            ("bant.need", "invoicing".into()),
            (
                "tools",
                FieldValue::Strings(vec!["Pennylane".into(), "Sage X3".into()]),
            ),
        ])
        .unwrap();
        assert_eq!(
            out,
            r#"name = "Acme Café"
status = "target"
owner = "alice"
backlog_until = 2026-11-26
tools = ["Pennylane", "Sage X3"]

[bant]
budget = "10k €"
need = "invoicing"

[commit]
plan = "Pro"

[custom]
region = "EMEA"
"#
        );
        assert_eq!(
            render_new(&[("custom.x", FieldValue::Int(1)), ("bant.need", "y".into())]).unwrap(),
            "[bant]\nneed = \"y\"\n\n[custom]\nx = 1\n"
        );
        assert_eq!(render_new(&[]).unwrap(), "");
        assert!(render_new(&[("a.b.c", FieldValue::Bool(true))]).is_err());
    }

    #[test]
    fn edited_records_parse_back_into_the_expected_values() {
        // The tick's backlog-expired move on an account.
        let mut e = edit(&crlf(ACCOUNT));
        e.set("status", "qualified_pool").unwrap();
        e.remove("backlog_until");
        let AnyRecord::Account(a) = reparse(Kind::Account, &e.finish()) else {
            unreachable!()
        };
        assert_eq!(a.status, "qualified_pool");
        assert_eq!(a.backlog_until, None);
        assert_eq!(a.tools, ["Pennylane", "Sage X3"]);

        // The target-stale move: a date is written as a TOML date.
        let mut e = edit(ACCOUNT);
        e.set("status", "backlog").unwrap();
        e.set("backlog_until", date("2027-05-25")).unwrap();
        let AnyRecord::Account(a) = reparse(Kind::Account, &e.finish()) else {
            unreachable!()
        };
        assert_eq!(a.backlog_until, Some(date("2027-05-25")));

        // `sloop move` to commit: stage, BANT and commit terms.
        let mut e = edit(OPPORTUNITY);
        e.set("stage", "commit").unwrap();
        e.set("bant.timeline", "January").unwrap();
        e.set("commit.plan", "Pro").unwrap();
        e.set("commit.users", 12i64).unwrap();
        e.set("commit.start_date", date("2027-01-04")).unwrap();
        e.set("commit.invoice_scheduled", true).unwrap();
        let AnyRecord::Opportunity(o) = reparse(Kind::Opportunity, &e.finish()) else {
            unreachable!()
        };
        assert_eq!(o.stage, "commit");
        assert_eq!(o.bant.timeline.as_deref(), Some("January"));
        assert_eq!(o.bant.budget.as_deref(), Some("+250 €/month OK"));
        assert_eq!(o.commit.plan.as_deref(), Some("Pro"));
        assert_eq!(o.commit.users, Some(12));
        assert_eq!(o.commit.start_date, Some(date("2027-01-04")));
        assert_eq!(o.commit.invoice_scheduled, Some(true));
        assert_eq!(o.close_date, Some(date("2026-12-18")));

        // An inline BANT table.
        let mut e = edit(INLINE);
        e.set("bant.need", "route planning").unwrap();
        let AnyRecord::Opportunity(o) = reparse(Kind::Opportunity, &e.finish()) else {
            unreachable!()
        };
        assert_eq!(o.bant.need.as_deref(), Some("route planning"));
        assert_eq!(o.bant.authority.as_deref(), Some("COO"));

        // A brand-new record.
        let text = render_new(&[
            ("kind", "task".into()),
            ("date", date("2026-11-26").into()),
            ("account", "acme".into()),
            ("subject", "Send the proposal — v2".into()),
            ("due", date("2026-12-01").into()),
            ("done", false.into()),
        ])
        .unwrap();
        let AnyRecord::Activity(a) = reparse(Kind::Activity, &text) else {
            unreachable!()
        };
        assert_eq!(a.due, Some(date("2026-12-01")));
        assert_eq!(a.done, Some(false));
        let mut e = edit(&text);
        e.set("done", true).unwrap();
        assert_eq!(e.finish(), text.replace("done = false", "done = true"));
    }
}
