//! Verifying a provider's ID token (OpenID Connect Core §3.1.3.7), with every decision here
//! and only the raw RSA/ECDSA arithmetic delegated.
//!
//! In order: the compact form and its size ([`split_compact`]); the header, strictly: `alg`
//! exactly one of [`IdTokenAlgorithm`] (RS256, ES256, EdDSA: never `none`, never HS256, whose
//! "key" would be the client secret the provider shares with every copy of this app), no
//! `crit`, no embedded key or key URL; the key, chosen from the provider's JWKS by `kid` and
//! by the algorithm's key type (and the key's own `alg`, `use`); the signature (EdDSA here,
//! with `ed25519-dalek`; RS256 and ES256 through a [`SignatureBackend`], the Worker's
//! WebCrypto); then the claims: `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`, `sub`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::error::TokenRejection;
use crate::time::UnixSeconds;
use crate::token::jws::VerifyingKey;
use crate::token::strict_json;
use crate::token::{DEFAULT_LEEWAY_S, MAX_NUMERIC_DATE};
use crate::unverified::{decode_base64url, split_compact};

/// The algorithms an ID token may be signed with (RFC 7518 §3.1, RFC 8037 §3.1). Asymmetric
/// only: the provider's public keys verify them, and nothing Tollgate holds can sign them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
    /// Ed25519 (RFC 8037 §3.1).
    EdDsa,
}

impl IdTokenAlgorithm {
    /// The algorithm a header names, exactly; every other value (`none`, `HS256`, `RS512`, a
    /// different casing) is `None`.
    pub fn from_header(alg: &str) -> Option<IdTokenAlgorithm> {
        match alg {
            "RS256" => Some(IdTokenAlgorithm::Rs256),
            "ES256" => Some(IdTokenAlgorithm::Es256),
            "EdDSA" => Some(IdTokenAlgorithm::EdDsa),
            _ => None,
        }
    }

    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            IdTokenAlgorithm::Rs256 => "RS256",
            IdTokenAlgorithm::Es256 => "ES256",
            IdTokenAlgorithm::EdDsa => "EdDSA",
        }
    }
}

/// Smallest RSA modulus accepted, in bytes: 2048 bits (RFC 7518 §3.3).
pub const MIN_RSA_MODULUS_BYTES: usize = 256;
/// Largest RSA modulus accepted, in bytes: 4096 bits, so a hostile JWKS cannot make each check
/// arbitrarily slow.
pub const MAX_RSA_MODULUS_BYTES: usize = 512;

/// A provider's public key, as its JWKS publishes it.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An RSA public key (RFC 7518 §6.3.1): modulus and exponent, big-endian, without leading
    /// zeros.
    Rsa {
        /// `n`.
        n: Vec<u8>,
        /// `e`.
        e: Vec<u8>,
    },
    /// A P-256 public key (RFC 7518 §6.2.1): the point's coordinates.
    P256 {
        /// `x`.
        x: [u8; 32],
        /// `y`.
        y: [u8; 32],
    },
    /// An Ed25519 public key (RFC 8037 §2).
    Ed25519([u8; 32]),
}

impl core::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            KeyMaterial::Rsa { .. } => "Rsa",
            KeyMaterial::P256 { .. } => "P256",
            KeyMaterial::Ed25519(_) => "Ed25519",
        })
    }
}

impl KeyMaterial {
    /// Whether this key can check `alg` signatures.
    fn fits(&self, alg: IdTokenAlgorithm) -> bool {
        matches!(
            (self, alg),
            (KeyMaterial::Rsa { .. }, IdTokenAlgorithm::Rs256)
                | (KeyMaterial::P256 { .. }, IdTokenAlgorithm::Es256)
                | (KeyMaterial::Ed25519(_), IdTokenAlgorithm::EdDsa)
        )
    }

    /// The signature length `alg` has with this key, in bytes: the modulus length (RFC 8017
    /// §8.2.2), `R || S` of 32 bytes each (RFC 7518 §3.4), or 64 (RFC 8032 §5.1.6).
    fn signature_len(&self) -> usize {
        match self {
            KeyMaterial::Rsa { n, .. } => n.len(),
            KeyMaterial::P256 { .. } | KeyMaterial::Ed25519(_) => 64,
        }
    }
}

/// One key of a provider's JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// Its `alg`, if it names one Tollgate accepts (a key naming another is not kept).
    pub alg: Option<IdTokenAlgorithm>,
    /// The public key.
    pub material: KeyMaterial,
}

