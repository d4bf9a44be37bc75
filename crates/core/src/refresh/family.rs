//! Refresh-token families and the rotation decision.
//!
//! A family is one signed-in session: a login creates it at generation 0, and every refresh
//! rotates it to the next generation. Workers KV has no compare-and-set and takes up to 60 s
//! to propagate a write, so [`rotate`] is designed for concurrent, possibly stale readers:
//!
//! | presented generation `p` vs stored `g`   | decision                                        |
//! |-------------------------------------------|-------------------------------------------------|
//! | `p == g`                                  | advance to `g + 1`, hand out token `g + 1`       |
//! | `p == g - 1`, within grace of the rotation | hand out token `g` again (idempotent retry)     |
//! | `p > g` (this reader's copy is stale)     | advance to `p + 1`, hand out token `p + 1`       |
//! | older, or `g - 1` after the grace window  | reuse: revoke the whole family                   |
//!
//! Because the token for a generation is a pure function of (user, family, generation) and
//! the key (see [`super::token`]), every reader that advances from `p` hands out the same
//! token: two tabs, a retried request or two edge locations never fork a family.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::token::{PresentedToken, RefreshKey, encode_token};
use crate::error::RefreshRejection;
use crate::id::Id;
use crate::random::Random;
use crate::time::UnixSeconds;

/// Default absolute lifetime of a family, in seconds (30 days).
pub const DEFAULT_ABSOLUTE_TTL_S: u64 = 30 * 24 * 3600;
/// Default idle lifetime, in seconds (7 days without a refresh ends the session).
pub const DEFAULT_IDLE_TTL_S: u64 = 7 * 24 * 3600;
/// Default grace window after a rotation during which the previous token still gets the
/// same successor, in seconds: covers two tabs refreshing together and a lost response.
pub const DEFAULT_REUSE_GRACE_S: u64 = 30;
/// Longest user agent kept with a session, in characters: enough to recognise a browser.
pub const MAX_USER_AGENT_CHARS: usize = 256;
/// Workers KV refuses expirations less than 60 s away.
pub const MIN_STORAGE_TTL_S: u64 = 60;

/// How long families live and how forgiving rotation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Absolute lifetime from login, in seconds.
    pub absolute_ttl_s: u64,
    /// Lifetime without a refresh, in seconds.
    pub idle_ttl_s: u64,
    /// Grace window for the previous generation after a rotation, in seconds.
    pub reuse_grace_s: u64,
}

impl Default for RefreshPolicy {
    fn default() -> RefreshPolicy {
        RefreshPolicy {
            absolute_ttl_s: DEFAULT_ABSOLUTE_TTL_S,
            idle_ttl_s: DEFAULT_IDLE_TTL_S,
            reuse_grace_s: DEFAULT_REUSE_GRACE_S,
        }
    }
}

/// Why a family was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// A rotated token was replayed after its grace window.
    Reuse,
}

/// One session's refresh-token family, as stored (`family:{user_id}:{id}` in `TOKENS`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    /// The family id (also the access token's `sid`).
    pub id: Id,
    /// The user it belongs to.
    pub user_id: Id,
    /// The newest generation handed out.
    pub generation: u32,
    /// When `generation` was handed out (the grace window for `generation - 1` starts here).
    pub rotated_at: UnixSeconds,
    /// When the user logged in.
    pub created_at: UnixSeconds,
    /// When a refresh last succeeded (the idle lifetime counts from here).
    pub last_used_at: UnixSeconds,
    /// The absolute end of the session.
    pub expires_at: UnixSeconds,
    /// The user's session epoch at login; a later epoch ends the family.
    pub epoch: u64,
    /// The browser or client that logged in, as it said (truncated).
    pub user_agent: String,
    /// Set when the family was revoked; a revoked family refuses every token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevokeReason>,
}

impl Family {
    /// A new family at generation 0 for a login at `now`.
    pub fn start<R: Random + ?Sized>(
        user_id: Id,
        epoch: u64,
        user_agent: &str,
        now: UnixSeconds,
        policy: &RefreshPolicy,
        rng: &mut R,
    ) -> Family {
        Family {
            // 128 random bits: the issue asks for a random 128-bit family id, and no one outside
            // needs this id to be a version-4 UUID (see `crate::id`).
            id: Id::random(rng),
            user_id,
            generation: 0,
            rotated_at: now,
            created_at: now,
            last_used_at: now,
            expires_at: now.saturating_add(policy.absolute_ttl_s),
            epoch,
            user_agent: user_agent
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect(),
            revoked: None,
        }
    }

