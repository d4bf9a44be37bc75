//! Action tokens: password reset, email verification and email change.
//!
//! Each token is a MAC over the state it is meant to change, the way Django's
//! `PasswordResetTokenGenerator` works, so issuing one costs no storage write, and a token dies
//! by itself when that state moves on:
//!
//! ```text
//! token = base64url(body || HMAC-SHA-256(action key, LABEL || body || bound state))
//! body  = version || purpose || user id (16) || expires_at (u64 BE) || new email (change only)
//! ```
//!
//! | purpose              | bound state (in the MAC, not in the token)                       |
//! |----------------------|------------------------------------------------------------------|
//! | password reset       | the password hash, `sessions_ended_at`, the email                |
//! | email verification   | the email                                                        |
//! | email change         | the old email (the new one rides in the body)                    |
//!
//! A reset token is single-use with no storage write: the reset changes the hash it was bound
//! to. And because the sequencer applies the reset only while the stored hash is still the one
//! the token was checked against ([`crate::store::UserChange::ResetPassword`]), that holds even
//! when two locations confirm the same token at once, or one of them reads a stale record.
//!
//! The key is derived from the refresh-token key under its own label, never the access-token
//! key: a leaked access-token verifier (a resource server with `JWT_SECRET`) cannot mint
//! reset tokens. Rotating the refresh key (or the `JWT_SECRET` it is derived from) kills every
//! outstanding action token; they live for minutes to a day, so this is a resend, not a loss.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use hmac::Mac;

use crate::id::Id;
use crate::limits::MAX_EMAIL_BYTES;
use crate::mac::{HmacSha256, hmac_sha256};
use crate::refresh::RefreshKey;
use crate::store::UserRecord;
use crate::time::UnixSeconds;
use crate::unverified::{decode_base64url, encode_base64url};

/// Format version of the tokens issued and accepted.
const VERSION: u8 = 1;
/// Version, purpose, user id, expiry.
const FIXED_BYTES: usize = 1 + 1 + 16 + 8;
/// HMAC-SHA-256 output, untruncated.
const TAG_BYTES: usize = 32;
/// The longest token: the fixed part, the longest email and the tag, in base64url. Anything
/// longer is refused before it is decoded.
pub const MAX_ACTION_TOKEN_CHARS: usize = (FIXED_BYTES + MAX_EMAIL_BYTES + TAG_BYTES) * 4 / 3 + 1;
/// Domain separation of the key derived from the refresh key.
const KEY_LABEL: &[u8] = b"tollgate/action-token-key/v1";
/// Domain separation of the MAC input.
const MAC_LABEL: &[u8] = b"tollgate/action-token/v1\0";

/// What an action token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Set a new password without the old one.
    PasswordReset,
    /// Mark the account's current address as verified.
    EmailVerification,
    /// Move the account to the new address the token names.
    EmailChange,
}

impl Purpose {
    const fn byte(self) -> u8 {
        match self {
            Purpose::PasswordReset => 1,
            Purpose::EmailVerification => 2,
            Purpose::EmailChange => 3,
        }
    }

    fn from_byte(b: u8) -> Option<Purpose> {
        [
            Purpose::PasswordReset,
            Purpose::EmailVerification,
            Purpose::EmailChange,
        ]
        .into_iter()
        .find(|p| p.byte() == b)
    }

    /// A stable name, for log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
            Purpose::EmailChange => "email_change",
        }
    }
}

/// Why an action token was refused. For logs only: clients see `invalid_action_token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionRejection {
    /// When the token does not parse (length, base64url, version, purpose byte).
    Malformed,
    /// When the token is for another purpose than the route's.
    WrongPurpose,
    /// When the token's user does not exist (any more).
    UnknownUser,
    /// When the MAC does not verify: forged, tampered, from another deployment, or bound to
    /// state that has changed since (a used reset token, an address changed meanwhile).
    Mismatch,
    /// When the token is past its expiry.
    Expired,
}

impl ActionRejection {
    /// A short, stable description for log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionRejection::Malformed => "malformed",
            ActionRejection::WrongPurpose => "wrong purpose",
            ActionRejection::UnknownUser => "unknown user",
            ActionRejection::Mismatch => "bad MAC or state changed since issued",
            ActionRejection::Expired => "expired",
        }
    }
}

/// The key that authenticates action tokens. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct ActionKey {
    /// HMAC keyed with the derived key, [`MAC_LABEL`] already absorbed.
    mac: HmacSha256,
}

impl fmt::Debug for ActionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActionKey([redacted])")
    }
}

/// What a token says before it is checked: enough to find the user it names.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedAction {
    /// What the token is for.
    pub purpose: Purpose,
    /// The user it names.
    pub user_id: Id,
    /// When it stops working.
    pub expires_at: UnixSeconds,
    /// The new address, for an email-change token.
    pub new_email: Option<String>,
    body: Vec<u8>,
    tag: [u8; TAG_BYTES],
}

