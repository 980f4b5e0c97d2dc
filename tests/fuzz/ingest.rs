//! Email ingestion: `writes::ingest::email::read` (mail-parser, then matching to the CRM)
//! and the activities it becomes (`writes::ingest::Batch`, what `sloop ingest email` and the
//! mailbox commands write: an email, or the meetings of an invitation).

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use sloop::crm::Crm;
use sloop::model::Kind;
use sloop::store::{self, Memory};
use sloop::writes::ingest::{email, Batch, Capture, Matcher, Outcome};

use crate::engine::{self, Bytes};
use crate::gen;
use crate::props::ensure;

const MIME_TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n ",
    b"\r\n\r\n",
    b":",
    b"<",
    b">",
    b"\"",
    b"(",
    b")",
    b",",
    b";",
    b"@",
    b"=?UTF-8?B?",
    b"=?UTF-8?Q?",
    b"=?ISO-2022-JP?B?GyRCJDMbKEI=?=",
    b"?=",
    b"From: ",
    b"\r\nFrom: mathieu.perrin@lyon-cycles.fr\r\n",
    b"\r\nTo: Team: a@x.io, b@y.io;\r\n",
    b"\r\nCc: ",
    b"\r\nDate: Thu, 26 Nov 2026 10:30:00 +0100\r\n",
    b"\r\nDate: Thu, 26 Nov 0000 10:30:00 -9959\r\n",
    b"\r\nSubject: ",
    b"\r\nMessage-ID: <",
    b"\r\nContent-Type: multipart/mixed; boundary=\"",
    b"\r\nContent-Transfer-Encoding: quoted-printable\r\n",
    b"--",
    b"=\r\n",
    b"=C3=A9",
    b"mathieu.perrin@lyon-cycles.fr",
    b"@northwind.coffee",
    b"marc.delacroix@tidewater.io",
];

pub fn crm() -> &'static Crm {
    static C: OnceLock<Crm> = OnceLock::new();
    C.get_or_init(|| {
        let files = engine::files_under(&engine::manifest_dir().join("example-crm"));
        store::load(&Memory::new(files))
            .expect("the example CRM")
            .crm
    })
}

pub fn seeds() -> Vec<(String, Vec<u8>)> {
    engine::corpus("email")
}

pub fn check(mail: &Bytes) -> Result<(), String> {
    let crm = crm();
    let matcher = Matcher::new(crm);
    let opts = email::Options::default();
    let read = |bytes: &[u8]| email::read(&matcher, bytes, &opts);
    let first = read(&mail.bytes);
    // What is read does not depend on a byte order mark or on the line endings.
    if !mail.bytes.starts_with(b"\xef\xbb\xbf") {
        let bom = [b"\xef\xbb\xbf".as_slice(), &mail.bytes].concat();
        let with_bom = read(&bom);
        ensure(with_bom == first, || {
            format!("with a BOM the message reads as {with_bom:?}, without as {first:?}")
        })?;
    }
    let lf = lf(&mail.bytes);
    if !lf.contains(&b'\r') {
        let (from_lf, from_crlf) = (read(&lf), read(&crlf(&lf)));
        ensure(from_lf == from_crlf, || {
            format!("with LF the message reads as {from_lf:?}, with CRLF as {from_crlf:?}")
        })?;
    }
    let captures = match first {
        Ok(Outcome::Email(c)) => vec![*c],
        Ok(Outcome::Events(cs)) => cs,
        _ => return Ok(()),
    };
    let mut batch = Batch::new(crm);
    for c in &captures {
        matched(crm, c)?;
        // A message that is read is recorded: the activity written is valid.
        if let Err(diags) = batch.apply(c, &|_| None) {
            return Err(format!(
                "a message that reads fine cannot be recorded: {diags:?}\n{c:?}"
            ));
        }
    }
    planned_activities_are_valid(crm, batch.into_files().to_vec().map_err(|e| e.to_string())?)
}

/// The capture is matched to records that exist, its participants distinct and lowercase.
pub fn matched(crm: &Crm, c: &Capture) -> Result<(), String> {
    let account = crm
        .account(&c.account)
        .ok_or_else(|| format!("matched to account `{}`, which does not exist", c.account))?;
    if let Some(id) = &c.contact {
        let contact = crm
            .contact(id)
            .ok_or_else(|| format!("matched to contact `{id}`, which does not exist"))?;
        ensure(
            contact.account.as_ref().map(|a| a.as_str()) == Some(account.meta.id.as_str()),
            || format!("contact `{id}` is not at account `{}`", c.account),
        )?;
    }
    if let Some(o) = &c.owner {
        ensure(crm.config.member(o).is_some(), || {
            format!("owner `{o}` is not a member")
        })?;
    }
    let mut seen = std::collections::HashSet::new();
    for p in &c.participants {
        ensure(
            !p.is_empty() && *p == p.to_lowercase() && seen.insert(p.clone()),
            || {
                format!(
                    "participants are not distinct, lowercase addresses: {:?}",
                    c.participants
                )
            },
        )?;
    }
    Ok(())
}

/// Every activity file a batch planned loads without an error, as `sloop check` reads it.
pub fn planned_activities_are_valid(crm: &Crm, files: Vec<(String, String)>) -> Result<(), String> {
    for (path, text) in files {
        let id = path
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".toml"))
            .unwrap_or(&path);
        let (_, diags) = store::load_file(Kind::Activity, id, &path, text.as_bytes(), &crm.config);
        ensure(!diags.iter().any(|d| d.is_error()), || {
            format!("the activity written has errors: {diags:?}\n{text}")
        })?;
    }
    Ok(())
}

pub fn lf(b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    engine::Mutation::AllLf.apply(&mut out, &[], &[]);
    out
}

pub fn crlf(b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    engine::Mutation::AllCrlf.apply(&mut out, &[], &[]);
    out
}

#[test]
fn ingest_seeds() {
    let seeds: Vec<Bytes> = seeds()
        .into_iter()
        .map(|(origin, bytes)| Bytes { origin, bytes })
        .collect();
    engine::run_seeds("ingest", &seeds, check);
}

#[test]
fn ingest_mutated() {
    engine::run(
        "ingest",
        "mutated",
        1500,
        engine::mutated(Arc::new(seeds()), MIME_TOKENS),
        check,
    );
}

#[test]
fn ingest_structured() {
    let strategy = gen::email().prop_map(|text| Bytes {
        origin: "generated".into(),
        bytes: text.into_bytes(),
    });
    engine::run("ingest", "structured", 1500, strategy, check);
}
