//! The mapping file of `sloop import crm --map FILE.toml`: how an export's values (their
//! stages, statuses, owners, sources, lost reasons, deal types, activity types,
//! currencies) become this CRM's, values for required fields the export lacks, and column
//! overrides. Parsed with every problem at its line; checked against `sloop.toml` (a stage
//! or member that does not exist is an error). `init` writes one to edit from an export.
//! Pure.

use std::collections::BTreeSet;

use toml::de::DeValue;

use super::export::{ColumnOverride, Export, Origin, Problem, Vendor};
use super::values::{self, fold};
use crate::config::{Config, Outcome};
use crate::diag::{one_of, suggest};
use crate::model::reader::FileReader;
use crate::model::ActivityKind;

/// How a deal's amount is an MRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Monthly,
    /// Divided by 12.
    Annual,
}

/// One `their value = our value` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Their value, folded.
    pub theirs: String,
    pub ours: String,
    pub at: Origin,
}

/// A value for a field the export does not give.
#[derive(Debug, Clone, PartialEq)]
pub enum FillValue {
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Date(chrono::NaiveDate),
}

#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The file, as shown in messages; empty when there is none.
    pub path: String,
    pub amount: Option<Amount>,
    /// The stage a deal starts in when the export does not say (default: the first entry
    /// stage).
    pub initial_stage: Option<String>,
    /// The status an account starts in (default: the first entry status).
    pub initial_status: Option<String>,
    /// Seconds east of UTC of the export's zone-less times, and of the commits.
    pub utc_offset: i32,
    /// The day the export was taken (default: its latest date).
    pub export_date: Option<chrono::NaiveDate>,
    pub stages: Vec<Entry>,
    pub statuses: Vec<Entry>,
    pub owners: Vec<Entry>,
    pub sources: Vec<Entry>,
    pub lost_reasons: Vec<Entry>,
    pub types: Vec<Entry>,
    pub activities: Vec<Entry>,
    /// Currency code → value of one unit in sloop.toml's currency.
    pub rates: Vec<(String, f64, Origin)>,
    /// Opportunity and account fields (dotted) → value.
    pub fill: Vec<(String, FillValue, Origin)>,
    pub columns: Vec<ColumnOverride>,
}

/// The sections of a mapping file, in the order `init` writes them.
pub const SECTIONS: &[&str] = &[
    "export",
    "deals",
    "accounts",
    "stages",
    "statuses",
    "owners",
    "sources",
    "lost_reasons",
    "types",
    "activities",
    "rates",
    "fill",
    "columns",
];

/// Fields `[fill]` may give: what a stage or status may require.
pub const FILL_FIELDS: &[&str] = &[
    "source",
    "lost_reason",
    "integration",
    "bant.budget",
    "bant.authority",
    "bant.need",
    "bant.timeline",
    "commit.accepted_on",
    "commit.start_date",
    "commit.onboarding_meeting",
    "commit.plan",
    "commit.pricing",
    "commit.users",
    "commit.billing_tool",
    "commit.invoice_scheduled",
];

impl Mapping {
    fn find<'m>(list: &'m [Entry], theirs: &str) -> Option<&'m Entry> {
        let f = fold(theirs);
        list.iter().find(|e| e.theirs == f)
    }

    pub fn stage(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.stages, theirs)
    }
    pub fn status(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.statuses, theirs)
    }
    pub fn owner(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.owners, theirs)
    }
    pub fn source(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.sources, theirs)
    }
    pub fn lost_reason(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.lost_reasons, theirs)
    }
    pub fn kind(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.types, theirs)
    }
    pub fn activity(&self, theirs: &str) -> Option<&Entry> {
        Self::find(&self.activities, theirs)
    }
    pub fn rate(&self, currency: &str) -> Option<f64> {
        self.rates
            .iter()
            .find(|(c, _, _)| c.eq_ignore_ascii_case(currency))
            .map(|(_, r, _)| *r)
    }
    pub fn filled(&self, field: &str) -> Option<&FillValue> {
        self.fill
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, v, _)| v)
    }
}

