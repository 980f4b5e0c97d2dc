use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use super::{locate, write, CliError, Env, Format, Located, Out, Status};
use crate::crm::Crm;
use crate::model::{Activity, When};
use crate::store::Spill;
use crate::writes::import::table;
use crate::writes::index::Needs;
use crate::writes::ingest::{
    email, ics, mailbox, Applied, Batch, Capture, Item, Items, Key, Matcher, Summary,
};

/// Record the conversation: messages, mailboxes and calendars.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// One email message (an .eml file, or `-` for standard input) becomes an `email`
    /// activity on the account it concerns (an invitation: the meeting it announces);
    /// participants are matched to contacts by email and to accounts by domain; the owner is
    /// the team member among them. The same message is recorded once. Auto-replies, bounces
    /// and list mail are skipped with the reason. An unmatched message exits 1 and writes
    /// nothing.
    Email(EmailArgs),
    /// Every message of a Maildir (its `cur/` and `new/`), in one commit: messages already
    /// recorded are skipped, unmatched and automated ones listed. The Maildir is only read.
    Maildir(BoxArgs),
    /// Every message of an mbox file, read a message at a time, in one commit, as `maildir`.
    Mbox(BoxArgs),
    /// The events of a calendar (.ics) become `meeting` activities (`demo` when the summary
    /// has one of `[ingest] demo_words`) at their start, with duration and attendees; a
    /// recurring event gives each occurrence up to --until; a newer version of an event
    /// updates its activity, a cancelled one is marked `cancelled = true`.
    Ics(IcsArgs),
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// Keep the quoted reply and the signature in the body.
    #[arg(long)]
    pub keep_quotes: bool,
    /// Record the valid items even if some cannot be read (each listed with its reason).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Show what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Commit the new activities on top of HEAD, in one commit.
    #[arg(long)]
    pub commit: bool,
    /// JSON: {"recorded", "updated", "duplicates", "unmatched", "skipped", "invalid", "files"}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct EmailArgs {
    /// The message: an .eml file, or `-` for standard input.
    pub file: PathBuf,
    /// The date of the message (YYYY-MM-DD, or an RFC 3339 date-time), whatever it says: for
    /// a forwarded message without a Date header.
    #[arg(long, value_parser = parse_when)]
    pub date: Option<When>,
    /// Keep the quoted reply and the signature in the body.
    #[arg(long)]
    pub keep_quotes: bool,
    /// Commit the new activity on top of HEAD.
    #[arg(long)]
    pub commit: bool,
}

#[derive(Debug, clap::Args)]
pub struct BoxArgs {
    /// The Maildir folder, or the mbox file.
    pub path: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct IcsArgs {
    /// The calendar file (.ics).
    pub file: PathBuf,
    /// The last day recurring events are expanded to (default: 30 days after today).
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    #[command(flatten)]
    pub common: Common,
}

/// What a capture run needs of the CRM's activities: those a capture is recognised by (its
/// message id, call id, or event uid) and those whose id a captured email, meeting, demo or
/// call could take.
fn needs() -> Needs<'static> {
    fn captured(a: &Activity) -> bool {
        a.capture.message_id.is_some()
            || a.capture.call_id.is_some()
            || a.capture.uid.is_some()
            || ["-email-", "-meeting-", "-demo-", "-call-"]
                .iter()
                .any(|k| a.meta.id.contains(k))
    }
    Needs {
        whole: &[],
        activity_ids: &|_| true,
        activities: &captured,
    }
}

fn parse_when(s: &str) -> Result<When, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(When::Date(d));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(When::Offset)
        .map_err(|_| format!("`{s}` is not YYYY-MM-DD or an RFC 3339 date-time"))
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    match args.what {
        What::Email(a) => one_email(a, env, dir, out),
        What::Maildir(a) => mailbox(Source::Maildir, a, env, dir, out),
        What::Mbox(a) => mailbox(Source::Mbox, a, env, dir, out),
        What::Ics(a) => calendar(a, env, dir, out),
    }
}

/// A run over many items: the batch of files, the summary, the progress line.
struct Run<'a> {
    batch: Batch<'a>,
    summary: Summary,
    root: &'a Path,
    /// The first list item that could not be kept aside (the run then stops, exit 2).
    failed: Option<std::io::Error>,
}

impl<'a> Run<'a> {
    fn new(crm: &'a Crm, root: &'a Path, files: Spill) -> Self {
        Run {
            summary: Summary::spilling(files.folder()),
            batch: Batch::spilling(crm, files),
            root,
            failed: None,
        }
    }

