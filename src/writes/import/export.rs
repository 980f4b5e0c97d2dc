//! What every vendor's export is read into before it is planned: companies, people, deals
//! with their stage history, and activities, each with the file and line it came from, the
//! values still as the vendor wrote them (their stage names, their owners). The planner
//! (`crm`) maps those to sloop's through the mapping file. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use super::table::{Row, Table, TableError};
use super::values::{fold, DayOrder, Stamp};

/// The product an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Hubspot,
    Pipedrive,
    Salesforce,
    /// A spreadsheet (`--from csv`).
    Csv,
}

impl Vendor {
    pub const NAMES: &'static [&'static str] = &["hubspot", "pipedrive", "salesforce", "csv"];

    pub fn parse(s: &str) -> Option<Vendor> {
        Some(match s.to_ascii_lowercase().as_str() {
            "hubspot" => Vendor::Hubspot,
            "pipedrive" => Vendor::Pipedrive,
            "salesforce" => Vendor::Salesforce,
            "csv" | "spreadsheet" | "sheet" => Vendor::Csv,
            _ => return None,
        })
    }

    /// The name in `--from`, the commit trailer and `custom.import_id`.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Hubspot => "hubspot",
            Vendor::Pipedrive => "pipedrive",
            Vendor::Salesforce => "salesforce",
            Vendor::Csv => "csv",
        }
    }

    /// The product's name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Vendor::Hubspot => "HubSpot",
            Vendor::Pipedrive => "Pipedrive",
            Vendor::Salesforce => "Salesforce",
            Vendor::Csv => "spreadsheet",
        }
    }
}

/// Where a value came from: a file of the export and the line its row starts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Something wrong with the export or the mapping, at a file and line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(flatten)]
    pub at: Origin,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(at: Origin, message: impl Into<String>) -> Problem {
        Problem {
            at,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

/// A company (HubSpot company, Pipedrive organization, Salesforce account, a sheet's row).
#[derive(Debug, Clone, Default)]
pub struct Company {
    pub origin: Origin,
    /// The vendor's id (a sheet's: the folded name).
    pub key: String,
    pub name: String,
    pub domain: Option<String>,
    pub owner: Option<String>,
    pub created: Option<Stamp>,
    /// Their lifecycle stage, label, type or status, as written.
    pub status: Option<String>,
    pub customer_since: Option<Stamp>,
    pub churned: Option<Stamp>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub revenue: Option<String>,
    pub country: Option<String>,
    pub linkedin: Option<String>,
    pub source: Option<String>,
    pub tools: Vec<String>,
    /// Note texts kept with the company (HubSpot's `Associated Note`, a sheet's notes).
    pub notes: Vec<String>,
    pub custom: Vec<(String, String)>,
}

/// A person (HubSpot contact, Pipedrive person, Salesforce contact).
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub origin: Origin,
    pub key: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub linkedin: Option<String>,
    pub owner: Option<String>,
    /// The company's key.
    pub company: Option<String>,
    pub reports_to: Option<String>,
    pub source: Option<String>,
    pub created: Option<Stamp>,
    pub custom: Vec<(String, String)>,
}

/// How a deal ended, when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Won,
    Lost,
}

/// A deal (opportunity).
#[derive(Debug, Clone, Default)]
pub struct Deal {
    pub origin: Origin,
    pub key: String,
    pub name: String,
    pub company: Option<String>,
    pub owner: Option<String>,
    /// The amount as written (with its currency sign, if any).
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Their current stage.
    pub stage: Option<String>,
    /// Their stage history: when the deal entered each stage, oldest first, with the
    /// amount and close date of that moment when the export says (Salesforce).
    pub history: Vec<StageEntry>,
    /// Won or lost, and when.
    pub outcome: Option<(Outcome, Option<Stamp>)>,
    /// The expected close date of an open deal, the actual one of a closed deal.
    pub close: Option<Stamp>,
    /// When the current stage was entered, when the export has only that (Pipedrive).
    pub last_stage_change: Option<Stamp>,
    pub created: Option<Stamp>,
    pub lost_reason: Option<String>,
    pub source: Option<String>,
    /// Their deal type (`New Business`, `Existing Business`…).
    pub kind: Option<String>,
    /// The people on the deal (keys), first the primary one.
    pub people: Vec<String>,
    pub custom: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageEntry {
    pub at: Stamp,
    pub stage: String,
    pub amount: Option<String>,
    pub close: Option<Stamp>,
}

/// An activity: a call, meeting, email, task or note.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub origin: Origin,
    pub key: String,
    /// Their type (`Call`, `Meeting`, `Task`, `Deadline`…).
    pub kind: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// When it happens or happened (a task's due date).
    pub at: Option<Stamp>,
    pub created: Option<Stamp>,
    /// Done or to do; `None`: done when it is dated before the export (a calendar event).
    pub done: Option<bool>,
    pub done_at: Option<Stamp>,
    pub duration_min: Option<u64>,
    pub owner: Option<String>,
    pub company: Option<String>,
    pub person: Option<String>,
    pub deal: Option<String>,
}

