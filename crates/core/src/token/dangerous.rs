//! Keys built **without** the checks [`super::KeySet`] applies. For test vectors (RFC 7515,
//! Wycheproof) and interoperability experiments; never to serve tokens.
//!
//! Named after `jsonwebtoken::dangerous`: the word is the warning.

use super::jws::{SigningKey, VerifyingKey};
use super::keys::KeySet;

/// An HS256 signing key from raw secret bytes, with no length or strength check.
pub fn hs256_signing_key(secret: &[u8]) -> SigningKey {
    SigningKey::hs256(secret)
}

/// An HS256 verifying key from raw secret bytes, with no length or strength check.
pub fn hs256_verifying_key(secret: &[u8]) -> VerifyingKey {
    VerifyingKey::hs256(secret)
}

/// An HS256 [`KeySet`] from raw secret bytes (which need not be UTF-8), with no length or
/// strength check: for running published vectors such as RFC 7515 Appendix A.1 through
/// [`super::verify`].
pub fn hs256_key_set(secret: &[u8]) -> KeySet {
    KeySet::hs256_unchecked(secret)
}
