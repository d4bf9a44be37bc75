//! The two structures every ceremony signs over: `clientDataJSON` (WebAuthn Level 3 §5.8.1)
//! and authenticator data (§6.1).

use alloc::string::String;
use alloc::vec::Vec;

use super::cbor;
use super::{MAX_CREDENTIAL_ID_BYTES, Rejection, RelyingParty};
use crate::unverified::decode_base64url;

/// Flag bits of authenticator data (§6.1).
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

/// The client data a ceremony's signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientData {
    /// `webauthn.create` or `webauthn.get`.
    pub kind: String,
    /// The challenge, decoded.
    pub challenge: Vec<u8>,
    /// The origin the browser ran the ceremony on.
    pub origin: String,
    /// Whether it ran in a cross-origin iframe.
    pub cross_origin: bool,
}

impl ClientData {
    /// Parses `clientDataJSON` (UTF-8 JSON; unknown members are ignored, as §5.8.1.2 asks).
    ///
    /// # Errors
    /// [`Rejection::MalformedClientData`].
    pub fn parse(json: &[u8]) -> Result<ClientData, Rejection> {
        let bad = Rejection::MalformedClientData;
        let parsed: serde_json::Value = serde_json::from_slice(json).map_err(|_| bad)?;
        let text = |key: &str| {
            parsed
                .get(key)
                .and_then(serde_json::Value::as_str)
                .ok_or(bad)
        };
        let cross_origin = match parsed.get("crossOrigin") {
            None | Some(serde_json::Value::Null) => false,
            Some(v) => v.as_bool().ok_or(bad)?,
        };
        Ok(ClientData {
            kind: text("type")?.into(),
            challenge: decode_base64url(text("challenge")?).map_err(|_| bad)?,
            origin: text("origin")?.into(),
            cross_origin,
        })
    }

    /// Checks the type and the origin (the challenge is the caller's, see
    /// [`super::ChallengeKey::check`]).
    ///
    /// # Errors
    /// [`Rejection::WrongType`], [`Rejection::WrongOrigin`] (also for a cross-origin iframe:
    /// Tollgate's ceremonies run on its own pages).
    pub fn check(&self, rp: &RelyingParty, kind: &str) -> Result<(), Rejection> {
        if self.kind != kind {
            return Err(Rejection::WrongType);
        }
        if self.cross_origin || !rp.origins.contains(&self.origin) {
            return Err(Rejection::WrongOrigin);
        }
        Ok(())
    }
}

/// The attested credential in registration authenticator data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    /// The credential id.
    pub id: &'a [u8],
    /// The COSE public key, as sent.
    pub public_key: &'a [u8],
}

/// Authenticator data, borrowed from the bytes it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flags byte.
    pub flags: u8,
    /// The signature counter (0: not kept).
    pub sign_count: u32,
    /// The attested credential (registration only).
    pub credential: Option<AttestedCredential<'a>>,
}

impl<'a> AuthenticatorData<'a> {
    /// Reads authenticator data: the fixed 37 bytes, the attested credential when AT is set,
    /// the extensions when ED is set, and nothing more.
    ///
    /// # Errors
    /// [`Rejection::MalformedAuthenticatorData`].
    pub fn parse(bytes: &'a [u8]) -> Result<AuthenticatorData<'a>, Rejection> {
        let bad = Rejection::MalformedAuthenticatorData;
        if bytes.len() < 37 {
            return Err(bad);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&bytes[..32]);
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        // §6.1: backed up (BS) without backup eligibility (BE) is invalid.
        if flags & BS != 0 && flags & BE == 0 {
            return Err(bad);
        }
        let mut rest = &bytes[37..];
        let credential = if flags & AT != 0 {
            // AAGUID (16), credential id length (2), the id, the COSE key.
            if rest.len() < 18 {
                return Err(bad);
            }
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if len == 0 || len > MAX_CREDENTIAL_ID_BYTES || rest.len() < len {
                return Err(bad);
            }
            let (id, after) = rest.split_at(len);
            let (_, after_key) = cbor::read(after).map_err(|_| bad)?;
            let public_key = &after[..after.len() - after_key.len()];
            rest = after_key;
            Some(AttestedCredential { id, public_key })
        } else {
            None
        };
        if flags & ED != 0 {
            let (extensions, after) = cbor::read(rest).map_err(|_| bad)?;
            if !matches!(extensions, cbor::Value::Map(_)) {
                return Err(bad);
            }
            rest = after;
        }
        if !rest.is_empty() {
            return Err(bad);
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            credential,
        })
    }

    /// Whether the user was verified (UV).
    pub fn user_verified(&self) -> bool {
        self.flags & UV != 0
    }

    /// Whether the credential may be backed up (BE): a synced passkey.
    pub fn backup_eligible(&self) -> bool {
        self.flags & BE != 0
    }

    /// Checks the RP ID hash and that the user was present and verified.
    ///
    /// # Errors
    /// [`Rejection::WrongRpId`], [`Rejection::UserNotPresent`], [`Rejection::UserNotVerified`].
    pub fn check(&self, rp: &RelyingParty) -> Result<(), Rejection> {
        if self.rp_id_hash != rp.id_hash() {
            return Err(Rejection::WrongRpId);
        }
        if self.flags & UP == 0 {
            return Err(Rejection::UserNotPresent);
        }
        // Tollgate asks for `userVerification: "required"`: a passkey replaces the password,
        // so it must be two factors in one (possession and the device's PIN or biometric).
        if !self.user_verified() {
            return Err(Rejection::UserNotVerified);
        }
        Ok(())
    }
}
