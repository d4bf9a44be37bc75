//! Email ownership: verifying the account's address, and moving the account to another one.
//!
//! The tokens are [`crate::recovery`]'s; sending is the host's (see [`super::recovery`]).

use super::Flows;
use crate::error::Error;
use crate::events::SecurityEvent;
use crate::recovery::{ActionRejection, Purpose};
use crate::roles::Principal;
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
}
