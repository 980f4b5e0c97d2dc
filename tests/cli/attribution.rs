//! Attribution, end to end: a lead's source and channel go to the account made from it, and
//! a new opportunity takes them from its account (the last touch that brought it).

use crate::util::TestEnv;

#[test]
fn a_lead_source_and_channel_reach_the_account_and_its_opportunity() {
    let env = TestEnv::new();
    env.write(
        "sloop.toml",
        "[team.al]\nname = \"Al\"\nrole = \"ae\"\n[team.lea]\nname = \"Lea\"\nrole = \"sdr\"\n",
    );
    env.write(
        "leads/webinar.toml",
        "name = \"Ana Ruiz\"\nemail = \"ana@ruiz.example\"\ncompany = \"Ruiz Bikes\"\nsource = \"inbound\"\nchannel = \"webinar\"\nowner = \"lea\"\n",
    );
    let run = env.run(&["lead", "convert", "webinar"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        env.read("accounts/ruiz-bikes.toml"),
        "name = \"Ruiz Bikes\"\nstatus = \"qualified_pool\"\nowner = \"lea\"\ndomain = \"ruiz.example\"\nsource = \"inbound\"\nchannel = \"webinar\"\n"
    );
    let run = env.run(&[
        "new",
        "opportunity",
        "--name",
        "Ruiz Bikes — Pro",
        "--account",
        "ruiz-bikes",
        "--owner",
        "al",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        env.read("opportunities/ruiz-bikes-pro.toml"),
        "name = \"Ruiz Bikes — Pro\"\naccount = \"ruiz-bikes\"\nowner = \"al\"\nstage = \"identified\"\nsource = \"inbound\"\nchannel = \"webinar\"\n"
    );
    // its own source wins, and then the account's channel is not its channel
    let run = env.run(&[
        "new",
        "opportunity",
        "--name",
        "Ruiz Bikes — Referral",
        "--account",
        "ruiz-bikes",
        "--owner",
        "al",
        "--source",
        "referral",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        env.read("opportunities/ruiz-bikes-referral.toml"),
        "name = \"Ruiz Bikes — Referral\"\naccount = \"ruiz-bikes\"\nowner = \"al\"\nsource = \"referral\"\nstage = \"identified\"\n"
    );
    let check = env.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}
