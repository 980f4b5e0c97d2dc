//! Salesforce's weekly Data Export (Setup → Data Export): one CSV per object named by API
//! name, headers are API names (`StageName`, `AccountId`), ids are 18 characters, owners
//! are user ids resolved through `User.csv`, times are UTC (`…T09:02:16.000Z`), and a
//! deal's stage history is `OpportunityHistory.csv`. Tasks and events name their contact
//! (`WhoId`, `003…`) and their opportunity or account (`WhatId`, `006…`/`001…`). See
//! tests/fixtures/exports/SOURCES.md.

use super::export::Role;
use super::read::{custom, field, FileKind, Spec};

pub const SPEC: Spec = Spec {
    kind_of,
    role_of,
    keyed: true,
    title: "Salesforce data",
};

fn kind_of(header: &[String]) -> Option<FileKind> {
    let has = |h: &str| header.iter().any(|c| c == h);
    // `Id` is not required to recognise a file: one exported without it is reported.
    if has("opportunityid") && has("stagename") {
        Some(FileKind::StageHistory)
    } else if has("stagename") {
        Some(FileKind::Deals)
    } else if has("username") {
        Some(FileKind::Users)
    } else if has("taskssubtype") || has("tasksubtype") || (has("whoid") && has("subject")) {
        Some(FileKind::Activities)
    } else if has("isconverted") {
        None
    } else if has("lastname") && has("accountid") {
        Some(FileKind::People)
    } else if (has("billingcountry") || has("website") || has("accountsource"))
        && !has("accountid")
        && !has("opportunityid")
    {
        // An Account, whether or not it kept its `Name` (one without is reported); Quote,
        // Order and Contract carry billing addresses too, but name their account.
        Some(FileKind::Companies)
    } else {
        None
    }
}

/// The system columns every object has: kept by Salesforce, not part of a record.
fn system(h: &str) -> bool {
    matches!(
        h,
        "createdbyid"
            | "lastmodifieddate"
            | "lastmodifiedbyid"
            | "systemmodstamp"
            | "lastactivitydate"
            | "lastvieweddate"
            | "lastreferenceddate"
            | "masterrecordid"
            | "photourl"
            | "jigsaw"
            | "jigsawcompanyid"
            | "jigsawcontactid"
            | "cleanstatus"
            | "isarchived"
            | "lastcurequestdate"
            | "lastcuupdatedate"
            | "fiscalquarter"
            | "fiscalyear"
            | "fiscal"
            | "forecastcategory"
            | "forecastcategoryname"
            | "hasopenactivity"
            | "hasoverduetask"
            | "expectedrevenue"
            | "probability"
            | "prevamount"
            | "prevclosedate"
            | "recordtypeid"
            | "isprivate"
            | "hasopportunitylineitem"
            | "pricebook2id"
            | "ischild"
            | "isgroupevent"
            | "recurrenceactivityid"
            | "isrecurrence"
            | "remindertime"
            | "reminderdatetime"
            | "isreminderset"
            | "showas"
    )
}

