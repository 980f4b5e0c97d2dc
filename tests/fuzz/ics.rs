//! Calendars: `writes::ingest::ics::read` (RFC 5545: folding, parameters, time zones,
//! recurrences, then matching to the CRM) and the activities its events become
//! (`writes::ingest::Batch`, what `sloop ingest ics` writes), read as `sloop ingest ics`
//! reads a file (UTF-8, invalid bytes replaced).

use std::sync::Arc;

use sloop::store::Spill;
use sloop::writes::ingest::{ics, Batch, Matcher};

use crate::engine::{self, Bytes};
use crate::ingest::{crlf, crm, lf, matched, planned_activities_are_valid};
use crate::props::ensure;

const ICS_TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n ",
    b"\n\t",
    b":",
    b";",
    b",",
    b"\"",
    b"\\n",
    b"\\,",
    b"BEGIN:VCALENDAR\r\n",
    b"END:VCALENDAR\r\n",
    b"BEGIN:VEVENT\r\n",
    b"END:VEVENT\r\n",
    b"BEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
    b"TZOFFSETTO:-2359\r\n",
    b"DTSTART;TZID=Romance Standard Time:20261201T090000\r\n",
    b"DTSTART;TZID=\"Europe/Paris\":20261201T090000\r\n",
    b"DTSTART;VALUE=DATE:20261201\r\n",
    b"DTSTART:20261201T090000Z\r\n",
    b"DTSTART:00000101T000000\r\n",
    b"DTSTART:99991231T235959Z\r\n",
    b"DTEND:20261201T100000Z\r\n",
    b"DURATION:PT1H\r\n",
    b"DURATION:P9999W\r\n",
    b"RRULE:FREQ=DAILY;COUNT=100000\r\n",
    b"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,-1FR;UNTIL=20271231T000000Z\r\n",
    b"RRULE:FREQ=MONTHLY;BYMONTHDAY=31,-1\r\n",
    b"RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29\r\n",
    b"RDATE:20261215T090000Z\r\n",
    b"EXDATE:20261208T090000Z\r\n",
    b"RECURRENCE-ID:20261208T090000Z\r\n",
    b"SEQUENCE:",
    b"SEQUENCE:18446744073709551616\r\n",
    b"METHOD:CANCEL\r\n",
    b"STATUS:CANCELLED\r\n",
    b"UID:",
    b"SUMMARY:D\xc3\xa9mo\r\n",
    b"ATTENDEE;CN=\"Laurent, Nina\":mailto:nina.laurent@tidewater.io\r\n",
    b"ORGANIZER;CN=Marc:mailto:marc.delacroix@tidewater.io\r\n",
    b"mailto:claire@atelier-lumen.fr",
    b"MAILTO:Claire@Atelier-Lumen.FR",
];

/// The last day recurrences are expanded to: fixed, so that a case reads the same each run.
fn options() -> ics::Options {
    ics::Options {
        until: chrono::NaiveDate::from_ymd_opt(2027, 6, 30).expect("a date"),
        ..ics::Options::default()
    }
}

pub fn check(file: &Bytes) -> Result<(), String> {
    let crm = crm();
    let matcher = Matcher::new(crm);
    let opts = options();
    let read = |bytes: &[u8]| ics::read(&matcher, &String::from_utf8_lossy(bytes), &opts);
    let first = read(&file.bytes);
    // RFC 5545 lines end in CRLF; files saved with LF read the same.
    let lf = lf(&file.bytes);
    if !lf.contains(&b'\r') {
        let (from_lf, from_crlf) = (read(&lf), read(&crlf(&lf)));
        ensure(from_lf == from_crlf, || {
            format!("with LF the calendar reads as {from_lf:?}, with CRLF as {from_crlf:?}")
        })?;
    }
    let Ok(calendar) = first else {
        return Ok(());
    };
    // Every matched event is matched to records that exist and is recorded: the activities
    // written are valid (an event that cannot be recorded is invalid, never written).
    // The same events planned in memory and in a batch spilling to disk from its first byte
    // (updates of a series read their planned text back): the same files.
    let mut batch = Batch::new(crm);
    let folder = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut spilled = Batch::spilling(crm, Spill::with_threshold(Some(folder.path()), 0));
    for event in &calendar.events {
        let ics::Event::Matched(c) = event else {
            continue;
        };
        matched(crm, c)?;
        ensure(c.date.is_some(), || {
            format!("an event without a date: {c:?}")
        })?;
        let applied = batch.apply(c, &|_| None);
        ensure(spilled.apply(c, &|_| None) == applied, || {
            format!("a spilling batch answers otherwise for {c:?}")
        })?;
        if let Err(diags) = applied {
            return Err(format!(
                "an event that reads fine cannot be recorded: {diags:?}\n{c:?}"
            ));
        }
    }
    let files = batch.into_files().to_vec().map_err(|e| e.to_string())?;
    let from_disk = spilled.into_files().to_vec().map_err(|e| e.to_string())?;
    ensure(files == from_disk, || {
        "a spilling batch planned other files".to_string()
    })?;
    planned_activities_are_valid(crm, files)
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    engine::corpus("ics")
}

#[test]
fn ics_seeds() {
    let seeds: Vec<Bytes> = seeds()
        .into_iter()
        .map(|(origin, bytes)| Bytes { origin, bytes })
        .collect();
    engine::run_seeds("ics", &seeds, check);
}

#[test]
fn ics_mutated() {
    engine::run(
        "ics",
        "mutated",
        1000,
        engine::mutated(Arc::new(seeds()), ICS_TOKENS),
        check,
    );
}
