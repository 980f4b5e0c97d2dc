//! Phone numbers in E.164 (`+33612345678`), from whatever a contact file or a call log holds:
//! `+33 6 12 34 56 78`, `06 12 34 56 78` (national, read in a default country),
//! `0033612345678` (the international prefix written out), `01.42.68.55.10`,
//! `(312) 555-0147`, `15035550110`. Google's libphonenumber metadata (the `phonenumber`
//! crate) knows each country's calling code, trunk prefix and international prefix, and
//! which numbers exist.

/// The number in E.164, reading a number without its country code as one of `region`
/// (ISO 3166 alpha-2: `FR`, `US`). `None` when it is not a valid number (too short, an
/// unknown country code, a national number without a region, `anonymous`).
pub fn e164(raw: &str, region: Option<&str>) -> Option<String> {
    let raw = raw.trim();
    if !raw.bytes().any(|b| b.is_ascii_digit()) || raw.len() > 64 {
        return None;
    }
    let country = region.and_then(|r| {
        r.to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .ok()
    });
    let number = phonenumber::parse(country, raw).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Whether the number is written with its country code (`+…`, or `00…`/`011…` followed by
/// one): it then needs no region.
pub fn is_international(raw: &str) -> bool {
    let t = raw.trim_start();
    t.starts_with('+') || t.starts_with("00") || t.starts_with("011")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_national_format_become_e164() {
        for (raw, region, expected) in [
            ("+33 6 12 34 56 78", None, Some("+33612345678")),
            ("06 12 34 56 78", Some("FR"), Some("+33612345678")),
            ("0033612345678", Some("FR"), Some("+33612345678")),
            ("01.42.68.55.10", Some("FR"), Some("+33142685510")),
            ("0033240891264", Some("FR"), Some("+33240891264")),
            ("(312) 555-0147", Some("US"), Some("+13125550147")),
            ("+1 614-555-0192", Some("FR"), Some("+16145550192")),
            ("15035550110", Some("US"), Some("+15035550110")),
            ("020 7946 0958", Some("GB"), Some("+442079460958")),
            ("+44 20 7946 0958", None, Some("+442079460958")),
            // Italy keeps the leading zero of its landlines.
            ("06 6982 0000", Some("it"), Some("+390669820000")),
            ("06 12 34 56 78", None, None),
            ("anonymous", Some("FR"), None),
            ("12", Some("FR"), None),
            ("", None, None),
        ] {
            assert_eq!(
                e164(raw, region).as_deref(),
                expected,
                "{raw} in {region:?}"
            );
        }
        assert!(is_international("+33 1") && is_international("0033 1"));
        assert!(!is_international("06 12"));
    }
}
