//! Structured inputs: record files, `sloop.toml`, CSV exports and emails built from their
//! grammar, mostly well-formed so that the cases reach the schema, the rules and the
//! metrics rather than stopping at the first syntax error (the mutations take care of
//! broken syntax). Values lean to the edges: far dates, huge numbers, control characters.

use proptest::prelude::*;
use proptest::sample::select;

use sloop::store::parse::{ACCOUNT_KEYS, ACTIVITY_KEYS, CONTACT_KEYS, LEAD_KEYS, OPPORTUNITY_KEYS};

// ---------------------------------------------------------------------------------------
// Scalars

/// Characters that break things: quotes, escapes, controls, line separators, a BOM, wide
/// and combining characters, right-to-left marks.
const SPICY: &[char] = &[
    '"', '\'', '\\', '\n', '\r', '\t', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}', '\u{feff}',
    '\u{200b}', '\u{202e}', '\u{301}', 'é', 'ß', 'İ', 'ﬁ', '😀', '=', '#', '[', ']', '{', '}', ',',
    ';', '@', '<', '>', '.', '-', '_', '/', ' ', '+', '%',
];

/// Free text: mostly plain words, sometimes spicy characters, sometimes long.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z][a-zA-Z0-9 .,'-]{0,24}",
        2 => prop::collection::vec(
            prop_oneof![3 => proptest::char::range('a', 'z'), 2 => select(SPICY)],
            0..30
        )
        .prop_map(|v| v.into_iter().collect()),
        1 => ("[a-z]{1,8}", 100usize..3000).prop_map(|(s, n)| s.repeat(n / s.len().max(1))),
        1 => Just(String::new()),
        1 => Just("   ".to_string()),
        1 => any::<String>(),
    ]
}

/// A TOML string literal for `s`: basic, literal or multi-line, escaped as TOML requires.
pub fn toml_string(s: &str, style: u8) -> String {
    let literal_ok =
        !s.contains(['\'', '\n', '\r']) && !s.chars().any(|c| c.is_control() && c != '\t');
    match style % 4 {
        1 if literal_ok => format!("'{s}'"),
        2 if !s.contains("'''")
            && !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n'))
            && !s.ends_with('\'') =>
        {
            format!("'''\n{s}'''")
        }
        3 => {
            let mut out = String::from("\"\"\"\n");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push('\n'),
                    c if c.is_control() && c != '\t' => {
                        out.push_str(&format!("\\u{:04X}", c as u32))
                    }
                    c => out.push(c),
                }
            }
            out.push_str("\"\"\"");
            out
        }
        _ => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

pub fn string_value() -> impl Strategy<Value = String> {
    (text(), any::<u8>()).prop_map(|(s, style)| toml_string(&s, style))
}

/// Years TOML can write, weighted to the edges.
fn year() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 1990u32..2040,
        1 => 0u32..=9999,
        1 => select(vec![0u32, 1, 1969, 1970, 1999, 2000, 2038, 9998, 9999]),
    ]
}

/// A TOML date, sometimes not a real one (`2026-02-30`, `2026-13-01`).
pub fn date() -> impl Strategy<Value = String> {
    (
        year(),
        prop_oneof![8 => 1u32..=12, 1 => 0u32..=13],
        prop_oneof![8 => 1u32..=28, 1 => 0u32..=32],
    )
        .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

/// A real date as text.
pub fn real_date() -> impl Strategy<Value = String> {
    (year(), 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

/// A TOML date-time: local or with an offset, with or without fractions.
pub fn date_time() -> impl Strategy<Value = String> {
    (
        date(),
        0u32..24,
        0u32..60,
        0u32..61,
        prop_oneof![
            Just(String::new()),
            Just(".5".to_string()),
            Just(".999999999".to_string())
        ],
        prop_oneof![
            Just(String::new()),
            Just("Z".to_string()),
            (any::<bool>(), 0u32..24, 0u32..60)
                .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
        ],
    )
        .prop_map(|(d, h, mi, s, frac, off)| format!("{d}T{h:02}:{mi:02}:{s:02}{frac}{off}"))
}

pub fn integer() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0i64..5000).prop_map(|n| n.to_string()),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => select(vec![
            "0", "-0", "+1", "-1", "9223372036854775807", "-9223372036854775808", "0x7fffffffffffffff",
            "0xff", "0o777", "0b1010", "1_000_000", "4294967295", "4294967296", "255", "256",
        ])
        .prop_map(str::to_string),
    ]
}