    /// The token for the family's current generation.
    pub fn current_token(&self, key: &RefreshKey) -> String {
        encode_token(key, &self.user_id, &self.id, self.generation)
    }

    /// When the family dies of old age or idleness, whichever comes first.
    pub fn ends_at(&self, policy: &RefreshPolicy) -> UnixSeconds {
        self.expires_at
            .min(self.last_used_at.saturating_add(policy.idle_ttl_s))
    }

    /// Seconds left of the absolute lifetime at `now` (the refresh cookie's `Max-Age`).
    pub fn remaining_s(&self, now: UnixSeconds) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// When storage may forget the record: its end, but never sooner than KV accepts.
    pub fn storage_expiration(&self, policy: &RefreshPolicy, now: UnixSeconds) -> UnixSeconds {
        self.ends_at(policy)
            .max(now.saturating_add(MIN_STORAGE_TTL_S))
    }

    /// Why the family can no longer be used at `now`, if it cannot.
    pub fn dead_reason(
        &self,
        policy: &RefreshPolicy,
        user_epoch: u64,
        now: UnixSeconds,
    ) -> Option<RefreshRejection> {
        if self.revoked.is_some() {
            Some(RefreshRejection::Revoked)
        } else if now >= self.expires_at {
            Some(RefreshRejection::Expired)
        } else if now >= self.last_used_at.saturating_add(policy.idle_ttl_s) {
            Some(RefreshRejection::Idle)
        } else if self.epoch < user_epoch {
            Some(RefreshRejection::Superseded)
        } else {
            None
        }
    }
}

/// What to do with a presented refresh token: a decision for the host to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// Store `family` (advanced one generation) and hand out `token`.
    Advanced {
        /// The family to write back.
        family: Family,
        /// The new refresh token.
        token: String,
    },
    /// Hand out `token` again and write nothing: a retry within the grace window.
    Replayed {
        /// The current refresh token (the same successor the first request got).
        token: String,
    },
    /// An old token came back: store `family` (now revoked) and answer `refresh_token_reused`.
    ReuseDetected {
        /// The revoked family to write back.
        family: Family,
    },
    /// Refuse with `invalid_refresh_token`; `forget` says the record is dead and may be deleted.
    Refused {
        /// Why (for logs).
        reason: RefreshRejection,
        /// Whether the stored record can be deleted.
        forget: bool,
    },
}

/// Decides what a presented (and MAC-verified) refresh token gets.
///
/// `stored` is the family as this reader sees it (possibly stale, possibly missing);
/// `user_epoch` is the user's current session epoch, or `None` when the user no longer exists.
pub fn rotate(
    key: &RefreshKey,
    presented: &PresentedToken,
    stored: Option<&Family>,
    user_epoch: Option<u64>,
    now: UnixSeconds,
    policy: &RefreshPolicy,
) -> Rotation {
    let Some(family) =
        stored.filter(|f| f.id == presented.family_id && f.user_id == presented.user_id)
    else {
        return Rotation::Refused {
            reason: RefreshRejection::UnknownFamily,
            forget: false,
        };
    };
    let Some(user_epoch) = user_epoch else {
        return Rotation::Refused {
            reason: RefreshRejection::UnknownUser,
            forget: true,
        };
    };
    if let Some(reason) = family.dead_reason(policy, user_epoch, now) {
        // A revoked record is kept until it expires so that the family's other tokens keep
        // being refused as revoked rather than unknown; the rest are simply dead.
        return Rotation::Refused {
            reason,
            forget: reason != RefreshRejection::Revoked,
        };
    }

    let p = presented.generation;
    let g = family.generation;
    if p >= g {
        // p == g: the normal case. p > g: another location already rotated to p and this
        // reader's copy is stale; advancing from p gives the same token that location would.
        let Some(next) = p.checked_add(1) else {
            return Rotation::Refused {
                reason: RefreshRejection::Expired,
                forget: true,
            };
        };
        let mut advanced = family.clone();
        advanced.generation = next;
        advanced.rotated_at = now;
        advanced.last_used_at = now;
        let token = advanced.current_token(key);
        return Rotation::Advanced {
            family: advanced,
            token,
        };
    }
    if p + 1 == g && now <= family.rotated_at.saturating_add(policy.reuse_grace_s) {
        return Rotation::Replayed {
            token: family.current_token(key),
        };
    }
    let mut revoked = family.clone();
    revoked.revoked = Some(RevokeReason::Reuse);
    Rotation::ReuseDetected { family: revoked }
}
