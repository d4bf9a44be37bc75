//! Password reset and email ownership: the flows that hand out action tokens and take them
//! back (see [`crate::recovery`] for the tokens themselves).
//!
//! A flow that sends something returns the [`EmailMessage`] for the host to deliver after its
//! response (the Worker: in `waitUntil`, see `worker/src/delivery.rs`), so that neither
//! the delivery's time nor its failure is visible to the caller.

use alloc::string::String;

use super::Flows;
use super::login::account_key;
use super::throttle::{Limit, OnSuccess};
use crate::error::Error;
use crate::events::SecurityEvent;
use crate::password::check_policy;
use crate::random::Random;
use crate::recovery::{self, ActionKey, ActionRejection, PresentedAction, Purpose};
use crate::store::{ChangeRequest, Stores, UserChange, UserRecord};
use crate::throttle::address_bucket;
use crate::time::UnixSeconds;
use crate::webhook::{EmailKind, EmailMessage};

/// Lifetimes of action tokens, and whether login needs a verified address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a password-reset token works, in seconds (`PASSWORD_RESET_TTL_SECONDS`).
    pub password_reset_ttl_s: u64,
    /// How long a verification or email-change token works (`EMAIL_TOKEN_TTL_SECONDS`).
    pub email_token_ttl_s: u64,
    /// Whether a login with an unverified address is refused (`REQUIRE_VERIFIED_EMAIL`).
    pub require_verified_email: bool,
}

impl Default for RecoveryConfig {
    /// 30 minutes for a reset (ASVS 5.0 V6.4 asks for a short-lived reset secret; OWASP's
    /// Forgot Password cheat sheet suggests minutes), a day for an email link (it may sit in
    /// an inbox overnight), and verification not required.
    fn default() -> RecoveryConfig {
        RecoveryConfig {
            password_reset_ttl_s: 1800,
            email_token_ttl_s: 86_400,
            require_verified_email: false,
        }
    }
}

