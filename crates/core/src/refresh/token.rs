//! The refresh token itself: opaque, deterministic, authenticated.
//!
//! The token for generation `g` of a family is a pure function of the family's fields and the
//! refresh key:
//!
//! ```text
//! base64url(body || HMAC-SHA-256(key, label || body)), body = 2 || user || family || g || created
//! ```
//!
//! (ids are 16 bytes, `g` a big-endian u32, `created` the family's creation time as a
//! big-endian u64 of Unix seconds). Every location that rotates generation `g` therefore hands
//! out the same token for `g + 1`, which is what lets two concurrent refreshes agree instead of
//! fight, and nothing about a token can be forged without the key. The user id rides along so
//! that the family's storage key (`family:{user}:{family}`) can be found without an index; the
//! creation time, so that a location which cannot see the family record yet can tell "not
//! propagated yet" from "gone" (see [`super::family`]).
//!
//! Version 1, the first format (`1 || user || family || g`, without the creation time, 92
//! characters), is no longer accepted: it is refused as malformed before any MAC is computed,
//! like any other token of the wrong length. Tokens of that format stopped being issued before
//! the longest session lifetime that has passed since, and accepting them meant a token could
//! not say when its family began.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use hmac::Mac;

use crate::error::{Error, RefreshRejection};
use crate::id::Id;
use crate::mac::{HmacSha256, hmac_sha256};
use crate::time::UnixSeconds;
use crate::token::secret_strength;
use crate::unverified::{decode_base64url, encode_base64url};

/// Format version of the tokens issued and accepted: those that carry the family's creation
/// time. (Version 1, without it, is refused.)
const VERSION: u8 = 2;
/// Bytes of a body: version, user id, family id, generation (u32, big-endian), creation time
/// (u64, big-endian).
const BODY_BYTES: usize = 1 + 16 + 16 + 4 + 8;
/// HMAC-SHA-256 output, untruncated.
const TAG_BYTES: usize = 32;
/// Length of a token: 77 bytes in unpadded base64url.
pub const REFRESH_TOKEN_CHARS: usize = ((BODY_BYTES + TAG_BYTES) * 4).div_ceil(3);
/// Domain separation: the MAC input can never be mistaken for a JWS signing input.
const MAC_LABEL: &[u8] = b"tollgate/refresh-token/v1\0";
/// Domain separation for deriving the refresh key from a configured secret.
const KEY_LABEL: &[u8] = b"tollgate/refresh-token-key/v1";

/// The key that authenticates refresh tokens. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct RefreshKey {
    /// HMAC keyed with the derived key, with [`MAC_LABEL`] already absorbed: each token costs
    /// a copy of this state instead of a key schedule.
    mac: HmacSha256,
    /// Verify-only keys derived from earlier JWT secrets, so that rotating `JWT_SECRET`
    /// (without a dedicated `REFRESH_SECRET`) does not end every session: tokens under them
    /// are still read, and their successors are issued under the current key.
    previous: Vec<HmacSha256>,
}

impl RefreshKey {
    /// Derives the key from a dedicated `REFRESH_SECRET`.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming `REFRESH_SECRET` when it fails the strength rules every
    /// secret must pass ([`crate::token::secret_strength`]: at least 32 bytes, not a published
    /// example, a pattern or a word); the message never quotes it.
    pub fn from_secret(secret: &str) -> Result<RefreshKey, Error> {
        secret_strength::check_named("REFRESH_SECRET", secret)?;
        Ok(RefreshKey::derive(secret.as_bytes()))
    }

    /// Derives the key from the JWT secret, for deployments without a `REFRESH_SECRET`.
    ///
    /// The derivation (HMAC-SHA-256 keyed by the secret over a fixed label) separates the two
    /// uses: a refresh-token MAC is never a valid JWT signature and the reverse.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming `JWT_SECRET` when it fails the strength rules, whether
    /// or not it also signs access tokens (with an EdDSA key it only keys refresh tokens).
    pub fn derive_from_jwt_secret(jwt_secret: &str) -> Result<RefreshKey, Error> {
        secret_strength::check_named("JWT_SECRET", jwt_secret)?;
        Ok(RefreshKey::derive(jwt_secret.as_bytes()))
    }

