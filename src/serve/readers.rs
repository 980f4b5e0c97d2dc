//! Who may read the pages (`/`, `/pipeline`, the records, the agendas): the readers listed
//! where `[serve] readers_env` or `readers_file` says, one a line, each a `user:password`
//! (HTTP basic auth) or a team token (`Authorization: Bearer <token>`). Pure but for
//! [`arm`], which reads them when the server starts.

use std::path::Path;

use super::auth;
use crate::config::hooks::SecretOrigin;

/// The readers' credentials, read at start.
#[derive(Clone)]
pub struct Readers {
    entries: Vec<Entry>,
}

#[derive(Clone)]
enum Entry {
    /// `user:password`, as the basic-auth header carries it once decoded.
    Basic(Vec<u8>),
    Token(Vec<u8>),
}

impl std::fmt::Debug for Readers {
    // Never the credentials themselves, should a reader list be logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (basic, tokens) = self.counts();
        write!(f, "Readers({basic} users, {tokens} tokens)")
    }
}

impl Readers {
    /// Reads the list: one entry a line; blank lines and lines starting with `#` are
    /// skipped, as is the whitespace around an entry. A line with a `:` is `user:password`
    /// (neither part empty), one without a team token.
    pub fn parse(text: &str) -> Result<Readers, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some((user, password)) if user.is_empty() || password.is_empty() => {
                    return Err(format!(
                        "line {}: `user:password` needs both a user and a password",
                        n + 1
                    ))
                }
                Some(_) => entries.push(Entry::Basic(line.as_bytes().to_vec())),
                None => entries.push(Entry::Token(line.as_bytes().to_vec())),
            }
        }
        if entries.is_empty() {
            return Err("it lists no reader (`user:password` or a team token, one a line)".into());
        }
        Ok(Readers { entries })
    }

    /// How many `user:password` entries and tokens.
    pub fn counts(&self) -> (usize, usize) {
        let basic = self
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Basic(_)))
            .count();
        (basic, self.entries.len() - basic)
    }

    /// Whether the `Authorization` header's value names a reader. Every entry of the kind
    /// is compared, in constant time, whichever matches.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let Some((scheme, value)) = authorization.and_then(|v| v.trim().split_once(' ')) else {
            return false;
        };
        let value = value.trim();
        let (given, basic) = if scheme.eq_ignore_ascii_case("basic") {
            match super::base64::decode(value) {
                Some(bytes) => (bytes, true),
                None => return false,
            }
        } else if scheme.eq_ignore_ascii_case("bearer") {
            (value.as_bytes().to_vec(), false)
        } else {
            return false;
        };
        let mut found = false;
        for e in &self.entries {
            let expected = match (e, basic) {
                (Entry::Basic(b), true) | (Entry::Token(b), false) => b,
                _ => continue,
            };
            found |= auth::same(expected, &given).unwrap_or(false);
        }
        found
    }
}

/// The readers `origin` names: the environment variable (through `var`) or the file, which
/// must lie outside `work_tree`. `Err` says what is wrong and what to do.
pub fn arm(
    origin: &SecretOrigin,
    var: &dyn Fn(&str) -> Option<String>,
    work_tree: &Path,
) -> Result<Readers, (String, String)> {
    let text = match origin {
        SecretOrigin::Env(name) => var(name).ok_or_else(|| {
            (
                format!("[serve] readers_env: the environment variable {name} is not set"),
                format!("set {name} to a `user:password` or a team token before `sloop serve`"),
            )
        })?,
        SecretOrigin::File(path) => {
            let work_tree = work_tree
                .canonicalize()
                .unwrap_or_else(|_| work_tree.to_path_buf());
            let real = Path::new(path).canonicalize().map_err(|e| {
                (
                    format!("[serve] readers_file: cannot read {path}: {e}"),
                    "create it, readable by the server's user only (chmod 600)".to_string(),
                )
            })?;
            if real.starts_with(&work_tree) {
                return Err((
                    format!("[serve] readers_file: {path} is inside the repository"),
                    "keep credentials out of git: move it, e.g. to /etc/sloop/readers".into(),
                ));
            }
            std::fs::read_to_string(&real).map_err(|e| {
                (
                    format!("[serve] readers_file: cannot read {path}: {e}"),
                    "it must be text, readable by the server's user".to_string(),
                )
            })?
        }
    };
    let what = match origin {
        SecretOrigin::Env(name) => format!("the environment variable {name}"),
        SecretOrigin::File(path) => path.clone(),
    };
    Readers::parse(&text).map_err(|why| {
        (
            format!("[serve]: the readers in {what}: {why}"),
            "one a line: `user:password`, or a team token (e.g. `openssl rand -hex 32`)".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_users_with_passwords_and_team_tokens() {
        let r = Readers::parse("# the team\nAladdin:open sesame\n\n  0123abcd  \n").unwrap();
        assert_eq!(r.counts(), (1, 1));
        assert!(r.admits(Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")));
        assert!(r.admits(Some("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")));
        assert!(r.admits(Some("Bearer 0123abcd")));
        // A token is not a password, nor the other way round.
        assert!(!r.admits(Some("Bearer Aladdin:open sesame")));
        assert!(!r.admits(Some("Basic MDEyM2FiY2Q="))); // "0123abcd"
        for wrong in [
            None,
            Some(""),
            Some("Bearer 0123abc"),
            Some("Bearer 0123abcde"),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZA=="), // "Aladdin:open sesamd"
            Some("Basic not-base64"),
            Some("Digest username=\"Aladdin\""),
            Some("Basic"),
        ] {
            assert!(!r.admits(wrong), "{wrong:?}");
        }
        assert_eq!(
            Readers::parse("# nobody\n\n").unwrap_err(),
            "it lists no reader (`user:password` or a team token, one a line)"
        );
        assert_eq!(
            Readers::parse("ok-token\n:pw\n").unwrap_err(),
            "line 2: `user:password` needs both a user and a password"
        );
        assert_eq!(format!("{r:?}"), "Readers(1 users, 1 tokens)");
    }
}
