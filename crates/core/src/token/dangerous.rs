//! Keys built **without** the checks [`super::KeySet`] applies. For test vectors (RFC 7515,
//! Wycheproof) and interoperability experiments; never to serve tokens.
//!
//! Named after `jsonwebtoken::dangerous`: the word is the warning.

use super::jws::{SigningKey, VerifyingKey};

/// An HS256 signing key from raw secret bytes, with no length or strength check.
pub fn hs256_signing_key(secret: &[u8]) -> SigningKey {
    SigningKey::hs256(secret)
}

/// An HS256 verifying key from raw secret bytes, with no length or strength check.
pub fn hs256_verifying_key(secret: &[u8]) -> VerifyingKey {
    VerifyingKey::hs256(secret)
}
