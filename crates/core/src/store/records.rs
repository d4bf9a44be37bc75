//! The stored records and their keys: a public contract.
//!
//! The Worker reads and writes these, and `tollgate import` writes them for `wrangler kv bulk
//! put`, so their JSON shape and key layout are documented in the README ("Storage") and must
//! only ever grow optional fields.
//!
//! | namespace | key                          | value                         |
//! |-----------|------------------------------|-------------------------------|
//! | `USERS`   | `user:{id}`                  | [`UserRecord`] JSON           |
//! | `USERS`   | `email:{email key}`          | the user's id                 |
//! | `TOKENS`  | `family:{user id}:{family id}` | [`crate::refresh::Family`] JSON |
//! | `TOKENS`  | `revoked:{user id}:{family id}` | `reuse` or `ended` ([`RevokeReason::as_str`]) |
//!
//! # Who writes a user record
//!
//! KV resolves concurrent writes to a key last-write-wins, by the writer's clock, on the whole
//! value. A location that changed a copy it read before another location's change arrived
//! would write the older facts back: a stale logout-all could restore a demoted admin's role.
//! So a user record is never written from a copy read at an edge location: every change is a
//! [`UserChange`], applied by the record's *sequencer* (the Worker's per-user Durable Object,
//! see [`crate::store::UserStore::change_user`]) to the current record, and written to KV from
//! there, in order. Edge locations only read records.
//!
//! # Email keys
//!
//! The index key is [`crate::email::fold_email`] of the address (the whole address with its
//! ASCII letters lower-cased); the record's `email` keeps the address as typed. Entries written
//! before that rule are under the address itself, and are still read (see
//! [`crate::email::Email::legacy_key`]).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{Error, TokenRejection};
use crate::id::Id;
use crate::mfa::{MfaRecord, PendingLogin, TotpFactor, VerifiedFactor};
use crate::oidc::LinkedIdentity;
use crate::passkey::StoredPasskey;
use crate::refresh::RevokeReason;
use crate::time::UnixSeconds;

use super::ended_sessions::{self, EndedSession, MAX_ENDED_SESSIONS};

/// The current user-record format version.
pub const USER_RECORD_VERSION: u32 = 1;

/// A user, as stored under `user:{id}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Format version ([`USER_RECORD_VERSION`]).
    pub v: u32,
    /// The user's id.
    pub id: Id,
    /// The address as typed, trimmed with its domain lower-cased
    /// ([`crate::email::normalize_email`]): shown and mailed at. The account is found by its
    /// key, [`crate::email::fold_email`] of this.
    pub email: String,
    /// An argon2id PHC string, or a legacy hash (argon2i/d, bcrypt) awaiting re-hash at login.
    pub password_hash: String,
    /// The user's role (`user`, `admin`, or a role the deployment added).
    pub role: String,
    /// When the account was created.
    pub created_at: UnixSeconds,
    /// When the record last changed.
    pub updated_at: UnixSeconds,
    /// Bumped by logout-all, password change, role change, disabling or enabling: ends every older session.
    pub session_epoch: u64,
    /// When every session was last ended (0: never). Access tokens issued in an earlier second
    /// are refused wherever the user record is read, so those routes see a logout-all at once.
    /// (Token times are whole seconds; a token from the very second of the logout-all passes,
    /// so that the fresh token a client fetches right after a password change works.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_ended_at: UnixSeconds,
    /// The one session that outlived the last session ending: the session of a password
    /// change, which ends every *other* session. Cleared by the next ending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_session: Option<KeptSession>,
    /// Set while an admin has disabled the account (absent when false): no login, refresh or
    /// access token of the user is accepted. Disabling also ended every session.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Sessions ended one at a time (logout, a revoked session, reuse) whose access tokens may
    /// not have expired yet: listed only with `ACCESS_TOKEN_REVOCATION = "session"`, so that
    /// checking an access token stays one read (see [`super::ended_sessions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<EndedSession>,
    /// When the account's current address was shown to reach its owner (a verification link
    /// followed, or an address change confirmed from the new address); absent while it has
    /// not been. An address change moves it with the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified_at: Option<UnixSeconds>,
    /// Second factors and logins waiting for their second step (absent while there are none;
    /// see [`crate::mfa::state`]).
    #[serde(default, skip_serializing_if = "MfaRecord::is_empty")]
    pub mfa: MfaRecord,
    /// The account's passkeys (absent: none). Changed only through [`UserChange::AddPasskey`],
    /// [`UserChange::RemovePasskey`] and [`UserChange::PasskeyUsed`], so that a removal and a
    /// counter check are decided on the current record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<StoredPasskey>,
    /// The identities at providers linked to the account (at most one per provider), each
    /// also indexed as `identity:{provider}:{subject}` (see [`crate::oidc::identity_key`]).
    /// Absent when there are none, so records written before it read unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<LinkedIdentity>,
}

