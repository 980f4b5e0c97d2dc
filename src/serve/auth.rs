//! Is a delivery from the hook's sender? A bearer token, an HMAC-SHA256 signature of the
//! body, or Mailgun's signed `timestamp` and `token` fields, compared in constant time. Pure:
//! the headers (or fields), the body, the secret and the clock in, a verdict out.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::hooks::{Auth, MAILGUN_MAX_AGE};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a delivery is refused (the 401 answer's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing {0}")]
    Missing(String),
    #[error("wrong {0}")]
    Wrong(String),
    /// HMAC takes a key of any length (RFC 2104 §3), so this stays theoretical; it is an
    /// answer, not a panic, should the MAC crate ever refuse one.
    #[error("the hook's secret cannot key HMAC-SHA256 ({0})")]
    Key(String),
    /// A Mailgun `timestamp` too far from the server's clock: a captured delivery replayed.
    #[error("Mailgun's `timestamp` {timestamp} is {age} s from the server's clock (over {max} s: a replayed or delayed delivery)")]
    Stale { timestamp: i64, age: i64, max: i64 },
}

/// An HMAC-SHA256 keyed with `key`.
fn keyed(key: &[u8]) -> Result<HmacSha256, AuthError> {
    <HmacSha256 as KeyInit>::new_from_slice(key).map_err(|e| AuthError::Key(e.to_string()))
}

/// Checks a delivery. `header` finds a request header by name (case-insensitively).
pub fn verify<'h>(
    auth: &Auth,
    secret: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<(), AuthError> {
    match auth {
        Auth::Bearer => {
            let what = || "bearer token (Authorization: Bearer <token>)".to_string();
            let value = header("authorization").ok_or_else(|| AuthError::Missing(what()))?;
            let token = value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .ok_or_else(|| AuthError::Missing(what()))?;
            // Both sides through the same MAC, so the comparison takes as long whatever the
            // lengths and the first differing byte.
            let mut expected = keyed(b"sloop bearer token")?;
            expected.update(secret);
            let expected = expected.finalize().into_bytes();
            let mut given = keyed(b"sloop bearer token")?;
            given.update(token.as_bytes());
            given
                .verify_slice(&expected)
                .map_err(|_| AuthError::Wrong(what()))
        }
        Auth::Basic => {
            let what = || {
                "credentials (Authorization: Basic <base64 of user:secret>, from https://user:secret@… in the service's webhook address)".to_string()
            };
            let value = header("authorization").ok_or_else(|| AuthError::Missing(what()))?;
            let encoded = value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .map(|(_, t)| t.trim())
                .ok_or_else(|| AuthError::Missing(what()))?;
            let decoded = super::base64::decode(encoded).ok_or_else(|| AuthError::Wrong(what()))?;
            let password = match decoded.iter().position(|b| *b == b':') {
                Some(i) => &decoded[i + 1..],
                None => return Err(AuthError::Wrong(what())),
            };
            let mut expected = keyed(b"sloop basic password")?;
            expected.update(secret);
            let expected = expected.finalize().into_bytes();
            let mut given = keyed(b"sloop basic password")?;
            given.update(password);
            given
                .verify_slice(&expected)
                .map_err(|_| AuthError::Wrong(what()))
        }
        // Signed in the form's fields, not a header: see [`mailgun`].
        Auth::Mailgun => Err(AuthError::Missing(MAILGUN_FIELDS.to_string())),
        Auth::HmacSha256 { header: name } => {
            let what =
                || format!("signature ({name}: sha256=<hex of the HMAC-SHA256 of the body>)");
            let value = header(name).ok_or_else(|| AuthError::Missing(what()))?;
            let value = value.trim();
            let hex = value
                .strip_prefix("sha256=")
                .or_else(|| value.strip_prefix("SHA256="))
                .unwrap_or(value);
            let given = decode_hex(hex).ok_or_else(|| AuthError::Wrong(what()))?;
            let mut mac = keyed(secret)?;
            mac.update(body);
            mac.verify_slice(&given)
                .map_err(|_| AuthError::Wrong(what()))
        }
    }
}

const MAILGUN_FIELDS: &str =
    "Mailgun signature (the `timestamp`, `token` and `signature` fields of the form)";

/// Checks Mailgun's signature of a delivery (Mailgun's "Securing Webhooks"): `signature` is
/// the hex HMAC-SHA256 of `timestamp` followed by `token`, keyed with the webhook signing
/// key; a `timestamp` more than [`MAILGUN_MAX_AGE`] seconds from `now` (Unix seconds) is
/// refused, so a captured delivery cannot be replayed later. `field` finds a form field.
pub fn mailgun<'f>(
    key: &[u8],
    field: impl Fn(&str) -> Option<&'f str>,
    now: i64,
) -> Result<(), AuthError> {
    let missing = || AuthError::Missing(MAILGUN_FIELDS.to_string());
    let wrong = || AuthError::Wrong(MAILGUN_FIELDS.to_string());
    let timestamp = field("timestamp").map(str::trim).ok_or_else(missing)?;
    let token = field("token").map(str::trim).ok_or_else(missing)?;
    let signature = field("signature").map(str::trim).ok_or_else(missing)?;
    let given = decode_hex(signature).ok_or_else(wrong)?;
    let mut mac = keyed(key)?;
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&given).map_err(|_| wrong())?;
    // Judged once the signature holds, so the clock says nothing to a forger.
    let t: i64 = timestamp.parse().map_err(|_| wrong())?;
    let age = now.saturating_sub(t).saturating_abs();
    if age > MAILGUN_MAX_AGE {
        return Err(AuthError::Stale {
            timestamp: t,
            age,
            max: MAILGUN_MAX_AGE,
        });
    }
    Ok(())
}

