//! `sloop demo`: a deterministic simulated sales team following the method, written as a git
//! history with one commit per action (dated, by the member who did it) and a `sloop tick`
//! commit at the end of every simulated day (the same `lifecycle::plan` the command runs).
//! Same seed, same records, same commit ids.
//!
//! Two scales: `small` (a team of five, a few hundred accounts, one commit per action) and
//! `large`, the benchmark CRM (a team of eighteen, ~20,000 accounts, 50,000 contacts, 15,000
//! opportunities, 200,000 activities and ~30,000 commits, each commit one member's batch of
//! actions). Lookups go through indexes (ids, records by status or stage, typed records by
//! id), never through scans of every record, so the large scale stays linear.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeZone, Weekday};

use crate::config::DEFAULT_TOML;
use crate::crm::Crm;
use crate::git::{GitError, HistoryWriter, Identity};
use crate::lifecycle::{self, Facts};
use crate::model::{ids, Kind};
use crate::store::edit::{render_new, FieldValue};
use crate::store::{self, parse::parse_record};

/// The demo team's time zone (checked when compiling: a const panic is a build error).
const PARIS: FixedOffset = match FixedOffset::east_opt(3600) {
    Some(o) => o,
    None => panic!("+01:00 is an offset"),
};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub months: u32,
    /// The last simulated day.
    pub end: NaiveDate,
    pub scale: Scale,
    /// Leading characters of the id used as a folder for new records (`sloop.toml`'s
    /// `shard`); 0 writes flat folders.
    pub shard: u8,
}

/// How big a team and a CRM to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// A team of five and a few hundred accounts: the README's demo, ready in seconds.
    #[default]
    Small,
    /// The benchmark CRM: a team of eighteen, ~20,000 accounts and ~30,000 commits a year.
    Large,
}

/// The volumes of a scale. Everything else (how deals move, churn, upsells) is the same
/// method at every scale.
#[derive(Debug, Clone, Copy)]
pub struct Volumes {
    pub team: &'static [(&'static str, &'static str, &'static str)],
    /// Leads growth imports every Monday (inclusive range).
    pub leads_per_week: (u64, u64),
    /// Leads the SDRs convert or reject per day.
    pub conversions_per_day: usize,
    /// Pool accounts the SDRs try to reach per day.
    pub pool_touches_per_day: usize,
    /// Contacts added beside the lead's own when an account is created (inclusive range).
    pub extra_contacts: (u64, u64),
    /// Actions of one member per commit (1: one commit per action).
    pub batch: usize,
    /// Chance that an open deal that does not move today gets a follow-up email or call.
    pub follow_up: f64,
}

