//! The login continuation (a login's second step) and TOTP management.
//!
//! A login whose password is right, for an account with a second factor, starts no session:
//! it lists a pending login in the user record and answers [`Error::MfaRequired`] with an
//! `mfa_token` ([`crate::mfa::mfa_token`]). The second step is three parts that every factor
//! shares:
//! - [`Flows::open_second_step`] finds the pending login from the token (at the user's
//!   sequencer, which never lags) and counts the attempt against the account and address
//!   throttles before anything is judged;
//! - the factor is checked by its own code (a TOTP code here; a passkey assertion elsewhere)
//!   into a [`VerifiedFactor`], or the attempt fails through [`Flows::second_step_failed`];
//! - [`Flows::complete_second_step`] has the sequencer consume the factor and the pending
//!   login in one compare-and-set, then starts the session with the factor's `amr`.

use alloc::string::String;
use alloc::vec::Vec;

use super::login::{LoginOutcome, account_limit, login_throttled};
use super::throttle::{Limit, Reservation};
use super::{Flows, principal_id, principal_record};
use crate::error::{Error, ErrorCode, MfaChallenge, TokenRejection};
use crate::events::SecurityEvent;
use crate::mfa::seal::SealKey;
use crate::mfa::{
    MFA_TOKEN_TTL_S, MfaToken, PendingLogin, SCOPE_MFA_ENROLL, TotpFactor, VerifiedFactor,
    recovery_codes, totp,
};
use crate::passkey::{Es256Verifier, RelyingParty};
use crate::password::Verified;
use crate::random::Random;
use crate::roles::{Principal, SCOPE_SESSIONS};
use crate::store::{ChangeError, ChangeRequest, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;

/// Second-factor settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaConfig {
    /// Roles whose accounts must have a second factor (`REQUIRE_MFA_FOR_ROLES`): without one,
    /// their tokens carry only [`SCOPE_MFA_ENROLL`].
    pub require_for_roles: Vec<String>,
    /// The issuer named in `otpauth://` URIs, what authenticator apps show above the code;
    /// empty: the host of the token issuer.
    pub totp_issuer: String,
}

impl MfaConfig {
    /// Whether accounts of `role` must have a second factor.
    pub fn requires_mfa(&self, role: &str) -> bool {
        self.require_for_roles.iter().any(|r| r == role)
    }
}

/// A new TOTP secret, for the user's authenticator app: shown once, inactive until a code of
/// it is confirmed. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The secret in base32 (for typing into an app).
    pub secret: String,
    /// The `otpauth://totp/` URI (for a QR code).
    pub otpauth_uri: String,
}

impl core::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TotpEnrolment { [redacted] }")
    }
}

