//! Reading a vendor's export files into an `Export`: each file is recognised by its header
//! (never by its name), each column given a role by the vendor's table (`Spec`), each row
//! turned into a company, person, deal or activity by the same code for every vendor, and
//! references by name (Pipedrive's activities, a sheet's company column) resolved at the
//! end. Pure.

use std::collections::{BTreeMap, HashMap};

use super::export::{
    custom_key, dedupe, list, sheet, Activity, ColumnOverride, Company, Deal, Export, FileRead,
    Origin, Outcome, Person, Problem, Role, Sheet, StageEntry,
};
use super::values::{self, fold, Stamp};

/// What a file of an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Companies,
    People,
    Deals,
    /// Salesforce's `OpportunityHistory.csv`: one row per stage change.
    StageHistory,
    Activities,
    /// Salesforce's `User.csv`: owners' names and emails by id.
    Users,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Companies => "companies",
            FileKind::People => "people",
            FileKind::Deals => "deals",
            FileKind::StageHistory => "stage history",
            FileKind::Activities => "activities",
            FileKind::Users => "users",
        }
    }
}

/// A vendor's reading rules.
pub struct Spec {
    /// The kind of a file from its folded header cells, or `None`: not one of this
    /// vendor's files.
    pub kind_of: fn(&[String]) -> Option<FileKind>,
    /// The role of a column (folded header) in a file of a kind.
    pub role_of: fn(FileKind, &str) -> Role,
    /// What the export's product is called, for messages.
    pub title: &'static str,
    /// Whether its records have ids (a spreadsheet's are named by their name).
    pub keyed: bool,
}

/// The columns a file of a kind cannot do without: alternatives, each a list of fields.
fn required(kind: FileKind, keyed: bool) -> Vec<&'static [&'static str]> {
    let key: &'static [&'static str] = &["key"];
    let mut out: Vec<&'static [&'static str]> = match kind {
        FileKind::Companies => vec![&["name"]],
        FileKind::People => vec![&["name", "first_name", "last_name"]],
        FileKind::Deals => vec![&["name"], &["stage", "outcome", "is_closed"]],
        FileKind::StageHistory => vec![&["deal"], &["at"], &["stage"]],
        FileKind::Activities => vec![&["at", "created", "done_at"]],
        FileKind::Users => vec![&["name", "email"]],
    };
    let identified = matches!(
        kind,
        FileKind::Companies | FileKind::People | FileKind::Deals
    );
    if (keyed && identified) || kind == FileKind::Users {
        out.insert(0, key);
    }
    out
}

/// The fields a column may be mapped to with `[columns]`, by kind, with what the summary
/// says they became.
pub fn fields(kind: FileKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        FileKind::Companies => &[
            ("key", "custom.import_id (the record's id in the export)"),
            ("name", "name"),
            ("domain", "domain"),
            ("website", "domain"),
            ("owner", "owner (through [owners])"),
            ("created", "the date the account was created"),
            ("status", "status (through [statuses])"),
            ("customer_since", "the date the account became a customer"),
            ("churned", "the date the account churned"),
            ("industry", "industry"),
            ("employees", "employees"),
            ("revenue", "revenue"),
            ("country", "country"),
            ("linkedin", "linkedin"),
            ("source", "source (through [sources])"),
            ("tools", "tools"),
            ("note", "a note activity"),
        ],
        FileKind::People => &[
            ("key", "custom.import_id (the record's id in the export)"),
            ("name", "name"),
            ("first_name", "name (first part)"),
            ("last_name", "name (last part)"),
            ("email", "email"),
            ("phone", "phone"),
            ("title", "title"),
            ("linkedin", "linkedin"),
            ("owner", "the owner of a lead (a person without a company)"),
            ("company", "account (by the company's id)"),
            ("company_name", "account (by the company's name)"),
            ("reports_to", "reports_to"),
            ("source", "the source of a lead, and of deals without one"),
            ("created", "the date the contact was created"),
        ],
        FileKind::Deals => &[
            ("key", "custom.import_id (the record's id in the export)"),
            ("name", "name"),
            ("company", "account (by the company's id)"),
            ("company_name", "account (by the company's name)"),
            ("owner", "owner (through [owners])"),
            ("amount", "mrr (see [deals] amount)"),
            ("currency", "the currency of the amount (see [rates])"),
            ("stage", "stage (through [stages])"),
            ("close", "close_date"),
            (
                "created",
                "created, and the date of the deal's first commit",
            ),
            ("outcome", "won or lost"),
            ("is_won", "won or lost"),
            ("is_closed", "won or lost"),
            ("won_at", "the date the deal was won"),
            ("lost_at", "the date the deal was lost"),
            ("closed_at", "the date the deal was closed"),
            (
                "last_stage_change",
                "the date the deal entered its current stage",
            ),
            ("lost_reason", "lost_reason (through [lost_reasons])"),
            ("source", "source (through [sources])"),
            ("kind", "type (through [types])"),
            ("people", "the deal's contacts (for its source)"),
        ],
        FileKind::StageHistory => &[
            ("deal", "the deal the stage change is on"),
            ("at", "the date of the stage change"),
            ("stage", "stage (through [stages])"),
            ("amount", "mrr at that date"),
            ("close", "close_date at that date"),
        ],
        FileKind::Activities => &[
            ("key", "the activity's id in the export"),
            ("kind", "kind (through [activities])"),
            ("subject", "subject"),
            ("body", "body"),
            ("at", "date (a task's due date)"),
            ("at_time", "the time of date"),
            ("created", "the date the activity was recorded"),
            ("done", "done"),
            ("done_at", "the date a task was done"),
            ("duration", "duration_min"),
            ("duration_s", "duration_min"),
            ("owner", "owner (through [owners])"),
            ("company", "account (by the company's id)"),
            ("company_name", "account (by the company's name)"),
            ("person", "contact (by the person's id)"),
            ("person_name", "contact (by the person's name)"),
            ("deal", "opportunity (by the deal's id)"),
            ("deal_name", "opportunity (by the deal's name)"),
            ("who", "contact (by the person's id)"),
            ("what", "opportunity or account (by id)"),
        ],
        FileKind::Users => &[
            ("key", "the user's id, to name owners"),
            ("name", "the owner's name"),
            ("email", "the owner's email"),
            ("active", "whether the user may own records"),
        ],
    }
}

