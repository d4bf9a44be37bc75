//! Verify-only key sets: Ed25519 public keys from a JWKS, and nothing that can sign.
//!
//! A Worker guarded by Tollgate needs to check access tokens, never to make them. With HS256 it
//! must hold the shared secret, which signs as well as it verifies, so every guarded Worker could
//! mint admin tokens. With EdDSA the auth Worker publishes its public keys
//! (`/.well-known/jwks.json`), and a guard built on a [`PublicKeySet`] holds only those: the type
//! has no signing key at all, so no code path can sign with it.
//!
//! A token reaches a key only by naming its `kid` (RFC 7515 §4.1.4), and the key decides the
//! algorithm (EdDSA; the header must agree), exactly as for [`super::KeySet`]'s previous keys.
//! A token without a `kid` names no key here: Tollgate always sets one.

use alloc::vec::Vec;

use super::jwks::{self, PublicJwk};
use super::jws::VerifyingKey;
use crate::error::{Error, TokenRejection};

/// Ed25519 public keys under their kids, for verifying only.
///
/// Build it from a JWKS with [`PublicKeySet::from_jwks`]: the var `JWT_PUBLIC_KEYS`, or the
/// document at `JWKS_URL` (see [`super::RemoteKeys`] for when to fetch that).
#[derive(Clone, Debug)]
pub struct PublicKeySet {
    keys: Vec<PublicJwk>,
}

impl PublicKeySet {
    /// Reads a JWKS of Ed25519 public keys; `source` names it in error messages (for example
    /// `JWT_PUBLIC_KEYS`).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] starting with `source` for a document that is not a strict JWKS
    /// of Ed25519 public keys, each with a unique, non-empty `kid` (the rules of
    /// [`super::KeySet::with_previous_public_keys`]: no private key `d`, no other key type, no
    /// repeated JSON member), or that lists no key at all (what an auth Worker signing with
    /// HS256 publishes: a guard cannot verify its tokens without the secret).
    pub fn from_jwks(source: &str, jwks_json: &str) -> Result<PublicKeySet, Error> {
        let keys = jwks::parse(source, jwks_json)?;
        if keys.is_empty() {
            return Err(Error::Misconfigured(alloc::format!(
                "{source} lists no key: the issuer must sign with EdDSA (JWT_PRIVATE_KEY) for \
                 its tokens to be verified with public keys"
            )));
        }
        Ok(PublicKeySet { keys })
    }

    /// The kids of the keys, in document order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The key a token's `kid` names; without a kid, none.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&VerifyingKey, TokenRejection> {
        let kid = kid.ok_or(TokenRejection::UnknownKey)?;
        self.keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| &k.key)
            .ok_or(TokenRejection::UnknownKey)
    }
}