/// A session exempt from the latest session ending (see [`UserRecord::kept_session`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptSession {
    /// The session (refresh family) id.
    pub family: Id,
    /// The session epoch the family was started or carried in, before the ending.
    pub epoch: u64,
}

/// A change to a user record, applied by its sequencer to the current record
/// ([`UserRecord::apply`]): never a whole record computed from a copy that may be stale.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserChange {
    /// Ends every session (logout-all, an admin ending a user's sessions).
    EndSessions,
    /// Sets the role, and ends every session so that it applies from the next login.
    SetRole {
        /// The new role (checked against the deployment's roles by the caller).
        role: String,
    },
    /// Sets a new password hash and ends every session but `keep` (the changer's own).
    SetPassword {
        /// The new hash (argon2id PHC).
        password_hash: String,
        /// The session that goes on, if any.
        keep: Option<Id>,
    },
    /// Replaces the stored hash with an upgraded hash of the same password, only if the stored
    /// hash is still `replaces`: a password changed meanwhile is never overwritten.
    Rehash {
        /// The upgraded hash.
        password_hash: String,
        /// The hash that was verified and is being upgraded.
        replaces: String,
    },
    /// Disables or enables the account. Both end every session, as a role change does: a
    /// disabled account has none that should go on, and a session started after an enabling
    /// is then of a later epoch than any disabled copy of the record knows, so a location that
    /// has not seen the enabling yet does not end it (see [`UserRecord::sessions`]). Enabling
    /// an enabled account, or disabling a disabled one, changes nothing.
    SetDisabled {
        /// Whether the account is disabled from now on.
        disabled: bool,
    },
    /// Lists one session as ended until `until`, so that its access tokens are refused where
    /// the record is read (see [`super::ended_sessions`]). Entries past their time go.
    EndSession {
        /// The session (refresh family) that ended.
        family: Id,
        /// When its last access token has expired.
        until: UnixSeconds,
    },
    /// A password reset: sets a new hash and ends every session, only if the stored hash is
    /// still `replaces`, the one the reset token was checked against. A token confirmed twice,
    /// at once or at two locations, changes the password once (the second finds the hash
    /// replaced: nothing happens).
    ResetPassword {
        /// The new hash (argon2id PHC).
        password_hash: String,
        /// The hash the reset token was bound to.
        replaces: String,
    },
    /// Marks the address verified, only if it is still `email` (the address the verification
    /// was sent to); an already verified address keeps its first time.
    VerifyEmail {
        /// The address the verification token was bound to.
        email: String,
    },
    /// Moves the account from `replaces` to `email` (already claimed for it), verified by the
    /// change itself, and ends every session but `keep`. Nothing happens if the address is no
    /// longer `replaces`.
    SetEmail {
        /// The new (normalised) address.
        email: String,
        /// The address the email-change token was bound to.
        replaces: String,
        /// The session that goes on (the confirming caller's), if any.
        keep: Option<Id>,
    },
    /// Lists a login whose password was right as waiting for its second step; nothing
    /// happens unless the account has a second factor.
    StartMfa {
        /// The pending login.
        pending: PendingLogin,
    },
    /// Completes the pending login `token` with `factor`, consuming the factor (see
    /// [`MfaRecord::complete`]): refused unless both are still good.
    CompleteMfa {
        /// The pending login's token hash.
        token: String,
        /// The checked factor.
        factor: VerifiedFactor,
    },
    /// Counts a wrong code against the pending login `token`.
    FailMfa {
        /// The pending login's token hash.
        token: String,
    },
    /// Starts TOTP enrolment with a new sealed secret, replacing an unconfirmed one; nothing
    /// happens if TOTP is already confirmed.
    EnrolTotp {
        /// The sealed secret.
        secret: String,
    },
    /// Confirms the enrolling secret `secret` with a code of `step`, and stores the first
    /// set of recovery codes: refused unless `secret` is still the one enrolling.
    ConfirmTotp {
        /// The sealed secret the code was checked against.
        secret: String,
        /// The step the code matched.
        step: u64,
        /// The recovery codes' hashes.
        recovery_codes: Vec<String>,
    },
    /// Removes TOTP and the recovery codes, consuming the code of `step` that proved it.
    DisableTotp {
        /// The sealed secret the code was checked against.
        secret: String,
        /// The step the code matched.
        step: u64,
    },
    /// Replaces the recovery codes while TOTP `secret` is confirmed, consuming the code of
    /// `step` if one proved the change.
    SetRecoveryCodes {
        /// The new set's hashes.
        recovery_codes: Vec<String>,
        /// The confirmed TOTP factor's sealed secret.
        secret: String,
        /// The step of the code that proved the change, if a code did.
        step: Option<u64>,
    },
    /// An admin removes every second factor and pending login of the account.
    ResetMfa,
    /// Adds a passkey; refused (a validation error on `credential`) if the account already
    /// holds its credential id or [`crate::passkey::MAX_PASSKEYS`] passkeys.
    AddPasskey {
        /// The verified passkey.
        passkey: StoredPasskey,
    },
    /// Removes the passkey with credential id `id`: refused as not found if there is none,
    /// and as `last_login_method` when it is the account's last way to sign in
    /// ([`UserRecord::sign_in_methods`]).
    RemovePasskey {
        /// The credential id (base64url).
        id: String,
    },
    /// Records a sign-in with passkey `id` and its counter. Refused (`invalid_credentials`)
    /// if the passkey is gone, or if the counter did not grow where either side keeps one:
    /// decided here, on the current record, so that two locations cannot both accept one
    /// counter value.
    PasskeyUsed {
        /// The credential id (base64url).
        id: String,
        /// The counter the assertion carried.
        sign_count: u32,
    },
    /// Links an identity at a provider. Linking the same identity again changes nothing; an
    /// account that already has another identity at that provider refuses it
    /// ([`Error::AccountExists`]): one per provider, so that unlinking names it by provider.
    LinkIdentity {
        /// The identity.
        identity: LinkedIdentity,
    },
    /// Unlinks the identity at `provider`, unless it is the account's last way to sign in
    /// ([`Error::LastLoginMethod`], decided here, on the current record, so two unlinks at
    /// once cannot both pass). Nothing happens if none is linked.
    UnlinkIdentity {
        /// The provider's name.
        provider: String,
    },
}