impl<S: Stores> Flows<'_, S> {
    /// Asks for a password reset for `email`, from a client at `client_address`: the message
    /// to send, or `None` when there is nothing to send (no such account, or a disabled one).
    ///
    /// Every request counts against two limits of the login throttle's mechanism (the
    /// policies of `LOGIN_MAX_FAILURES` and `LOGIN_MAX_FAILURES_PER_ADDRESS`, under keys of
    /// their own so that resets and logins never lock each other): per address asked for,
    /// whether it has an account or not, and per client address. An unknown address makes
    /// the same reads as a known one ([`Flows::find_by_email`]) and only the MAC differs,
    /// which costs microseconds; the host sends the message after its response.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`]; [`Error::StorageUnavailable`].
    pub async fn request_password_reset(
        &self,
        email: &str,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<Option<EmailMessage>, Error> {
        self.reserve_recovery(email, client_address, now).await?;
        let Some(user) = self
            .find_by_email(email)
            .await?
            .map(|(user, _)| user)
            .filter(|u| !u.disabled)
        else {
            self.events
                .record(SecurityEvent::PasswordResetRequested { user_id: None });
            return Ok(None);
        };
        let message = self.message(EmailKind::PasswordReset, &user, None, now);
        self.events.record(SecurityEvent::PasswordResetRequested {
            user_id: Some(user.id),
        });
        Ok(Some(message))
    }

    /// Sets a new password with a reset token: every session ends, and the account's login
    /// throttle is cleared (the owner proved who they are through their mailbox).
    ///
    /// # Errors
    /// [`Error::InvalidActionToken`] for a used, expired, tampered or foreign token (the
    /// token is checked against the sequencer's record, which never lags, and the change
    /// applies only while the hash is still the one the token was bound to);
    /// [`Error::Validation`] for a new password failing the policy (field `new_password`);
    /// [`Error::StorageUnavailable`].
    pub async fn confirm_password_reset<R: Random + ?Sized>(
        &self,
        token: &str,
        new_password: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<(), Error> {
        let (_, user) = self.checked(token, Purpose::PasswordReset, now).await?;
        check_policy(new_password).map_err(|e| super::account::rename_field(e, "new_password"))?;
        let password_hash = self.auth.hasher.hash(new_password, rng)?;
        let request = ChangeRequest {
            change: UserChange::ResetPassword {
                password_hash: password_hash.clone(),
                replaces: user.password_hash.clone(),
            },
            now,
            caller_issued_at: None,
        };
        // A change that does nothing answers the record as it stands: if it does not hold our
        // hash, the token was used meanwhile (or the account went).
        let after = self.store.change_user(&user.id, &request).await?;
        if after.is_none_or(|u| u.password_hash != password_hash) {
            return Err(self.refused(Purpose::PasswordReset, ActionRejection::Mismatch));
        }
        // Best effort: the password has changed either way, and a count left behind only
        // expires with its window.
        let _ = self.store.clear(&account_key(&user.email)).await;
        self.events
            .record(SecurityEvent::PasswordReset { user_id: user.id });
        Ok(())
    }

    /// Reserves a recovery request under its per-account and per-address limits.
    pub(super) async fn reserve_recovery(
        &self,
        email: &str,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let config = &self.auth.config;
        let account = Limit {
            key: alloc::format!("recovery:{}", account_key(email)),
            policy: config.account_throttle,
            on_success: OnSuccess::Keep,
            scope: "account",
        };
        let address = Limit {
            key: alloc::format!("recovery-address:{}", address_bucket(client_address)),
            policy: config.address_throttle,
            on_success: OnSuccess::Keep,
            scope: "address",
        };
        self.reserve_attempt(account, Some(address), now, |scope, retry_after_s| {
            SecurityEvent::RecoveryThrottled {
                scope,
                retry_after_s,
            }
        })
        .await?;
        Ok(())
    }

    /// A message of `kind` for `user` (to `to`, or their address), with a fresh token when the
    /// kind carries one.
    pub(super) fn message(
        &self,
        kind: EmailKind,
        user: &UserRecord,
        new_email: Option<&str>,
        now: UnixSeconds,
    ) -> EmailMessage {
        let recovery = &self.auth.config.recovery;
        let (purpose, ttl) = match kind {
            EmailKind::PasswordReset => (Purpose::PasswordReset, recovery.password_reset_ttl_s),
            EmailKind::EmailVerification => {
                (Purpose::EmailVerification, recovery.email_token_ttl_s)
            }
            EmailKind::EmailChange => (Purpose::EmailChange, recovery.email_token_ttl_s),
            EmailKind::EmailChangedNotice => {
                return EmailMessage {
                    kind,
                    to: user.email.clone(),
                    token: None,
                    expires_at: None,
                    user_id: user.id,
                };
            }
        };
        let expires_at = now.saturating_add(ttl);
        let token =
            ActionKey::derive(&self.auth.refresh_key).issue(purpose, user, new_email, expires_at);
        EmailMessage {
            kind,
            to: String::from(new_email.unwrap_or(&user.email)),
            token: Some(token),
            expires_at: Some(expires_at),
            user_id: user.id,
        }
    }

    /// Reads `token`, finds the user it names at the sequencer (never stale), and checks it
    /// for `purpose` at `now`.
    ///
    /// # Errors
    /// [`Error::InvalidActionToken`] (the reason is logged); [`Error::StorageUnavailable`].
    pub(super) async fn checked(
        &self,
        token: &str,
        purpose: Purpose,
        now: UnixSeconds,
    ) -> Result<(PresentedAction, UserRecord), Error> {
        let presented = recovery::read(token).map_err(|why| self.refused(purpose, why))?;
        if presented.purpose != purpose {
            return Err(self.refused(purpose, ActionRejection::WrongPurpose));
        }
        let user = self.store.get_user_current(&presented.user_id).await?;
        ActionKey::derive(&self.auth.refresh_key)
            .check(&presented, purpose, user.as_ref(), now)
            .map_err(|why| self.refused(purpose, why))?;
        let user = user.ok_or_else(|| self.refused(purpose, ActionRejection::UnknownUser))?;
        Ok((presented, user))
    }

    /// Records why a token was refused and returns the one error clients see.
    pub(super) fn refused(&self, purpose: Purpose, why: ActionRejection) -> Error {
        self.events.record(SecurityEvent::ActionTokenRejected {
            purpose: purpose.as_str(),
            reason: why.as_str(),
        });
        Error::InvalidActionToken
    }
}
