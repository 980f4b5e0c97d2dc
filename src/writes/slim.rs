//! What a write needs to know about the records it does not write: their ids and paths, and
//! the few fields that other records are matched or checked by. A write command loads every
//! other record in this slim form (from `writes::index`, a cache keyed by HEAD's tree) and
//! only the records it edits whole, which is what lets it cost what one file costs.
//!
//! Every record struct is destructured without `..`: a new field does not compile until it
//! is decided here whether writes read it from other records (keep it) or not (drop it).
//! `slim_records_judge_every_write_as_full_records_do` (tests below) holds the promise that a
//! write decides the same from slim records as from whole ones.

use crate::model::{
    Account, Activity, AnyRecord, CaptureKeys, Captured, Contact, Lead, Meta, Opportunity,
};

/// The record with only what writes read from records they do not write: identity and path,
/// account domains, source and channel (attribution), contact emails and accounts,
/// opportunity accounts, lead emails, companies and domains, and what makes a captured
/// activity the same as one already recorded (`writes::ingest::Key`): message ids, call ids,
/// and a calendar event's uid, recurrence id and sequence (an update must be newer).
pub fn slim(record: AnyRecord) -> AnyRecord {
    let meta = |m: Meta| Meta {
        id: m.id,
        path: m.path,
        locs: Vec::new(),
        broken: m.broken,
    };
    match record {
        AnyRecord::Account(Account {
            meta: m,
            name,
            status,
            owner: _,
            domain,
            backlog_until: _,
            fit: _,
            industry: _,
            employees: _,
            revenue: _,
            country,
            source,
            channel,
            linkedin: _,
            tools: _,
            disqualified_reason: _,
            tags: _,
            custom: _,
        }) => AnyRecord::Account(Account {
            meta: meta(m),
            name,
            status,
            domain,
            country,
            source,
            channel,
            ..Account::default()
        }),
        AnyRecord::Contact(Contact {
            meta: m,
            name: _,
            account,
            email,
            title: _,
            role: _,
            persona: _,
            phone,
            linkedin: _,
            reports_to: _,
            custom: _,
        }) => AnyRecord::Contact(Contact {
            meta: meta(m),
            account,
            email,
            phone,
            ..Contact::default()
        }),
        AnyRecord::Opportunity(Opportunity {
            meta: m,
            name: _,
            account,
            owner: _,
            stage,
            source: _,
            kind: _,
            mrr: _,
            close_date: _,
            created: _,
            sdr: _,
            channel: _,
            integration: _,
            lost_reason: _,
            bant: _,
            commit: _,
            custom: _,
        }) => AnyRecord::Opportunity(Opportunity {
            meta: meta(m),
            account,
            stage,
            ..Opportunity::default()
        }),
        AnyRecord::Lead(Lead {
            meta: m,
            name: _,
            email,
            company,
            domain,
            phone: _,
            title: _,
            source: _,
            channel: _,
            owner: _,
            status,
            converted_account: _,
            converted_contact: _,
            created: _,
            custom: _,
        }) => AnyRecord::Lead(Lead {
            meta: meta(m),
            email,
            company,
            domain,
            status,
            ..Lead::default()
        }),
        AnyRecord::Activity(Activity {
            meta: m,
            kind,
            date: _,
            account,
            contact: _,
            opportunity: _,
            owner: _,
            subject: _,
            body: _,
            duration_min: _,
            due: _,
            done: _,
            capture,
            cancelled: _,
            custom: _,
        }) => {
            let CaptureKeys {
                message_id,
                participants: _,
                direction: _,
                outcome: _,
                call_id,
                attachments: _,
                uid,
                sequence,
                recurrence_id,
            } = capture.into_keys();
            AnyRecord::Activity(Activity {
                meta: meta(m),
                kind,
                account,
                capture: Captured::new(CaptureKeys {
                    message_id,
                    call_id,
                    uid,
                    sequence,
                    recurrence_id,
                    ..CaptureKeys::default()
                }),
                ..Activity::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slim;
    use crate::crm::Crm;
    use crate::model::{AnyRecord, Kind};
    use crate::writes::{import, ingest, validate};

    /// A small deterministic generator (a linear congruential one): the same cases each run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() as usize) % items.len()]
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
    }

    fn example() -> Crm {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-crm");
        crate::store::load(&crate::store::WorkTree::new(&root))
            .expect("the example CRM")
            .crm
    }

    /// The CRM as a write command sees it: every record slim but those it edits.
    fn slimmed(crm: &Crm, whole: &[(Kind, &str)]) -> Crm {
        let mut out = Crm::empty(crm.config.clone());
        for r in crm.clone().into_records() {
            let keep = whole
                .iter()
                .any(|(k, id)| *k == r.kind() && r.meta().id == *id);
            out.push(if keep { r } else { slim(r) });
        }
        out
    }

    fn values(crm: &Crm) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let mut domains: Vec<String> = crm
            .accounts
            .iter()
            .filter_map(|a| a.domain.clone())
            .collect();
        domains.extend(["new-co.io".into(), "gmail.com".into()]);
        let mut emails: Vec<String> = crm
            .contacts
            .iter()
            .filter_map(|c| c.email.clone())
            .collect();
        emails.extend(crm.leads.iter().filter_map(|l| l.email.clone()));
        emails.extend([
            "someone@new-co.io".into(),
            "MATHIEU.PERRIN@lyon-cycles.fr".into(),
            "x@gmail.com".into(),
        ]);
        emails.extend(crm.config.team.iter().filter_map(|m| m.email.clone()));
        let mut accounts: Vec<String> = crm.accounts.iter().map(|a| a.meta.id.clone()).collect();
        accounts.push("no-such-account".into());
        let mut members: Vec<String> = crm.config.team.iter().map(|m| m.id.to_string()).collect();
        members.push("nobody".into());
        (domains, emails, accounts, members)
    }

    /// The promise of the write index: from slim records, every write decides exactly what it
    /// decides from whole ones (new records of each kind, edits of any field, lead
    /// conversions, CSV imports, email ingestion), on generated inputs that hit existing and
    /// unknown ids, domains, emails and members.
    #[test]
    fn slim_records_judge_every_write_as_full_records_do() {
        let crm = example();
        let (domains, emails, accounts, members) = values(&crm);
        let stages: Vec<String> = crm.config.stages.iter().map(|s| s.name.clone()).collect();
        let statuses: Vec<String> = crm.config.statuses.iter().map(|s| s.name.clone()).collect();
        let slim_all = slimmed(&crm, &[]);
        let mut rng = Rng(7);
        let mut decided = 0;
        let fv = |k: &str, v: &String, kind: Kind| {
            (k.to_string(), validate::typed_value(kind, k, v).unwrap())
        };
        for case in 0..600 {
            let kind = *rng.pick(&[Kind::Account, Kind::Contact, Kind::Opportunity, Kind::Lead]);
            let mut fields = vec![fv("name", &format!("Case {}", rng.next() % 40), kind)];
            match kind {
                Kind::Account => {
                    if rng.chance(70) {
                        fields.push(fv("domain", rng.pick(&domains), kind));
                    }
                    if rng.chance(30) {
                        fields.push(fv("status", rng.pick(&statuses), kind));
                    }
                    if rng.chance(40) {
                        fields.push(fv("owner", rng.pick(&members), kind));
                    }
                }
                Kind::Contact => {
                    fields.push(fv("account", rng.pick(&accounts), kind));
                    if rng.chance(70) {
                        fields.push(fv("email", rng.pick(&emails), kind));
                    }
                }
                Kind::Opportunity => {
                    fields.push(fv("account", rng.pick(&accounts), kind));
                    fields.push(fv("owner", rng.pick(&members), kind));
                    if rng.chance(50) {
                        fields.push(fv("stage", rng.pick(&stages), kind));
                    }
                }
                _ => {
                    fields.push(fv("email", rng.pick(&emails), kind));
                    if rng.chance(50) {
                        fields.push(fv("company", rng.pick(&domains), kind));
                    }
                }
            }
            let id = rng.chance(50).then(|| format!("case-{}", rng.next() % 30));
            let full = validate::new_record(&crm, kind, id.as_deref(), fields.clone());
            let thin = validate::new_record(&slim_all, kind, id.as_deref(), fields);
            assert_eq!(
                format!("{full:?}"),
                format!("{thin:?}"),
                "new {kind} #{case}"
            );
            // What a write accepts, the full check accepts: no error on that record.
            if let Ok(file) = &full {
                let (record, mut diags) = crate::store::parse::parse_record(
                    kind,
                    &file.id,
                    &file.path,
                    &file.text,
                    &crm.config,
                );
                let mut with = crm.clone();
                with.push(record);
                diags.extend(crate::check::check(&with));
                let errors: Vec<_> = diags
                    .iter()
                    .filter(|d| d.is_error() && d.path == file.path)
                    .collect();
                assert!(
                    errors.is_empty(),
                    "accepted, yet check says {errors:?}\n{}",
                    file.text
                );
            }
            decided += 1;
        }
        // Edits of every record, a few fields each.
        let records: Vec<AnyRecord> = crm.clone().into_records().collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-crm");
        for r in &records {
            let (kind, id, path) = (r.kind(), r.meta().id.clone(), r.meta().path.clone());
            let text = std::fs::read_to_string(root.join(&path)).unwrap();
            let thin = slimmed(&crm, &[(kind, &id)]);
            for _ in 0..3 {
                let change = match kind {
                    Kind::Account => match rng.next() % 3 {
                        0 => ("status", rng.pick(&statuses).clone()),
                        1 => ("domain", rng.pick(&domains).clone()),
                        _ => ("owner", rng.pick(&members).clone()),
                    },
                    Kind::Contact => match rng.next() % 2 {
                        0 => ("email", rng.pick(&emails).clone()),
                        _ => ("account", rng.pick(&accounts).clone()),
                    },
                    Kind::Opportunity => match rng.next() % 2 {
                        0 => ("stage", rng.pick(&stages).clone()),
                        _ => ("account", rng.pick(&accounts).clone()),
                    },
                    Kind::Lead => ("email", rng.pick(&emails).clone()),
                    Kind::Activity => ("account", rng.pick(&accounts).clone()),
                };
                let value = validate::typed_value(kind, change.0, &change.1).unwrap();
                let list = vec![(change.0.to_string(), Some(value))];
                let full = validate::edit_record(&crm, kind, &id, &path, &text, &list);
                let slim_result = validate::edit_record(&thin, kind, &id, &path, &text, &list);
                assert_eq!(
                    format!("{full:?}"),
                    format!("{slim_result:?}"),
                    "edit {kind} {id} {change:?}"
                );
                decided += 1;
            }
        }
        // Every lead converted, into each pool.
        for l in &crm.leads {
            let text = std::fs::read_to_string(root.join(&l.meta.path)).unwrap();
            let thin = slimmed(&crm, &[(Kind::Lead, &l.meta.id)]);
            for status in ["qualified_pool", "unqualified_pool"] {
                let full = validate::convert_lead(&crm, &l.meta.id, &l.meta.path, &text, status);
                let s = validate::convert_lead(&thin, &l.meta.id, &l.meta.path, &text, status);
                assert_eq!(
                    format!("{full:?}"),
                    format!("{s:?}"),
                    "convert {}",
                    l.meta.id
                );
                decided += 1;
            }
        }
        // Imports of rows that repeat known emails and companies.
        for case in 0..40 {
            let mut csv = String::from("Email,First Name,Last Name,Company,Contact owner\n");
            for _ in 0..(1 + rng.next() % 6) {
                let email = if rng.chance(80) {
                    rng.pick(&emails).clone()
                } else {
                    String::new()
                };
                csv.push_str(&format!(
                    "{email},Ann,Lee,{},{}\n",
                    rng.pick(&domains),
                    if rng.chance(50) {
                        rng.pick(&emails).clone()
                    } else {
                        String::new()
                    }
                ));
            }
            let opts = import::Options {
                source: None,
                assign: Vec::new(),
                map: Vec::new(),
                values: Vec::new(),
                encoding: None,
                today: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            };
            let full = import::plan(&crm, csv.as_bytes(), &opts, |_| {});
            let s = import::plan(&slim_all, csv.as_bytes(), &opts, |_| {});
            assert_eq!(
                format!("{full:?}"),
                format!("{s:?}"),
                "import #{case}\n{csv}"
            );
            decided += 1;
        }
        // Emails between the team and known or unknown people.
        for case in 0..60 {
            let message = format!(
                "From: {}\r\nTo: {}\r\nCc: {}\r\nSubject: case {case}\r\nDate: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <case-{case}@x>\r\n\r\nHello\r\n",
                rng.pick(&emails),
                rng.pick(&emails),
                rng.pick(&emails)
            );
            let opts = ingest::email::Options::default();
            let full = ingest::read(&ingest::Matcher::new(&crm), message.as_bytes(), &opts);
            let s = ingest::read(&ingest::Matcher::new(&slim_all), message.as_bytes(), &opts);
            assert_eq!(
                format!("{full:?}"),
                format!("{s:?}"),
                "ingest #{case}\n{message}"
            );
            decided += 1;
        }
        assert!(decided > 1_000, "{decided}");
    }
}