fn role_of(kind: FileKind, h: &str) -> Role {
    if system(h) {
        return Role::Skip("kept by Salesforce, not part of the record");
    }
    if h.contains("churn date") || h == "churn date c" {
        return field(kind, "churned");
    }
    if h.contains("loss reason") || h.contains("lost reason") {
        return field(kind, "lost_reason");
    }
    match (kind, h) {
        (_, "isdeleted") => field(kind, "deleted"),
        (FileKind::StageHistory, "createddate") => field(kind, "at"),
        (_, "id") => field(kind, "key"),
        (_, "ownerid") => field(kind, "owner"),
        (_, "createddate") => field(kind, "created"),
        (FileKind::Users, "name") => field(kind, "name"),
        (FileKind::Users, "email") => field(kind, "email"),
        (FileKind::Users, "isactive") => Role::Skip("inactive users own nothing sloop imports"),
        (FileKind::Users, _) => Role::Skip("only the users' names and emails are read"),
        (FileKind::Companies, "name") => field(kind, "name"),
        (FileKind::Companies, "website") => field(kind, "website"),
        (FileKind::Companies, "type") => field(kind, "status"),
        (FileKind::Companies, "industry") => field(kind, "industry"),
        (FileKind::Companies, "numberofemployees") => field(kind, "employees"),
        (FileKind::Companies, "annualrevenue") => field(kind, "revenue"),
        (FileKind::Companies, "billingcountry") => field(kind, "country"),
        (FileKind::Companies, "accountsource") => field(kind, "source"),
        (FileKind::People, "firstname") => field(kind, "first_name"),
        (FileKind::People, "lastname") => field(kind, "last_name"),
        (FileKind::People, "accountid") => field(kind, "company"),
        (FileKind::People, "email") => field(kind, "email"),
        (FileKind::People, "phone" | "mobilephone") => field(kind, "phone"),
        (FileKind::People, "title") => field(kind, "title"),
        (FileKind::People, "reportstoid") => field(kind, "reports_to"),
        (FileKind::People, "leadsource") => field(kind, "source"),
        (FileKind::Deals, "name") => field(kind, "name"),
        (FileKind::Deals, "accountid") => field(kind, "company"),
        (FileKind::Deals, "stagename") => field(kind, "stage"),
        (FileKind::Deals, "amount") => field(kind, "amount"),
        (FileKind::Deals, "currencyisocode") => field(kind, "currency"),
        (FileKind::Deals, "closedate") => field(kind, "close"),
        (FileKind::Deals, "type") => field(kind, "kind"),
        (FileKind::Deals, "leadsource") => field(kind, "source"),
        (FileKind::Deals, "isclosed") => field(kind, "is_closed"),
        (FileKind::Deals, "iswon") => field(kind, "is_won"),
        (FileKind::Deals, "laststagechangedate") => field(kind, "last_stage_change"),
        (FileKind::Deals, "contactid") => field(kind, "people"),
        (FileKind::StageHistory, "opportunityid") => field(kind, "deal"),
        (FileKind::StageHistory, "stagename") => field(kind, "stage"),
        (FileKind::StageHistory, "amount") => field(kind, "amount"),
        (FileKind::StageHistory, "closedate") => field(kind, "close"),
        (FileKind::StageHistory, _) => {
            Role::Skip("only stage, amount and close date changes are read")
        }
        (FileKind::Activities, "whoid") => field(kind, "who"),
        (FileKind::Activities, "whatid") => field(kind, "what"),
        (FileKind::Activities, "accountid") => field(kind, "company"),
        (FileKind::Activities, "subject") => field(kind, "subject"),
        (FileKind::Activities, "description") => field(kind, "body"),
        (FileKind::Activities, "activitydate") => field(kind, "at"),
        (FileKind::Activities, "startdatetime" | "activitydatetime") => field(kind, "at"),
        (FileKind::Activities, "iscompleted" | "isclosed") => field(kind, "done"),
        (FileKind::Activities, "completeddatetime") => field(kind, "done_at"),
        (FileKind::Activities, "durationinminutes") => field(kind, "duration"),
        (FileKind::Activities, "calldurationinseconds") => field(kind, "duration_s"),
        (FileKind::Activities, "tasksubtype" | "eventsubtype") => field(kind, "kind"),
        (FileKind::Activities, "status" | "enddatetime" | "enddate" | "isalldayevent") => {
            Role::Skip("read from the activity's date and whether it is done")
        }
        (_, h) => custom(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_orders_and_contracts_are_not_accounts() {
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        for other in [
            &[
                "id",
                "name",
                "opportunityid",
                "accountid",
                "quotenumber",
                "billingcountry",
            ][..],
            &["id", "accountid", "ordernumber", "billingcountry", "status"],
            &[
                "id",
                "accountid",
                "contractnumber",
                "billingcountry",
                "status",
            ],
        ] {
            assert_eq!(kind_of(&h(other)), None, "{other:?}");
        }
        assert_eq!(
            kind_of(&h(&["id", "type", "billingcountry", "accountsource"])),
            Some(FileKind::Companies),
            "an Account without its Name is still one"
        );
    }

    #[test]
    fn objects_by_their_api_names() {
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kind_of(&h(&["id", "opportunityid", "stagename"])),
            Some(FileKind::StageHistory)
        );
        assert_eq!(
            kind_of(&h(&["id", "name", "stagename"])),
            Some(FileKind::Deals)
        );
        assert_eq!(
            kind_of(&h(&["id", "lastname", "accountid"])),
            Some(FileKind::People)
        );
        assert_eq!(
            kind_of(&h(&["id", "lastname", "company", "isconverted"])),
            None
        );
        assert_eq!(
            role_of(FileKind::Deals, "loss reason c"),
            field(FileKind::Deals, "lost_reason")
        );
        assert_eq!(
            role_of(FileKind::Companies, "churn date c"),
            field(FileKind::Companies, "churned")
        );
        assert!(matches!(
            role_of(FileKind::Deals, "systemmodstamp"),
            Role::Skip(_)
        ));
    }
}