/// `Debug` names the change and never prints a hash.
impl core::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UserChange::EndSessions => f.write_str("EndSessions"),
            UserChange::SetRole { role } => f.debug_struct("SetRole").field("role", role).finish(),
            UserChange::SetPassword { keep, .. } => f
                .debug_struct("SetPassword")
                .field("password_hash", &"[redacted]")
                .field("keep", keep)
                .finish(),
            UserChange::Rehash { .. } => f.write_str("Rehash { [redacted] }"),
            UserChange::SetDisabled { disabled } => f
                .debug_struct("SetDisabled")
                .field("disabled", disabled)
                .finish(),
            UserChange::EndSession { family, until } => f
                .debug_struct("EndSession")
                .field("family", family)
                .field("until", until)
                .finish(),
            UserChange::ResetPassword { .. } => f.write_str("ResetPassword { [redacted] }"),
            UserChange::VerifyEmail { email } => {
                f.debug_struct("VerifyEmail").field("email", email).finish()
            }
            UserChange::SetEmail { email, keep, .. } => f
                .debug_struct("SetEmail")
                .field("email", email)
                .field("keep", keep)
                .finish_non_exhaustive(),
            UserChange::StartMfa { .. } => f.write_str("StartMfa { [redacted] }"),
            UserChange::CompleteMfa { factor, .. } => f
                .debug_struct("CompleteMfa")
                .field("factor", &factor.method())
                .finish_non_exhaustive(),
            UserChange::FailMfa { .. } => f.write_str("FailMfa { [redacted] }"),
            UserChange::EnrolTotp { .. } => f.write_str("EnrolTotp { [redacted] }"),
            UserChange::ConfirmTotp { step, .. } => f
                .debug_struct("ConfirmTotp")
                .field("step", step)
                .finish_non_exhaustive(),
            UserChange::DisableTotp { step, .. } => f
                .debug_struct("DisableTotp")
                .field("step", step)
                .finish_non_exhaustive(),
            UserChange::SetRecoveryCodes { step, .. } => f
                .debug_struct("SetRecoveryCodes")
                .field("step", step)
                .finish_non_exhaustive(),
            UserChange::ResetMfa => f.write_str("ResetMfa"),
            UserChange::AddPasskey { passkey } => f
                .debug_struct("AddPasskey")
                .field("id", &passkey.id)
                .finish_non_exhaustive(),
            UserChange::RemovePasskey { id } => {
                f.debug_struct("RemovePasskey").field("id", id).finish()
            }
            UserChange::PasskeyUsed { id, sign_count } => f
                .debug_struct("PasskeyUsed")
                .field("id", id)
                .field("sign_count", sign_count)
                .finish(),
            UserChange::LinkIdentity { identity } => f
                .debug_struct("LinkIdentity")
                .field("provider", &identity.provider)
                .finish_non_exhaustive(),
            UserChange::UnlinkIdentity { provider } => f
                .debug_struct("UnlinkIdentity")
                .field("provider", provider)
                .finish(),
        }
    }
}

