//! What an account has enrolled, and its logins waiting for a second step: the `mfa` member
//! of the user record, and how each change to it is decided.
//!
//! Every change here runs at the user's sequencer ([`crate::store::UserRecord::apply`]) on the
//! current record, so the checks that make a code single-use are compare-and-set: a TOTP step
//! is accepted only if it is later than [`TotpFactor::last_step`], a recovery code only while
//! its hash is in the set, a pending login only while it is listed, unexpired and not dead.
//! Two locations presenting the same code at once reach the one sequencer one after the
//! other, and the second finds the step used.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{AMR_MFA, AMR_OTP, AMR_PASSWORD, AMR_USER, MAX_MFA_FAILURES};
use crate::error::Error;
use crate::time::UnixSeconds;

/// Most logins one account may have waiting for their second step: a new one beyond this
/// pushes out the oldest (only someone with the password can start one).
pub const MAX_PENDING_LOGINS: usize = 8;

/// An account's second factors and pending second steps (absent from records without any).
/// Its `Debug` shows counts, never a hash.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRecord {
    /// The TOTP factor, confirmed or still being enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpFactor>,
    /// SHA-256 hashes of the unused recovery codes ([`super::recovery_codes`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_codes: Vec<String>,
    /// Logins whose password was right and that wait for their second step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingLogin>,
}

/// A TOTP secret and the last step a code of it was accepted for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The secret, sealed ([`super::seal`]).
    pub secret: String,
    /// When the first code confirmed it; absent while enrolment waits for that code (the
    /// factor is not used for logins until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<UnixSeconds>,
    /// The last RFC 6238 step a code was accepted for: no code of it or an earlier step is
    /// accepted again.
    #[serde(default)]
    pub last_step: u64,
}

impl core::fmt::Debug for MfaRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MfaRecord")
            .field("totp", &self.totp)
            .field("recovery_codes", &self.recovery_codes.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl core::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TotpFactor")
            .field("secret", &"[sealed]")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A login whose password was right, waiting for its second step. Its `Debug` leaves out the
/// token hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// [`super::MfaToken::hash`] of its `mfa_token`.
    pub token: String,
    /// When the token stops being accepted.
    pub expires_at: UnixSeconds,
    /// Wrong codes so far; at [`MAX_MFA_FAILURES`] the login is dropped.
    #[serde(default)]
    pub failures: u32,
    /// The scopes the login asked for, kept for the session it will start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl core::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("expires_at", &self.expires_at)
            .field("failures", &self.failures)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A second factor that has been checked, and what the sequencer must consume for it.
///
/// The continuation's completion ([`MfaRecord::complete`], and the login flow's
/// `complete_second_step`) takes one of these, whatever the factor: another factor (a passkey
/// assertion) is one more variant, with one arm in [`MfaRecord::complete`] saying what it
/// consumes and one in [`VerifiedFactor::amr`] (and its name in [`VerifiedFactor::method`]).
/// Its `Debug` names the method only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedFactor {
    /// A TOTP code of `step`, computed from the sealed secret `secret`.
    Totp {
        /// The sealed secret the code was checked against (the factor must still be it).
        secret: String,
        /// The step the code matched.
        step: u64,
    },
    /// A recovery code, by its stored hash.
    RecoveryCode {
        /// The hash.
        hash: String,
    },
    /// A passkey assertion with user verification, already checked and its counter recorded
    /// at the sequencer (`Flows::verify_passkey`); nothing more to consume.
    Passkey {
        /// The key's own `amr`: `hwk` (device-bound) or `swk` (synced).
        key_amr: String,
    },
}

impl core::fmt::Debug for VerifiedFactor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VerifiedFactor::{}", self.method())
    }
}

impl VerifiedFactor {
    /// The `amr` values (RFC 8176 §2) of a password login completed with this factor. A
    /// recovery code is a lookup secret, for which RFC 8176 has no value of its own: such a
    /// login is `pwd` and `mfa`.
    pub fn amr(&self) -> Vec<String> {
        let values: &[&str] = match self {
            VerifiedFactor::Totp { .. } => &[AMR_PASSWORD, AMR_OTP, AMR_MFA],
            VerifiedFactor::RecoveryCode { .. } => &[AMR_PASSWORD, AMR_MFA],
            VerifiedFactor::Passkey { key_amr } => {
                return [AMR_PASSWORD, key_amr.as_str(), AMR_USER, AMR_MFA]
                    .iter()
                    .map(|v| String::from(*v))
                    .collect();
            }
        };
        values.iter().map(|v| String::from(*v)).collect()
    }

