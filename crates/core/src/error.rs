//! Errors, with the stable codes every layer shares.
//!
//! [`ErrorCode`] is the contract: its string form is the `code` of the Worker's JSON error
//! bodies, the `code` of errors thrown by the browser client, and a member of the TypeScript
//! `AuthErrorCode` union (a test keeps `npm/src/errors.ts` in step with [`ErrorCode::ALL`]).
//! Codes are never renamed or reused; new ones are added.
//!
//! [`Error`] is the core's error. Rejections of tokens and refresh tokens carry a precise
//! reason ([`TokenRejection`], [`RefreshRejection`]) that is for logs only: clients see a
//! single code, so an attacker probing tokens learns nothing from the answer.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A stable, machine-readable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    // --- Who are you? (401) ---
    /// No credential was presented to a route that needs one.
    NotAuthenticated,
    /// The email and password do not match a user (unknown email and wrong password alike).
    InvalidCredentials,
    /// The access token was rejected (malformed, forged, expired, wrong issuer or audience).
    InvalidToken,
    /// The refresh token was rejected (malformed, forged, expired, revoked or unknown).
    InvalidRefreshToken,
    /// An already-rotated refresh token came back after its grace window; the family is revoked.
    RefreshTokenReused,

    // --- Not allowed (403) ---
    /// The caller is known but lacks the role or scope the operation needs.
    Forbidden,
    /// The current password given to confirm a sensitive change is wrong.
    IncorrectPassword,
    /// A browser request from another site (or an origin not in `ALLOWED_ORIGINS`) to a route
    /// that sets or clears the refresh cookie was refused; the `detail` names the setting that
    /// would allow it. Nothing was checked or set.
    CrossSiteRefused,
    /// The email and password are right but an admin has disabled the account: no session
    /// was started. (A wrong password is `invalid_credentials`, whether or not the account is
    /// disabled: only someone with the password learns that it is.)
    AccountDisabled,
    /// The email and password are right but the deployment requires a verified address
    /// (`REQUIRE_VERIFIED_EMAIL`) and this account's is not: no session was started, and a
    /// fresh verification message was sent (throttled).
    EmailNotVerified,

    // --- Bad request (400, 404, 405, 409, 413, 415, 422) ---
    /// A password-reset, email-verification or email-change token was refused: used already,
    /// expired, tampered with, from another deployment, or for another purpose. One code for
    /// all of them, so a guesser learns nothing from the answer.
    InvalidActionToken,
    /// No such route or resource.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The email is already registered.
    EmailTaken,
    /// The change would leave the system without any admin (the last admin demoting,
    /// disabling or deleting themselves); nothing was changed.
    LastAdmin,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// The request body's content type is not one the route accepts.
    UnsupportedMediaType,
    /// The request body is not well-formed JSON or form data.
    MalformedBody,
    /// One or more fields are invalid; the per-field codes follow in `errors`.
    ValidationError,
    /// Field code: a required field is missing or has the wrong type.
    MissingField,
    /// Field code: the email address is not a valid address.
    InvalidEmail,
    /// Field code: the password is shorter than the minimum length.
    PasswordTooShort,
    /// Field code: the password is longer than the maximum length.
    PasswordTooLong,
    /// Field code: the password is on the list of most common passwords.
    PasswordTooCommon,
    /// Field code: the role is not one the server knows.
    InvalidRole,
    /// Field code: the value is not one the field allows (for example `grant_type=code`).
    InvalidValue,

    // --- Slow down (429) ---
    /// Too many failed attempts; retry after the time in `Retry-After`.
    TooManyAttempts,

    // --- The server's problem (500, 503) ---
    /// An unexpected internal error (details are logged, never returned).
    InternalError,
    /// The server is not configured correctly (for example, a missing or short `JWT_SECRET`).
    Misconfigured,
    /// The storage backend failed or timed out; nothing was half-written.
    StorageUnavailable,

    // --- Second factors ---
    /// The password was right, but the account has a second factor: no session was started.
    /// The body carries `mfa_token` and `methods`; `POST /auth/mfa/verify` continues (403).
    MfaRequired,
    /// A TOTP or recovery code was refused: wrong, already used, or from a step outside the
    /// window (403).
    InvalidCode,
    /// The `mfa_token` is unknown, used, expired, or dead after too many wrong codes: sign in
    /// again (401).
    MfaTokenInvalid,
    /// TOTP is already enabled for this account; disable it first to enrol a new one (409).
    TotpAlreadyEnabled,

    // --- Client side only ---
    /// The browser client could not reach the server (offline, DNS, aborted). A request the
    /// browser hid from the page for CORS, while the server did answer, is
    /// [`ErrorCode::CrossSiteRefused`] instead.
    NetworkError,
    /// The browser client could not start: its WebAssembly module did not compile (most often
    /// a Content-Security-Policy without `'wasm-unsafe-eval'`); no request was sent.
    ClientUnavailable,

    // --- Added later (grouped by status in `http_status`) ---
    /// The change would leave the account with no way to sign in (removing the last passkey
    /// of an account without a password, or its last linked identity); nothing was changed.
    LastLoginMethod,
    // --- Sign in with an identity provider (sent as `#error=<code>` on the app's page) ---
    /// A sign-in through a provider found a local account with the same email that may not be
    /// linked automatically (the provider did not assert a verified email, or the local one is
    /// unverified): the user signs in another way and links the provider from their session.
    AccountExists,
    /// The user did not consent at the provider (it answered `error=access_denied`).
    AccessDenied,
    /// The callback's `state` is missing, unknown, already used, not this browser's, or the
    /// response names another issuer (`iss`, RFC 9207): the sign-in is not continued.
    InvalidState,
    /// The provider could not complete the sign-in: its token endpoint or userinfo refused,
    /// it could not be reached, or its ID token did not verify (the reason is logged).
    ProviderError,
}

