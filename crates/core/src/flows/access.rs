//! What an access token is worth after its session ends: `ACCESS_TOKEN_REVOCATION`.
//!
//! Access tokens are self-contained, so by default a route that reads nothing but the token
//! accepts one until it expires, even after its session ended: that is `expiry`, and the
//! token's lifetime (15 minutes by default) is the window. With `session`, every route that
//! accepts a bearer token reads the user's record once and refuses the token if its account is
//! gone or disabled, if the user's sessions were ended after it was issued (logout-all,
//! password or role change), or if its own session was ended (logout, a revoked session, reuse
//! detection), which is then listed in the record for the token's lifetime
//! ([`crate::store::ended_sessions`]). Routes whose flow reads the record anyway (profile,
//! sessions, password change, admin) always check; the setting adds the read to the others and
//! the listing to single-session endings.

use super::{Flows, principal_id, principal_record};
use crate::error::Error;
use crate::id::Id;
use crate::roles::Principal;
use crate::store::{ChangeRequest, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;

/// How long an access token outlives the end of its session (`ACCESS_TOKEN_REVOCATION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessTokenRevocation {
    /// `expiry`: routes that read only the token accept it until it expires. No storage read.
    #[default]
    Expiry,
    /// `session`: every bearer route checks the token's session against the user record, one
    /// read per request.
    Session,
}

impl AccessTokenRevocation {
    /// The setting's value as configured: `expiry` or `session`.
    pub fn parse(value: &str) -> Option<AccessTokenRevocation> {
        match value {
            "expiry" => Some(AccessTokenRevocation::Expiry),
            "session" => Some(AccessTokenRevocation::Session),
            _ => None,
        }
    }
}

/// `user`, if a token of `principal` may still act for it: the account exists and is
/// enabled, its sessions were not all ended after the token was issued, and the token's own
/// session is not listed as ended. What a guard that reads the user record itself applies.
///
/// # Errors
/// [`Error::InvalidToken`] naming which of these failed.
pub fn check_principal(
    principal: &Principal,
    user: Option<UserRecord>,
) -> Result<UserRecord, Error> {
    principal_record(principal, user)
}

impl<S: Stores> Flows<'_, S> {
    /// Checks that `principal`'s session is still live, with one read of the user record,
    /// when the deployment revokes access tokens with their session; does nothing (and reads
    /// nothing) with `expiry`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] as [`check_principal`] says; [`Error::StorageUnavailable`].
    pub async fn check_access(&self, principal: &Principal) -> Result<(), Error> {
        match self.auth.config.access_token_revocation {
            AccessTokenRevocation::Expiry => Ok(()),
            AccessTokenRevocation::Session => self.principal_user(principal).await.map(|_| ()),
        }
    }

    /// The caller's record for display (`/me`): a copy that may lag, unless access tokens are
    /// revoked with their session, when the record the decisions see is read instead.
    pub(super) async fn principal_user_for_display(
        &self,
        principal: &Principal,
    ) -> Result<UserRecord, Error> {
        let id = principal_id(principal)?;
        let user = match self.auth.config.access_token_revocation {
            AccessTokenRevocation::Expiry => self.store.get_user_replica(&id).await?,
            AccessTokenRevocation::Session => self.store.get_user(&id).await?,
        };
        principal_record(principal, user)
    }

    /// Lists the session `family_id` of `user_id`, ended at `now`, in the user's record until
    /// its access tokens have expired, when the deployment revokes them with their session (a
    /// call to the user's sequencer); nothing otherwise. A user that no longer exists has no
    /// tokens left to refuse.
    pub(super) async fn revoke_access_tokens(
        &self,
        user_id: &Id,
        family_id: &Id,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        if self.auth.config.access_token_revocation == AccessTokenRevocation::Expiry {
            return Ok(());
        }
        let token = &self.auth.config.token;
        let request = ChangeRequest {
            change: UserChange::EndSession {
                family: *family_id,
                until: now
                    .saturating_add(token.ttl_s)
                    .saturating_add(token.leeway_s),
            },
            now,
            caller_issued_at: None,
        };
        self.store.change_user(user_id, &request).await?;
        Ok(())
    }
}
