//! `sloop schema`: the editor's JSON Schemas, from the CRM's config. (`scripts/check-editor-schema`
//! runs them through the real taplo in CI.)

use crate::util::{assert_clean, example, expect_file, snapshot, TestEnv};

/// The whole schema of an opportunity in the example CRM: its stages, members, sources and
/// lost reasons, and what each stage requires.
#[test]
fn schema_of_a_kind_carries_the_crm_s_values() {
    let env = example();
    let run = env.run(&["-C", "crm", "schema", "opportunities"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    expect_file("schema/opportunity.json", &run.stdout);
    let all = env.run(&["-C", "crm", "schema"]);
    let all: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "account",
            "activity",
            "config",
            "contact",
            "lead",
            "opportunity"
        ]
    );
    let one: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(all["opportunity"], one);
    assert_eq!(
        all["account"]["properties"]["owner"]["enum"],
        serde_json::json!(["lea", "marc", "sofia", "tom", "nina"])
    );
}

/// Each field's description is the README's note for it (the Account and Opportunity tables).
#[test]
fn descriptions_are_the_readme_s_notes() {
    let env = example();
    let readme = std::fs::read_to_string(crate::util::repo_root().join("README.md")).unwrap();
    for (kind, heading) in [
        ("account", "**Account**"),
        ("opportunity", "**Opportunity**"),
    ] {
        let run = env.run(&["-C", "crm", "schema", kind]);
        let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let table = readme.split(heading).nth(1).unwrap();
        let mut rows = 0;
        for line in table
            .lines()
            .skip_while(|l| !l.starts_with("| field"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
        {
            let line = line.replace("\\|", "¦");
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (field, notes) = (cells[1], cells[3]);
            for name in field.split(", ") {
                let name = name.trim_matches(|c| c == '`' || c == '[' || c == ']');
                let description = schema["properties"][name]["description"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{kind}.{name} has no description"));
                if !notes.is_empty() {
                    assert!(
                        description.ends_with(&format!(": {notes}")),
                        "{kind}.{name}: {description:?} is not the README's {notes:?}"
                    );
                }
                rows += 1;
            }
        }
        assert!(rows >= 13, "{kind}: only {rows} README rows read");
    }
}

/// `--write` writes a schema per kind and sloop.toml's, and `.taplo.toml`, which `sloop check`
/// does not take for a stray record; `sloop init` writes them too.
#[test]
fn write_and_init_write_the_schemas_and_taplo_toml() {
    let env = example();
    let run = env.run(&["-C", "crm", "schema", "--write"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Wrote 6 schemas into crm/.sloop/schemas and crm/.taplo.toml\n"
    );
    expect_file("schema/taplo.toml", &env.read("crm/.taplo.toml"));
    let written: serde_json::Value =
        serde_json::from_str(&env.read("crm/.sloop/schemas/lead.json")).unwrap();
    let printed = env.run(&["-C", "crm", "schema", "lead"]);
    assert_eq!(
        written,
        serde_json::from_str::<serde_json::Value>(&printed.stdout).unwrap()
    );
    assert_clean(&env);

    let fresh = TestEnv::new();
    let init = fresh.run(&["init", "new-crm"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert_eq!(
        fresh.read("new-crm/.taplo.toml"),
        env.read("crm/.taplo.toml")
    );
    for name in [
        "config",
        "account",
        "contact",
        "opportunity",
        "lead",
        "activity",
    ] {
        let path = format!("new-crm/.sloop/schemas/{name}.json");
        let _: serde_json::Value = serde_json::from_str(&fresh.read(&path)).unwrap();
    }
}

/// An unknown schema name is refused with a suggestion, outside a CRM too, and nothing is
/// written.
#[test]
fn an_unknown_kind_is_refused_and_nothing_is_written() {
    let env = example();
    let before = snapshot(env.path());
    let run = env.run(&["-C", "crm", "schema", "oportunity"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: unknown schema `oportunity`: use `config`, `account`, `contact`, `opportunity`, `lead` or `activity`\nhint: did you mean `opportunity`?\n"
    );
    let both = env.run(&["-C", "crm", "schema", "lead", "--write"]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    assert_eq!(snapshot(env.path()), before);
}