pub fn float() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0.0f64..100_000.0).prop_map(|x| format!("{x:.2}")),
        1 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| format!("{x:e}")),
        1 => select(vec![
            "nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e308", "1.797e308", "-0.0", "5e-324",
            "1e-400", "0.1", "1_000.5", "9007199254740993.0",
        ])
        .prop_map(str::to_string),
    ]
}

/// Any TOML value, nested up to a small depth.
pub fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => string_value(),
        1 => integer(),
        1 => float(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => date(),
        1 => date_time(),
        1 => (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}:00")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..5).prop_map(|kv| {
                let mut seen = Vec::new();
                let body: Vec<String> = kv
                    .into_iter()
                    .filter(|(k, _)| {
                        let fresh = !seen.contains(k);
                        seen.push(k.clone());
                        fresh
                    })
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

/// A bare or quoted key.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z_]{0,10}",
        1 => text().prop_map(|s| toml_string(&s, 0)),
        1 => select(vec!["status", "stage", "name", "owner", "custom", "bant", "commit", "x.y"]).prop_map(str::to_string),
    ]
}

// ---------------------------------------------------------------------------------------
// Records

/// Ids records and members refer to: a few valid ones that other generated files use, and
/// some invalid ones.
pub const IDS: &[&str] = &[
    "acme",
    "beta",
    "c",
    "x-1",
    "northwind-coffee",
    "al",
    "bo",
    "Bad_Id",
    "",
    "-x",
];

pub fn id_value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(&IDS[..6]).prop_map(|s| format!("\"{s}\"")),
        1 => select(IDS).prop_map(|s| format!("\"{s}\"")),
        1 => value(),
    ]
}

fn names(list: &[&'static str]) -> impl Strategy<Value = String> {
    select(list.to_vec()).prop_map(|s| format!("\"{s}\""))
}

const STATUSES: &[&str] = &[
    "qualified_pool",
    "unqualified_pool",
    "target",
    "working",
    "customer",
    "churn",
    "backlog",
    "disqualified",
    "qualifed",
];
const STAGES: &[&str] = &[
    "identified",
    "qualified",
    "trial",
    "closing",
    "commit",
    "won",
    "lost",
    "stalled",
];
const SOURCES: &[&str] = &[
    "outbound",
    "inbound",
    "referral",
    "partnership",
    "upsell",
    "carrier-pigeon",
];

/// A plausible value for a known field, or any value.
pub fn field_value(field: &'static str) -> BoxedStrategy<String> {
    let sensible: BoxedStrategy<String> = match field {
        "status" => prop_oneof![8 => names(STATUSES), 1 => names(&["new", "working", "converted", "rejected"])].boxed(),
        "stage" => names(STAGES).boxed(),
        "owner" | "sdr" | "account" | "contact" | "opportunity" | "reports_to" | "converted_account"
        | "converted_contact" => id_value().boxed(),
        "backlog_until" | "close_date" | "created" | "due" | "accepted_on" | "start_date"
        | "onboarding_meeting" => prop_oneof![6 => real_date(), 1 => date(), 1 => date_time()].boxed(),
        "date" => prop_oneof![real_date(), date_time()].boxed(),
        "mrr" => prop_oneof![
            2 => integer(),
            2 => float(),
            1 => select(vec!["1.797e308", "1e308", "1e12", "1_000_000_000_001", "9007199254740993"]).prop_map(str::to_string),
        ]
        .boxed(),
        "employees" | "duration_min" | "users" => integer().boxed(),
        "target_stale_days" | "backlog_days" | "churn_cooldown_days" | "opportunity_stale_days" => days().boxed(),
        "probability" | "shard" => integer().boxed(),
        "done" | "invoice_scheduled" => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        "fit" => names(&["high", "low", "medium"]).boxed(),
        "kind" => names(&["email", "call", "meeting", "demo", "note", "task", "fax"]).boxed(),
        "role" => names(&["decision_maker", "champion", "end_user", "influencer", "other", "boss"]).boxed(),
        "type" => names(&["new", "upsell", "renewal"]).boxed(),
        "source" => names(SOURCES).boxed(),
        "lost_reason" => names(&["price", "timing", "other", "aliens"]).boxed(),
        "channel" => names(&["webinar", "seo", "ads", "tv"]).boxed(),
        "email" => prop_oneof![
            names(&["jo@acme.io", "JO@ACME.IO", "a@b", "@x.io", "a@@b.io", "a b@c.io", "x@northwind.coffee"]),
            string_value()
        ]
        .boxed(),
        "domain" => names(&["acme.io", "ACME.io", "https://www.acme.io/x", "-a.io", "acme", "northwind.coffee"]).boxed(),
        "country" => names(&["FR", "fr", "France", "US", "XX", "GB", "ZZ"]).boxed(),
        "tools" | "tags" | "participants" => prop::collection::vec(string_value(), 0..4)
            .prop_map(|v| format!("[{}]", v.join(", ")))
            .boxed(),
        _ => string_value().boxed(),
    };
    prop_oneof![6 => sensible, 1 => value()].boxed()
}

/// The keys of a record kind's table, by folder.
pub fn keys_of(folder: &str) -> &'static [&'static str] {
    match folder {
        "accounts" => ACCOUNT_KEYS,
        "contacts" => CONTACT_KEYS,
        "opportunities" => OPPORTUNITY_KEYS,
        "leads" => LEAD_KEYS,
        _ => ACTIVITY_KEYS,
    }
}

