//! `sloop completions SHELL` and `sloop man`: generated from the same clap definitions as
//! `--help`, by walking the command tree, so that every subcommand (and every one added
//! later) gets its completions and its manual page.

use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory};

use super::{Cli, CliError, Env, Out, Status};

/// Print the shell code that completes sloop's commands, options and values (kinds,
/// stages, statuses, members, templates, record ids) from the CRM in the current folder.
///
/// The code asks sloop itself at each TAB (sloop must be on PATH), so the values are those
/// of the CRM you are in. Load it at shell start-up: `source <(sloop completions bash)` in
/// ~/.bashrc, `source <(sloop completions zsh)` in ~/.zshrc, `sloop completions fish |
/// source` in ~/.config/fish/config.fish.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the manual page of sloop (roff), or write one page per command with `--out`.
///
/// `sloop man | man -l -` reads the main page; `sloop man --out DIR` writes `sloop.1` and
/// one `sloop-<command>.1` per command and subcommand (`sloop-hooks-install.1`), the pages
/// each page refers to.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write every page into this folder (created if needed) instead of printing the main one.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The environment variable that asks sloop to complete instead of running.
pub const COMPLETE_VAR: &str = "COMPLETE";

pub fn completions(args: CompletionsArgs, out: &mut Out) -> Result<Status, CliError> {
    let name = match args.shell {
        clap_complete::Shell::Bash => "bash",
        clap_complete::Shell::Zsh => "zsh",
        clap_complete::Shell::Fish => "fish",
        clap_complete::Shell::Elvish => "elvish",
        clap_complete::Shell::PowerShell => "powershell",
        other => {
            return Err(CliError::usage(format!(
                "no completion for {other}: use bash, zsh, fish, elvish or powershell"
            )))
        }
    };
    let shells = clap_complete::env::Shells::builtins();
    let shell = shells
        .completer(name)
        .ok_or_else(|| CliError::usage(format!("no completion for {name}")))?;
    let mut buf = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "sloop", "sloop", "sloop", &mut buf)
        .map_err(|e| CliError::io("cannot write the completion code", e))?;
    out.print(&String::from_utf8_lossy(&buf))?;
    Ok(Status::Ok)
}

pub fn man(args: ManArgs, env: &Env, out: &mut Out) -> Result<Status, CliError> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let pages = pages(&root);
    match args.out {
        None => out.print(&pages[0].1)?,
        Some(dir) => {
            let dir = env.cwd.join(dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
            for (file, text) in &pages {
                let path = dir.join(file);
                std::fs::write(&path, text)
                    .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
            }
            out.println(&format!(
                "Wrote {} into {}",
                crate::diag::count(pages.len(), "manual page"),
                dir.display()
            ))?;
        }
    }
    Ok(Status::Ok)
}

/// Every manual page of a built command tree, the main one first: `(file name, roff)`.
pub fn pages(root: &clap::Command) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(root, None, &mut out);
    out
}

fn walk(cmd: &clap::Command, parent: Option<&str>, out: &mut Vec<(String, String)>) {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    let page_cmd = cmd.clone().override_usage(synopsis(cmd));
    let man = clap_mangen::Man::new(page_cmd)
        .source(format!("sloop {}", env!("CARGO_PKG_VERSION")))
        .manual("sloop manual");
    let mut buf = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render(&mut buf);
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    let mut see_also: Vec<String> = Vec::new();
    if let Some(p) = parent {
        see_also.push(format!("\\fB{}\\fR(1)", p.replace('-', "\\-")));
    }
    let children: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    for c in &children {
        see_also.push(format!(
            "\\fB{}\\fR(1)",
            c.get_display_name()
                .unwrap_or(c.get_name())
                .replace('-', "\\-")
        ));
    }
    if !see_also.is_empty() {
        text.push_str(".SH \"SEE ALSO\"\n");
        text.push_str(&see_also.join(", "));
        text.push('\n');
    }
    out.push((format!("{name}.1"), text));
    for c in children {
        walk(c, Some(&name), out);
    }
}

/// The synopsis of a command as it is typed: `sloop ls [-C DIR] [--color WHEN] [--status
/// STATUS] … KIND`, every option with its value's name.
fn synopsis(cmd: &clap::Command) -> String {
    let mut parts = vec![cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()];
    let shown = |a: &&Arg| {
        !a.is_hide_set() && !matches!(a.get_action(), ArgAction::Help | ArgAction::Version)
    };
    let value = |a: &Arg| -> String {
        a.get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase())
    };
    for a in cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| !a.is_positional())
    {
        let flag = match (a.get_short(), a.get_long()) {
            (_, Some(long)) => format!("--{long}"),
            (Some(short), None) => format!("-{short}"),
            (None, None) => continue,
        };
        let takes_value = !matches!(
            a.get_action(),
            ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
        );
        let mut text = if takes_value {
            format!("{flag} {}", value(a))
        } else {
            flag
        };
        if matches!(a.get_action(), ArgAction::Append) {
            text.push('…');
        }
        parts.push(if a.is_required_set() {
            text
        } else {
            format!("[{text}]")
        });
    }
    for a in cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| a.is_positional())
    {
        let mut text = value(a);
        if matches!(a.get_action(), ArgAction::Append) {
            text.push('…');
        }
        parts.push(if a.is_required_set() {
            text
        } else {
            format!("[{text}]")
        });
    }
    if cmd.has_subcommands() {
        parts.push("COMMAND".to_string());
    }
    parts.join(" ")
}
