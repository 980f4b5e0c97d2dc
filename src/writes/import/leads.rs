//! `sloop import leads`: leads from a lead list or a CRM's export (HubSpot, Salesforce
//! report and data export, Pipedrive, Apollo, Sales Navigator extractors, LinkedIn
//! connections, and French, Spanish and German spreadsheets). Header recognition, typing,
//! dedupe and owner assignment. Pure: bytes in, a plan out; the shell writes the files
//! (all or nothing).

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;

use super::table::{self, Encoding, Table, TableError};
use super::values::{self, fold, DayOrder};
use crate::crm::Crm;
use crate::escape;
use crate::model::{ids, Kind};
use crate::store::edit::{render_new, FieldValue};
use crate::store::{self, parse::parse_record};

/// Lead fields a column can map to (`custom.KEY` too, and nothing: `COLUMN=`).
pub const TARGETS: &[&str] = &[
    "email",
    "first_name",
    "last_name",
    "name",
    "company",
    "phone",
    "source",
    "status",
    "domain",
    "owner",
    "title",
    "channel",
    "created",
    "industry",
    "employees",
    "revenue",
    "country",
    "linkedin",
];

/// Enrichment columns: a lead has no such field, so they land in `[custom]` under the
/// same name (a converted lead's account takes them as fields).
const ENRICHMENT: &[&str] = &["industry", "employees", "revenue", "country", "linkedin"];

/// The field a header means, by its folded form (case, accents and punctuation aside):
/// the headers of HubSpot, Salesforce (report labels and API names), Pipedrive
/// (`Person - Email - Work`), Apollo, Sales Navigator extractors, LinkedIn connections, and
/// common French, Spanish and German spreadsheet headers.
pub fn recognise(header: &str) -> Option<&'static str> {
    let h = fold(header.trim_start_matches('\u{feff}'));
    // Pipedrive's `Person - …`, Salesforce's `Lead …` and HubSpot's `Contact …` labels.
    let h = ["person ", "lead ", "contact "]
        .iter()
        .find_map(|p| h.strip_prefix(p))
        .unwrap_or(&h);
    // Pipedrive's numbered repeats: `Person - Email - Work (2)`.
    let h = h
        .strip_suffix(" 2")
        .or_else(|| h.strip_suffix(" 3"))
        .unwrap_or(h);
    Some(match h {
        "email" | "email address" | "e mail" | "e mail address" | "e mail adresse"
        | "work email" | "email work" | "email other" | "email home" | "correo electronico"
        | "correo" | "courriel" | "adresse e mail" | "adresse email" | "mail" | "emailadresse" => {
            "email"
        }
        "first name" | "firstname" | "given name" | "prenom" | "nombre" | "vorname" => "first_name",
        "last name" | "lastname" | "surname" | "family name" | "nom" | "nom de famille"
        | "apellidos" | "apellido" | "nachname" => "last_name",
        "full name" | "name" | "contact name" | "lead name" | "nom complet" | "nombre completo" => {
            "name"
        }
        "company"
        | "company name"
        | "company account"
        | "organization"
        | "organisation"
        | "organization name"
        | "account name"
        | "company name for emails"
        | "societe"
        | "entreprise"
        | "raison sociale"
        | "empresa"
        | "firma"
        | "unternehmen" => "company",
        "phone"
        | "phone number"
        | "mobile phone"
        | "mobile phone number"
        | "mobile"
        | "mobilephone"
        | "telephone"
        | "work direct phone"
        | "first phone"
        | "corporate phone"
        | "home phone"
        | "other phone"
        | "phone work"
        | "phone mobile"
        | "phone home"
        | "phone other"
        | "telefono"
        | "telefon"
        | "portable"
        | "movil"
        | "handy" => "phone",
        "lead source" | "leadsource" | "source" | "original source" | "origine" | "origen"
        | "quelle" => "source",
        "lead status" | "status" | "statut" | "estado" => "status",
        "website"
        | "website url"
        | "domain"
        | "company domain"
        | "company domain name"
        | "company website"
        | "web"
        | "site web"
        | "site internet"
        | "sitio web"
        | "webseite"
        | "homepage" => "domain",
        "contact owner" | "record owner" | "lead owner" | "owner" | "proprietaire"
        | "propietario" | "inhaber" => "owner",
        "job title" | "jobtitle" | "title" | "position" | "fonction" | "poste" | "cargo"
        | "puesto" => "title",
        "channel" | "canal" => "channel",
        "create date"
        | "created"
        | "created date"
        | "createddate"
        | "date created"
        | "creation date"
        | "person created"
        | "date de creation"
        | "date du premier contact"
        | "fecha de alta"
        | "fecha de creacion"
        | "erstkontakt"
        | "erstellt am"
        | "connected on" => "created",
        "industry" | "company industry" | "secteur" | "secteur d activite" | "sector"
        | "branche" | "industrie" => "industry",
        "employees"
        | "number of employees"
        | "numberofemployees"
        | "company size"
        | "effectif"
        | "n empleados"
        | "no empleados"
        | "num empleados"
        | "empleados"
        | "mitarbeiter"
        | "headcount" => "employees",
        "annual revenue" | "annualrevenue" | "revenue" | "ca annuel" | "chiffre d affaires"
        | "umsatz" | "facturacion" | "ingresos" => "revenue",
        "country" | "country region" | "pays" | "pais" | "land" | "company country" => "country",
        "linkedin" | "linkedin url" | "person linkedin url" | "linkedin profile" | "url" => {
            "linkedin"
        }
        _ => return None,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// The line of the file the row starts on (1-based, header and preamble counted).
    pub line: u64,
    pub reason: String,
    pub row: Vec<String>,
}

/// What a column became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub column: String,
    /// The lead field (`custom.KEY` for enrichment and `--map COLUMN=custom.KEY`), or
    /// `None`: not imported.
    pub field: Option<String>,
}