    /// Adds an item to one of the summary's lists.
    fn push(&mut self, list: fn(&mut Summary) -> &mut Items, item: Item) {
        if self.failed.is_none() {
            self.failed = list(&mut self.summary).push(item).err();
        }
    }

    fn apply(&mut self, item: &str, c: &Capture) {
        let root = self.root;
        let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
        match self.batch.apply(c, &read) {
            Ok(Applied::Recorded(_)) => self.summary.recorded += 1,
            Ok(Applied::Updated(_)) => self.summary.updated += 1,
            Ok(Applied::Duplicate(_) | Applied::Older(_)) => self.summary.duplicates += 1,
            Err(diags) => self.push(
                |s| &mut s.invalid,
                Item {
                    item: item.to_string(),
                    reason: diags
                        .iter()
                        .map(|d| d.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                },
            ),
        }
    }

    fn message(&mut self, m: &Matcher, item: &str, bytes: &[u8], opts: &email::Options) {
        let msg = match email::parse(bytes, opts) {
            Ok(msg) => msg,
            Err(e) => {
                self.push(
                    |s| &mut s.invalid,
                    Item {
                        item: item.to_string(),
                        reason: e.to_string(),
                    },
                );
                return;
            }
        };
        if msg.calendars.is_empty()
            && self
                .batch
                .recorded(&Key::Message(msg.message_id.clone()))
                .is_some()
        {
            self.summary.duplicates += 1;
            return;
        }
        match email::outcome(m, &msg) {
            email::Outcome::Email(c) => self.apply(item, &c),
            email::Outcome::Events(cs) => {
                for c in &cs {
                    self.apply(item, c);
                }
            }
            email::Outcome::Skipped(why) => self.push(
                |s| &mut s.skipped,
                Item {
                    item: item.to_string(),
                    reason: why,
                },
            ),
            email::Outcome::Unmatched(who) => self.push(
                |s| &mut s.unmatched,
                Item {
                    item: item.to_string(),
                    reason: who,
                },
            ),
        }
    }
}

/// Prints the summary, then writes the files (all or nothing, or one commit) unless the run
/// found invalid items without --skip-invalid, or is a dry run.
fn finish(
    run: Run,
    session: write::Session,
    env: &Env,
    located: &Located,
    common: &Common,
    what: &str,
    out: &mut Out,
) -> Result<Status, CliError> {
    let Run {
        batch,
        summary,
        failed,
        ..
    } = run;
    if let Some(e) = failed {
        return Err(CliError::io("cannot keep the run's list of items aside", e));
    }
    let blocked = !summary.invalid.is_empty() && !common.skip_invalid;
    let files = batch.into_files();
    let written = !blocked && !common.dry_run && !files.is_empty();
    if written {
        let message = format!(
            "sloop {what}: {} recorded, {} updated",
            summary.recorded, summary.updated
        );
        write::save(
            session,
            env,
            located,
            &files,
            common.commit.then_some(message.as_str()),
            out,
        )?;
    } else {
        drop(session);
    }
    match common.format {
        Format::Json => out.json_stream(&JsonSummary {
            summary: &summary,
            files: &files,
            written,
        })?,
        Format::Text => {
            let verb = if blocked || common.dry_run {
                "would be "
            } else {
                ""
            };
            out.println(&format!(
                "{} {verb}recorded, {} {verb}updated, {} already recorded, {} unmatched, {} skipped, {} invalid",
                summary.recorded,
                summary.updated,
                summary.duplicates,
                summary.unmatched.len(),
                summary.skipped.len(),
                summary.invalid.len()
            ))?;
            for (label, items) in [
                ("unmatched", &summary.unmatched),
                ("skipped", &summary.skipped),
                ("invalid", &summary.invalid),
            ] {
                items.each(|item, reason| -> Result<(), CliError> {
                    out.println(&format!("  {label}: {item}: {reason}"))?;
                    Ok(())
                })?;
            }
        }
    }
    if blocked {
        out.note("nothing was written: fix or remove the invalid items, or pass --skip-invalid to record the others")?;
        return Ok(Status::Problems);
    }
    Ok(Status::Ok)
}

/// A run's summary in JSON, serialised from the lists where the run kept them (the planned
/// files' paths, the items on disk past a threshold) as it is written, never built whole.
/// The keys are in alphabetical order, as `serde_json`'s map printed them when the summary
/// was built as a `Value`, so that the output is byte for byte what it was.
struct JsonSummary<'a> {
    summary: &'a Summary,
    files: &'a Spill,
    written: bool,
}

