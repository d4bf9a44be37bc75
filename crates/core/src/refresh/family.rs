//! Refresh-token families and the rotation decision.
//!
//! A family is one signed-in session: a login creates it at generation 0, and every refresh
//! rotates it to the next generation. Workers KV has no compare-and-set and takes up to 60 s
//! to propagate a write, so [`rotate`] is designed for concurrent, possibly stale readers:
//!
//! | presented generation `p` vs stored `g`     | decision                                        |
//! |---------------------------------------------|-------------------------------------------------|
//! | `p == g`                                    | advance to `g + 1`, hand out token `g + 1`      |
//! | `p == g - 1`, within grace of the rotation  | hand out token `g` again (idempotent retry)     |
//! | `p > g` (this reader's copy is stale)       | advance to `p + 1`, hand out token `p + 1`      |
//! | older, or `g - 1` after the grace window    | reuse: revoke the whole family                  |
//! | no record, family in its propagation window | not visible here yet: retry, nothing written    |
//! | no record, older family                     | unknown family: refused                         |
//!
//! (The propagation window is [`PROPAGATION_WINDOW_S`] after the family's creation.) Because
//! the token for a generation is a pure function of (user, family, generation) and the key
//! (see [`super::token`]), every reader that advances from `p` hands out the same
//! token: two tabs, a retried request or two edge locations never fork a family.
//!
//! # A missing record
//!
//! A location that has a copy of the family, however stale, decides by the table above. A
//! location with *no* copy cannot tell a family that was logged out, revoked away or expired
//! from one created moments ago elsewhere whose record has not reached it: KV only promises
//! that a write is visible everywhere within about 60 s, and it also caches "not found" for a
//! while. The refresh token's MAC proves that Tollgate issued it, not that the family still
//! lives, so the absence alone can never be answered with tokens.
//!
//! What separates the two cases is the family's age, which every token carries
//! (authenticated, see [`super::token`]): a family created less than
//! [`PROPAGATION_WINDOW_S`] ago may simply not have arrived, so its missing record (or its
//! user's missing record, which was written even earlier) is
//! [`RefreshRejection::NotYetVisible`]: the refresh flow answers it as storage being
//! temporarily unavailable (retry, keep the session), never as a sign-out, and deletes
//! nothing. Nothing is handed out either way, so the only cost of this answer for a family
//! that really is gone is that its refusal comes at most that long later. Past the window, a
//! missing family is
//! [`RefreshRejection::UnknownFamily`]; a missing user ends the family
//! ([`RefreshRejection::UnknownUser`], record deleted).
//!
//! # Ending a session
//!
//! A session ends by a *revocation marker* (`revoked:{user}:{family}`, see
//! [`crate::store::records::revoked_key`]): logout, revoking the session, reuse detection and
//! deleting the user write one, and nothing else does. A refresh never writes it: KV resolves
//! concurrent writes to one key last-write-wins on the whole value, so if ending a session
//! rewrote the family record, a location still holding an older copy, rotating it, would write
//! the family back alive over the ending, for good. A marker cannot be erased that way: once
//! it has propagated (60 s), the family is refused at every location, whatever was written to
//! its record meanwhile. The marker is kept until the family could no longer be used anyway
//! ([`Family::revocation_expiration`]).
//!
//! Ending every session of a user (logout-all, a password or role change, an admin) moves
//! the user's session epoch on instead (see [`crate::store::records::SessionState`]); the
//! user record is written only by its sequencer, so that epoch never moves back.
//!
//! A missing family record with a marker is revoked; a missing record without one is decided
//! by the family's age, as above. Records written before markers existed may carry `revoked`
//! themselves ([`RevokeReason::Ended`] or [`RevokeReason::Reuse`]); they are refused alike.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::token::{PresentedToken, RefreshKey};
use crate::error::RefreshRejection;
use crate::id::Id;
use crate::random::Random;
use crate::store::records::SessionState;
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
/// The shortest storage lifetime asked for, in seconds: Workers KV refuses expirations less
/// than 60 s away, as measured by its own clock when the write arrives. `now` here is whole
/// seconds read at the start of the request, up to a second (and the request's own duration)
/// behind that clock, so 60 exactly was refused now and then; 5 s more covers both.
pub const MIN_STORAGE_TTL_S: u64 = 65;
/// How long after a family's creation a location may still not see its record (or its
/// user's), in seconds: Workers KV makes a write visible everywhere "within 60 seconds or
/// less" (Cloudflare's KV documentation, "How KV works"), and the creation time was read from
/// another location's clock, which may differ from this one's by a few seconds
/// ([`CLOCK_ALLOWANCE_S`]). Within it, a missing record is
/// [`RefreshRejection::NotYetVisible`] rather than the end of the session.
pub const PROPAGATION_WINDOW_S: u64 = 60 + CLOCK_ALLOWANCE_S;