/// What an import would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// New lead files: (id, path, text).
    pub leads: Vec<(String, String, String)>,
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    pub header: Vec<String>,
    /// Every column of the header and what it became.
    pub columns: Vec<Column>,
    /// How the file was read: encoding and separator.
    pub encoding: Option<Encoding>,
    pub separator: u8,
    /// The line of the header (after a preamble, not 1).
    pub header_line: u64,
    /// The lines of a report footer left out ("Copyright…", "Generated By…").
    pub footer: Option<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Table(#[from] TableError),
    #[error("no column maps to a lead email or company (header: {})", header_excerpt(.0))]
    NoMapping(Vec<String>),
    #[error("`--map {0}`: {1}")]
    BadMap(String, String),
    #[error("`{0}` is not a team member")]
    UnknownMember(String),
    #[error("no one to assign leads to: the team has no sdr; pass --assign ID,ID")]
    NoAssignee,
}

/// The first columns of a header, each cut short, for a message: a file with a million
/// columns is not echoed whole.
fn header_excerpt(header: &[String]) -> String {
    const COLUMNS: usize = 20;
    let mut shown: Vec<String> = header
        .iter()
        .take(COLUMNS)
        .map(|h| escape::excerpt(h, 60).into_owned())
        .collect();
    if header.len() > COLUMNS {
        shown.push(format!("… and {} more columns", header.len() - COLUMNS));
    }
    shown.join(", ")
}

/// How much of a rejection reason is kept: reasons quote the row's values.
const REASON_CHARS: usize = 300;

impl Plan {
    /// The rejected rows as CSV: `line`, `reason`, then the file's own columns. A row
    /// shorter than the header (or unreadable) is padded with empty cells and a longer one
    /// keeps its extra cells under unnamed columns, so every line has the same width; every
    /// cell goes through `escape::csv_cell` (the file is meant to be opened in a
    /// spreadsheet, fixed and imported again, which drops those quotes).
    pub fn rejected_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let width = self
            .rejected
            .iter()
            .map(|r| r.row.len())
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["line", "reason"];
        header.extend(self.header.iter().map(String::as_str));
        header.resize(width + 2, "");
        w.write_record(header.iter().map(|c| escape::csv_cell(c).into_owned()))?;
        for r in &self.rejected {
            let line = r.line.to_string();
            let mut row = vec![line.as_str(), r.reason.as_str()];
            row.extend(r.row.iter().map(String::as_str));
            row.resize(width + 2, "");
            w.write_record(row.iter().map(|c| escape::csv_cell(c).into_owned()))?;
        }
        w.into_inner().map_err(|e| e.into_error().into())
    }
}

