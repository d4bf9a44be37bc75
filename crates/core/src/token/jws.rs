//! Compact JWS at the signature level: sign `header.payload`, and check a signature with one
//! key the caller already chose.
//!
//! **This is not access-token verification.** It checks shape, encoding, the header's own
//! rules and the signature, and nothing about `typ`, `kid`, issuer, audience or time: that is
//! [`super::verify`]. It is public so that test vectors (RFC 7515, RFC 8037, Wycheproof) can
//! exercise exactly the code `verify` runs.
//!
//! The cryptography goes through `jsonwebtoken`'s provider interface, with Tollgate's own
//! pure-Rust provider ([`super::provider`]: HS256 and EdDSA only), called directly rather
//! than through `jsonwebtoken::crypto::verify`, so the signature is base64url-decoded once, by
//! the strict decoder in [`crate::unverified`], and no process-wide provider choice can swap
//! the backend.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use jsonwebtoken::{DecodingKey, EncodingKey};

use super::header;
use super::provider::TOLLGATE_PROVIDER;
use crate::error::{Error, TokenRejection};
use crate::unverified::{CompactParts, decode_base64url, encode_base64url, split_compact};

/// The algorithms Tollgate signs and verifies with. Each key has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 over a shared secret (RFC 7518 §3.2).
    Hs256,
    /// Ed25519 signatures (RFC 8037 §3.1).
    EdDsa,
}