/// What a column of a file became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnUse {
    pub file: String,
    pub column: String,
    /// The sloop field, `custom.KEY`, or why it is not imported.
    pub became: String,
}

/// A file the reader looked at.
#[derive(Debug, Clone, Serialize)]
pub struct FileRead {
    pub file: String,
    /// What it was read as (`companies`, `deals`…), or why it was not read.
    pub kind: String,
    pub rows: usize,
}

/// An export read into the vendor-neutral shape.
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub companies: Vec<Company>,
    pub people: Vec<Person>,
    pub deals: Vec<Deal>,
    pub activities: Vec<Activity>,
    pub columns: Vec<ColumnUse>,
    pub files: Vec<FileRead>,
    pub problems: Vec<Problem>,
}

impl Export {
    /// The latest moment the export mentions: what an undated note is dated, and the day
    /// the export was taken as far as the history can tell.
    pub fn latest(&self, offset: i32) -> Option<chrono::NaiveDateTime> {
        let mut all: Vec<Stamp> = Vec::new();
        for c in &self.companies {
            all.extend(
                [c.created, c.customer_since, c.churned]
                    .into_iter()
                    .flatten(),
            );
        }
        for p in &self.people {
            all.extend(p.created);
        }
        for d in &self.deals {
            all.extend(d.created);
            all.extend(d.history.iter().map(|h| h.at));
            all.extend(d.outcome.and_then(|o| o.1));
            all.extend(d.last_stage_change);
        }
        for a in &self.activities {
            all.extend([a.created, a.done_at].into_iter().flatten());
        }
        all.into_iter().map(|s| s.local(offset)).max()
    }
}

/// One export file, decoded, with its columns looked up by role.
pub struct Sheet {
    pub name: String,
    pub table: Table,
    /// The role of each column.
    pub roles: Vec<Role>,
    pub order: DayOrder,
    /// `;`- or tab-separated: numbers may use a decimal comma.
    pub european: bool,
}

/// What a column holds, for a vendor's reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A field the reader takes, by name (`key`, `name`, `owner`…); `became` is what the
    /// summary says it became.
    Field(&'static str, &'static str),
    /// When the deal entered or left the named stage (HubSpot's `Date entered "…"`).
    Entered(String),
    Exited(String),
    /// Kept in `[custom]` under this key.
    Custom(String),
    /// Not imported, and why.
    Skip(&'static str),
}

