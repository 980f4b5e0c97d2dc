use crate::util::TestEnv;

#[test]
fn init_scaffolds_a_crm_and_a_repository() {
    let env = TestEnv::new();
    let run = env.run(&["init", "acme-crm"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("and an empty git repository"));
    let root = env.path().join("acme-crm");
    assert_eq!(
        std::fs::read_to_string(root.join("sloop.toml")).unwrap(),
        sloop::config::DEFAULT_TOML
    );
    for folder in [
        "accounts",
        "contacts",
        "opportunities",
        "leads",
        "activities",
    ] {
        assert!(root.join(folder).join(".gitkeep").is_file(), "{folder}");
    }
    assert!(root.join(".git").is_dir());
    let check = env.run(&["-C", "acme-crm", "check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert_eq!(check.stdout, "0 records: 0 errors, 0 warnings\n");
}

#[test]
fn init_inside_a_repository_does_not_nest_one() {
    let env = TestEnv::new();
    env.git(&["init", "-q"]);
    let run = env.run(&["init", "sales"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("git repository"));
    assert!(!env.path().join("sales/.git").exists());
}

#[test]
fn init_refuses_to_overwrite() {
    let env = TestEnv::new();
    env.write("crm/sloop.toml", "# mine\n");
    let run = env.run(&["init", "crm"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(env.read("crm/sloop.toml"), "# mine\n");
    assert!(!env.path().join("crm/accounts").exists());
}
