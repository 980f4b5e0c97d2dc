//! `[serve]` in `sloop.toml`, its pages' part: where the readers of the pages are listed
//! (`readers_env` or `readers_file`), like a hook's secret never a value in git. The rest of
//! `[serve]` (rate limit, timeouts) is read by `hooks::read_serve`.

use toml::de::DeTable;

use crate::diag::Code;
use crate::model::reader::{Fields, FileReader};

use super::hooks::SecretOrigin;

fn span_of(t: &DeTable, key: &str) -> Option<std::ops::Range<usize>> {
    t.iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v.span())
}

/// `readers_env` or `readers_file` of `[serve]` (whose other keys `hooks::read_serve`
/// reads, through the same `f`).
pub(super) fn read_readers(
    r: &mut FileReader,
    t: &DeTable,
    f: &mut Fields,
) -> Option<SecretOrigin> {
    // Credentials written into sloop.toml would be in git for good: refuse them by name.
    let refused = ["readers", "token", "password", "secret"];
    for k in refused {
        if let Some(span) = span_of(t, k) {
            r.error_hint(
                Code::Config,
                span,
                "[serve]: readers' credentials are never written in sloop.toml (it is in git)",
                "name where they are read: `readers_env = \"VARIABLE\"` or `readers_file = \"/etc/sloop/readers\"`",
            );
        }
    }
    for k in [
        "serve.readers",
        "serve.token",
        "serve.password",
        "serve.secret",
    ] {
        // Read (and so not reported again as unknown): the error above says it all.
        let _ = f.str(r, k);
    }
    let env = f.text(r, "serve.readers_env");
    let file = f.text(r, "serve.readers_file");
    let readers = match (env, file) {
        (Some(_), Some(_)) => {
            r.error(
                Code::Config,
                span_of(t, "readers_file").unwrap_or(0..0),
                "[serve]: give `readers_env` or `readers_file`, not both",
            );
            None
        }
        (Some(v), None) => {
            let valid = v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !v.as_bytes()[0].is_ascii_digit();
            if valid {
                Some(SecretOrigin::Env(v))
            } else {
                r.error(
                    Code::Config,
                    span_of(t, "readers_env").unwrap_or(0..0),
                    "[serve]: `readers_env` names an environment variable: letters, digits and `_`",
                );
                None
            }
        }
        (None, Some(p)) => {
            if p.starts_with('/') {
                Some(SecretOrigin::File(p))
            } else {
                r.error_hint(
                    Code::Config,
                    span_of(t, "readers_file").unwrap_or(0..0),
                    "[serve]: `readers_file` must be an absolute path",
                    "the readers' credentials live outside the repository, e.g. `/etc/sloop/readers`",
                );
                None
            }
        }
        (None, None) => None,
    };
    readers
}

#[cfg(test)]
mod tests {
    fn problems(toml: &str) -> Vec<String> {
        let (_, diags) = crate::store::parse_config(toml.as_bytes());
        diags
            .iter()
            .map(|d| {
                format!(
                    "{}{}",
                    d.message,
                    d.hint
                        .as_ref()
                        .map(|h| format!(" (hint: {h})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn readers_come_from_the_environment_or_a_file_outside_git() {
        let (c, d) = crate::store::parse_config(b"[serve]\nreaders_env = \"SLOOP_READERS\"\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            c.serve.readers,
            Some(super::SecretOrigin::Env("SLOOP_READERS".into()))
        );
        let (c, d) =
            crate::store::parse_config(b"[serve]\nreaders_file = \"/etc/sloop/readers\"\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            c.serve.readers,
            Some(super::SecretOrigin::File("/etc/sloop/readers".into()))
        );
        let (c, _) = crate::store::parse_config(b"currency = \"EUR\"\n");
        assert_eq!(c.serve.readers, None);
    }

    #[test]
    fn credentials_in_the_file_and_bad_origins_are_refused() {
        assert_eq!(
            problems("[serve]\npassword = \"hunter2\"\n"),
            vec!["[serve]: readers' credentials are never written in sloop.toml (it is in git) (hint: name where they are read: `readers_env = \"VARIABLE\"` or `readers_file = \"/etc/sloop/readers\"`)"]
        );
        assert_eq!(
            problems("[serve]\nreaders_file = \"readers.txt\"\n"),
            vec!["[serve]: `readers_file` must be an absolute path (hint: the readers' credentials live outside the repository, e.g. `/etc/sloop/readers`)"]
        );
        assert_eq!(
            problems("[serve]\nreaders_env = \"9X\"\n"),
            vec!["[serve]: `readers_env` names an environment variable: letters, digits and `_`"]
        );
        assert_eq!(
            problems("[serve]\nreaders_env = \"A\"\nreaders_file = \"/a\"\n"),
            vec!["[serve]: give `readers_env` or `readers_file`, not both"]
        );
        let unknown = problems("[serve]\nreader_env = \"A\"\n");
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].contains("reader_env"), "{unknown:?}");
    }
}
