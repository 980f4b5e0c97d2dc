use clap::CommandFactory;

use super::{Cli, CliError, Out, Status};

/// Print a shell completion script: `sloop completions bash > ~/.local/share/bash-completion/completions/sloop`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the manual page (roff): `sloop man | man -l -`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {}

pub fn completions(args: CompletionsArgs, out: &mut Out) -> Result<Status, CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "sloop", &mut buf);
    out.print(&String::from_utf8_lossy(&buf))?;
    Ok(Status::Ok)
}

pub fn man(_: ManArgs, out: &mut Out) -> Result<Status, CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::io("cannot render the manual", e))?;
    out.print(&String::from_utf8_lossy(&buf))?;
    Ok(Status::Ok)
}
