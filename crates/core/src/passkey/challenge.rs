//! WebAuthn challenges: signed and stateless when issued, single-use when checked.
//!
//! ```text
//! challenge = body || HMAC-SHA-256(challenge key, LABEL || body)
//! body      = version || purpose || expires_at (u64 BE) || nonce (16) || user id (16; zeros
//!             for a discoverable sign-in, which names no user)
//! ```
//!
//! Issuing options writes nothing, so `POST /auth/passkeys/login/options`, which anyone may
//! call, costs no storage. The MAC proves that Tollgate issued the challenge, for this
//! purpose and user, and when it expires; single use is enforced where the challenge is
//! *consumed*: the flow reserves the nonce in a strongly consistent object (the Worker's
//! per-key Durable Object, through [`crate::store::ThrottleStore::reserve`] with a policy of
//! one attempt), so of two ceremonies presenting one challenge, at one location or two,
//! exactly one gets through. The key is derived from the refresh-token key under its own
//! label, like the action tokens' key.

use alloc::vec::Vec;

use hmac::Mac;
use subtle::ConstantTimeEq;

use super::Rejection;
use crate::id::Id;
use crate::mac::{HmacSha256, hmac_sha256};
use crate::random::Random;
use crate::refresh::RefreshKey;
use crate::time::UnixSeconds;

/// How long a challenge may be answered, in seconds: WebAuthn Level 3 §15.1 recommends
/// 300-600 s for ceremonies that require user verification; the shorter end.
pub const CHALLENGE_TTL_S: u64 = 300;

const VERSION: u8 = 1;
const BODY_BYTES: usize = 1 + 1 + 8 + 16 + 16;
const TAG_BYTES: usize = 32;
/// The length of every challenge this module issues, in bytes.
pub const CHALLENGE_BYTES: usize = BODY_BYTES + TAG_BYTES;
const KEY_LABEL: &[u8] = b"tollgate/passkey-challenge-key/v1";
const MAC_LABEL: &[u8] = b"tollgate/passkey-challenge/v1\0";

/// Which ceremony a challenge is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceremony {
    /// Creating a credential for a signed-in user (`webauthn.create`).
    Register,
    /// Signing in with a discoverable credential (`webauthn.get`), or a second step for a
    /// known user.
    Authenticate,
}

impl Ceremony {
    const fn byte(self) -> u8 {
        match self {
            Ceremony::Register => 1,
            Ceremony::Authenticate => 2,
        }
    }
}

/// The key challenges are signed with.
#[derive(Clone)]
pub struct ChallengeKey {
    mac: HmacSha256,
}

impl core::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChallengeKey([redacted])")
    }
}

/// A checked challenge: the key under which its single use is recorded, and until when
/// that record must be kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// A storage key naming this challenge alone (its nonce).
    pub use_key: alloc::string::String,
    /// When the challenge expires (its use record may go after that).
    pub expires_at: UnixSeconds,
}

impl ChallengeKey {
    /// The challenge key derived from the refresh-token key.
    pub fn derive(refresh: &RefreshKey) -> ChallengeKey {
        let key = refresh.derive_subkey(KEY_LABEL);
        let mut mac = hmac_sha256(&key);
        mac.update(MAC_LABEL);
        ChallengeKey { mac }
    }

    /// A fresh challenge for `ceremony` (for `user`, if any), expiring [`CHALLENGE_TTL_S`]
    /// after `now`.
    pub fn issue<R: Random + ?Sized>(
        &self,
        ceremony: Ceremony,
        user: Option<&Id>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Vec<u8> {
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let mut out = Vec::with_capacity(CHALLENGE_BYTES);
        out.push(VERSION);
        out.push(ceremony.byte());
        out.extend_from_slice(&now.saturating_add(CHALLENGE_TTL_S).to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(user.map_or(&[0u8; 16], |u| u.as_bytes()));
        let tag = self.tag(&out);
        out.extend_from_slice(&tag);
        out
    }

    /// Checks that `challenge` was issued by this deployment for `ceremony` and `user`, and
    /// has not expired at `now`. Its single use is for the caller to record (see the module
    /// docs).
    ///
    /// # Errors
    /// [`Rejection::WrongChallenge`] for a forged, altered, foreign or misdirected challenge;
    /// [`Rejection::ChallengeExpired`].
    pub fn check(
        &self,
        challenge: &[u8],
        ceremony: Ceremony,
        user: Option<&Id>,
        now: UnixSeconds,
    ) -> Result<Checked, Rejection> {
        if challenge.len() != CHALLENGE_BYTES {
            return Err(Rejection::WrongChallenge);
        }
        let (body, tag) = challenge.split_at(BODY_BYTES);
        if !bool::from(self.tag(body).ct_eq(tag)) {
            return Err(Rejection::WrongChallenge);
        }
        let want_user = user.map_or([0u8; 16], |u| *u.as_bytes());
        if body[0] != VERSION || body[1] != ceremony.byte() || body[26..42] != want_user {
            return Err(Rejection::WrongChallenge);
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&body[2..10]);
        let expires_at = u64::from_be_bytes(expiry);
        if now >= expires_at {
            return Err(Rejection::ChallengeExpired);
        }
        Ok(Checked {
            use_key: alloc::format!(
                "passkey-challenge:{}",
                crate::unverified::encode_base64url(&body[10..26])
            ),
            expires_at,
        })
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = self.mac.clone();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}
