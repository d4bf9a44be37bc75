//! What a new password must be: long enough, not too long, not common. Nothing else.

use super::common;
use crate::error::{Error, ErrorCode};
use crate::limits::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

/// Registration/password-change policy: at least [`MIN_PASSWORD_CHARS`] Unicode scalar
/// values, at most [`MAX_PASSWORD_BYTES`] bytes (checked first, before anything else), and
/// not on the common-password list (compared in lowercase).
///
/// No composition rules (NIST SP 800-63B advises against them), and the password is
/// never truncated, trimmed or case-folded: what the user typed is what gets hashed.
///
/// # Errors
/// [`Error::Validation`] with one `password` field error: [`ErrorCode::PasswordTooLong`],
/// [`ErrorCode::PasswordTooShort`] or [`ErrorCode::PasswordTooCommon`], the first that applies
/// in that order.
pub fn check_policy(password: &str) -> Result<(), Error> {
    // First, so that nothing below (counting, lowercasing) ever runs on a huge input.
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::field("password", ErrorCode::PasswordTooLong));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::field("password", ErrorCode::PasswordTooShort));
    }
    if common::is_common(password) {
        return Err(Error::field("password", ErrorCode::PasswordTooCommon));
    }
    Ok(())
}
