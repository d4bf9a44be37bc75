//! Second factors: TOTP, recovery codes, and the token that carries a login from its password
//! to its second step.
//!
//! Everything here is pure: codes are checked against a time passed in, randomness comes from
//! the caller, and what an account has enrolled lives in its user record ([`MfaRecord`]),
//! changed only by its sequencer (see [`crate::store::records`]). The flows that use them are
//! in `flows::mfa`.
//!
//! - [`totp`]: RFC 6238 codes (SHA-1, 6 digits, 30 s, one step either side), base32 and the
//!   `otpauth://` URI.
//! - [`recovery_codes`]: ten single-use codes of 125 bits each, stored as SHA-256 hashes.
//! - [`seal`]: the TOTP secret as stored, encrypted and authenticated under a key derived from
//!   the refresh key, so that a read of the user record alone does not give it away.
//! - [`mfa_token`]: the `mfa_token` of a login that needs its second step.
//! - [`state`]: the per-user state and how each change to it is decided.

pub mod mfa_token;
pub mod recovery_codes;
pub mod seal;
pub mod state;
pub mod totp;

pub use mfa_token::MfaToken;
pub use state::{MfaRecord, PendingLogin, TotpFactor, VerifiedFactor};

/// How long an `mfa_token` lives, in seconds: five minutes, long enough to open an
/// authenticator app, short enough that a token left in a log is soon worthless.
pub const MFA_TOKEN_TTL_S: u64 = 300;
/// Wrong codes one `mfa_token` may take before it is dead (they also count against the
/// account's login throttle).
pub const MAX_MFA_FAILURES: u32 = 5;
/// The scope a token gets when its role must have a second factor (`REQUIRE_MFA_FOR_ROLES`)
/// and the account has none yet: enough to enrol one, nothing else.
pub const SCOPE_MFA_ENROLL: &str = "mfa:enroll";

/// `amr` (RFC 8176 §2) of a password login.
pub const AMR_PASSWORD: &str = "pwd";
/// `amr` of a one-time password (RFC 6238 TOTP).
pub const AMR_OTP: &str = "otp";
/// `amr` of a login that used more than one factor.
pub const AMR_MFA: &str = "mfa";
/// `amr` of a user-presence test (RFC 8176 §2): a passkey's UP flag, with the UV that
/// Tollgate requires of every passkey.
pub const AMR_USER: &str = "user";
