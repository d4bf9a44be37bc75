//! What a signed-in user does with their own account: profile, sessions, password.

use alloc::string::String;
use alloc::vec::Vec;

use super::login::{account_limit, login_throttled};
use super::{Flows, principal_id};
use crate::error::{Error, FieldError, TokenRejection};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::password::{Verified, check_policy};
use crate::random::Random;
use crate::roles::{Principal, SCOPE_PROFILE, SCOPE_SESSIONS};
use crate::store::{ChangeRequest, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;

/// One live session, as listed to its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session (refresh family) id.
    pub id: Id,
    /// When the user logged in.
    pub created_at: UnixSeconds,
    /// When it last refreshed.
    pub last_used_at: UnixSeconds,
    /// The browser or client that logged in.
    pub user_agent: String,
    /// Whether this is the session of the calling token.
    pub current: bool,
}

impl<S: Stores> Flows<'_, S> {
    /// The caller's own record (one read).
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `profile` scope; [`Error::InvalidToken`] when the
    /// account no longer exists.
    pub async fn me(&self, principal: &Principal) -> Result<UserRecord, Error> {
        principal.require_scope(SCOPE_PROFILE)?;
        self.principal_user_for_display(principal).await
    }

    /// The caller's live sessions, most recently used first.
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `sessions` scope; [`Error::InvalidToken`] when the
    /// account no longer exists.
    pub async fn sessions(
        &self,
        principal: &Principal,
        now: UnixSeconds,
    ) -> Result<Vec<SessionInfo>, Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        let user = self.principal_user(principal).await?;
        let policy = &self.auth.config.refresh;
        let mut sessions: Vec<SessionInfo> = self
            .store
            .list_families(&user.id)
            .await?
            .into_iter()
            .filter(|f| f.dead_reason(policy, &user.sessions(), now).is_none())
            .map(|f| SessionInfo {
                current: f.id.to_hyphenated() == principal.session_id,
                id: f.id,
                created_at: f.created_at,
                last_used_at: f.last_used_at,
                user_agent: f.user_agent,
            })
            .collect();
        sessions.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// Ends one of the caller's sessions at `now` by writing its revocation marker (see
    /// [`crate::refresh::family`], "Ending a session").
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `sessions` scope; [`Error::NotFound`] when the caller
    /// has no such live session.
    pub async fn revoke_session_at(
        &self,
        principal: &Principal,
        session_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        self.check_access(principal).await?;
        let user_id = Id::parse(&principal.user_id).ok_or(Error::NotFound)?;
        let family_id = Id::parse(session_id).ok_or(Error::NotFound)?;
        // A revoked family is a session that has already ended (and is not listed).
        let stored = self.store.get_family(&user_id, &family_id).await?;
        let Some(family) = stored
            .record
            .filter(|f| f.revoked.is_none() && stored.revoked.is_none())
        else {
            return Err(Error::NotFound);
        };
        self.end_session(&user_id, &family_id, family.created_at, now)
            .await?;
        self.events.record(SecurityEvent::SessionRevoked {
            user_id,
            session_id: family_id,
        });
        Ok(())
    }

    /// Ends every session of the caller by moving their session epoch on, at the user's
    /// sequencer (one call; no family is listed). Access tokens already issued are refused
    /// wherever the user record is read; routes that read only the token accept them until
    /// they expire.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the account no longer exists or the caller's sessions were
    /// already ended.
    pub async fn logout_all(&self, principal: &Principal, now: UnixSeconds) -> Result<(), Error> {
        // The sequencer checks the epoch; a session ended on its own is in the record.
        self.check_access(principal).await?;
        let id = principal_id(principal)?;
        let request = ChangeRequest {
            change: UserChange::EndSessions,
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        self.store
            .change_user(&id, &request)
            .await?
            .ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))?;
        self.events
            .record(SecurityEvent::LoggedOutAll { user_id: id });
        Ok(())
    }

    /// Changes the caller's password and ends every other session; the calling session
    /// goes on. Each attempt is counted against the account throttle before the current password
    /// is judged, like a login; the right one clears the count.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`]; [`Error::IncorrectPassword`]; [`Error::Validation`] for a
    /// new password failing the policy (field `new_password`); [`Error::StorageUnavailable`].
    pub async fn change_password<R: Random + ?Sized>(
        &self,
        principal: &Principal,
        current_password: &str,
        new_password: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<(), Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        let user = self.principal_user(principal).await?;
        // Counted before the current password is judged, like a login (see `flows::throttle`).
        let limit = account_limit(&user.email, self.auth.config.account_throttle);
        let reservation = self
            .reserve_attempt(limit, None, now, login_throttled)
            .await?;
        if !matches!(
            self.auth
                .hasher
                .verify(current_password, &user.password_hash),
            Ok(Verified::Match { .. })
        ) {
            return Err(Error::IncorrectPassword);
        }
        self.attempt_succeeded(&reservation).await?;
        check_policy(new_password).map_err(|e| rename_field(e, "new_password"))?;
        let password_hash = self.auth.hasher.hash(new_password, rng)?;
        // At the sequencer: the caller's own session goes on (it becomes the record's
        // `kept_session`), every other one ends, and a caller whose token an ending elsewhere
        // already revoked is refused there even if this location has not seen it.
        let request = ChangeRequest {
            change: UserChange::SetPassword {
                password_hash,
                keep: Id::parse(&principal.session_id),
            },
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        self.store
            .change_user(&user.id, &request)
            .await?
            .ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))?;
        self.events
            .record(SecurityEvent::PasswordChanged { user_id: user.id });
        Ok(())
    }
}

/// The policy reports problems with field `password`; the change-password body calls it
/// `new_password`.
pub(super) fn rename_field(e: Error, field: &str) -> Error {
    match e {
        Error::Validation(errors) => Error::Validation(
            errors
                .into_iter()
                .map(|f| FieldError::new(field, f.code))
                .collect(),
        ),
        other => other,
    }
}
