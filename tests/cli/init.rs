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

#[test]
fn init_refuses_a_bare_repository_and_a_git_dir() {
    let env = TestEnv::new();
    assert_eq!(env.git(&["init", "-q", "--bare", "crm.git"]).code, 0);
    for dir in ["crm.git", "crm.git/crm"] {
        let before = crate::util::snapshot(env.path());
        let run = env.run(&["init", dir]);
        assert_eq!(run.code, 2, "{dir}: {}", run.stdout);
        assert!(
            run.stderr
                .contains("a bare repository or a .git folder): a CRM needs a work tree"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("hint: clone the repository"),
            "{}",
            run.stderr
        );
        assert_eq!(
            crate::util::snapshot(env.path()),
            before,
            "{dir}: something was written"
        );
        assert!(!env.path().join(dir).join(".git").exists());
    }
    assert_eq!(env.git(&["init", "-q", "work"]).code, 0);
    let run = env.run(&["init", "work/.git/crm"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
}