const BANT: &[&str] = &["budget", "authority", "need", "timeline"];
const COMMIT: &[&str] = &[
    "accepted_on",
    "start_date",
    "onboarding_meeting",
    "plan",
    "pricing",
    "users",
    "billing_tool",
    "invoice_scheduled",
];

/// One line of a record: a known key with a plausible value, or a stray key.
fn line(keys: &'static [&'static str]) -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        8 => select(keys.iter().copied().filter(|k| !matches!(*k, "custom" | "bant" | "commit")).collect::<Vec<_>>())
            .prop_flat_map(|k| field_value(k).prop_map(move |v| (k.to_string(), v))),
        1 => (key(), value()),
    ]
}

/// The text of one record file of a kind (by folder): top-level fields in any order, then
/// the sub-tables written as headers, inline tables or dotted keys, with comments, blank
/// lines, CRLF and a BOM now and then.
pub fn record(folder: &'static str) -> impl Strategy<Value = String> {
    let keys = keys_of(folder);
    let opp = folder == "opportunities";
    (
        prop::collection::vec(line(keys), 0..12),
        if opp {
            prop::collection::vec((select(BANT), field_value("bant")), 0..5).boxed()
        } else {
            Just(Vec::new()).boxed()
        },
        if opp {
            prop::collection::vec(
                select(COMMIT).prop_flat_map(|k| field_value(k).prop_map(move |v| (k, v))),
                0..9,
            )
            .boxed()
        } else {
            Just(Vec::new()).boxed()
        },
        prop::collection::vec((key(), value()), 0..4),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(top, bant, commit, custom, style, comments, crlf, bom)| {
                let mut out = String::new();
                if bom {
                    out.push('\u{feff}');
                }
                let mut seen: Vec<String> = Vec::new();
                let push =
                    |seen: &mut Vec<String>, out: &mut String, prefix: &str, k: &str, v: &str| {
                        let full = format!("{prefix}{k}");
                        if seen.contains(&full) {
                            return;
                        }
                        seen.push(full);
                        out.push_str(&format!("{prefix}{k} = {v}"));
                        if comments {
                            out.push_str("  # note");
                        }
                        out.push('\n');
                    };
                if comments {
                    out.push_str("# a record\n\n");
                }
                for (k, v) in &top {
                    push(&mut seen, &mut out, "", k, v);
                }
                let tables = [
                    (
                        "bant",
                        bant.iter()
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect::<Vec<_>>(),
                    ),
                    (
                        "commit",
                        commit
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect(),
                    ),
                    ("custom", custom.clone()),
                ];
                let mut headers = Vec::new();
                for (name, fields) in tables {
                    if fields.is_empty() {
                        continue;
                    }
                    match style {
                        0 => headers.push((name, fields)),
                        1 => {
                            if seen.iter().any(|s| s == name) {
                                continue;
                            }
                            seen.push(name.to_string());
                            let mut local: Vec<&String> = Vec::new();
                            let body: Vec<String> = fields
                                .iter()
                                .filter(|(k, _)| {
                                    let fresh = !local.contains(&k);
                                    local.push(k);
                                    fresh
                                })
                                .map(|(k, v)| format!("{k} = {v}"))
                                .collect();
                            out.push_str(&format!("{name} = {{ {} }}\n", body.join(", ")));
                        }
                        _ => {
                            for (k, v) in &fields {
                                push(&mut seen, &mut out, &format!("{name}."), k, v);
                            }
                        }
                    }
                }
                for (name, fields) in headers {
                    if seen.iter().any(|s| s == name) {
                        continue;
                    }
                    out.push_str(&format!("\n[{name}]\n"));
                    let mut local: Vec<String> = Vec::new();
                    for (k, v) in &fields {
                        if local.contains(k) {
                            continue;
                        }
                        local.push(k.clone());
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                }
                if crlf {
                    out = out.replace('\n', "\r\n");
                }
                out
            },
        )
}

pub const FOLDERS: &[&str] = &[
    "accounts",
    "contacts",
    "opportunities",
    "leads",
    "activities",
];

/// A record file: its path (kind folder, id, sometimes a shard folder) and text.
pub fn record_file() -> impl Strategy<Value = (String, String)> {
    (select(FOLDERS), select(IDS), any::<bool>()).prop_flat_map(|(folder, id, shard)| {
        let id = if id.is_empty() { "e" } else { id };
        let path = if shard || folder == "activities" {
            format!("{folder}/{}/{id}.toml", &id[..1])
        } else {
            format!("{folder}/{id}.toml")
        };
        record(folder).prop_map(move |text| (path.clone(), text))
    })
}

// ---------------------------------------------------------------------------------------
// sloop.toml

fn string_list(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![6 => names(pool), 1 => string_value()], 0..6)
        .prop_map(|v| format!("[{}]", v.join(", ")))
}

