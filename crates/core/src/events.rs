//! Security events: what happened, for the host to log as one structured line each.
//!
//! Events name users, sessions and token generations by id only. They never carry a
//! password, a hash, a token or a secret, and failed logins do not carry the username that was
//! typed (people type passwords into username fields).

use serde::Serialize;

use crate::id::Id;

/// One security-relevant event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityEvent {
    /// A new account was created.
    UserRegistered {
        /// The new user.
        user_id: Id,
    },
    /// A login succeeded and started a session.
    LoginSucceeded {
        /// Who logged in.
        user_id: Id,
        /// The new session (refresh family).
        session_id: Id,
        /// Whether the stored hash was upgraded to argon2id at the configured cost.
        rehashed: bool,
    },
    /// A login failed.
    LoginFailed {
        /// The account, when the email exists.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<Id>,
        /// `unknown_user`, `wrong_password`, `stored_hash_refused`, `email_not_verified` (the
        /// right password, an unverified address and `REQUIRE_VERIFIED_EMAIL`), or
        /// `account_disabled` (the
        /// right password for a disabled account).
        reason: &'static str,
    },
    /// A login or password check was refused by the throttle.
    LoginThrottled {
        /// `account` or `address`.
        scope: &'static str,
        /// Seconds until an attempt may succeed again.
        retry_after_s: u64,
    },
    /// A registration was refused by the per-address registration throttle.
    RegistrationThrottled {
        /// Seconds until a registration from that address may succeed again.
        retry_after_s: u64,
    },
    /// A refresh handed out a token.
    TokenRefreshed {
        /// The session's user.
        user_id: Id,
        /// The session.
        session_id: Id,
        /// The generation handed out.
        generation: u32,
        /// Whether this was an idempotent retry within the grace window.
        replayed: bool,
    },
    /// A refresh was refused (other than for reuse).
    RefreshRejected {
        /// Why, from [`crate::RefreshRejection::as_str`].
        reason: &'static str,
    },
    /// A rotated refresh token came back after its grace window: the family is revoked.
    RefreshTokenReused {
        /// The session's user.
        user_id: Id,
        /// The revoked session.
        session_id: Id,
        /// The generation presented.
        presented_generation: u32,
        /// The newest generation the store knew.
        current_generation: u32,
    },
    /// A session ended by logout.
    LoggedOut {
        /// The session's user.
        user_id: Id,
        /// The session.
        session_id: Id,
    },
    /// Every session of a user ended.
    LoggedOutAll {
        /// The user.
        user_id: Id,
    },
    /// A user revoked one of their sessions.
    SessionRevoked {
        /// The user.
        user_id: Id,
        /// The revoked session.
        session_id: Id,
    },
    /// A password changed; every other session ended.
    PasswordChanged {
        /// The user.
        user_id: Id,
    },
    /// An admin changed a user's role; the user's sessions ended.
    RoleChanged {
        /// The user whose role changed.
        user_id: Id,
        /// The admin who changed it.
        by: Id,
        /// The new role.
        role: alloc::string::String,
    },
    /// An admin deleted a user.
    UserDeleted {
        /// The deleted user.
        user_id: Id,
        /// The admin who deleted them.
        by: Id,
    },
    /// An admin disabled a user's account; the user's sessions ended.
    UserDisabled {
        /// The disabled user.
        user_id: Id,
        /// The admin who disabled them.
        by: Id,
    },
    /// An admin enabled a user's account again.
    UserEnabled {
        /// The enabled user.
        user_id: Id,
        /// The admin who enabled them.
        by: Id,
    },
    /// An admin ended every session of a user.
    UserSessionsEnded {
        /// The user whose sessions ended.
        user_id: Id,
        /// The admin who ended them.
        by: Id,
    },
    /// A bearer token was refused (forged, expired, wrong issuer or audience, unknown user).
    TokenRejected {
        /// Why, from [`crate::TokenRejection::as_str`].
        reason: &'static str,
    },
    /// A caller was refused an operation (403): a missing role or scope, a foreign origin.
    AccessDenied {
        /// The caller, when a valid token named one.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<Id>,
        /// What was required, for example `role admin`.
        required: alloc::string::String,
    },
    /// A stored password hash could not be upgraded after a successful login.
    RehashFailed {
        /// The user.
        user_id: Id,
    },
    /// A password reset was asked for. No address is logged: an unknown one has no user id.
    PasswordResetRequested {
        /// The account, when the address has one (and a message is being sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<Id>,
    },
    /// A password-reset or email-verification request was refused by its throttle.
    RecoveryThrottled {
        /// `account` or `address`.
        scope: &'static str,
        /// Seconds until a request may succeed again.
        retry_after_s: u64,
    },
    /// A password was reset with a reset token; every session ended.
    PasswordReset {
        /// The user.
        user_id: Id,
    },
    /// A password-reset or email token was refused.
    ActionTokenRejected {
        /// What the route expected it to be for ([`crate::recovery::Purpose::as_str`]).
        purpose: &'static str,
        /// Why ([`crate::recovery::ActionRejection::as_str`]).
        reason: &'static str,
    },
    /// A message could not be handed to the mailer (`EMAIL_WEBHOOK_URL`) on one attempt.
    EmailDeliveryFailed {
        /// The message's type ([`crate::webhook::EmailKind::as_str`]).
        kind: &'static str,
        /// The account it was about.
        user_id: Id,
        /// Which attempt failed (1 is the first).
        attempt: u32,
        /// Whether no attempt is left: the message is lost.
        gave_up: bool,
        /// The HTTP status, or the network failure, for the operator (never the body).
        detail: alloc::string::String,
    },
    /// A verification message was sent for the account's current address.
    EmailVerificationRequested {
        /// The user.
        user_id: Id,
    },
    /// An address was verified.
    EmailVerified {
        /// The user.
        user_id: Id,
    },
    /// A change of address was asked for (messages went to the new and the old address).
    EmailChangeRequested {
        /// The user.
        user_id: Id,
    },
    /// The account moved to a new address; every other session ended.
    EmailChanged {
        /// The user.
        user_id: Id,
    },
    /// A right password for an account with a second factor: the login waits for it.
    MfaRequired {
        /// The user.
        user_id: Id,
    },
    /// A second step was refused (a wrong code, or one used already).
    MfaFailed {
        /// The user.
        user_id: Id,
        /// `wrong_code` or `code_used` (taken by a concurrent request).
        reason: &'static str,
    },
    /// A recovery code completed a login (and is used up).
    RecoveryCodeUsed {
        /// The user.
        user_id: Id,
        /// Recovery codes left.
        remaining: usize,
    },
    /// TOTP was confirmed and is on.
    TotpEnabled {
        /// The user.
        user_id: Id,
    },
    /// The user turned TOTP off.
    TotpDisabled {
        /// The user.
        user_id: Id,
    },
    /// The user replaced their recovery codes.
    RecoveryCodesRegenerated {
        /// The user.
        user_id: Id,
    },
    /// An admin removed every second factor of a user.
    MfaReset {
        /// The user.
        user_id: Id,
        /// The admin.
        by: Id,
    },
    /// A passkey was added to the account.
    PasskeyRegistered {
        /// The user.
        user_id: Id,
        /// The credential id (base64url): public, names the authenticator's key.
        credential_id: alloc::string::String,
    },
    /// A passkey was removed from the account.
    PasskeyRemoved {
        /// The user.
        user_id: Id,
        /// The credential id (base64url).
        credential_id: alloc::string::String,
    },
    /// A passkey registration or assertion was refused.
    PasskeyRejected {
        /// The account, when the assertion named one that exists.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<Id>,
        /// Why ([`crate::passkey::Rejection::as_str`]); `counter_not_increased` means two
        /// authenticators may hold one key (a cloned authenticator).
        reason: &'static str,
    },
    /// A sign-in through an identity provider started a session (as a login does).
    IdentitySignIn {
        /// Who signed in.
        user_id: Id,
        /// The new session (refresh family).
        session_id: Id,
        /// The provider's name.
        provider: alloc::string::String,
        /// Whether this sign-in created the account.
        created: bool,
    },
    /// A sign-in or link through an identity provider failed at the callback.
    IdentitySignInFailed {
        /// The provider's name, when the path named a configured one.
        #[serde(skip_serializing_if = "Option::is_none")]
        provider: Option<alloc::string::String>,
        /// The code the browser was sent back with (`access_denied`, `invalid_state`,
        /// `provider_error`, `account_exists`, ...).
        code: &'static str,
        /// Why, for the log (never a token, a code or a secret).
        reason: alloc::string::String,
    },
    /// An identity at a provider was linked to an account.
    IdentityLinked {
        /// The user.
        user_id: Id,
        /// The provider's name.
        provider: alloc::string::String,
        /// `email` (automatically, by a verified email) or `explicit` (from the user's session).
        how: &'static str,
    },
    /// An identity was unlinked from an account.
    IdentityUnlinked {
        /// The user.
        user_id: Id,
        /// The provider's name.
        provider: alloc::string::String,
    },
}

/// Where the flows report events: the host logs them (the Worker as one JSON line each).
pub trait EventSink {
    /// Records one event.
    fn record(&self, event: SecurityEvent);
}

/// Discards events.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn record(&self, _event: SecurityEvent) {}
}

/// Keeps events in memory, for tests.
#[derive(Default)]
pub struct EventLog(core::cell::RefCell<alloc::vec::Vec<SecurityEvent>>);

impl EventLog {
    /// The events recorded so far.
    pub fn events(&self) -> alloc::vec::Vec<SecurityEvent> {
        self.0.borrow().clone()
    }
}

impl EventSink for EventLog {
    fn record(&self, event: SecurityEvent) {
        self.0.borrow_mut().push(event);
    }
}