impl serde::Serialize for JsonSummary<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let Summary {
            recorded,
            updated,
            duplicates,
            unmatched,
            skipped,
            invalid,
        } = self.summary;
        let mut m = s.serialize_struct("Summary", 8)?;
        m.serialize_field("duplicates", duplicates)?;
        m.serialize_field("files", &Paths(self.files))?;
        m.serialize_field("invalid", invalid)?;
        m.serialize_field("recorded", recorded)?;
        m.serialize_field("skipped", skipped)?;
        m.serialize_field("unmatched", unmatched)?;
        m.serialize_field("updated", updated)?;
        m.serialize_field("written", &self.written)?;
        m.end()
    }
}

/// The planned files' paths, serialised one at a time.
struct Paths<'a>(&'a Spill);

impl serde::Serialize for Paths<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for i in 0..self.0.len() {
            seq.serialize_element(self.0.path(i))?;
        }
        seq.end()
    }
}

#[derive(Clone, Copy)]
enum Source {
    Maildir,
    Mbox,
}

/// A progress line on a terminal (stderr), at most every 1% and at the end.
struct Progress {
    on: bool,
    total: u64,
    last: u64,
    noun: &'static str,
}

impl Progress {
    fn new(total: u64, noun: &'static str) -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
            total,
            last: u64::MAX,
            noun,
        }
    }
    fn show(&mut self, done: u64) {
        if !self.on || self.total == 0 {
            return;
        }
        let pct = done.saturating_mul(100) / self.total;
        if pct == self.last {
            return;
        }
        self.last = pct;
        let width = 30u64;
        let filled = (pct.min(100) * width / 100) as usize;
        eprint!(
            "\r[{}{}] {pct:>3}% {}",
            "#".repeat(filled),
            " ".repeat(width as usize - filled),
            self.noun
        );
    }
    fn end(&self) {
        if self.on && self.total > 0 {
            eprint!("\r\x1b[K");
        }
    }
}

fn mailbox(
    source: Source,
    a: BoxArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let path = env.cwd.join(&a.path);
    let (session, crm) = write::start(&located, out, needs())?;
    let matcher = Matcher::new(&crm);
    let opts = email::Options {
        date: None,
        keep_quotes: a.common.keep_quotes,
    };
    let mut run = Run::new(&crm, &located.root, session.spill());
    match source {
        Source::Maildir => {
            // Every message's name (to read them in order), and its path only when the name
            // is not UTF-8 (else it is the Maildir's path and the name): some 40 bytes a
            // message, not a string and a path each.
            let mut names: Vec<(Box<str>, Option<Box<Path>>)> = Vec::new();
            for sub in ["cur", "new"] {
                let folder = path.join(sub);
                let entries = std::fs::read_dir(&folder).map_err(|e| {
                    CliError::io(
                        format!("{} is not a Maildir (cannot read {sub}/)", a.path.display()),
                        e,
                    )
                })?;
                for e in entries {
                    let e = e.map_err(|e| {
                        CliError::io(format!("cannot read {}", folder.display()), e)
                    })?;
                    let file_name = e.file_name();
                    let name = file_name.to_string_lossy();
                    if mailbox::is_message_name(&name) && e.file_type().is_ok_and(|t| t.is_file()) {
                        let odd = file_name.to_str().is_none().then(|| e.path().into());
                        names.push((format!("{sub}/{name}").into(), odd));
                    }
                }
            }
            names.sort();
            let mut progress = Progress::new(names.len() as u64, "messages");
            for (i, (item, odd)) in names.iter().enumerate() {
                progress.show(i as u64);
                let item: &str = item;
                let file = match odd {
                    Some(p) => p.to_path_buf(),
                    None => path.join(item),
                };
                let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                if size > email::MAX_MESSAGE {
                    run.push(
                        |s| &mut s.invalid,
                        Item {
                            item: item.to_string(),
                            reason: email::IngestError::TooLarge(size).to_string(),
                        },
                    );
                    continue;
                }
                match std::fs::read(&file) {
                    Ok(bytes) => run.message(&matcher, item, &bytes, &opts),
                    Err(e) => run.push(
                        |s| &mut s.invalid,
                        Item {
                            item: item.to_string(),
                            reason: format!("cannot read it: {e}"),
                        },
                    ),
                }
            }
            progress.end();
        }
        Source::Mbox => {
            let file = std::fs::File::open(&path)
                .map_err(|e| CliError::io(format!("cannot read {}", a.path.display()), e))?;
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
            let mut split = mailbox::MboxReader::new();
            let mut progress = Progress::new(total, "of the mbox");
            let mut line = Vec::new();
            let mut done: u64 = 0;
            let handle = |run: &mut Run, m: mailbox::MboxMessage| {
                let item = format!("line {}", m.line);
                match m.too_large {
                    Some(size) => run.push(
                        |s| &mut s.invalid,
                        Item {
                            item,
                            reason: email::IngestError::TooLarge(size).to_string(),
                        },
                    ),
                    None => run.message(&matcher, &item, &m.bytes, &opts),
                }
            };
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| CliError::io(format!("cannot read {}", a.path.display()), e))?;
                if n == 0 {
                    break;
                }
                done += n as u64;
                progress.show(done);
                if let Some(m) = split.push_line(&line) {
                    handle(&mut run, m);
                }
            }
            if let Some(m) = split.finish() {
                handle(&mut run, m);
            }
            progress.end();
            if split.preamble > 0 && run.summary.is_empty() {
                return Err(CliError::usage_hint(
                    format!("{} is not an mbox file (no `From ` line starts a message)", a.path.display()),
                    "an mbox starts each message with a line like `From sender Tue Nov 24 09:15:32 2026`",
                ));
            }
        }
    }
    let what = match source {
        Source::Maildir => "ingest maildir",
        Source::Mbox => "ingest mbox",
    };
    finish(run, session, env, &located, &a.common, what, out)
}

