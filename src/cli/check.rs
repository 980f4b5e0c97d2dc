use std::path::Path;

use super::{locate, CliError, Env, Located, Out, Status};
use crate::check::modes;
use crate::diag::{self, Diagnostic, Style};
use crate::store::{self, Source, WorkTree};

/// Validate the CRM: every record, reference, uniqueness rule and stage requirement, and
/// every stage or status transition against git.
///
/// Default: the work tree, plus the transitions of uncommitted changes against HEAD.
/// `--staged`: exactly what the index would commit, against HEAD (the pre-commit hook).
/// `--range A..B`: every commit in the range against its first parent, then the CRM at B
/// (CI on a pull request); `--range B`: every commit B reaches, the first one included.
///
/// Reports every problem in one run, as `path:line:col: error[code]: message` with the source
/// line and a hint. Exit 0 when there are no errors (warnings allowed), 1 when there are,
/// 2 when the check could not run.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check what the index would commit (unstaged edits are ignored).
    #[arg(long, conflicts_with = "range")]
    pub staged: bool,
    /// Check every commit of a range such as `origin/main..HEAD` (or every commit of `HEAD`,
    /// the first included), then its end.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Output format. JSON: {"errors": N, "warnings": N, "diagnostics": [...]}; `github`:
    /// workflow commands that annotate the files and lines of a pull request; `sarif`: a
    /// SARIF 2.1.0 log for code scanning.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

/// How `check` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum CheckFormat {
    #[default]
    Text,
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
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

/// `110 records: 1 error, 0 warnings`.
fn summary(records: Option<usize>, errors: usize, warnings: usize) -> String {
    let what = match records {
        Some(n) => format!("{}: ", diag::count(n, "record")),
        None => String::new(),
    };
    format!(
        "{what}{}, {}",
        diag::count(errors, "error"),
        diag::count(warnings, "warning")
    )
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
    format: CheckFormat,
    out: &mut Out,
    records: Option<usize>,
) -> Result<Status, CliError> {
    let (errors, warnings) = diag::counts(diags);
    // GitHub matches annotations with the files of a pull request by their path from the top
    // of the repository.
    let repo_prefix = match format {
        CheckFormat::Github | CheckFormat::Sarif => crate::git::Repo::open(&crm.root)?
            .map(|r| r.prefix().to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let repo_path = |d: &Diagnostic| format!("{repo_prefix}{}", d.path);
    match format {
        CheckFormat::Github => {
            for d in diags {
                out.print(&diag::render_github(d, &repo_path(d)))?;
            }
            out.println(&summary(records, errors, warnings))?;
        }
        CheckFormat::Sarif => {
            out.json(&diag::sarif(diags, repo_path, env!("CARGO_PKG_VERSION")))?;
        }
        CheckFormat::Json => {
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
        CheckFormat::Text => {
            let style = Style { color: out.color };
            for d in diags {
                let text = diag::render_text(d, &crm.show(&d.path), style);
                out.print(&text)?;
            }
            out.println(&summary(records, errors, warnings))?;
        }
    }
    Ok(if errors > 0 {
        Status::Problems
    } else {
        Status::Ok
    })
}
