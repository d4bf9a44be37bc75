//! 128-bit random identifiers for users and sessions, written as UUIDs.
//!
//! Ids are RFC 9562 version-4 UUIDs (122 random bits) in their lower-case hyphenated form:
//! familiar to people migrating from FastAPI/SQLAlchemy apps, safe in KV keys and URLs, and
//! unguessable, so a user id in a URL or a token says nothing about how many users exist.

use alloc::string::String;
use core::fmt;

use crate::random::Random;

/// A random 128-bit identifier (a version-4 UUID).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 16]);

impl Id {
    /// A new random id (version-4 UUID) from `rng`.
    pub fn generate<R: Random + ?Sized>(rng: &mut R) -> Id {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        Id(bytes)
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// An id from 16 bytes (as carried inside a refresh token).
    pub fn from_bytes(bytes: [u8; 16]) -> Id {
        Id(bytes)
    }

    /// Parses the lower-case hyphenated form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    ///
    /// Upper case is refused so that every id has exactly one spelling (ids are storage keys).
    pub fn parse(s: &str) -> Option<Id> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            out[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
            nibbles += 1;
        }
        Some(Id(out))
    }

    /// The lower-case hyphenated form.
    pub fn to_hyphenated(&self) -> String {
        alloc::format!("{self}")
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

#[cfg(feature = "server")]
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "server")]
impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Id::parse(&s).ok_or_else(|| serde::de::Error::custom("not a lower-case hyphenated UUID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn generated_ids_are_version_4_uuids_that_round_trip() {
        let mut rng = SeededRandom::new(7);
        for _ in 0..100 {
            let id = Id::generate(&mut rng);
            let s = id.to_hyphenated();
            assert_eq!(s.len(), 36);
            assert_eq!(&s[14..15], "4", "{s}");
            assert!("89ab".contains(&s[19..20]), "{s}");
            assert_eq!(Id::parse(&s), Some(id));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn parses_the_rfc_9562_example_and_refuses_other_spellings() {
        // RFC 9562 Appendix A.4 (UUIDv4 example).
        let id = Id::parse("919108f7-52d1-4320-9bac-f847db4148a8").unwrap();
        assert_eq!(id.as_bytes()[0], 0x91);
        assert_eq!(id.to_hyphenated(), "919108f7-52d1-4320-9bac-f847db4148a8");
        for bad in [
            "919108F7-52D1-4320-9BAC-F847DB4148A8",
            "919108f752d143209bacf847db4148a8",
            "{919108f7-52d1-4320-9bac-f847db4148a8}",
            "919108f7-52d1-4320-9bac-f847db4148a",
            "919108f7-52d1-4320-9bac-f847db4148a8a",
            "919108f7_52d1-4320-9bac-f847db4148a8",
            "g19108f7-52d1-4320-9bac-f847db4148a8",
            "",
            "../../etc/passwd-----------------------",
        ] {
            assert_eq!(Id::parse(bad), None, "{bad:?}");
        }
    }
}