impl Sheet {
    /// The cell of the first column with this field role that is not empty.
    pub fn get<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        self.roles
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Role::Field(f, _) if *f == field))
            .map(|(i, _)| row.get(i))
            .find(|v| !v.is_empty())
    }

    pub fn has(&self, field: &str) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Field(f, _) if *f == field))
    }

    pub fn origin(&self, row: &Row) -> Origin {
        Origin {
            file: self.name.clone(),
            line: row.line,
        }
    }

    pub fn header_origin(&self) -> Origin {
        Origin {
            file: self.name.clone(),
            line: self.table.header_line,
        }
    }

    /// `[custom]` pairs of a row.
    pub fn custom(&self, row: &Row) -> Vec<(String, String)> {
        self.roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Role::Custom(k) if !row.get(i).is_empty() => {
                    Some((k.clone(), row.get(i).to_string()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn stamp(&self, raw: Option<&str>) -> Option<Stamp> {
        super::values::stamp(raw?, self.order)
    }

    /// The date or date-time of a field; a cell that is not one is a problem (reported in
    /// `bad`), not a silent blank.
    pub fn date(&self, row: &Row, field: &str, bad: &mut Vec<Problem>) -> Option<Stamp> {
        let raw = self.get(row, field)?;
        let stamp = self.stamp(Some(raw));
        if stamp.is_none() {
            let column = self
                .roles
                .iter()
                .position(|r| matches!(r, Role::Field(f, _) if *f == field))
                .map(|i| self.table.header[i].clone())
                .unwrap_or_default();
            bad.push(
                Problem::new(
                    self.origin(row),
                    format!("`{raw}` is not a date (column `{column}`)"),
                )
                .hint("write it as a date (2024-06-30, 30/06/2024), or leave it empty"),
            );
        }
        stamp
    }

    /// The summary's lines for this file.
    pub fn uses(&self) -> Vec<ColumnUse> {
        self.table
            .header
            .iter()
            .zip(&self.roles)
            .map(|(h, r)| ColumnUse {
                file: self.name.clone(),
                column: h.clone(),
                became: match r {
                    Role::Field(_, became) => (*became).to_string(),
                    Role::Entered(s) => format!("the date the deal entered `{s}`"),
                    Role::Exited(s) => format!(
                        "not imported: the next stage's entry date says when `{s}` was left"
                    ),
                    Role::Custom(k) => format!("custom.{k}"),
                    Role::Skip(why) => format!("not imported: {why}"),
                },
            })
            .collect()
    }
}

/// A column override from the mapping file: `[columns]` `"File:Column" = "field"` or
/// `"Column" = "field"`, where field is one of the reader's field names, `custom.KEY`, or
/// `""` (not imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnOverride {
    pub file: Option<String>,
    pub column: String,
    pub field: String,
    pub at: Origin,
}

/// The `[custom]` key for a column nobody recognised: its folded name with underscores.
pub fn custom_key(header: &str) -> String {
    let k = fold(header).replace(' ', "_");
    if k.is_empty() {
        "column".to_string()
    } else {
        k
    }
}

/// Reads one file of an export: decoded, header found (`is_header`), each column given a
/// role by `role_of` (folded header → role), the overrides applied (`fields` lists the
/// reader's field names with what they become). Overrides naming a column the file does
/// not have are the caller's to report.
pub fn sheet(
    name: &str,
    bytes: &[u8],
    is_header: &dyn Fn(&[String]) -> bool,
    role_of: &dyn Fn(&str) -> Role,
    overrides: &[ColumnOverride],
    fields: &[(&'static str, &'static str)],
    date_columns: &[&str],
) -> Result<Sheet, (Origin, TableError)> {
    let at = |line| Origin {
        file: name.to_string(),
        line,
    };
    let table = Table::read(bytes, None, is_header).map_err(|e| match e {
        TableError::Csv { line, .. } => (at(line), e),
        e => (at(1), e),
    })?;
    let mut roles: Vec<Role> = table.header.iter().map(|h| role_of(&fold(h))).collect();
    for o in overrides {
        if o.file.as_deref().is_some_and(|f| !file_matches(name, f)) {
            continue;
        }
        let Some(i) = table.column(&o.column) else {
            continue;
        };
        roles[i] = if o.field.is_empty() {
            Role::Skip("left out by the mapping file")
        } else if let Some(k) = o.field.strip_prefix("custom.") {
            Role::Custom(k.to_string())
        } else if let Some((f, became)) = fields.iter().find(|(f, _)| *f == o.field) {
            Role::Field(f, became)
        } else {
            roles[i].clone()
        };
    }
    let european = table.separator != b',';
    // The day order of the file: the first unambiguous slashed date in a date column.
    let order = {
        let cols: Vec<usize> = roles
            .iter()
            .enumerate()
            .filter(|(_, r)| match r {
                Role::Field(f, _) => date_columns.contains(f),
                Role::Entered(_) | Role::Exited(_) => true,
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        let mut values: Vec<String> = Vec::new();
        let mut filled = vec![false; roles.len()];
        for row in table.rows().filter_map(Result::ok) {
            for (i, f) in filled.iter_mut().enumerate() {
                *f |= !row.get(i).is_empty();
            }
            if values.len() < 10_000 {
                for c in &cols {
                    let v = row.get(*c);
                    if v.contains('/') {
                        values.push(v.to_string());
                    }
                }
            }
        }
        // A column nobody recognised that is empty in every row is not worth a key.
        for (role, filled) in roles.iter_mut().zip(&filled) {
            if !filled && matches!(role, Role::Custom(_)) {
                *role = Role::Skip("empty in every row");
            }
        }
        super::values::day_order(values.iter().map(String::as_str)).unwrap_or(if european {
            DayOrder::DayFirst
        } else {
            DayOrder::MonthFirst
        })
    };
    Ok(Sheet {
        name: name.to_string(),
        table,
        roles,
        order,
        european,
    })
}

/// Whether a file (as shown: `hubspot/deals.csv`) is the one a mapping names (`deals.csv`).
pub fn file_matches(shown: &str, named: &str) -> bool {
    shown == named || shown.ends_with(&format!("/{named}"))
}

/// Splits a cell of several ids or names joined by `;` (HubSpot's associations).
pub fn list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Records of one kind by key, keeping the first and reporting a second one that says
/// something else: two rows (or two files) disagreeing on the same record.
pub fn dedupe<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    origin: impl Fn(&T) -> &Origin,
    fingerprint: impl Fn(&T) -> Vec<(&'static str, String)>,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<T> = Vec::new();
    for item in items {
        match seen.get(key(&item)) {
            None => {
                seen.insert(key(&item).to_string(), out.len());
                out.push(item);
            }
            Some(&i) => {
                let (a, b) = (fingerprint(&out[i]), fingerprint(&item));
                let differs: Vec<&str> = a
                    .iter()
                    .zip(&b)
                    .filter(|(x, y)| !x.1.is_empty() && !y.1.is_empty() && x.1 != y.1)
                    .map(|(x, _)| x.0)
                    .collect();
                if !differs.is_empty() {
                    problems.push(
                        Problem::new(
                            origin(&item).clone(),
                            format!(
                                "{what} `{}` is also at {}, which says otherwise about its {}",
                                key(&item),
                                origin(&out[i]),
                                differs.join(", ")
                            ),
                        )
                        .hint("keep one export per record (the newer one), or make them agree"),
                    );
                }
            }
        }
    }
    out
}
