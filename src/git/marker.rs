//! What an import leaves for `sloop check` when it writes files instead of commits: the
//! marker `<git dir>/sloop/import-pending` names the import (`hubspot`) and each file it
//! wrote with its blob id. The checks accept an import's entry points for exactly those
//! blobs (a file edited since has another id), and say that the commit must carry the
//! `Sloop-Import:` trailer for `check --range`.

use std::collections::HashMap;
use std::fs;

use super::{GitError, ObjectId, Repo};

const MARKER: &str = "import-pending";

/// The files of an import not committed yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportMarker {
    /// The import's name, as in the trailer.
    pub source: String,
    /// CRM-relative paths and the blob id of what the import wrote there.
    pub files: HashMap<String, ObjectId>,
}

/// The blob id of bytes, as `git hash-object` gives it without filters.
pub fn blob_id(bytes: &[u8]) -> ObjectId {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(ObjectId::from_oid)
        .unwrap_or(ObjectId::NULL)
}

impl Repo {
    /// Writes the marker for files an import wrote (CRM-relative paths and contents).
    pub fn mark_import(&self, source: &str, files: &[(String, Vec<u8>)]) -> Result<(), GitError> {
        let dir = self.git_dir().join("sloop");
        fs::create_dir_all(&dir)
            .map_err(|e| GitError::new(format!("cannot create {}", dir.display()), e))?;
        let mut text = format!("{source}\n");
        for (path, bytes) in files {
            text.push_str(&format!("{} {path}\n", blob_id(bytes)));
        }
        let path = dir.join(MARKER);
        fs::write(&path, text)
            .map_err(|e| GitError::new(format!("cannot write {}", path.display()), e))
    }

    /// The marker of an import not committed yet, if there is one.
    pub fn import_marker(&self) -> Option<ImportMarker> {
        let text = fs::read_to_string(self.git_dir().join("sloop").join(MARKER)).ok()?;
        let mut lines = text.lines();
        let source = lines.next()?.trim().to_string();
        let files = lines
            .filter_map(|l| {
                let (id, path) = l.split_once(' ')?;
                Some((path.to_string(), id.parse().ok()?))
            })
            .collect();
        Some(ImportMarker { source, files })
    }

    /// The whole message of a commit.
    pub fn commit_message(&self, id: ObjectId) -> Result<String, GitError> {
        let c = self.commit(id)?;
        Ok(String::from_utf8_lossy(c.message_bytes()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            super::blob_id(b"hello\n").to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