impl ErrorCode {
    /// Every code, in declaration order (the TypeScript union must list exactly these).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::NotAuthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::RefreshTokenReused,
        ErrorCode::Forbidden,
        ErrorCode::IncorrectPassword,
        ErrorCode::CrossSiteRefused,
        ErrorCode::AccountDisabled,
        ErrorCode::EmailNotVerified,
        ErrorCode::InvalidActionToken,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::EmailTaken,
        ErrorCode::LastAdmin,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MalformedBody,
        ErrorCode::ValidationError,
        ErrorCode::MissingField,
        ErrorCode::InvalidEmail,
        ErrorCode::PasswordTooShort,
        ErrorCode::PasswordTooLong,
        ErrorCode::PasswordTooCommon,
        ErrorCode::InvalidRole,
        ErrorCode::InvalidValue,
        ErrorCode::TooManyAttempts,
        ErrorCode::InternalError,
        ErrorCode::Misconfigured,
        ErrorCode::StorageUnavailable,
        ErrorCode::MfaRequired,
        ErrorCode::InvalidCode,
        ErrorCode::MfaTokenInvalid,
        ErrorCode::TotpAlreadyEnabled,
        ErrorCode::NetworkError,
        ErrorCode::ClientUnavailable,
        ErrorCode::LastLoginMethod,
        ErrorCode::AccountExists,
        ErrorCode::AccessDenied,
        ErrorCode::InvalidState,
        ErrorCode::ProviderError,
    ];

    /// The code's stable snake_case string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::IncorrectPassword => "incorrect_password",
            ErrorCode::CrossSiteRefused => "cross_site_refused",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::EmailNotVerified => "email_not_verified",
            ErrorCode::InvalidActionToken => "invalid_action_token",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::LastAdmin => "last_admin",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::MalformedBody => "malformed_body",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::PasswordTooShort => "password_too_short",
            ErrorCode::PasswordTooLong => "password_too_long",
            ErrorCode::PasswordTooCommon => "password_too_common",
            ErrorCode::InvalidRole => "invalid_role",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Misconfigured => "misconfigured",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::MfaTokenInvalid => "mfa_token_invalid",
            ErrorCode::TotpAlreadyEnabled => "totp_already_enabled",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::ClientUnavailable => "client_unavailable",
            ErrorCode::LastLoginMethod => "last_login_method",
            ErrorCode::AccountExists => "account_exists",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::ProviderError => "provider_error",
        }
    }

    /// The code for a string produced by [`ErrorCode::as_str`], if it is one.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The HTTP status that carries this code (0 for client-side codes that never cross HTTP).
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::NotAuthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::InvalidRefreshToken
            | ErrorCode::RefreshTokenReused
            | ErrorCode::MfaTokenInvalid => 401,
            ErrorCode::Forbidden
            | ErrorCode::IncorrectPassword
            | ErrorCode::CrossSiteRefused
            | ErrorCode::AccountDisabled
            | ErrorCode::EmailNotVerified
            | ErrorCode::MfaRequired
            | ErrorCode::InvalidCode => 403,
            ErrorCode::InvalidActionToken => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::EmailTaken
            | ErrorCode::LastAdmin
            | ErrorCode::TotpAlreadyEnabled
            | ErrorCode::LastLoginMethod => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::MalformedBody
            | ErrorCode::ValidationError
            | ErrorCode::MissingField
            | ErrorCode::InvalidEmail
            | ErrorCode::PasswordTooShort
            | ErrorCode::PasswordTooLong
            | ErrorCode::PasswordTooCommon
            | ErrorCode::InvalidRole
            | ErrorCode::InvalidValue => 422,
            ErrorCode::TooManyAttempts => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::Misconfigured | ErrorCode::StorageUnavailable => 503,
            ErrorCode::NetworkError | ErrorCode::ClientUnavailable => 0,
            ErrorCode::AccountExists => 409,
            ErrorCode::AccessDenied => 403,
            ErrorCode::InvalidState => 400,
            ErrorCode::ProviderError => 502,
        }
    }

    /// A human sentence for the code, suitable for the `detail` field shown to users.
    pub const fn detail(self) -> &'static str {
        match self {
            ErrorCode::NotAuthenticated => "Not authenticated.",
            ErrorCode::InvalidCredentials => "Incorrect email or password.",
            ErrorCode::InvalidToken => "The access token is invalid or has expired.",
            ErrorCode::InvalidRefreshToken => "The session has ended; please sign in again.",
            ErrorCode::RefreshTokenReused => {
                "This session was ended because its refresh token was used twice; please sign in again."
            }
            ErrorCode::Forbidden => "You do not have permission to do this.",
            ErrorCode::IncorrectPassword => "The current password is not correct.",
            ErrorCode::CrossSiteRefused => {
                "A request from another site was refused; see ALLOWED_ORIGINS and CROSS_SITE_COOKIES."
            }
            ErrorCode::AccountDisabled => {
                "This account has been disabled; contact an administrator."
            }
            ErrorCode::EmailNotVerified => {
                "This email address is not verified yet; follow the link just sent to it."
            }
            ErrorCode::InvalidActionToken => {
                "This link is invalid or has expired; ask for a new one."
            }
            ErrorCode::NotFound => "Not found.",
            ErrorCode::MethodNotAllowed => "Method not allowed.",
            ErrorCode::EmailTaken => "An account with this email already exists.",
            ErrorCode::LastAdmin => "This would leave no admin; promote another admin first.",
            ErrorCode::LastLoginMethod => {
                "This is the account's last way to sign in; add another (a password, a passkey or a provider) first."
            }
            ErrorCode::PayloadTooLarge => "The request body is too large.",
            ErrorCode::UnsupportedMediaType => "Unsupported content type.",
            ErrorCode::MalformedBody => "The request body could not be parsed.",
            ErrorCode::ValidationError => "Some fields are invalid.",
            ErrorCode::MissingField => "This field is required.",
            ErrorCode::InvalidEmail => "This is not a valid email address.",
            ErrorCode::PasswordTooShort => "The password is too short.",
            ErrorCode::PasswordTooLong => "The password is too long.",
            ErrorCode::PasswordTooCommon => "This password is too common; choose another.",
            ErrorCode::InvalidRole => "Unknown role.",
            ErrorCode::InvalidValue => "This value is not allowed here.",
            ErrorCode::TooManyAttempts => "Too many attempts; try again later.",
            ErrorCode::InternalError => "Internal server error.",
            ErrorCode::Misconfigured => "The server is not configured correctly.",
            ErrorCode::StorageUnavailable => "Storage is temporarily unavailable; try again.",
            ErrorCode::MfaRequired => {
                "A second factor is required; continue with POST /auth/mfa/verify."
            }
            ErrorCode::InvalidCode => "The code is not correct, or was already used.",
            ErrorCode::MfaTokenInvalid => {
                "This sign-in has expired or was used; please sign in again."
            }
            ErrorCode::TotpAlreadyEnabled => {
                "An authenticator app is already enabled; disable it first."
            }
            ErrorCode::NetworkError => "The server could not be reached.",
            ErrorCode::ClientUnavailable => {
                "The sign-in client could not start in this browser (its WebAssembly module did not load)."
            }
            ErrorCode::AccountExists => {
                "An account with this email already exists; sign in to it and link this provider from there."
            }
            ErrorCode::AccessDenied => "The sign-in was cancelled at the provider.",
            ErrorCode::InvalidState => {
                "This sign-in link has expired or was already used; please start again."
            }
            ErrorCode::ProviderError => {
                "The identity provider could not complete the sign-in; try again later."
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an access token (or any compact JWS the core was asked to read) was rejected.
///
/// For logs and tests only: every variant reaches clients as [`ErrorCode::InvalidToken`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRejection {
    /// When the token is longer than [`crate::limits::MAX_TOKEN_BYTES`].
    Oversized,
    /// When the token is not three non-empty base64url segments joined by dots.
    Shape,
    /// When a segment is not canonical unpadded base64url.
    Base64,
    /// When the header or payload is not a JSON object (or not UTF-8).
    Json,
    /// When the header or payload repeats a JSON key.
    DuplicateKey,
    /// When the header names no algorithm, or one other than the key's.
    Algorithm,
    /// When the header's `typ` is missing or not `at+jwt`.
    Type,
    /// When the header has a `crit` member (no extension is understood).
    Critical,
    /// When the header carries a key or key location (`jwk`, `jku`, `x5u`, `x5c`): never followed.
    EmbeddedKey,
    /// When the `kid` names no configured key.
    UnknownKey,
    /// When the signature does not verify.
    Signature,
    /// When a required claim is missing.
    MissingClaim,
    /// When a claim has the wrong JSON type (for example a string `exp`).
    ClaimType,
    /// When `exp` is in the past (beyond the leeway).
    Expired,
    /// When `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// When `iss` is not exactly the configured issuer.
    Issuer,
    /// When `aud` does not contain exactly the configured audience.
    Audience,
    /// When the token's subject no longer exists.
    UnknownSubject,
    /// When the user's sessions were ended after the token was issued.
    SessionEnded,
    /// When the token's own session was ended (logout, a revoked session, reuse detection).
    SessionRevoked,
    /// When the user's account is disabled.
    AccountDisabled,
    /// When an ID token's `nonce` is not the one its authorization request carried.
    Nonce,
}

impl TokenRejection {
    /// A short, stable description for log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenRejection::Oversized => "token too large",
            TokenRejection::Shape => "not a compact JWS",
            TokenRejection::Base64 => "segment is not canonical base64url",
            TokenRejection::Json => "segment is not a JSON object",
            TokenRejection::DuplicateKey => "duplicate JSON key",
            TokenRejection::Algorithm => "algorithm missing or not the key's",
            TokenRejection::Type => "typ is not at+jwt",
            TokenRejection::Critical => "unsupported crit header",
            TokenRejection::EmbeddedKey => "embedded key or key URL in header",
            TokenRejection::UnknownKey => "unknown kid",
            TokenRejection::Signature => "bad signature",
            TokenRejection::MissingClaim => "required claim missing",
            TokenRejection::ClaimType => "claim has the wrong type",
            TokenRejection::Expired => "expired",
            TokenRejection::NotYetValid => "not yet valid",
            TokenRejection::Issuer => "issuer mismatch",
            TokenRejection::Audience => "audience mismatch",
            TokenRejection::UnknownSubject => "subject no longer exists",
            TokenRejection::SessionEnded => "issued before the user's sessions were ended",
            TokenRejection::SessionRevoked => "its session was ended",
            TokenRejection::AccountDisabled => "the user's account is disabled",
            TokenRejection::Nonce => "nonce mismatch",
        }
    }
}

