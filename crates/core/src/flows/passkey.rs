//! Passkeys: registering one on a signed-in account, signing in with one (no password),
//! listing and removing them.
//!
//! The checks themselves are [`crate::passkey`]'s; this module adds the account and the
//! storage: the challenge's single use (a strongly consistent reservation, see
//! [`crate::passkey::challenge`]), the user record's passkeys (changed only at the user's
//! sequencer), and the session a sign-in starts ([`Flows::start_session`], the one a password
//! login starts).
//!
//! A discoverable sign-in names its account by the user handle the authenticator returns
//! (the account id's 16 bytes, set at registration): one read of the user record finds the
//! passkey, so no credential-id index has to be kept in step with the records.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use super::Flows;
use super::login::LoginOutcome;
use crate::error::{Error, ErrorCode, TokenRejection};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::mfa::{AMR_MFA, AMR_USER};
use crate::passkey::challenge::{CHALLENGE_TTL_S, Checked};
use crate::passkey::{
    self, Ceremony, ChallengeKey, Es256Verifier, Rejection, RelyingParty, StoredPasskey,
};
use crate::random::Random;
use crate::roles::{Principal, SCOPE_SESSIONS};
use crate::store::{ChangeError, ChangeRequest, Stores, UserChange, UserRecord};
use crate::throttle::{Admission, ThrottlePolicy};
use crate::time::UnixSeconds;

/// A passkey assertion that passed every check, its challenge used up and its counter
/// recorded at the account's sequencer: what a sign-in, or a second step of one, goes on
/// with.
#[derive(Clone, Debug)]
pub struct VerifiedPasskey {
    /// The account, as its sequencer holds it after the sign-in was recorded.
    pub user: UserRecord,
    /// The credential id (base64url).
    pub credential_id: String,
    /// Whether the user was verified (UV): always true, since Tollgate requires it.
    pub user_verified: bool,
    /// The RFC 8176 `amr` value of the key: `hwk` (device-bound) or `swk` (synced).
    pub amr: &'static str,
}

/// How long a challenge's use is remembered: its lifetime from the moment it is used, and
/// a minute for clocks that differ between locations. After that the challenge has expired.
const USE_RECORD: ThrottlePolicy = ThrottlePolicy {
    max_failures: 1,
    window_s: CHALLENGE_TTL_S + 60,
};

/// The `amr` (RFC 8176) of a sign-in with a passkey alone: the key (`hwk` or `swk`), the
/// user-presence test, and `mfa`, since Tollgate requires user verification (a PIN or a
/// biometric on the authenticator) on top of possession of the key.
fn passkey_amr(key_amr: &str) -> Vec<String> {
    [key_amr, AMR_USER, AMR_MFA]
        .iter()
        .map(|v| String::from(*v))
        .collect()
}

