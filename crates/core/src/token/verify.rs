//! Verifying access tokens, strictly and in one pass.
//!
//! The order is fixed so that untrusted bytes get as little work as possible: size and shape
//! before any decoding; the header (parsed once) before any key; the signature before the
//! payload is even parsed; the claims (parsed once) last.

use super::claims::{self, AccessClaims, TokenConfig};
use super::header;
use super::jws::{self, VerifyingKey};
use super::keys::KeySet;
use super::public_keys::PublicKeySet;
use crate::error::{Error, TokenRejection};
use crate::time::UnixSeconds;
use crate::unverified::{decode_base64url, split_compact};

/// Where [`verify`] finds the key a token's `kid` names: a [`KeySet`] (an issuer's keys, which
/// also sign) or a verify-only [`PublicKeySet`] (a guard's). Sealed: no other kind of key
/// source can be passed in.
pub trait VerificationKeys: sealed::Sealed {
    /// The key `kid` selects, or [`TokenRejection::UnknownKey`].
    #[doc(hidden)]
    fn key_for(&self, kid: Option<&str>) -> Result<&VerifyingKey, TokenRejection>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::KeySet {}
    impl Sealed for super::PublicKeySet {}
}

impl VerificationKeys for KeySet {
    /// Any configured key by exact kid; without a kid, the current key.
    fn key_for(&self, kid: Option<&str>) -> Result<&VerifyingKey, TokenRejection> {
        self.select(kid)
    }
}

impl VerificationKeys for PublicKeySet {
    /// A key by exact kid; without a kid, none.
    fn key_for(&self, kid: Option<&str>) -> Result<&VerifyingKey, TokenRejection> {
        self.select(kid)
    }
}

/// Verifies an access token and returns its claims.
///
/// Rejects, with the [`TokenRejection`] in brackets:
/// - over 8 KiB \[Oversized\] or not three base64url segments \[Shape\], before any decoding;
///   a segment that is not canonical unpadded base64url \[Base64\];
/// - a header that is not a JSON object \[Json\] or repeats a key at any depth
///   \[DuplicateKey\]; whose `alg` is missing or not exactly `HS256`/`EdDSA` (so `none` in any
///   casing) \[Algorithm\]; with `crit` \[Critical\]; with `jwk`, `jku`, `x5u` or `x5c`
///   \[EmbeddedKey\]; whose `typ` is not `at+jwt` or `application/at+jwt`, ignoring ASCII
///   case \[Type\];
/// - a `kid` naming no configured key \[UnknownKey\] (without a `kid`, a [`KeySet`] tries its
///   current key only, a [`PublicKeySet`] none); an `alg` that is not the selected key's
///   \[Algorithm\]; a bad signature \[Signature\];
/// - claims that are not a JSON object \[Json\], repeat a key \[DuplicateKey\], lack one of
///   `iss aud sub exp iat nbf jti sid role scope` \[MissingClaim\], or have a wrong type (dates
///   must be integers in `0..=MAX_NUMERIC_DATE`) \[ClaimType\];
/// - `iss` not exactly the issuer \[Issuer\]; `aud` not exactly the audience, as a string or a
///   one-element array \[Audience\]; `now >= exp + leeway` \[Expired\]; `nbf` or `iat` later
///   than `now + leeway` \[NotYetValid\].
///
/// # Errors
/// [`Error::InvalidToken`] with the reason above, for logs; clients see one code.
pub fn verify<K: VerificationKeys + ?Sized>(
    keys: &K,
    config: &TokenConfig,
    token: &str,
    now: UnixSeconds,
) -> Result<AccessClaims, Error> {
    verify_token(keys, config, token, now).map_err(Error::InvalidToken)
}

fn verify_token<K: VerificationKeys + ?Sized>(
    keys: &K,
    config: &TokenConfig,
    token: &str,
    now: UnixSeconds,
) -> Result<AccessClaims, TokenRejection> {
    let parts = split_compact(token)?;
    let header_json = decode_base64url(parts.header)?;
    let header = header::parse(&header_json)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(header::is_access_token_type)
    {
        return Err(TokenRejection::Type);
    }
    let key = keys.key_for(header.kid.as_deref())?;
    jws::check_signature(key, header.alg, &parts)?;
    let claims = claims::parse(&decode_base64url(parts.payload)?)?;
    check_claims(&claims, config, now)?;
    Ok(claims)
}

/// The checks on authenticated claims: who issued it, for whom, and when it is valid.
fn check_claims(
    claims: &AccessClaims,
    config: &TokenConfig,
    now: UnixSeconds,
) -> Result<(), TokenRejection> {
    if claims.iss != config.issuer {
        return Err(TokenRejection::Issuer);
    }
    if claims.aud != config.audience {
        return Err(TokenRejection::Audience);
    }
    // RFC 7519 §4.1.4: the current time must be before `exp`; the leeway extends that.
    if now >= claims.exp.saturating_add(config.leeway_s) {
        return Err(TokenRejection::Expired);
    }
    // RFC 7519 §4.1.5: the current time must be at or after `nbf`. A token issued in the future
    // (beyond the same leeway) means a skewed or hostile issuer and is refused the same way.
    let latest_acceptable = now.saturating_add(config.leeway_s);
    if claims.nbf > latest_acceptable || claims.iat > latest_acceptable {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(())
}