/// Why a refresh token was refused (other than reuse, which has its own code).
///
/// For logs and tests only: every variant but [`RefreshRejection::NotYetVisible`] reaches
/// clients as [`ErrorCode::InvalidRefreshToken`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshRejection {
    /// When no refresh token was presented.
    Missing,
    /// When the token does not parse.
    Malformed,
    /// When the request carried the refresh cookie more than once: one copy was planted
    /// (cookie tossing), and which is real cannot be told, so neither is used.
    Ambiguous,
    /// When the token's MAC does not verify (forged or from another deployment).
    Forged,
    /// When no family record exists (never existed, logged out, or expired away).
    UnknownFamily,
    /// When the family was revoked (logout, session revoke, reuse detection).
    Revoked,
    /// When the family is past its absolute lifetime.
    Expired,
    /// When the family was not used within its idle lifetime.
    Idle,
    /// When the user's session epoch moved on (logout-all, password or role change, disabling),
    /// or the user is disabled.
    Superseded,
    /// When the family's user no longer exists.
    UnknownUser,
    /// When the family (or its user) is missing here but was created so recently that the
    /// record may not have reached this location yet. Never sent as `invalid_refresh_token`:
    /// the refresh flow answers it as [`Error::StorageUnavailable`], so the client retries and
    /// keeps its session (see `refresh::family`).
    NotYetVisible,
}