fn days() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..400).prop_map(|n| n.to_string()),
        2 => select(vec!["4294967295", "4294967296", "9223372036854775807", "-1", "100000000", "36500", "2932897"]).prop_map(str::to_string),
        1 => value(),
    ]
}

const ACCOUNT_FIELD_NAMES: &[&str] = &[
    "owner",
    "backlog_until",
    "domain",
    "fit",
    "industry",
    "name",
    "nope",
];
const OPPORTUNITY_FIELD_NAMES: &[&str] = &[
    "mrr",
    "close_date",
    "bant.budget",
    "commit.plan",
    "commit.start_date",
    "commit.invoice_scheduled",
    "lost_reason",
    "integration",
    "bant.nope",
];

/// A `sloop.toml`: a team, values, lifecycle days, targets, and (often) a method of its own
/// with stages and statuses that refer to each other, sometimes wrongly.
pub fn config() -> impl Strategy<Value = String> {
    let member = (
        select(IDS),
        prop_oneof![
            names(&["sdr", "ae", "growth", "onboarding", "manager", "ceo"]),
            value()
        ],
        names(&["al@x.io", "BO@X.IO", "lea.fournier@tidewater.io", "nope"]),
    );
    let stage = (
        select(STAGES),
        prop_oneof![4 => (0u32..=100).prop_map(|n| n.to_string()), 1 => integer()],
        any::<bool>(),
        string_list(STAGES),
        string_list(OPPORTUNITY_FIELD_NAMES),
        prop::option::of(names(&["won", "lost", "draw"])),
    );
    let status = (
        select(STATUSES),
        any::<bool>(),
        string_list(STATUSES),
        string_list(ACCOUNT_FIELD_NAMES),
        string_list(ACCOUNT_FIELD_NAMES),
    );
    (
        prop::option::of(string_value()),
        prop::option::of(prop_oneof![(0u32..10).prop_map(|n| n.to_string()), integer()]),
        prop::collection::vec(member, 0..5),
        prop::collection::vec((select(vec!["sources", "lost_reasons", "channels", "industries", "colours"]), string_list(SOURCES)), 0..4),
        prop::collection::vec((select(vec!["target_stale_days", "backlog_days", "churn_cooldown_days", "opportunity_stale_days", "never"]), days()), 0..5),
        prop::collection::vec((prop_oneof![4 => (2020u32..2030, 1u32..=4).prop_map(|(y, q)| format!("\"{y}-Q{q}\"")), 1 => key()], prop_oneof![integer(), float()]), 0..4),
        prop::option::of(prop::collection::vec(stage, 0..8)),
        prop::option::of(prop::collection::vec(status, 0..9)),
        prop::collection::vec((key(), value()), 0..2),
    )
        .prop_map(|(currency, shard, team, values, lifecycle, targets, stages, statuses, extra)| {
            let mut out = String::new();
            let mut top = Vec::new();
            if let Some(c) = currency {
                out.push_str(&format!("currency = {c}\n"));
                top.push("currency".to_string());
            }
            if let Some(s) = shard {
                out.push_str(&format!("shard = {s}\n"));
                top.push("shard".to_string());
            }
            for (k, v) in extra {
                if !top.contains(&k) && !["team", "values", "lifecycle", "targets", "stages", "statuses"].contains(&k.as_str()) {
                    out.push_str(&format!("{k} = {v}\n"));
                    top.push(k);
                }
            }
            let mut seen = Vec::new();
            for (id, role, email) in team {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                out.push_str(&format!("\n[team.{}]\nname = \"{id}\"\nrole = {role}\nemail = {email}\n", toml_string(id, 0)));
            }
            let section = |name: &str, kv: Vec<(&str, String)>, out: &mut String| {
                if kv.is_empty() {
                    return;
                }
                out.push_str(&format!("\n[{name}]\n"));
                let mut seen = Vec::new();
                for (k, v) in kv {
                    if !seen.contains(&k) {
                        seen.push(k);
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                }
            };
            section("values", values, &mut out);
            section("lifecycle", lifecycle, &mut out);
            let mut seen = Vec::new();
            if !targets.is_empty() {
                out.push_str("\n[targets]\n");
                for (k, v) in targets {
                    if !seen.contains(&k) {
                        out.push_str(&format!("{k} = {v}\n"));
                        seen.push(k);
                    }
                }
            }
            if let Some(stages) = stages {
                let mut seen = Vec::new();
                if stages.is_empty() {
                    out.push_str("\n[stages]\n");
                }
                for (name, p, entry, next, requires, outcome) in stages {
                    if seen.contains(&name) {
                        continue;
                    }
                    seen.push(name);
                    out.push_str(&format!("\n[stages.{name}]\nprobability = {p}\nentry = {entry}\nnext = {next}\nrequires = {requires}\n"));
                    if let Some(o) = outcome {
                        out.push_str(&format!("outcome = {o}\n"));
                    }
                }
            }
            if let Some(statuses) = statuses {
                let mut seen = Vec::new();
                for (name, entry, next, requires, exclusive) in statuses {
                    if seen.contains(&name) {
                        continue;
                    }
                    seen.push(name);
                    out.push_str(&format!("\n[statuses.{name}]\nentry = {entry}\nnext = {next}\nrequires = {requires}\nexclusive = {exclusive}\n"));
                }
            }
            out
        })
}

// ---------------------------------------------------------------------------------------
// CSV exports

const HEADERS: &[&str] = &[
    "Email",
    "Email Address",
    "First Name",
    "Last Name",
    "Full Name",
    "Company",
    "Company Name",
    "Organization",
    "Website URL",
    "Domain",
    "Phone Number",
    "Lead Status",
    "Lead Source",
    "Contact owner",
    "Job Title",
    "Channel",
    "\u{feff}Email",
    "Favourite colour",
    "",
    "email",
    "EMAIL ",
];

/// One CSV cell's content, before quoting.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,8}@[a-z]{1,8}\\.(io|com|fr)",
        1 => select(vec!["JO@ACME.IO", "bad-email", "a@b", "lea", "LEA.FOURNIER@TIDEWATER.IO", "marc", "New", "working", "Rejected", "converted", "inbound", "Partner-ship", "https://www.Acme.io/about", "=HYPERLINK(\"x\")", "+1 555", "-2", "@sum"]).prop_map(str::to_string),
        2 => text(),
        1 => ("[A-Za-z]{1,12}", 40usize..120).prop_map(|(s, n)| format!("{} Holdings International", s.repeat(n / s.len().max(1)))),
        1 => Just("Northwind Coffee Roasters International Holdings Group Limited Partnership".to_string()),
        1 => Just(String::new()),
    ]
}

