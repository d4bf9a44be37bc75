//! 128-bit identifiers for users and sessions, written in the hyphenated UUID layout.
//!
//! Every id is written as 32 lower-case hex digits in the 8-4-4-4-12 layout: familiar to people
//! migrating from FastAPI/SQLAlchemy apps, safe in KV keys and URLs, and unguessable, so an id
//! in a URL or a token says nothing about how many users or sessions exist.
//!
//! - User ids ([`Id::generate`]) are RFC 9562 version-4 UUIDs (122 random bits): they leave
//!   Tollgate as the access token's `sub`, and services sharing the tokens may insist on a
//!   version-4 UUID there (pydantic's `UUID4`, for one).
//! - Session (refresh family) ids ([`Id::random`]) are 128 random bits with no version or
//!   variant bits forced: they only ever name a session, and the full width is what the
//!   refresh design asks of them.
//!
//! [`Id::parse`] accepts any 128-bit value in that layout, so ids stored before session ids
//! dropped their version bits (version-4 UUIDs) still parse.

use alloc::string::String;
use core::fmt;

use crate::random::Random;

/// A 128-bit identifier, written in the hyphenated UUID layout.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 16]);

impl Id {
    /// A new random version-4 UUID (122 random bits) from `rng`: for user ids.
    pub fn generate<R: Random + ?Sized>(rng: &mut R) -> Id {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        Id(bytes)
    }

    /// A new id of 128 random bits from `rng`, none of them fixed: for session (refresh
    /// family) ids.
    pub fn random<R: Random + ?Sized>(rng: &mut R) -> Id {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        Id(bytes)
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// An id from 16 bytes (as carried inside a refresh token).
    pub const fn from_bytes(bytes: [u8; 16]) -> Id {
        Id(bytes)
    }

    /// Parses the lower-case hyphenated form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) of any
    /// 128-bit value: version-4 UUIDs and [`Id::random`] ids alike.
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
        Id::parse(&s).ok_or_else(|| serde::de::Error::custom("not a lower-case hyphenated id"))
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
    fn random_ids_keep_all_128_bits_and_round_trip() {
        // Every bit comes from the source: all ones stays all ones, all zeros stays zeros
        // (a version-4 UUID would force 6 of them).
        struct Constant(u8);
        impl Random for Constant {
            fn fill(&mut self, dest: &mut [u8]) {
                dest.fill(self.0);
            }
        }
        assert_eq!(Id::random(&mut Constant(0xff)).as_bytes(), &[0xff; 16]);
        assert_eq!(Id::random(&mut Constant(0)).as_bytes(), &[0; 16]);
        assert_eq!(
            Id::random(&mut Constant(0xff)).to_hyphenated(),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
        // Over many ids, each of the 128 bit positions takes both values.
        let mut rng = SeededRandom::new(9);
        let (mut ones, mut zeros) = ([false; 128], [false; 128]);
        for _ in 0..200 {
            let id = Id::random(&mut rng);
            for bit in 0..128 {
                let set = id.as_bytes()[bit / 8] >> (7 - bit % 8) & 1 == 1;
                if set {
                    ones[bit] = true;
                } else {
                    zeros[bit] = true;
                }
            }
            let s = id.to_hyphenated();
            assert_eq!(s.len(), 36);
            assert_eq!(Id::parse(&s), Some(id));
        }
        assert!(ones.iter().chain(&zeros).all(|&seen| seen));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ids_stored_as_version_4_uuids_still_parse() {
        // Session ids written before they carried 128 random bits, and user ids.
        let mut rng = SeededRandom::new(11);
        for _ in 0..20 {
            let v4 = Id::generate(&mut rng);
            assert_eq!(Id::parse(&v4.to_hyphenated()), Some(v4));
        }
        let stored = "cf1dcc80-9cdf-49fe-86e5-9ddb1cfd82db"; // the README's example family id
        assert_eq!(Id::parse(stored).unwrap().to_hyphenated(), stored);
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