/// How far apart two locations' clocks are allowed to be, in seconds. Cloudflare's servers
/// keep NTP time; a few seconds covers a request's own duration on top (the multi-location
/// simulator of `tests/consistency.rs` draws offsets of up to ±3 s, and found the refusal
/// this prevents: a family 55 s old, read at a location 6 s ahead, reported as unknown).
pub const CLOCK_ALLOWANCE_S: u64 = 10;

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

/// Why a family was revoked (the value of its revocation marker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// A rotated token was replayed after its grace window.
    Reuse,
    /// The session was ended: logout, a revoked session, a deleted user.
    Ended,
}

impl RevokeReason {
    /// The word a revocation marker stores (its value and its KV metadata): `reuse` or
    /// `ended`, the same words the serde form uses inside older family records.
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Reuse => "reuse",
            RevokeReason::Ended => "ended",
        }
    }

    /// The reason a stored revocation marker names, if it names one.
    pub fn from_stored(stored: &str) -> Option<RevokeReason> {
        match stored.trim() {
            "reuse" => Some(RevokeReason::Reuse),
            "ended" => Some(RevokeReason::Ended),
            _ => None,
        }
    }
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
    /// The scopes, space-separated, that the login narrowed the session to (the form's
    /// `scope`, intersected with the role's), kept for the session's whole life: every
    /// refresh grants the role's scopes intersected with these again, never more. Absent when
    /// the login asked for no particular scopes (and in records written before it existed):
    /// each token then gets everything the user's role grants at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How the login authenticated (RFC 8176 `amr`), carried by every token of the session.
    /// Absent in records written before it existed, all of them password logins, which read
    /// as `["pwd"]`; empty for a sign-in through an identity provider, whose own methods are
    /// not Tollgate's to assert (its tokens then carry no `amr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
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
            scope: None,
            amr: None,
        }
    }

    /// The family, narrowed to `scope` (see [`Family::scope`]).
    pub fn with_scope(mut self, scope: Option<String>) -> Family {
        self.scope = scope;
        self
    }

    /// The family, with the login's authentication methods (see [`Family::amr`]).
    pub fn with_amr(mut self, amr: Vec<String>) -> Family {
        self.amr = Some(amr);
        self
    }

    /// The login's `amr` for its tokens: what the family keeps, or `["pwd"]` for a family
    /// written before families kept it.
    pub fn amr(&self) -> Vec<String> {
        self.amr
            .clone()
            .unwrap_or_else(|| alloc::vec![String::from(crate::mfa::AMR_PASSWORD)])
    }

    /// The token for the family's current generation (it carries `created_at`).
    pub fn current_token(&self, key: &RefreshKey) -> String {
        PresentedToken {
            user_id: self.user_id,
            family_id: self.id,
            generation: self.generation,
            created_at: self.created_at,
        }
        .encode(key)
    }

    /// Whether, at `now`, the family is so young that a location may not see it yet (see
    /// [`PROPAGATION_WINDOW_S`]). While it is, its record must not be deleted: its absence
    /// would read as "not arrived yet".
    pub fn may_be_unpropagated(&self, now: UnixSeconds) -> bool {
        within_propagation_window(self.created_at, now)
    }

    /// When storage may forget a revocation marker of this family: once no token of the
    /// family could be accepted anyway, at the end of its absolute lifetime, and never sooner
    /// than KV accepts. (The idle limit moves on with every refresh, so only the absolute one
    /// bounds the family.)
    pub fn revocation_expiration(
        created_at: UnixSeconds,
        policy: &RefreshPolicy,
        now: UnixSeconds,
    ) -> UnixSeconds {
        created_at
            .saturating_add(policy.absolute_ttl_s)
            .max(now.saturating_add(MIN_STORAGE_TTL_S))
    }

    /// When the family dies of old age or idleness, whichever comes first. The absolute end
    /// is also bounded by the *current* absolute lifetime from its creation, so that a shorter
    /// `REFRESH_TOKEN_TTL_SECONDS` applies to existing sessions, and so that a revocation
    /// marker kept that long ([`Family::revocation_expiration`]) always outlives the family.
    pub fn ends_at(&self, policy: &RefreshPolicy) -> UnixSeconds {
        self.absolute_end(policy)
            .min(self.last_used_at.saturating_add(policy.idle_ttl_s))
    }

    fn absolute_end(&self, policy: &RefreshPolicy) -> UnixSeconds {
        self.expires_at
            .min(self.created_at.saturating_add(policy.absolute_ttl_s))
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

    /// Why the family can no longer be used at `now`, if it cannot, given its user's
    /// `sessions` (a revocation marker is the caller's to check).
    pub fn dead_reason(
        &self,
        policy: &RefreshPolicy,
        sessions: &SessionState,
        now: UnixSeconds,
    ) -> Option<RefreshRejection> {
        if self.revoked.is_some() {
            Some(RefreshRejection::Revoked)
        } else if now >= self.absolute_end(policy) {
            Some(RefreshRejection::Expired)
        } else if now >= self.last_used_at.saturating_add(policy.idle_ttl_s) {
            Some(RefreshRejection::Idle)
        } else if sessions.ends(&self.id, self.epoch) {
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
    /// An old token came back: write the family's revocation marker and answer
    /// `refresh_token_reused`.
    ReuseDetected {
        /// The family as read, marked revoked (for the event; the marker is what is stored).
        family: Family,
    },
    /// Refuse with `invalid_refresh_token` (or, for [`RefreshRejection::NotYetVisible`], ask
    /// the client to retry); `forget` says the record is dead and may be deleted.
    Refused {
        /// Why (for logs).
        reason: RefreshRejection,
        /// Whether the stored record can be deleted.
        forget: bool,
    },
}

/// Whether a family created at `created_at` may still be invisible somewhere at `now`. A
/// creation time ahead of `now` (clocks of two locations disagreeing) counts as young.
fn within_propagation_window(created_at: UnixSeconds, now: UnixSeconds) -> bool {
    now < created_at.saturating_add(PROPAGATION_WINDOW_S)
}

/// Decides what a presented (and MAC-verified) refresh token gets.
///
/// `stored` is the family as this reader sees it (possibly stale, possibly missing);
/// `revoked` is its revocation marker, if this reader sees one; `user` is the user's session
/// state, or `None` when this reader finds no user.
/// A record whose id, user or creation time differs from the token's is not this family's.
/// Missing records are decided by the family's age (see the module docs): within
/// [`PROPAGATION_WINDOW_S`] of its creation, [`RefreshRejection::NotYetVisible`] without
/// forgetting anything; after it, [`RefreshRejection::UnknownFamily`] or
/// [`RefreshRejection::UnknownUser`].
pub fn rotate(
    key: &RefreshKey,
    presented: &PresentedToken,
    stored: Option<&Family>,
    revoked: Option<RevokeReason>,
    user: Option<&SessionState>,
    now: UnixSeconds,
    policy: &RefreshPolicy,
) -> Rotation {
    if revoked.is_some() {
        // The marker is kept for the family's whole life; its record may even be gone.
        return Rotation::Refused {
            reason: RefreshRejection::Revoked,
            forget: false,
        };
    }
    let Some(family) = stored.filter(|f| {
        f.id == presented.family_id
            && f.user_id == presented.user_id
            && presented.created_at == f.created_at
    }) else {
        return Rotation::Refused {
            reason: if within_propagation_window(presented.created_at, now) {
                RefreshRejection::NotYetVisible
            } else {
                RefreshRejection::UnknownFamily
            },
            forget: false,
        };
    };
    if family.revoked.is_some() {
        // A revoked record is kept until it expires so that the family's other tokens keep
        // being refused as revoked rather than unknown, whether or not the user still exists.
        return Rotation::Refused {
            reason: RefreshRejection::Revoked,
            forget: false,
        };
    }
    let Some(user) = user else {
        // The user was written before the family, so it is visible everywhere by the time
        // the family's window closes; before that, its absence proves nothing.
        if family.may_be_unpropagated(now) {
            return Rotation::Refused {
                reason: RefreshRejection::NotYetVisible,
                forget: false,
            };
        }
        return Rotation::Refused {
            reason: RefreshRejection::UnknownUser,
            forget: true,
        };
    };
    if let Some(reason) = family.dead_reason(policy, user, now) {
        // A dead record may be deleted, except while the family is young: then its absence
        // would read as "not arrived yet", so it is left to expire.
        return Rotation::Refused {
            reason,
            forget: !family.may_be_unpropagated(now),
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