fn csv_quote(s: &str, delimiter: char, force: bool) -> String {
    if force || s.contains([delimiter, '"', '\n', '\r']) || s.starts_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Company names, few enough that rows share them (a long one among them: ids are cut
/// to 64 characters).
const COMPANIES: &[&str] = &[
    "Acme",
    "Nova Café",
    "Lyon Cycles",
    "Northwind Coffee Roasters International Holdings Group Limited Partnership",
    "   ",
    "Ünïcødé GmbH",
];

/// A cell for a column, by what the column's header means.
fn cell_for(header: &str) -> BoxedStrategy<String> {
    let typed: BoxedStrategy<String> = match sloop::writes::import::recognise(header) {
        Some("email") => prop_oneof![4 => "[a-z]{1,3}@[a-z]{1,3}\\.(io|fr)", 1 => select(vec!["JO@ACME.IO", "bad-email", "mathieu.perrin@lyon-cycles.fr"]).prop_map(str::to_string)].boxed(),
        Some("company") => select(COMPANIES).prop_map(str::to_string).boxed(),
        Some("owner") => select(vec!["lea", "marc", "al", "AL@X.IO", "nobody"]).prop_map(str::to_string).boxed(),
        Some("status") => select(vec!["New", "working", "Rejected", "converted", "lost"]).prop_map(str::to_string).boxed(),
        Some("source") => select(vec!["inbound", "Partner-ship", "Outbound", "tv"]).prop_map(str::to_string).boxed(),
        Some("domain") => select(vec!["https://www.Acme.io/about", "acme.io", "-x.io", "http://"]).prop_map(str::to_string).boxed(),
        _ => cell().boxed(),
    };
    prop_oneof![5 => typed, 1 => cell()].boxed()
}

/// A CSV export: a header of known and unknown columns, rows whose cells fit their
/// columns (mostly) and sometimes have too few or too many, `,` or `;`, CRLF or LF, a BOM
/// now and then.
pub fn csv() -> impl Strategy<Value = String> {
    prop::collection::vec(select(HEADERS), 1..8)
        .prop_flat_map(|header| {
            let row = header
                .iter()
                .map(|h| (cell_for(h), any::<bool>()))
                .collect::<Vec<_>>();
            let rows = prop::collection::vec(
                (row, prop_oneof![8 => Just(0i8), 1 => -3i8..0, 1 => 1i8..3]),
                0..25,
            );
            (
                Just(header),
                rows,
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(|(header, rows, semicolon, crlf, bom)| {
            let d = if semicolon { ';' } else { ',' };
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut out = String::new();
            if bom {
                out.push('\u{feff}');
            }
            let h: Vec<String> = header.iter().map(|c| csv_quote(c, d, false)).collect();
            out.push_str(&h.join(&d.to_string()));
            out.push_str(nl);
            for (row, ragged) in rows {
                let mut r: Vec<String> = row.iter().map(|(c, q)| csv_quote(c, d, *q)).collect();
                if ragged < 0 {
                    r.truncate(r.len().saturating_sub(ragged.unsigned_abs() as usize));
                } else {
                    r.extend((0..ragged).map(|_| "extra".to_string()));
                }
                out.push_str(&r.join(&d.to_string()));
                out.push_str(nl);
            }
            out
        })
}

// ---------------------------------------------------------------------------------------
// Emails

/// Addresses: people the example CRM knows, strangers at known domains, free mail, team
/// members, and malformed ones.
const ADDRESSES: &[&str] = &[
    "mathieu.perrin@lyon-cycles.fr",
    "laura.mitchell@pinecrestdental.com",
    "someone@northwind.coffee",
    "marc.delacroix@tidewater.io",
    "lea.fournier@tidewater.io",
    "friend@gmail.com",
    "stranger@unknown.example",
    "\"a\\\"b\"@host.io",
    "\"Perrin, Mathieu\" <MATHIEU.PERRIN@LYON-CYCLES.FR>",
    "=?UTF-8?B?w4lsb2RpZQ==?= <elodie@lyon-cycles.fr>",
    "Team: a@x.io, b@y.io;",
    "<>",
    "@",
    "a@",
    "undisclosed-recipients:;",
];

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(ADDRESSES).prop_map(str::to_string),
        1 => "[a-z]{1,6}@[a-z]{1,6}\\.(io|fr)",
        1 => text(),
    ]
}

fn email_date() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u32..=28, select(vec!["Jan", "Feb", "Mar", "Nov", "Dec"]), 1900u32..2100, 0u32..24, 0u32..60, select(vec!["+0000", "-0800", "+0100", "+1400", "-1200", "+9999", "-0000", "GMT", "PST", "UT", "Z", ""]))
            .prop_map(|(d, m, y, h, mi, tz)| format!("Tue, {d} {m} {y} {h:02}:{mi:02}:00 {tz}")),
        1 => select(vec![
            "Thu, 26 Nov 0000 10:30:00 +0000",
            "26 Nov 26 10:30 +0100",
            "Mon, 30 Feb 2026 10:30:00 +0000",
            "Mon, 26 Nov 2026 25:61:61 +0000",
            "Mon, 26 Nov 65535 10:30:00 +0000",
            "2026-11-26T10:30:00Z",
            "yesterday",
            "",
            "Mon, 26 Nov 2026 10:30:00 +2400",
            "Mon, 26 Nov 2026 10:30:00 -2400",
        ])
        .prop_map(str::to_string),
        1 => text(),
    ]
}

