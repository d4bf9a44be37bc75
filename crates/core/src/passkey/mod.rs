//! Passkeys (WebAuthn Level 3): the ceremonies' checks, with no I/O.
//!
//! What a relying party must verify (WebAuthn Level 3 §7.1 registration, §7.2 authentication)
//! is decided here: the client data's `type`, `challenge` and `origin`; the authenticator
//! data's RP ID hash, user-present and user-verified flags and sign counter; the credential's
//! public key (ES256 or EdDSA only, [`cose`]); and the assertion's signature over
//! `authenticatorData || SHA-256(clientDataJSON)`. Challenges are signed and single-use
//! ([`challenge`]).
//!
//! Signatures: Ed25519 is verified here (ed25519-dalek, which the core links for tokens).
//! ES256 is delegated to the host through [`Es256Verifier`], so that the Worker can use the
//! runtime's WebCrypto instead of linking a P-256 implementation; the core still decides
//! everything else, including converting WebAuthn's DER signature to the raw `r || s`
//! WebCrypto takes ([`cose::der_to_raw`]).
//!
//! Options and responses travel in the Level 3 JSON forms (`PublicKeyCredentialCreationOptionsJSON`,
//! `RegistrationResponseJSON`, `AuthenticationResponseJSON`), with base64url fields.

pub mod cbor;
pub mod challenge;
pub mod cose;
mod data;
pub mod options;
#[cfg(test)]
mod tests;

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use challenge::{Ceremony, ChallengeKey};
pub use cose::PublicKey;
pub use data::{AuthenticatorData, ClientData};

use crate::time::UnixSeconds;
use crate::unverified::{decode_base64url, encode_base64url};

/// The largest credential id accepted, in bytes (WebAuthn Level 3 §5.1: at most 1023).
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;
/// The most passkeys one account may hold: the user record carries them all.
pub const MAX_PASSKEYS: usize = 20;

/// Why a registration or assertion was refused. For logs and events; clients see one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// When the response is not the JSON form expected, or a field is not base64url.
    MalformedResponse,
    /// When `clientDataJSON` is not a JSON object with string `type`, `challenge`, `origin`.
    MalformedClientData,
    /// When the client data's `type` is not the ceremony's.
    WrongType,
    /// When the challenge is not one this deployment issued for this ceremony and user.
    WrongChallenge,
    /// When the challenge has expired.
    ChallengeExpired,
    /// When the challenge was used already.
    ChallengeReused,
    /// When the origin is not one of `WEBAUTHN_ORIGINS`, or the ceremony ran in a
    /// cross-origin iframe.
    WrongOrigin,
    /// When the authenticator data is too short, or its lengths or flags disagree with it.
    MalformedAuthenticatorData,
    /// When the attestation object is not the CBOR map expected.
    MalformedAttestation,
    /// When the authenticator data's RP ID hash is not SHA-256 of `WEBAUTHN_RP_ID`.
    WrongRpId,
    /// When the user-present flag is not set.
    UserNotPresent,
    /// When the user-verified flag is not set.
    UserNotVerified,
    /// When the credential's key is not a well-formed COSE key.
    MalformedKey,
    /// When the key's algorithm is neither ES256 nor EdDSA.
    UnsupportedAlgorithm,
    /// When the signature is not a well-formed encoding for its algorithm.
    MalformedSignature,
    /// When the signature does not verify.
    BadSignature,
    /// When the sign counter did not increase (a cloned authenticator, WebAuthn §6.1.1).
    CounterNotIncreased,
    /// When the credential is not one the account holds (unknown, or removed).
    UnknownCredential,
    /// When the credential id is already registered to this account, or the account holds
    /// [`MAX_PASSKEYS`].
    CredentialNotAccepted,
}

impl Rejection {
    /// A short, stable description for logs and security events.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejection::MalformedResponse => "malformed_response",
            Rejection::MalformedClientData => "malformed_client_data",
            Rejection::WrongType => "wrong_type",
            Rejection::WrongChallenge => "wrong_challenge",
            Rejection::ChallengeExpired => "challenge_expired",
            Rejection::ChallengeReused => "challenge_reused",
            Rejection::WrongOrigin => "wrong_origin",
            Rejection::MalformedAuthenticatorData => "malformed_authenticator_data",
            Rejection::MalformedAttestation => "malformed_attestation",
            Rejection::WrongRpId => "wrong_rp_id",
            Rejection::UserNotPresent => "user_not_present",
            Rejection::UserNotVerified => "user_not_verified",
            Rejection::MalformedKey => "malformed_key",
            Rejection::UnsupportedAlgorithm => "unsupported_algorithm",
            Rejection::MalformedSignature => "malformed_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::CounterNotIncreased => "counter_not_increased",
            Rejection::UnknownCredential => "unknown_credential",
            Rejection::CredentialNotAccepted => "credential_not_accepted",
        }
    }
}

/// The relying party: `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID: a registrable domain suffix of every origin (`example.com`, `localhost`).
    pub id: String,
    /// The exact origins ceremonies may run on (`https://example.com`).
    pub origins: Vec<String>,
}

