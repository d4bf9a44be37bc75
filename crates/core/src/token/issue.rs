//! Issuing access tokens.

use alloc::string::String;

use super::claims::{AccessClaims, MAX_NUMERIC_DATE, NewAccessToken, TokenConfig};
use super::jws;
use super::keys::KeySet;
use crate::error::Error;
use crate::random::Random;
use crate::time::UnixSeconds;
use crate::unverified::encode_base64url;

/// Bytes of randomness in a `jti`: 128 bits, so ids never collide in practice.
const JTI_BYTES: usize = 16;

/// Signs a new access token.
///
/// The header is `{"alg","typ":"at+jwt","kid"}` with the key set's algorithm and kid; the
/// claims are the configured `iss` and `aud`, the caller's `sub`, `sid`, `role` and `scope`,
/// `iat` = `nbf` = `now`, `exp` = `now + ttl_s`, and a `jti` of 128 bits from `rng`
/// (base64url). Returns the compact token and its claims.
///
/// # Errors
/// [`Error::Misconfigured`] when `config.ttl_s` is 0 or `exp` would pass
/// [`MAX_NUMERIC_DATE`]; [`Error::Internal`] if signing fails.
pub fn issue<R: Random + ?Sized>(
    keys: &KeySet,
    config: &TokenConfig,
    new: &NewAccessToken<'_>,
    now: UnixSeconds,
    rng: &mut R,
) -> Result<(String, AccessClaims), Error> {
    if config.ttl_s == 0 {
        return Err(Error::Misconfigured(String::from(
            "the access-token lifetime must be at least 1 second",
        )));
    }
    let exp = now
        .checked_add(config.ttl_s)
        .filter(|&exp| exp <= MAX_NUMERIC_DATE)
        .ok_or_else(|| {
            Error::Misconfigured(String::from(
                "the access-token lifetime puts its expiry past the year 9999",
            ))
        })?;
    let mut jti = [0u8; JTI_BYTES];
    rng.fill(&mut jti);
    let claims = AccessClaims {
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        sub: String::from(new.subject),
        exp,
        iat: now,
        nbf: now,
        jti: encode_base64url(&jti),
        sid: String::from(new.session_id),
        role: String::from(new.role),
        scope: String::from(new.scope),
        email_verified: Some(new.email_verified),
        amr: new.amr.to_vec(),
    };
    let payload = serde_json::to_vec(&claims)
        .map_err(|_| Error::Internal(String::from("claims did not serialize")))?;
    let token = jws::sign_encoded(
        keys.signing_key(),
        keys.header_b64(),
        &encode_base64url(&payload),
    )?;
    Ok((token, claims))
}