/// Whether `given` is `expected`, in a time that depends on neither's content nor length:
/// both go through the same MAC and the MACs are compared in constant time.
pub fn same(expected: &[u8], given: &[u8]) -> Result<bool, AuthError> {
    let mut e = keyed(b"sloop constant-time comparison")?;
    e.update(expected);
    let e = e.finalize().into_bytes();
    let mut g = keyed(b"sloop constant-time comparison")?;
    g.update(given);
    Ok(g.verify_slice(&e).is_ok())
}

/// The HMAC-SHA256 of `body` under `secret`, in lower-case hex: what a sender puts in the
/// signature header (after `sha256=`).
pub fn sign(secret: &[u8], body: &[u8]) -> Result<String, AuthError> {
    let mut mac = keyed(secret)?;
    mac.update(body);
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn hmac_matches_githubs_documented_example() {
        // GitHub's "Validating webhook deliveries": secret "It's a Secret to Everybody",
        // payload "Hello, World!".
        let sig = sign(b"It's a Secret to Everybody", b"Hello, World!").unwrap();
        assert_eq!(
            sig,
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let auth = Auth::HmacSha256 {
            header: "X-Hub-Signature-256".into(),
        };
        let value = format!("sha256={sig}");
        let h = [("x-hub-signature-256", value.as_str())];
        assert_eq!(
            verify(
                &auth,
                b"It's a Secret to Everybody",
                headers(&h),
                b"Hello, World!"
            ),
            Ok(())
        );
        let bare = [("X-Hub-Signature-256", sig.as_str())];
        assert!(verify(
            &auth,
            b"It's a Secret to Everybody",
            headers(&bare),
            b"Hello, World!"
        )
        .is_ok());
        assert!(matches!(
            verify(
                &auth,
                b"It's a Secret to Everybody",
                headers(&h),
                b"Hello, World?"
            ),
            Err(AuthError::Wrong(_))
        ));
        assert!(matches!(
            verify(&auth, b"another secret", headers(&h), b"Hello, World!"),
            Err(AuthError::Wrong(_))
        ));
        let junk = [("X-Hub-Signature-256", "sha256=zz")];
        assert!(matches!(
            verify(&auth, b"s", headers(&junk), b""),
            Err(AuthError::Wrong(_))
        ));
        assert!(matches!(
            verify(&auth, b"s", headers(&[]), b""),
            Err(AuthError::Missing(_))
        ));
    }

    #[test]
    fn mailgun_signatures_are_checked_as_mailgun_documents_them() {
        // A delivery captured from Mailgun (multi_mail's spec/fixtures/mailgun/parsed/
        // valid.txt) and its signature, made again here with the key "mailgun-key".
        let (timestamp, token) = (
            "1366071615",
            "5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87",
        );
        let signature = sign(b"mailgun-key", format!("{timestamp}{token}").as_bytes()).unwrap();
        let fields = |sig: &'static str| {
            move |name: &str| match name {
                "timestamp" => Some(timestamp),
                "token" => Some(token),
                "signature" => Some(sig),
                _ => None,
            }
        };
        let sig: &'static str = Box::leak(signature.into_boxed_str());
        let t: i64 = timestamp.parse().unwrap();
        assert_eq!(mailgun(b"mailgun-key", fields(sig), t + 60), Ok(()));
        assert_eq!(mailgun(b"mailgun-key", fields(sig), t - 60), Ok(()));
        assert_eq!(
            mailgun(b"mailgun-key", fields(sig), t + MAILGUN_MAX_AGE),
            Ok(())
        );
        assert_eq!(
            mailgun(b"mailgun-key", fields(sig), t + MAILGUN_MAX_AGE + 1),
            Err(AuthError::Stale {
                timestamp: t,
                age: MAILGUN_MAX_AGE + 1,
                max: MAILGUN_MAX_AGE
            })
        );
        assert!(matches!(
            mailgun(b"another-key", fields(sig), t),
            Err(AuthError::Wrong(_))
        ));
        assert!(matches!(
            mailgun(b"mailgun-key", fields("bc2a"), t),
            Err(AuthError::Wrong(_))
        ));
        assert!(matches!(
            mailgun(b"mailgun-key", |_: &str| None, t),
            Err(AuthError::Missing(_))
        ));
        // The token is part of what is signed: another token, the same signature, refused.
        let other = |name: &str| match name {
            "timestamp" => Some(timestamp),
            "token" => Some("another-token"),
            "signature" => Some(sig),
            _ => None,
        };
        assert!(matches!(
            mailgun(b"mailgun-key", other, t),
            Err(AuthError::Wrong(_))
        ));
    }

    #[test]
    fn bearer_tokens_must_match_whole() {
        let ok = [("Authorization", "Bearer s3cret")];
        assert_eq!(
            verify(&Auth::Bearer, b"s3cret", headers(&ok), b"{}"),
            Ok(())
        );
        let lower = [("authorization", "bearer s3cret")];
        assert!(verify(&Auth::Bearer, b"s3cret", headers(&lower), b"{}").is_ok());
        for wrong in ["Bearer s3cre", "Bearer s3cret2", "Bearer "] {
            let h = [("Authorization", wrong)];
            assert!(
                verify(&Auth::Bearer, b"s3cret", headers(&h), b"").is_err(),
                "{wrong}"
            );
        }
        let basic = [("Authorization", "Basic czNjcmV0")];
        assert_eq!(
            verify(&Auth::Bearer, b"s3cret", headers(&basic), b""),
            Err(AuthError::Missing(
                "bearer token (Authorization: Bearer <token>)".into()
            ))
        );
    }
}
