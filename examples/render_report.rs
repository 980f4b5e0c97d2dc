//! Renders a report template with a JSON context file, for checks and template authors:
//!
//! ```sh
//! cargo run --example render_report -- dashboard.html tests/fixtures/report-context.json [TEMPLATES_DIR] > out.html
//! ```

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, context, rest @ ..] = args.as_slice() else {
        eprintln!("usage: render_report TEMPLATE CONTEXT.json [TEMPLATES_DIR]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(context) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("error: cannot read {context}: {err}");
            return ExitCode::from(2);
        }
    };
    let context: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            eprintln!("error: {context} is not JSON: {err}");
            return ExitCode::from(2);
        }
    };
    match sloop::report::render(name, &context, rest.first().map(Path::new)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
