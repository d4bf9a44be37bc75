//! What a signed-in user does with their own account: profile, sessions, password.

use alloc::string::String;
use alloc::vec::Vec;

use super::Flows;
use super::login::{account_limit, login_throttled};
use crate::error::{Error, FieldError};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::password::{Verified, check_policy};
use crate::random::Random;
use crate::roles::{Principal, SCOPE_PROFILE, SCOPE_SESSIONS};
use crate::store::{Stores, UserRecord};
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
        self.principal_user(principal).await
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
            .filter(|f| f.dead_reason(policy, user.session_epoch, now).is_none())
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

    /// Ends one of the caller's sessions at `now`: a session still in its propagation window
    /// ([`crate::refresh::family::PROPAGATION_WINDOW_S`]) is overwritten with a revoked record
    /// that storage keeps until that window closes, an older one is deleted (see
    /// [`crate::refresh::family`]).
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
        let user_id = Id::parse(&principal.user_id).ok_or(Error::NotFound)?;
        let family_id = Id::parse(session_id).ok_or(Error::NotFound)?;
        // A revoked record is a session that has already ended (and is not listed).
        let Some(family) = self
            .store
            .get_family(&user_id, &family_id)
            .await?
            .filter(|f| f.revoked.is_none())
        else {
            return Err(Error::NotFound);
        };
        self.end_family(&family, now).await?;
        self.events.record(SecurityEvent::SessionRevoked {
            user_id,
            session_id: family_id,
        });
        Ok(())
    }

    /// Ends every session of the caller by moving their session epoch on (one read, one
    /// write; no family is listed). Access tokens already issued are refused wherever the
    /// user record is read; routes that read only the token accept them until they expire.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the account no longer exists.
    pub async fn logout_all(&self, principal: &Principal, now: UnixSeconds) -> Result<(), Error> {
        let user = self.principal_user(principal).await?;
        let user = user.with_sessions_ended(now)?;
        self.store.put_user(&user).await?;
        self.events
            .record(SecurityEvent::LoggedOutAll { user_id: user.id });
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
        let user = UserRecord {
            password_hash,
            ..user.with_sessions_ended(now)?
        };
        let epoch = user.session_epoch;
        self.store.put_user(&user).await?;
        // The epoch bump ended every session; carry the caller's own across it. If this write
        // fails the password is still changed and the caller simply signs in again.
        if let Some(family_id) = Id::parse(&principal.session_id)
            && let Ok(Some(mut family)) = self.store.get_family(&user.id, &family_id).await
        {
            family.epoch = epoch;
            let expires = family.storage_expiration(&self.auth.config.refresh, now);
            let _ = self.store.put_family(&family, expires).await;
        }
        self.events
            .record(SecurityEvent::PasswordChanged { user_id: user.id });
        Ok(())
    }
}

/// The policy reports problems with field `password`; the change-password body calls it
/// `new_password`.
fn rename_field(e: Error, field: &str) -> Error {
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
