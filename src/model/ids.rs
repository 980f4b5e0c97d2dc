//! Validated identifiers. A record's id is its file stem: `[a-z0-9][a-z0-9-]*`, at most 64
//! characters. Each kind gets its own newtype so an account id cannot be passed where a
//! contact id is expected.

use serde::Serialize;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id cannot be empty")]
    Empty,
    #[error("`{0}` is longer than 64 characters")]
    TooLong(String),
    #[error("`{0}` must start with a lowercase letter or a digit")]
    BadStart(String),
    #[error("`{id}` has `{bad}`: an id is lowercase letters, digits and `-`")]
    BadChar { id: String, bad: char },
}

/// The rules every id follows.
pub fn validate(s: &str) -> Result<(), IdError> {
    // Every id a CRM holds is valid: checked a byte at a time (a character outside ASCII is
    // bytes above 0x7f, never valid), the error worked out below only for one that is not.
    let bytes = s.as_bytes();
    let ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    if s.len() <= MAX_LEN
        && bytes.first().is_some_and(|b| *b != b'-' && ok(b))
        && bytes.iter().all(ok)
    {
        return Ok(());
    }
    let mut chars = s.chars();
    match chars.next() {
        None => return Err(IdError::Empty),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return Err(IdError::BadStart(s.to_string()))
        }
        Some(_) => {}
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(IdError::BadChar {
            id: s.to_string(),
            bad,
        });
    }
    if s.len() > MAX_LEN {
        return Err(IdError::TooLong(s.to_string()));
    }
    Ok(())
}

/// The longest id.
pub const MAX_LEN: usize = 64;

/// The first id not `taken` among `base`, `base-2`, `base-3`…; the base is cut short (at a
/// character, without a trailing `-`) to leave the suffix room within [`MAX_LEN`], so a
/// second record named like a 64-character id gets a valid id too.
pub fn first_free(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    let mut n = 2u64;
    loop {
        let suffix = format!("-{n}");
        let mut cut = base.len().min(MAX_LEN.saturating_sub(suffix.len()));
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let candidate = format!("{}{suffix}", base[..cut].trim_end_matches('-'));
        if !taken(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

/// Turns a name into an id suggestion: `"Acme Corp."` → `acme-corp`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(MAX_LEN);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A letter without its accent (one or two letters: `æ` is `ae`), without allocating:
/// every character of every name an import slugifies goes through it.
fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let (base, second) = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
            ('a', None)
        }
        'ç' | 'Ç' => ('c', None),
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => ('e', None),
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => ('i', None),
        'ñ' | 'Ñ' => ('n', None),
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => ('o', None),
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => ('u', None),
        'ý' | 'ÿ' | 'Ý' => ('y', None),
        'æ' | 'Æ' => ('a', Some('e')),
        'œ' | 'Œ' => ('o', Some('e')),
        'ß' => ('s', Some('s')),
        other => (other, None),
    };
    std::iter::once(base).chain(second)
}

/// Defines a validated id newtype.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(Box<str>);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(s: &str) -> Result<Self, IdError> {
                validate(s)?;
                Ok($name(s.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::new(s)
            }
        }
    };
}

id_type!(
    /// Any record's id, when the kind is known from context.
    Id
);
id_type!(
    /// An account id (`accounts/<id>.toml`).
    AccountId
);
id_type!(
    /// A contact id.
    ContactId
);
id_type!(
    /// An opportunity id.
    OpportunityId
);
id_type!(
    /// A lead id.
    LeadId
);
id_type!(
    /// An activity id.
    ActivityId
);
id_type!(
    /// A team member id: the key of a `[team.<id>]` table.
    MemberId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ids_stay_within_the_length_limit() {
        assert_eq!(first_free("acme", |_| false), "acme");
        assert_eq!(first_free("acme", |c| c == "acme"), "acme-2");
        let long = "a".repeat(MAX_LEN);
        let second = first_free(&long, |c| c == long);
        assert_eq!(second, format!("{}-2", "a".repeat(MAX_LEN - 2)));
        assert!(validate(&second).is_ok());
        // The cut leaves no `--`, and the suffix grows as needed.
        let dashed = format!("{}-b", "a".repeat(MAX_LEN - 3));
        let tried = std::cell::RefCell::new(Vec::new());
        let tenth = first_free(&dashed, |c| {
            tried.borrow_mut().push(c.to_string());
            !c.ends_with("-10")
        });
        assert_eq!(tenth, format!("{}-10", "a".repeat(MAX_LEN - 3)));
        for c in tried.borrow().iter().skip(1) {
            assert!(validate(c).is_ok() && !c.contains("--"), "{c}");
        }
    }

    #[test]
    fn ids_follow_the_file_name_rule() {
        assert!(validate("acme").is_ok());
        assert!(validate("2026-11-03-call-acme").is_ok());
        assert_eq!(validate(""), Err(IdError::Empty));
        assert!(matches!(validate("-acme"), Err(IdError::BadStart(_))));
        assert!(matches!(validate("Acme"), Err(IdError::BadStart(_))));
        assert!(matches!(
            validate("acme_corp"),
            Err(IdError::BadChar { bad: '_', .. })
        ));
        assert!(validate(&"a".repeat(64)).is_ok());
        assert!(matches!(
            validate(&"a".repeat(65)),
            Err(IdError::TooLong(_))
        ));
    }

    /// The byte-at-a-time check accepts exactly what the rule says, non-ASCII letters and
    /// the length limit at its edge included.
    #[test]
    fn the_quick_check_agrees_with_the_rule() {
        let rule = |s: &str| {
            let mut chars = s.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && s.len() <= MAX_LEN
        };
        let alphabet = ["a", "z", "0", "9", "-", "_", "A", "é", "ß", " ", "\u{7f}"];
        let mut cases: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = cases
                .iter()
                .flat_map(|c| alphabet.iter().map(move |a| format!("{c}{a}")))
                .collect();
            cases.extend(longer);
        }
        for n in [63, 64, 65] {
            cases.push("a".repeat(n));
            cases.push(format!("{}é", "a".repeat(n - 2)));
        }
        for c in &cases {
            assert_eq!(validate(c).is_ok(), rule(c), "{c:?}");
        }
    }

    #[test]
    fn slugify_makes_valid_ids() {
        assert_eq!(slugify("Acme Corp."), "acme-corp");
        assert_eq!(slugify("  Société Générale & Cie "), "societe-generale-cie");
        assert_eq!(slugify("Œuvre"), "oeuvre");
        assert!(validate(&slugify(&"x y ".repeat(40))).is_ok());
    }
}