    /// Also accepts tokens authenticated under a key derived from an earlier JWT secret
    /// (verify-only: new tokens always use the current key). For a deployment whose refresh
    /// key is derived from `JWT_SECRET`, this is what keeps sessions alive across a rotation.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when the secret fails the strength rules (named "a previous
    /// JWT secret", never quoted).
    pub fn with_previous_jwt_secret(self, jwt_secret: &str) -> Result<RefreshKey, Error> {
        self.add_previous("a previous JWT secret", jwt_secret)
    }

    /// [`RefreshKey::with_previous_jwt_secret`] for each secret of `JWT_PREVIOUS_SECRETS`, read
    /// as [`crate::token::KeySet::with_previous_hs256_secrets`] reads it (one secret per line,
    /// `\r\n` accepted, empty lines skipped).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming the line (never its text) of the first weak secret.
    pub fn with_previous_jwt_secrets(mut self, lines: &str) -> Result<RefreshKey, Error> {
        for (line, secret) in crate::token::previous_secret_lines(lines) {
            self =
                self.add_previous(&alloc::format!("JWT_PREVIOUS_SECRETS line {line}"), secret)?;
        }
        Ok(self)
    }

    fn add_previous(mut self, name: &str, secret: &str) -> Result<RefreshKey, Error> {
        secret_strength::check_named(name, secret)?;
        self.previous.push(derive_mac(secret.as_bytes()));
        Ok(self)
    }

    fn derive(secret: &[u8]) -> RefreshKey {
        RefreshKey {
            mac: derive_mac(secret),
            previous: Vec::new(),
        }
    }

    /// A 32-byte key for another purpose, derived from the current key under `label`
    /// (HMAC-SHA-256 of [`MAC_LABEL`], `0xff` and the label): the `0xff` is never the version
    /// byte a token body starts with, so no derived key is ever a refresh-token MAC, and
    /// knowing one says nothing of the refresh key. Previous keys derive nothing: what is
    /// derived from a rotated secret dies with it.
    pub(crate) fn derive_subkey(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(&[0xff]);
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(body);
        mac
    }

    /// Whether `tag` authenticates `body` under the current key or any previous one. Each
    /// comparison is constant-time; which key matched is not secret.
    fn verifies(&self, body: &[u8], tag: &[u8]) -> bool {
        core::iter::once(&self.mac)
            .chain(self.previous.iter())
            .any(|key| {
                let mut mac = key.clone();
                mac.update(body);
                mac.verify_slice(tag).is_ok()
            })
    }
}

/// The keyed MAC state for a refresh key derived from `secret`, with [`MAC_LABEL`] absorbed.
fn derive_mac(secret: &[u8]) -> HmacSha256 {
    let mut kdf = hmac_sha256(secret);
    kdf.update(KEY_LABEL);
    let mut mac = hmac_sha256(&kdf.finalize().into_bytes());
    mac.update(MAC_LABEL);
    mac
}

impl fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshKey([redacted])")
    }
}

/// What a refresh token says, once its MAC has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedToken {
    /// The user the family belongs to.
    pub user_id: Id,
    /// The family (session).
    pub family_id: Id,
    /// The generation this token was issued for.
    pub generation: u32,
    /// When the family was created (the login), as the token states it.
    pub created_at: UnixSeconds,
}

impl PresentedToken {
    /// The token carrying exactly these fields. [`decode_token`] of the result gives `self`
    /// back.
    pub fn encode(&self, key: &RefreshKey) -> String {
        let mut bytes = [0u8; BODY_BYTES + TAG_BYTES];
        bytes[0] = VERSION;
        bytes[1..17].copy_from_slice(self.user_id.as_bytes());
        bytes[17..33].copy_from_slice(self.family_id.as_bytes());
        bytes[33..37].copy_from_slice(&self.generation.to_be_bytes());
        bytes[37..45].copy_from_slice(&self.created_at.to_be_bytes());
        let (body, rest) = bytes.split_at_mut(BODY_BYTES);
        let tag = key.mac(body).finalize().into_bytes();
        rest.copy_from_slice(&tag);
        encode_base64url(&bytes)
    }
}

