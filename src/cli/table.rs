//! Tables for terminal views: comfy-table on screen, CSV for scripts.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use super::{CliError, Env, Out, TableFormat};
use crate::escape;

pub use crate::report::money;

/// Prints rows as a table (text) or CSV. `right` lists the columns aligned right.
pub fn print(
    out: &mut Out,
    env: &Env,
    format: TableFormat,
    header: &[&str],
    right: &[usize],
    rows: Vec<Vec<String>>,
) -> Result<(), CliError> {
    if format == TableFormat::Csv {
        out.data(&csv_text(header, &rows)?)?;
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(if env.tty {
            ContentArrangement::Dynamic
        } else {
            ContentArrangement::Disabled
        })
        .set_header(header.to_vec());
    for r in rows {
        t.add_row(r.into_iter().enumerate().map(|(i, v)| {
            let c = Cell::new(escape::terminal(&v));
            if right.contains(&i) {
                c.set_alignment(CellAlignment::Right)
            } else {
                c
            }
        }));
    }
    out.println(&t.to_string())?;
    Ok(())
}

/// Rows as CSV text with a header line. Every cell goes through `escape::csv_cell`, so a
/// spreadsheet opening the file never runs a formula from a record.
pub fn csv_text<R, S>(
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
) -> Result<String, CliError>
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let err = |e: csv::Error| CliError::io("cannot write CSV", std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(
            r.into_iter()
                .map(|c| escape::csv_cell(c.as_ref()).into_owned()),
        )
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::io("cannot write CSV", e.into_error()))?;
    String::from_utf8(bytes).map_err(|e| CliError::io("cannot write CSV", std::io::Error::other(e)))
}