impl Algorithm {
    /// The `alg` header value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm a header names, compared exactly: `hs256`, `NONE` and `none` are not ours.
    pub(crate) fn from_header(alg: &str) -> Option<Algorithm> {
        match alg {
            "HS256" => Some(Algorithm::Hs256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }

    const fn backend(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// Signature length in bytes: the SHA-256 output (RFC 7518 §3.2) or an Ed25519 signature
    /// (RFC 8032 §5.1.6).
    const fn signature_len(self) -> usize {
        match self {
            Algorithm::Hs256 => 32,
            Algorithm::EdDsa => 64,
        }
    }
}

/// Ed25519 public key length in bytes (RFC 8032 §5.1.5).
pub const ED25519_PUBLIC_KEY_BYTES: usize = 32;

/// A key that signs with one algorithm: an HMAC secret or an Ed25519 private key.
///
/// Its `Debug` output never shows key material.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    key: EncodingKey,
    ed25519_public: Option<[u8; ED25519_PUBLIC_KEY_BYTES]>,
}

impl SigningKey {
    /// An HS256 key from raw secret bytes, unchecked (callers check strength first).
    pub(crate) fn hs256(secret: &[u8]) -> SigningKey {
        SigningKey {
            alg: Algorithm::Hs256,
            key: EncodingKey::from_secret(secret),
            ed25519_public: None,
        }
    }

    /// An EdDSA key from an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the text is not such a key; the message never quotes it.
    pub fn ed25519_pem(pkcs8_pem: &str) -> Result<SigningKey, Error> {
        let refuse = || {
            Error::Misconfigured(String::from(
                "JWT_PRIVATE_KEY is not an Ed25519 private key in PKCS#8 PEM \
                 (-----BEGIN PRIVATE KEY-----); generate one with \
                 `openssl genpkey -algorithm ed25519`",
            ))
        };
        // The seed yields the public half for the JWKS; a version-2 key's embedded public key
        // must be that same key. The provider keeps the 32-byte seed, so signing does not
        // parse PKCS#8 again.
        let pkcs8 = super::ed25519_pem::parse(pkcs8_pem).ok_or_else(refuse)?;
        let private = ed25519_dalek::SigningKey::from_bytes(&pkcs8.seed);
        if pkcs8
            .public
            .is_some_and(|p| p != private.verifying_key().to_bytes())
        {
            return Err(refuse());
        }
        Ok(SigningKey {
            alg: Algorithm::EdDsa,
            key: EncodingKey::from_ed_der(&private.to_bytes()),
            ed25519_public: Some(private.verifying_key().to_bytes()),
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key that checks this key's signatures.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self.ed25519_public {
            Some(public) => VerifyingKey::ed25519_unchecked(&public),
            None => VerifyingKey::hs256(self.key.as_bytes()),
        }
    }

    /// The Ed25519 public key, for an EdDSA key.
    pub(crate) fn ed25519_public(&self) -> Option<&[u8; ED25519_PUBLIC_KEY_BYTES]> {
        self.ed25519_public.as_ref()
    }

    /// Signs `message`, returning the raw signature bytes.
    ///
    /// # Errors
    /// [`Error::Internal`] if the backend refuses the key (it was validated when built).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let internal = |_| Error::Internal(String::from("the signing backend refused the key"));
        let signer =
            (TOLLGATE_PROVIDER.signer_factory)(&self.alg.backend(), &self.key).map_err(internal)?;
        signer
            .try_sign(message)
            .map_err(|_| Error::Internal(String::from("signing failed")))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// A key that checks signatures of one algorithm: an HMAC secret or an Ed25519 public key.
///
/// Its `Debug` output never shows key material.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    key: DecodingKey,
}

impl VerifyingKey {
    /// An HS256 key from raw secret bytes, unchecked (callers check strength first).
    pub(crate) fn hs256(secret: &[u8]) -> VerifyingKey {
        VerifyingKey {
            alg: Algorithm::Hs256,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// An EdDSA key from a raw Ed25519 public key (the 32 bytes a JWK's `x` holds).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the bytes are not 32 long, do not decode to a curve point,
    /// or decode to a point of small order (a "weak" key that verifies forged signatures).
    pub fn ed25519(public_key: &[u8]) -> Result<VerifyingKey, Error> {
        let refuse = || Error::Misconfigured(String::from("not a valid Ed25519 public key"));
        let bytes: &[u8; ED25519_PUBLIC_KEY_BYTES] = public_key.try_into().map_err(|_| refuse())?;
        let point = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| refuse())?;
        if point.is_weak() {
            return Err(refuse());
        }
        Ok(VerifyingKey::ed25519_unchecked(bytes))
    }

    fn ed25519_unchecked(public_key: &[u8; ED25519_PUBLIC_KEY_BYTES]) -> VerifyingKey {
        VerifyingKey {
            alg: Algorithm::EdDsa,
            // The provider reads the raw 32-byte public key (see `super::provider`).
            key: DecodingKey::from_ed_der(public_key),
        }
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Checks a raw signature over `message` (for HS256, in constant time).
    ///
    /// # Errors
    /// [`TokenRejection::Signature`] when it does not verify (including a wrong length).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TokenRejection> {
        self.verify_owned(message, &signature.to_vec())
    }

    // jsonwebtoken's verifiers take the signature as `&Vec<u8>`; the compact path already owns
    // one (from base64url decoding), so it calls this and copies nothing.
    #[allow(clippy::ptr_arg)]
    fn verify_owned(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), TokenRejection> {
        if signature.len() != self.alg.signature_len() {
            return Err(TokenRejection::Signature);
        }
        // Building the verifier per call (an HMAC key schedule or a point decompression) keeps
        // `VerifyingKey` `Send + Sync`: the backend's boxed verifiers are neither.
        let verifier = (TOLLGATE_PROVIDER.verifier_factory)(&self.alg.backend(), &self.key)
            .map_err(|_| TokenRejection::Signature)?;
        // The HMAC verifier compares tags with `subtle`'s constant-time equality.
        verifier
            .verify(message, signature)
            .map_err(|_| TokenRejection::Signature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// What a signature check established about a compact JWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The header's `alg`, equal to the key's algorithm.
    pub algorithm: Algorithm,
    /// The header's `typ`, unchecked at this level.
    pub typ: Option<String>,
    /// The header's `kid`, unchecked at this level.
    pub kid: Option<String>,
    /// The payload bytes the signature covers (not parsed).
    pub payload: Vec<u8>,
}

/// Signs `header_json` and `payload` into a compact JWS with `key`.
///
/// The header is used as given: the caller makes its `alg` match the key. Tokens meant for
/// [`super::verify`] come from [`super::issue`]; this is for tests and other JWS uses.
///
/// # Errors
/// [`Error::Internal`] if signing fails.
pub fn sign_compact(key: &SigningKey, header_json: &[u8], payload: &[u8]) -> Result<String, Error> {
    sign_encoded(
        key,
        &encode_base64url(header_json),
        &encode_base64url(payload),
    )
}

/// Signs `header_b64.payload_b64` (already base64url) and appends the signature.
pub(crate) fn sign_encoded(
    key: &SigningKey,
    header_b64: &str,
    payload_b64: &str,
) -> Result<String, Error> {
    let sig_b64_len = key.alg.signature_len().div_ceil(3) * 4;
    let mut token = String::with_capacity(header_b64.len() + payload_b64.len() + 2 + sig_b64_len);
    token.push_str(header_b64);
    token.push('.');
    token.push_str(payload_b64);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&encode_base64url(&signature));
    Ok(token)
}

/// Checks the signature of a compact JWS with `key`. **Not full verification** (see the
/// module documentation).
///
/// In order: size and shape (before any decoding), the header (strict JSON, `alg` exactly the
/// key's, no `crit`, no embedded key or key URL), then the signature.
///
/// # Errors
/// The [`TokenRejection`] of the first check that fails.
pub fn verify_signature(key: &VerifyingKey, compact: &str) -> Result<Verified, TokenRejection> {
    let parts = split_compact(compact)?;
    let header_json = decode_base64url(parts.header)?;
    let header = header::parse(&header_json)?;
    check_signature(key, header.alg, &parts)?;
    Ok(Verified {
        algorithm: header.alg,
        typ: header.typ.map(|t| t.into_owned()),
        kid: header.kid.map(|k| k.into_owned()),
        payload: decode_base64url(parts.payload)?,
    })
}

/// Checks that the header's algorithm is the key's, then the signature over the signing input.
pub(crate) fn check_signature(
    key: &VerifyingKey,
    header_alg: Algorithm,
    parts: &CompactParts<'_>,
) -> Result<(), TokenRejection> {
    // The key decides the algorithm; the header only has to agree (RFC 8725 §3.1).
    if header_alg != key.alg {
        return Err(TokenRejection::Algorithm);
    }
    let signature = decode_base64url(parts.signature)?;
    key.verify_owned(parts.signing_input.as_bytes(), &signature)
}