/// A [`UserChange`] with who asks for it and when: what a sequencer is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// The change.
    pub change: UserChange,
    /// When the change is made (the request's time).
    pub now: UnixSeconds,
    /// When the caller's access token was issued, if the caller is the user themselves: the
    /// change is refused if their sessions were ended after that (a location that has not
    /// seen the ending yet must not act on a token that ending revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_issued_at: Option<UnixSeconds>,
}

fn is_zero(t: &UnixSeconds) -> bool {
    *t == 0
}

fn is_false(b: &bool) -> bool {
    !*b
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
            .field("kept_session", &self.kept_session)
            .field("disabled", &self.disabled)
            .field("ended_sessions", &self.ended_sessions)
            .field("email_verified_at", &self.email_verified_at)
            .field("mfa", &self.mfa)
            .field("passkeys", &self.passkeys.len())
            .field("identities", &self.identities)
            .finish()
    }
}

/// A user's session state as refresh families are judged against it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    /// The user's session epoch: families started in an earlier one have ended.
    pub epoch: u64,
    /// The one family of the previous epoch that goes on (a password change's own session).
    pub kept: Option<KeptSession>,
}

impl SessionState {
    /// Whether a family started or carried in `family_epoch` was ended by a later epoch.
    pub fn ends(&self, family: &Id, family_epoch: u64) -> bool {
        family_epoch < self.epoch
            && self
                .kept
                .is_none_or(|k| k.family != *family || k.epoch != family_epoch)
    }
}