/// Reads and authenticates a presented token.
///
/// # Errors
/// [`Error::InvalidRefreshToken`] with [`RefreshRejection::Malformed`] (wrong length, which
/// includes every token of the first format, not base64url, another version) or
/// [`RefreshRejection::Forged`] (the MAC does not verify; the comparison is constant-time).
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
    if !key.verifies(body, tag) {
        return Err(Error::InvalidRefreshToken(RefreshRejection::Forged));
    }
    let mut user = [0u8; 16];
    let mut family = [0u8; 16];
    let mut generation = [0u8; 4];
    user.copy_from_slice(&body[1..17]);
    family.copy_from_slice(&body[17..33]);
    generation.copy_from_slice(&body[33..37]);
    let mut created = [0u8; 8];
    created.copy_from_slice(&body[37..45]);
    Ok(PresentedToken {
        user_id: Id::from_bytes(user),
        family_id: Id::from_bytes(family),
        generation: u32::from_be_bytes(generation),
        created_at: u64::from_be_bytes(created),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The key of the vectors below. Its secret is a pattern the strength rules refuse, so it
    /// is built without them: the vectors were computed with it.
    fn key() -> RefreshKey {
        RefreshKey::derive(b"0123456789abcdef0123456789abcdef")
    }

    fn fields(generation: u32, created_at: UnixSeconds) -> PresentedToken {
        PresentedToken {
            user_id: Id::from_bytes([1; 16]),
            family_id: Id::from_bytes([2; 16]),
            generation,
            created_at,
        }
    }

    /// Computed outside this code, with Python's `hmac` and `hashlib` from the format in the
    /// module docs (key = HMAC-SHA-256(secret, key label); tag = HMAC-SHA-256(key, MAC label ||
    /// body)): user id `01`×16, family id `02`×16, generation 7, created 1 700 000 000.
    const V2_VECTOR: &str = "AgEBAQEBAQEBAQEBAQEBAQECAgICAgICAgICAgICAgICAAAABwAAAABlU_EAB078imdTvLSOXsr3i-pXYL0VB1js1XbPP-miy2sreaQ";
    /// The same fields in the first format (version 1: no creation time, 92 characters), under
    /// the same key, computed the same way: its MAC is valid, and it is refused all the same.
    const V1_VECTOR: &str = "AQEBAQEBAQEBAQEBAQEBAQECAgICAgICAgICAgICAgICAAAAB43hovdP9xcZn1XD2vr8cZjx-F9_3ZY4G4ygosTFOgmD";

    #[wasm_bindgen_test(unsupported = test)]
    fn tokens_match_independently_computed_vectors() {
        assert_eq!(fields(7, 1_700_000_000).encode(&key()), V2_VECTOR);
        assert_eq!(
            decode_token(&key(), V2_VECTOR),
            Ok(fields(7, 1_700_000_000))
        );
        assert_eq!(V2_VECTOR.len(), REFRESH_TOKEN_CHARS);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn first_format_tokens_are_refused_though_their_mac_is_valid() {
        assert_eq!(V1_VECTOR.len(), 92);
        assert_eq!(
            decode_token(&key(), V1_VECTOR),
            Err(Error::InvalidRefreshToken(RefreshRejection::Malformed))
        );
        // Nor does a first-format body pass when padded to the current length.
        let mut bytes = decode_base64url(V1_VECTOR).unwrap();
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode_token(&key(), &encode_base64url(&bytes)),
            Err(Error::InvalidRefreshToken(RefreshRejection::Malformed))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn tokens_are_deterministic_and_round_trip() {
        let mut rng = SeededRandom::new(1);
        for created_at in [0, 1_700_000_000, u64::MAX] {
            let token = PresentedToken {
                user_id: Id::generate(&mut rng),
                family_id: Id::random(&mut rng),
                generation: 7,
                created_at,
            };
            let t = token.encode(&key());
            assert_eq!(t, token.encode(&key()), "same inputs, same token");
            let next = PresentedToken {
                generation: 8,
                ..token
            };
            assert_ne!(t, next.encode(&key()));
            assert_eq!(decode_token(&key(), &t), Ok(token));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn another_key_or_any_changed_byte_is_forged() {
        for created_at in [0, 1_700_000_000] {
            let t = fields(3, created_at).encode(&key());
            let other =
                RefreshKey::derive_from_jwt_secret("Zr4wXq8Lm2Vt6Nk0Pb9Hd3Jf7Gs1Yc5A").unwrap();
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
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn malformed_tokens_are_refused_before_any_mac() {
        let v2 = fields(0, 1_700_000_000).encode(&key());
        // A token of the right length but another version (the first, or one not yet made).
        let relabel = |token: &str, version: u8| {
            let mut bytes = decode_base64url(token).unwrap();
            bytes[0] = version;
            encode_base64url(&bytes)
        };
        let huge = "A".repeat(1 << 20);
        for bad in [
            String::new(),
            "x".into(),
            v2[1..].into(),
            alloc::format!("{v2}A"),
            alloc::format!("{}=", &v2[..REFRESH_TOKEN_CHARS - 1]),
            alloc::format!("{}+", &v2[..REFRESH_TOKEN_CHARS - 1]),
            relabel(&v2, 1),
            relabel(&v2, 3),
            V1_VECTOR.into(),
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
    fn weak_secrets_are_refused_by_name_whichever_way_the_key_is_made() {
        // The strength rules of JWT_SECRET apply to every secret that keys refresh tokens.
        for weak in [
            "short",
            "0123456789abcdef0123456789abcdef",
            "your-256-bit-secret",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "this is my very long refresh secret for production",
        ] {
            let named = |got: Result<RefreshKey, Error>, name: &str| match got {
                Err(Error::Misconfigured(message)) => {
                    assert!(message.starts_with(name), "{message}");
                    assert!(!message.contains(weak) || weak.len() < 12, "{message}");
                }
                other => panic!("{weak:?} as {name}: {other:?}"),
            };
            named(RefreshKey::from_secret(weak), "REFRESH_SECRET ");
            named(RefreshKey::derive_from_jwt_secret(weak), "JWT_SECRET ");
            let strong = RefreshKey::from_secret("Zr4wXq8Lm2Vt6Nk0Pb9Hd3Jf7Gs1Yc5A").unwrap();
            named(
                strong.with_previous_jwt_secrets(&alloc::format!(
                    "Ol9dQx7Vb2Kp4Tz8Rw1Hn6Jc3Fd5Gs0Ye\n{weak}"
                )),
                "JWT_PREVIOUS_SECRETS line 2 ",
            );
        }
        assert!(RefreshKey::from_secret("Zr4wXq8Lm2Vt6Nk0Pb9Hd3Jf7Gs1Yc5A").is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keys_never_print() {
        let shown = alloc::format!("{:?}", key());
        assert_eq!(shown, "RefreshKey([redacted])");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn tokens_under_a_previous_jwt_secret_still_read_and_successors_use_the_current_key() {
        let old_secret = "Ol9dQx7Vb2Kp4Tz8Rw1Hn6Jc3Fd5Gs0Ye";
        let new_secret = "Nw3eLm8Vq2Xt6Rk0Pb9Hd4Jf7Gs1Yc5Z";
        let derived = |secret: &str| RefreshKey::derive_from_jwt_secret(secret).unwrap();
        let old = derived(old_secret);
        let token = fields(4, 1_700_000_000).encode(&old);

        let rotated = derived(new_secret);
        assert_eq!(
            decode_token(&rotated, &token),
            Err(Error::InvalidRefreshToken(RefreshRejection::Forged)),
            "without the previous secret the old token is refused"
        );
        let rotated = rotated
            .with_previous_jwt_secrets(&alloc::format!(
                "Un7fKd3Wq9Lx5Vb1Tz8Rm2Hn6Jc4Gs0Pa\r\n\n{old_secret}\n"
            ))
            .unwrap();
        assert_eq!(decode_token(&rotated, &token), Ok(fields(4, 1_700_000_000)));

        // The successor is issued under the current key only: the old key alone cannot read it.
        let next = fields(5, 1_700_000_000).encode(&rotated);
        assert_eq!(next, fields(5, 1_700_000_000).encode(&derived(new_secret)));
        assert!(decode_token(&old, &next).is_err());
        // A key nobody configured still forges nothing.
        let stranger = derived("St4gWx9Lq2Vm7Kb0Tz5Rn8Hd3Jf6Gc1Pa");
        assert_eq!(
            decode_token(&rotated, &fields(4, 1_700_000_000).encode(&stranger)),
            Err(Error::InvalidRefreshToken(RefreshRejection::Forged))
        );
    }
}
