use std::path::Path;

use super::{locate, CliError, Env, Format, Located, Out, Status};
use crate::check::modes;
use crate::diag::{self, Diagnostic, Style};
use crate::store::{self, Source, WorkTree};

/// Validate the CRM: every record, reference, uniqueness rule and stage requirement, and
/// every stage or status transition against git.
///
/// Default: the work tree, plus the transitions of uncommitted changes against HEAD.
/// `--staged`: exactly what the index would commit, against HEAD (the pre-commit hook).
/// `--range A..B`: every commit in the range against its first parent, then the CRM at B
/// (CI on a pull request).
///
/// Reports every problem in one run, as `path:line:col: error[code]: message` with the source
/// line and a hint. Exit 0 when there are no errors (warnings allowed), 1 when there are,
/// 2 when the check could not run.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check what the index would commit (unstaged edits are ignored).
    #[arg(long, conflicts_with = "range")]
    pub staged: bool,
    /// Check every commit of a range such as `origin/main..HEAD`, then its end.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Output format. JSON: {"errors": N, "warnings": N, "diagnostics": [...]}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let crm = locate(env, dir)?;
    let outcome = if args.staged {
        modes::staged(&crm.root)
    } else if let Some(range) = &args.range {
        modes::range(&crm.root, range)
    } else {
        modes::worktree(&crm.root)
    }?;
    for note in &outcome.notes {
        out.note(&format!("note: {note}"))?;
    }
    let mut diags = outcome.diagnostics;
    diag::sort(&mut diags);
    if !args.staged && args.range.is_none() {
        attach_source_lines(&WorkTree::new(&crm.root), &mut diags);
    }
    print(&diags, &crm, args.format, out, Some(outcome.records))
}

/// Fills in the source line of diagnostics found after parsing (references, requirements),
/// reading only the files that have one.
pub fn attach_source_lines(source: &dyn Source, diags: &mut [Diagnostic]) {
    let mut cache: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::new();
    for d in diags
        .iter_mut()
        .filter(|d| d.source_line.is_none() && d.line > 0 && d.commit.is_none())
    {
        let text = cache.entry(d.path.clone()).or_insert_with(|| {
            let file = store::SourceFile {
                path: d.path.clone(),
                entry: store::Entry::File,
                token: 0,
            };
            source
                .read(&file)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        });
        if let Some(text) = text {
            d.source_line = text.lines().nth(d.line as usize - 1).map(str::to_string);
        }
    }
}

/// Prints diagnostics in the chosen format and turns them into an exit status.
pub fn print(
    diags: &[Diagnostic],
    crm: &Located,
    format: Format,
    out: &mut Out,
    records: Option<usize>,
) -> Result<Status, CliError> {
    let (errors, warnings) = diag::counts(diags);
    match format {
        Format::Json => {
            let shown: Vec<Diagnostic> = diags
                .iter()
                .map(|d| Diagnostic {
                    path: crm.show(&d.path),
                    ..d.clone()
                })
                .collect();
            #[derive(serde::Serialize)]
            struct Report {
                errors: usize,
                warnings: usize,
                diagnostics: Vec<Diagnostic>,
            }
            let report = Report {
                errors,
                warnings,
                diagnostics: shown,
            };
            out.json(&report)?;
        }
        Format::Text => {
            let style = Style { color: out.color };
            for d in diags {
                let text = diag::render_text(d, &crm.show(&d.path), style);
                out.print(&text)?;
            }
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            let what = match records {
                Some(n) => format!("{}: ", plural(n, "record")),
                None => String::new(),
            };
            out.println(&format!(
                "{what}{}, {}",
                plural(errors, "error"),
                plural(warnings, "warning")
            ))?;
        }
    }
    Ok(if errors > 0 {
        Status::Problems
    } else {
        Status::Ok
    })
}
