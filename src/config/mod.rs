//! `sloop.toml`: the team, the allowed values, the opportunity stages, the account statuses,
//! the lifecycle thresholds and the targets. The defaults (`default.toml`, written by
//! `sloop init`) reproduce DESIGN.md §4.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::de::{DeTable, DeValue};

use crate::diag::{one_of, suggest, Code, Diagnostic, Loc};
use crate::model::reader::{grouped, Fields, FileReader, MAX_AMOUNT};
use crate::model::MemberId;

pub mod hooks;
pub mod serve;
pub use hooks::Hook;

/// The file that marks a CRM's root.
pub const FILE: &str = "sloop.toml";

/// The default, commented `sloop.toml`.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Sdr,
    Ae,
    Growth,
    Onboarding,
    Manager,
}

impl Role {
    pub const NAMES: &'static [&'static str] = &["sdr", "ae", "growth", "onboarding", "manager"];
    fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "sdr" => Role::Sdr,
            "ae" => Role::Ae,
            "growth" => Role::Growth,
            "onboarding" => Role::Onboarding,
            "manager" => Role::Manager,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub role: Option<Role>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Values {
    pub sources: Vec<String>,
    pub lost_reasons: Vec<String>,
    pub channels: Vec<String>,
    pub industries: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    pub target_stale_days: u32,
    pub backlog_days: u32,
    pub churn_cooldown_days: u32,
    pub opportunity_stale_days: u32,
    /// A deal in the `trial` stage this many days raises a `trial-stale` alert.
    pub trial_days: u32,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            target_stale_days: 30,
            backlog_days: 180,
            churn_cooldown_days: 90,
            opportunity_stale_days: 14,
            trial_days: 10,
        }
    }
}

/// New MRR per quarter (`"2026-Q4"`): the MRR of won deals that starts in the quarter, for the
/// team and per member.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Targets {
    pub team: BTreeMap<String, f64>,
    pub members: BTreeMap<String, BTreeMap<String, f64>>,
}

/// How a closed stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Won,
    Lost,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub probability: u8,
    pub entry: bool,
    pub next: Vec<String>,
    pub requires: Vec<String>,
    pub require_true: Vec<String>,
    pub outcome: Option<Outcome>,
    /// Where the stage is defined in sloop.toml.
    #[serde(skip)]
    pub loc: Loc,
}

impl Stage {
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    pub entry: bool,
    pub next: Vec<String>,
    pub requires: Vec<String>,
    pub exclusive: Vec<String>,
    /// Where the status is defined in sloop.toml.
    #[serde(skip)]
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub currency: String,
    /// Sharding of new record files (`sloop.toml`: `shard = 2` writes `accounts/ac/acme.toml`).
    pub shard: u8,
    pub team: Vec<Member>,
    pub values: Values,
    pub lifecycle: Lifecycle,
    pub targets: Targets,
    /// Opportunity stages in pipeline order.
    pub stages: Vec<Stage>,
    /// Account statuses in file order.
    pub statuses: Vec<Status>,
    /// The webhooks `sloop serve` accepts (`[hooks.<name>]`), in file order.
    pub hooks: Vec<Hook>,
    /// How captured activities are filed (`[ingest]`).
    pub ingest: Ingest,
    /// `sloop serve`'s limits per client and its pages' readers (`[serve]`).
    pub serve: hooks::ServeSettings,
}

/// `[ingest]`: how messages, calendars and call logs become activities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ingest {
    /// A calendar event whose summary holds one of these words (whole, case-insensitive) is
    /// a `demo`; the others are meetings.
    pub demo_words: Vec<String>,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            demo_words: vec!["demo".into(), "démo".into()],
        }
    }
}