/// Parses and checks a mapping file against the CRM's config. Problems carry the file's
/// lines; a mapping with problems is still returned (the import reports everything, then
/// refuses).
pub fn parse(path: &str, text: &str, config: &Config) -> (Mapping, Vec<Problem>) {
    let mut m = Mapping {
        path: path.to_string(),
        ..Mapping::default()
    };
    let mut problems = Vec::new();
    let mut r = FileReader::new(path, text);
    let Some(doc) = r.parse(text) else {
        for d in r.diags {
            problems.push(Problem::new(
                Origin {
                    file: path.to_string(),
                    line: u64::from(d.line),
                },
                d.message,
            ));
        }
        return (m, problems);
    };
    let at = |span: std::ops::Range<usize>| Origin {
        file: path.to_string(),
        line: u64::from(r.loc(span).line),
    };
    let mut problem = |span: std::ops::Range<usize>, message: String, hint: Option<String>| {
        let mut p = Problem::new(at(span), message);
        p.hint = hint;
        problems.push(p);
    };
    for (key, value) in doc.iter() {
        let section = key.get_ref().as_ref();
        let DeValue::Table(table) = value.get_ref() else {
            problem(
                key.span(),
                format!("`{section}` must be a [section]"),
                Some(format!("sections: {}", SECTIONS.join(", "))),
            );
            continue;
        };
        if !SECTIONS.contains(&section) {
            let hint = match suggest(section, SECTIONS.iter().copied()) {
                Some(s) => format!("did you mean `[{s}]`? sections: {}", SECTIONS.join(", ")),
                None => format!("sections: {}", SECTIONS.join(", ")),
            };
            problem(
                key.span(),
                format!("unknown section `[{section}]`"),
                Some(hint),
            );
            continue;
        }
        for (k, v) in table.iter() {
            let theirs = k.get_ref().as_ref().to_string();
            let span = v.span();
            let text = match v.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                _ => None,
            };
            let entry = |ours: String| Entry {
                theirs: fold(&theirs),
                ours,
                at: at(span.clone()),
            };
            match section {
                "rates" => match number(v.get_ref()) {
                    Some(rate) if rate > 0.0 && rate.is_finite() => {
                        m.rates
                            .push((theirs.to_uppercase(), rate, at(span.clone())))
                    }
                    _ => problem(
                        span.clone(),
                        format!("the rate of `{theirs}` must be a number above 0"),
                        Some(format!(
                            "how much one {theirs} is in {}: `{theirs} = 0.92`",
                            config.currency
                        )),
                    ),
                },
                "fill" => {
                    if !FILL_FIELDS.contains(&theirs.as_str()) {
                        let hint = suggest(&theirs, FILL_FIELDS.iter().copied())
                            .map(|s| format!("did you mean `{s}`? "))
                            .unwrap_or_default();
                        problem(
                            k.span(),
                            format!("`[fill]` cannot give `{theirs}`"),
                            Some(format!("{hint}fields: {}", FILL_FIELDS.join(", "))),
                        );
                        continue;
                    }
                    match fill_value(v.get_ref()) {
                        Some(value) => m.fill.push((theirs.clone(), value, at(span.clone()))),
                        None => problem(
                            span.clone(),
                            format!(
                                "`[fill]` `{theirs}` must be a string, number, boolean or date"
                            ),
                            None,
                        ),
                    }
                }
                _ => {
                    let Some(ours) = text else {
                        problem(span.clone(), format!("`{theirs}` must be a string"), None);
                        continue;
                    };
                    match section {
                        "export" => match theirs.as_str() {
                            "utc_offset" => match offset(&ours) {
                                Some(secs) => m.utc_offset = secs,
                                None => problem(
                                    span.clone(),
                                    format!("`utc_offset` `{ours}` is not an offset"),
                                    Some("like `+01:00` or `-07:00`".into()),
                                ),
                            },
                            "date" => match ours.parse() {
                                Ok(d) => m.export_date = Some(d),
                                Err(_) => problem(
                                    span.clone(),
                                    format!("`date` `{ours}` is not a date (YYYY-MM-DD)"),
                                    None,
                                ),
                            },
                            _ => problem(
                                k.span(),
                                format!("unknown key `{theirs}` in [export]"),
                                Some("keys: utc_offset, date".into()),
                            ),
                        },
                        "deals" => match theirs.as_str() {
                            "amount" => match ours.as_str() {
                                "monthly" => m.amount = Some(Amount::Monthly),
                                "annual" => m.amount = Some(Amount::Annual),
                                _ => problem(
                                    span.clone(),
                                    format!("`amount` `{ours}` is not `monthly` or `annual`"),
                                    None,
                                ),
                            },
                            "initial" => match check_name(&ours, &config.stage_names()) {
                                Ok(()) => m.initial_stage = Some(ours),
                                Err(hint) => problem(
                                    span.clone(),
                                    format!("`{ours}` is not a stage of sloop.toml"),
                                    Some(hint),
                                ),
                            },
                            _ => problem(
                                k.span(),
                                format!("unknown key `{theirs}` in [deals]"),
                                Some("keys: amount, initial".into()),
                            ),
                        },
                        "accounts" => match theirs.as_str() {
                            "initial" => match check_name(&ours, &config.status_names()) {
                                Ok(()) => m.initial_status = Some(ours),
                                Err(hint) => problem(
                                    span.clone(),
                                    format!("`{ours}` is not a status of sloop.toml"),
                                    Some(hint),
                                ),
                            },
                            _ => problem(
                                k.span(),
                                format!("unknown key `{theirs}` in [accounts]"),
                                Some("keys: initial".into()),
                            ),
                        },
                        "columns" => {
                            let (file, column) = match theirs.rsplit_once(':') {
                                Some((f, c)) if f.contains('.') => {
                                    (Some(f.to_string()), c.to_string())
                                }
                                _ => (None, theirs.clone()),
                            };
                            m.columns.push(ColumnOverride {
                                file,
                                column,
                                field: ours,
                                at: at(span.clone()),
                            });
                        }
                        _ => {
                            let allowed: Vec<String> = match section {
                                "stages" => {
                                    config.stage_names().iter().map(|s| s.to_string()).collect()
                                }
                                "statuses" => config
                                    .status_names()
                                    .iter()
                                    .map(|s| s.to_string())
                                    .collect(),
                                "owners" => config.member_ids().map(str::to_string).collect(),
                                "sources" => config.values.sources.clone(),
                                "lost_reasons" => config.values.lost_reasons.clone(),
                                "types" => vec!["new".into(), "upsell".into()],
                                _ => ActivityKind::NAMES.iter().map(|s| s.to_string()).collect(),
                            };
                            // An empty value: known, and deliberately not mapped.
                            let open =
                                allowed.is_empty() && matches!(section, "sources" | "lost_reasons");
                            if !ours.is_empty() && !open && !allowed.contains(&ours) {
                                let what = match section {
                                    "stages" => "a stage of sloop.toml",
                                    "statuses" => "a status of sloop.toml",
                                    "owners" => "a team member",
                                    "sources" => "one of sloop.toml's sources",
                                    "lost_reasons" => "one of sloop.toml's lost reasons",
                                    "types" => "a deal type (new or upsell)",
                                    _ => "an activity kind",
                                };
                                let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
                                let hint = match suggest(&ours, names.iter().copied()) {
                                    Some(s) => {
                                        format!("did you mean `{s}`? allowed: {}", one_of(&names))
                                    }
                                    None => format!("allowed: {}", one_of(&names)),
                                };
                                problem(
                                    span.clone(),
                                    format!("`{ours}` is not {what}"),
                                    Some(hint),
                                );
                                continue;
                            }
                            let list = match section {
                                "stages" => &mut m.stages,
                                "statuses" => &mut m.statuses,
                                "owners" => &mut m.owners,
                                "sources" => &mut m.sources,
                                "lost_reasons" => &mut m.lost_reasons,
                                "types" => &mut m.types,
                                _ => &mut m.activities,
                            };
                            list.push(entry(ours));
                        }
                    }
                }
            }
        }
    }
    (m, problems)
}

