//! The TOTP secret as stored: encrypted and authenticated, bound to its user.
//!
//! A TOTP secret must be readable by the server (it computes the codes), so it cannot be
//! hashed; sealing it means a read of the user record alone (a KV export, a leaked backup)
//! does not give it away. The key is derived from the refresh key
//! ([`RefreshKey::derive_subkey`], label [`KEY_LABEL`]), which only the Worker holds.
//!
//! The construction is encrypt-then-MAC from HMAC-SHA-256 alone (no cipher crate in the
//! Worker): a fresh 16-byte nonce, a keystream block `HMAC(k, "enc" || nonce)` XORed with the
//! secret (at most 32 bytes, one block), and a tag `HMAC(k, "tag" || user || nonce || ct)`
//! checked in constant time before anything is decrypted. The user id in the tag means a
//! sealed secret copied into another account's record does not open there.
//!
//! Rotating the refresh key (`REFRESH_SECRET`, or `JWT_SECRET` where it derives the refresh
//! key) makes sealed secrets unreadable: those users sign in with a recovery code and enrol
//! again (SECURITY.md says so).

use alloc::string::String;
use alloc::vec::Vec;

use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::id::Id;
use crate::mac::{HmacSha256, hmac_sha256};
use crate::random::Random;
use crate::refresh::RefreshKey;
use crate::unverified::{decode_base64url, encode_base64url};

/// The derivation label of the sealing key.
pub const KEY_LABEL: &[u8] = b"tollgate/totp-seal/v1";
/// Prefix of a sealed secret, so a later format can be told apart.
const PREFIX: &str = "s1.";
const NONCE_BYTES: usize = 16;
const TAG_BYTES: usize = 32;
/// The longest secret one keystream block covers.
const MAX_SECRET_BYTES: usize = 32;

/// The key that seals TOTP secrets. Its `Debug` never shows the key.
pub struct SealKey(HmacSha256);

impl core::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

impl SealKey {
    /// The sealing key of a deployment, derived from its refresh key.
    pub fn from_refresh_key(key: &RefreshKey) -> SealKey {
        SealKey(hmac_sha256(&key.derive_subkey(KEY_LABEL)))
    }

    /// A key from raw bytes (tests).
    #[cfg(test)]
    pub(crate) fn from_bytes(key: &[u8]) -> SealKey {
        SealKey(hmac_sha256(key))
    }

    fn block(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// `secret` (at most 32 bytes) sealed for `user`: `s1.` and base64url of nonce,
    /// ciphertext and tag.
    pub fn seal<R: Random + ?Sized>(&self, user: &Id, secret: &[u8], rng: &mut R) -> String {
        let secret = &secret[..secret.len().min(MAX_SECRET_BYTES)];
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill(&mut nonce);
        let stream = self.block(&[b"enc\0", &nonce]);
        let ct: Vec<u8> = secret.iter().zip(stream).map(|(s, k)| s ^ k).collect();
        let tag = self.block(&[b"tag\0", user.as_bytes(), &nonce, &ct]);
        let mut out = Vec::with_capacity(NONCE_BYTES + ct.len() + TAG_BYTES);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        alloc::format!("{PREFIX}{}", encode_base64url(&out))
    }

    /// The secret `sealed` holds for `user`, if it was sealed under this key for this user.
    pub fn open(&self, user: &Id, sealed: &str) -> Option<Vec<u8>> {
        let bytes = decode_base64url(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_BYTES + TAG_BYTES
            || bytes.len() > NONCE_BYTES + MAX_SECRET_BYTES + TAG_BYTES
        {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_BYTES);
        let (ct, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let expected = self.block(&[b"tag\0", user.as_bytes(), nonce, ct]);
        if !bool::from(expected.ct_eq(tag)) {
            return None;
        }
        let stream = self.block(&[b"enc\0", nonce]);
        Some(ct.iter().zip(stream).map(|(c, k)| c ^ k).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_sealed_secret_opens_for_its_user_under_its_key_only() {
        let key = SealKey::from_bytes(b"k1");
        let alice = Id::from_bytes([1; 16]);
        let bob = Id::from_bytes([2; 16]);
        let secret = b"12345678901234567890";
        let sealed = key.seal(&alice, secret, &mut SeededRandom::new(3));
        assert!(!sealed.contains("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"), "{sealed}");
        assert_eq!(key.open(&alice, &sealed).as_deref(), Some(&secret[..]));
        assert_eq!(key.open(&bob, &sealed), None);
        assert_eq!(SealKey::from_bytes(b"k2").open(&alice, &sealed), None);
        // Each sealing draws a fresh nonce.
        assert_ne!(key.seal(&alice, secret, &mut SeededRandom::new(4)), sealed);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_tampered_or_malformed_seal_does_not_open() {
        let key = SealKey::from_bytes(b"k1");
        let alice = Id::from_bytes([1; 16]);
        let sealed = key.seal(&alice, b"12345678901234567890", &mut SeededRandom::new(3));
        let mut bytes = decode_base64url(&sealed[3..]).unwrap();
        bytes[NONCE_BYTES] ^= 1;
        let flipped = alloc::format!("{PREFIX}{}", encode_base64url(&bytes));
        for bad in [flipped.as_str(), "", "s1.", "s1.AAAA", &sealed[3..], "s2.x"] {
            assert_eq!(key.open(&alice, bad), None, "{bad:?}");
        }
    }
}