/// The signing keys of a provider's JWKS that Tollgate can use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderKeys {
    keys: Vec<ProviderKey>,
}

impl ProviderKeys {
    /// Reads a provider's JWKS (RFC 7517 §5). Providers publish keys of many kinds; those
    /// Tollgate cannot use (other key types or curves, encryption keys, another `alg`, RSA
    /// moduli outside 2048-4096 bits) are left out rather than refusing the document, and
    /// private members are never read.
    ///
    /// # Errors
    /// [`TokenRejection::Json`] or [`TokenRejection::DuplicateKey`] for a document that is not
    /// a strict JSON object with a `keys` array.
    pub fn from_jwks(json: &str) -> Result<ProviderKeys, TokenRejection> {
        let Value::Object(doc) = strict_json::parse_value(json.as_bytes())? else {
            return Err(TokenRejection::Json);
        };
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err(TokenRejection::Json);
        };
        let keys = entries
            .iter()
            .filter_map(|entry| match entry {
                Value::Object(jwk) => read_key(jwk),
                _ => None,
            })
            .collect();
        Ok(ProviderKeys { keys })
    }

    /// The keys, in document order.
    pub fn keys(&self) -> &[ProviderKey] {
        &self.keys
    }

    /// The one key a token's header selects: by `kid` when it has one (RFC 7515 §4.1.4),
    /// otherwise the only key that fits `alg`; in both cases the key must fit `alg` and not
    /// name another one.
    fn select(
        &self,
        kid: Option<&str>,
        alg: IdTokenAlgorithm,
    ) -> Result<&KeyMaterial, TokenRejection> {
        let fitting = |k: &&ProviderKey| k.material.fits(alg) && k.alg.is_none_or(|a| a == alg);
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)));
        let first = candidates.next().ok_or(TokenRejection::UnknownKey)?;
        if candidates.next().is_some() {
            // Two keys under one kid, or no kid and several keys: which one is meant cannot
            // be told, and trying each would let a token pick.
            return Err(TokenRejection::UnknownKey);
        }
        if !fitting(&first) {
            return Err(TokenRejection::Algorithm);
        }
        Ok(&first.material)
    }
}

fn read_key(jwk: &Map<String, Value>) -> Option<ProviderKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(Value::Array(ops)) = jwk.get("key_ops")
        && !ops.iter().any(|op| op == "verify")
    {
        return None;
    }
    let bytes = |name: &str| text(name).and_then(|v| decode_base64url(v).ok());
    let alg = match text("alg") {
        None => None,
        Some(alg) => Some(IdTokenAlgorithm::from_header(alg)?),
    };
    let material = match (text("kty")?, text("crv")) {
        ("RSA", _) => {
            let n = strip_leading_zeros(bytes("n")?);
            let e = strip_leading_zeros(bytes("e")?);
            let sized = (MIN_RSA_MODULUS_BYTES..=MAX_RSA_MODULUS_BYTES).contains(&n.len());
            // An exponent of 3 up to 2^32 - 1, odd (RFC 8017 §3.1); 65537 in practice.
            let exponent_ok = !e.is_empty()
                && e.len() <= 4
                && e.last().is_some_and(|b| b & 1 == 1)
                && (e.len() > 1 || e[0] >= 3);
            if !sized || !exponent_ok {
                return None;
            }
            KeyMaterial::Rsa { n, e }
        }
        ("EC", Some("P-256")) => KeyMaterial::P256 {
            x: bytes("x")?.try_into().ok()?,
            y: bytes("y")?.try_into().ok()?,
        },
        ("OKP", Some("Ed25519")) => {
            let x: [u8; 32] = bytes("x")?.try_into().ok()?;
            // Small-order ("weak") points verify forged signatures: such a key is not used.
            VerifyingKey::ed25519(&x).ok()?;
            KeyMaterial::Ed25519(x)
        }
        _ => return None,
    };
    if alg.is_some_and(|a| !material.fits(a)) {
        return None;
    }
    Some(ProviderKey {
        kid: text("kid").map(ToString::to_string),
        alg,
        material,
    })
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// Checks RS256 and ES256 signatures: the host's cryptography (the Worker's WebCrypto), so
/// that no RSA or P-256 code ships in its wasm. It is handed a key the core already chose for
/// the algorithm, and a signature of the right length; it only does the arithmetic.
#[allow(async_fn_in_trait)]
pub trait SignatureBackend {
    /// Whether `signature` over `message` verifies with `key` under `alg` (RS256: RSASSA
    /// PKCS#1 v1.5 with SHA-256; ES256: ECDSA P-256 SHA-256, `signature` as `R || S`). A key
    /// the backend cannot import is `false`.
    async fn verify(
        &self,
        alg: IdTokenAlgorithm,
        key: &KeyMaterial,
        message: &[u8],
        signature: &[u8],
    ) -> bool;
}

