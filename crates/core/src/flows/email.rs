//! Email ownership: verifying the account's address, and moving the account to another one.
//!
//! The tokens are [`crate::recovery`]'s; sending is the host's (see [`super::recovery`]).

use alloc::vec::Vec;

use super::Flows;
use super::login::{account_limit, login_throttled};
use crate::email::{Email, parse_email};
use crate::error::{Error, ErrorCode};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::password::Verified;
use crate::recovery::{ActionRejection, Purpose};
use crate::roles::{Principal, SCOPE_PROFILE};
use crate::store::{ChangeRequest, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;
use crate::webhook::{EmailKind, EmailMessage};

impl<S: Stores> Flows<'_, S> {
    /// The first verification message of a new account (registration is throttled already).
    pub fn verification_message(&self, user: &UserRecord, now: UnixSeconds) -> EmailMessage {
        self.events
            .record(SecurityEvent::EmailVerificationRequested { user_id: user.id });
        self.message(EmailKind::EmailVerification, user, None, now)
    }

    /// A verification message for the caller's current address, or `None` when it is verified
    /// already. Throttled like a password reset (per address and per client address).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the caller's account is gone, disabled or signed out;
    /// [`Error::TooManyAttempts`]; [`Error::StorageUnavailable`].
    pub async fn request_email_verification(
        &self,
        principal: &Principal,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<Option<EmailMessage>, Error> {
        let user = self.principal_user(principal).await?;
        self.reserve_recovery(&user.email, client_address, now)
            .await?;
        if user.email_verified_at.is_some() {
            return Ok(None);
        }
        Ok(Some(self.verification_message(&user, now)))
    }

    /// After a login refused with [`Error::EmailNotVerified`]: a fresh verification message
    /// for `username`'s account, throttled like a reset; `None` when there is nothing to send.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`]; [`Error::StorageUnavailable`].
    pub async fn resend_verification(
        &self,
        username: &str,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<Option<EmailMessage>, Error> {
        self.reserve_recovery(username, client_address, now).await?;
        Ok(self
            .find_by_email(username)
            .await?
            .map(|(user, _)| user)
            .filter(|u| !u.disabled && u.email_verified_at.is_none())
            .map(|u| self.verification_message(&u, now)))
    }

    /// Marks the address a verification token was sent to as verified. Confirming twice is
    /// no error; the token dies if the address changes before it is used.
    ///
    /// # Errors
    /// [`Error::InvalidActionToken`]; [`Error::StorageUnavailable`].
    pub async fn confirm_email(&self, token: &str, now: UnixSeconds) -> Result<(), Error> {
        let (_, user) = self.checked(token, Purpose::EmailVerification, now).await?;
        let request = ChangeRequest {
            change: UserChange::VerifyEmail {
                email: user.email.clone(),
            },
            now,
            caller_issued_at: None,
        };
        let after = self.store.change_user(&user.id, &request).await?;
        // A change that does nothing answers the record as it stands: verified is verified,
        // but an address that moved on meanwhile is not the one the token proved.
        if after.is_none_or(|u| u.email != user.email || u.email_verified_at.is_none()) {
            return Err(self.refused(Purpose::EmailVerification, ActionRejection::Mismatch));
        }
        if user.email_verified_at.is_none() {
            self.events
                .record(SecurityEvent::EmailVerified { user_id: user.id });
        }
        Ok(())
    }

    /// Asks to move the caller's account to `new_email`, confirmed with the current password
    /// (counted against the account throttle first, like a password change): the messages to
    /// send, an `email_change` token to the new address and an `email_changed_notice` to the
    /// old one. Nothing changes until the new address confirms.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`]; [`Error::IncorrectPassword`]; [`Error::Validation`] for
    /// `new_email` (not an address: `invalid_email`; the current one: `invalid_value`);
    /// [`Error::EmailTaken`] when another account has it; [`Error::StorageUnavailable`].
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        new_email: &str,
        current_password: &str,
        now: UnixSeconds,
    ) -> Result<Vec<EmailMessage>, Error> {
        principal.require_scope(SCOPE_PROFILE)?;
        let user = self.principal_user(principal).await?;
        let new_email = parse_email(new_email)
            .map_err(|_| Error::field("new_email", ErrorCode::InvalidEmail))?;
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
        // The same address in another case is the same identity: nothing to move.
        if new_email.key == Email::of_stored(&user.email).key {
            return Err(Error::field("new_email", ErrorCode::InvalidValue));
        }
        // Checked again, atomically, when the change is confirmed (the claim): this is only
        // the early answer.
        if self.store.find_user_id(&new_email.key).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        let change = self.message(EmailKind::EmailChange, &user, Some(&new_email.address), now);
        let notice = self.message(EmailKind::EmailChangedNotice, &user, None, now);
        self.events
            .record(SecurityEvent::EmailChangeRequested { user_id: user.id });
        Ok(alloc::vec![change, notice])
    }

    /// Moves the account to the address an email-change token names: the new address is
    /// claimed (uniqueness is decided here, atomically), indexed, then the record changes at
    /// its sequencer (verified, every session but `keep` ended), then the old address is
    /// released. A failure before the record changes undoes the claim, and the token still
    /// works for a retry.
    ///
    /// # Errors
    /// [`Error::InvalidActionToken`] (also when the address changed since the token was
    /// issued); [`Error::EmailTaken`] when another account took the address meanwhile;
    /// [`Error::StorageUnavailable`].
    pub async fn confirm_email_change(
        &self,
        token: &str,
        keep: Option<&Principal>,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let (presented, user) = self.checked(token, Purpose::EmailChange, now).await?;
        let new_email = presented
            .new_email
            .as_deref()
            .and_then(|e| parse_email(e).ok())
            .ok_or_else(|| self.refused(Purpose::EmailChange, ActionRejection::Malformed))?;
        // Claimed and indexed under its key, the identity in any case.
        let key = new_email.key.as_str();
        self.claim(key, &user.id, now).await?;
        if let Err(e) = self.store.bind_email(key, &user.id).await {
            let _ = self.store.release_email(key, &user.id).await;
            return Err(e.into());
        }
        // The caller's own session goes on when they confirm from it.
        let keep = keep
            .filter(|p| Id::parse(&p.user_id) == Some(user.id))
            .and_then(|p| Id::parse(&p.session_id));
        let request = ChangeRequest {
            change: UserChange::SetEmail {
                email: new_email.address.clone(),
                replaces: user.email.clone(),
                keep,
            },
            now,
            caller_issued_at: None,
        };
        let after = match self.store.change_user(&user.id, &request).await {
            Ok(after) => after,
            Err(e) => {
                let _ = self.store.release_email(key, &user.id).await;
                return Err(e.into());
            }
        };
        if after.is_none_or(|u| u.email != new_email.address) {
            let _ = self.store.release_email(key, &user.id).await;
            return Err(self.refused(Purpose::EmailChange, ActionRejection::Mismatch));
        }
        // Best effort: the account has moved; an old entry left behind points at a record
        // with another address, which every lookup treats as unknown.
        // Under the old address's key, and the key the previous rule gave it, if that differs
        // (as deleting a user releases them).
        let old = Email::of_stored(&user.email);
        let _ = self.store.release_email(&old.key, &user.id).await;
        if let Some(legacy) = old.legacy_key() {
            let _ = self.store.release_email(legacy, &user.id).await;
        }
        self.events
            .record(SecurityEvent::EmailChanged { user_id: user.id });
        Ok(())
    }
}
