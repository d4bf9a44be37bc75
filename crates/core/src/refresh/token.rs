//! The refresh token itself: opaque, deterministic, authenticated.
//!
//! The token for generation `g` of a family is a pure function of (user, family, g) and the
//! refresh key: `base64url(v || user || family || g || HMAC-SHA-256(key, label || v || user ||
//! family || g))`. Every location that rotates generation `g` therefore hands out the same token
//! for `g + 1`, which is what lets two concurrent refreshes agree instead of fight, and nothing
//! about a token can be forged without the key. The user id rides along so that the family's
//! storage key (`family:{user}:{family}`) can be found without an index.

use alloc::string::String;
use core::fmt;

use hmac::Mac;

use crate::error::{Error, RefreshRejection};
use crate::id::Id;
use crate::mac::{HmacSha256, hmac_sha256};
use crate::unverified::{decode_base64url, encode_base64url};

/// Format version carried in the first byte.
const VERSION: u8 = 1;
/// Bytes before the tag: version, user id, family id, generation (u32, big-endian).
const BODY_BYTES: usize = 1 + 16 + 16 + 4;
/// HMAC-SHA-256 output, untruncated.
const TAG_BYTES: usize = 32;
/// Length of the encoded token: 69 bytes in unpadded base64url.
pub const REFRESH_TOKEN_CHARS: usize = (BODY_BYTES + TAG_BYTES) * 4 / 3;
/// Domain separation: the MAC input can never be mistaken for a JWS signing input.
const MAC_LABEL: &[u8] = b"tollgate/refresh-token/v1\0";
/// Domain separation for deriving the refresh key from a configured secret.
const KEY_LABEL: &[u8] = b"tollgate/refresh-token-key/v1";
/// Shortest configured refresh secret, in bytes (256 bits, as for JWT_SECRET).
pub const MIN_REFRESH_SECRET_BYTES: usize = 32;

/// The key that authenticates refresh tokens. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct RefreshKey([u8; 32]);

impl RefreshKey {
    /// Derives the key from a dedicated `REFRESH_SECRET` (at least 32 bytes).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the secret is shorter than 32 bytes.
    pub fn from_secret(secret: &str) -> Result<RefreshKey, Error> {
        if secret.len() < MIN_REFRESH_SECRET_BYTES {
            return Err(Error::Misconfigured(alloc::format!(
                "REFRESH_SECRET must be at least {MIN_REFRESH_SECRET_BYTES} bytes; generate one with `tollgate keygen`"
            )));
        }
        Ok(RefreshKey::derive(secret.as_bytes()))
    }

    /// Derives the key from the JWT secret, for deployments without a `REFRESH_SECRET`.
    ///
    /// The derivation (HMAC-SHA-256 keyed by the secret over a fixed label) separates the two
    /// uses: a refresh-token MAC is never a valid JWT signature and the reverse.
    pub fn derive_from_jwt_secret(jwt_secret: &str) -> RefreshKey {
        RefreshKey::derive(jwt_secret.as_bytes())
    }

    fn derive(secret: &[u8]) -> RefreshKey {
        let mut mac = hmac_sha256(secret);
        mac.update(KEY_LABEL);
        RefreshKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = hmac_sha256(&self.0);
        mac.update(MAC_LABEL);
        mac.update(body);
        mac
    }
}

impl fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshKey([redacted])")
    }
}

/// What a presented refresh token says, once its MAC has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedToken {
    /// The user the family belongs to.
    pub user_id: Id,
    /// The family (session).
    pub family_id: Id,
    /// The generation this token was issued for.
    pub generation: u32,
}

/// The token for `generation` of a family.
pub fn encode_token(key: &RefreshKey, user_id: &Id, family_id: &Id, generation: u32) -> String {
    let mut bytes = [0u8; BODY_BYTES + TAG_BYTES];
    bytes[0] = VERSION;
    bytes[1..17].copy_from_slice(user_id.as_bytes());
    bytes[17..33].copy_from_slice(family_id.as_bytes());
    bytes[33..37].copy_from_slice(&generation.to_be_bytes());
    let tag = key.mac(&bytes[..BODY_BYTES]).finalize().into_bytes();
    bytes[BODY_BYTES..].copy_from_slice(&tag);
    encode_base64url(&bytes)
}