/// A backend with no RSA or ECDSA at all: only EdDSA tokens can pass with it.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdDsaOnly;

impl SignatureBackend for EdDsaOnly {
    async fn verify(&self, _: IdTokenAlgorithm, _: &KeyMaterial, _: &[u8], _: &[u8]) -> bool {
        false
    }
}

/// What a signature check established: the algorithm, and the payload it covers (unparsed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPayload {
    /// The header's algorithm.
    pub algorithm: IdTokenAlgorithm,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Checks the shape, header and signature of a compact JWS from a provider, with the key its
/// header selects from `keys`. **Not ID-token verification**: no claim is looked at (that is
/// [`verify_id_token`]); public so that the RFC 7515 and RFC 8037 vectors drive exactly this
/// code.
///
/// # Errors
/// [`TokenRejection::Oversized`], `Shape`, `Base64`; `Json`/`DuplicateKey` for the header;
/// `Algorithm` for an `alg` outside the allowlist or that the selected key does not fit;
/// `Critical`; `EmbeddedKey`; `Type` for a `typ` other than `JWT`; `UnknownKey`; `Signature`.
pub async fn check_signature<B: SignatureBackend + ?Sized>(
    backend: &B,
    keys: &ProviderKeys,
    compact: &str,
) -> Result<SignedPayload, TokenRejection> {
    let parts = split_compact(compact)?;
    let Value::Object(header) = strict_json::parse_value(&decode_base64url(parts.header)?)? else {
        return Err(TokenRejection::Json);
    };
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(IdTokenAlgorithm::from_header)
        .ok_or(TokenRejection::Algorithm)?;
    if header.contains_key("crit") {
        return Err(TokenRejection::Critical);
    }
    if ["jwk", "jku", "x5u", "x5c"]
        .iter()
        .any(|m| header.contains_key(*m))
    {
        return Err(TokenRejection::EmbeddedKey);
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(TokenRejection::Type),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(TokenRejection::UnknownKey),
    };
    let key = keys.select(kid, alg)?;
    let signature = decode_base64url(parts.signature)?;
    if signature.len() != key.signature_len() {
        return Err(TokenRejection::Signature);
    }
    let message = parts.signing_input.as_bytes();
    let verified = match key {
        KeyMaterial::Ed25519(x) => VerifyingKey::ed25519(x)
            .map_err(|_| TokenRejection::Signature)?
            .verify(message, &signature)
            .is_ok(),
        other => backend.verify(alg, other, message, &signature).await,
    };
    if !verified {
        return Err(TokenRejection::Signature);
    }
    Ok(SignedPayload {
        algorithm: alg,
        payload: decode_base64url(parts.payload)?,
    })
}

/// The oldest an ID token may be when it arrives, in seconds after its `iat`: it comes
/// straight from the token endpoint, so an old one is a replay (OpenID Connect Core
/// §3.1.3.7 item 10 leaves the bound to the client).
pub const MAX_ID_TOKEN_AGE_S: u64 = 600;

/// Longest `sub` accepted, in bytes (OpenID Connect Core §2: at most 255 ASCII characters).
pub const MAX_SUBJECT_BYTES: usize = 255;

/// What an ID token must say to be accepted.
#[derive(Clone, Copy, Debug)]
pub struct IdTokenExpectations<'a> {
    /// The provider's issuer, exactly.
    pub issuer: &'a str,
    /// This app's client id: in `aud`, and `azp` when there are other audiences.
    pub client_id: &'a str,
    /// The nonce the authorization request carried.
    pub nonce: &'a str,
    /// The time now.
    pub now: UnixSeconds,
}

/// The claims of a verified ID token that Tollgate uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The provider's stable id for the user.
    pub sub: String,
    /// The email it asserts, if any.
    pub email: Option<String>,
    /// Whether it asserts that the email is verified (`false` when absent).
    pub email_verified: bool,
}