fn calendar(a: IcsArgs, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let bytes = std::fs::read(env.cwd.join(&a.file))
        .map_err(|e| CliError::io(format!("cannot read {}", a.file.display()), e))?;
    let (session, crm) = write::start(&located, out, needs())?;
    let matcher = Matcher::new(&crm);
    let today = env.now.date_naive();
    let opts = ics::Options {
        until: match a.until {
            Some(d) => d,
            None => crate::model::dates::add_days(today, 30)?,
        },
        demo_words: crm.config.ingest.demo_words.clone(),
    };
    let text = String::from_utf8_lossy(&bytes);
    let cal = ics::read(&matcher, &text, &opts).map_err(|e| {
        CliError::usage_hint(
            format!("{}: {e}", a.file.display()),
            "a calendar file starts with BEGIN:VCALENDAR",
        )
    })?;
    let mut run = Run::new(&crm, &located.root, session.spill());
    for e in cal.events {
        match e {
            ics::Event::Matched(c) => {
                let item = format!(
                    "{} ({})",
                    c.subject.as_deref().unwrap_or("event"),
                    c.uid.as_deref().unwrap_or("")
                );
                run.apply(&item, &c)
            }
            ics::Event::Unmatched { what, addresses } => run.push(
                |s| &mut s.unmatched,
                Item {
                    item: what,
                    reason: addresses,
                },
            ),
            ics::Event::Invalid { what, reason } => {
                run.push(|s| &mut s.invalid, Item { item: what, reason })
            }
        }
    }
    finish(run, session, env, &located, &a.common, "ingest ics", out)
}

