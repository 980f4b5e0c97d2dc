//! HubSpot's CSV view exports (Companies, Contacts, Deals index pages, "include
//! associations"): headers are display labels, ids are `Record ID`, associations are
//! `Associated <Object> IDs` joined with `;`, and a deal's stage history is its
//! `Date entered "<Stage> (<Pipeline>)"` columns. See tests/fixtures/exports/SOURCES.md.

use super::export::Role;
use super::read::{custom, field, FileKind, Spec};

pub const SPEC: Spec = Spec {
    kind_of,
    role_of,
    keyed: true,
    title: "HubSpot",
};

/// The kind of a file from its labels. `Record ID` is not required here: a file exported
/// without it is still recognised, so that its missing id is reported rather than the file
/// left out. A contact's labels come before a company's (contacts carry `Company Name`).
fn kind_of(header: &[String]) -> Option<FileKind> {
    let has = |h: &str| header.iter().any(|c| c == h);
    if has("deal name") || has("deal stage") {
        Some(FileKind::Deals)
    } else if has("first name") || has("last name") {
        Some(FileKind::People)
    } else if has("company name") || has("company domain name") {
        Some(FileKind::Companies)
    } else if has("email") {
        Some(FileKind::People)
    } else if has("activity date") || has("call title") || has("meeting name") || has("task title")
    {
        Some(FileKind::Activities)
    } else {
        None
    }
}

/// `date entered "closed won (sales pipeline)"` (folded: `date entered closed won sales
/// pipeline`) is matched on the raw header by the caller; here only the folded form.
fn role_of(kind: FileKind, h: &str) -> Role {
    let skip_assoc = Role::Skip("links are read from the `Associated … IDs` columns");
    if let Some(rest) = h.strip_prefix("date entered ") {
        return match kind {
            FileKind::Deals => Role::Entered(stage_of(rest)),
            _ if stage_of(rest) == "customer" => field(kind, "customer_since"),
            _ => Role::Skip("lifecycle stage dates other than Customer"),
        };
    }
    if let Some(rest) = h.strip_prefix("date exited ") {
        return match kind {
            FileKind::Deals => Role::Exited(stage_of(rest)),
            _ if stage_of(rest) == "customer" => field(kind, "churned"),
            _ => Role::Skip("lifecycle stage dates other than Customer"),
        };
    }
    if h.starts_with("latest time in ") || h.starts_with("cumulative time in ") {
        return Role::Skip("derived from the stage dates");
    }
    if h == "last activity date" || h == "last modified date" || h == "next activity date" {
        return Role::Skip("derived: sloop dates activities itself");
    }
    match (kind, h) {
        (_, "record id") => field(kind, "key"),
        (FileKind::Companies, "company name" | "name") => field(kind, "name"),
        (FileKind::Companies, "company domain name" | "website url" | "website") => {
            field(kind, "domain")
        }
        (FileKind::Companies, "company owner") => field(kind, "owner"),
        (FileKind::Companies, "lifecycle stage") => field(kind, "status"),
        (FileKind::Companies, "became a customer date") => field(kind, "customer_since"),
        (FileKind::Companies, "churn date") => field(kind, "churned"),
        (FileKind::Companies, "industry") => field(kind, "industry"),
        (FileKind::Companies, "number of employees") => field(kind, "employees"),
        (FileKind::Companies, "annual revenue") => field(kind, "revenue"),
        (FileKind::Companies, "country region" | "country") => field(kind, "country"),
        (FileKind::Companies, "linkedin company page") => field(kind, "linkedin"),
        (FileKind::Companies, "original source" | "original source type") => field(kind, "source"),
        (FileKind::Companies, "associated note") => field(kind, "note"),
        (FileKind::People, "first name") => field(kind, "first_name"),
        (FileKind::People, "last name") => field(kind, "last_name"),
        (FileKind::People, "email") => field(kind, "email"),
        (FileKind::People, "phone number" | "mobile phone number") => field(kind, "phone"),
        (FileKind::People, "job title") => field(kind, "title"),
        (FileKind::People, "contact owner") => field(kind, "owner"),
        (FileKind::People, "original source") => field(kind, "source"),
        (FileKind::People, "linkedin url" | "linkedin") => field(kind, "linkedin"),
        (FileKind::People | FileKind::Deals, "associated company ids primary") => {
            field(kind, "company")
        }
        (FileKind::People | FileKind::Deals, "associated company ids") => field(kind, "company"),
        (FileKind::Deals, "deal name") => field(kind, "name"),
        (FileKind::Deals, "deal stage") => field(kind, "stage"),
        (FileKind::Deals, "amount") => field(kind, "amount"),
        (FileKind::Deals, "deal currency code") => field(kind, "currency"),
        (FileKind::Deals, "close date") => field(kind, "close"),
        (FileKind::Deals, "deal owner") => field(kind, "owner"),
        (FileKind::Deals, "deal type") => field(kind, "kind"),
        (FileKind::Deals, "closed lost reason") => field(kind, "lost_reason"),
        (FileKind::Deals, "associated contact ids") => field(kind, "people"),
        (FileKind::Deals, "amount in company currency" | "weighted amount" | "forecast amount") => {
            Role::Skip("derived from the amount")
        }
        (FileKind::Deals, "deal probability") => Role::Skip("derived from the stage"),
        (_, "create date") => field(kind, "created"),
        (_, h) if h.starts_with("associated ") => skip_assoc,
        (_, h) => custom(h),
    }
}

/// The stage of a `Date entered` header, folded: `closed won sales pipeline` loses its
/// pipeline. The folded header has lost its quotes and parentheses, so the pipeline is
/// recognised by its usual names' last word.
fn stage_of(rest: &str) -> String {
    for tail in [" sales pipeline", " lifecycle stage pipeline", " pipeline"] {
        if let Some(s) = rest.strip_suffix(tail) {
            return s.to_string();
        }
    }
    rest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_dates_and_associations() {
        assert_eq!(
            role_of(FileKind::Deals, "date entered closed won sales pipeline"),
            Role::Entered("closed won".into())
        );
        assert_eq!(
            role_of(
                FileKind::Companies,
                "date exited customer lifecycle stage pipeline"
            ),
            field(FileKind::Companies, "churned")
        );
        assert_eq!(
            role_of(FileKind::Deals, "associated company ids primary"),
            field(FileKind::Deals, "company")
        );
        assert!(matches!(
            role_of(FileKind::Deals, "associated company"),
            Role::Skip(_)
        ));
        assert_eq!(
            kind_of(&["record id".into(), "deal name".into()]),
            Some(FileKind::Deals)
        );
        assert_eq!(
            kind_of(&["deal name".into(), "amount".into()]),
            Some(FileKind::Deals)
        );
        assert_eq!(
            kind_of(&[
                "record id".into(),
                "first name".into(),
                "company name".into()
            ]),
            Some(FileKind::People)
        );
        assert_eq!(kind_of(&["id".into(), "title".into()]), None);
    }
}