/// What the second step of a login presents.
#[derive(Clone, Copy)]
pub enum MfaCode<'a> {
    /// A code from the authenticator app.
    Totp(&'a str),
    /// A recovery code.
    RecoveryCode(&'a str),
}

impl core::fmt::Debug for MfaCode<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MfaCode::Totp(_) => "Totp([redacted])",
            MfaCode::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

/// A pending login found from its `mfa_token`, with its attempt counted.
pub(super) struct SecondStep {
    /// The user, as the sequencer held it.
    pub user: UserRecord,
    /// The pending login's token hash.
    token: String,
    /// The pending login.
    pending: PendingLogin,
    /// The attempt, to settle after a success.
    reservation: Reservation,
}

impl<S: Stores> Flows<'_, S> {
    /// The sealing key of TOTP secrets (derived from the refresh key: one HMAC).
    fn seal_key(&self) -> SealKey {
        SealKey::from_refresh_key(&self.auth.refresh_key)
    }

    /// The `mfa_required` challenge for a login of `user` whose password was right: lists a
    /// pending login at the sequencer, narrowed to `scope`, and hands back its token. `None`
    /// when the sequencer's record has no second factor after all (this location's copy was
    /// older than a disabling): the login goes on without a second step.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] when the user is gone; [`Error::StorageUnavailable`].
    pub(super) async fn require_second_step<R: Random + ?Sized>(
        &self,
        user: &UserRecord,
        scope: Option<String>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Option<MfaChallenge>, Error> {
        let token = MfaToken::generate(user.id, rng);
        let request = ChangeRequest {
            change: UserChange::StartMfa {
                pending: PendingLogin {
                    token: token.hash(),
                    expires_at: now.saturating_add(MFA_TOKEN_TTL_S),
                    failures: 0,
                    scope,
                },
            },
            now,
            caller_issued_at: None,
        };
        let current = self
            .store
            .change_user(&user.id, &request)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        if !current.has_second_factor() {
            return Ok(None);
        }
        self.events
            .record(SecurityEvent::MfaRequired { user_id: user.id });
        Ok(Some(MfaChallenge {
            mfa_token: String::from(token.as_str()),
            methods: current.second_factor_methods(),
        }))
    }

    /// Completes a login that answered `mfa_required`, with a TOTP or recovery code: the
    /// normal token response, as a password login would have given.
    ///
    /// Every attempt is counted against the account's and the address's login throttles
    /// before the code is judged; a wrong code is also counted against the token, which dies
    /// at the fifth. A code is accepted once: its step (or the recovery code) is consumed at
    /// the user's sequencer together with the token.
    ///
    /// # Errors
    /// [`Error::MfaTokenInvalid`] for a token that is malformed, unknown, used, expired or
    /// dead; [`Error::TooManyAttempts`]; [`Error::InvalidCode`] for a wrong, used or
    /// out-of-window code; [`Error::AccountDisabled`]; [`Error::StorageUnavailable`].
    pub async fn verify_mfa<R: Random + ?Sized>(
        &self,
        mfa_token: &str,
        code: MfaCode<'_>,
        client_address: &str,
        user_agent: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<LoginOutcome, Error> {
        let step = self
            .open_second_step(mfa_token, client_address, now)
            .await?;
        let factor = match code {
            MfaCode::Totp(code) => self.check_totp(&step.user, code, now),
            MfaCode::RecoveryCode(code) => recovery_codes::hash(&step.user.id, code)
                .filter(|hash| step.user.mfa.recovery_codes.contains(hash))
                .map(|hash| VerifiedFactor::RecoveryCode { hash }),
        };
        match factor {
            Some(factor) => {
                self.complete_second_step(step, factor, user_agent, now, rng)
                    .await
            }
            None => Err(self.second_step_failed(&step, "wrong_code", now).await),
        }
    }

    /// `PublicKeyCredentialRequestOptionsJSON` for answering `mfa_required` with a passkey:
    /// a challenge bound to the account `mfa_token` names, so that only an assertion of that
    /// account's passkeys can use it. Reads and writes nothing: the token itself is judged
    /// when the assertion comes back ([`Flows::verify_mfa_passkey`]), and the options name no
    /// credential, so they tell nobody anything about the account.
    ///
    /// # Errors
    /// [`Error::MfaTokenInvalid`] for a token that does not parse.
    pub fn mfa_passkey_options<R: Random + ?Sized>(
        &self,
        rp: &RelyingParty,
        mfa_token: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<serde_json::Value, Error> {
        let token = MfaToken::parse(mfa_token).ok_or(Error::MfaTokenInvalid)?;
        Ok(self.passkey_login_options(rp, Some(&token.user_id), now, rng))
    }

    /// Completes a login that answered `mfa_required` with a passkey assertion (an
    /// `AuthenticationResponseJSON` for options from [`Flows::mfa_passkey_options`]): the
    /// attempt is counted as [`Flows::verify_mfa`] counts codes, the assertion must be of a
    /// passkey of the pending login's account with user verification, and a refused one counts
    /// against the token like a wrong code.
    ///
    /// # Errors
    /// As [`Flows::verify_mfa`], with [`Error::InvalidCode`] for a refused assertion (its
    /// reason goes to a `passkey_rejected` event).
    #[allow(clippy::too_many_arguments)]
    pub async fn verify_mfa_passkey<V: Es256Verifier + ?Sized, R: Random + ?Sized>(
        &self,
        rp: &RelyingParty,
        mfa_token: &str,
        assertion: &serde_json::Value,
        client_address: &str,
        user_agent: &str,
        now: UnixSeconds,
        es256: &V,
        rng: &mut R,
    ) -> Result<LoginOutcome, Error> {
        let step = self
            .open_second_step(mfa_token, client_address, now)
            .await?;
        match self
            .verify_passkey(rp, assertion, Some(&step.user.id), now, es256)
            .await
        {
            Ok(passkey) => {
                let factor = VerifiedFactor::Passkey {
                    key_amr: String::from(passkey.amr),
                };
                self.complete_second_step(step, factor, user_agent, now, rng)
                    .await
            }
            Err(Error::InvalidCredentials) => {
                Err(self.second_step_failed(&step, "wrong_passkey", now).await)
            }
            Err(e) => Err(e),
        }
    }

    /// The pending login of `mfa_token` and its user, read at the sequencer, with this
    /// attempt counted against the account and address throttles.
    ///
    /// # Errors
    /// [`Error::MfaTokenInvalid`]; [`Error::TooManyAttempts`]; [`Error::AccountDisabled`];
    /// [`Error::StorageUnavailable`].
    pub(super) async fn open_second_step(
        &self,
        mfa_token: &str,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<SecondStep, Error> {
        let token = MfaToken::parse(mfa_token).ok_or(Error::MfaTokenInvalid)?;
        let user = self
            .store
            .get_user_current(&token.user_id)
            .await?
            .ok_or(Error::MfaTokenInvalid)?;
        let hash = token.hash();
        let pending = user
            .mfa
            .pending_login(&hash, now)
            .cloned()
            .ok_or(Error::MfaTokenInvalid)?;
        let config = &self.auth.config;
        let reservation = self
            .reserve_attempt(
                account_limit(&user.email, config.account_throttle),
                Some(Limit::login_address(
                    client_address,
                    config.address_throttle,
                )),
                now,
                login_throttled,
            )
            .await?;
        if user.disabled {
            return Err(Error::AccountDisabled);
        }
        Ok(SecondStep {
            user,
            token: hash,
            pending,
            reservation,
        })
    }

    /// A wrong second factor: counted against the pending login at the sequencer (the fifth
    /// ends it; the attempt already counts against the throttles) and recorded. Returns the
    /// error to answer.
    pub(super) async fn second_step_failed(
        &self,
        step: &SecondStep,
        reason: &'static str,
        now: UnixSeconds,
    ) -> Error {
        let request = ChangeRequest {
            change: UserChange::FailMfa {
                token: step.token.clone(),
            },
            now,
            caller_issued_at: None,
        };
        self.events.record(SecurityEvent::MfaFailed {
            user_id: step.user.id,
            reason,
        });
        match self.store.change_user(&step.user.id, &request).await {
            Ok(_) => Error::InvalidCode,
            Err(e) => e.into(),
        }
    }

    /// Completes the login of `step` with a checked `factor`: the sequencer consumes the
    /// factor and the pending login at once (refused if either was used meanwhile, at this
    /// location or another), then the session starts with the login's scope and the factor's
    /// `amr`, and the account's throttle count is cleared. Any factor completes the same way:
    /// a new kind is a new [`VerifiedFactor`] variant.
    ///
    /// # Errors
    /// [`Error::InvalidCode`] when the factor was consumed meanwhile (counted as a wrong
    /// code); [`Error::MfaTokenInvalid`]; [`Error::StorageUnavailable`].
    pub(super) async fn complete_second_step<R: Random + ?Sized>(
        &self,
        step: SecondStep,
        factor: VerifiedFactor,
        user_agent: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<LoginOutcome, Error> {
        let request = ChangeRequest {
            change: UserChange::CompleteMfa {
                token: step.token.clone(),
                factor: factor.clone(),
            },
            now,
            caller_issued_at: None,
        };
        let user = match self.store.change_user(&step.user.id, &request).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(Error::MfaTokenInvalid),
            Err(ChangeError::Refused(Error::InvalidCode)) => {
                return Err(self.second_step_failed(&step, "code_used", now).await);
            }
            Err(e) => return Err(e.into()),
        };
        let tokens = self
            .start_session(
                &user,
                user_agent,
                step.pending.scope.clone(),
                factor.amr(),
                self.attempt_succeeded(&step.reservation),
                now,
                rng,
            )
            .await?;
        if let VerifiedFactor::RecoveryCode { .. } = factor {
            self.events.record(SecurityEvent::RecoveryCodeUsed {
                user_id: user.id,
                remaining: user.mfa.recovery_codes.len(),
            });
        }
        self.events.record(SecurityEvent::LoginSucceeded {
            user_id: user.id,
            session_id: tokens.session_id,
            rehashed: false,
        });
        Ok(LoginOutcome { tokens, user })
    }

    /// The TOTP factor `code` matches for `user` at `now`, if the account's confirmed secret
    /// opens and the code is of a step later than the last used.
    fn check_totp(
        &self,
        user: &UserRecord,
        code: &str,
        now: UnixSeconds,
    ) -> Option<VerifiedFactor> {
        let factor = user.mfa.confirmed_totp()?;
        self.totp_step(user, factor, code, now)
            .map(|step| VerifiedFactor::Totp {
                secret: factor.secret.clone(),
                step,
            })
    }

    /// The step of `factor` that `code` matches at `now`, if any (and later than the last).
    fn totp_step(
        &self,
        user: &UserRecord,
        factor: &TotpFactor,
        code: &str,
        now: UnixSeconds,
    ) -> Option<u64> {
        let secret = self.seal_key().open(&user.id, &factor.secret)?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        totp::matching_step(&secret, &code, now, factor.last_step)
    }

    /// The caller's record at the sequencer (enrolment changes what the next request reads,
    /// wherever it lands), if the token may still act for it, and may manage second factors:
    /// `sessions`, or `enrolling` and the enrolment scope.
    async fn mfa_caller(
        &self,
        principal: &Principal,
        enrolling: bool,
    ) -> Result<UserRecord, Error> {
        if !(enrolling && principal.has_scope(SCOPE_MFA_ENROLL)) {
            principal.require_scope(SCOPE_SESSIONS)?;
        }
        let id = principal_id(principal)?;
        principal_record(principal, self.store.get_user_current(&id).await?)
    }

    /// Counts an attempt against `user`'s account throttle, then checks `password` if given
    /// and `code` against the confirmed (or, `confirmed` false, the enrolling) TOTP factor if
    /// given. Returns the reservation to settle and the step the code matched.
    async fn check_proofs(
        &self,
        user: &UserRecord,
        password: Option<&str>,
        code: Option<(&str, bool)>,
        now: UnixSeconds,
    ) -> Result<(Reservation, Option<u64>), Error> {
        let limit = account_limit(&user.email, self.auth.config.account_throttle);
        let reservation = self
            .reserve_attempt(limit, None, now, login_throttled)
            .await?;
        if let Some(password) = password
            && !matches!(
                self.auth.hasher.verify(password, &user.password_hash),
                Ok(Verified::Match { .. })
            )
        {
            return Err(Error::IncorrectPassword);
        }
        let step = match code {
            Some((code, confirmed)) => {
                let factor = user
                    .mfa
                    .totp
                    .as_ref()
                    .filter(|t| t.confirmed_at.is_some() == confirmed)
                    .ok_or(Error::NotFound)?;
                Some(
                    self.totp_step(user, factor, code, now)
                        .ok_or(Error::InvalidCode)?,
                )
            }
            None => None,
        };
        Ok((reservation, step))
    }

    /// Sends `change` for the caller to the sequencer.
    async fn change_own(
        &self,
        principal: &Principal,
        user: &UserRecord,
        change: UserChange,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        let request = ChangeRequest {
            change,
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        self.store
            .change_user(&user.id, &request)
            .await?
            .ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))
    }

    /// Starts TOTP enrolment for the caller, who confirms with their password (counted
    /// against the account throttle): a new secret, inactive until
    /// [`Flows::confirm_totp`]. Asking again before confirming replaces it.
    ///
    /// # Errors
    /// [`Error::Forbidden`] without `sessions` (or the enrolment scope);
    /// [`Error::TotpAlreadyEnabled`]; [`Error::TooManyAttempts`]; [`Error::IncorrectPassword`];
    /// [`Error::StorageUnavailable`].
    pub async fn enrol_totp<R: Random + ?Sized>(
        &self,
        principal: &Principal,
        current_password: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<TotpEnrolment, Error> {
        let user = self.mfa_caller(principal, true).await?;
        if user.mfa.confirmed_totp().is_some() {
            return Err(Error::TotpAlreadyEnabled);
        }
        let (reservation, _) = self
            .check_proofs(&user, Some(current_password), None, now)
            .await?;
        self.attempt_succeeded(&reservation).await?;
        let mut secret = [0u8; totp::SECRET_BYTES];
        rng.fill(&mut secret);
        let sealed = self.seal_key().seal(&user.id, &secret, rng);
        let change = UserChange::EnrolTotp {
            secret: sealed.clone(),
        };
        let after = self.change_own(principal, &user, change, now).await?;
        if after.mfa.totp.as_ref().map(|t| &t.secret) != Some(&sealed) {
            return Err(Error::TotpAlreadyEnabled);
        }
        Ok(TotpEnrolment {
            secret: totp::base32(&secret),
            otpauth_uri: totp::otpauth_uri(&self.totp_issuer(), &user.email, &secret),
        })
    }

    /// The issuer authenticator apps show: configured, or the token issuer's host.
    fn totp_issuer(&self) -> String {
        let config = &self.auth.config;
        if !config.mfa.totp_issuer.is_empty() {
            return config.mfa.totp_issuer.clone();
        }
        let issuer = config.token.issuer.as_str();
        let host = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
        String::from(host.split('/').next().unwrap_or(host))
    }

    /// Confirms the enrolling TOTP secret with a code of it (counted against the account
    /// throttle; the code is consumed): TOTP is on from now, and the first set of recovery
    /// codes is returned, to be shown once (only their hashes are kept).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::TotpAlreadyEnabled`]; [`Error::NotFound`] when no
    /// enrolment is waiting; [`Error::TooManyAttempts`]; [`Error::InvalidCode`];
    /// [`Error::StorageUnavailable`].
    pub async fn confirm_totp<R: Random + ?Sized>(
        &self,
        principal: &Principal,
        code: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Vec<String>, Error> {
        let user = self.mfa_caller(principal, true).await?;
        if user.mfa.confirmed_totp().is_some() {
            return Err(Error::TotpAlreadyEnabled);
        }
        let (reservation, step) = self
            .check_proofs(&user, None, Some((code, false)), now)
            .await?;
        let (shown, hashes) = recovery_codes::generate(&user.id, rng);
        let secret = user.mfa.totp.as_ref().map(|t| t.secret.clone());
        let change = UserChange::ConfirmTotp {
            secret: secret.unwrap_or_default(),
            step: step.unwrap_or_default(),
            recovery_codes: hashes,
        };
        self.change_own(principal, &user, change, now).await?;
        self.attempt_succeeded(&reservation).await?;
        self.events
            .record(SecurityEvent::TotpEnabled { user_id: user.id });
        Ok(shown)
    }

    /// Turns TOTP off, with the current password and a current code (both counted against the
    /// account throttle; the code is consumed); the recovery codes go with it.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`] when TOTP is not on; [`Error::TooManyAttempts`];
    /// [`Error::IncorrectPassword`]; [`Error::InvalidCode`]; [`Error::StorageUnavailable`].
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        current_password: &str,
        code: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let user = self.mfa_caller(principal, false).await?;
        let secret = user
            .mfa
            .confirmed_totp()
            .ok_or(Error::NotFound)?
            .secret
            .clone();
        let (reservation, step) = self
            .check_proofs(&user, Some(current_password), Some((code, true)), now)
            .await?;
        let change = UserChange::DisableTotp {
            secret,
            step: step.unwrap_or_default(),
        };
        self.change_own(principal, &user, change, now).await?;
        self.attempt_succeeded(&reservation).await?;
        self.events
            .record(SecurityEvent::TotpDisabled { user_id: user.id });
        Ok(())
    }

    /// Replaces the caller's recovery codes with a new set (returned, to be shown once),
    /// proved by the current password or a current code (counted against the account
    /// throttle; a code is consumed). The old codes stop working at once.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::Validation`] (field `current_password`, `missing_field`)
    /// when neither is given; [`Error::NotFound`] when TOTP is not on;
    /// [`Error::TooManyAttempts`]; [`Error::IncorrectPassword`]; [`Error::InvalidCode`];
    /// [`Error::StorageUnavailable`].
    pub async fn regenerate_recovery_codes<R: Random + ?Sized>(
        &self,
        principal: &Principal,
        current_password: Option<&str>,
        code: Option<&str>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Vec<String>, Error> {
        if current_password.is_none() && code.is_none() {
            return Err(Error::field("current_password", ErrorCode::MissingField));
        }
        let user = self.mfa_caller(principal, false).await?;
        let secret = user
            .mfa
            .confirmed_totp()
            .ok_or(Error::NotFound)?
            .secret
            .clone();
        let (reservation, step) = self
            .check_proofs(&user, current_password, code.map(|c| (c, true)), now)
            .await?;
        let (shown, hashes) = recovery_codes::generate(&user.id, rng);
        let change = UserChange::SetRecoveryCodes {
            recovery_codes: hashes,
            secret,
            step,
        };
        self.change_own(principal, &user, change, now).await?;
        self.attempt_succeeded(&reservation).await?;
        self.events
            .record(SecurityEvent::RecoveryCodesRegenerated { user_id: user.id });
        Ok(shown)
    }
}
