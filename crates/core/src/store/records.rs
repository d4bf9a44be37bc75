//! The stored records and their keys: a public contract.
//!
//! The Worker reads and writes these, and `tollgate import` writes them for `wrangler kv bulk
//! put`, so their JSON shape and key layout are documented in the README ("Storage") and must
//! only ever grow optional fields.
//!
//! | namespace | key                          | value                         |
//! |-----------|------------------------------|-------------------------------|
//! | `USERS`   | `user:{id}`                  | [`UserRecord`] JSON           |
//! | `USERS`   | `email:{normalised email}`   | the user's id                 |
//! | `TOKENS`  | `family:{user id}:{family id}` | [`crate::refresh::Family`] JSON |

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::Id;
use crate::time::UnixSeconds;

/// The current user-record format version.
pub const USER_RECORD_VERSION: u32 = 1;

/// A user, as stored under `user:{id}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Format version ([`USER_RECORD_VERSION`]).
    pub v: u32,
    /// The user's id.
    pub id: Id,
    /// The normalised email (see [`crate::email::normalize_email`]).
    pub email: String,
    /// An argon2id PHC string, or a legacy hash (argon2i/d, bcrypt) awaiting re-hash at login.
    pub password_hash: String,
    /// The user's role (`user`, `admin`, or a role the deployment added).
    pub role: String,
    /// When the account was created.
    pub created_at: UnixSeconds,
    /// When the record last changed.
    pub updated_at: UnixSeconds,
    /// Bumped by logout-all, password change, role change: ends every older session.
    pub session_epoch: u64,
    /// When every session was last ended (0: never). Access tokens issued in an earlier second
    /// are refused wherever the user record is read, so those routes see a logout-all at once.
    /// (Token times are whole seconds; a token from the very second of the logout-all passes,
    /// so that the fresh token a client fetches right after a password change works.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_ended_at: UnixSeconds,
}

fn is_zero(t: &UnixSeconds) -> bool {
    *t == 0
}

/// `Debug` shows everything but the password hash, so a record can be logged safely.
impl core::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserRecord")
            .field("v", &self.v)
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("session_epoch", &self.session_epoch)
            .field("sessions_ended_at", &self.sessions_ended_at)
            .finish()
    }
}

/// The listing metadata kept beside `user:{id}`, so that an admin page of users costs one
/// list operation instead of one read per user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's id.
    pub id: Id,
    /// The normalised email.
    pub email: String,
    /// The role.
    pub role: String,
    /// When the account was created.
    pub created_at: UnixSeconds,
}

impl UserRecord {
    /// A new user at `now`, with no sessions yet.
    pub fn new(
        id: Id,
        email: String,
        password_hash: String,
        role: String,
        now: UnixSeconds,
    ) -> UserRecord {
        UserRecord {
            v: USER_RECORD_VERSION,
            id,
            email,
            password_hash,
            role,
            created_at: now,
            updated_at: now,
            session_epoch: 0,
            sessions_ended_at: 0,
        }
    }

    /// The record after ending every session at `now`: older refresh families stop (epoch)
    /// and older access tokens are refused where the record is read (`sessions_ended_at`).
    ///
    /// # Errors
    /// [`Error::Internal`] when `session_epoch` is already `u64::MAX`, which no number of real
    /// logouts reaches (only a corrupt or planted record): wrapping to 0 would make every
    /// earlier family valid again, and saturating would leave the current ones valid, so the
    /// change is refused and the record stays as it was.
    pub fn with_sessions_ended(self, now: UnixSeconds) -> Result<UserRecord, Error> {
        let Some(session_epoch) = self.session_epoch.checked_add(1) else {
            return Err(Error::Internal(alloc::format!(
                "corrupt record: user {} has session_epoch {}, so its sessions cannot be ended",
                self.id,
                u64::MAX
            )));
        };
        Ok(UserRecord {
            session_epoch,
            sessions_ended_at: now,
            updated_at: now,
            ..self
        })
    }

    /// The listing summary of this record.
    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id,
            email: self.email.clone(),
            role: self.role.clone(),
            created_at: self.created_at,
        }
    }
}

/// The key of a user record.
pub fn user_key(id: &Id) -> String {
    alloc::format!("user:{id}")
}

/// The prefix of all user records (for listing).
pub const USER_KEY_PREFIX: &str = "user:";

/// The key of the email index entry.
pub fn email_key(normalised_email: &str) -> String {
    alloc::format!("email:{normalised_email}")
}

/// The key of a refresh family.
pub fn family_key(user_id: &Id, family_id: &Id) -> String {
    alloc::format!("family:{user_id}:{family_id}")
}

/// The prefix of one user's refresh families (for listing their sessions).
pub fn family_key_prefix(user_id: &Id) -> String {
    alloc::format!("family:{user_id}:")
}
