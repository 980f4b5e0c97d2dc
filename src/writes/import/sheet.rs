//! A team's own spreadsheet (`--from csv`): free-form headers in English, French, Spanish
//! or German, one file of accounts, one of contacts, one of deals, recognised by their
//! columns; references by company name; owners by first name; money with its currency sign.

use super::export::Role;
use super::read::{custom, field, FileKind, Spec};

pub const SPEC: Spec = Spec {
    kind_of,
    role_of,
    keyed: false,
    title: "spreadsheet",
};

fn kind_of(header: &[String]) -> Option<FileKind> {
    let any = |names: &[&str]| header.iter().any(|c| names.contains(&c.as_str()));
    if any(&[
        "stage",
        "deal stage",
        "etape",
        "etapa",
        "phase",
        "pipeline stage",
    ]) && any(&[
        "deal",
        "deal name",
        "opportunity",
        "affaire",
        "name",
        "title",
    ]) {
        Some(FileKind::Deals)
    } else if any(&[
        "email",
        "e mail",
        "email address",
        "courriel",
        "correo electronico",
    ]) && any(&[
        "name",
        "full name",
        "contact",
        "nom",
        "first name",
        "prenom",
        "nombre",
    ]) {
        Some(FileKind::People)
    } else if any(&[
        "company",
        "company name",
        "account",
        "account name",
        "societe",
        "empresa",
        "firma",
    ]) {
        Some(FileKind::Companies)
    } else {
        None
    }
}

fn role_of(kind: FileKind, h: &str) -> Role {
    match (kind, h) {
        (
            FileKind::Companies,
            "company" | "company name" | "account" | "account name" | "name" | "societe"
            | "empresa" | "firma",
        ) => field(kind, "name"),
        (FileKind::Companies, "website" | "domain" | "site" | "site web" | "web") => {
            field(kind, "website")
        }
        (FileKind::Companies, "status" | "statut" | "estado" | "stage") => field(kind, "status"),
        (FileKind::Companies, "employees" | "headcount" | "effectif" | "size") => {
            field(kind, "employees")
        }
        (FileKind::Companies, "revenue" | "annual revenue" | "ca annuel") => field(kind, "revenue"),
        (FileKind::Companies, "industry" | "secteur" | "sector") => field(kind, "industry"),
        (FileKind::Companies, "tools" | "stack" | "outils") => field(kind, "tools"),
        (FileKind::Companies, "source" | "origine") => field(kind, "source"),
        (FileKind::Companies, "linkedin") => field(kind, "linkedin"),
        (FileKind::Companies, "customer since" | "became customer") => {
            field(kind, "customer_since")
        }
        (FileKind::Companies, "churn date" | "churned on") => field(kind, "churned"),
        (FileKind::People, "name" | "full name" | "contact" | "nom") => field(kind, "name"),
        (FileKind::People, "first name" | "prenom" | "nombre") => field(kind, "first_name"),
        (FileKind::People, "last name" | "nom de famille" | "apellidos") => {
            field(kind, "last_name")
        }
        (FileKind::People, "company" | "account" | "societe" | "empresa" | "firma") => {
            field(kind, "company_name")
        }
        (
            FileKind::People,
            "email" | "e mail" | "email address" | "courriel" | "correo electronico",
        ) => field(kind, "email"),
        (FileKind::People, "role" | "title" | "job title" | "fonction" | "position" | "cargo") => {
            field(kind, "title")
        }
        (FileKind::People, "phone" | "telephone" | "mobile" | "telefono" | "telefon") => {
            field(kind, "phone")
        }
        (FileKind::People, "linkedin" | "linkedin url") => field(kind, "linkedin"),
        (FileKind::Deals, "deal" | "deal name" | "opportunity" | "affaire" | "name" | "title") => {
            field(kind, "name")
        }
        (FileKind::Deals, "company" | "account" | "societe" | "empresa" | "firma") => {
            field(kind, "company_name")
        }
        (FileKind::Deals, "stage" | "deal stage" | "etape" | "etapa" | "phase") => {
            field(kind, "stage")
        }
        (FileKind::Deals, "mrr" | "amount" | "value" | "arr" | "acv" | "montant" | "valeur") => {
            field(kind, "amount")
        }
        (FileKind::Deals, "currency" | "devise") => field(kind, "currency"),
        (FileKind::Deals, "close date" | "closing date" | "expected close" | "close") => {
            field(kind, "close")
        }
        (FileKind::Deals, "created" | "create date" | "created on" | "date de creation") => {
            field(kind, "created")
        }
        (FileKind::Deals, "lost reason" | "loss reason" | "raison de la perte") => {
            field(kind, "lost_reason")
        }
        (FileKind::Deals, "source" | "origine" | "origen") => field(kind, "source"),
        (FileKind::Deals, "type" | "deal type") => field(kind, "kind"),
        (FileKind::Deals, "won on" | "won date") => field(kind, "won_at"),
        (FileKind::Deals, "lost on" | "lost date") => field(kind, "lost_at"),
        (_, "owner" | "proprietaire" | "responsable" | "propietario" | "inhaber" | "sales rep") => {
            field(kind, "owner")
        }
        (_, h) => custom(h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheets_files_by_their_columns() {
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kind_of(&h(&["deal", "company", "stage", "mrr"])),
            Some(FileKind::Deals)
        );
        assert_eq!(
            kind_of(&h(&["name", "company", "email"])),
            Some(FileKind::People)
        );
        assert_eq!(
            kind_of(&h(&["company", "website", "status"])),
            Some(FileKind::Companies)
        );
        assert_eq!(kind_of(&h(&["colour"])), None);
        assert_eq!(
            role_of(FileKind::Deals, "mrr"),
            field(FileKind::Deals, "amount")
        );
        assert_eq!(
            role_of(FileKind::Companies, "notes"),
            Role::Custom("notes".into())
        );
    }
}
