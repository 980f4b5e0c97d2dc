//! ISO 3166-1 alpha-2 country codes, for `country`.

pub const CODES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `s` is an assigned ISO 3166-1 alpha-2 code (uppercase).
pub fn is_alpha2(s: &str) -> bool {
    CODES.binary_search(&s).is_ok()
}

/// The code for a few common country names, for hints (`France` → `FR`).
pub fn code_for_name(name: &str) -> Option<&'static str> {
    let n = name.trim().to_lowercase();
    Some(match n.as_str() {
        "france" => "FR",
        "united states" => "US",
        "usa" => "US",
        "united states of america" => "US",
        "germany" => "DE",
        "deutschland" => "DE",
        "united kingdom" => "GB",
        "uk" => "GB",
        "great britain" => "GB",
        "england" => "GB",
        "spain" => "ES",
        "espagne" => "ES",
        "italy" => "IT",
        "italie" => "IT",
        "belgium" => "BE",
        "belgique" => "BE",
        "netherlands" => "NL",
        "switzerland" => "CH",
        "suisse" => "CH",
        "portugal" => "PT",
        "canada" => "CA",
        "ireland" => "IE",
        "luxembourg" => "LU",
        "allemagne" => "DE",
        "royaume-uni" => "GB",
        "etats-unis" => "US",
        "états-unis" => "US",
        "austria" => "AT",
        "sweden" => "SE",
        "denmark" => "DK",
        "norway" => "NO",
        "finland" => "FI",
        "poland" => "PL",
        "morocco" => "MA",
        "maroc" => "MA",
        "tunisia" => "TN",
        "australia" => "AU",
        "japan" => "JP",
        "china" => "CN",
        "india" => "IN",
        "brazil" => "BR",
        "mexico" => "MX",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_sorted_and_known() {
        assert!(super::CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(super::is_alpha2("FR"));
        assert!(!super::is_alpha2("fr"));
        assert!(!super::is_alpha2("XX"));
        assert_eq!(super::code_for_name("France"), Some("FR"));
    }
}
