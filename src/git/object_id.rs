//! One id for every git object (commits, trees, blobs): 20 bytes, shown and parsed as 40 hex
//! digits.

/// A git object id (SHA-1), without git2's types. Displays and parses as 40 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(pub [u8; 20]);

impl ObjectId {
    /// All zeros: git's "no object" (and, on the new side of a work tree change, "the file on
    /// disk, not hashed": git's own convention in `diff --raw`).
    pub const NULL: ObjectId = ObjectId([0; 20]);

    pub fn is_null(&self) -> bool {
        *self == ObjectId::NULL
    }

    /// The first 12 hex digits, for messages.
    pub fn short(&self) -> String {
        let mut hex = self.to_string();
        hex.truncate(12);
        hex
    }

    pub(super) fn from_oid(oid: git2::Oid) -> Self {
        let mut bytes = [0; 20];
        bytes.copy_from_slice(&oid.as_bytes()[..20]);
        ObjectId(bytes)
    }

    pub(super) fn to_oid(self) -> git2::Oid {
        // 20 bytes always make a SHA-1 id; zero is what git2 calls "no object".
        git2::Oid::from_bytes(&self.0).unwrap_or(git2::Oid::ZERO_SHA1)
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Written whole: a `write!` per byte was most of a warm report's cost of naming its
        // 30,000 commits.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 40];
        for (pair, b) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        // Only ASCII digits and letters were written.
        f.write_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

impl std::fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

/// Not 40 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a 40-digit hex object id")]
pub struct BadObjectId(pub String);

impl std::str::FromStr for ObjectId {
    type Err = BadObjectId;
    fn from_str(s: &str) -> Result<Self, BadObjectId> {
        let bad = || BadObjectId(s.to_string());
        if s.len() != 40 {
            return Err(bad());
        }
        let mut bytes = [0; 20];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| bad())?;
            bytes[i] = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        }
        Ok(ObjectId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::ObjectId;

    #[test]
    fn object_ids_round_trip_as_hex() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        let id: ObjectId = hex.parse().unwrap();
        assert_eq!(id.to_string(), hex);
        assert!("0123".parse::<ObjectId>().is_err());
        assert!("zz23456789abcdef0123456789abcdef01234567"
            .parse::<ObjectId>()
            .is_err());
    }
}
