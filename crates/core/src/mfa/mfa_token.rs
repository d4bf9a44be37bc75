//! The `mfa_token`: what a login that needs a second step hands the client instead of a
//! session.
//!
//! 48 bytes in base64url (64 characters): the user's id, so the second step finds the record
//! without an index, and 32 random bytes that only the client has. The user record keeps only
//! the SHA-256 of the whole token with its expiry and failure count ([`super::PendingLogin`]),
//! so a read of the record cannot be replayed as a token, and the token is bound to its user
//! and to the one login attempt that made it: it is good for one completion, within
//! [`super::MFA_TOKEN_TTL_S`], and for at most [`super::MAX_MFA_FAILURES`] wrong codes.

use alloc::string::String;

use sha2::{Digest, Sha256};

use crate::id::Id;
use crate::random::Random;
use crate::unverified::{decode_base64url, encode_base64url};

const RANDOM_BYTES: usize = 32;
const TOKEN_BYTES: usize = 16 + RANDOM_BYTES;
/// Domain separation of the stored hash.
const HASH_LABEL: &[u8] = b"tollgate/mfa-token/v1\0";

/// A parsed `mfa_token`. Its `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaToken {
    /// The user whose login it continues.
    pub user_id: Id,
    text: String,
}

impl core::fmt::Debug for MfaToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfaToken")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl MfaToken {
    /// A fresh token for `user_id`.
    pub fn generate<R: Random + ?Sized>(user_id: Id, rng: &mut R) -> MfaToken {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[..16].copy_from_slice(user_id.as_bytes());
        rng.fill(&mut bytes[16..]);
        MfaToken {
            user_id,
            text: encode_base64url(&bytes),
        }
    }

    /// The token `text` as presented, if it has the shape of one (nothing is looked up).
    pub fn parse(text: &str) -> Option<MfaToken> {
        let bytes = decode_base64url(text).ok()?;
        if bytes.len() != TOKEN_BYTES {
            return None;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        Some(MfaToken {
            user_id: Id::from_bytes(id),
            text: String::from(text),
        })
    }

    /// The token as the client gets it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the user record keeps: SHA-256 of the token, base64url.
    pub fn hash(&self) -> String {
        encode_base64url(
            &Sha256::new()
                .chain_update(HASH_LABEL)
                .chain_update(self.text.as_bytes())
                .finalize(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_token_names_its_user_and_reads_back_with_the_same_hash() {
        let user = Id::from_bytes([9; 16]);
        let token = MfaToken::generate(user, &mut SeededRandom::new(5));
        assert_eq!(token.as_str().len(), 64);
        let parsed = MfaToken::parse(token.as_str()).unwrap();
        assert_eq!(parsed.user_id, user);
        assert_eq!(parsed.hash(), token.hash());
        assert!(!format!("{token:?}").contains(token.as_str()));
        let other = MfaToken::generate(user, &mut SeededRandom::new(6));
        assert_ne!(other.hash(), token.hash());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn malformed_tokens_do_not_parse() {
        let token = MfaToken::generate(Id::from_bytes([9; 16]), &mut SeededRandom::new(5));
        for bad in ["", "abc", &token.as_str()[..63], "!".repeat(64).as_str()] {
            assert_eq!(MfaToken::parse(bad), None, "{bad:?}");
        }
        let longer = alloc::format!("{}AA", token.as_str());
        assert_eq!(MfaToken::parse(&longer), None);
    }
}
