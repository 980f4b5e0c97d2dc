//! `sloop demo`: a deterministic simulated sales team following the method, written as a git
//! history with one commit per action (dated, by the member who did it) and a `sloop tick`
//! commit at the end of every simulated day (the same `lifecycle::plan` the command runs).
//! Same seed, same records, same commit ids.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeZone, Weekday};

use crate::config::DEFAULT_TOML;
use crate::git::{GitError, HistoryWriter, Identity};
use crate::lifecycle::{self, Facts};
use crate::model::{ids, Kind};
use crate::store::edit::{render_new, FieldValue};
use crate::store::{self, parse::parse_record, Crm};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub months: u32,
    /// The last simulated day.
    pub end: NaiveDate,
}

/// What was simulated.
#[derive(Debug, Clone)]
pub struct Summary {
    pub commits: usize,
    pub head: Option<String>,
    pub accounts_by_status: Vec<(String, usize)>,
    pub open_opportunities: usize,
    pub open_pipeline: f64,
    pub won: usize,
    pub lost: usize,
    pub mrr: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} exists and is not empty: sloop demo writes a new repository")]
    NotEmpty(String),
    #[error("cannot create {path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("internal error: the simulator wrote an invalid record ({0})")]
    Invalid(String),
}

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

const TEAM: &[(&str, &str, &str)] = &[
    ("lea", "Léa Fournier", "sdr"),
    ("marc", "Marc Delacroix", "ae"),
    ("sofia", "Sofia Reyes", "ae"),
    ("tom", "Tom Becker", "growth"),
    ("nina", "Nina Laurent", "onboarding"),
];
const AES: &[&str] = &["marc", "sofia"];
const PREFIX: &[&str] = &[
    "Nord", "Alpen", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Maple", "Nova", "Orchid", "Pine", "Quartz", "River",
    "Solstice", "Tidal", "Umber", "Vela", "Willow", "Zenith",
];
const SUFFIX: &[&str] = &[
    "Logistics",
    "Dental",
    "Studio",
    "Bakery",
    "Consulting",
    "Print",
    "Events",
    "Analytics",
    "Foods",
    "Clinics",
    "Energy",
    "Legal",
    "Retail",
    "Tours",
    "Works",
];
const INDUSTRY: &[&str] = &[
    "Logistics",
    "Healthcare",
    "Design agency",
    "Food & beverage",
    "Consulting",
    "Printing",
    "Events",
    "Software",
    "Retail",
    "Energy",
];
const FIRST: &[&str] = &[
    "Camille", "Hugo", "Julie", "Lucas", "Emma", "Noah", "Sarah", "Adam", "Chloé", "Louis",
    "Grace", "Ethan", "Mia", "Owen", "Zoe", "Liam",
];
const LAST: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Smith", "Johnson", "Brown", "Garcia",
    "Miller", "Davis", "Wilson", "Weber", "Rossi", "Silva", "Novak",
];
const TITLES: &[(&str, &str)] = &[
    ("CEO", "decision_maker"),
    ("CFO", "decision_maker"),
    ("Head of Finance", "champion"),
    ("Accountant", "end_user"),
    ("Office Manager", "influencer"),
];
const COUNTRIES: &[&str] = &["FR", "FR", "FR", "US", "US", "DE", "BE", "ES"];
const TOOLS: &[&str] = &[
    "Excel",
    "QuickBooks",
    "Pennylane",
    "Sage",
    "Xero",
    "Stripe",
    "Notion",
    "HubSpot",
];
const INTEGRATIONS: &[&str] = &["Stripe", "Chargebee", "GoCardless", "QuickBooks"];
const PLANS: &[(&str, u64)] = &[("Starter", 250), ("Growth", 600), ("Scale", 1500)];

type Fields = Vec<(String, FieldValue)>;

struct Record {
    kind: Kind,
    id: String,
    fields: Fields,
}

struct Sim {
    rng: Rng,
    records: BTreeMap<String, Record>,
    crm: Crm,
    facts: Facts,
    changed: Vec<String>,
    writer: HistoryWriter,
    commits: usize,
    day: NaiveDate,
    minute: u32,
}

fn str_of(fields: &Fields, key: &str) -> Option<String> {
    fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| {
        if let FieldValue::Str(s) = v {
            Some(s.clone())
        } else {
            None
        }
    })
}

