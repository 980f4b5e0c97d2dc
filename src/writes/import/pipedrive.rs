//! Pipedrive's list-view exports: `<Entity> - <Field>` headers (`Deal - Stage`,
//! `Person - Email - Work`), a deal's `Status` (Won/Lost/Open) apart from its stage, won and
//! lost times, and no stage history (only `Deal - Last stage change`). Activities name their
//! deal, person and organization by name. See tests/fixtures/exports/SOURCES.md.

use super::export::Role;
use super::read::{custom, field, FileKind, Spec};

pub const SPEC: Spec = Spec {
    kind_of,
    role_of,
    keyed: true,
    title: "Pipedrive",
};

fn kind_of(header: &[String]) -> Option<FileKind> {
    let prefixed = |p: &str| header.iter().filter(|c| c.starts_with(p)).count() * 2 > header.len();
    if prefixed("deal ") {
        Some(FileKind::Deals)
    } else if prefixed("organization ") {
        Some(FileKind::Companies)
    } else if prefixed("person ") {
        Some(FileKind::People)
    } else if prefixed("activity ") {
        Some(FileKind::Activities)
    } else {
        None
    }
}

fn role_of(kind: FileKind, h: &str) -> Role {
    let h = ["deal ", "organization ", "person ", "activity "]
        .iter()
        .find_map(|p| h.strip_prefix(p))
        .unwrap_or(h);
    let h = h
        .strip_suffix(" 2")
        .or_else(|| h.strip_suffix(" 3"))
        .unwrap_or(h);
    match (kind, h) {
        (_, "id") => field(kind, "key"),
        (_, "update time" | "last activity date" | "next activity date" | "visible to") => {
            Role::Skip("kept by Pipedrive, not part of the record")
        }
        (
            _,
            "open deals"
            | "won deals"
            | "lost deals"
            | "people"
            | "total activities"
            | "done activities"
            | "activities to do"
            | "email messages count",
        ) => Role::Skip("a count sloop derives"),
        (FileKind::Companies, "name") => field(kind, "name"),
        (FileKind::Companies, "owner") => field(kind, "owner"),
        (FileKind::Companies, "organization created") => field(kind, "created"),
        (FileKind::Companies, "labels") => field(kind, "status"),
        (FileKind::Companies, "churn date") => field(kind, "churned"),
        (FileKind::Companies, "country of address") => field(kind, "country"),
        (FileKind::Companies, "website" | "domain") => field(kind, "domain"),
        (FileKind::Companies, "industry") => field(kind, "industry"),
        (FileKind::Companies, "employee count" | "number of employees") => field(kind, "employees"),
        (FileKind::Companies, "annual revenue") => field(kind, "revenue"),
        (FileKind::Companies, "linkedin profile" | "linkedin") => field(kind, "linkedin"),
        (FileKind::People, "name") => field(kind, "name"),
        (FileKind::People, "first name" | "last name") => {
            Role::Skip("the name is read from `Person - Name`")
        }
        (FileKind::People, "organization") => field(kind, "company_name"),
        (FileKind::People, "email work" | "email other" | "email home" | "email") => {
            field(kind, "email")
        }
        (
            FileKind::People,
            "phone work" | "phone mobile" | "phone home" | "phone other" | "phone",
        ) => field(kind, "phone"),
        (FileKind::People, "job title") => field(kind, "title"),
        (FileKind::People, "owner") => field(kind, "owner"),
        (FileKind::People, "person created") => field(kind, "created"),
        (FileKind::Deals, "title") => field(kind, "name"),
        (FileKind::Deals, "owner") => field(kind, "owner"),
        (FileKind::Deals, "value") => field(kind, "amount"),
        (FileKind::Deals, "currency of value") => field(kind, "currency"),
        (FileKind::Deals, "weighted value" | "currency of weighted value" | "probability") => {
            Role::Skip("derived from the value and the stage")
        }
        (FileKind::Deals, "organization" | "contact person") => {
            Role::Skip("read by id from the `… ID` column")
        }
        (FileKind::Deals, "organization id") => field(kind, "company"),
        (FileKind::Deals, "contact person id") => field(kind, "people"),
        (FileKind::Deals, "stage") => field(kind, "stage"),
        (FileKind::Deals, "status") => field(kind, "outcome"),
        (FileKind::Deals, "deal created") => field(kind, "created"),
        (FileKind::Deals, "last stage change") => field(kind, "last_stage_change"),
        (FileKind::Deals, "won time") => field(kind, "won_at"),
        (FileKind::Deals, "lost time") => field(kind, "lost_at"),
        (FileKind::Deals, "deal closed on") => field(kind, "closed_at"),
        (FileKind::Deals, "lost reason") => field(kind, "lost_reason"),
        (FileKind::Deals, "expected close date") => field(kind, "close"),
        (FileKind::Deals, "source" | "source origin" | "source channel") => field(kind, "source"),
        (FileKind::Activities, "subject") => field(kind, "subject"),
        (FileKind::Activities, "type") => field(kind, "kind"),
        (FileKind::Activities, "due date") => field(kind, "at"),
        (FileKind::Activities, "due time") => field(kind, "at_time"),
        (FileKind::Activities, "duration") => field(kind, "duration"),
        (FileKind::Activities, "done") => field(kind, "done"),
        (FileKind::Activities, "assigned to user") => field(kind, "owner"),
        (FileKind::Activities, "deal") => field(kind, "deal_name"),
        (FileKind::Activities, "person") => field(kind, "person_name"),
        (FileKind::Activities, "organization") => field(kind, "company_name"),
        (FileKind::Activities, "note") => field(kind, "body"),
        (FileKind::Activities, "add time") => field(kind, "created"),
        (FileKind::Activities, "marked as done time") => field(kind, "done_at"),
        (_, h) => custom(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_prefixed_headers() {
        let h: Vec<String> = ["deal id", "deal title", "deal stage"]
            .map(String::from)
            .to_vec();
        assert_eq!(kind_of(&h), Some(FileKind::Deals));
        assert_eq!(
            role_of(FileKind::People, "person email work 2"),
            field(FileKind::People, "email")
        );
        assert_eq!(
            role_of(FileKind::Deals, "deal status"),
            field(FileKind::Deals, "outcome")
        );
        assert_eq!(
            role_of(FileKind::Companies, "organization labels"),
            field(FileKind::Companies, "status")
        );
        assert_eq!(
            role_of(FileKind::Deals, "deal creator"),
            Role::Custom("creator".into())
        );
    }
}
