//! The key set: one signing key, the key that checks its tokens, and verify-only previous
//! keys kept through a rotation: Ed25519 public keys (a JWKS) and HS256 secrets.
//!
//! Every key has one algorithm and one kid, and a token reaches a previous key only by naming
//! its kid; the key then decides the algorithm (the header must agree), so a token cannot pick
//! how the key it names is used. HS256 kids are derived from the secret the same way for the
//! current and the previous secrets, so the kid in a token signed before a rotation names the
//! old secret after it.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use hmac::Mac;

use super::jwks::{self, PublicJwk};
use super::jws::{Algorithm, SigningKey, VerifyingKey};
use super::secret_strength;
use crate::error::{Error, TokenRejection};
use crate::mac::hmac_sha256;
use crate::unverified::encode_base64url;

/// The signing key plus verify-only previous keys (Ed25519 public keys, HS256 secrets).
///
/// Build it once per process (or Worker isolate) from configuration and share it: building
/// parses keys, verifying only reads. `Debug` never prints key material.
#[derive(Clone)]
pub struct KeySet {
    signing: SigningKey,
    current: Entry,
    previous: Vec<PublicJwk>,
    /// Verify-only previous HS256 secrets, each under its derived kid.
    previous_hs256: Vec<Entry>,
    /// The base64url header of every token this set signs, computed once.
    header_b64: String,
}

/// A verifying key under its kid: the signing key's verifying half, or a previous HS256
/// secret.
#[derive(Clone)]
struct Entry {
    kid: String,
    key: VerifyingKey,
}

/// Length of an HS256 kid before encoding, in bytes: 96 bits keep kids distinct across any
/// realistic number of secrets and make a 16-character kid.
const HS256_KID_BYTES: usize = 12;

/// Domain separation for the HS256 kid, so the value is useless for anything else.
const HS256_KID_LABEL: &[u8] = b"tollgate access-token kid v1";

impl KeySet {
    /// HS256 from `JWT_SECRET`, used as the HMAC key exactly as given (its UTF-8 bytes, like
    /// PyJWT and python-jose), so tokens interoperate with services sharing the secret.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the secret is shorter than 32 bytes or obviously
    /// human-chosen (a published example such as jwt.io's `your-256-bit-secret`, a repeated
    /// pattern, a common word, too few distinct characters, too little estimated entropy; the
    /// rules are in [`super::secret_strength`]). The message says what to do, never the value.
    pub fn hs256(secret: &str) -> Result<KeySet, Error> {
        secret_strength::check(secret)?;
        Ok(KeySet::hs256_unchecked(secret.as_bytes()))
    }

    /// HS256 from raw secret bytes with no strength check (for `token::dangerous`, behind the
    /// `test-support` feature).
    pub(crate) fn hs256_unchecked(secret: &[u8]) -> KeySet {
        KeySet::new(SigningKey::hs256(secret), hs256_kid(secret))
    }

    /// EdDSA (Ed25519) from a PKCS#8 PEM private key (`JWT_PRIVATE_KEY`); its public key is
    /// published in [`KeySet::jwks_json`] under its RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the text is not an Ed25519 PKCS#8 PEM private key.
    pub fn ed25519_pem(pkcs8_pem: &str) -> Result<KeySet, Error> {
        let signing = SigningKey::ed25519_pem(pkcs8_pem)?;
        let kid = signing
            .ed25519_public()
            .map(jwks::thumbprint)
            .ok_or_else(|| Error::Internal(String::from("Ed25519 key without a public key")))?;
        Ok(KeySet::new(signing, kid))
    }

    fn new(signing: SigningKey, kid: String) -> KeySet {
        let header = format!(
            r#"{{"alg":"{}","typ":"at+jwt","kid":"{kid}"}}"#,
            signing.algorithm().as_str()
        );
        KeySet {
            header_b64: encode_base64url(header.as_bytes()),
            current: Entry {
                kid,
                key: signing.verifying_key(),
            },
            signing,
            previous: Vec::new(),
            previous_hs256: Vec::new(),
        }
    }

    /// Adds verify-only public keys (`JWT_PREVIOUS_PUBLIC_KEYS`: a JWKS document of
    /// `OKP`/`Ed25519` keys, each with a `kid`) so tokens signed before a rotation stay valid
    /// until they expire. Can be called more than once; `{"keys":[]}` adds nothing.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] for anything but a strict JWKS of Ed25519 public keys: no
    /// duplicate JSON members, only `keys` at the top, per key only `kty` `OKP`, `crv`
    /// `Ed25519`, `x`, a non-empty `kid`, and optionally `alg` `EdDSA`, `use` `sig` and
    /// `key_ops` with `verify` (never `d`); or when a kid repeats, including the current key's.
    pub fn with_previous_public_keys(mut self, jwks_json: &str) -> Result<KeySet, Error> {
        for key in jwks::parse("JWT_PREVIOUS_PUBLIC_KEYS", jwks_json)? {
            if self.has_kid(&key.kid) {
                return Err(Error::Misconfigured(format!(
                    "JWT_PREVIOUS_PUBLIC_KEYS: kid {:?} is already configured \
                     (the current key or an earlier previous key)",
                    key.kid
                )));
            }
            self.previous.push(key);
        }
        Ok(self)
    }