impl Sim {
    fn set(&mut self, path: &str, field: &str, value: FieldValue) {
        let rec = self.records.get_mut(path).expect("known record");
        match rec.fields.iter_mut().find(|(k, _)| k == field) {
            Some((_, v)) => *v = value,
            None => rec.fields.push((field.to_string(), value)),
        }
        self.touch(path);
    }

    fn remove(&mut self, path: &str, field: &str) {
        let rec = self.records.get_mut(path).expect("known record");
        rec.fields.retain(|(k, _)| k != field);
        self.touch(path);
    }

    fn create(&mut self, kind: Kind, id: &str, fields: Fields) -> String {
        let path = match (kind, fields.iter().find(|(k, _)| k == "date")) {
            (Kind::Activity, Some((_, FieldValue::Date(d)))) => store::activity_path(id, *d),
            _ => store::record_path(kind, id, 0),
        };
        if kind == Kind::Account {
            self.facts.status_since.insert(id.to_string(), self.day);
        }
        if kind == Kind::Opportunity {
            self.facts
                .opportunity_added
                .insert(id.to_string(), self.day);
        }
        self.records.insert(
            path.clone(),
            Record {
                kind,
                id: id.to_string(),
                fields,
            },
        );
        self.touch(&path);
        path
    }

    fn set_status(&mut self, path: &str, status: &str) {
        let id = self.records[path].id.clone();
        self.facts.status_since.insert(id, self.day);
        self.set(path, "status", FieldValue::Str(status.into()));
    }

    /// Re-parses a record into the typed CRM the rules read.
    fn touch(&mut self, path: &str) {
        if !self.changed.iter().any(|p| p == path) {
            self.changed.push(path.to_string());
        }
        let rec = &self.records[path];
        let text = self.text(path);
        let (record, _) = parse_record(rec.kind, &rec.id, path, &text, &self.crm.config);
        let id = rec.id.clone();
        match record {
            store::AnyRecord::Account(r) => replace(&mut self.crm.accounts, r, |x| x.meta.id == id),
            store::AnyRecord::Contact(r) => replace(&mut self.crm.contacts, r, |x| x.meta.id == id),
            store::AnyRecord::Opportunity(r) => {
                replace(&mut self.crm.opportunities, r, |x| x.meta.id == id)
            }
            store::AnyRecord::Lead(r) => replace(&mut self.crm.leads, r, |x| x.meta.id == id),
            store::AnyRecord::Activity(r) => {
                replace(&mut self.crm.activities, r, |x| x.meta.id == id)
            }
        }
    }

    fn text(&self, path: &str) -> String {
        let rec = &self.records[path];
        let pairs: Vec<(&str, FieldValue)> = rec
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        render_new(&pairs).expect("simulated fields are valid")
    }

    fn when(&mut self) -> DateTime<FixedOffset> {
        self.minute += 7 + self.rng.below(40) as u32;
        let paris = FixedOffset::east_opt(3600).expect("offset");
        let (h, m) = (8 + self.minute / 60, self.minute % 60);
        paris
            .from_local_datetime(&self.day.and_hms_opt(h.min(22), m, 0).expect("time"))
            .single()
            .expect("fixed offset")
    }

    fn commit(&mut self, message: &str, who: &str) -> Result<(), DemoError> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let files: Vec<(String, Vec<u8>)> = std::mem::take(&mut self.changed)
            .into_iter()
            .map(|p| {
                let t = self.text(&p);
                (p, t.into_bytes())
            })
            .collect();
        let identity = match TEAM.iter().find(|(id, _, _)| *id == who) {
            Some((id, name, _)) => Identity {
                name: name.to_string(),
                email: format!("{id}@tidewater.example"),
            },
            None => Identity {
                name: "sloop tick".into(),
                email: "tick@sloop.invalid".into(),
            },
        };
        let when = self.when();
        self.writer.commit(&files, message, &identity, when)?;
        self.commits += 1;
        Ok(())
    }

    fn unique(&self, kind: Kind, base: &str) -> String {
        let slug = ids::slugify(base);
        let taken = |c: &str| self.records.values().any(|r| r.kind == kind && r.id == c);
        if !taken(&slug) {
            return slug;
        }
        (2..)
            .map(|n| format!("{slug}-{n}"))
            .find(|c| !taken(c))
            .expect("free id")
    }

    fn paths(&self, kind: Kind, pred: impl Fn(&Record) -> bool) -> Vec<String> {
        self.records
            .iter()
            .filter(|(_, r)| r.kind == kind && pred(r))
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn activity(
        &mut self,
        kind: &str,
        account: &str,
        owner: &str,
        subject: &str,
        extra: Fields,
    ) -> String {
        let id = self.unique(Kind::Activity, &format!("{}-{kind}-{account}", self.day));
        let mut fields: Fields = vec![
            ("kind".into(), FieldValue::Str(kind.into())),
            ("date".into(), FieldValue::Date(self.day)),
            ("account".into(), FieldValue::Str(account.into())),
            ("owner".into(), FieldValue::Str(owner.into())),
            ("subject".into(), FieldValue::Str(subject.into())),
        ];
        fields.extend(extra);
        self.create(Kind::Activity, &id, fields)
    }
}

