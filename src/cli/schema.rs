//! `sloop schema [KIND] [--write]`: the JSON Schemas of the records and of sloop.toml, for
//! editors.

use std::path::Path;

use super::{locate, CliError, Env, Out, Status};
use crate::diag::{one_of, suggest};
use crate::model::Kind;
use crate::store::{self, schema, Source, WorkTree};

/// Print the JSON Schema of a record kind (or of `config`, sloop.toml), or write them all
/// with a `.taplo.toml` so that editors validate and complete records as you type.
///
/// The schemas come from the CRM's own sloop.toml: its stages, statuses, team members,
/// sources, channels, lost reasons and industries are the values offered. Without KIND,
/// prints every schema in one JSON object keyed by name. Run `sloop schema --write` again
/// after editing sloop.toml.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// config, account, contact, opportunity, lead or activity (plurals work too).
    #[arg(value_name = "KIND", add = super::complete::with(super::complete::schema_names))]
    pub kind: Option<String>,
    /// Write .sloop/schemas/<name>.json for each, and .taplo.toml mapping each folder to its
    /// schema, instead of printing.
    #[arg(long, conflicts_with = "kind")]
    pub write: bool,
}

/// The schema named `name` (`config` or a kind).
fn named(name: &str, config: &crate::config::Config) -> serde_json::Value {
    match Kind::parse(name) {
        Some(kind) => schema::record(kind, config),
        None => schema::config_schema(config),
    }
}

pub fn run(args: Args, env: &Env, dir: Option<&Path>, out: &mut Out) -> Result<Status, CliError> {
    let names: Vec<&str> = schema::files().iter().map(|(n, _)| *n).collect();
    let wanted = match &args.kind {
        None => None,
        Some(k) if k == "config" => Some("config"),
        Some(k) => match Kind::parse(k) {
            Some(kind) => Some(kind.as_str()),
            None => {
                let hint =
                    suggest(k, names.iter().copied()).map(|s| format!("did you mean `{s}`?"));
                return Err(CliError::Usage {
                    message: format!("unknown schema `{k}`: use {}", one_of(&names)),
                    hint,
                });
            }
        },
    };
    let located = locate(env, dir)?;
    let bytes = WorkTree::new(&located.root)
        .read_config()
        .map_err(store::LoadError::from)?
        .ok_or_else(|| store::LoadError::NoConfig(located.root.display().to_string()))?;
    let (config, diagnostics) = store::parse_config(&bytes);
    if diagnostics.iter().any(|d| d.is_error()) {
        out.note("warning: sloop.toml has errors (see `sloop check`); the schemas use the defaults of the sections that cannot be read")?;
    }
    if args.write {
        write(&located.root, &config)?;
        let shown = match located.display.as_str() {
            "" => String::new(),
            d => format!("{d}/"),
        };
        out.println(&format!(
            "Wrote {} into {shown}{} and {shown}.taplo.toml",
            crate::diag::count(names.len(), "schema"),
            schema::DIR
        ))?;
        return Ok(Status::Ok);
    }
    match wanted {
        Some(name) => out.json(&named(name, &config))?,
        None => {
            let mut all = serde_json::Map::new();
            for name in names {
                all.insert(name.to_string(), named(name, &config));
            }
            out.json(&serde_json::Value::Object(all))?
        }
    }
    Ok(Status::Ok)
}

/// Writes the schemas and `.taplo.toml` of the CRM at `root` (what `sloop init` does too).
pub(super) fn write(root: &Path, config: &crate::config::Config) -> Result<(), CliError> {
    let dir = root.join(schema::DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
    for (name, _) in schema::files() {
        let path = dir.join(format!("{name}.json"));
        let mut text = serde_json::to_string_pretty(&named(name, config)).map_err(|e| {
            CliError::io(
                format!("cannot write {}", path.display()),
                std::io::Error::other(e),
            )
        })?;
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
    }
    let path = root.join(".taplo.toml");
    std::fs::write(&path, schema::taplo_toml())
        .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))
}