    /// Adds one verify-only HS256 secret (an earlier `JWT_SECRET`, used exactly as given) so
    /// tokens signed with it before a rotation stay valid until they expire. Its kid is derived
    /// from it as [`KeySet::hs256`] derives the current one, which is the kid those tokens
    /// carry; it is never used to sign. Works beside an Ed25519 signing key too (moving from
    /// HS256 to EdDSA). Can be called more than once.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the secret fails the rules [`KeySet::hs256`] applies (the
    /// message never quotes it), or when its kid is already configured: it is the current
    /// secret, or was added before.
    pub fn with_previous_hs256_secret(self, secret: &str) -> Result<KeySet, Error> {
        self.add_previous_hs256("a previous HS256 secret", secret)
    }

    /// Adds the verify-only HS256 secrets of `JWT_PREVIOUS_SECRETS`: one secret per line
    /// (`\n`, or `\r\n`), each used exactly as written on its line, empty lines skipped.
    /// Lines, because a secret may contain commas, spaces or any printable character but no
    /// line break (a secret with one can still be added with
    /// [`KeySet::with_previous_hs256_secret`]). An empty value adds nothing.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming the line (never its text) of the first secret that
    /// [`KeySet::with_previous_hs256_secret`] refuses.
    pub fn with_previous_hs256_secrets(mut self, lines: &str) -> Result<KeySet, Error> {
        for (line, secret) in previous_secret_lines(lines) {
            let name = format!("JWT_PREVIOUS_SECRETS line {line}");
            self = self.add_previous_hs256(&name, secret)?;
        }
        Ok(self)
    }

    fn add_previous_hs256(mut self, name: &str, secret: &str) -> Result<KeySet, Error> {
        secret_strength::check_named(name, secret)?;
        let kid = hs256_kid(secret.as_bytes());
        if self.has_kid(&kid) {
            return Err(Error::Misconfigured(format!(
                "{name} is already configured (it is the current JWT_SECRET, \
                 or it was listed before)"
            )));
        }
        self.previous_hs256.push(Entry {
            kid,
            key: VerifyingKey::hs256(secret.as_bytes()),
        });
        Ok(self)
    }

    /// Whether `kid` names the current key or any previous key.
    fn has_kid(&self, kid: &str) -> bool {
        kid == self.current.kid
            || self.previous.iter().any(|k| k.kid == kid)
            || self.previous_hs256.iter().any(|k| k.kid == kid)
    }

    /// The kid put in the header of tokens this set signs: for HS256 a keyed hash of the
    /// secret that reveals nothing about it; for Ed25519 the key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    /// The algorithm of the signing key.
    pub fn algorithm(&self) -> Algorithm {
        self.signing.algorithm()
    }

    /// The public JWKS document: `{"keys":[...]}` with the current and previous Ed25519 public
    /// keys (`kty`, `crv`, `x`, `kid`, `alg`, `use`); `{"keys":[]}` when only HS256 is set.
    pub fn jwks_json(&self) -> String {
        let current = self
            .signing
            .ed25519_public()
            .map(|x| (self.current.kid.as_str(), x));
        let previous = self.previous.iter().map(|k| (k.kid.as_str(), &k.x));
        jwks::render(current.into_iter().chain(previous))
    }

    /// The key a token's `kid` selects: any configured key by exact kid; without a kid, the
    /// current key only (previous keys are only ever reached by name). The caller then holds
    /// the token to that key's one algorithm.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&VerifyingKey, TokenRejection> {
        let Some(kid) = kid else {
            return Ok(&self.current.key);
        };
        if kid == self.current.kid {
            return Ok(&self.current.key);
        }
        self.previous
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| &k.key)
            .or_else(|| {
                self.previous_hs256
                    .iter()
                    .find(|k| k.kid == kid)
                    .map(|k| &k.key)
            })
            .ok_or(TokenRejection::UnknownKey)
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub(crate) fn header_b64(&self) -> &str {
        &self.header_b64
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self
            .previous
            .iter()
            .map(|k| k.kid.as_str())
            .chain(self.previous_hs256.iter().map(|k| k.kid.as_str()))
            .collect();
        f.debug_struct("KeySet")
            .field("algorithm", &self.signing.algorithm())
            .field("kid", &self.current.kid)
            .field("previous_kids", &previous)
            .finish_non_exhaustive()
    }
}

/// The secrets of a `JWT_PREVIOUS_SECRETS` value with their 1-based line numbers: one secret
/// per line (`\n`, or `\r\n`), each exactly as written on its line, empty lines skipped. Both
/// the access-token keys and the refresh key read the value this way.
pub(crate) fn previous_secret_lines(lines: &str) -> impl Iterator<Item = (usize, &str)> {
    lines
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .filter(|(_, secret)| !secret.is_empty())
        .map(|(i, secret)| (i + 1, secret))
}

/// HMAC-SHA-256 keyed by the secret over a fixed label, truncated: a stable name for the
/// secret that, being a PRF output, tells nothing about it.
fn hs256_kid(secret: &[u8]) -> String {
    let mut mac = hmac_sha256(secret);
    mac.update(HS256_KID_LABEL);
    encode_base64url(&mac.finalize().into_bytes()[..HS256_KID_BYTES])
}