    /// The name of the method in `methods` and in events.
    pub fn method(&self) -> &'static str {
        match self {
            VerifiedFactor::Totp { .. } => "totp",
            VerifiedFactor::RecoveryCode { .. } => "recovery_code",
            VerifiedFactor::Passkey { .. } => "passkey",
        }
    }
}

impl MfaRecord {
    /// Whether there is nothing to store (the record leaves the member out).
    pub fn is_empty(&self) -> bool {
        *self == MfaRecord::default()
    }

    /// The confirmed TOTP factor, if any.
    pub fn confirmed_totp(&self) -> Option<&TotpFactor> {
        self.totp.as_ref().filter(|t| t.confirmed_at.is_some())
    }

    /// Whether the account has a second factor that a login must pass.
    pub fn has_second_factor(&self) -> bool {
        self.confirmed_totp().is_some()
    }

    /// What a second step may use, as listed in `mfa_required`'s `methods`.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.confirmed_totp().is_some() {
            methods.push("totp");
        }
        if !self.recovery_codes.is_empty() {
            methods.push("recovery_code");
        }
        methods
    }

    /// The pending login of the token hash `token`, if it is still good at `now`.
    pub fn pending_login(&self, token: &str, now: UnixSeconds) -> Option<&PendingLogin> {
        self.pending
            .iter()
            .find(|p| p.token == token && now < p.expires_at && p.failures < MAX_MFA_FAILURES)
    }

    /// With `pending` added, expired ones dropped, and the oldest dropped past
    /// [`MAX_PENDING_LOGINS`].
    pub(crate) fn with_pending(&self, pending: PendingLogin, now: UnixSeconds) -> MfaRecord {
        let mut next = self.without_expired(now);
        while next.pending.len() >= MAX_PENDING_LOGINS {
            next.pending.remove(0);
        }
        next.pending.push(pending);
        next
    }

    fn without_expired(&self, now: UnixSeconds) -> MfaRecord {
        MfaRecord {
            pending: self
                .pending
                .iter()
                .filter(|p| now < p.expires_at && p.failures < MAX_MFA_FAILURES)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The record after `factor` completed the pending login `token` at `now`: the login is
    /// gone and the factor consumed.
    ///
    /// # Errors
    /// [`Error::MfaTokenInvalid`] when the login is not pending (used, expired, dead, never
    /// made); [`Error::InvalidCode`] when the factor was already consumed (a TOTP step at or
    /// before the last used, a recovery code no longer in the set) or has changed since it
    /// was checked.
    pub(crate) fn complete(
        &self,
        token: &str,
        factor: &VerifiedFactor,
        now: UnixSeconds,
    ) -> Result<MfaRecord, Error> {
        if self.pending_login(token, now).is_none() {
            return Err(Error::MfaTokenInvalid);
        }
        let mut next = self.without_expired(now);
        next.pending.retain(|p| p.token != token);
        match factor {
            VerifiedFactor::Totp { secret, step } => {
                next.totp = Some(self.use_step(secret, *step, true)?);
            }
            VerifiedFactor::RecoveryCode { hash } => {
                let before = next.recovery_codes.len();
                next.recovery_codes.retain(|h| h != hash);
                if next.recovery_codes.len() == before {
                    return Err(Error::InvalidCode);
                }
            }
            // Its use was recorded with its counter (`UserChange::PasskeyUsed`) before this.
            VerifiedFactor::Passkey { .. } => {}
        }
        Ok(next)
    }

    /// The TOTP factor after a code of `step` was accepted: only if the factor's secret is
    /// still `secret`, confirmed (or, for the confirming code, `confirmed` false: pending), and
    /// `step` is later than the last used.
    ///
    /// # Errors
    /// [`Error::InvalidCode`] otherwise.
    pub(crate) fn use_step(
        &self,
        secret: &str,
        step: u64,
        confirmed: bool,
    ) -> Result<TotpFactor, Error> {
        match &self.totp {
            Some(t)
                if t.secret == secret
                    && t.confirmed_at.is_some() == confirmed
                    && step > t.last_step =>
            {
                Ok(TotpFactor {
                    last_step: step,
                    ..t.clone()
                })
            }
            _ => Err(Error::InvalidCode),
        }
    }

    /// The record after one more wrong code for the pending login `token` (dropped at
    /// [`MAX_MFA_FAILURES`]); unchanged if it is not pending.
    pub(crate) fn with_failure(&self, token: &str, now: UnixSeconds) -> MfaRecord {
        let mut next = self.without_expired(now);
        for p in next.pending.iter_mut().filter(|p| p.token == token) {
            p.failures = p.failures.saturating_add(1);
        }
        next.without_expired(now)
    }
}