fn check_name(name: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&name) {
        return Ok(());
    }
    Err(match suggest(name, allowed.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? allowed: {}", one_of(allowed)),
        None => format!("allowed: {}", one_of(allowed)),
    })
}

fn number(v: &DeValue) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i
            .as_str()
            .replace('_', "")
            .parse::<i64>()
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
        _ => None,
    }
}

fn fill_value(v: &DeValue) -> Option<FillValue> {
    Some(match v {
        DeValue::String(s) => FillValue::Text(s.to_string()),
        DeValue::Integer(i) => FillValue::Int(i.as_str().replace('_', "").parse().ok()?),
        DeValue::Float(_) => FillValue::Number(number(v)?),
        DeValue::Boolean(b) => FillValue::Bool(*b),
        DeValue::Datetime(d) => FillValue::Date(d.date?.to_string().parse().ok()?),
        _ => return None,
    })
}

/// `+01:00`, `-0700`, `Z`: seconds east of UTC.
pub fn offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s == "UTC" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// A guess at our value for theirs, from the words vendors use.
fn guess_stage(config: &Config, theirs: &str) -> Option<String> {
    let f = fold(theirs);
    let by_outcome = |o: Outcome| {
        config
            .stages
            .iter()
            .find(|s| s.outcome == Some(o))
            .map(|s| s.name.clone())
    };
    if let Some(s) = config.stages.iter().find(|s| fold(&s.name) == f) {
        return Some(s.name.clone());
    }
    let has = |w: &[&str]| w.iter().any(|x| f.contains(x));
    let named = |n: &str| config.stage(n).map(|s| s.name.clone());
    if has(&["won", "gagne", "ganado", "gewonnen"]) {
        return by_outcome(Outcome::Won);
    }
    if has(&["lost", "perdu", "perdido", "verloren"]) {
        return by_outcome(Outcome::Lost);
    }
    if has(&[
        "contract", "negotiat", "proposal", "quote", "decision", "closing", "commit",
    ]) {
        return named("closing");
    }
    if has(&["trial", "pilot", "poc", "demo", "presentation"]) {
        return named("trial").or_else(|| named("qualified"));
    }
    if has(&[
        "qualif",
        "needs",
        "analysis",
        "value proposition",
        "contact made",
    ]) {
        return named("qualified");
    }
    config
        .stages
        .iter()
        .find(|s| s.entry)
        .map(|s| s.name.clone())
}