/// An email message: headers in any order (some folded, some encoded), maybe a MIME body.
pub fn email() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        3 => prop::collection::vec(address(), 1..4).prop_map(|a| format!("From: {}", a.join(", "))),
        3 => prop::collection::vec(address(), 0..6).prop_map(|a| format!("To: {}", a.join(", "))),
        2 => prop::collection::vec(address(), 0..30).prop_map(|a| format!("Cc: {}", a.join(",\r\n "))),
        3 => email_date().prop_map(|d| format!("Date: {d}")),
        2 => prop_oneof![text(), Just("=?UTF-8?Q?Caf=C3=A9_=3D_tea?=".to_string()), Just("=?ISO-8859-1?B?SGVsbG8=?=".to_string()), Just(" ".to_string())].prop_map(|s| format!("Subject: {s}")),
        1 => prop_oneof![Just("<abc@mail.example>".to_string()), Just("<>".to_string()), Just("".to_string()), text()].prop_map(|s| format!("Message-ID: {s}")),
        1 => Just("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"".to_string()),
        1 => Just("Content-Transfer-Encoding: base64".to_string()),
        1 => (key(), text()).prop_map(|(k, v)| format!("X-{k}: {v}")),
    ];
    (
        prop::collection::vec(header, 0..9),
        prop_oneof![
            Just("Hello,\r\nsee attached.\r\n".to_string()),
            Just("--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n".to_string()),
            Just("!!!not base64!!!".to_string()),
            text()
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(headers, body, lf, bom)| {
            let mut out = String::new();
            if bom {
                out.push('\u{feff}');
            }
            for h in headers {
                out.push_str(&h);
                out.push_str("\r\n");
            }
            out.push_str("\r\n");
            out.push_str(&body);
            if lf {
                out = out.replace("\r\n", "\n");
            }
            out
        })
}