impl RelyingParty {
    fn id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.id.as_bytes()).into()
    }
}

/// A passkey as the user record keeps it (`passkeys` in [`crate::store::UserRecord`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The credential id, base64url.
    pub id: String,
    /// The COSE public key as registered, base64url.
    pub public_key: String,
    /// Its COSE algorithm (-7 ES256, -8 EdDSA).
    pub alg: i64,
    /// The last sign counter seen (0: the authenticator keeps none).
    #[serde(default)]
    pub sign_count: u32,
    /// Whether the credential may be synced to other devices (the BE flag): a synced
    /// passkey is a software key (`swk`), a device-bound one a hardware key (`hwk`).
    #[serde(default)]
    pub backup_eligible: bool,
    /// The transports the browser reported, for `excludeCredentials` hints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
    /// When it was registered.
    pub created_at: UnixSeconds,
    /// When it last signed in (absent: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<UnixSeconds>,
}

impl StoredPasskey {
    /// The RFC 8176 `amr` value for a sign-in with this passkey: `swk` for a synced
    /// (backup-eligible) key, `hwk` for a device-bound one.
    pub fn amr(&self) -> &'static str {
        if self.backup_eligible { "swk" } else { "hwk" }
    }
}

/// Verifies ES256 signatures for the core (the Worker with WebCrypto, tests with `p256`).
#[allow(async_fn_in_trait)]
pub trait Es256Verifier {
    /// Whether `signature` (raw `r || s`) is a valid ECDSA P-256 SHA-256 signature of
    /// `message` under `public_key` (SEC1 uncompressed). Any failure is `false`.
    async fn verify_es256(
        &self,
        public_key: &[u8; 65],
        message: &[u8],
        signature: &[u8; 64],
    ) -> bool;
}

/// The string member `name` of a JSON object (nested through `path`), if it is one.
///
/// The responses are read from a parsed [`serde_json::Value`] by hand rather than through
/// derived `Deserialize` impls: the Worker already links the `Value` parser, and each derived
/// impl from a `Value` is monomorphised code in a size-limited upload.
fn string<'a>(json: &'a serde_json::Value, path: &[&str]) -> Result<&'a str, Rejection> {
    path.iter()
        .try_fold(json, |v, key| v.get(key))
        .and_then(serde_json::Value::as_str)
        .ok_or(Rejection::MalformedResponse)
}

fn b64(field: &str) -> Result<Vec<u8>, Rejection> {
    decode_base64url(field).map_err(|_| Rejection::MalformedResponse)
}

/// The credential id and base64url id of a response, checked to agree and to be in bounds.
fn credential_id(id: &str, raw_id: &str, kind: &str) -> Result<String, Rejection> {
    let raw = b64(raw_id)?;
    if kind != "public-key" || id != raw_id || raw.is_empty() || raw.len() > MAX_CREDENTIAL_ID_BYTES
    {
        return Err(Rejection::MalformedResponse);
    }
    Ok(encode_base64url(&raw))
}

/// An assertion read from its JSON, before anything about it is trusted: enough to find
/// the account (`user_handle`) and the credential (`credential_id`) it claims.
pub struct Assertion {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The user handle the authenticator returned (the account's id bytes), if any.
    pub user_handle: Option<Vec<u8>>,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
}

impl core::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Assertion")
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

/// Reads an `AuthenticationResponseJSON`.
///
/// # Errors
/// [`Rejection::MalformedResponse`].
pub fn read_assertion(json: &serde_json::Value) -> Result<Assertion, Rejection> {
    let credential_id = credential_id(
        string(json, &["id"])?,
        string(json, &["rawId"])?,
        string(json, &["type"])?,
    )?;
    let user_handle = match json.get("response").and_then(|r| r.get("userHandle")) {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => match string(json, &["response", "userHandle"])? {
            "" => None,
            h => Some(b64(h)?),
        },
    };
    Ok(Assertion {
        credential_id,
        user_handle,
        client_data_json: b64(string(json, &["response", "clientDataJSON"])?)?,
        authenticator_data: b64(string(json, &["response", "authenticatorData"])?)?,
        signature: b64(string(json, &["response", "signature"])?)?,
    })
}

/// A registration that passed every check: what to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPasskey {
    /// The passkey to add to the account.
    pub passkey: StoredPasskey,
    /// The challenge the client data carried (raw bytes), for the caller to check and use up.
    pub challenge: Vec<u8>,
}