fn replace<T>(list: &mut Vec<T>, item: T, is: impl Fn(&T) -> bool) {
    match list.iter().position(is) {
        Some(i) => list[i] = item,
        None => list.push(item),
    }
}

fn team_toml() -> String {
    let mut t = DEFAULT_TOML.replace("# [team.alice]\n# name = \"Alice Martin\"\n# role = \"sdr\"                 # sdr | ae | growth | onboarding | manager\n# email = \"alice@example.com\"  # optional; maps git authors and CSV owners to members\n", "");
    t.push_str("\n# The simulated team of `sloop demo`.\n");
    for (id, name, role) in TEAM {
        t.push_str(&format!("[team.{id}]\nname = \"{name}\"\nrole = \"{role}\"\nemail = \"{id}@tidewater.example\"\n\n"));
    }
    t.push_str("[targets.marc]\n\"2026-Q4\" = 6000\n\n[targets.sofia]\n\"2026-Q4\" = 6000\n");
    t.replace(
        "[targets]\n# \"2026-Q4\" = 12000",
        "[targets]\n\"2026-Q4\" = 12000",
    )
}

/// Simulates the team into a new repository at `dir`.
pub fn generate(dir: &Path, opts: &Options) -> Result<Summary, DemoError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(DemoError::NotEmpty(dir.display().to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| DemoError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let config_text = team_toml();
    let (config, diags) = crate::config::Config::parse(crate::config::FILE, &config_text);
    if let Some(d) = diags.first() {
        return Err(DemoError::Invalid(d.message.clone()));
    }
    let start = opts
        .end
        .checked_sub_months(chrono::Months::new(opts.months))
        .unwrap_or(opts.end);
    let mut sim = Sim {
        rng: Rng(opts.seed ^ 0x5107_0000_DE70),
        records: BTreeMap::new(),
        crm: Crm {
            config,
            ..Crm::default()
        },
        facts: Facts::default(),
        changed: Vec::new(),
        writer: HistoryWriter::create(dir)?,
        commits: 0,
        day: start,
        minute: 0,
    };
    // The first commit: the rules and the team.
    let first = vec![("sloop.toml".to_string(), config_text.clone().into_bytes())];
    let when = sim.when();
    sim.writer.commit(
        &first,
        "Start the CRM with sloop",
        &Identity {
            name: "Tom Becker".into(),
            email: "tom@tidewater.example".into(),
        },
        when,
    )?;
    sim.commits += 1;
    let mut day = start + Days::new(1);
    while day <= opts.end {
        sim.day = day;
        sim.minute = 0;
        if day.weekday() != Weekday::Sat && day.weekday() != Weekday::Sun {
            simulate_day(&mut sim)?;
        }
        tick(&mut sim)?;
        day = day + Days::new(1);
    }
    let head = sim.writer.finish()?;
    Ok(summary(&sim.crm, sim.commits, head, opts.end))
}

fn simulate_day(sim: &mut Sim) -> Result<(), DemoError> {
    let day = sim.day;
    // Monday: growth imports the week's leads.
    if day.weekday() == Weekday::Mon {
        let n = sim.rng.between(5, 9);
        for _ in 0..n {
            let mut company = format!("{} {}", sim.rng.pick(PREFIX), sim.rng.pick(SUFFIX));
            // One company is one account: never reuse a name (and so a domain).
            let mut k = 1;
            while sim.records.values().any(|r| {
                r.kind == Kind::Lead
                    && str_of(&r.fields, "company").as_deref() == Some(company.as_str())
            }) {
                k += 1;
                company = format!(
                    "{} {} {}",
                    sim.rng.pick(PREFIX),
                    sim.rng.pick(SUFFIX),
                    ["", "", "Group", "& Co", "Partners", "Labs", "Services"][k.min(6)]
                );
                company = company.trim().to_string();
                if k > 6 {
                    company = format!("{company} {k}");
                }
            }
            let first = *sim.rng.pick(FIRST);
            let last = *sim.rng.pick(LAST);
            let domain = format!("{}.example", ids::slugify(&company));
            let id = sim.unique(Kind::Lead, &format!("{day} {company}"));
            let source = *sim.rng.pick(&[
                "inbound",
                "inbound",
                "outbound",
                "outbound",
                "referral",
                "partnership",
            ]);
            let mut fields: Fields = vec![
                ("name".into(), FieldValue::Str(format!("{first} {last}"))),
                (
                    "email".into(),
                    FieldValue::Str(format!(
                        "{}.{}@{domain}",
                        ids::slugify(first),
                        ids::slugify(last)
                    )),
                ),
                ("company".into(), FieldValue::Str(company)),
                ("domain".into(), FieldValue::Str(domain)),
                ("source".into(), FieldValue::Str(source.into())),
            ];
            if source == "inbound" {
                fields.push((
                    "channel".into(),
                    FieldValue::Str(
                        sim.rng
                            .pick(&["webinar", "seo", "blog", "ads", "word_of_mouth"])
                            .to_string(),
                    ),
                ));
            }
            fields.push(("owner".into(), FieldValue::Str("lea".into())));
            fields.push(("status".into(), FieldValue::Str("new".into())));
            fields.push(("created".into(), FieldValue::Date(day)));
            sim.create(Kind::Lead, &id, fields);
        }
        sim.commit(
            &format!("Import {n} leads from the week's forms and lists"),
            "tom",
        )?;
    }
    // The SDR qualifies leads: convert or reject.
    let new_leads = sim.paths(Kind::Lead, |r| {
        str_of(&r.fields, "status").as_deref() == Some("new")
    });
    for path in new_leads.into_iter().take(4) {
        let (lead_id, fields) = {
            let r = &sim.records[&path];
            (r.id.clone(), r.fields.clone())
        };
        if sim.rng.chance(0.35) {
            sim.set(&path, "status", FieldValue::Str("rejected".into()));
            sim.commit(&format!("Reject lead {lead_id}: not a fit"), "lea")?;
            continue;
        }
        let company = str_of(&fields, "company").unwrap_or_default();
        let account = sim.unique(Kind::Account, &company);
        let high = sim.rng.chance(0.7);
        let mut acc: Fields = vec![
            ("name".into(), FieldValue::Str(company.clone())),
            (
                "status".into(),
                FieldValue::Str(
                    if high {
                        "qualified_pool"
                    } else {
                        "unqualified_pool"
                    }
                    .into(),
                ),
            ),
            (
                "domain".into(),
                FieldValue::Str(str_of(&fields, "domain").unwrap_or_default()),
            ),
            (
                "fit".into(),
                FieldValue::Str(if high { "high" } else { "low" }.into()),
            ),
            (
                "industry".into(),
                FieldValue::Str(sim.rng.pick(INDUSTRY).to_string()),
            ),
            (
                "employees".into(),
                FieldValue::Int(sim.rng.between(8, 250) as i64),
            ),
            (
                "country".into(),
                FieldValue::Str(sim.rng.pick(COUNTRIES).to_string()),
            ),
        ];
        if let Some(s) = str_of(&fields, "source") {
            acc.push(("source".into(), FieldValue::Str(s)));
        }
        let tools = vec![
            sim.rng.pick(TOOLS).to_string(),
            sim.rng.pick(TOOLS).to_string(),
        ];
        let mut tools_unique = tools.clone();
        tools_unique.dedup();
        acc.push(("tools".into(), FieldValue::Strings(tools_unique)));
        sim.create(Kind::Account, &account, acc);
        let name = str_of(&fields, "name").unwrap_or_default();
        let contact = sim.unique(Kind::Contact, &name);
        let (title, role) = *sim.rng.pick(TITLES);
        sim.create(
            Kind::Contact,
            &contact,
            vec![
                ("name".into(), FieldValue::Str(name)),
                ("account".into(), FieldValue::Str(account.clone())),
                (
                    "email".into(),
                    FieldValue::Str(str_of(&fields, "email").unwrap_or_default()),
                ),
                ("title".into(), FieldValue::Str(title.into())),
                ("role".into(), FieldValue::Str(role.into())),
            ],
        );
        sim.set(&path, "status", FieldValue::Str("converted".into()));
        sim.set(&path, "converted_account", FieldValue::Str(account.clone()));
        sim.set(&path, "converted_contact", FieldValue::Str(contact));
        sim.commit(&format!("Convert lead {lead_id} into {account}"), "lea")?;
    }
    // The SDR touches accounts waiting in the qualified pool.
    let pool = sim.paths(Kind::Account, |r| {
        str_of(&r.fields, "status").as_deref() == Some("qualified_pool")
    });
    for path in pool.into_iter().filter(|_| true).take(3) {
        if !sim.rng.chance(0.5) {
            continue;
        }
        let account = sim.records[&path].id.clone();
        let kind = *sim.rng.pick(&["call", "email"]);
        let extra = if kind == "call" {
            vec![(
                "duration_min".to_string(),
                FieldValue::Int(sim.rng.between(5, 30) as i64),
            )]
        } else {
            vec![]
        };
        sim.activity(kind, &account, "lea", "First contact", extra);
        sim.commit(&format!("Log a first {kind} with {account}"), "lea")?;
    }
    // Account executives open opportunities on targets.
    let targets = sim.paths(Kind::Account, |r| {
        str_of(&r.fields, "status").as_deref() == Some("target")
    });
    for path in targets {
        if !sim.rng.chance(0.12) {
            continue;
        }
        let (account, source) = {
            let r = &sim.records[&path];
            (
                r.id.clone(),
                str_of(&r.fields, "source").unwrap_or_else(|| "outbound".into()),
            )
        };
        let owner = *sim.rng.pick(AES);
        let id = sim.unique(Kind::Opportunity, &format!("{account} new"));
        let name = format!(
            "{} — new",
            str_of(&sim.records[&path].fields, "name").unwrap_or_default()
        );
        sim.create(
            Kind::Opportunity,
            &id,
            vec![
                ("name".into(), FieldValue::Str(name)),
                ("account".into(), FieldValue::Str(account.clone())),
                ("owner".into(), FieldValue::Str(owner.into())),
                ("stage".into(), FieldValue::Str("identified".into())),
                ("source".into(), FieldValue::Str(source)),
                ("created".into(), FieldValue::Date(day)),
                ("sdr".into(), FieldValue::Str("lea".into())),
            ],
        );
        sim.activity(
            "meeting",
            &account,
            owner,
            "Discovery meeting",
            vec![
                ("opportunity".into(), FieldValue::Str(id.clone())),
                ("duration_min".into(), FieldValue::Int(45)),
            ],
        );
        sim.commit(&format!("Open opportunity {id}"), owner)?;
    }
    progress_opportunities(sim)?;
    customers(sim)?;
    Ok(())
}

fn progress_opportunities(sim: &mut Sim) -> Result<(), DemoError> {
    let day = sim.day;
    let open = sim.paths(Kind::Opportunity, |r| {
        matches!(
            str_of(&r.fields, "stage").as_deref(),
            Some("identified" | "qualified" | "trial" | "closing" | "commit")
        )
    });
    for path in open {
        if !sim.rng.chance(0.07) {
            continue;
        }
        let (id, stage, owner, account) = {
            let r = &sim.records[&path];
            (
                r.id.clone(),
                str_of(&r.fields, "stage").unwrap_or_default(),
                str_of(&r.fields, "owner").unwrap_or_default(),
                str_of(&r.fields, "account").unwrap_or_default(),
            )
        };
        let roll = sim.rng.below(100);
        let next = match stage.as_str() {
            "identified" if roll < 70 => "qualified",
            "qualified" if roll < 40 => "trial",
            "qualified" if roll < 75 => "closing",
            "trial" if roll < 50 => "won",
            "trial" if roll < 70 => "closing",
            "closing" if roll < 65 => "commit",
            "commit" if roll < 92 => "won",
            _ => "lost",
        };
        let (plan, price) = *sim.rng.pick(PLANS);
        let mrr = price + 50 * sim.rng.below(10);
        let close_in = Days::new(sim.rng.between(30, 90));
        let trial_close_in = Days::new(sim.rng.between(14, 45));
        let integration = sim.rng.pick(INTEGRATIONS).to_string();
        let start_in = Days::new(sim.rng.between(7, 21));
        let onboarding_in = Days::new(sim.rng.between(3, 10));
        let users = sim.rng.between(2, 25) as i64;
        let billing = sim.rng.pick(INTEGRATIONS).to_string();
        let reason = sim
            .rng
            .pick(&[
                "price",
                "timing",
                "competitor",
                "no_budget",
                "no_decision",
                "no_need",
                "unresponsive",
            ])
            .to_string();
        let minutes = sim.rng.between(15, 60) as i64;
        match next {
            "qualified" | "closing" => {
                if next == "qualified"
                    || !sim.records[&path]
                        .fields
                        .iter()
                        .any(|(k, _)| k == "bant.budget")
                {
                    sim.set(&path, "mrr", FieldValue::Int(mrr as i64));
                    sim.set(&path, "close_date", FieldValue::Date(day + close_in));
                    sim.set(
                        &path,
                        "bant.budget",
                        FieldValue::Str(format!("{mrr}/month approved")),
                    );
                    sim.set(&path, "bant.authority", FieldValue::Str("CFO signs".into()));
                    sim.set(
                        &path,
                        "bant.need",
                        FieldValue::Str("month-end close takes too long".into()),
                    );
                    sim.set(
                        &path,
                        "bant.timeline",
                        FieldValue::Str("this quarter".into()),
                    );
                }
            }
            "trial" => {
                sim.set(&path, "mrr", FieldValue::Int(mrr as i64));
                sim.set(&path, "close_date", FieldValue::Date(day + trial_close_in));
                sim.set(&path, "integration", FieldValue::Str(integration));
            }
            "commit" => {
                sim.set(&path, "commit.accepted_on", FieldValue::Date(day));
                sim.set(&path, "commit.start_date", FieldValue::Date(day + start_in));
                sim.set(
                    &path,
                    "commit.onboarding_meeting",
                    FieldValue::Date(day + onboarding_in),
                );
                sim.set(&path, "commit.plan", FieldValue::Str(plan.into()));
                sim.set(
                    &path,
                    "commit.pricing",
                    FieldValue::Str("list price, annual billing".into()),
                );
                sim.set(&path, "commit.users", FieldValue::Int(users));
                sim.set(&path, "commit.billing_tool", FieldValue::Str(billing));
                sim.set(&path, "commit.invoice_scheduled", FieldValue::Bool(true));
            }
            "won" => {
                sim.set(&path, "close_date", FieldValue::Date(day));
                if !sim.records[&path].fields.iter().any(|(k, _)| k == "mrr") {
                    sim.set(&path, "mrr", FieldValue::Int(mrr as i64));
                }
                if !sim.records[&path]
                    .fields
                    .iter()
                    .any(|(k, _)| k == "commit.plan")
                {
                    sim.set(&path, "commit.plan", FieldValue::Str(plan.into()));
                    sim.set(&path, "commit.start_date", FieldValue::Date(day + start_in));
                }
            }
            _ => {
                sim.set(&path, "lost_reason", FieldValue::Str(reason));
                sim.set(&path, "close_date", FieldValue::Date(day));
            }
        }
        sim.set(&path, "stage", FieldValue::Str(next.into()));
        let touch = match next {
            "trial" | "qualified" => "demo",
            "won" | "commit" => "meeting",
            "lost" => "email",
            _ => "call",
        };
        let extra = if touch == "email" {
            vec![]
        } else {
            vec![("duration_min".into(), FieldValue::Int(minutes))]
        };
        let mut extra = extra;
        extra.push(("opportunity".into(), FieldValue::Str(id.clone())));
        sim.activity(
            touch,
            &account,
            &owner,
            &format!("{id}: {stage} → {next}"),
            extra,
        );
        sim.commit(&format!("Move {id} from {stage} to {next}"), &owner)?;
    }
    Ok(())
}

fn customers(sim: &mut Sim) -> Result<(), DemoError> {
    let customers = sim.paths(Kind::Account, |r| {
        str_of(&r.fields, "status").as_deref() == Some("customer")
    });
    for path in customers {
        let account = sim.records[&path].id.clone();
        if sim.rng.chance(0.0015) {
            sim.set_status(&path, "churn");
            sim.commit(&format!("{account} churned"), "marc")?;
        } else if sim.rng.chance(0.003) {
            let owner = *sim.rng.pick(AES);
            let id = sim.unique(Kind::Opportunity, &format!("{account} upsell"));
            let name = format!(
                "{} — more users",
                str_of(&sim.records[&path].fields, "name").unwrap_or_default()
            );
            sim.create(
                Kind::Opportunity,
                &id,
                vec![
                    ("name".into(), FieldValue::Str(name)),
                    ("account".into(), FieldValue::Str(account.clone())),
                    ("owner".into(), FieldValue::Str(owner.into())),
                    ("stage".into(), FieldValue::Str("identified".into())),
                    ("source".into(), FieldValue::Str("upsell".into())),
                    ("type".into(), FieldValue::Str("upsell".into())),
                    ("created".into(), FieldValue::Date(sim.day)),
                ],
            );
            sim.commit(&format!("Open upsell {id}"), owner)?;
        } else if sim.rng.chance(0.01) {
            sim.activity(
                "meeting",
                &account,
                "nina",
                "Onboarding check-in",
                vec![("duration_min".into(), FieldValue::Int(30))],
            );
            sim.commit(&format!("Onboarding check-in with {account}"), "nina")?;
        }
    }
    Ok(())
}

/// The end of the day: the same plan `sloop tick` makes, applied and committed.
fn tick(sim: &mut Sim) -> Result<(), DemoError> {
    let plan = lifecycle::plan(&sim.crm, &sim.facts, sim.day);
    if plan.moves.is_empty() {
        return Ok(());
    }
    let by_id: BTreeMap<String, String> = sim
        .records
        .iter()
        .filter(|(_, r)| r.kind == Kind::Account)
        .map(|(p, r)| (r.id.clone(), p.clone()))
        .collect();
    for m in &plan.moves {
        let path = by_id[&m.id].clone();
        match (&m.field[..], &m.to) {
            ("status", Some(to)) => sim.set_status(&path, to),
            ("backlog_until", Some(d)) => sim.set(
                &path,
                "backlog_until",
                FieldValue::Date(d.parse().expect("date")),
            ),
            (f, Some(v)) => sim.set(&path, f, FieldValue::Str(v.clone())),
            (f, None) => sim.remove(&path, f),
        }
    }
    let message = crate::tick::commit_message(&plan, sim.day);
    sim.minute = 14 * 60;
    sim.commit(&message, "sloop")
}

fn summary(crm: &Crm, commits: usize, head: Option<String>, end: NaiveDate) -> Summary {
    let accounts_by_status = crm
        .config
        .statuses
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                crm.accounts.iter().filter(|a| a.status == s.name).count(),
            )
        })
        .collect();
    let pipeline = crate::metrics::pipeline(crm);
    let won: Vec<_> = crm
        .opportunities
        .iter()
        .filter(|o| crm.config.outcome(&o.stage) == Some(crate::config::Outcome::Won))
        .collect();
    let churned: std::collections::HashSet<&str> = crm
        .accounts
        .iter()
        .filter(|a| a.status == "churn")
        .map(|a| a.meta.id.as_str())
        .collect();
    let mrr = won
        .iter()
        .filter(|o| {
            crate::metrics::start_of(o).is_some_and(|s| s <= end)
                && !o
                    .account
                    .as_ref()
                    .is_some_and(|a| churned.contains(a.as_str()))
        })
        .map(|o| o.mrr.unwrap_or(0.0))
        .sum();
    Summary {
        commits,
        head,
        accounts_by_status,
        open_opportunities: pipeline.total.count,
        open_pipeline: pipeline.total.mrr,
        won: won.len(),
        lost: crm
            .opportunities
            .iter()
            .filter(|o| crm.config.outcome(&o.stage) == Some(crate::config::Outcome::Lost))
            .count(),
        mrr,
    }
}