impl RefreshRejection {
    /// A short, stable description for log lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefreshRejection::Missing => "no refresh token",
            RefreshRejection::Malformed => "malformed",
            RefreshRejection::Ambiguous => "refresh cookie sent more than once",
            RefreshRejection::Forged => "bad MAC",
            RefreshRejection::UnknownFamily => "unknown family",
            RefreshRejection::Revoked => "family revoked",
            RefreshRejection::Expired => "family expired",
            RefreshRejection::Idle => "family idle too long",
            RefreshRejection::Superseded => "session epoch superseded",
            RefreshRejection::UnknownUser => "user no longer exists",
            RefreshRejection::NotYetVisible => "family or user not visible at this location yet",
        }
    }
}

/// One invalid field of a request, as reported in a 422 body's `errors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (for example `password`).
    pub field: String,
    /// What is wrong with it (one of the field codes, such as [`ErrorCode::PasswordTooShort`]).
    pub code: ErrorCode,
}

impl FieldError {
    /// A field error for `field` with `code`.
    pub fn new(field: impl Into<String>, code: ErrorCode) -> FieldError {
        FieldError {
            field: field.into(),
            code,
        }
    }
}

/// The core's error: what went wrong, in a form each host maps to its own transport.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// When a protected operation is attempted without any credential.
    NotAuthenticated,
    /// When an email/password pair does not match (unknown user and wrong password alike).
    InvalidCredentials,
    /// When an access token is rejected; the reason is for logs only.
    InvalidToken(TokenRejection),
    /// When a refresh token is refused; the reason is for logs only.
    InvalidRefreshToken(RefreshRejection),
    /// When a rotated refresh token is replayed after its grace window; the family is now revoked.
    RefreshTokenReused,
    /// When the caller lacks a role or scope; names what was required (for logs).
    Forbidden(String),
    /// When the current password confirming a sensitive change is wrong.
    IncorrectPassword,
    /// When the email is already registered.
    EmailTaken,
    /// When the last admin would demote, disable or delete themselves, leaving no admin.
    LastAdmin,
    /// When a change would leave the account with no way to sign in.
    LastLoginMethod,
    /// When the right password was given for an account an admin has disabled.
    AccountDisabled,
    /// When the right password was given but a verified address is required and missing.
    EmailNotVerified,
    /// When a password-reset or email token is refused (the reason is logged as an event).
    InvalidActionToken,
    /// When a user or session named by the request does not exist.
    NotFound,
    /// When input fields are invalid, one entry per field.
    Validation(Vec<FieldError>),
    /// When too many attempts failed recently; the caller may retry after this many seconds.
    TooManyAttempts {
        /// Seconds until an attempt may succeed again (for `Retry-After`).
        retry_after_s: u64,
    },
    /// When the host's configuration is unusable; says which setting and why (never its value).
    Misconfigured(String),
    /// When the store failed; the message is for logs only.
    StorageUnavailable(String),
    /// When a stored record cannot be read back; the message is for logs only.
    Internal(String),
    /// When the password was right but the account needs a second step.
    MfaRequired(MfaChallenge),
    /// When a TOTP or recovery code is wrong, used already, or outside the window.
    InvalidCode,
    /// When an `mfa_token` is unknown, used, expired or dead.
    MfaTokenInvalid,
    /// When TOTP enrolment is asked for while TOTP is already enabled.
    TotpAlreadyEnabled,
    /// When a provider's sign-in finds a local account by email that may not be linked
    /// automatically.
    AccountExists,
    /// When a provider sign-in fails at the callback; the code says which way (`access_denied`,
    /// `invalid_state`, `provider_error`), the message why, for logs only.
    SignInRefused(ErrorCode, String),
}