impl Scale {
    pub fn volumes(self) -> Volumes {
        match self {
            Scale::Small => Volumes {
                team: TEAM,
                leads_per_week: (5, 9),
                conversions_per_day: 4,
                pool_touches_per_day: 3,
                extra_contacts: (0, 2),
                batch: 1,
                follow_up: 0.16,
            },
            Scale::Large => Volumes {
                team: LARGE_TEAM,
                leads_per_week: (430, 780),
                conversions_per_day: 350,
                pool_touches_per_day: 265,
                extra_contacts: (1, 2),
                batch: 7,
                follow_up: 0.22,
            },
        }
    }
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
    #[error(transparent)]
    Date(#[from] crate::model::dates::DateError),
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
/// The benchmark team: the small team and thirteen more.
const LARGE_TEAM: &[(&str, &str, &str)] = &[
    ("lea", "Léa Fournier", "sdr"),
    ("marc", "Marc Delacroix", "ae"),
    ("sofia", "Sofia Reyes", "ae"),
    ("tom", "Tom Becker", "growth"),
    ("nina", "Nina Laurent", "onboarding"),
    ("hugo", "Hugo Moreau", "sdr"),
    ("chloe", "Chloé Dubois", "sdr"),
    ("adam", "Adam Novak", "sdr"),
    ("mia", "Mia Rossi", "sdr"),
    ("owen", "Owen Miller", "ae"),
    ("julie", "Julie Bernard", "ae"),
    ("lucas", "Lucas Weber", "ae"),
    ("grace", "Grace Silva", "ae"),
    ("ethan", "Ethan Davis", "ae"),
    ("emma", "Emma Garcia", "ae"),
    ("zoe", "Zoe Wilson", "growth"),
    ("louis", "Louis Martin", "onboarding"),
    ("sarah", "Sarah Brown", "onboarding"),
];
const PREFIX: &[&str] = &[
    "Nord", "Alpen", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Maple", "Nova", "Orchid", "Pine", "Quartz", "River",
    "Solstice", "Tidal", "Umber", "Vela", "Willow", "Zenith", "Acorn", "Bright", "Coral", "Dune",
    "Echo", "Flint", "Glen", "Heron", "Indigo", "Jade", "Kite", "Lark", "Mistral", "Nimbus", "Oak",
    "Prairie", "Quill", "Raven", "Sable", "Thistle", "Upland", "Verde", "Wren", "Yarrow", "Aster",
    "Birch", "Cobalt", "Drift", "Elm", "Fern", "Gale", "Hazel", "Ivy", "Jasper", "Keel", "Linden",
    "Moss", "Nectar", "Onyx", "Pebble", "Rowan", "Sage", "Tern", "Vale", "Wild", "Atlas", "Basalt",
    "Crest", "Dawn", "Opal", "Ridge", "Summit",
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
    "Grace", "Ethan", "Mia", "Owen", "Zoe", "Liam", "Ines", "Paul", "Rose", "Theo", "Alice",
    "Bruno", "Clara", "David", "Elena", "Felix", "Gabriel", "Hannah", "Isaac", "Jade", "Karim",
    "Lea", "Marc", "Nina", "Oscar", "Pierre", "Quentin", "Rania", "Simon", "Tara", "Ugo", "Victor",
    "Wendy", "Yann", "Yasmine", "Aurore", "Basile", "Diane", "Eliott", "Fanny",
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

/// One member's actions waiting to be committed together (the large scale batches them).
struct Batch {
    who: String,
    messages: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
}

struct Sim {
    rng: Rng,
    records: HashMap<String, Record>,
    crm: Crm,
    facts: Facts,
    /// The same dates as the report reads them from the commits, for the summary's MRR.
    clock: crate::report::metrics::Clock,
    changed: Vec<String>,
    writer: HistoryWriter,
    commits: usize,
    day: NaiveDate,
    minute: u32,
    volumes: Volumes,
    shard: u8,
    /// Ids in use, per kind.
    ids: HashSet<(Kind, String)>,
    /// Company names already imported.
    companies: HashSet<String>,
    /// Paths of the records of a kind in a state (account status, opportunity stage, lead
    /// status), in path order: what the team's daily work iterates.
    by_state: HashMap<(Kind, String), BTreeSet<String>>,
    /// Where each typed record sits in `crm`'s lists.
    slots: HashMap<(Kind, String), usize>,
    /// Account id → path.
    account_paths: HashMap<String, String>,
    /// Open tasks per opportunity id: (due, path).
    open_tasks: HashMap<String, Vec<(NaiveDate, String)>>,
    /// Onboarding hand-off tasks of won deals, open: (due, path, onboarding member, account).
    handoffs: Vec<(NaiveDate, String, &'static str, String)>,
    /// Batches waiting to be committed, oldest first.
    pending: Vec<Batch>,
}

/// The field that holds a record's state, for the `by_state` index.
fn state_field(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Account | Kind::Lead => Some("status"),
        Kind::Opportunity => Some("stage"),
        _ => None,
    }
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
        if let (Kind::Opportunity, "stage", FieldValue::Str(stage)) = (rec.kind, field, &value) {
            self.facts.stage_since.insert(rec.id.clone(), self.day);
            self.clock
                .stages
                .entry(rec.id.clone())
                .or_default()
                .push((self.day, Some(stage.clone())));
        }
        if state_field(rec.kind) == Some(field) {
            if let (Some(old), FieldValue::Str(new)) = (str_of(&rec.fields, field), &value) {
                if let Some(set) = self.by_state.get_mut(&(rec.kind, old)) {
                    set.remove(path);
                }
                self.by_state
                    .entry((rec.kind, new.clone()))
                    .or_default()
                    .insert(path.to_string());
            }
        }
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
            // Sharded, a month of activities is split by day too: a month's folder holds
            // ~17,000 files at the large scale.
            (Kind::Activity, Some((_, FieldValue::Date(d)))) if self.shard > 0 => {
                format!("activities/{}/{id}.toml", d.format("%Y/%m/%d"))
            }
            (Kind::Activity, Some((_, FieldValue::Date(d)))) => store::activity_path(id, *d),
            _ => store::record_path(kind, id, self.shard),
        };
        self.ids.insert((kind, id.to_string()));
        if let Some(field) = state_field(kind) {
            if let Some(state) = str_of(&fields, field) {
                self.by_state
                    .entry((kind, state))
                    .or_default()
                    .insert(path.clone());
            }
        }
        if kind == Kind::Account {
            self.account_paths.insert(id.to_string(), path.clone());
        }
        if kind == Kind::Account {
            self.facts.status_since.insert(id.to_string(), self.day);
        }
        if kind == Kind::Opportunity {
            self.facts
                .opportunity_added
                .insert(id.to_string(), self.day);
            self.facts.stage_since.insert(id.to_string(), self.day);
            self.clock.added.insert(id.to_string(), self.day);
            self.clock
                .stages
                .insert(id.to_string(), vec![(self.day, str_of(&fields, "stage"))]);
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
        if status == "churn" {
            self.clock
                .churns
                .entry(id.clone())
                .or_default()
                .push(self.day);
        }
        self.facts.status_since.insert(id, self.day);
        self.set(path, "status", FieldValue::Str(status.into()));
    }

    /// Marks a record changed and re-parses it into the typed CRM the rules read (accounts,
    /// opportunities and activities: the tick's plan and the summary read no contact or lead).
    fn touch(&mut self, path: &str) {
        if !self.changed.iter().any(|p| p == path) {
            self.changed.push(path.to_string());
        }
        let rec = &self.records[path];
        if !in_typed_crm(rec.kind) {
            return;
        }
        let text = self.text(path);
        let (mut record, _) = parse_record(rec.kind, &rec.id, path, &text, &self.crm.config);
        // The simulation never shows diagnostics: 100 MB and more at the large scale.
        record.meta_mut().forget_positions();
        let slot = self.slots.get(&(rec.kind, rec.id.clone())).copied();
        let key = (rec.kind, rec.id.clone());
        let len = match record {
            crate::model::AnyRecord::Account(r) => place(&mut self.crm.accounts, r, slot),
            crate::model::AnyRecord::Contact(r) => place(&mut self.crm.contacts, r, slot),
            crate::model::AnyRecord::Opportunity(r) => place(&mut self.crm.opportunities, r, slot),
            crate::model::AnyRecord::Lead(r) => place(&mut self.crm.leads, r, slot),
            crate::model::AnyRecord::Activity(r) => place(&mut self.crm.activities, r, slot),
        };
        self.slots.entry(key).or_insert(len - 1);
    }

    /// Drops a record's fields once its text is rendered, when no later action reads or
    /// changes it: a contact, a lead no longer new, an activity that is not an open task.
    /// What the simulation keeps of it is its id (`ids`) and, for an activity, its typed
    /// record in `crm` (the tick's plan reads every activity). At the large scale this is
    /// most of the CRM's 341,000 records.
    fn forget_if_final(&mut self, path: &str) {
        let Some(rec) = self.records.get(path) else {
            return;
        };
        let is = |key: &str, value: &str| str_of(&rec.fields, key).as_deref() == Some(value);
        let done = |rec: &Record| {
            rec.fields
                .iter()
                .any(|(k, v)| k == "done" && matches!(v, FieldValue::Bool(true)))
        };
        let last = match rec.kind {
            Kind::Contact => true,
            Kind::Lead => !is("status", "new"),
            Kind::Activity => !is("kind", "task") || done(rec),
            Kind::Account | Kind::Opportunity => false,
        };
        if last {
            if let Some(rec) = self.records.remove(path) {
                self.slots.remove(&(rec.kind, rec.id));
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

    /// Ends the simulation: its summary, and the writer whose last commit is still to be
    /// checked out. The simulation's records are dropped first, so that the checkout (which
    /// reads the last commit's 341,000 files at the large scale) does not add its peak to
    /// theirs.
    fn end(self, end: NaiveDate) -> (HistoryWriter, Summary) {
        let summary = summary(&self.crm, &self.clock, self.commits, end);
        (self.writer, summary)
    }

    fn when(&mut self) -> DateTime<FixedOffset> {
        self.minute += if self.volumes.batch > 1 {
            1 + self.rng.below(4) as u32
        } else {
            7 + self.rng.below(40) as u32
        };
        let (h, m) = (8 + self.minute / 60, self.minute % 60);
        let time = chrono::NaiveTime::from_hms_opt(h.min(22), m, 0).unwrap_or_default();
        let local = self.day.and_time(time);
        // A fixed offset maps every local time to exactly one instant.
        PARIS
            .from_local_datetime(&local)
            .earliest()
            .unwrap_or_else(|| PARIS.from_utc_datetime(&local))
    }

    /// Ends an action of `who`: its changed files are committed, alone (batch 1) or with the
    /// member's next actions. A batch that already holds one of the action's files is
    /// committed first, so that no commit skips a state a record went through.
    fn commit(&mut self, message: &str, who: &str) -> Result<(), DemoError> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let files: Vec<(String, Vec<u8>)> = std::mem::take(&mut self.changed)
            .into_iter()
            .map(|p| {
                let t = self.text(&p);
                self.forget_if_final(&p);
                (p, t.into_bytes())
            })
            .collect();
        while let Some(i) = self
            .pending
            .iter()
            .position(|b| files.iter().any(|(p, _)| b.files.contains_key(p)))
        {
            // Everything queued before the conflicting batch goes first, in order.
            for _ in 0..=i {
                let b = self.pending.remove(0);
                self.write_batch(b)?;
            }
        }
        let at = match self.pending.iter().position(|b| b.who == who) {
            Some(i) => i,
            None => {
                self.pending.push(Batch {
                    who: who.to_string(),
                    messages: Vec::new(),
                    files: BTreeMap::new(),
                });
                self.pending.len() - 1
            }
        };
        let batch = &mut self.pending[at];
        batch.messages.push(message.to_string());
        batch.files.extend(files);
        if batch.messages.len() >= self.volumes.batch {
            let b = self.pending.remove(at);
            self.write_batch(b)?;
        }
        Ok(())
    }

    /// Commits every waiting batch, oldest first.
    fn flush(&mut self) -> Result<(), DemoError> {
        for b in std::mem::take(&mut self.pending) {
            self.write_batch(b)?;
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: Batch) -> Result<(), DemoError> {
        let message = batch_message(&batch.messages);
        let files: Vec<(String, Vec<u8>)> = batch.files.into_iter().collect();
        let who = batch.who;
        let identity = match self.volumes.team.iter().find(|(id, _, _)| *id == who) {
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
        self.writer.commit(&files, &message, &identity, when)?;
        self.commits += 1;
        Ok(())
    }

    fn unique(&self, kind: Kind, base: &str) -> String {
        let slug = ids::slugify(base);
        ids::first_free(&slug, |c| self.ids.contains(&(kind, c.to_string())))
    }

    /// Paths of the records of a kind in one of `states`, in path order.
    fn in_state(&self, kind: Kind, states: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = states
            .iter()
            .filter_map(|s| self.by_state.get(&(kind, s.to_string())))
            .flat_map(|set| set.iter().cloned())
            .collect();
        if states.len() > 1 {
            out.sort();
        }
        out
    }

    /// Members with a role, in team order.
    fn members(&self, role: &str) -> Vec<&'static str> {
        self.volumes
            .team
            .iter()
            .filter(|(_, _, r)| *r == role)
            .map(|(id, _, _)| *id)
            .collect()
    }

    fn pick_member(&mut self, role: &str) -> &'static str {
        let members = self.members(role);
        members[self.rng.below(members.len() as u64) as usize]
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

/// Whether `Sim::crm` holds the records of a kind: what `lifecycle::plan` and `summary` read.
fn in_typed_crm(kind: Kind) -> bool {
    matches!(kind, Kind::Account | Kind::Opportunity | Kind::Activity)
}

/// Puts a typed record at its slot (or at the end when new); returns the list's length.
fn place<T>(list: &mut Vec<T>, item: T, slot: Option<usize>) -> usize {
    match slot {
        Some(i) => list[i] = item,
        None => list.push(item),
    }
    list.len()
}

/// One action: its message. Several: the first, a count, then every message in the body.
fn batch_message(messages: &[String]) -> String {
    match messages {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => {
            let mut m = format!(
                "{first} (and {} more update{})\n\n",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            );
            for line in messages {
                m.push_str("- ");
                m.push_str(line);
                m.push('\n');
            }
            m
        }
    }
}

fn team_toml(team: &[(&str, &str, &str)], shard: u8) -> String {
    let mut t = DEFAULT_TOML.replace("# [team.alice]\n# name = \"Alice Martin\"\n# role = \"sdr\"                 # sdr | ae | growth | onboarding | manager\n# email = \"alice@example.com\"  # optional; maps git authors and CSV owners to members\n", "");
    t.push_str("\n# The simulated team of `sloop demo`.\n");
    for (id, name, role) in team {
        t.push_str(&format!("[team.{id}]\nname = \"{name}\"\nrole = \"{role}\"\nemail = \"{id}@tidewater.example\"\n\n"));
    }
    t.push_str("[targets.marc]\n\"2026-Q4\" = 6000\n\n[targets.sofia]\n\"2026-Q4\" = 6000\n");
    let mut t = t.replace(
        "[targets]\n# \"2026-Q4\" = 12000",
        "[targets]\n\"2026-Q4\" = 12000",
    );
    if shard > 0 {
        t = t.replacen(
            "currency = \"EUR\"\n",
            &format!("currency = \"EUR\"\n\n# New records go to folders named after the first {shard} characters of their id\n# (after a leading date: leads/ac/2026-03-02-acme.toml).\nshard = {shard}\n"),
            1,
        );
    }
    t
}

/// Simulates the team into a new repository at `dir`.
pub fn generate(dir: &Path, opts: &Options) -> Result<Summary, DemoError> {
    let sim = simulate(dir, opts)?;
    let (writer, mut summary) = sim.end(opts.end);
    summary.head = writer.finish()?;
    Ok(summary)
}

/// Every simulated day, streamed to the writer: everything but the checkout.
fn simulate(dir: &Path, opts: &Options) -> Result<Sim, DemoError> {
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
    let volumes = opts.scale.volumes();
    let config_text = team_toml(volumes.team, opts.shard);
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
        records: HashMap::new(),
        crm: Crm::empty(config),
        facts: Facts::default(),
        clock: Default::default(),
        changed: Vec::new(),
        writer: HistoryWriter::create(dir)?,
        commits: 0,
        day: start,
        minute: 0,
        volumes,
        shard: opts.shard,
        ids: HashSet::new(),
        companies: HashSet::new(),
        by_state: HashMap::new(),
        slots: HashMap::new(),
        account_paths: HashMap::new(),
        open_tasks: HashMap::new(),
        handoffs: Vec::new(),
        pending: Vec::new(),
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
            sim.flush()?;
        }
        tick(&mut sim)?;
        day = day + Days::new(1);
    }
    Ok(sim)
}

fn simulate_day(sim: &mut Sim) -> Result<(), DemoError> {
    let day = sim.day;
    // Monday: growth imports the week's leads.
    if day.weekday() == Weekday::Mon {
        let (lo, hi) = sim.volumes.leads_per_week;
        let n = sim.rng.between(lo, hi);
        let growth = sim.pick_member("growth");
        for _ in 0..n {
            let mut company = format!("{} {}", sim.rng.pick(PREFIX), sim.rng.pick(SUFFIX));
            // One company is one account: never reuse a name (and so a domain).
            let mut k = 1;
            while sim.companies.contains(&company) {
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
            sim.companies.insert(company.clone());
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
            let sdr = sim.pick_member("sdr");
            fields.push(("owner".into(), FieldValue::Str(sdr.into())));
            fields.push(("status".into(), FieldValue::Str("new".into())));
            fields.push(("created".into(), FieldValue::Date(day)));
            sim.create(Kind::Lead, &id, fields);
        }
        sim.commit(
            &format!("Import {n} leads from the week's forms and lists"),
            growth,
        )?;
    }
    // The SDR qualifies leads: convert or reject.
    let new_leads = sim.in_state(Kind::Lead, &["new"]);
    let conversions = sim.volumes.conversions_per_day;
    for path in new_leads.into_iter().take(conversions) {
        let (lead_id, fields) = {
            let r = &sim.records[&path];
            (r.id.clone(), r.fields.clone())
        };
        let sdr = str_of(&fields, "owner").unwrap_or_else(|| "lea".into());
        if sim.rng.chance(0.35) {
            sim.set(&path, "status", FieldValue::Str("rejected".into()));
            sim.commit(&format!("Reject lead {lead_id}: not a fit"), &sdr)?;
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
        // `lead convert` carries the lead's attribution to the account.
        for field in ["source", "channel"] {
            if let Some(v) = str_of(&fields, field) {
                acc.push((field.into(), FieldValue::Str(v)));
            }
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
        // The colleagues met later: some report to the lead's contact.
        let domain = str_of(&fields, "domain").unwrap_or_default();
        let (lo, hi) = sim.volumes.extra_contacts;
        for _ in 0..sim.rng.between(lo, hi) {
            let (first, last) = (*sim.rng.pick(FIRST), *sim.rng.pick(LAST));
            let name = format!("{first} {last}");
            let id = sim.unique(Kind::Contact, &name);
            let (title, role) = *sim.rng.pick(TITLES);
            // The id's suffix keeps two namesakes at one company apart.
            let local = id.replace('-', ".");
            let mut c: Fields = vec![
                ("name".into(), FieldValue::Str(name)),
                ("account".into(), FieldValue::Str(account.clone())),
                ("email".into(), FieldValue::Str(format!("{local}@{domain}"))),
                ("title".into(), FieldValue::Str(title.into())),
                ("role".into(), FieldValue::Str(role.into())),
            ];
            if role != "decision_maker" && sim.rng.chance(0.5) {
                c.push(("reports_to".into(), FieldValue::Str(contact.clone())));
            }
            sim.create(Kind::Contact, &id, c);
        }
        sim.set(&path, "status", FieldValue::Str("converted".into()));
        sim.set(&path, "converted_account", FieldValue::Str(account.clone()));
        sim.set(&path, "converted_contact", FieldValue::Str(contact));
        sim.commit(&format!("Convert lead {lead_id} into {account}"), &sdr)?;
    }
    // The SDR touches accounts waiting in the qualified pool.
    let pool = sim.in_state(Kind::Account, &["qualified_pool"]);
    let touches = sim.volumes.pool_touches_per_day;
    for path in pool.into_iter().take(touches) {
        if !sim.rng.chance(0.5) {
            continue;
        }
        let sdr = sim.pick_member("sdr");
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
        sim.activity(kind, &account, sdr, "First contact", extra);
        sim.commit(&format!("Log a first {kind} with {account}"), sdr)?;
    }
    // Account executives open opportunities on targets.
    let targets = sim.in_state(Kind::Account, &["target"]);
    for path in targets {
        if !sim.rng.chance(0.12) {
            continue;
        }
        let (account, source, channel, sdr) = {
            let r = &sim.records[&path];
            (
                r.id.clone(),
                str_of(&r.fields, "source").unwrap_or_else(|| "outbound".into()),
                str_of(&r.fields, "channel"),
                str_of(&r.fields, "owner").unwrap_or_else(|| "lea".into()),
            )
        };
        let owner = sim.pick_member("ae");
        let id = sim.unique(Kind::Opportunity, &format!("{account} new"));
        let name = format!(
            "{} — new",
            str_of(&sim.records[&path].fields, "name").unwrap_or_default()
        );
        // The opportunity inherits the account's attribution, as `sloop new` does.
        let mut fields: Fields = vec![
            ("name".into(), FieldValue::Str(name)),
            ("account".into(), FieldValue::Str(account.clone())),
            ("owner".into(), FieldValue::Str(owner.into())),
            ("stage".into(), FieldValue::Str("identified".into())),
            ("source".into(), FieldValue::Str(source)),
        ];
        if let Some(channel) = channel {
            fields.push(("channel".into(), FieldValue::Str(channel)));
        }
        fields.push(("created".into(), FieldValue::Date(day)));
        fields.push(("sdr".into(), FieldValue::Str(sdr)));
        sim.create(Kind::Opportunity, &id, fields);
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
        let due = day + Days::new(sim.rng.between(3, 10));
        let task = sim.activity(
            "task",
            &account,
            owner,
            "Send the proposal and book the next call",
            vec![
                ("opportunity".into(), FieldValue::Str(id.clone())),
                ("due".into(), FieldValue::Date(due)),
                ("done".into(), FieldValue::Bool(false)),
            ],
        );
        sim.open_tasks
            .entry(id.clone())
            .or_default()
            .push((due, task));
        sim.commit(&format!("Open opportunity {id}"), owner)?;
    }
    progress_opportunities(sim)?;
    customers(sim)?;
    kickoffs(sim)?;
    Ok(())
}

fn progress_opportunities(sim: &mut Sim) -> Result<(), DemoError> {
    let day = sim.day;
    let open = sim.in_state(
        Kind::Opportunity,
        &["identified", "qualified", "trial", "closing", "commit"],
    );
    for path in open {
        if !sim.rng.chance(0.07) {
            // Most days a deal only gets a follow-up, or nothing.
            if sim.rng.chance(sim.volumes.follow_up) {
                follow_up(sim, &path)?;
            }
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
                }
                // The start agreed at commit may have passed while the deal waited: the
                // customer starts after signing, never before.
                let agreed = sim.records[&path].fields.iter().find_map(|(k, v)| match v {
                    FieldValue::Date(d) if k == "commit.start_date" => Some(*d),
                    _ => None,
                });
                if agreed.is_none_or(|d| d < day) {
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
        if matches!(next, "won" | "lost") {
            complete_tasks(sim, &id);
        }
        if next == "won" {
            // `sloop move … won --handoff`: a task for onboarding, due at the kickoff.
            let fields = &sim.records[&path].fields;
            let date = |key: &str| {
                fields.iter().find_map(|(k, v)| match v {
                    FieldValue::Date(d) if k == key => Some(*d),
                    _ => None,
                })
            };
            let due = date("commit.onboarding_meeting")
                .or(date("commit.start_date"))
                .unwrap_or(day)
                .max(day);
            let name = str_of(fields, "name").unwrap_or_default();
            let who = sim.pick_member("onboarding");
            let task = sim.activity(
                "task",
                &account,
                who,
                &format!("Onboarding hand-off: {name}"),
                vec![
                    ("opportunity".into(), FieldValue::Str(id.clone())),
                    ("due".into(), FieldValue::Date(due)),
                    ("done".into(), FieldValue::Bool(false)),
                ],
            );
            sim.handoffs.push((due, task, who, account.clone()));
        }
        if next == "lost" {
            let reason = str_of(&sim.records[&path].fields, "lost_reason").unwrap_or_default();
            sim.activity(
                "note",
                &account,
                &owner,
                &format!("Lost: {}", reason.replace('_', " ")),
                vec![("opportunity".into(), FieldValue::Str(id.clone()))],
            );
        }
        sim.commit(&format!("Move {id} from {stage} to {next}"), &owner)?;
    }
    Ok(())
}

fn customers(sim: &mut Sim) -> Result<(), DemoError> {
    let customers = sim.in_state(Kind::Account, &["customer"]);
    for path in customers {
        let account = sim.records[&path].id.clone();
        if sim.rng.chance(0.0015) {
            let who = sim.pick_member("onboarding");
            // A churned customer's open upsells are lost with it.
            let open = sim.in_state(
                Kind::Opportunity,
                &["identified", "qualified", "trial", "closing", "commit"],
            );
            for opp in open {
                if str_of(&sim.records[&opp].fields, "account").as_deref() == Some(&account) {
                    sim.set(&opp, "lost_reason", FieldValue::Str("no_need".into()));
                    sim.set(&opp, "close_date", FieldValue::Date(sim.day));
                    sim.set(&opp, "stage", FieldValue::Str("lost".into()));
                    let id = sim.records[&opp].id.clone();
                    complete_tasks(sim, &id);
                }
            }
            sim.set_status(&path, "churn");
            let why = *sim.rng.pick(&[
                "Moving to an in-house tool.",
                "Budget cut for next year.",
                "Acquired by a group that uses another billing tool.",
            ]);
            sim.activity(
                "note",
                &account,
                who,
                "Cancelled the subscription",
                vec![("body".into(), FieldValue::Str(why.into()))],
            );
            sim.commit(&format!("{account} churned"), who)?;
        } else if sim.rng.chance(0.003) {
            let owner = sim.pick_member("ae");
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
            let who = sim.pick_member("onboarding");
            sim.activity(
                "meeting",
                &account,
                who,
                "Onboarding check-in",
                vec![("duration_min".into(), FieldValue::Int(30))],
            );
            sim.commit(&format!("Onboarding check-in with {account}"), who)?;
        }
    }
    Ok(())
}

/// The end of the day: the same plan `sloop tick` makes, applied and committed.
fn tick(sim: &mut Sim) -> Result<(), DemoError> {
    let plan = lifecycle::plan(&sim.crm, &sim.facts, sim.day)?;
    if plan.moves.is_empty() {
        return Ok(());
    }
    sim.flush()?;
    for m in &plan.moves {
        let path = sim.account_paths[&m.id].clone();
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
    let message = crate::lifecycle::tick::commit_message(&plan, sim.day);
    sim.minute = sim.minute.max(18 * 60);
    sim.commit(&message, "sloop")?;
    sim.flush()
}

/// A touch on an open deal between two stage moves: an email or a call, which also closes
/// the deal's tasks that are due.
fn follow_up(sim: &mut Sim, path: &str) -> Result<(), DemoError> {
    let (id, owner, account) = {
        let r = &sim.records[path];
        (
            r.id.clone(),
            str_of(&r.fields, "owner").unwrap_or_default(),
            str_of(&r.fields, "account").unwrap_or_default(),
        )
    };
    let call = sim.rng.chance(0.4);
    let mut extra = vec![("opportunity".to_string(), FieldValue::Str(id.clone()))];
    if call {
        extra.push((
            "duration_min".into(),
            FieldValue::Int(sim.rng.between(5, 40) as i64),
        ));
    }
    let subject = *sim.rng.pick(&[
        "Follow-up on the proposal",
        "Answered questions on the integration",
        "Checked in on the timeline",
        "Sent the security questionnaire",
    ]);
    sim.activity(
        if call { "call" } else { "email" },
        &account,
        &owner,
        subject,
        extra,
    );
    let due: Vec<String> = sim
        .open_tasks
        .get(&id)
        .map(|t| {
            t.iter()
                .filter(|(d, _)| *d <= sim.day)
                .map(|(_, p)| p.clone())
                .collect()
        })
        .unwrap_or_default();
    for task in &due {
        sim.set(task, "done", FieldValue::Bool(true));
    }
    if let Some(t) = sim.open_tasks.get_mut(&id) {
        t.retain(|(_, p)| !due.contains(p));
    }
    sim.commit(&format!("Follow up on {id}"), &owner)
}

/// Marks every open task of a deal done.
/// Onboarding holds the kickoff of each won deal on the hand-off task's due day, and closes
/// the task.
fn kickoffs(sim: &mut Sim) -> Result<(), DemoError> {
    let day = sim.day;
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut sim.handoffs)
        .into_iter()
        .partition(|(d, ..)| *d <= day);
    sim.handoffs = later;
    for (_, task, who, account) in due {
        sim.set(&task, "done", FieldValue::Bool(true));
        sim.activity(
            "meeting",
            &account,
            who,
            "Onboarding kickoff",
            vec![("duration_min".into(), FieldValue::Int(60))],
        );
        sim.commit(&format!("Onboarding kickoff with {account}"), who)?;
    }
    Ok(())
}

fn complete_tasks(sim: &mut Sim, opportunity: &str) {
    for (_, task) in sim.open_tasks.remove(opportunity).unwrap_or_default() {
        sim.set(&task, "done", FieldValue::Bool(true));
    }
}

fn summary(
    crm: &Crm,
    clock: &crate::report::metrics::Clock,
    commits: usize,
    end: NaiveDate,
) -> Summary {
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
    let pipeline = crate::report::metrics::pipeline(crm);
    let won: Vec<_> = crm
        .opportunities
        .iter()
        .filter(|o| crm.config.outcome(&o.stage) == Some(crate::config::Outcome::Won))
        .collect();
    // The report's MRR timeline, on the dates the commits will carry.
    let contracts = crate::report::metrics::timeline::contracts(crm, clock);
    let mrr =
        crate::report::metrics::round2(crate::report::metrics::timeline::live_on(&contracts, end));
    Summary {
        commits,
        head: None,
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

#[cfg(test)]
mod tests {
    use super::{
        batch_message, in_typed_crm, simulate, state_field, str_of, team_toml, Options, Rng, Scale,
        TEAM,
    };
    use crate::config::{Config, FILE};
    use crate::model::Kind;
    use crate::store::edit::FieldValue;

    #[test]
    fn the_simulation_keeps_only_the_records_later_actions_change() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            seed: 7,
            months: 2,
            end: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            scale: Scale::Small,
            shard: 0,
        };
        let sim = simulate(&dir.path().join("demo"), &opts).unwrap();
        let mut open_tasks = 0;
        for (path, rec) in &sim.records {
            let status = str_of(&rec.fields, "status");
            let kind = str_of(&rec.fields, "kind");
            let done = rec
                .fields
                .iter()
                .any(|(k, v)| k == "done" && *v == FieldValue::Bool(true));
            match rec.kind {
                Kind::Account | Kind::Opportunity => {}
                Kind::Lead => assert_eq!(status.as_deref(), Some("new"), "{path}"),
                Kind::Activity => {
                    assert!(kind.as_deref() == Some("task") && !done, "{path}");
                    open_tasks += 1;
                }
                Kind::Contact => panic!("a contact is never changed again: {path}"),
            }
        }
        assert!(open_tasks > 0, "open tasks are kept to be closed later");
        let typed = |kind| sim.records.values().filter(|r| r.kind == kind).count();
        assert_eq!(typed(Kind::Account), sim.crm.accounts.len());
        assert_eq!(typed(Kind::Opportunity), sim.crm.opportunities.len());
        assert!(
            sim.crm.activities.len() > 10 * open_tasks,
            "the plan reads every activity: {}",
            sim.crm.activities.len()
        );
        assert!(sim.crm.contacts.is_empty() && sim.crm.leads.is_empty());
        let slotted = sim
            .records
            .values()
            .filter(|r| in_typed_crm(r.kind))
            .count();
        assert_eq!(
            sim.slots.len(),
            slotted,
            "a slot for each record kept, no more"
        );
    }

    #[test]
    fn the_generator_is_a_pure_function_of_its_seed() {
        let draw = |seed| {
            let mut r = Rng(seed);
            (0..5).map(|_| r.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let mut r = Rng(9);
        for _ in 0..1000 {
            let x = r.between(3, 5);
            assert!((3..=5).contains(&x));
        }
    }

    #[test]
    fn the_team_and_shard_make_a_valid_sloop_toml() {
        for scale in [Scale::Small, Scale::Large] {
            for shard in [0, 2] {
                let text = team_toml(scale.volumes().team, shard);
                let (config, diags) = Config::parse(FILE, &text);
                assert!(diags.is_empty(), "{scale:?} {shard}: {diags:?}");
                assert_eq!(config.shard, shard);
                assert_eq!(config.team.len(), scale.volumes().team.len());
                for role in ["sdr", "ae", "growth", "onboarding"] {
                    assert!(
                        scale.volumes().team.iter().any(|(_, _, r)| *r == role),
                        "{scale:?} has no {role}"
                    );
                }
            }
        }
        assert_eq!(Scale::Small.volumes().team, TEAM);
        assert_eq!(Scale::Small.volumes().batch, 1, "one commit per action");
    }

    #[test]
    fn a_batch_commit_names_every_action() {
        assert_eq!(batch_message(&["Open x".into()]), "Open x");
        let m = batch_message(&["Open x".into(), "Move y".into(), "Log z".into()]);
        assert_eq!(
            m,
            "Open x (and 2 more updates)\n\n- Open x\n- Move y\n- Log z\n"
        );
    }

    #[test]
    fn states_are_indexed_by_their_field() {
        assert_eq!(state_field(Kind::Account), Some("status"));
        assert_eq!(state_field(Kind::Lead), Some("status"));
        assert_eq!(state_field(Kind::Opportunity), Some("stage"));
        assert_eq!(state_field(Kind::Activity), None);
    }
}