/// Verifies an ID token: [`check_signature`], then [`check_claims`].
///
/// # Errors
/// The first [`TokenRejection`] of either.
pub async fn verify_id_token<B: SignatureBackend + ?Sized>(
    backend: &B,
    keys: &ProviderKeys,
    token: &str,
    expect: &IdTokenExpectations<'_>,
) -> Result<IdTokenClaims, TokenRejection> {
    let signed = check_signature(backend, keys, token).await?;
    check_claims(&signed.payload, expect)
}

/// Checks the claims of an ID token whose signature verified (OpenID Connect Core §3.1.3.7).
///
/// # Errors
/// `Json`/`DuplicateKey`; `MissingClaim` without `iss`, `sub`, `aud`, `exp`, `iat` or `nonce`;
/// `ClaimType` for a wrong type (dates must be integers up to [`MAX_NUMERIC_DATE`],
/// `email_verified` a boolean) or a `sub` that is empty or longer than
/// [`MAX_SUBJECT_BYTES`]; `Issuer`; `Audience` when `aud` does not hold the client id, or
/// holds others and `azp` is not the client id; `Expired` when `now >= exp + leeway`;
/// `NotYetValid` for an `iat` after `now + leeway`, `Expired` for one more than
/// [`MAX_ID_TOKEN_AGE_S`] before `now`; `Nonce` when the nonce differs.
pub fn check_claims(
    payload: &[u8],
    expect: &IdTokenExpectations<'_>,
) -> Result<IdTokenClaims, TokenRejection> {
    let Value::Object(claims) = strict_json::parse_value(payload)? else {
        return Err(TokenRejection::Json);
    };
    let text = |name: &str| match claims.get(name) {
        None => Err(TokenRejection::MissingClaim),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(TokenRejection::ClaimType),
    };
    let date = |name: &str| match claims.get(name) {
        None => Err(TokenRejection::MissingClaim),
        Some(v) => v
            .as_u64()
            .filter(|d| *d <= MAX_NUMERIC_DATE)
            .ok_or(TokenRejection::ClaimType),
    };
    let iss = text("iss")?;
    let sub = text("sub")?;
    let exp = date("exp")?;
    let iat = date("iat")?;
    let nonce = text("nonce")?;
    if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES {
        return Err(TokenRejection::ClaimType);
    }
    if iss != expect.issuer {
        return Err(TokenRejection::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        None => return Err(TokenRejection::MissingClaim),
        Some(Value::String(aud)) => alloc::vec![aud.as_str()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| a.as_str().ok_or(TokenRejection::ClaimType))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(TokenRejection::ClaimType),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(TokenRejection::Audience);
    }
    // §3.1.3.7 items 4-5: with several audiences, the token must say it was issued to us.
    let azp = match claims.get("azp") {
        None => None,
        Some(Value::String(azp)) => Some(azp.as_str()),
        Some(_) => return Err(TokenRejection::ClaimType),
    };
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(expect.client_id) {
        return Err(TokenRejection::Audience);
    }
    if expect.now >= exp.saturating_add(DEFAULT_LEEWAY_S) {
        return Err(TokenRejection::Expired);
    }
    if iat > expect.now.saturating_add(DEFAULT_LEEWAY_S) {
        return Err(TokenRejection::NotYetValid);
    }
    if expect.now > iat.saturating_add(MAX_ID_TOKEN_AGE_S + DEFAULT_LEEWAY_S) {
        return Err(TokenRejection::Expired);
    }
    if nonce.len() != expect.nonce.len()
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            nonce.as_bytes(),
            expect.nonce.as_bytes(),
        ))
    {
        return Err(TokenRejection::Nonce);
    }
    let (email, email_verified) = email_claims(&claims)?;
    Ok(IdTokenClaims {
        sub: sub.to_string(),
        email,
        email_verified,
    })
}

/// `email` (a string) and `email_verified` (a boolean, `false` when absent) of a claims
/// object.
pub(crate) fn email_claims(
    claims: &Map<String, Value>,
) -> Result<(Option<String>, bool), TokenRejection> {
    let email = match claims.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(e.clone()),
        Some(_) => return Err(TokenRejection::ClaimType),
    };
    let verified = match claims.get("email_verified") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(TokenRejection::ClaimType),
    };
    Ok((email, verified))
}