/// What `mfa_required` hands the client: the token that continues the login and the methods
/// the account can use. Its `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// The `mfa_token`.
    pub mfa_token: String,
    /// The second-step methods (`totp`, `recovery_code`, `passkey`).
    pub methods: Vec<&'static str>,
}

impl fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("mfa_token", &"[redacted]")
            .field("methods", &self.methods)
            .finish()
    }
}

impl Error {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotAuthenticated => ErrorCode::NotAuthenticated,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::InvalidToken(_) => ErrorCode::InvalidToken,
            Error::InvalidRefreshToken(_) => ErrorCode::InvalidRefreshToken,
            Error::RefreshTokenReused => ErrorCode::RefreshTokenReused,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::IncorrectPassword => ErrorCode::IncorrectPassword,
            Error::EmailTaken => ErrorCode::EmailTaken,
            Error::LastAdmin => ErrorCode::LastAdmin,
            Error::LastLoginMethod => ErrorCode::LastLoginMethod,
            Error::AccountDisabled => ErrorCode::AccountDisabled,
            Error::EmailNotVerified => ErrorCode::EmailNotVerified,
            Error::InvalidActionToken => ErrorCode::InvalidActionToken,
            Error::NotFound => ErrorCode::NotFound,
            Error::Validation(_) => ErrorCode::ValidationError,
            Error::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            Error::Misconfigured(_) => ErrorCode::Misconfigured,
            Error::StorageUnavailable(_) => ErrorCode::StorageUnavailable,
            Error::Internal(_) => ErrorCode::InternalError,
            Error::MfaRequired(_) => ErrorCode::MfaRequired,
            Error::InvalidCode => ErrorCode::InvalidCode,
            Error::MfaTokenInvalid => ErrorCode::MfaTokenInvalid,
            Error::TotpAlreadyEnabled => ErrorCode::TotpAlreadyEnabled,
            Error::AccountExists => ErrorCode::AccountExists,
            Error::SignInRefused(code, _) => *code,
        }
    }

    /// The HTTP status for this error (401 means "who are you?", 403 means "not allowed").
    pub fn http_status(&self) -> u16 {
        self.code().http_status()
    }

    /// A validation error for a single field.
    pub fn field(field: impl Into<String>, code: ErrorCode) -> Error {
        Error::Validation(alloc::vec![FieldError::new(field, code)])
    }
}

