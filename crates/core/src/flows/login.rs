//! Registration and login.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::throttle::{Limit, OnSuccess};
use super::{Flows, Tokens};
use crate::email::{Email, fold_email, normalize_email, parse_email};
use crate::error::{Error, ErrorCode, FieldError};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::join::join2;
use crate::mfa::AMR_PASSWORD;
use crate::password::{Verified, check_policy};
use crate::random::Random;
use crate::refresh::Family;
use crate::roles::{ROLE_USER, requested_scope};
use crate::store::{ChangeRequest, Claim, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;

/// What a login request carries.
#[derive(Clone, Copy)]
pub struct LoginInput<'a> {
    /// The email typed into the form (OAuth2's `username`).
    pub username: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The client's address (for the per-address throttle); empty if unknown.
    pub client_address: &'a str,
    /// The client's `User-Agent`, kept with the session so users can recognise it.
    pub user_agent: &'a str,
    /// The form's `scope` as sent (`None` when absent): the scopes the session asks to be
    /// narrowed to (see [`crate::roles::requested_scope`] and [`crate::roles::Roles::grant`]).
    pub scope: Option<&'a str>,
}

impl core::fmt::Debug for LoginInput<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoginInput")
            .field("password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A successful login.
#[derive(Debug)]
pub struct LoginOutcome {
    /// The tokens to hand out.
    pub tokens: Tokens,
    /// The user who logged in.
    pub user: UserRecord,
}

/// The throttle key for an account: the email's key ([`fold_email`]) when it is one, otherwise
/// the trimmed input folded alike, so that lockout never depends on whether the account
/// exists. Folded because every case of an address reaches the one account: a key per
/// spelling would give a guesser a fresh budget for each of them.
pub(crate) fn account_key(username: &str) -> String {
    let key = normalize_email(username)
        .map(|address| fold_email(&address))
        .unwrap_or_else(|_| fold_email(username.trim()));
    alloc::format!("account:{key}")
}

/// The per-account limit on password checks for what was typed as `username`: a success
/// clears it.
pub(super) fn account_limit(username: &str, policy: crate::throttle::ThrottlePolicy) -> Limit {
    Limit {
        key: account_key(username),
        policy,
        on_success: OnSuccess::Clear,
        scope: "account",
    }
}

/// The event for a login or password check refused by the throttle.
pub(super) fn login_throttled(scope: &'static str, retry_after_s: u64) -> SecurityEvent {
    SecurityEvent::LoginThrottled {
        scope,
        retry_after_s,
    }
}

/// The user record a login with an unknown email reads, and ignores, so that it makes the
/// same storage reads as a known one: the all-zero id, which [`Id::generate`] never returns
/// (it sets the UUID version and variant bits).
const NO_USER: Id = Id::from_bytes([0; 16]);

/// How old a claim on an address must be before a registration may take it over, if its
/// account does not exist, in seconds: far longer than any registration takes between its
/// claim and creating the account (one password hash).
pub const ABANDONED_CLAIM_S: u64 = 600;

impl<S: Stores> Flows<'_, S> {
    /// Creates an account with role `user`, for a client at `client_address` (empty if
    /// unknown), which is throttled per address: every valid request counts, answered 201 or
    /// 409, and a refused one is refused before any read or hashing.
    ///
    /// # Errors
    /// [`Error::Validation`] listing every invalid field (email, password policy);
    /// [`Error::TooManyAttempts`]; [`Error::EmailTaken`]; [`Error::StorageUnavailable`] with
    /// nothing left behind.
    pub async fn register<R: Random + ?Sized>(
        &self,
        email: &str,
        password: &str,
        client_address: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<UserRecord, Error> {
        let mut fields: Vec<FieldError> = Vec::new();
        let email = parse_email(email).map_err(|e| collect(&mut fields, e)).ok();
        let _ = check_policy(password).map_err(|e| collect(&mut fields, e));
        let Some(email) = email.filter(|_| fields.is_empty()) else {
            return Err(Error::Validation(fields));
        };
        // After validation (an invalid request costs nothing and is not counted), before the
        // email lookup (409 answers tell which emails exist) and the hashing.
        let limit = Limit::registration_address(client_address, self.auth.config.register_throttle);
        self.reserve_attempt(limit, None, now, |_, retry_after_s| {
            SecurityEvent::RegistrationThrottled { retry_after_s }
        })
        .await?;
        // Under the key and, for an address with capitals in its local part, under the key an
        // older Tollgate wrote for exactly this spelling (which it refused again too).
        let (folded, legacy) = self.find_ids(&email).await?;
        if folded.or(legacy).is_some() {
            return Err(Error::EmailTaken);
        }
        let id = Id::generate(rng);
        self.claim(&email.key, &id, now).await?;
        let key = email.key.clone();
        let created = self.create_claimed(id, email, password, now, rng).await;
        if created.is_err() {
            // Nothing reachable was left behind (see `create_claimed`); free the address
            // again, best effort (a claim whose account never came is taken over, below).
            let _ = self.store.release_email(&key, &id).await;
        }
        let user = created?;
        self.events
            .record(SecurityEvent::UserRegistered { user_id: user.id });
        Ok(user)
    }

    /// The ids the email index holds for `email`: under its key, and under its
    /// [`Email::legacy_key`] if it has one. Both are read at once, so a lookup makes the same
    /// calls whether or not either entry exists.
    async fn find_ids(&self, email: &Email) -> Result<(Option<Id>, Option<Id>), Error> {
        Ok(match email.legacy_key() {
            Some(legacy) => {
                let (folded, legacy) = join2(
                    self.store.find_user_id(&email.key),
                    self.store.find_user_id(legacy),
                )
                .await;
                (folded?, legacy?)
            }
            None => (self.store.find_user_id(&email.key).await?, None),
        })
    }

    /// Claims the address whose key is `email` for the new account `id`. The claim is what
    /// makes an address unique: one strongly consistent object per key, so of any number of
    /// concurrent registrations, in any case, at one location or many, exactly one gets it
    /// (the index lags; the claim does not). A claim whose account was never created (a registration that failed and
    /// could not release it) is taken over once it is [`ABANDONED_CLAIM_S`] old and its
    /// account is not at its sequencer: an address is never blocked for good.
    ///
    /// # Errors
    /// [`Error::EmailTaken`]; [`Error::StorageUnavailable`].
    pub(super) async fn claim(&self, email: &str, id: &Id, now: UnixSeconds) -> Result<(), Error> {
        let Claim::Taken { holder, since } = self.store.claim_email(email, id, now, None).await?
        else {
            return Ok(());
        };
        let abandoned = now >= since.saturating_add(ABANDONED_CLAIM_S)
            && self.store.get_user_current(&holder).await?.is_none();
        if !abandoned {
            return Err(Error::EmailTaken);
        }
        match self
            .store
            .claim_email(email, id, now, Some(&holder))
            .await?
        {
            Claim::Claimed => Ok(()),
            Claim::Taken { .. } => Err(Error::EmailTaken),
        }
    }

    /// Creates the account `id` for a claimed `email`: the record (with the address as
    /// typed) at its sequencer, then the index entry under the key that makes it reachable (a
    /// record before the pointer to it), written by the claim's object. If the index write
    /// fails, the record is removed again.
    async fn create_claimed<R: Random + ?Sized>(
        &self,
        id: Id,
        email: Email,
        password: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<UserRecord, Error> {
        let password_hash = self.auth.hasher.hash(password, rng)?;
        let user = UserRecord::new(id, email.address, password_hash, ROLE_USER.to_string(), now);
        self.store.create_user(&user).await?;
        if let Err(e) = self.store.bind_email(&email.key, &user.id).await {
            let _ = self.store.remove_user(&user.id).await;
            return Err(e.into());
        }
        Ok(user)
    }

    /// Checks an email and password and starts a session.
    ///
    /// Unknown emails, wrong passwords and accounts whose stored hash is refused fail alike,
    /// in the same time (a dummy verify of the same cost where no real one runs). Every
    /// attempt is counted against the account and address throttles before the password is
    /// looked at (see [`crate::throttle`]), so parallel guesses get no more verdicts than the
    /// limit, and the right password does not get through a lockout; a success clears the
    /// account's count and takes back the address's count of this attempt. A legacy or weaker
    /// hash is upgraded after a success.
    ///
    /// A `scope` in the input narrows the session (RFC 6749 §3.3): its tokens carry the
    /// requested scopes that the role grants, at this login and at every refresh (the family
    /// records them), and scopes the role does not grant are ignored.
    ///
    /// # Errors
    /// [`Error::Validation`] (field `scope`) for a `scope` that is not scope-tokens, before
    /// anything is counted or read; [`Error::TooManyAttempts`], [`Error::InvalidCredentials`], [`Error::AccountDisabled`]
    /// (the right password for a disabled account: a failed attempt all the same),
    /// [`Error::EmailNotVerified`] (the right password, an unverified address, and
    /// `REQUIRE_VERIFIED_EMAIL`: a failed attempt too),
    /// [`Error::StorageUnavailable`] (before any password is judged when the attempt cannot be
    /// counted); [`Error::MfaRequired`] (the right password for an account with a second
    /// factor: no session yet, see `flows::mfa`).
    pub async fn login<R: Random + ?Sized>(
        &self,
        input: &LoginInput<'_>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<LoginOutcome, Error> {
        let config = &self.auth.config;
        let requested = requested_scope(input.scope)?;
        // Counted before the password is looked at, atomically with the decision: however
        // many guesses arrive at once, at most the limit of them get to a verdict.
        let reservation = self
            .reserve_attempt(
                account_limit(input.username, config.account_throttle),
                Some(Limit::login_address(
                    input.client_address,
                    config.address_throttle,
                )),
                now,
                login_throttled,
            )
            .await?;

        let (user, unmigrated) = self.find_by_email(input.username).await?.unzip();
        let unmigrated = unmigrated.flatten();
        let verified = match &user {
            Some(user) => {
                let verified = self.auth.hasher.verify(input.password, &user.password_hash);
                if verified.is_err() {
                    // A refused stored hash (malformed, over the cost bounds) is refused before
                    // any hashing; without this, such an account would answer faster than an
                    // unknown one and so reveal that it exists.
                    self.auth.hasher.dummy_verify(input.password);
                }
                verified
            }
            None => {
                self.auth.hasher.dummy_verify(input.password);
                Ok(Verified::Mismatch)
            }
        };
        let (user, needs_rehash) = match (user, verified) {
            (Some(user), Ok(Verified::Match { needs_rehash })) => (user, needs_rehash),
            (user, outcome) => {
                let reason = match (&user, &outcome) {
                    (None, _) => "unknown_user",
                    (Some(_), Err(_)) => "stored_hash_refused",
                    (Some(_), Ok(_)) => "wrong_password",
                };
                self.events.record(SecurityEvent::LoginFailed {
                    user_id: user.map(|u| u.id),
                    reason,
                });
                // Nothing more to record: the reservation is the failure.
                return Err(Error::InvalidCredentials);
            }
        };

        if user.disabled {
            // Only after the password matched, so only someone who has it learns that the
            // account is disabled; and counted as a failure (the reservation stands), so the
            // answer cannot be asked for faster than passwords can be tried.
            self.events.record(SecurityEvent::LoginFailed {
                user_id: Some(user.id),
                reason: "account_disabled",
            });
            return Err(Error::AccountDisabled);
        }
        if config.recovery.require_verified_email && user.email_verified_at.is_none() {
            // Like a disabled account: only after the right password, so it tells a guesser
            // nothing, and counted as a failure. The host sends a fresh verification
            // (`Flows::resend_verification`, throttled).
            self.events.record(SecurityEvent::LoginFailed {
                user_id: Some(user.id),
                reason: "email_not_verified",
            });
            return Err(Error::EmailNotVerified);
        }
        let user = if needs_rehash {
            self.rehash(user, input.password, now, rng).await
        } else {
            user
        };
        if let Some(key) = unmigrated {
            self.migrate_email(&key, &user.id, now).await;
        }
        let rehashed = needs_rehash && !self.auth.hasher.needs_rehash(&user.password_hash);
        let scope = requested.map(|r| config.roles.grant(&user.role, Some(&r)));
        if user.has_second_factor()
            && let Some(challenge) = self
                .require_second_step(&user, scope.clone(), now, rng)
                .await?
        {
            // The password was right, but that is only the first step: this attempt stops
            // counting, while earlier failures (wrong passwords, wrong codes) stay until the
            // second step succeeds, so alternating the two gives a guesser no fresh budget.
            self.attempt_released(&reservation).await?;
            return Err(Error::MfaRequired(challenge));
        }
        let tokens = self
            .start_session(
                &user,
                input.user_agent,
                scope,
                alloc::vec![String::from(AMR_PASSWORD)],
                self.attempt_succeeded(&reservation),
                now,
                rng,
            )
            .await?;
        self.events.record(SecurityEvent::LoginSucceeded {
            user_id: user.id,
            session_id: tokens.session_id,
            rehashed,
        });
        Ok(LoginOutcome { tokens, user })
    }

    /// Starts a session for `user`, who has just proven who they are (a password, a passkey,
    /// a second step): a new refresh family, narrowed to `scope` if given, whose tokens carry
    /// `amr` (RFC 8176: how they did), and its tokens. `settle` is what
    /// must also succeed for the sign-in to count (a login settles its throttle reservation);
    /// it runs alongside the family's write, so a sign-in waits for the slower, not the sum.
    /// If it fails, the family goes again and the sign-in fails closed.
    ///
    /// # Errors
    /// [`Error::StorageUnavailable`]; `settle`'s error; signing errors.
    // Who, from where, with what scope, how they proved it, and what else must succeed: each
    // its own argument, as every caller names them all.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start_session<R: Random + ?Sized>(
        &self,
        user: &UserRecord,
        user_agent: &str,
        scope: Option<String>,
        amr: Vec<String>,
        settle: impl core::future::Future<Output = Result<(), Error>>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Tokens, Error> {
        let config = &self.auth.config;
        let family = Family::start(
            user.id,
            user.session_epoch,
            user_agent,
            now,
            &config.refresh,
            rng,
        )
        .with_scope(scope)
        .with_amr(amr);
        // Settling (for a login: clearing the account, releasing the address's attempt) and
        // storing the session are independent writes to two stores: both are sent at once.
        // (Only here: before the password check, a login's reads stay in sequence, so that
        // timing cannot tell a throttled known account from an unknown one.)
        let expires_at = family.storage_expiration(&config.refresh, now);
        let (settled, stored) =
            join2(settle, self.store.put_family(&family, expires_at, None)).await;
        stored?;
        if let Err(e) = settled {
            // The sign-in fails closed; the session nobody was given a token for goes again
            // (best effort: nothing can refresh it, and it expires), so none is left half made.
            let _ = self.store.delete_family(&family.user_id, &family.id).await;
            return Err(e);
        }
        self.auth.tokens(
            user,
            &family,
            family.current_token(&self.auth.refresh_key),
            now,
            rng,
        )
    }

    /// The user whose email, in any case, is `typed`, if any; with the key to bind to them
    /// when only an index entry of the old rule found them (see [`Flows::migrate_email`]).
    ///
    /// The index is read under the key and, when the typed local part has capitals, under
    /// the key the old rule gave exactly this spelling ([`Email::legacy_key`]), both at once.
    /// The old entry wins: the old rule kept `Sam@` and `sam@` apart, and each of two such
    /// accounts still logs in with its own spelling (other spellings reach the folded key's).
    ///
    /// Always the same reads, the index (once or twice, by what was typed) and then a user
    /// record, whether the email is known or not: one read fewer would tell an attacker timing
    /// logins that an email has no account (the dummy verify only evens out the hashing). An
    /// unknown email reads the record of [`NO_USER`], which no account has, and ignores it.
    pub(super) async fn find_by_email(
        &self,
        typed: &str,
    ) -> Result<Option<(UserRecord, Option<String>)>, Error> {
        let email = parse_email(typed).ok();
        let (id, unmigrated) = match &email {
            Some(email) => match self.find_ids(email).await? {
                (folded, Some(legacy)) => (Some(legacy), folded.is_none()),
                (folded, None) => (folded, false),
            },
            // Not an email at all: the index is still read, for the same reason, at the
            // entry of the empty email, which no account can have (and which, unlike the
            // input, is a valid key whatever the input's length).
            None => (self.store.find_user_id("").await?.and(None), false),
        };
        let user = self.store.get_user(id.as_ref().unwrap_or(&NO_USER)).await?;
        let (Some(email), Some(_)) = (email, id) else {
            return Ok(None);
        };
        // An index entry whose record is gone (a half-finished delete) is an unknown user.
        Ok(user
            .filter(|u| fold_email(&u.email) == email.key)
            .map(|u| (u, unmigrated.then_some(email.key))))
    }

    /// Binds the key `key` to `id`, an account only an index entry of the old rule reached,
    /// through the key's claim object like a registration: so a migration and a registration
    /// of another spelling cannot both get the address. If another account holds the key (a
    /// case variant registered before this account was migrated), nothing changes and the
    /// account keeps logging in with its old spelling; `tollgate fold-emails` reports such
    /// pairs. Best effort: a failure is retried at the next login.
    async fn migrate_email(&self, key: &str, id: &Id, now: UnixSeconds) {
        if let Ok(Claim::Claimed) = self.store.claim_email(key, id, now, None).await {
            let _ = self.store.bind_email(key, id).await;
        }
    }

    /// Upgrades `user`'s hash to argon2id at the configured cost, through the sequencer: only
    /// if the stored hash is still the one that was verified (a password changed elsewhere
    /// meanwhile is never overwritten with a hash of the old one). A failure is logged and the
    /// login goes on with the old hash: it still verifies, and the next login tries again.
    async fn rehash<R: Random + ?Sized>(
        &self,
        user: UserRecord,
        password: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> UserRecord {
        let Ok(password_hash) = self.auth.hasher.hash(password, rng) else {
            return user;
        };
        let request = ChangeRequest {
            change: UserChange::Rehash {
                password_hash,
                replaces: user.password_hash.clone(),
            },
            now,
            caller_issued_at: None,
        };
        match self.store.change_user(&user.id, &request).await {
            Ok(Some(upgraded)) => upgraded,
            Ok(None) | Err(_) => {
                self.events
                    .record(SecurityEvent::RehashFailed { user_id: user.id });
                user
            }
        }
    }
}

/// Moves the field errors of a validation error into `fields` (other errors become one
/// `missing_field` entry, which cannot happen for the callers here).
fn collect(fields: &mut Vec<FieldError>, e: Error) {
    match e {
        Error::Validation(mut errors) => fields.append(&mut errors),
        _ => fields.push(FieldError::new("body", ErrorCode::MissingField)),
    }
}
