//! Recovery codes: single-use lookup secrets for when the authenticator is lost.
//!
//! Ten codes of 25 base32 characters each (125 bits, shown in five groups of five), so that
//! an unsalted, unkeyed SHA-256 is enough to store them (ASVS 5.0 6.5.2 asks for an approved
//! password hash unless a secret has at least 112 bits of entropy). The hash takes the user id
//! too, so one stored hash never matches another account's code. Hashes are not keyed, so
//! rotating any server secret leaves them usable: they are what a user falls back on.

use alloc::string::String;
use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::id::Id;
use crate::random::Random;
use crate::unverified::encode_base64url;

/// How many codes a set has.
pub const CODES_PER_SET: usize = 10;
/// Base32 characters in a code (5 bits each: 125 bits).
pub const CODE_CHARS: usize = 25;
/// Domain separation of the stored hash.
const HASH_LABEL: &[u8] = b"tollgate/recovery-code/v1\0";

/// A new set of codes as shown to the user (lower case, `xxxxx-xxxxx-xxxxx-xxxxx-xxxxx`),
/// with the hashes to store for `user`, in the same order.
pub fn generate<R: Random + ?Sized>(user: &Id, rng: &mut R) -> (Vec<String>, Vec<String>) {
    let mut shown = Vec::with_capacity(CODES_PER_SET);
    let mut hashes = Vec::with_capacity(CODES_PER_SET);
    for _ in 0..CODES_PER_SET {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        let plain: String = super::totp::base32(&bytes)
            .chars()
            .take(CODE_CHARS)
            .collect();
        hashes.push(hash_normalized(user, &plain));
        let lower = plain.to_ascii_lowercase();
        let groups: Vec<&str> = (0..CODE_CHARS / 5)
            .map(|i| &lower[i * 5..i * 5 + 5])
            .collect();
        shown.push(groups.join("-"));
    }
    (shown, hashes)
}

/// The stored hash a code as typed would have, if it is a code at all: spaces and hyphens
/// are ignored and case does not matter.
pub fn hash(user: &Id, typed: &str) -> Option<String> {
    let plain: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = plain.len() == CODE_CHARS
        && plain
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    valid.then(|| hash_normalized(user, &plain))
}

fn hash_normalized(user: &Id, plain: &str) -> String {
    let digest = Sha256::new()
        .chain_update(HASH_LABEL)
        .chain_update(user.as_bytes())
        .chain_update(plain.as_bytes())
        .finalize();
    encode_base64url(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_set_is_ten_distinct_codes_whose_hashes_are_what_was_stored() {
        let user = Id::from_bytes([7; 16]);
        let (shown, hashes) = generate(&user, &mut SeededRandom::new(1));
        assert_eq!(shown.len(), CODES_PER_SET);
        for (code, stored) in shown.iter().zip(&hashes) {
            assert_eq!(code.len(), CODE_CHARS + 4, "{code}");
            assert_eq!(hash(&user, code).as_ref(), Some(stored));
            // As typed: upper case, without hyphens, with spaces.
            let retyped = code.replace('-', " ").to_uppercase();
            assert_eq!(hash(&user, &retyped).as_ref(), Some(stored));
        }
        let mut unique = shown.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), CODES_PER_SET);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_code_hashes_differently_for_another_user_and_malformed_input_is_no_code() {
        let (shown, hashes) = generate(&Id::from_bytes([7; 16]), &mut SeededRandom::new(2));
        assert_ne!(
            hash(&Id::from_bytes([8; 16]), &shown[0]),
            Some(hashes[0].clone())
        );
        for bad in ["", "abc", "11111-11111-11111-11111-11111", &shown[0][..20]] {
            assert_eq!(hash(&Id::from_bytes([7; 16]), bad), None, "{bad:?}");
        }
    }
}
