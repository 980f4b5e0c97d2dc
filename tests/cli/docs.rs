//! The README documents every diagnostic code, in the code's order.

use sloop::diag::Code;

#[test]
fn readme_lists_every_diagnostic_code_in_order() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    let table = readme
        .split("<!-- codes:")
        .nth(1)
        .expect("codes table marker");
    let rows: Vec<String> = table
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with("| `"))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = Code::ALL
        .iter()
        .map(|c| {
            let sev = match c.severity() {
                sloop::diag::Severity::Error => "error",
                sloop::diag::Severity::Warning => "warning",
            };
            format!("| `{}` | {sev} | {} |", c.as_str(), c.summary())
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn readme_setup_commands_name_real_files() {
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    assert!(readme.contains(
        r#"```sh
cargo run --release -- demo demo-crm
cargo test
```"#
    ));
    assert!(crate::util::repo_root()
        .join("example-crm/sloop.toml")
        .is_file());
}
