//! Sessions ended one at a time, remembered in the user record while their access tokens live.
//!
//! With `ACCESS_TOKEN_REVOCATION = "session"` (see [`crate::flows::AccessTokenRevocation`]),
//! every route that accepts an access token reads its user's record, once, and refuses the
//! token if its session has ended. Endings of every session at once already show there
//! (`sessions_ended_at`); a logout, a revoked session or reuse detection ends one family,
//! whose revocation marker sits in another key. So that the check stays one read, those
//! endings are also listed in the record, through its sequencer, for as long as an access
//! token of the family could still be accepted ([`EndedSession::until`]), and no longer.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::id::Id;
use crate::time::UnixSeconds;

/// The most sessions a record lists as ended at once. Only a user ending this many sessions
/// one by one within one access-token lifetime reaches it; the next ending then ends every
/// session ([`UserRecord::apply`](super::UserRecord::apply)), failing closed rather than
/// forgetting an ending or letting the record grow without bound.
pub const MAX_ENDED_SESSIONS: usize = 32;

/// One session ended on its own, listed until its access tokens have expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedSession {
    /// The session (refresh family) id, the `sid` of its access tokens.
    pub family: Id,
    /// When every access token of the session issued before the ending has expired (the
    /// ending's time plus the token lifetime and leeway): the entry is dropped after it.
    pub until: UnixSeconds,
}

/// `listed` without the entries that have served their time at `now` and without `family`.
pub(crate) fn without_expired(
    listed: &[EndedSession],
    family: Option<&Id>,
    now: UnixSeconds,
) -> Vec<EndedSession> {
    listed
        .iter()
        .filter(|e| e.until > now && Some(&e.family) != family)
        .copied()
        .collect()
}

/// Whether `listed` names the session `session_id` (an access token's `sid`).
pub fn lists(listed: &[EndedSession], session_id: &str) -> bool {
    Id::parse(session_id).is_some_and(|sid| listed.iter().any(|e| e.family == sid))
}