/// `sloop import calls`: a call log, a row at a time.
pub fn calls(
    file: PathBuf,
    common: Common,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    use crate::writes::ingest::calls::{CallLog, Row};
    let located = locate(env, dir)?;
    let path = env.cwd.join(&file);
    let open = || {
        std::fs::File::open(&path)
            .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))
    };
    let mut head = Vec::new();
    open()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
    let input = open()?;
    let total = input.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = Counted {
        inner: std::io::BufReader::with_capacity(1 << 16, input),
        read: std::rc::Rc::new(std::cell::Cell::new(0)),
    };
    let read = counted.read.clone();
    let refuse = |e: crate::writes::ingest::calls::CallsError| CliError::Usage {
        message: format!("{}: {e}", file.display()),
        hint: e.hint(),
    };
    // Excel re-saves a log as Windows-1252 ("CSV") or UTF-16 ("Unicode text"): read as
    // UTF-8, a buffer at a time.
    let (encoding, bom) = table::detect(&head);
    let head = if encoding == table::Encoding::Utf8 {
        head
    } else {
        let mut text = Vec::new();
        table::Utf8Reader::new(&head[..], encoding, bom)
            .read_to_end(&mut text)
            .ok();
        text
    };
    let skip = if encoding == table::Encoding::Utf8 {
        0
    } else {
        bom
    };
    let input = table::Utf8Reader::new(counted, encoding, skip);
    let (session, crm) = write::start(&located, out, needs())?;
    let mut log = CallLog::new(&head, input).map_err(refuse)?;
    let matcher = Matcher::new(&crm);
    let mut run = Run::new(&crm, &located.root, session.spill());
    let mut progress = Progress::new(total, "of the call log");
    while let Some(row) = log.next_call(&matcher) {
        progress.show(read.get());
        match row.map_err(refuse)? {
            Row::Call { line, call } => run.apply(&format!("line {line}"), &call),
            Row::Unmatched { line, number } => run.push(
                |s| &mut s.unmatched,
                Item {
                    item: format!("line {line}"),
                    reason: number,
                },
            ),
            Row::Invalid { line, reason } => run.push(
                |s| &mut s.invalid,
                Item {
                    item: format!("line {line}"),
                    reason,
                },
            ),
        }
    }
    progress.end();
    let what = format!("import calls ({})", log.vendor.name());
    finish(run, session, env, &located, &common, &what, out)
}

/// A reader that counts the bytes read, for the progress line.
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn one_email(
    a: EmailArgs,
    env: &Env,
    dir: Option<&Path>,
    out: &mut Out,
) -> Result<Status, CliError> {
    let located = locate(env, dir)?;
    let (session, crm) = write::start(&located, out, needs())?;
    let bytes = if a.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(email::MAX_MESSAGE + 1)
            .read_to_end(&mut buf)
            .map_err(|e| CliError::io("cannot read standard input", e))?;
        buf
    } else {
        let path = env.cwd.join(&a.file);
        let size = std::fs::metadata(&path)
            .map_err(|e| CliError::io(format!("cannot read {}", a.file.display()), e))?
            .len();
        if size > email::MAX_MESSAGE {
            return Err(CliError::usage(
                email::IngestError::TooLarge(size).to_string(),
            ));
        }
        std::fs::read(&path)
            .map_err(|e| CliError::io(format!("cannot read {}", a.file.display()), e))?
    };
    let opts = email::Options {
        date: a.date,
        keep_quotes: a.keep_quotes,
    };
    let matcher = Matcher::new(&crm);
    let outcome = match email::read(&matcher, &bytes, &opts) {
        Ok(o) => o,
        Err(e) => {
            return Err(CliError::Usage {
                message: e.to_string(),
                hint: e.hint(),
            })
        }
    };
    let captures = match outcome {
        email::Outcome::Email(c) => vec![*c],
        email::Outcome::Events(cs) => cs,
        email::Outcome::Skipped(why) => {
            out.println(&format!(
                "Skipped: {why}; not a touchpoint, nothing recorded"
            ))?;
            return Ok(Status::Ok);
        }
        email::Outcome::Unmatched(who) => {
            let e = email::IngestError::Unmatched(who);
            out.note(&format!("error: {e}"))?;
            if let Some(h) = e.hint() {
                out.note(&format!("hint: {h}"))?;
            }
            return Ok(Status::Problems);
        }
    };
    let mut batch = Batch::new(&crm);
    let root = located.root.clone();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let mut lines = Vec::new();
    for c in &captures {
        match batch.apply(c, &read) {
            Ok(Applied::Recorded(p)) => lines.push(format!(
                "Recorded {} on account {}",
                located.show(&p),
                c.account
            )),
            Ok(Applied::Updated(p)) => lines.push(format!("Updated {}", located.show(&p))),
            Ok(Applied::Duplicate(p) | Applied::Older(p)) => {
                lines.push(format!("Already recorded as {}", located.show(&p)))
            }
            Err(diags) => {
                return write::refused(crate::writes::WriteError::Invalid(diags), &located, out)
            }
        }
    }
    let files = batch.into_files();
    if !files.is_empty() {
        let subject = captures
            .first()
            .and_then(|c| c.subject.as_deref())
            .unwrap_or("(no subject)");
        let message = format!("sloop ingest email: {subject}");
        write::save(
            session,
            env,
            &located,
            &files,
            a.commit.then_some(message.as_str()),
            out,
        )?;
    }
    for l in lines {
        out.println(&l)?;
    }
    Ok(Status::Ok)
}