const DATE_FIELDS: &[&str] = &[
    "created",
    "customer_since",
    "churned",
    "close",
    "won_at",
    "lost_at",
    "closed_at",
    "last_stage_change",
    "at",
    "done_at",
];

/// The role of a column from a vendor table entry: `Some(field)` a field (with its
/// summary text for that kind), else kept in `[custom]`.
pub fn field(kind: FileKind, name: &str) -> Role {
    if name == "deleted" {
        return Role::Field("deleted", "rows marked deleted are left out");
    }
    match fields(kind).iter().find(|(f, _)| *f == name) {
        Some((f, became)) => Role::Field(f, became),
        None => Role::Skip("unknown field"),
    }
}

/// Reads every file of an export. `progress` gets the rows read so far.
pub fn read(
    spec: &Spec,
    files: &[(String, Vec<u8>)],
    overrides: &[ColumnOverride],
    progress: &mut dyn FnMut(u64),
) -> Export {
    let mut out = Export::default();
    let mut sheets: Vec<(FileKind, Sheet)> = Vec::new();
    for (name, bytes) in files {
        let kind_cell: std::cell::Cell<Option<FileKind>> = std::cell::Cell::new(None);
        let is_header = |cells: &[String]| {
            let folded: Vec<String> = cells.iter().map(|c| fold(c)).collect();
            let k = (spec.kind_of)(&folded);
            kind_cell.set(k);
            k.is_some()
        };
        let mut kind = None;
        let role = |h: &str| match kind_cell.get() {
            Some(k) => (spec.role_of)(k, h),
            None => Role::Skip("not read"),
        };
        let all_fields: Vec<(&'static str, &'static str)> = [
            FileKind::Companies,
            FileKind::People,
            FileKind::Deals,
            FileKind::StageHistory,
            FileKind::Activities,
            FileKind::Users,
        ]
        .iter()
        .flat_map(|k| fields(*k).iter().copied())
        .collect();
        match sheet(
            name,
            bytes,
            &is_header,
            &role,
            overrides,
            &all_fields,
            DATE_FIELDS,
        ) {
            Ok(s) => {
                // The header search stops at the recognised row, so the last kind seen is
                // that row's (or none).
                if (spec.kind_of)(&s.table.header.iter().map(|c| fold(c)).collect::<Vec<_>>())
                    .is_some()
                {
                    kind = kind_cell.get();
                }
                match kind {
                    Some(k) => sheets.push((k, s)),
                    None => out.files.push(FileRead {
                        file: name.clone(),
                        kind: format!(
                            "not read: not a {} export file (header: {})",
                            spec.title,
                            excerpt(&s.table.header)
                        ),
                        rows: 0,
                    }),
                }
            }
            Err((at, e)) => out.problems.push(Problem::new(at, e.to_string())),
        }
    }
    // Users first: they name the owners of everything else.
    sheets.sort_by_key(|(k, _)| *k != FileKind::Users);
    let mut users: HashMap<String, String> = HashMap::new();
    let mut history: Vec<(String, Origin, StageEntry)> = Vec::new();
    let mut rows_read = 0u64;
    for (kind, s) in &sheets {
        out.columns.extend(s.uses());
        let missing: Vec<String> = required(*kind, spec.keyed)
            .into_iter()
            .filter(|alts| !alts.iter().any(|f| s.has(f)))
            .map(|alts| {
                alts.iter()
                    .map(|f| match *f {
                        "key" => "id".to_string(),
                        f => format!("`{f}`"),
                    })
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .collect();
        if !missing.is_empty() {
            out.problems.push(
                Problem::new(
                    s.header_origin(),
                    format!(
                        "{} of {} without its {} column",
                        kind.name(),
                        spec.title,
                        missing.join(", ")
                    ),
                )
                .hint("export the file with every column (or map one in [columns] of the mapping file)"),
            );
            out.files.push(FileRead {
                file: s.name.clone(),
                kind: format!("not read: {} without {}", kind.name(), missing.join(", ")),
                rows: 0,
            });
            continue;
        }
        let mut rows = 0usize;
        let mut tick = |n: &mut u64| {
            *n += 1;
            if n.is_multiple_of(1000) {
                progress(*n);
            }
        };
        let mut it = s.table.rows();
        for row in it.by_ref() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    out.problems
                        .push(Problem::new(s.header_origin(), e.to_string()));
                    continue;
                }
            };
            tick(&mut rows_read);
            rows += 1;
            let mut bad: Vec<Problem> = Vec::new();
            if s.get(&row, "deleted")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                continue;
            }
            let owner = |raw: Option<&str>| -> Option<String> {
                let raw = raw?;
                Some(users.get(raw).cloned().unwrap_or_else(|| raw.to_string()))
            };
            match kind {
                FileKind::Users => {
                    if let Some(key) = s.get(&row, "key") {
                        let who = s.get(&row, "email").or(s.get(&row, "name")).unwrap_or(key);
                        users.insert(key.to_string(), who.to_string());
                    }
                }
                FileKind::Companies => {
                    let mut c = Company {
                        origin: s.origin(&row),
                        key: s.get(&row, "key").unwrap_or_default().to_string(),
                        name: s.get(&row, "name").unwrap_or_default().to_string(),
                        domain: s
                            .get(&row, "domain")
                            .or(s.get(&row, "website"))
                            .and_then(values::domain),
                        owner: owner(s.get(&row, "owner")),
                        created: s.date(&row, "created", &mut bad),
                        status: s.get(&row, "status").map(str::to_string),
                        customer_since: s.date(&row, "customer_since", &mut bad),
                        churned: s.date(&row, "churned", &mut bad),
                        industry: s.get(&row, "industry").map(str::to_string),
                        employees: s.get(&row, "employees").map(str::to_string),
                        revenue: s.get(&row, "revenue").map(str::to_string),
                        country: s.get(&row, "country").map(str::to_string),
                        linkedin: s.get(&row, "linkedin").map(str::to_string),
                        source: s.get(&row, "source").map(str::to_string),
                        tools: s
                            .get(&row, "tools")
                            .map(|t| {
                                t.split([',', ';'])
                                    .map(str::trim)
                                    .filter(|x| !x.is_empty())
                                    .map(str::to_string)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        notes: s
                            .get(&row, "note")
                            .map(|n| vec![n.to_string()])
                            .unwrap_or_default(),
                        custom: s.custom(&row),
                    };
                    if c.key.is_empty() {
                        c.key = fold(&c.name);
                    }
                    out.companies.push(c);
                }
                FileKind::People => {
                    let name = s.get(&row, "name").map(person_name).unwrap_or_else(|| {
                        [s.get(&row, "first_name"), s.get(&row, "last_name")]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                    let email = s.get(&row, "email").map(|e| e.trim().to_lowercase());
                    let mut p = Person {
                        origin: s.origin(&row),
                        key: s.get(&row, "key").unwrap_or_default().to_string(),
                        name,
                        email,
                        phone: s.get(&row, "phone").and_then(values::phone),
                        title: s.get(&row, "title").map(str::to_string),
                        linkedin: s.get(&row, "linkedin").map(str::to_string),
                        owner: owner(s.get(&row, "owner")),
                        company: s
                            .get(&row, "company")
                            .and_then(|c| list(c).into_iter().next())
                            .or_else(|| {
                                s.get(&row, "company_name")
                                    .map(|n| format!("\u{0}{}", fold(n)))
                            }),
                        reports_to: s.get(&row, "reports_to").map(str::to_string),
                        source: s.get(&row, "source").map(str::to_string),
                        created: s.date(&row, "created", &mut bad),
                        custom: s.custom(&row),
                    };
                    if p.key.is_empty() {
                        p.key = p.email.clone().unwrap_or_else(|| fold(&p.name));
                    }
                    out.people.push(p);
                }
                FileKind::Deals => {
                    let outcome = deal_outcome(s, &row);
                    let mut d = Deal {
                        origin: s.origin(&row),
                        key: s.get(&row, "key").unwrap_or_default().to_string(),
                        name: s.get(&row, "name").unwrap_or_default().to_string(),
                        company: s
                            .get(&row, "company")
                            .and_then(|c| list(c).into_iter().next())
                            .or_else(|| {
                                s.get(&row, "company_name")
                                    .map(|n| format!("\u{0}{}", fold(n)))
                            }),
                        owner: owner(s.get(&row, "owner")),
                        amount: s.get(&row, "amount").map(str::to_string),
                        currency: s.get(&row, "currency").map(str::to_string),
                        stage: s.get(&row, "stage").map(str::to_string),
                        history: entered(s, &row),
                        outcome,
                        close: s.date(&row, "close", &mut bad),
                        last_stage_change: s.date(&row, "last_stage_change", &mut bad),
                        created: s.date(&row, "created", &mut bad),
                        lost_reason: s.get(&row, "lost_reason").map(str::to_string),
                        source: s.get(&row, "source").map(str::to_string),
                        kind: s.get(&row, "kind").map(str::to_string),
                        people: s.get(&row, "people").map(list).unwrap_or_default(),
                        custom: s.custom(&row),
                    };
                    if d.key.is_empty() {
                        d.key = format!(
                            "{} {}",
                            d.company
                                .as_deref()
                                .unwrap_or("")
                                .trim_start_matches('\u{0}'),
                            fold(&d.name)
                        );
                    }
                    out.deals.push(d);
                }
                FileKind::StageHistory => {
                    let (Some(deal), Some(at), Some(stage)) = (
                        s.get(&row, "deal"),
                        s.date(&row, "at", &mut bad),
                        s.get(&row, "stage"),
                    ) else {
                        out.problems.push(Problem::new(
                            s.origin(&row),
                            "a stage change without its deal, date or stage",
                        ));
                        continue;
                    };
                    history.push((
                        deal.to_string(),
                        s.origin(&row),
                        StageEntry {
                            at,
                            stage: stage.to_string(),
                            amount: s.get(&row, "amount").map(str::to_string),
                            close: s.date(&row, "close", &mut bad),
                        },
                    ));
                }
                FileKind::Activities => {
                    let (mut company, mut person, mut deal) = (
                        s.get(&row, "company").map(str::to_string),
                        s.get(&row, "person")
                            .or(s.get(&row, "who").filter(|w| w.starts_with("003")))
                            .map(str::to_string),
                        s.get(&row, "deal").map(str::to_string),
                    );
                    // Salesforce's WhatId: an opportunity (006…) or an account (001…).
                    if let Some(what) = s.get(&row, "what") {
                        if what.starts_with("006") {
                            deal = deal.or(Some(what.to_string()));
                        } else if what.starts_with("001") {
                            company = company.or(Some(what.to_string()));
                        }
                    }
                    if company.is_none() {
                        company = s
                            .get(&row, "company_name")
                            .map(|n| format!("\u{0}{}", fold(n)));
                    }
                    if person.is_none() {
                        person = s
                            .get(&row, "person_name")
                            .map(|n| format!("\u{0}{}", fold(n)));
                    }
                    if deal.is_none() {
                        deal = s
                            .get(&row, "deal_name")
                            .map(|n| format!("\u{0}{}", fold(n)));
                    }
                    let at = activity_at(s, &row);
                    let done = s.get(&row, "done").map(|d| {
                        matches!(
                            fold(d).as_str(),
                            "done"
                                | "completed"
                                | "true"
                                | "yes"
                                | "1"
                                | "x"
                                | "fait"
                                | "hecho"
                                | "erledigt"
                        )
                    });
                    let duration = s.get(&row, "duration").and_then(minutes).or_else(|| {
                        s.get(&row, "duration_s")
                            .and_then(|v| values::count(v, false))
                            .map(|secs| secs.div_ceil(60))
                    });
                    out.activities.push(Activity {
                        origin: s.origin(&row),
                        key: s.get(&row, "key").unwrap_or_default().to_string(),
                        kind: s.get(&row, "kind").unwrap_or("note").to_string(),
                        subject: s.get(&row, "subject").map(str::to_string),
                        body: s.get(&row, "body").map(str::to_string),
                        at,
                        created: s.date(&row, "created", &mut bad),
                        done,
                        done_at: s.date(&row, "done_at", &mut bad),
                        duration_min: duration,
                        owner: owner(s.get(&row, "owner")),
                        company,
                        person,
                        deal,
                    });
                }
            }
            out.problems.append(&mut bad);
        }
        out.files.push(FileRead {
            file: s.name.clone(),
            kind: kind.name().to_string(),
            rows,
        });
        if let Some((a, b)) = it.footer {
            out.files.push(FileRead {
                file: s.name.clone(),
                kind: format!("report footer left out (lines {a}-{b})"),
                rows: 0,
            });
        }
    }
    attach_history(&mut out, history);
    resolve_names(&mut out);
    let mut problems = std::mem::take(&mut out.problems);
    out.companies = dedupe(
        std::mem::take(&mut out.companies),
        |c| c.key.as_str(),
        |c| &c.origin,
        |c| {
            vec![
                ("name", c.name.clone()),
                ("domain", c.domain.clone().unwrap_or_default()),
                ("owner", c.owner.clone().unwrap_or_default()),
                ("status", c.status.clone().unwrap_or_default()),
            ]
        },
        "company",
        &mut problems,
    );
    out.people = dedupe(
        std::mem::take(&mut out.people),
        |p| p.key.as_str(),
        |p| &p.origin,
        |p| {
            vec![
                ("name", p.name.clone()),
                ("email", p.email.clone().unwrap_or_default()),
                ("company", p.company.clone().unwrap_or_default()),
            ]
        },
        "person",
        &mut problems,
    );
    out.deals = dedupe(
        std::mem::take(&mut out.deals),
        |d| d.key.as_str(),
        |d| &d.origin,
        |d| {
            vec![
                ("name", d.name.clone()),
                ("stage", d.stage.clone().unwrap_or_default()),
                ("amount", d.amount.clone().unwrap_or_default()),
                ("company", d.company.clone().unwrap_or_default()),
            ]
        },
        "deal",
        &mut problems,
    );
    out.problems = problems;
    out
}

fn excerpt(header: &[String]) -> String {
    let mut shown: Vec<&str> = header.iter().take(6).map(String::as_str).collect();
    if header.len() > 6 {
        shown.push("…");
    }
    shown.join(", ")
}

/// `"Weiß, Jürgen"` → `"Jürgen Weiß"`: a sheet's "Last, First".
fn person_name(raw: &str) -> String {
    match raw.split_once(',') {
        Some((last, first))
            if !first.trim().is_empty()
                && !last.trim().contains(' ')
                && !first.trim().contains(' ') =>
        {
            format!("{} {}", first.trim(), last.trim())
        }
        _ => raw.trim().to_string(),
    }
}

/// `00:30`, `1:30`, `45`: minutes.
fn minutes(raw: &str) -> Option<u64> {
    match raw.split_once(':') {
        Some((h, m)) => Some(h.trim().parse::<u64>().ok()? * 60 + m.trim().parse::<u64>().ok()?),
        None => values::count(raw, false),
    }
}

/// When an activity happens: its date, with its time when a separate column gives one.
fn activity_at(s: &Sheet, row: &super::table::Row) -> Option<Stamp> {
    let at = s.stamp(s.get(row, "at"))?;
    match (at, s.get(row, "at_time")) {
        (Stamp::Date(d), Some(t)) => chrono::NaiveTime::parse_from_str(t, "%H:%M")
            .ok()
            .map(|t| Stamp::Local(d.and_time(t)))
            .or(Some(at)),
        _ => Some(at),
    }
}

/// Won, lost or open, and when: Pipedrive's `Status` (Won/Lost/Open) with its won and lost
/// times, Salesforce's `IsClosed`/`IsWon` with the close date.
fn deal_outcome(s: &Sheet, row: &super::table::Row) -> Option<(Outcome, Option<Stamp>)> {
    let closed_at = s.stamp(s.get(row, "closed_at"));
    if let Some(status) = s.get(row, "outcome") {
        return match fold(status).as_str() {
            "won" => Some((Outcome::Won, s.stamp(s.get(row, "won_at")).or(closed_at))),
            "lost" => Some((Outcome::Lost, s.stamp(s.get(row, "lost_at")).or(closed_at))),
            _ => None,
        };
    }
    let truthy = |f: &str| {
        s.get(row, f)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    if s.has("is_closed") && truthy("is_closed") {
        let when = closed_at.or(s.stamp(s.get(row, "close")));
        return Some((
            if truthy("is_won") {
                Outcome::Won
            } else {
                Outcome::Lost
            },
            when,
        ));
    }
    None
}

/// HubSpot's `Date entered "<stage> (<pipeline>)"` columns of a row, oldest first.
fn entered(s: &Sheet, row: &super::table::Row) -> Vec<StageEntry> {
    let mut out: Vec<StageEntry> = s
        .roles
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Role::Entered(stage) => s.stamp(Some(row.get(i))).map(|at| StageEntry {
                at,
                stage: stage_in_header(&s.table.header[i]).unwrap_or_else(|| stage.clone()),
                amount: None,
                close: None,
            }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|e| e.at);
    out
}

/// The stage a HubSpot header names as written: `Date entered "Closed Won (Sales
/// Pipeline)"` → `Closed Won` (the pipeline is after the last ` (`, stage names may hold
/// parentheses of their own; the form without a pipeline is accepted).
fn stage_in_header(header: &str) -> Option<String> {
    let (_, quoted) = header.split_once('"')?;
    let inner = quoted.strip_suffix('"').unwrap_or(quoted);
    let stage = match inner.rsplit_once(" (") {
        Some((stage, pipeline)) if pipeline.ends_with(')') => stage,
        _ => inner,
    };
    Some(stage.trim().to_string())
}

/// Salesforce's stage history rows onto their deals: sorted by date, a row that does not
/// change the stage (an amount or close date change) kept as an update of that stage.
fn attach_history(out: &mut Export, mut history: Vec<(String, Origin, StageEntry)>) {
    history.sort_by(|a, b| (&a.0, a.2.at).cmp(&(&b.0, b.2.at)));
    let index: HashMap<String, usize> = out
        .deals
        .iter()
        .enumerate()
        .map(|(i, d)| (d.key.clone(), i))
        .collect();
    for (deal, at, entry) in history {
        match index.get(&deal) {
            Some(&i) => out.deals[i].history.push(entry),
            None => out.problems.push(Problem::new(
                at,
                format!("a stage change of deal `{deal}`, which is not in the export"),
            )),
        }
    }
}

/// References by name (`\0` + folded name) to keys: a sheet's company column, Pipedrive's
/// people and activities. An ambiguous or unknown name stays as it is and is reported by
/// the planner as a reference to nothing.
fn resolve_names(out: &mut Export) {
    fn index<'a>(
        names: impl Iterator<Item = (String, &'a str)>,
    ) -> BTreeMap<String, Option<String>> {
        let mut m: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (name, key) in names {
            m.entry(name)
                .and_modify(|k| {
                    if k.as_deref() != Some(key) {
                        *k = None;
                    }
                })
                .or_insert(Some(key.to_string()));
        }
        m
    }
    let companies = index(
        out.companies
            .iter()
            .map(|c| (fold(&c.name), c.key.as_str())),
    );
    let people = index(out.people.iter().map(|p| (fold(&p.name), p.key.as_str())));
    let deals = index(out.deals.iter().map(|d| (fold(&d.name), d.key.as_str())));
    let resolve = |r: &mut Option<String>, m: &BTreeMap<String, Option<String>>| {
        if let Some(name) = r.as_deref().and_then(|r| r.strip_prefix('\u{0}')) {
            if let Some(Some(key)) = m.get(name) {
                *r = Some(key.clone());
            }
        }
    };
    for p in &mut out.people {
        resolve(&mut p.company, &companies);
    }
    for d in &mut out.deals {
        resolve(&mut d.company, &companies);
    }
    for a in &mut out.activities {
        resolve(&mut a.company, &companies);
        resolve(&mut a.person, &people);
        resolve(&mut a.deal, &deals);
    }
}

/// A column's `[custom]` role.
pub fn custom(header: &str) -> Role {
    Role::Custom(custom_key(header))
}
