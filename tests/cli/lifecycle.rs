//! The two lifecycle defects found while testing the metrics, and the onboarding hand-off,
//! end to end: real commits with fixed dates, the real binary.

use crate::util::TestEnv;

const TEAM: &str = "[team.al]\nname = \"Al\"\nrole = \"ae\"\n[team.bo]\nname = \"Bo\"\nrole = \"sdr\"\n[team.nina]\nname = \"Nina\"\nrole = \"onboarding\"\n";

fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    let run = env.run(args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    run.stdout
}

/// A touchpoint logged the day an account entered the pool counts for `first-touch`, and
/// the agenda lists a pool account whose only touchpoints predate its entry to the pool.
#[test]
fn a_call_logged_the_day_the_account_is_created_makes_it_a_target() {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.write(
        "accounts/recycled.toml",
        "name = \"Recycled\"\nstatus = \"churn\"\n",
    );
    env.write(
        "activities/2026/04/2026-04-01-call-recycled.toml",
        "kind = \"call\"\ndate = 2026-04-01\naccount = \"recycled\"\nowner = \"bo\"\n",
    );
    env.git(&["init", "-q", "-b", "main"]);
    env.commit_all("a customer churned long ago", "2026-05-01T10:00:00Z");
    env.write(
        "accounts/recycled.toml",
        "name = \"Recycled\"\nstatus = \"qualified_pool\"\n",
    );
    env.write(
        "accounts/fresh.toml",
        "name = \"Fresh\"\nstatus = \"qualified_pool\"\n",
    );
    env.write(
        "activities/2026/09/2026-09-01-call-fresh.toml",
        "kind = \"call\"\ndate = 2026-09-01\naccount = \"fresh\"\nowner = \"bo\"\nduration_min = 10\n",
    );
    env.commit_all(
        "new account, first call the same day",
        "2026-09-01T16:00:00Z",
    );
    let agenda = run_ok(&env, &["agenda", "--all", "--as-of", "2026-09-08"]);
    assert!(
        agenda.contains("\nWaiting for a first touch (1)\n"),
        "{agenda}"
    );
    assert!(agenda.contains("recycled"), "{agenda}");
    assert!(!agenda.contains("fresh"), "{agenda}");
    let tick = run_ok(&env, &["tick", "--dry-run", "--as-of", "2026-09-08"]);
    assert_eq!(
        tick,
        "\
record          field   from            to      rule
accounts/fresh  status  qualified_pool  target  first-touch
accounts/fresh  owner   —               bo      first-touch
Dry run (planned from HEAD): nothing was changed.
"
    );
}

/// A deal won with a `close_date` before the day its account became `working` is this
/// cycle's win: the account becomes a customer, it is not sent to backlog as "none is won".
#[test]
fn a_win_with_an_earlier_close_date_makes_a_customer() {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.write(
        "accounts/acme.toml",
        "name = \"Acme\"\nstatus = \"target\"\nowner = \"al\"\n",
    );
    env.write(
        "opportunities/acme-new.toml",
        "name = \"Acme new\"\naccount = \"acme\"\nowner = \"al\"\nstage = \"trial\"\nsource = \"inbound\"\nmrr = 300\nclose_date = 2026-09-30\nintegration = \"stripe\"\n",
    );
    env.git(&["init", "-q", "-b", "main"]);
    env.commit_all("open a trial", "2026-09-01T10:00:00Z");
    env.write(
        "accounts/acme.toml",
        "name = \"Acme\"\nstatus = \"working\"\nowner = \"al\"\n",
    );
    env.commit_all("sloop tick 2026-09-05", "2026-09-05T18:00:00Z");
    // the customer said yes on 09-03; the AE records it on 09-10
    env.write(
        "opportunities/acme-new.toml",
        "name = \"Acme new\"\naccount = \"acme\"\nowner = \"al\"\nstage = \"won\"\nsource = \"inbound\"\nmrr = 300\nclose_date = 2026-09-03\nintegration = \"stripe\"\n\n[commit]\nplan = \"pro\"\nstart_date = 2026-09-15\n",
    );
    env.commit_all("won", "2026-09-10T10:00:00Z");
    let tick = run_ok(&env, &["tick", "--dry-run", "--as-of", "2026-09-11"]);
    assert_eq!(
        tick,
        "\
record         field   from     to        rule
accounts/acme  status  working  customer  opportunity-won
Dry run (planned from HEAD): nothing was changed.
"
    );
}