/// Fields a stage may require (`requires`), with the kind of value for `require_true`.
pub const OPPORTUNITY_FIELDS: &[&str] = &[
    "name",
    "account",
    "owner",
    "stage",
    "source",
    "type",
    "mrr",
    "close_date",
    "created",
    "sdr",
    "channel",
    "integration",
    "lost_reason",
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

/// Fields an account status may require.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "name",
    "status",
    "owner",
    "domain",
    "backlog_until",
    "fit",
    "industry",
    "employees",
    "country",
    "source",
    "tools",
    "disqualified_reason",
    "tags",
];

impl Default for Config {
    fn default() -> Self {
        let (config, diags) = Config::parse(FILE, DEFAULT_TOML);
        debug_assert!(diags.is_empty(), "default config has errors: {diags:?}");
        config
    }
}

impl Config {
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.team.iter().find(|m| m.id.as_str() == id)
    }

    /// The member whose `email` is `email` (case-insensitive): a git author, an email
    /// participant, a CSV owner column.
    pub fn member_by_email(&self, email: &str) -> Option<&Member> {
        let email = email.trim();
        self.team.iter().find(|m| {
            m.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    pub fn member_ids(&self) -> impl Iterator<Item = &str> {
        self.team.iter().map(|m| m.id.as_str())
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    pub fn status(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name == name)
    }

    pub fn stage_names(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn status_names(&self) -> Vec<&str> {
        self.statuses.iter().map(|s| s.name.as_str()).collect()
    }

    /// Whether a stage is open (known and not closed). Unknown stages are not open.
    pub fn is_open_stage(&self, name: &str) -> bool {
        self.stage(name).is_some_and(Stage::is_open)
    }

    pub fn outcome(&self, stage: &str) -> Option<Outcome> {
        self.stage(stage).and_then(|s| s.outcome)
    }

    /// Parses `sloop.toml`, reporting every problem. Sections with errors fall back to their
    /// defaults so that records can still be checked.
    pub fn parse(path: &str, text: &str) -> (Config, Vec<Diagnostic>) {
        let mut r = FileReader::new(path, text);
        let config = match r.parse(text) {
            Some(doc) => read_config(&mut r, &doc),
            None => fallback(),
        };
        (config, r.diags)
    }
}

/// The built-in rules, used when `sloop.toml` cannot be parsed at all.
fn fallback() -> Config {
    let mut r = FileReader::new(FILE, DEFAULT_TOML);
    let doc = r
        .parse(DEFAULT_TOML)
        .expect("the default sloop.toml parses");
    read_config(&mut r, &doc)
}

const TOP: &[&str] = &[
    "currency",
    "shard",
    "team",
    "values",
    "lifecycle",
    "targets",
    "stages",
    "statuses",
    "hooks",
    "serve",
    "ingest",
];

fn read_config(r: &mut FileReader, doc: &DeTable) -> Config {
    let mut f = Fields::new(doc, "", "sloop.toml", TOP);
    let currency = f.text(r, "currency").unwrap_or_else(|| "EUR".to_string());
    let shard = f.count(r, "shard").unwrap_or(0);
    let shard = if shard > 8 {
        let loc = r
            .locs
            .iter()
            .rev()
            .find(|(k, _)| *k == "shard")
            .map(|(_, l)| *l);
        r.push(Diagnostic::new(
            Code::Config,
            r.path,
            loc.unwrap_or(Loc::START),
            "`shard` is the number of leading characters of the id used as a folder: 0 to 8",
        ));
        0
    } else {
        shard as u8
    };
    let team = f
        .table(r, "team")
        .map(|t| read_team(r, t))
        .unwrap_or_default();
    let values = f
        .table(r, "values")
        .map(|t| read_values(r, t))
        .unwrap_or_default();
    let lifecycle = f
        .table(r, "lifecycle")
        .map(|t| read_lifecycle(r, t))
        .unwrap_or_default();
    let targets = f
        .table(r, "targets")
        .map(|t| read_targets(r, t, &team))
        .unwrap_or_default();
    let ingest = f
        .table(r, "ingest")
        .map(|t| {
            let mut f = Fields::new(t, "ingest.", "[ingest]", &["ingest.demo_words"]);
            let words = f
                .has("ingest.demo_words")
                .then(|| f.strings(r, "ingest.demo_words"));
            f.finish(r);
            Ingest {
                demo_words: words.unwrap_or_else(|| Ingest::default().demo_words),
            }
        })
        .unwrap_or_default();
    let stages_present = f.has("stages");
    let stages = f.table(r, "stages").map(|t| read_stages(r, t));
    let statuses = f.table(r, "statuses").map(|t| read_statuses(r, t));
    let hooks = f
        .table(r, "hooks")
        .map(|t| hooks::read_hooks(r, t, &values, &team))
        .unwrap_or_default();
    let serve = f
        .table(r, "serve")
        .map(|t| hooks::read_serve(r, t))
        .unwrap_or_default();
    f.finish(r);
    let mut config = Config {
        currency,
        shard,
        team,
        values,
        lifecycle,
        targets,
        stages: stages.unwrap_or_default(),
        statuses: statuses.unwrap_or_default(),
        hooks,
        ingest,
        serve,
    };
    if config.stages.is_empty() || config.statuses.is_empty() {
        // A CRM without its own method uses the built-in one; say so only when a table was
        // written and came out empty.
        if stages_present && config.stages.is_empty() {
            r.push(Diagnostic::new(
                Code::Config,
                r.path,
                Loc::START,
                "`[stages]` defines no stage: using the built-in stages",
            ));
        }
        let (stages, statuses) = default_method();
        if config.stages.is_empty() {
            config.stages = stages;
        }
        if config.statuses.is_empty() {
            config.statuses = statuses;
        }
    }
    validate_method(r, &config);
    config
}

fn default_method() -> (Vec<Stage>, Vec<Status>) {
    let mut r = FileReader::new("(defaults)", DEFAULT_TOML);
    let doc = r
        .parse(DEFAULT_TOML)
        .expect("the default sloop.toml parses");
    let mut f = Fields::new(&doc, "", "sloop.toml", TOP);
    let stages = f.table(&mut r, "stages").map(|t| read_stages(&mut r, t));
    let statuses = f
        .table(&mut r, "statuses")
        .map(|t| read_statuses(&mut r, t));
    (stages.unwrap_or_default(), statuses.unwrap_or_default())
}

fn read_team(r: &mut FileReader, t: &DeTable) -> Vec<Member> {
    let mut team = Vec::new();
    let mut f = Fields::new(t, "team.", "[team]", &[]);
    for (key, value) in f.entries() {
        let id = match MemberId::new(key.get_ref()) {
            Ok(id) => id,
            Err(e) => {
                r.error(Code::Config, key.span(), format!("invalid member id: {e}"));
                continue;
            }
        };
        let DeValue::Table(m) = value.get_ref() else {
            r.error_hint(
                Code::WrongType,
                value.span(),
                format!("`team.{id}` must be a table"),
                format!("write `[team.{id}]` with `name`, `role` and `email` below it"),
            );
            continue;
        };
        let mut mf = Fields::new(m, "", "a team member", &["name", "role", "email"]);
        let name = mf.text(r, "name").unwrap_or_else(|| id.to_string());
        let role = mf
            .one_of(r, "role", Role::NAMES)
            .and_then(|s| Role::parse(&s));
        let email = mf.text(r, "email").map(|e| e.to_lowercase());
        mf.finish(r);
        team.push(Member {
            id,
            name,
            role,
            email,
        });
    }
    team
}

fn read_values(r: &mut FileReader, t: &DeTable) -> Values {
    let mut f = Fields::new(
        t,
        "values.",
        "[values]",
        &[
            "values.sources",
            "values.lost_reasons",
            "values.channels",
            "values.industries",
        ],
    );
    let v = Values {
        sources: f.strings(r, "values.sources"),
        lost_reasons: f.strings(r, "values.lost_reasons"),
        channels: f.strings(r, "values.channels"),
        industries: f.strings(r, "values.industries"),
    };
    f.finish(r);
    v
}

fn read_lifecycle(r: &mut FileReader, t: &DeTable) -> Lifecycle {
    let d = Lifecycle::default();
    let mut f = Fields::new(
        t,
        "lifecycle.",
        "[lifecycle]",
        &[
            "lifecycle.target_stale_days",
            "lifecycle.backlog_days",
            "lifecycle.churn_cooldown_days",
            "lifecycle.opportunity_stale_days",
            "lifecycle.trial_days",
        ],
    );
    let mut days = |r: &mut FileReader, name: &'static str, default: u32| {
        let max = crate::model::dates::MAX_DAYS;
        f.count_up_to(r, name, u64::from(max), Code::Config, " days")
            .map(|n| n.min(u64::from(max)) as u32)
            .unwrap_or(default)
    };
    let l = Lifecycle {
        target_stale_days: days(r, "lifecycle.target_stale_days", d.target_stale_days),
        backlog_days: days(r, "lifecycle.backlog_days", d.backlog_days),
        churn_cooldown_days: days(r, "lifecycle.churn_cooldown_days", d.churn_cooldown_days),
        opportunity_stale_days: days(
            r,
            "lifecycle.opportunity_stale_days",
            d.opportunity_stale_days,
        ),
        trial_days: days(r, "lifecycle.trial_days", d.trial_days),
    };
    f.finish(r);
    l
}

/// `"2026-Q4"`.
pub fn is_quarter(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && &b[4..6] == b"-Q"
        && (b'1'..=b'4').contains(&b[6])
}

fn read_quarter_amounts(
    r: &mut FileReader,
    t: &DeTable,
    into: &mut BTreeMap<String, f64>,
    team: Option<&[Member]>,
) -> Vec<(String, BTreeMap<String, f64>)> {
    let mut members = Vec::new();
    for (key, value) in t.iter() {
        let k = key.get_ref().as_ref();
        if is_quarter(k) {
            match value.get_ref() {
                DeValue::Integer(_) | DeValue::Float(_) => {
                    let n = match value.get_ref() {
                        DeValue::Integer(i) => i
                            .as_str()
                            .replace('_', "")
                            .parse::<i64>()
                            .ok()
                            .map(|n| n as f64),
                        DeValue::Float(x) => x.as_str().replace('_', "").parse::<f64>().ok(),
                        _ => None,
                    };
                    match n {
                        Some(n) if (0.0..=MAX_AMOUNT).contains(&n) => {
                            into.insert(k.to_string(), n);
                        }
                        _ => r.error(
                            Code::Config,
                            value.span(),
                            format!(
                                "target `{k}` must be a number from 0 to {}",
                                grouped(MAX_AMOUNT as u64)
                            ),
                        ),
                    }
                }
                other => r.error(
                    Code::WrongType,
                    value.span(),
                    format!(
                        "target `{k}` must be a number, found {}",
                        crate::model::reader::type_name(other)
                    ),
                ),
            }
            continue;
        }
        match (team, value.get_ref()) {
            (Some(team), DeValue::Table(sub)) => {
                if !team.iter().any(|m| m.id.as_str() == k) {
                    let hint = suggest(k, team.iter().map(|m| m.id.as_str()))
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| "per-member targets are keyed by team member id".into());
                    r.error_hint(Code::UnknownMember, key.span(), format!("`[targets.{k}]`: `{k}` is not a team member"), hint);
                }
                let mut amounts = BTreeMap::new();
                read_quarter_amounts(r, sub, &mut amounts, None);
                members.push((k.to_string(), amounts));
            }
            _ => r.error_hint(
                Code::Config,
                key.span(),
                format!("`{k}` is not a quarter"),
                "targets are keyed `\"YYYY-Qn\"` (e.g. `\"2026-Q4\" = 12000`), or `[targets.<member>]` tables of those",
            ),
        }
    }
    members
}

fn read_targets(r: &mut FileReader, t: &DeTable, team: &[Member]) -> Targets {
    let mut targets = Targets::default();
    let members = read_quarter_amounts(r, t, &mut targets.team, Some(team));
    targets.members = members.into_iter().collect();
    targets
}

const STAGE_KEYS: &[&str] = &[
    "probability",
    "entry",
    "next",
    "requires",
    "require_true",
    "outcome",
];
const STATUS_KEYS: &[&str] = &["entry", "next", "requires", "exclusive"];

fn read_stages(r: &mut FileReader, t: &DeTable) -> Vec<Stage> {
    let mut stages = Vec::new();
    let mut f = Fields::new(t, "stages.", "[stages]", &[]);
    for (key, value) in f.entries() {
        let name = key.get_ref().to_string();
        if let Err(e) = crate::model::ids::validate(&name.replace('_', "-")) {
            r.error(Code::Config, key.span(), format!("invalid stage name: {e}"));
            continue;
        }
        let DeValue::Table(st) = value.get_ref() else {
            r.error(
                Code::WrongType,
                value.span(),
                format!("`stages.{name}` must be a table"),
            );
            continue;
        };
        let mut sf = Fields::new(st, "", "a stage", STAGE_KEYS);
        let probability = match sf.count(r, "probability") {
            Some(p) if p <= 100 => p as u8,
            Some(_) => {
                r.error(
                    Code::Config,
                    value.span(),
                    format!("stage `{name}`: `probability` is a percentage, 0 to 100"),
                );
                0
            }
            None => {
                if !sf.has("probability") {
                    r.error_hint(
                        Code::Config,
                        key.span(),
                        format!("stage `{name}` has no `probability`"),
                        "add `probability = <0-100>`",
                    );
                }
                0
            }
        };
        let outcome = sf.one_of(r, "outcome", &["won", "lost"]).map(|o| {
            if o == "won" {
                Outcome::Won
            } else {
                Outcome::Lost
            }
        });
        let stage = Stage {
            name,
            probability,
            entry: sf.bool(r, "entry").unwrap_or(false),
            next: sf.strings(r, "next"),
            requires: sf.strings(r, "requires"),
            require_true: sf.strings(r, "require_true"),
            outcome,
            loc: r.loc(key.span()),
        };
        sf.finish(r);
        stages.push(stage);
    }
    stages
}

fn read_statuses(r: &mut FileReader, t: &DeTable) -> Vec<Status> {
    let mut statuses = Vec::new();
    let mut f = Fields::new(t, "statuses.", "[statuses]", &[]);
    for (key, value) in f.entries() {
        let name = key.get_ref().to_string();
        if let Err(e) = crate::model::ids::validate(&name.replace('_', "-")) {
            r.error(
                Code::Config,
                key.span(),
                format!("invalid status name: {e}"),
            );
            continue;
        }
        let DeValue::Table(st) = value.get_ref() else {
            r.error(
                Code::WrongType,
                value.span(),
                format!("`statuses.{name}` must be a table"),
            );
            continue;
        };
        let mut sf = Fields::new(st, "", "a status", STATUS_KEYS);
        let status = Status {
            name,
            entry: sf.bool(r, "entry").unwrap_or(false),
            next: sf.strings(r, "next"),
            requires: sf.strings(r, "requires"),
            exclusive: sf.strings(r, "exclusive"),
            loc: r.loc(key.span()),
        };
        sf.finish(r);
        statuses.push(status);
    }
    statuses
}

/// Cross-checks the method: every `next` names a known stage/status, every required field
/// exists, there is an entry point.
fn validate_method(r: &mut FileReader, c: &Config) {
    let mut problems: Vec<(Loc, String, String)> = Vec::new();
    let stage_names = c.stage_names();
    for s in &c.stages {
        for n in &s.next {
            if c.stage(n).is_none() {
                problems.push((
                    s.loc,
                    format!("stage `{}`: `next` names unknown stage `{n}`", s.name),
                    format!("stages: {}", one_of(&stage_names)),
                ));
            }
        }
        for f in s.requires.iter().chain(&s.require_true) {
            if !OPPORTUNITY_FIELDS.contains(&f.as_str()) {
                let hint = suggest(f, OPPORTUNITY_FIELDS.iter().copied())
                    .map(|x| format!("did you mean `{x}`?"))
                    .unwrap_or_else(|| {
                        "fields are named as in the record, `bant.budget` for sub-tables".into()
                    });
                problems.push((
                    s.loc,
                    format!("stage `{}` requires unknown field `{f}`", s.name),
                    hint,
                ));
            }
        }
        for f in &s.require_true {
            if f != "commit.invoice_scheduled" && OPPORTUNITY_FIELDS.contains(&f.as_str()) {
                problems.push((
                    s.loc,
                    format!(
                        "stage `{}`: `require_true` names `{f}`, which is not a boolean",
                        s.name
                    ),
                    "only `commit.invoice_scheduled` is a boolean".into(),
                ));
            }
        }
    }
    if !c.stages.is_empty() && !c.stages.iter().any(|s| s.entry) {
        problems.push((
            Loc::START,
            "no opportunity stage has `entry = true`: no opportunity could be created".into(),
            "mark the first stage `entry = true`".into(),
        ));
    }
    let status_names = c.status_names();
    for s in &c.statuses {
        for n in &s.next {
            if c.status(n).is_none() {
                problems.push((
                    s.loc,
                    format!("status `{}`: `next` names unknown status `{n}`", s.name),
                    format!("statuses: {}", one_of(&status_names)),
                ));
            }
        }
        for f in s.requires.iter().chain(&s.exclusive) {
            if !ACCOUNT_FIELDS.contains(&f.as_str()) {
                let hint = suggest(f, ACCOUNT_FIELDS.iter().copied())
                    .map(|x| format!("did you mean `{x}`?"))
                    .unwrap_or_else(|| format!("account fields: {}", one_of(ACCOUNT_FIELDS)));
                problems.push((
                    s.loc,
                    format!("status `{}` names unknown field `{f}`", s.name),
                    hint,
                ));
            }
        }
    }
    if !c.statuses.is_empty() && !c.statuses.iter().any(|s| s.entry) {
        problems.push((
            Loc::START,
            "no account status has `entry = true`: no account could be created".into(),
            "mark `qualified_pool` `entry = true`".into(),
        ));
    }
    for (loc, message, hint) in problems {
        r.push(Diagnostic::new(Code::Config, r.path, loc, message).with_hint(hint));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_found_by_email_whatever_its_case() {
        let text =
            "[team.alice]\nname = \"A\"\nemail = \"Alice@Example.com\"\n[team.bob]\nname = \"B\"\n";
        let (c, diags) = Config::parse(FILE, text);
        assert!(diags.is_empty(), "{diags:?}");
        let id = |e: &str| c.member_by_email(e).map(|m| m.id.to_string());
        assert_eq!(id("alice@example.com").as_deref(), Some("alice"));
        assert_eq!(id(" ALICE@EXAMPLE.COM ").as_deref(), Some("alice"));
        assert_eq!(id("bob@example.com"), None, "bob has no email");
        assert_eq!(id(""), None);
    }

    #[test]
    fn defaults_reproduce_the_design() {
        let (c, diags) = Config::parse(FILE, DEFAULT_TOML);
        assert!(diags.is_empty(), "{diags:?}");
        let table: Vec<(&str, u8, bool, Vec<&str>)> = c
            .stages
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.probability,
                    s.entry,
                    s.next.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            table,
            vec![
                ("identified", 10, true, vec!["qualified", "lost"]),
                ("qualified", 20, false, vec!["trial", "closing", "lost"]),
                ("trial", 40, true, vec!["won", "closing", "lost"]),
                ("closing", 50, false, vec!["commit", "lost"]),
                ("commit", 95, false, vec!["won", "lost"]),
                ("won", 100, false, vec![]),
                ("lost", 0, false, vec!["identified"]),
            ]
        );
        assert_eq!(c.outcome("won"), Some(Outcome::Won));
        assert_eq!(c.outcome("lost"), Some(Outcome::Lost));
        assert!(c.is_open_stage("commit"));
        let commit = c.stage("commit").unwrap();
        assert!(commit.requires.iter().any(|f| f == "commit.billing_tool"));
        assert_eq!(commit.require_true, vec!["commit.invoice_scheduled"]);
        let statuses: Vec<(&str, bool, Vec<&str>)> = c
            .statuses
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.entry,
                    s.next.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                (
                    "qualified_pool",
                    true,
                    vec!["target", "working", "unqualified_pool", "disqualified"]
                ),
                (
                    "unqualified_pool",
                    true,
                    vec!["qualified_pool", "target", "working", "disqualified"]
                ),
                (
                    "target",
                    true,
                    vec!["working", "customer", "backlog", "disqualified"]
                ),
                ("working", false, vec!["customer", "target", "backlog"]),
                ("customer", true, vec!["churn"]),
                ("churn", false, vec!["qualified_pool"]),
                (
                    "backlog",
                    false,
                    vec!["qualified_pool", "unqualified_pool", "working"]
                ),
                ("disqualified", true, vec!["unqualified_pool"]),
            ]
        );
        assert_eq!(c.lifecycle, Lifecycle::default());
        assert!(c.team.is_empty());
        assert_eq!(
            c.values.sources,
            ["outbound", "inbound", "referral", "partnership", "upsell"]
        );
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let text = "currency = \"EUR\"\nshard = 0\n[team.alice]\nname = \"A\"\nrole = \"sales\"\n[lifecycle]\ntarget_stale_days = \"30\"\n[stages.identified]\nprobability = 10\nentry = true\nnext = [\"qualifed\"]\n[statuses.target]\nentry = true\n";
        let (c, diags) = Config::parse(FILE, text);
        let found: Vec<(Code, u32)> = diags.iter().map(|d| (d.code, d.line)).collect();
        assert!(found.contains(&(Code::UnknownValue, 5)), "{found:?}");
        assert!(found.contains(&(Code::WrongType, 7)), "{found:?}");
        assert!(diags
            .iter()
            .any(|d| d.code == Code::Config && d.message.contains("`qualifed`")));
        assert_eq!(c.lifecycle.target_stale_days, 30);
        assert_eq!(c.team.len(), 1);
    }

    #[test]
    fn targets_by_team_and_member() {
        let text = "[team.alice]\nname = \"A\"\n[targets]\n\"2026-Q4\" = 12000\n[targets.alice]\n\"2026-Q4\" = 4000.5\n[targets.bob]\n\"2026-Q4\" = 1\n";
        let (c, diags) = Config::parse(FILE, text);
        assert_eq!(c.targets.team["2026-Q4"], 12000.0);
        assert_eq!(c.targets.members["alice"]["2026-Q4"], 4000.5);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::UnknownMember);
        assert!(
            !c.stages.is_empty(),
            "missing [stages] falls back to the built-in method"
        );
    }

    #[test]
    fn syntax_error_falls_back_to_defaults() {
        let (c, diags) = Config::parse(FILE, "[team\n");
        assert_eq!(diags[0].code, Code::Syntax);
        assert_eq!(diags[0].line, 1);
        assert_eq!(c.stages.len(), 7);
    }
}
