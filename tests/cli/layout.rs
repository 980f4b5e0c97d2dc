//! The shape of `src/`, as ARCHITECTURE.md states it: the top-level modules form no cycle,
//! and the pure modules read no git, no file, no process and no environment.
//!
//! `cargo test --test cli layout -- --nocapture` prints the module graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::repo_root;

/// Each top-level module (`src/<name>.rs` or `src/<name>/`) and the top-level modules its
/// non-test code names as `crate::<name>`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo_root().join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = non_test_code(&std::fs::read_to_string(path).unwrap());
        let deps = edges.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    edges
}

/// The code before the first `#[cfg(test)]` (test modules sit at the end of their file),
/// without comment lines.
fn non_test_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A cycle through `start`, if any (depth-first search).
fn cycle(
    edges: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == node) {
        let mut c = path[i..].to_vec();
        c.push(node.to_string());
        return Some(c);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in edges.get(node).into_iter().flatten() {
        if let Some(c) = cycle(edges, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let edges = graph();
    for (m, deps) in &edges {
        println!(
            "{m} -> {}",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(c) = cycle(&edges, m, &mut Vec::new(), &mut done) {
            panic!("a dependency cycle between modules: {}", c.join(" -> "));
        }
    }
    // The layering ARCHITECTURE.md draws, bottom up: a module may only use those before it.
    let order = [
        "escape",
        "diag",
        "model",
        "config",
        "crm",
        "store",
        "git",
        "history",
        "check",
        "lifecycle",
        "writes",
        "report",
        "demo",
        "serve",
        "cli",
    ];
    for (m, deps) in &edges {
        let rank = order.iter().position(|o| o == m);
        assert!(
            rank.is_some(),
            "ARCHITECTURE.md does not place the module `{m}`"
        );
        for d in deps {
            let r = order.iter().position(|o| o == d);
            assert!(
                r < rank,
                "`{m}` uses `{d}`, which ARCHITECTURE.md places above it"
            );
        }
    }
}

#[test]
fn pure_modules_read_no_git_file_process_or_environment() {
    let pure = [
        "escape.rs",
        "diag.rs",
        "crm.rs",
        "model",
        "config",
        "check/rules.rs",
        "check/transition.rs",
        "lifecycle/rules.rs",
        "lifecycle/facts.rs",
        "lifecycle/agenda.rs",
        "history/state.rs",
        "report/metrics",
        "writes/validate.rs",
        "writes/slim.rs",
        "writes/import",
        "writes/ingest",
        "store/parse.rs",
        "store/schema.rs",
        "store/edit.rs",
        "serve/mapping.rs",
        "serve/auth.rs",
        "serve/base64.rs",
    ];
    let forbidden = [
        "crate::git",
        "std::fs",
        "std::process",
        "std::env",
        "std::net",
        "WorkTree",
        "store::load(",
        "Local::now",
        "Utc::now",
        "SystemTime",
    ];
    let src = repo_root().join("src");
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let is_pure = pure
            .iter()
            .any(|p| rel == *p || rel == format!("{p}.rs") || rel.starts_with(&format!("{p}/")));
        if !is_pure || !rel.ends_with(".rs") {
            continue;
        }
        checked += 1;
        let code = non_test_code(&std::fs::read_to_string(entry.path()).unwrap());
        for f in forbidden {
            assert!(
                !code.contains(f),
                "src/{rel} is pure (ARCHITECTURE.md) but uses `{f}`"
            );
        }
    }
    assert!(checked >= pure.len(), "only {checked} pure files found");
}