fn guess_status(config: &Config, theirs: &str) -> Option<String> {
    let f = fold(theirs);
    if let Some(s) = config.statuses.iter().find(|s| fold(&s.name) == f) {
        return Some(s.name.clone());
    }
    let has = |w: &[&str]| w.iter().any(|x| f.contains(x));
    let named = |n: &str| config.status(n).map(|s| s.name.clone());
    if has(&["churn"]) {
        named("churn")
    } else if has(&["customer", "client"]) {
        named("customer")
    } else if has(&[
        "opportunit",
        "talks",
        "negotiat",
        "demo",
        "meeting",
        "hot",
        "warm",
    ]) {
        named("working")
    } else if has(&[
        "lead",
        "subscriber",
        "prospect",
        "qualified",
        "contact",
        "new",
    ]) {
        named("qualified_pool")
    } else if has(&["cold", "lost", "unqualified"]) {
        named("unqualified_pool")
    } else {
        None
    }
}

fn guess_source(config: &Config, theirs: &str) -> Option<String> {
    let f = fold(theirs);
    let sources = &config.values.sources;
    if let Some(s) = sources.iter().find(|s| fold(s) == f) {
        return Some(s.clone());
    }
    let has = |w: &[&str]| w.iter().any(|x| f.contains(x));
    let pick = |n: &str| sources.iter().find(|s| *s == n).cloned();
    if has(&["referr", "recommand", "word of mouth"]) {
        pick("referral")
    } else if has(&["partner"]) {
        pick("partnership")
    } else if has(&["upsell", "existing"]) {
        pick("upsell")
    } else if has(&[
        "organic", "web", "inbound", "direct", "paid", "ads", "search", "social", "seo", "site",
    ]) {
        pick("inbound")
    } else if has(&[
        "outbound",
        "purchased",
        "list",
        "trade show",
        "salon",
        "event",
        "offline",
        "cold",
    ]) {
        pick("outbound")
    } else {
        None
    }
}