/// `move … won --handoff MEMBER` writes the deal and an onboarding task in one go; without
/// it, the won deal of a customer raises `handoff-missing`.
#[test]
fn a_won_deal_is_handed_off_to_onboarding() {
    let env = TestEnv::new();
    env.write("sloop.toml", TEAM);
    env.write(
        "accounts/acme.toml",
        "name = \"Acme\"\nstatus = \"customer\"\nowner = \"al\"\n",
    );
    let commit = "mrr = 300\nclose_date = 2026-09-20\n\n[bant]\nbudget = \"ok\"\nauthority = \"CFO\"\nneed = \"close\"\ntimeline = \"Q4\"\n\n[commit]\naccepted_on = 2026-09-19\nstart_date = 2026-10-01\nonboarding_meeting = 2026-09-25\nplan = \"pro\"\npricing = \"list\"\nusers = 3\nbilling_tool = \"stripe\"\ninvoice_scheduled = true\n";
    let deal = |id: &str, stage: &str| {
        format!("name = \"Acme {id}\"\naccount = \"acme\"\nowner = \"al\"\nstage = \"{stage}\"\nsource = \"upsell\"\ntype = \"upsell\"\n{commit}")
    };
    env.write("opportunities/acme-more.toml", deal("more", "commit"));
    env.write("opportunities/acme-seats.toml", deal("seats", "won"));
    env.git(&["init", "-q", "-b", "main"]);
    env.commit_all("start", "2026-09-01T10:00:00Z");
    let refused = env.run(&["move", "acme-more", "won", "--handoff", "bo"]);
    assert_eq!(refused.code, 2);
    assert_eq!(
        refused.stderr,
        "error: `bo` is not an onboarding member of the team\nhint: onboarding: `nina`\n"
    );
    let moved = env
        .sloop()
        .env("SLOOP_NOW", "2026-09-20T12:00:00Z")
        .args(["move", "acme-more", "won", "--handoff", "nina", "--commit"])
        .output()
        .unwrap();
    assert!(moved.status.success(), "{moved:?}");
    let moved = String::from_utf8_lossy(&moved.stdout);
    assert_eq!(
        moved,
        "Updated opportunities/acme-more.toml\nHanded off: activities/2026/09/2026-09-20-task-acme-handoff.toml\n"
    );
    assert_eq!(
        env.read("activities/2026/09/2026-09-20-task-acme-handoff.toml"),
        "kind = \"task\"\ndate = 2026-09-20\naccount = \"acme\"\nopportunity = \"acme-more\"\nowner = \"nina\"\nsubject = \"Onboarding hand-off: Acme more\"\ndue = 2026-09-25\ndone = false\n"
    );
    let log = env.git(&["log", "-1", "--format=%s", "--name-only"]).stdout;
    assert_eq!(
        log,
        "sloop move acme-more won --handoff nina\n\nactivities/2026/09/2026-09-20-task-acme-handoff.toml\nopportunities/acme-more.toml\n"
    );
    let tick = run_ok(&env, &["tick", "--dry-run", "--as-of", "2026-09-21"]);
    assert_eq!(
        tick,
        "\
Nothing to move as of 2026-09-21.
Alerts:
owner  record                    rule             why
al     opportunities/acme-seats  handoff-missing  won on 2026-09-20 with no onboarding task: hand it over to `nina`
"
    );
}
