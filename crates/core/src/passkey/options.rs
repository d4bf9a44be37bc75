//! The options JSON the browser's `PublicKeyCredential.parseCreationOptionsFromJSON` and
//! `parseRequestOptionsFromJSON` read (WebAuthn Level 3 §5.1.1, §5.1.2).

use serde_json::{Value, json};

use super::challenge::CHALLENGE_TTL_S;
use super::cose::{ALG_EDDSA, ALG_ES256};
use super::{RelyingParty, StoredPasskey};
use crate::id::Id;
use crate::unverified::encode_base64url;

/// `PublicKeyCredentialCreationOptionsJSON` for registering a passkey on the account `user`
/// (shown as `name`), excluding the credentials it already has so that an authenticator
/// holding one of them is not registered twice.
pub fn creation(
    rp: &RelyingParty,
    user: &Id,
    name: &str,
    challenge: &[u8],
    existing: &[StoredPasskey],
) -> Value {
    let exclude: alloc::vec::Vec<Value> = existing
        .iter()
        .map(|p| {
            let mut descriptor = json!({ "type": "public-key", "id": p.id });
            if !p.transports.is_empty() {
                descriptor["transports"] = json!(p.transports);
            }
            descriptor
        })
        .collect();
    json!({
        "rp": { "id": rp.id, "name": rp.id },
        // The user handle is the account id's 16 bytes: no personal data (§14.6.1), and what
        // a discoverable sign-in returns to name the account.
        "user": { "id": encode_base64url(user.as_bytes()), "name": name, "displayName": name },
        "challenge": encode_base64url(challenge),
        // EdDSA first: the smaller, faster signature, where the authenticator has it.
        "pubKeyCredParams": [
            { "type": "public-key", "alg": ALG_EDDSA },
            { "type": "public-key", "alg": ALG_ES256 },
        ],
        "timeout": CHALLENGE_TTL_S * 1000,
        "excludeCredentials": exclude,
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "required",
        },
        "attestation": "none",
    })
}

/// `PublicKeyCredentialRequestOptionsJSON` for a sign-in with a discoverable credential: no
/// `allowCredentials`, so the authenticator offers the passkeys it holds for this RP.
pub fn request(rp: &RelyingParty, challenge: &[u8]) -> Value {
    json!({
        "challenge": encode_base64url(challenge),
        "timeout": CHALLENGE_TTL_S * 1000,
        "rpId": rp.id,
        "allowCredentials": [],
        "userVerification": "required",
    })
}