impl fmt::Debug for PresentedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedAction")
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl ActionKey {
    /// The action key derived from the refresh-token key (see the module docs).
    pub fn derive(refresh: &RefreshKey) -> ActionKey {
        let key = refresh.derive_subkey(KEY_LABEL);
        let mut mac = hmac_sha256(&key);
        mac.update(MAC_LABEL);
        ActionKey { mac }
    }

    /// A token for `purpose` on `user`'s current state, working until `expires_at`.
    /// `new_email` is the (normalised) target of an email change, and ignored otherwise.
    pub fn issue(
        &self,
        purpose: Purpose,
        user: &UserRecord,
        new_email: Option<&str>,
        expires_at: UnixSeconds,
    ) -> String {
        let mut body = Vec::with_capacity(FIXED_BYTES + MAX_EMAIL_BYTES + TAG_BYTES);
        body.push(VERSION);
        body.push(purpose.byte());
        body.extend_from_slice(user.id.as_bytes());
        body.extend_from_slice(&expires_at.to_be_bytes());
        if purpose == Purpose::EmailChange {
            body.extend_from_slice(new_email.unwrap_or_default().as_bytes());
        }
        let tag = self.tag(&body, purpose, user);
        body.extend_from_slice(&tag);
        encode_base64url(&body)
    }

    /// Checks `token` against `user`'s current state at `now`: the purpose the route expects,
    /// the user the token names, the MAC (constant-time) and the expiry.
    ///
    /// # Errors
    /// The [`ActionRejection`] for logs.
    pub fn check(
        &self,
        token: &PresentedAction,
        purpose: Purpose,
        user: Option<&UserRecord>,
        now: UnixSeconds,
    ) -> Result<(), ActionRejection> {
        if token.purpose != purpose {
            return Err(ActionRejection::WrongPurpose);
        }
        let user = user
            .filter(|u| u.id == token.user_id)
            .ok_or(ActionRejection::UnknownUser)?;
        let mut mac = self.mac.clone();
        absorb(&mut mac, &token.body, purpose, user);
        if mac.verify_slice(&token.tag).is_err() {
            return Err(ActionRejection::Mismatch);
        }
        // After the MAC: an attacker learns nothing of the expiry of a token they forged.
        if now >= token.expires_at {
            return Err(ActionRejection::Expired);
        }
        Ok(())
    }

    fn tag(&self, body: &[u8], purpose: Purpose, user: &UserRecord) -> [u8; TAG_BYTES] {
        let mut mac = self.mac.clone();
        absorb(&mut mac, body, purpose, user);
        mac.finalize().into_bytes().into()
    }
}

/// Feeds the body and the state the purpose binds, each length-prefixed so that no two
/// different states make the same input.
fn absorb(mac: &mut HmacSha256, body: &[u8], purpose: Purpose, user: &UserRecord) {
    let mut field = |bytes: &[u8]| {
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    field(body);
    field(user.email.as_bytes());
    if purpose == Purpose::PasswordReset {
        field(user.password_hash.as_bytes());
        field(&user.sessions_ended_at.to_be_bytes());
    }
}

/// Reads a presented token's fields without checking it (that needs the user it names).
///
/// # Errors
/// [`ActionRejection::Malformed`] for anything that is not a token of this format.
pub fn read(token: &str) -> Result<PresentedAction, ActionRejection> {
    let malformed = ActionRejection::Malformed;
    if token.len() > MAX_ACTION_TOKEN_CHARS {
        return Err(malformed);
    }
    let bytes = decode_base64url(token).map_err(|_| malformed)?;
    if bytes.len() < FIXED_BYTES + TAG_BYTES || bytes[0] != VERSION {
        return Err(malformed);
    }
    let purpose = Purpose::from_byte(bytes[1]).ok_or(malformed)?;
    let (body, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
    let new_email = match purpose {
        Purpose::EmailChange => Some(
            core::str::from_utf8(&body[FIXED_BYTES..])
                .map_err(|_| malformed)?
                .into(),
        ),
        _ if body.len() != FIXED_BYTES => return Err(malformed),
        _ => None,
    };
    let mut user = [0u8; 16];
    user.copy_from_slice(&body[2..18]);
    let mut expires = [0u8; 8];
    expires.copy_from_slice(&body[18..26]);
    let mut fixed_tag = [0u8; TAG_BYTES];
    fixed_tag.copy_from_slice(tag);
    Ok(PresentedAction {
        purpose,
        user_id: Id::from_bytes(user),
        expires_at: u64::from_be_bytes(expires),
        new_email,
        body: body.to_vec(),
        tag: fixed_tag,
    })
}

#[cfg(test)]
mod tests;