fn guess_reason(config: &Config, theirs: &str) -> Option<String> {
    let f = fold(theirs);
    let reasons = &config.values.lost_reasons;
    if let Some(s) = reasons.iter().find(|s| fold(s) == f) {
        return Some(s.clone());
    }
    let has = |w: &[&str]| w.iter().any(|x| f.contains(x));
    let pick = |n: &str| reasons.iter().find(|s| *s == n).cloned();
    if has(&[
        "price",
        "prix",
        "precio",
        "preis",
        "expensive",
        "cher",
        "caro",
        "teuer",
    ]) {
        pick("price")
    } else if has(&["competitor", "concurren", "wettbewerb"]) {
        pick("competitor")
    } else if has(&["budget"]) {
        pick("no_budget")
    } else if has(&["timing", "later", "next year"]) {
        pick("timing")
    } else {
        pick("other")
    }
}

fn guess_activity(theirs: &str) -> &'static str {
    let f = fold(theirs);
    let has = |w: &[&str]| w.iter().any(|x| f.contains(x));
    if has(&["call", "phone", "appel", "llamada"]) {
        "call"
    } else if has(&["demo"]) {
        "demo"
    } else if has(&["meeting", "event", "lunch", "rendez", "reunion", "visit"]) {
        "meeting"
    } else if has(&["email", "mail"]) {
        "email"
    } else if has(&["note"]) {
        "note"
    } else {
        "task"
    }
}