/// Checks a `RegistrationResponseJSON` against the relying party (WebAuthn Level 3 §7.1,
/// attestation `none`: the statement is not evaluated), and returns the passkey to store.
/// The challenge is returned for the caller to check ([`ChallengeKey::check`]) and use up.
///
/// # Errors
/// The [`Rejection`] for the first check that fails.
pub fn verify_registration(
    rp: &RelyingParty,
    json: &serde_json::Value,
    now: UnixSeconds,
) -> Result<NewPasskey, Rejection> {
    let id = credential_id(
        string(json, &["id"])?,
        string(json, &["rawId"])?,
        string(json, &["type"])?,
    )?;
    let client_data_json = b64(string(json, &["response", "clientDataJSON"])?)?;
    let client = ClientData::parse(&client_data_json)?;
    client.check(rp, "webauthn.create")?;
    let attestation = b64(string(json, &["response", "attestationObject"])?)?;
    let object = cbor::read_exact(&attestation).map_err(|_| Rejection::MalformedAttestation)?;
    let (Some(cbor::Value::Text(_fmt)), Some(cbor::Value::Bytes(auth_data))) =
        (object.get_text("fmt"), object.get_text("authData"))
    else {
        return Err(Rejection::MalformedAttestation);
    };
    let data = AuthenticatorData::parse(auth_data)?;
    data.check(rp)?;
    let Some(credential) = data.credential.clone() else {
        return Err(Rejection::MalformedAuthenticatorData);
    };
    if encode_base64url(credential.id) != id {
        return Err(Rejection::MalformedResponse);
    }
    let key = cose::parse_key(credential.public_key)?;
    Ok(NewPasskey {
        passkey: StoredPasskey {
            id,
            public_key: encode_base64url(credential.public_key),
            alg: key.alg(),
            sign_count: data.sign_count,
            backup_eligible: data.backup_eligible(),
            // Hints only (for `excludeCredentials`): kept if they are short strings.
            transports: json
                .get("response")
                .and_then(|r| r.get("transports"))
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .filter(|t| t.len() <= 32)
                .take(8)
                .map(String::from)
                .collect(),
            created_at: now,
            last_used_at: None,
        },
        challenge: client.challenge,
    })
}

/// An assertion whose every check passed, signature included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The sign counter the authenticator reported, for [`counter_grew`].
    pub sign_count: u32,
    /// The UV flag (always set: Tollgate requires user verification).
    pub user_verified: bool,
    /// The challenge the client data carried (raw bytes), for the caller to check and use up.
    pub challenge: Vec<u8>,
}

/// Checks `assertion` against the relying party and the `stored` passkey it names
/// (WebAuthn Level 3 §7.2): client data, RP ID hash, UP and UV, and the signature (ES256
/// through `es256`). The challenge and the sign counter ([`counter_grew`]) are the caller's:
/// both need storage (the challenge's single use, the current counter at the sequencer).
///
/// # Errors
/// The [`Rejection`] for the first check that fails.
pub async fn verify_assertion<V: Es256Verifier + ?Sized>(
    rp: &RelyingParty,
    assertion: &Assertion,
    stored: &StoredPasskey,
    es256: &V,
) -> Result<VerifiedAssertion, Rejection> {
    if assertion.credential_id != stored.id {
        return Err(Rejection::UnknownCredential);
    }
    let client = ClientData::parse(&assertion.client_data_json)?;
    client.check(rp, "webauthn.get")?;
    let data = AuthenticatorData::parse(&assertion.authenticator_data)?;
    data.check(rp)?;
    let key = cose::parse_key(&b64(&stored.public_key).map_err(|_| Rejection::MalformedKey)?)?;
    let mut message = assertion.authenticator_data.clone();
    message.extend_from_slice(&Sha256::digest(&assertion.client_data_json));
    verify_signature(&key, &message, &assertion.signature, es256).await?;
    Ok(VerifiedAssertion {
        credential_id: stored.id.clone(),
        sign_count: data.sign_count,
        user_verified: data.user_verified(),
        challenge: client.challenge,
    })
}

/// The sign-counter rule (WebAuthn Level 3 §7.2 step 22): where the authenticator or the
/// stored passkey keeps a counter, the new one must be greater; otherwise two authenticators
/// hold this key (a clone), and the assertion is refused.
///
/// # Errors
/// [`Rejection::CounterNotIncreased`].
pub fn counter_grew(stored: u32, presented: u32) -> Result<(), Rejection> {
    if (presented != 0 || stored != 0) && presented <= stored {
        return Err(Rejection::CounterNotIncreased);
    }
    Ok(())
}

/// Verifies `signature` (as WebAuthn sends it: DER for ES256, 64 raw bytes for EdDSA) of
/// `message` under `key`.
///
/// # Errors
/// [`Rejection::MalformedSignature`], [`Rejection::BadSignature`].
pub async fn verify_signature<V: Es256Verifier + ?Sized>(
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
    es256: &V,
) -> Result<(), Rejection> {
    match key {
        PublicKey::Es256(point) => {
            let raw = cose::der_to_raw(signature)?;
            if es256.verify_es256(point, message, &raw).await {
                Ok(())
            } else {
                Err(Rejection::BadSignature)
            }
        }
        PublicKey::Ed25519(bytes) => {
            let signature = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| Rejection::MalformedSignature)?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
                .map_err(|_| Rejection::MalformedKey)?;
            // Strict: no small-order keys, no malleable signatures (RFC 8032 §5.1.7 plus the
            // canonical-S check).
            key.verify_strict(message, &signature)
                .map_err(|_| Rejection::BadSignature)
        }
    }
}