/// The listing metadata kept beside `user:{id}`, so that an admin page of users costs one
/// list operation instead of one read per user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's id.
    pub id: Id,
    /// The address as the record keeps it ([`UserRecord::email`]).
    pub email: String,
    /// The role.
    pub role: String,
    /// When the account was created.
    pub created_at: UnixSeconds,
    /// Whether the account is disabled (absent when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
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
            kept_session: None,
            disabled: false,
            ended_sessions: Vec::new(),
            email_verified_at: None,
            mfa: MfaRecord::default(),
            passkeys: Vec::new(),
            identities: Vec::new(),
        }
    }

    /// How many ways this account can sign in: its password (if it has one), each passkey and
    /// each identity linked at a provider. The one place that counts them, so that no change can leave an account that
    /// nobody can sign in to (`last_login_method`).
    pub fn sign_in_methods(&self) -> usize {
        usize::from(!self.password_hash.is_empty()) + self.passkeys.len() + self.identities.len()
    }

    /// Whether a password alone no longer signs this account in: it has a confirmed TOTP
    /// factor or a passkey. A passkey counts because it is the stronger factor: an account
    /// that has one, and a password, is asked for the passkey (or its TOTP) after the
    /// password, and `REQUIRE_MFA_FOR_ROLES` is met by either.
    pub fn has_second_factor(&self) -> bool {
        self.mfa.has_second_factor() || !self.passkeys.is_empty()
    }

    /// What a login's second step may use (`mfa_required`'s `methods`).
    pub fn second_factor_methods(&self) -> Vec<&'static str> {
        let mut methods = self.mfa.methods();
        if !self.passkeys.is_empty() {
            methods.push("passkey");
        }
        methods
    }

    /// The record after `request`, decided from this (current) record: what a sequencer
    /// stores. `Ok(None)` means the change does nothing (a rehash of a hash that was replaced
    /// meanwhile).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] ([`TokenRejection::SessionEnded`]) when the caller's token was
    /// issued before the user's sessions were ended, ([`TokenRejection::AccountDisabled`]) when
    /// the caller is the user and the account is disabled; [`Error::Internal`] for a session
    /// epoch at its maximum (see [`UserRecord::with_sessions_ended`]).
    pub fn apply(&self, request: &ChangeRequest) -> Result<Option<UserRecord>, Error> {
        if request
            .caller_issued_at
            .is_some_and(|iat| iat < self.sessions_ended_at)
        {
            return Err(Error::InvalidToken(TokenRejection::SessionEnded));
        }
        // A location that has not seen the disabling yet may still act on the user's token.
        if request.caller_issued_at.is_some() && self.disabled {
            return Err(Error::InvalidToken(TokenRejection::AccountDisabled));
        }
        let now = request.now;
        let next = match &request.change {
            UserChange::EndSessions => self.clone().with_sessions_ended(now)?,
            UserChange::SetRole { role } => UserRecord {
                role: role.clone(),
                ..self.clone().with_sessions_ended(now)?
            },
            UserChange::SetPassword {
                password_hash,
                keep,
            } => {
                // A family kept by the previous change keeps the epoch it started in; any
                // other family is kept from the current one (if it is older, it has already
                // ended, and naming it keeps nothing).
                let kept_session = keep.map(|family| match self.kept_session {
                    Some(k) if k.family == family => k,
                    _ => KeptSession {
                        family,
                        epoch: self.session_epoch,
                    },
                });
                UserRecord {
                    password_hash: password_hash.clone(),
                    kept_session,
                    ..self.clone().with_sessions_ended(now)?
                }
            }
            UserChange::Rehash {
                password_hash,
                replaces,
            } => {
                if self.password_hash != *replaces {
                    return Ok(None);
                }
                UserRecord {
                    password_hash: password_hash.clone(),
                    updated_at: now.max(self.updated_at),
                    ..self.clone()
                }
            }
            UserChange::SetDisabled { disabled } if *disabled == self.disabled => {
                return Ok(None);
            }
            UserChange::SetDisabled { disabled } => UserRecord {
                disabled: *disabled,
                ..self.clone().with_sessions_ended(now)?
            },
            UserChange::EndSession { family, until } => {
                let earlier = self
                    .ended_sessions
                    .iter()
                    .find(|e| e.family == *family)
                    .map_or(0, |e| e.until);
                let mut next = UserRecord {
                    ended_sessions: ended_sessions::without_expired(
                        &self.ended_sessions,
                        Some(family),
                        now,
                    ),
                    updated_at: now.max(self.updated_at),
                    ..self.clone()
                };
                if next.ended_sessions.len() >= MAX_ENDED_SESSIONS {
                    // Fail closed: every session ends, which covers every listed one.
                    next = next.with_sessions_ended(now)?;
                    next.ended_sessions.clear();
                }
                next.ended_sessions.push(EndedSession {
                    family: *family,
                    until: (*until).max(earlier),
                });
                return Ok(Some(next));
            }
            UserChange::ResetPassword {
                password_hash,
                replaces,
            } => {
                if self.password_hash != *replaces {
                    return Ok(None);
                }
                UserRecord {
                    password_hash: password_hash.clone(),
                    ..self.clone().with_sessions_ended(now)?
                }
            }
            UserChange::VerifyEmail { email } => {
                if self.email != *email || self.email_verified_at.is_some() {
                    return Ok(None);
                }
                UserRecord {
                    email_verified_at: Some(now),
                    updated_at: now.max(self.updated_at),
                    ..self.clone()
                }
            }
            UserChange::SetEmail {
                email,
                replaces,
                keep,
            } => {
                if self.email != *replaces {
                    return Ok(None);
                }
                // As for a password change: a family kept by the previous change keeps its epoch.
                let kept_session = keep.map(|family| match self.kept_session {
                    Some(k) if k.family == family => k,
                    _ => KeptSession {
                        family,
                        epoch: self.session_epoch,
                    },
                });
                UserRecord {
                    email: email.clone(),
                    email_verified_at: Some(now),
                    kept_session,
                    ..self.clone().with_sessions_ended(now)?
                }
            }
            UserChange::StartMfa { pending } => {
                if !self.has_second_factor() {
                    return Ok(None);
                }
                self.with_mfa(self.mfa.with_pending(pending.clone(), now), now)
            }
            UserChange::CompleteMfa { token, factor } => {
                self.with_mfa(self.mfa.complete(token, factor, now)?, now)
            }
            UserChange::FailMfa { token } => self.with_mfa(self.mfa.with_failure(token, now), now),
            UserChange::EnrolTotp { secret } => {
                if self.mfa.confirmed_totp().is_some() {
                    return Ok(None);
                }
                let totp = TotpFactor {
                    secret: secret.clone(),
                    confirmed_at: None,
                    last_step: 0,
                };
                self.with_mfa(
                    MfaRecord {
                        totp: Some(totp),
                        ..self.mfa.clone()
                    },
                    now,
                )
            }
            UserChange::ConfirmTotp {
                secret,
                step,
                recovery_codes,
            } => {
                let totp = self.mfa.use_step(secret, *step, false)?;
                let mfa = MfaRecord {
                    totp: Some(TotpFactor {
                        confirmed_at: Some(now),
                        ..totp
                    }),
                    recovery_codes: recovery_codes.clone(),
                    pending: Vec::new(),
                };
                self.with_mfa(mfa, now)
            }
            UserChange::DisableTotp { secret, step } => {
                self.mfa.use_step(secret, *step, true)?;
                self.with_mfa(MfaRecord::default(), now)
            }
            UserChange::SetRecoveryCodes {
                recovery_codes,
                secret,
                step,
            } => {
                let totp = match step {
                    Some(step) => self.mfa.use_step(secret, *step, true)?,
                    None => match self.mfa.confirmed_totp() {
                        Some(t) if t.secret == *secret => t.clone(),
                        _ => return Err(Error::InvalidCode),
                    },
                };
                let mfa = MfaRecord {
                    totp: Some(totp),
                    recovery_codes: recovery_codes.clone(),
                    ..self.mfa.clone()
                };
                self.with_mfa(mfa, now)
            }
            UserChange::ResetMfa => {
                if self.mfa.is_empty() {
                    return Ok(None);
                }
                self.with_mfa(MfaRecord::default(), now)
            }
            UserChange::AddPasskey { passkey } => {
                if self.passkeys.len() >= crate::passkey::MAX_PASSKEYS
                    || self.passkeys.iter().any(|p| p.id == passkey.id)
                {
                    return Err(Error::field("credential", crate::ErrorCode::InvalidValue));
                }
                let mut next = self.clone();
                next.passkeys.push(passkey.clone());
                next.updated_at = now.max(self.updated_at);
                next
            }
            UserChange::RemovePasskey { id } => {
                let mut next = self.clone();
                next.passkeys.retain(|p| p.id != *id);
                if next.passkeys.len() == self.passkeys.len() {
                    return Err(Error::NotFound);
                }
                if next.sign_in_methods() == 0 {
                    return Err(Error::LastLoginMethod);
                }
                next.updated_at = now.max(self.updated_at);
                next
            }
            UserChange::PasskeyUsed { id, sign_count } => {
                let mut next = self.clone();
                let Some(passkey) = next.passkeys.iter_mut().find(|p| p.id == *id) else {
                    return Err(Error::InvalidCredentials);
                };
                // WebAuthn Level 3 §7.2 step 22, on the current record.
                crate::passkey::counter_grew(passkey.sign_count, *sign_count)
                    .map_err(|_| Error::InvalidCredentials)?;
                passkey.sign_count = *sign_count;
                passkey.last_used_at = Some(now);
                next
            }
            UserChange::LinkIdentity { identity } => {
                match self
                    .identities
                    .iter()
                    .find(|i| i.provider == identity.provider)
                {
                    Some(held) if held.subject == identity.subject => return Ok(None),
                    Some(_) => return Err(Error::AccountExists),
                    None => {}
                }
                let mut next = UserRecord {
                    updated_at: now.max(self.updated_at),
                    ..self.clone()
                };
                next.identities.push(identity.clone());
                next
            }
            UserChange::UnlinkIdentity { provider } => {
                if !self.identities.iter().any(|i| i.provider == *provider) {
                    return Ok(None);
                }
                if self.sign_in_methods() <= 1 {
                    return Err(Error::LastLoginMethod);
                }
                UserRecord {
                    identities: self
                        .identities
                        .iter()
                        .filter(|i| i.provider != *provider)
                        .cloned()
                        .collect(),
                    updated_at: now.max(self.updated_at),
                    ..self.clone()
                }
            }
        };
        // Every change drops the listed endings that have served their time.
        Ok(Some(UserRecord {
            ended_sessions: ended_sessions::without_expired(&next.ended_sessions, None, now),
            ..next
        }))
    }

    /// This record with `mfa`, changed at `now`.
    fn with_mfa(&self, mfa: MfaRecord, now: UnixSeconds) -> UserRecord {
        UserRecord {
            mfa,
            updated_at: now.max(self.updated_at),
            ..self.clone()
        }
    }

    /// What the sessions of this user are measured against (see
    /// [`crate::refresh::Family::dead_reason`]).
    pub fn sessions(&self) -> SessionState {
        if self.disabled {
            // Every session this copy knows of has ended, its own epoch's too (a record written
            // disabled without an epoch change, by hand or by an import). Only a session of a
            // later epoch goes on: one started after an enabling this copy has not seen yet.
            return SessionState {
                epoch: self.session_epoch.saturating_add(1),
                kept: None,
            };
        }
        SessionState {
            epoch: self.session_epoch,
            kept: self.kept_session,
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
        // Times only move forward: a sequencer applies changes in order, but requests carry
        // the clocks of the locations they came from, which may differ by seconds.
        Ok(UserRecord {
            session_epoch,
            sessions_ended_at: now.max(self.sessions_ended_at),
            updated_at: now.max(self.updated_at),
            kept_session: None,
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
            disabled: self.disabled,
        }
    }
}

/// The key of a user record.
pub fn user_key(id: &Id) -> String {
    alloc::format!("user:{id}")
}

/// The prefix of all user records (for listing).
pub const USER_KEY_PREFIX: &str = "user:";

/// The key of the email index entry for an email's key ([`crate::email::fold_email`]; or, to
/// read an entry of the previous rule, the address itself).
pub fn email_key(email: &str) -> String {
    alloc::format!("email:{email}")
}

/// The key of a refresh family.
pub fn family_key(user_id: &Id, family_id: &Id) -> String {
    alloc::format!("family:{user_id}:{family_id}")
}

/// The prefix of one user's refresh families (for listing their sessions).
pub fn family_key_prefix(user_id: &Id) -> String {
    alloc::format!("family:{user_id}:")
}

/// The key of a family's revocation marker: written when a session ends (logout, a revoked
/// session, reuse detection, a deleted user) and by nothing else. A refresh never writes it,
/// so a location rotating a stale copy of the family cannot erase it: once it has propagated,
/// the family is refused everywhere, whatever was written to the family record meanwhile.
pub fn revoked_key(user_id: &Id, family_id: &Id) -> String {
    alloc::format!("revoked:{user_id}:{family_id}")
}

/// The reason a stored revocation marker names (its value, or its KV metadata).
///
/// # Errors
/// [`super::StoreError::Corrupt`] for anything but the two words [`RevokeReason::as_str`] writes.
pub fn revocation_reason(stored: &str) -> Result<RevokeReason, super::StoreError> {
    RevokeReason::from_stored(stored)
        .ok_or_else(|| super::StoreError::Corrupt("revocation marker has an unknown reason".into()))
}

/// The prefix of one user's revocation markers (for listing their sessions).
pub fn revoked_key_prefix(user_id: &Id) -> String {
    alloc::format!("revoked:{user_id}:")
}
