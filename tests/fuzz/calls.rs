//! Call logs: `writes::import::table::detect` and `Utf8Reader` (the encoding, decoded as a
//! stream), `writes::ingest::calls::CallLog` (Aircall, Ringover and generic rows, the legs
//! of one call joined, numbers matched to contacts) and the activities they become
//! (`writes::ingest::Batch`, what `sloop import calls` writes).

use std::io::Read;
use std::sync::Arc;

use sloop::writes::import::table::{self, Encoding, Utf8Reader};
use sloop::writes::ingest::calls::{CallLog, CallsError, Row};
use sloop::writes::ingest::{Batch, Matcher};

use crate::engine::{self, Bytes};
use crate::ingest::{crm, matched, planned_activities_are_valid};
use crate::props::ensure;

const CALL_TOKENS: &[&[u8]] = &[
    b",",
    b";",
    b"\t",
    b"\"",
    b"\"\"",
    b"\r\n",
    b"\n",
    b"\r",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"inbound",
    b"outbound",
    b"+33 6 12 48 90 31",
    b"06 12 48 90 31",
    b"0033612489031",
    b"+1 (614) 555-0192",
    b"anonymous",
    b"2026-11-24T09:15:00+01:00",
    b"2026-11-24 09:15",
    b"24/11/2026 09:15",
    b"9999-12-31T23:59:59+14:00",
    b"0000-01-01T00:00:00-23:59",
    b"18446744073709551616",
    b"-1",
    b"call id",
    b"datetime (utc)",
    b"answered",
    b"call_id",
    b"start_time",
    b"from_number",
    b"date,direction,from,to,duration_seconds,agent_email,outcome\n",
    b"caf\xe9",
];

/// Every row of a log as `sloop import calls` reads it: the encoding found from the first
/// 64 KiB, the text decoded a buffer at a time.
fn read(bytes: &[u8], m: &Matcher) -> Result<Vec<Result<Row, CallsError>>, CallsError> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let (encoding, bom) = table::detect(head);
    let skip = if encoding == Encoding::Utf8 { 0 } else { bom };
    let mut sniffed = Vec::new();
    Utf8Reader::new(head, encoding, skip)
        .read_to_end(&mut sniffed)
        .ok();
    let mut log = CallLog::new(&sniffed, Utf8Reader::new(bytes, encoding, skip))?;
    let mut rows = Vec::new();
    while let Some(row) = log.next_call(m) {
        let stop = row.is_err();
        rows.push(row);
        if stop {
            break;
        }
    }
    Ok(rows)
}

fn line(row: &Row) -> u64 {
    match row {
        Row::Call { line, .. } | Row::Unmatched { line, .. } | Row::Invalid { line, .. } => *line,
    }
}

pub fn check(file: &Bytes) -> Result<(), String> {
    let crm = crm();
    let m = Matcher::new(crm);
    let Ok(rows) = read(&file.bytes, &m) else {
        return Ok(());
    };
    // The same log saved as UTF-16 (Excel's "Unicode text") reads the same, when it is text.
    if let Ok(text) = std::str::from_utf8(&file.bytes) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let again = read(&utf16, &m);
        ensure(again.as_ref().ok() == Some(&rows), || {
            format!("saved as UTF-16 the log reads as {again:?}, not {rows:?}")
        })?;
    }
    // Rows come in file order, each on a line after the header.
    let mut last = 1;
    for row in rows.iter().flatten() {
        ensure(line(row) > last || line(row) == last && last > 1, || {
            format!("a row on line {} after line {last}", line(row))
        })?;
        last = line(row);
    }
    // Every call is matched to records that exist and can be recorded as a valid activity.
    let mut batch = Batch::new(crm);
    for row in rows.iter().flatten() {
        let Row::Call { call, .. } = row else {
            continue;
        };
        matched(crm, call)?;
        ensure(call.date.is_some(), || {
            format!("a call without a date: {call:?}")
        })?;
        if let Err(diags) = batch.apply(call, &|_| None) {
            return Err(format!(
                "a call that reads fine cannot be recorded: {diags:?}\n{call:?}"
            ));
        }
    }
    planned_activities_are_valid(crm, batch.into_files().to_vec().map_err(|e| e.to_string())?)
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    engine::corpus("calls")
}

#[test]
fn calls_seeds() {
    let seeds: Vec<Bytes> = seeds()
        .into_iter()
        .map(|(origin, bytes)| Bytes { origin, bytes })
        .collect();
    engine::run_seeds("calls", &seeds, check);
}

#[test]
fn calls_mutated() {
    engine::run(
        "calls",
        "mutated",
        1000,
        engine::mutated(Arc::new(seeds()), CALL_TOKENS),
        check,
    );
}