/// A mapping file to edit, from an export: every value the export holds in each section,
/// with a guess where one is likely (marked `# guessed`) and an empty value where none is
/// (`# TODO`: an empty value is not mapped, and the import says so).
pub fn init(vendor: Vendor, export: &Export, config: &Config) -> String {
    let mut out = String::new();
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    out.push_str(&format!(
        "# sloop import crm --from {0}: how the export's values become this CRM's.\n\
         # Edit it, then: sloop import crm --from {0} FILES --map THIS_FILE --dry-run\n\
         # A value left empty (\"\") is not mapped: the import names every record that needs it.\n\n",
        vendor.name()
    ));
    out.push_str("[export]\n# The time zone of the export's times without one (and of the commits).\nutc_offset = \"+00:00\"\n# The day the export was taken (default: the latest date in it).\n# date = \"2024-05-21\"\n\n");
    let monthly = export
        .columns
        .iter()
        .any(|c| c.became.starts_with("mrr") && fold(&c.column).contains("mrr"));
    out.push_str(&format!(
        "[deals]\n# \"monthly\": the amount is an MRR; \"annual\": it is divided by 12.\namount = {}\n# The stage a deal starts in when the export does not say which.\ninitial = {}\n\n",
        q(if monthly { "monthly" } else { "annual" }),
        q(config.stages.iter().find(|s| s.entry).map_or("", |s| s.name.as_str()))
    ));
    out.push_str(&format!(
        "[accounts]\n# The status an account starts in.\ninitial = {}\n\n",
        q(config
            .statuses
            .iter()
            .find(|s| s.entry)
            .map_or("", |s| s.name.as_str()))
    ));
    let section = |out: &mut String,
                   title: &str,
                   comment: &str,
                   values: &[String],
                   guess: &dyn Fn(&str) -> Option<String>| {
        out.push_str(&format!("[{title}]\n# {comment}\n"));
        for v in values {
            match guess(v) {
                Some(g) => out.push_str(&format!("{} = {}  # guessed\n", q(v), q(&g))),
                None => out.push_str(&format!("{} = \"\"  # TODO\n", q(v))),
            }
        }
        out.push('\n');
    };
    let distinct = |items: Vec<&str>| -> Vec<String> {
        let mut seen = BTreeSet::new();
        items
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty() && seen.insert(fold(s)))
            .map(str::to_string)
            .collect()
    };
    let mut stages: Vec<&str> = Vec::new();
    for d in &export.deals {
        stages.extend(d.history.iter().map(|h| h.stage.as_str()));
        stages.extend(d.stage.as_deref());
    }
    section(
        &mut out,
        "stages",
        "their deal stage = our stage",
        &distinct(stages),
        &|v| guess_stage(config, v),
    );
    let statuses = distinct(
        export
            .companies
            .iter()
            .filter_map(|c| c.status.as_deref())
            .collect(),
    );
    section(
        &mut out,
        "statuses",
        "their lifecycle stage, label, type or status = our account status",
        &statuses,
        &|v| guess_status(config, v),
    );
    let mut owners: Vec<&str> = Vec::new();
    owners.extend(export.companies.iter().filter_map(|c| c.owner.as_deref()));
    owners.extend(export.people.iter().filter_map(|p| p.owner.as_deref()));
    owners.extend(export.deals.iter().filter_map(|d| d.owner.as_deref()));
    owners.extend(export.activities.iter().filter_map(|a| a.owner.as_deref()));
    section(
        &mut out,
        "owners",
        "their owner (email or name) = our team member",
        &distinct(owners),
        &|v| values::member(config, v).map(|(m, _)| m.id.to_string()),
    );
    let mut sources: Vec<&str> = Vec::new();
    sources.extend(export.companies.iter().filter_map(|c| c.source.as_deref()));
    sources.extend(export.people.iter().filter_map(|p| p.source.as_deref()));
    sources.extend(export.deals.iter().filter_map(|d| d.source.as_deref()));
    section(
        &mut out,
        "sources",
        "their source = one of sloop.toml's sources",
        &distinct(sources),
        &|v| guess_source(config, v),
    );
    let reasons = distinct(
        export
            .deals
            .iter()
            .filter_map(|d| d.lost_reason.as_deref())
            .collect(),
    );
    section(
        &mut out,
        "lost_reasons",
        "their lost reason = one of sloop.toml's (the text is kept in custom.lost_detail)",
        &reasons,
        &|v| guess_reason(config, v),
    );
    let types = distinct(
        export
            .deals
            .iter()
            .filter_map(|d| d.kind.as_deref())
            .collect(),
    );
    section(
        &mut out,
        "types",
        "their deal type = new or upsell",
        &types,
        &|v| {
            let f = fold(v);
            Some(
                if ["existing", "upsell", "upgrade", "expansion"]
                    .iter()
                    .any(|w| f.contains(w))
                {
                    "upsell"
                } else {
                    "new"
                }
                .to_string(),
            )
        },
    );
    let kinds = distinct(export.activities.iter().map(|a| a.kind.as_str()).collect());
    section(&mut out, "activities", "their activity type = email, call, meeting, demo, note or task (an activity not done is a task)", &kinds, &|v| Some(guess_activity(v).to_string()));
    out.push_str(&format!("[rates]\n# 1 unit of their currency = this much {}: every deal in another currency needs one.\n", config.currency));
    let mut currencies: BTreeSet<String> = BTreeSet::new();
    for d in &export.deals {
        if let Some(c) = d.currency.clone().or_else(|| {
            d.amount
                .as_deref()
                .and_then(|a| values::money(a, false)?.currency)
        }) {
            if !c.eq_ignore_ascii_case(&config.currency) {
                currencies.insert(c.to_uppercase());
            }
        }
    }
    for c in currencies {
        out.push_str(&format!("# {c} = 0.0  # TODO\n"));
    }
    out.push('\n');
    out.push_str(
        "[fill]\n# Values for fields a stage or status requires that the export does not give.\n",
    );
    let mut required: BTreeSet<&str> = BTreeSet::new();
    for s in &config.stages {
        required.extend(s.requires.iter().map(String::as_str));
        required.extend(s.require_true.iter().map(String::as_str));
    }
    out.push_str("source = \"outbound\"  # guessed: deals without a source\n");
    for f in FILL_FIELDS.iter().filter(|f| required.contains(**f)) {
        match *f {
            "commit.start_date" | "lost_reason" => {}
            "commit.invoice_scheduled" => out.push_str(&format!("# {f} = true\n")),
            "commit.users" => out.push_str(&format!("# {f} = 1\n")),
            "commit.accepted_on" | "commit.onboarding_meeting" => {
                out.push_str(&format!("# {f} = 2024-01-01\n"))
            }
            _ => out.push_str(&format!("{} = \"not in the export\"\n", q(f))),
        }
    }
    out.push_str("\n[columns]\n# Any column to a field, to custom.KEY, or to \"\" (not imported); see the summary.\n# \"companies.csv:Phone Number\" = \"custom.phone\"\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = format!(
            "{}\n[team.camille]\nname = \"Camille Durand\"\n",
            include_str!("../../config/default.toml")
        );
        Config::parse("sloop.toml", &text).0
    }

    #[test]
    fn a_mapping_is_read_and_checked_against_sloop_toml() {
        let text = "[deals]\namount = \"annual\"\n\n[stages]\n\"Appointment Scheduled\" = \"identified\"\n\"Contract Sent\" = \"closin\"\n\n[owners]\n\"Camille Durand\" = \"camille\"\n\"Nora\" = \"nora\"\n\n[rates]\nUSD = 0.92\nCHF = -1\n\n[fill]\n\"bant.budget\" = \"n/a\"\n\"bant.cost\" = \"x\"\n\n[stagse]\n";
        let (m, problems) = parse("map.toml", text, &config());
        assert_eq!(m.amount, Some(Amount::Annual));
        assert_eq!(
            m.stage("appointment  scheduled").map(|e| e.ours.as_str()),
            Some("identified")
        );
        assert_eq!(
            m.owner("CAMILLE DURAND").map(|e| e.ours.as_str()),
            Some("camille")
        );
        assert_eq!(m.rate("usd"), Some(0.92));
        assert_eq!(
            m.filled("bant.budget"),
            Some(&FillValue::Text("n/a".into()))
        );
        let got: Vec<(u64, &str, Option<&str>)> = problems
            .iter()
            .map(|p| (p.at.line, p.message.as_str(), p.hint.as_deref()))
            .collect();
        assert_eq!(got[0].0, 6);
        assert_eq!(got[0].1, "`closin` is not a stage of sloop.toml");
        assert!(
            got[0].2.unwrap().starts_with("did you mean `closing`?"),
            "{got:?}"
        );
        assert_eq!((got[1].0, got[1].1), (10, "`nora` is not a team member"));
        assert_eq!(
            (got[2].0, got[2].1),
            (14, "the rate of `CHF` must be a number above 0")
        );
        assert_eq!(
            (got[3].0, got[3].1),
            (18, "`[fill]` cannot give `bant.cost`")
        );
        assert_eq!((got[4].0, got[4].1), (20, "unknown section `[stagse]`"));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn offsets() {
        assert_eq!(offset("+01:00"), Some(3600));
        assert_eq!(offset("-0700"), Some(-7 * 3600));
        assert_eq!(offset("Z"), Some(0));
        assert_eq!(offset("1:00"), None);
    }

    #[test]
    fn guesses() {
        let c = config();
        assert_eq!(guess_stage(&c, "Closed Won").as_deref(), Some("won"));
        assert_eq!(guess_stage(&c, "Contract Sent").as_deref(), Some("closing"));
        assert_eq!(
            guess_stage(&c, "Appointment Scheduled").as_deref(),
            Some("identified")
        );
        assert_eq!(guess_status(&c, "Customer").as_deref(), Some("customer"));
        assert_eq!(
            guess_source(&c, "Organic Search").as_deref(),
            Some("inbound")
        );
        assert_eq!(
            guess_reason(&c, "Prix trop élevé").as_deref(),
            Some("price")
        );
        assert_eq!(guess_activity("Deadline"), "task");
    }
}