pub struct Options<'a> {
    pub source: Option<&'a str>,
    pub assign: Vec<String>,
    /// `COLUMN=field` overrides (`custom.KEY`, or an empty field: not imported).
    pub map: Vec<(String, String)>,
    /// Their value → ours, for `source`, `owner` and `status` (from a mapping file).
    pub values: Vec<(String, String, String)>,
    /// Read the file in this encoding instead of detecting it.
    pub encoding: Option<Encoding>,
    pub today: NaiveDate,
}

/// What a column is read as.
fn target_of(field: &str) -> Result<String, String> {
    if field.is_empty() || TARGETS.contains(&field) {
        return Ok(field.to_string());
    }
    if let Some(key) = field.strip_prefix("custom.") {
        if !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Ok(field.to_string());
        }
    }
    Err(format!(
        "lead fields: {}, or custom.KEY, or nothing (`COLUMN=`) to leave it out",
        TARGETS.join(", ")
    ))
}

/// A lead status from a vendor's: HubSpot's lead statuses, Salesforce's defaults
/// (`Open - Not Contacted`, `Working - Contacted`, `Closed - Not Converted`), Pipedrive's.
fn lead_status(raw: &str) -> Option<&'static str> {
    let f = fold(raw);
    Some(match f.as_str() {
        "new" | "open" | "open not contacted" | "not contacted" | "nouveau" | "nuevo" | "neu"
        | "to contact" | "a contacter" => "new",
        "working"
        | "working contacted"
        | "contacted"
        | "in progress"
        | "attempted to contact"
        | "connected"
        | "open deal"
        | "en cours"
        | "en curso"
        | "in bearbeitung" => "working",
        "rejected"
        | "unqualified"
        | "closed not converted"
        | "not converted"
        | "bad timing"
        | "disqualified"
        | "lost"
        | "rejete"
        | "descartado"
        | "abgelehnt" => "rejected",
        "converted" | "closed converted" => "converted",
        _ => return None,
    })
}