/// Reads and authenticates a presented token.
///
/// # Errors
/// [`Error::InvalidRefreshToken`] with [`RefreshRejection::Malformed`] (wrong length, not
/// base64url, unknown version) or [`RefreshRejection::Forged`] (the MAC does not verify; the
/// comparison is constant-time).
pub fn decode_token(key: &RefreshKey, presented: &str) -> Result<PresentedToken, Error> {
    let malformed = || Error::InvalidRefreshToken(RefreshRejection::Malformed);
    // The length check comes first so that huge cookies cost nothing.
    if presented.len() != REFRESH_TOKEN_CHARS {
        return Err(malformed());
    }
    let bytes = decode_base64url(presented).map_err(|_| malformed())?;
    if bytes.len() != BODY_BYTES + TAG_BYTES || bytes[0] != VERSION {
        return Err(malformed());
    }
    let (body, tag) = bytes.split_at(BODY_BYTES);
    key.mac(body)
        .verify_slice(tag)
        .map_err(|_| Error::InvalidRefreshToken(RefreshRejection::Forged))?;
    let mut user = [0u8; 16];
    let mut family = [0u8; 16];
    let mut generation = [0u8; 4];
    user.copy_from_slice(&body[1..17]);
    family.copy_from_slice(&body[17..33]);
    generation.copy_from_slice(&body[33..37]);
    Ok(PresentedToken {
        user_id: Id::from_bytes(user),
        family_id: Id::from_bytes(family),
        generation: u32::from_be_bytes(generation),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn key() -> RefreshKey {
        RefreshKey::from_secret("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn tokens_are_deterministic_and_round_trip() {
        let mut rng = SeededRandom::new(1);
        let (user, family) = (Id::generate(&mut rng), Id::generate(&mut rng));
        let t = encode_token(&key(), &user, &family, 7);
        assert_eq!(t.len(), REFRESH_TOKEN_CHARS);
        assert_eq!(
            t,
            encode_token(&key(), &user, &family, 7),
            "same inputs, same token"
        );
        assert_ne!(t, encode_token(&key(), &user, &family, 8));
        let got = decode_token(&key(), &t).unwrap();
        assert_eq!(
            got,
            PresentedToken {
                user_id: user,
                family_id: family,
                generation: 7
            }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn another_key_or_any_changed_byte_is_forged() {
        let mut rng = SeededRandom::new(2);
        let (user, family) = (Id::generate(&mut rng), Id::generate(&mut rng));
        let t = encode_token(&key(), &user, &family, 3);
        let other = RefreshKey::derive_from_jwt_secret("another secret of at least 32 bytes!!");
        assert_eq!(
            decode_token(&other, &t),
            Err(Error::InvalidRefreshToken(RefreshRejection::Forged))
        );
        let mut bytes = decode_base64url(&t).unwrap();
        for i in 1..bytes.len() {
            bytes[i] ^= 1;
            let tampered = encode_base64url(&bytes);
            assert_eq!(
                decode_token(&key(), &tampered),
                Err(Error::InvalidRefreshToken(RefreshRejection::Forged)),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn malformed_tokens_are_refused_before_any_mac() {
        let good = encode_token(
            &key(),
            &Id::from_bytes([1; 16]),
            &Id::from_bytes([2; 16]),
            0,
        );
        let mut v2 = decode_base64url(&good).unwrap();
        v2[0] = 2;
        let huge = "A".repeat(1 << 20);
        for bad in [
            String::new(),
            "x".into(),
            good[1..].into(),
            alloc::format!("{good}A"),
            alloc::format!("{}=", &good[..REFRESH_TOKEN_CHARS - 1]),
            alloc::format!("{}+", &good[..REFRESH_TOKEN_CHARS - 1]),
            encode_base64url(&v2),
            huge,
        ] {
            assert_eq!(
                decode_token(&key(), &bad),
                Err(Error::InvalidRefreshToken(RefreshRejection::Malformed)),
                "{:?}",
                &bad[..bad.len().min(20)]
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn short_refresh_secrets_are_refused_and_keys_never_print() {
        assert!(matches!(
            RefreshKey::from_secret("short"),
            Err(Error::Misconfigured(_))
        ));
        let shown = alloc::format!("{:?}", key());
        assert_eq!(shown, "RefreshKey([redacted])");
    }
}