impl fmt::Display for Error {
    /// Renders the code and the internal reason: for logs, not for clients.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidToken(r) => write!(f, "invalid_token: {}", r.as_str()),
            Error::InvalidRefreshToken(r) => write!(f, "invalid_refresh_token: {}", r.as_str()),
            Error::Forbidden(what) => write!(f, "forbidden: requires {what}"),
            Error::Validation(fields) => {
                f.write_str("validation_error:")?;
                for e in fields {
                    write!(f, " {}={}", e.field, e.code)?;
                }
                Ok(())
            }
            Error::TooManyAttempts { retry_after_s } => {
                write!(f, "too_many_attempts: retry after {retry_after_s} s")
            }
            Error::Misconfigured(why) => write!(f, "misconfigured: {why}"),
            Error::StorageUnavailable(why) => write!(f, "storage_unavailable: {why}"),
            Error::Internal(why) => write!(f, "internal_error: {why}"),
            Error::SignInRefused(code, why) => write!(f, "{code}: {why}"),
            other => f.write_str(other.code().as_str()),
        }
    }
}

impl core::error::Error for Error {}

/// The result type of fallible core operations.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn every_code_round_trips_through_its_string() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let s = code.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s} is not snake_case"
            );
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn codes_are_unique() {
        for (i, a) in ErrorCode::ALL.iter().enumerate() {
            for b in &ErrorCode::ALL[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn who_are_you_is_401_and_not_allowed_is_403() {
        assert_eq!(
            Error::InvalidToken(TokenRejection::Expired).http_status(),
            401
        );
        assert_eq!(Error::NotAuthenticated.http_status(), 401);
        assert_eq!(Error::RefreshTokenReused.http_status(), 401);
        assert_eq!(Error::Forbidden("scope admin".into()).http_status(), 403);
        assert_eq!(ErrorCode::CrossSiteRefused.http_status(), 403);
        assert_eq!(
            Error::TooManyAttempts { retry_after_s: 5 }.http_status(),
            429
        );
        assert_eq!(Error::StorageUnavailable("kv".into()).http_status(), 503);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn display_carries_the_internal_reason_for_logs() {
        let e = Error::InvalidToken(TokenRejection::Audience);
        assert_eq!(alloc::format!("{e}"), "invalid_token: audience mismatch");
        assert_eq!(e.code().as_str(), "invalid_token");
    }
}