/// Plans the import of `bytes` into `crm`. `progress` is called every 1,000 rows with the
/// line reached.
pub fn plan(
    crm: &Crm,
    bytes: &[u8],
    opts: &Options,
    mut progress: impl FnMut(u64),
) -> Result<Plan, ImportError> {
    let mut overrides: Vec<(String, String)> = Vec::new();
    for (col, field) in &opts.map {
        let field = field.trim();
        let target =
            target_of(field).map_err(|e| ImportError::BadMap(format!("{col}={field}"), e))?;
        overrides.push((col.trim().to_string(), target));
    }
    let is_header = |cells: &[String]| {
        cells.iter().any(|c| {
            recognise(c).is_some() || overrides.iter().any(|(o, _)| o.eq_ignore_ascii_case(c))
        })
    };
    let table = Table::read(bytes, opts.encoding, &is_header)?;
    let header = table.header.clone();
    let mut columns: Vec<Option<String>> = header
        .iter()
        .map(|h| recognise(h).map(str::to_string))
        .collect();
    for (col, target) in &overrides {
        let i = table.column(col).ok_or_else(|| {
            ImportError::BadMap(
                format!("{col}={target}"),
                format!("no column `{col}` in the header"),
            )
        })?;
        columns[i] = (!target.is_empty()).then(|| target.clone());
    }
    let has = |f: &str| columns.iter().any(|c| c.as_deref() == Some(f));
    if !has("email") && !has("company") {
        return Err(ImportError::NoMapping(header));
    }
    let assignees: Vec<String> = if opts.assign.is_empty() {
        crm.config
            .team
            .iter()
            .filter(|m| m.role == Some(crate::config::Role::Sdr))
            .map(|m| m.id.to_string())
            .collect()
    } else {
        for a in &opts.assign {
            if crm.config.member(a).is_none() {
                return Err(ImportError::UnknownMember(a.clone()));
            }
        }
        opts.assign.clone()
    };
    // European files (`;`, tab) write `1.500` for fifteen hundred and day-first dates.
    let european = table.separator != b',';
    let created_col = columns.iter().position(|c| c.as_deref() == Some("created"));
    let order = created_col
        .and_then(|c| {
            values::day_order(
                table
                    .rows()
                    .filter_map(Result::ok)
                    .map(|r| r.get(c).to_string())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            )
        })
        .unwrap_or(if european || table.encoding != Encoding::Utf8 {
            DayOrder::DayFirst
        } else {
            DayOrder::MonthFirst
        });
    let mapped = |field: &str, theirs: &str| -> Option<String> {
        let f = fold(theirs);
        opts.values
            .iter()
            .find(|(k, t, _)| k == field && fold(t) == f)
            .map(|(_, _, ours)| ours.clone())
    };
    let mut seen_emails: HashSet<String> = crm
        .leads
        .iter()
        .filter_map(|l| l.email.clone())
        .chain(crm.contacts.iter().filter_map(|c| c.email.clone()))
        .map(|e| e.to_lowercase())
        .collect();
    let mut seen_companies: HashSet<String> = crm
        .leads
        .iter()
        .filter(|l| l.email.is_none())
        .filter_map(|l| l.company.clone())
        .map(|c| fold(&c))
        .collect();
    let mut taken: HashSet<String> = crm
        .ids(Kind::Lead)
        .into_iter()
        .map(|(_, id)| id.to_string())
        .collect();
    let mut out = Plan {
        header: header.clone(),
        columns: header
            .iter()
            .zip(&columns)
            .map(|(h, c)| Column {
                column: h.clone(),
                field: c.as_ref().map(|f| {
                    if ENRICHMENT.contains(&f.as_str()) {
                        format!("custom.{f}")
                    } else {
                        f.clone()
                    }
                }),
            })
            .collect(),
        encoding: Some(table.encoding),
        separator: table.separator,
        header_line: table.header_line,
        ..Plan::default()
    };
    let mut turn = 0usize;
    let mut next_progress = 1000u64;
    let mut rows = table.rows();
    for row in rows.by_ref() {
        let row = match row {
            Ok(r) => r,
            Err(TableError::Csv { line, message }) => {
                out.rejected.push(Rejected {
                    line,
                    reason: format!("unreadable row: {message}"),
                    row: Vec::new(),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if row.line >= next_progress {
            progress(row.line);
            next_progress = (row.line / 1000 + 1) * 1000;
        }
        let line = row.line;
        // A cell that `rejected_csv` neutralised reads back as it was.
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| escape::csv_cell_read(c).to_string())
            .collect();
        // The first value of a field, in column order; `[not provided]` is Salesforce's
        // placeholder for a required company.
        let get = |field: &str| -> Option<String> {
            columns
                .iter()
                .zip(&cells)
                .filter(|(c, v)| {
                    c.as_deref() == Some(field)
                        && !v.is_empty()
                        && !v.eq_ignore_ascii_case("[not provided]")
                })
                .map(|(_, v)| v.clone())
                .next()
        };
        let reject = |out: &mut Plan, reason: String| {
            out.rejected.push(Rejected {
                line,
                reason: escape::excerpt(&reason, REASON_CHARS).into_owned(),
                row: cells.clone(),
            });
        };
        let email = get("email").map(|e| e.to_lowercase());
        let company = get("company");
        let name = get("name").or_else(|| {
            let full = [get("first_name"), get("last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        });
        if email.is_none() && company.is_none() {
            reject(&mut out, "no email and no company".into());
            continue;
        }
        let dup = match (&email, &company) {
            (Some(e), _) => seen_emails.contains(e),
            (None, Some(c)) => seen_companies.contains(&fold(c)),
            (None, None) => false,
        };
        if dup {
            out.duplicates += 1;
            continue;
        }
        let mut round_robin = false;
        let owner = match get("owner") {
            Some(raw) => {
                let named = mapped("owner", &raw).unwrap_or(raw.clone());
                match values::member(&crm.config, &named) {
                    Some((m, _)) => Some(m.id.to_string()),
                    None => {
                        reject(
                            &mut out,
                            format!("owner `{raw}` is not a team member (by id, email or name): map it, or leave the owner column out (`--map \"{}=\"`) to assign round-robin", owner_column(&header, &columns)),
                        );
                        continue;
                    }
                }
            }
            None => {
                round_robin = true;
                assignees.get(turn % assignees.len().max(1)).cloned()
            }
        };
        let source = match (opts.source, get("source")) {
            (Some(s), _) => Some(s.to_string()),
            (None, None) => None,
            (None, Some(raw)) => {
                let sources = &crm.config.values.sources;
                let ours = mapped("source", &raw).unwrap_or_else(|| fold(&raw).replace(' ', "_"));
                if sources.is_empty() || sources.contains(&ours) {
                    Some(ours)
                } else {
                    reject(
                        &mut out,
                        format!(
                            "source `{raw}` is not one of sloop.toml's sources ({}): pass --source, or map it",
                            crate::diag::one_of(sources)
                        ),
                    );
                    continue;
                }
            }
        };
        let status = match get("status") {
            None => "new".to_string(),
            Some(raw) => match mapped("status", &raw)
                .or_else(|| lead_status(&raw).map(str::to_string))
            {
                Some(s) => s,
                None => {
                    reject(
                        &mut out,
                        format!("lead status `{raw}` is not one of new, working, rejected: map it"),
                    );
                    continue;
                }
            },
        };
        let domain = get("domain").and_then(|d| values::domain(&d));
        let created = match get("created") {
            None => opts.today,
            Some(raw) => match values::stamp(&raw, order) {
                Some(s) => s.date(0),
                None => {
                    reject(&mut out, format!("`{raw}` is not a date"));
                    continue;
                }
            },
        };
        let mut fields: Vec<(String, FieldValue)> = Vec::new();
        for (k, v) in [
            ("name", name.clone()),
            ("email", email.clone()),
            ("company", company.clone()),
            ("domain", domain),
            ("phone", get("phone").and_then(|p| values::phone(&p))),
            ("title", get("title")),
            ("source", source),
            ("channel", get("channel")),
            ("owner", owner),
        ] {
            if let Some(v) = v {
                fields.push((k.to_string(), FieldValue::Str(v)));
            }
        }
        fields.push(("status".into(), FieldValue::Str(status)));
        fields.push(("created".into(), FieldValue::Date(created)));
        for f in ENRICHMENT {
            let Some(raw) = get(f) else { continue };
            let value = match *f {
                "employees" => values::count(&raw, european).map_or(FieldValue::Str(raw), |n| {
                    FieldValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
                }),
                "revenue" => {
                    values::number(&raw, european).map_or(FieldValue::Str(raw), number_value)
                }
                "country" => FieldValue::Str(values::country(&raw).map_or(raw, str::to_string)),
                _ => FieldValue::Str(raw),
            };
            fields.push((format!("custom.{f}"), value));
        }
        for (i, c) in columns.iter().enumerate() {
            if let Some(key) = c.as_deref().filter(|c| c.starts_with("custom.")) {
                if let Some(v) = cells.get(i).filter(|v| !v.is_empty()) {
                    fields.push((key.to_string(), FieldValue::Str(v.clone())));
                }
            }
        }
        let base = ids::slugify(&format!(
            "{} {}",
            created,
            company
                .clone()
                .or(name)
                .or(email.clone())
                .unwrap_or_default()
        ));
        let id = ids::first_free(&base, |c| taken.contains(c));
        let borrowed: Vec<(&str, FieldValue)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let text = match render_new(&borrowed) {
            Ok(t) => t,
            Err(e) => {
                reject(&mut out, e.to_string());
                continue;
            }
        };
        let path = store::record_path(Kind::Lead, &id, crm.config.shard);
        let (_, diags) = parse_record(Kind::Lead, &id, &path, &text, &crm.config);
        if let Some(d) = diags.iter().find(|d| d.is_error()) {
            reject(&mut out, d.message.clone());
            continue;
        }
        match (&email, &company) {
            (Some(e), _) => seen_emails.insert(e.clone()),
            (None, Some(c)) => seen_companies.insert(fold(c)),
            (None, None) => false,
        };
        taken.insert(id.clone());
        if round_robin {
            turn += 1;
        }
        out.leads.push((id, path, text));
    }
    out.footer = rows.footer;
    Ok(out)
}

fn owner_column(header: &[String], columns: &[Option<String>]) -> String {
    header
        .iter()
        .zip(columns)
        .find(|(_, c)| c.as_deref() == Some("owner"))
        .map_or_else(String::new, |(h, _)| h.clone())
}

fn number_value(x: f64) -> FieldValue {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        FieldValue::Int(x as i64)
    } else {
        FieldValue::Float(x)
    }
}

/// The separator's name, for the summary.
pub fn separator_name(plan: &Plan) -> &'static str {
    table::separator_name(plan.separator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{load, Memory};

    fn crm() -> Crm {
        let files = [
            ("sloop.toml", "[team.lea]\nname = \"Léa Moreau\"\nrole = \"sdr\"\nemail = \"lea@x.io\"\n[team.tom]\nname = \"Tom\"\nrole = \"sdr\"\n[values]\nsources = [\"outbound\", \"inbound\"]\n"),
            ("leads/old.toml", "email = \"known@acme.io\"\n"),
        ];
        load(&Memory::new(
            files.iter().map(|(p, c)| (*p, c.as_bytes().to_vec())),
        ))
        .unwrap()
        .crm
    }

    fn opts() -> Options<'static> {
        Options {
            source: None,
            assign: vec![],
            map: vec![],
            values: vec![],
            encoding: None,
            today: "2026-11-26".parse().unwrap(),
        }
    }

    #[test]
    fn recognises_crm_export_and_spreadsheet_headers() {
        for (h, f) in [
            ("Email Address", "email"),
            ("\u{feff}First Name", "first_name"),
            ("Company Name", "company"),
            ("Contact owner", "owner"),
            ("Record Owner", "owner"),
            ("Organization", "company"),
            ("Company / Account", "company"),
            ("Person - Name", "name"),
            ("Person - Email - Work", "email"),
            ("Person - Email - Work (2)", "email"),
            ("Person - Organization", "company"),
            ("Person - Owner", "owner"),
            ("Lead Status", "status"),
            ("First Phone", "phone"),
            ("Company Domain", "domain"),
            ("Prénom", "first_name"),
            ("Société", "company"),
            ("E-mail", "email"),
            ("Correo electrónico", "email"),
            ("Nº empleados", "employees"),
            ("E-Mail-Adresse", "email"),
            ("Umsatz (€)", "revenue"),
            ("CA annuel (€)", "revenue"),
            ("# Employees", "employees"),
            ("Person Linkedin Url", "linkedin"),
            ("Connected On", "created"),
        ] {
            assert_eq!(recognise(h), Some(f), "{h}");
        }
        assert_eq!(recognise("Favourite colour"), None);
        assert_eq!(recognise("Lead ID"), None);
    }

    #[test]
    fn dedupes_assigns_round_robin_and_rejects_on_the_file_line() {
        let csv = "Email;First Name;Last Name;Company;Website\r\nknown@ACME.io;A;B;Acme;\r\nnew@beta.io;Bea;Ta;Beta;https://www.Beta.io/x\r\nNEW@beta.io;Bea;Ta;Beta;\r\n;;;;\r\nbad-email;\"C\r\nC\";D;Gamma;\r\nx@delta.io;;;Delta;\r\n";
        let p = plan(&crm(), csv.as_bytes(), &opts(), |_| {}).unwrap();
        assert_eq!(p.duplicates, 2);
        assert_eq!(p.leads.len(), 2);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].line, 6);
        assert!(
            p.leads[0].2.contains("name = \"Bea Ta\"")
                && p.leads[0].2.contains("domain = \"beta.io\"")
                && p.leads[0].2.contains("owner = \"lea\""),
            "{}",
            p.leads[0].2
        );
        assert!(
            p.leads[1].2.contains("owner = \"tom\""),
            "round robin: {}",
            p.leads[1].2
        );
        assert_eq!(p.leads[0].0, "2026-11-26-beta");
    }

    #[test]
    fn owners_by_name_unknown_owners_and_sources_are_row_errors() {
        let csv = "Email,Company,Lead Owner,Lead Source\na@a.io,A,Léa Moreau,\nb@b.io,B,Nora Founder,\nc@c.io,C,,Purchased List\nd@d.io,D,,outbound\n";
        let p = plan(&crm(), csv.as_bytes(), &opts(), |_| {}).unwrap();
        assert!(p.leads[0].2.contains("owner = \"lea\""), "{}", p.leads[0].2);
        let reasons: Vec<(u64, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(reasons[0].0, 3);
        assert!(
            reasons[0]
                .1
                .starts_with("owner `Nora Founder` is not a team member"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1].0, 4);
        assert!(
            reasons[1]
                .1
                .starts_with("source `Purchased List` is not one of sloop.toml's sources"),
            "{reasons:?}"
        );
        let mut o = opts();
        o.values = vec![
            ("source".into(), "purchased list".into(), "outbound".into()),
            ("owner".into(), "Nora Founder".into(), "tom".into()),
        ];
        let p = plan(&crm(), csv.as_bytes(), &o, |_| {}).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert!(p.leads[1].2.contains("owner = \"tom\""));
        assert!(p.leads[2].2.contains("source = \"outbound\""));
    }

    #[test]
    fn enrichment_lands_in_custom_typed() {
        let csv = "E-mail;Société;CA annuel (€);Effectif;Pays;Date du premier contact\r\nx@y.fr;Y;480\u{a0}000,50;20-25;Allemagne;04/03/2024\r\n";
        let p = plan(&crm(), csv.as_bytes(), &opts(), |_| {}).unwrap();
        let text = &p.leads[0].2;
        assert!(text.contains("revenue = 480000.5"), "{text}");
        assert!(text.contains("employees = \"20-25\""), "{text}");
        assert!(text.contains("country = \"DE\""), "{text}");
        assert!(text.contains("created = 2024-03-04"), "{text}");
        assert_eq!(p.separator, b';');
        assert_eq!(
            p.columns
                .iter()
                .map(|c| c.field.as_deref())
                .collect::<Vec<_>>(),
            [
                Some("email"),
                Some("company"),
                Some("custom.revenue"),
                Some("custom.employees"),
                Some("custom.country"),
                Some("created")
            ]
        );
    }

    #[test]
    fn a_rejected_row_is_reported_at_its_line_of_the_file() {
        // Found with the fuzz harness's seeds: a quoted cell over two lines shifted every
        // later row's line by one.
        let csv = "Email,Company,Title\n\"a@x.io\",Acme,\"Head of\nSales\"\nbad-email,Beta,CEO\n";
        let p = plan(&crm(), csv.as_bytes(), &opts(), |_| {}).unwrap();
        assert_eq!(p.leads.len(), 1);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].line, 4);
        // Blank lines, CRLF and lone CRs count as lines too.
        for (csv, line) in [
            ("Email\n\nbad-email\n", 3),
            ("Email\r\n\r\nbad-email\r\n", 3),
            ("Email\rx@y.io\rbad-email\r", 3),
            ("Email;Company\r;Acme\nbad-email;Beta\n", 3),
        ] {
            let p = plan(&crm(), csv.as_bytes(), &opts(), |_| {}).unwrap();
            assert_eq!(p.rejected[0].line, line, "{csv:?}");
        }
    }

    #[test]
    fn empty_binary_and_unmapped_files_are_errors() {
        assert!(matches!(
            plan(&crm(), b"", &opts(), |_| {}),
            Err(ImportError::Table(TableError::Empty))
        ));
        assert!(matches!(
            plan(&crm(), b"a\0b", &opts(), |_| {}),
            Err(ImportError::Table(TableError::NotText))
        ));
        assert!(matches!(
            plan(&crm(), b"Colour,Size\nred,3\n", &opts(), |_| {}),
            Err(ImportError::NoMapping(_))
        ));
        let mut o = opts();
        o.map = vec![
            ("Colour".into(), "company".into()),
            ("Size".into(), "custom.size".into()),
        ];
        let p = plan(&crm(), b"Colour,Size\nred,3\n", &o, |_| {}).unwrap();
        assert_eq!(p.leads.len(), 1);
        assert!(p.leads[0].2.contains("size = \"3\""), "{}", p.leads[0].2);
        o.map = vec![("Colour".into(), "colour".into())];
        assert!(matches!(
            plan(&crm(), b"Colour,Size\nred,3\n", &o, |_| {}),
            Err(ImportError::BadMap(..))
        ));
    }
}