impl<S: Stores> Flows<'_, S> {
    fn challenge_key(&self) -> ChallengeKey {
        ChallengeKey::derive(&self.auth.refresh_key)
    }

    fn rejected(&self, user_id: Option<Id>, reason: Rejection) {
        self.events.record(SecurityEvent::PasskeyRejected {
            user_id,
            reason: reason.as_str(),
        });
    }

    /// `PublicKeyCredentialCreationOptionsJSON` for adding a passkey to the caller's account.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for a caller whose sessions ended; [`Error::Forbidden`] without
    /// the `sessions` scope; [`Error::StorageUnavailable`].
    pub async fn passkey_registration_options<R: Random + ?Sized>(
        &self,
        principal: &Principal,
        rp: &RelyingParty,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Value, Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        let user = self.principal_user(principal).await?;
        let challenge = self
            .challenge_key()
            .issue(Ceremony::Register, Some(&user.id), now, rng);
        Ok(passkey::options::creation(
            rp,
            &user.id,
            &user.email,
            &challenge,
            &user.passkeys,
        ))
    }

    /// Adds the passkey of a `RegistrationResponseJSON` to the caller's account, after every
    /// check of [`passkey::verify_registration`] and its challenge's (issued for this account,
    /// unexpired, used once).
    ///
    /// # Errors
    /// [`Error::Validation`] (field `credential`, `invalid_value`) for a refused registration,
    /// a credential already registered, or an account at [`passkey::MAX_PASSKEYS`];
    /// [`Error::InvalidToken`]; [`Error::Forbidden`]; [`Error::StorageUnavailable`].
    pub async fn register_passkey(
        &self,
        principal: &Principal,
        rp: &RelyingParty,
        response: &Value,
        now: UnixSeconds,
    ) -> Result<StoredPasskey, Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        let user = self.principal_user(principal).await?;
        let refuse = |reason: Rejection| {
            self.rejected(Some(user.id), reason);
            Error::field("credential", ErrorCode::InvalidValue)
        };
        let new = passkey::verify_registration(rp, response, now).map_err(refuse)?;
        let checked = self
            .challenge_key()
            .check(&new.challenge, Ceremony::Register, Some(&user.id), now)
            .map_err(refuse)?;
        self.consume(&checked, now, Some(user.id)).await?;
        let request = ChangeRequest {
            change: UserChange::AddPasskey {
                passkey: new.passkey.clone(),
            },
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        match self.store.change_user(&user.id, &request).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(Error::InvalidToken(TokenRejection::UnknownSubject)),
            Err(ChangeError::Refused(Error::Validation(_))) => {
                return Err(refuse(Rejection::CredentialNotAccepted));
            }
            Err(e) => return Err(e.into()),
        }
        self.events.record(SecurityEvent::PasskeyRegistered {
            user_id: user.id,
            credential_id: new.passkey.id.clone(),
        });
        Ok(new.passkey)
    }

    /// Uses up `checked`, telling a storage failure (503) from a reuse (refused).
    async fn consume(
        &self,
        checked: &Checked,
        now: UnixSeconds,
        user_id: Option<Id>,
    ) -> Result<(), Error> {
        match self.store.reserve(&checked.use_key, USE_RECORD, now).await {
            Ok(Admission::Allowed) => Ok(()),
            Ok(Admission::Refused { .. }) => {
                self.rejected(user_id, Rejection::ChallengeReused);
                Err(match user_id {
                    // Registration (the caller is known): the credential field is refused.
                    Some(_) => Error::field("credential", ErrorCode::InvalidValue),
                    None => Error::InvalidCredentials,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `PublicKeyCredentialRequestOptionsJSON` for a discoverable sign-in (or, with `user`,
    /// a second step for that account). Writes nothing.
    pub fn passkey_login_options<R: Random + ?Sized>(
        &self,
        rp: &RelyingParty,
        user: Option<&Id>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Value {
        let challenge = self
            .challenge_key()
            .issue(Ceremony::Authenticate, user, now, rng);
        passkey::options::request(rp, &challenge)
    }

    /// Verifies an `AuthenticationResponseJSON`: the account its user handle names (which
    /// must be `user`, when the caller already knows who is signing in), the passkey in it,
    /// every check of [`passkey::verify_assertion`], the challenge (issued for this purpose
    /// and `user`, unexpired, used once), and the sign counter ([`passkey::counter_grew`]),
    /// here and at the account's sequencer, which also finds the passkey still there. Starts nothing: [`Flows::passkey_login`] starts a
    /// session with the result, and a login's second step may consume it the same way.
    ///
    /// Whether the account is disabled is the caller's to decide.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for any refusal (the reason goes to a
    /// `passkey_rejected` event); [`Error::StorageUnavailable`].
    pub async fn verify_passkey<V: Es256Verifier + ?Sized>(
        &self,
        rp: &RelyingParty,
        response: &Value,
        user: Option<&Id>,
        now: UnixSeconds,
        es256: &V,
    ) -> Result<VerifiedPasskey, Error> {
        let refuse = |user_id: Option<Id>, reason: Rejection| {
            self.rejected(user_id, reason);
            Error::InvalidCredentials
        };
        let assertion = passkey::read_assertion(response).map_err(|r| refuse(None, r))?;
        // WebAuthn Level 3 §7.2 step 6: the user handle names the account; it may be absent
        // only when the account was identified before the ceremony (`user`), and then, if
        // present, must be that account.
        let named = match assertion.user_handle.as_deref() {
            None => user.copied(),
            Some(h) => <[u8; 16]>::try_from(h).ok().map(Id::from_bytes),
        };
        let Some(id) = named.filter(|n| user.is_none_or(|u| u == n)) else {
            return Err(refuse(None, Rejection::UnknownCredential));
        };
        let record = self.store.get_user(&id).await?;
        let Some(stored) = record
            .as_ref()
            .and_then(|r| r.passkeys.iter().find(|p| p.id == assertion.credential_id))
        else {
            return Err(refuse(record.map(|r| r.id), Rejection::UnknownCredential));
        };
        let verified = passkey::verify_assertion(rp, &assertion, stored, es256)
            .await
            .map_err(|r| refuse(Some(id), r))?;
        let checked = self
            .challenge_key()
            .check(&verified.challenge, Ceremony::Authenticate, user, now)
            .map_err(|r| refuse(Some(id), r))?;
        self.consume(&checked, now, None).await?;
        // Here against this location's copy, and again at the sequencer below.
        passkey::counter_grew(stored.sign_count, verified.sign_count)
            .map_err(|r| refuse(Some(id), r))?;
        let amr = stored.amr();
        // At the sequencer, on the current record: a passkey removed at another location, or
        // a counter another sign-in already reached, refuses this one.
        let request = ChangeRequest {
            change: UserChange::PasskeyUsed {
                id: verified.credential_id.clone(),
                sign_count: verified.sign_count,
            },
            now,
            caller_issued_at: None,
        };
        let user = match self.store.change_user(&id, &request).await {
            Ok(Some(user)) => user,
            Ok(None) | Err(ChangeError::Refused(Error::InvalidCredentials)) => {
                return Err(refuse(Some(id), Rejection::CounterNotIncreased));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(VerifiedPasskey {
            user,
            credential_id: verified.credential_id,
            user_verified: verified.user_verified,
            amr,
        })
    }

    /// Signs in with a passkey, no password: [`Flows::verify_passkey`] for a discoverable
    /// credential, then the session a password login starts. A disabled account, or an
    /// unverified address where `REQUIRE_VERIFIED_EMAIL` is set, is refused as login refuses
    /// it.
    ///
    /// # Errors
    /// As [`Flows::verify_passkey`]; [`Error::AccountDisabled`]; [`Error::EmailNotVerified`].
    pub async fn passkey_login<V: Es256Verifier + ?Sized, R: Random + ?Sized>(
        &self,
        rp: &RelyingParty,
        response: &Value,
        user_agent: &str,
        now: UnixSeconds,
        es256: &V,
        rng: &mut R,
    ) -> Result<LoginOutcome, Error> {
        let verified = self.verify_passkey(rp, response, None, now, es256).await?;
        let user = verified.user;
        let refused = |reason: &'static str, e: Error| {
            self.events.record(SecurityEvent::LoginFailed {
                user_id: Some(user.id),
                reason,
            });
            Err(e)
        };
        if user.disabled {
            return refused("account_disabled", Error::AccountDisabled);
        }
        if self.auth.config.recovery.require_verified_email && user.email_verified_at.is_none() {
            return refused("email_not_verified", Error::EmailNotVerified);
        }
        let tokens = self
            .start_session(
                &user,
                user_agent,
                None,
                passkey_amr(verified.amr),
                async { Ok(()) },
                now,
                rng,
            )
            .await?;
        self.events.record(SecurityEvent::LoginSucceeded {
            user_id: user.id,
            session_id: tokens.session_id,
            rehashed: false,
        });
        Ok(LoginOutcome { tokens, user })
    }

    /// The caller's passkeys.
    ///
    /// # Errors
    /// [`Error::InvalidToken`]; [`Error::Forbidden`]; [`Error::StorageUnavailable`].
    pub async fn passkeys(&self, principal: &Principal) -> Result<Vec<StoredPasskey>, Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        Ok(self.principal_user_for_display(principal).await?.passkeys)
    }

    /// Removes the caller's passkey `id` (base64url credential id), unless it is the
    /// account's last way to sign in (decided at the sequencer, on the current record).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::LastLoginMethod`]; [`Error::InvalidToken`];
    /// [`Error::Forbidden`]; [`Error::StorageUnavailable`].
    pub async fn remove_passkey(
        &self,
        principal: &Principal,
        id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        principal.require_scope(SCOPE_SESSIONS)?;
        let user = self.principal_user(principal).await?;
        let request = ChangeRequest {
            change: UserChange::RemovePasskey { id: id.into() },
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        self.store
            .change_user(&user.id, &request)
            .await?
            .ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))?;
        self.events.record(SecurityEvent::PasskeyRemoved {
            user_id: user.id,
            credential_id: id.into(),
        });
        Ok(())
    }
}
