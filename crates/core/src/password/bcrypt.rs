//! Legacy bcrypt (`$2a$`, `$2b$`, `$2y$`), verification only.
//!
//! These are the hashes passlib, pyca/bcrypt, PHP's `password_hash` and Node's bcrypt store;
//! users imported with one are re-hashed to argon2id at their next login. The three prefixes
//! are verified identically, as pyca/bcrypt and PHP do: `$2b$` and `$2y$` name fixes of bugs
//! in other implementations (OpenBSD's 8-bit length wrap-around, crypt_blowfish's sign
//! extension) that correct implementations, including this one, never had. `$2x$` (hashes made
//! *with* the sign-extension bug) and the original `$2$` are refused as unknown.
//!
//! bcrypt uses at most 72 bytes of the password: the key is the password's bytes followed by a
//! NUL, truncated to 72 bytes, so anything after byte 72 never mattered. Verification follows
//! that rule, or imported users could not log in; once re-hashed to argon2id the whole
//! password counts. The format is `$2b$` + two-digit cost + `$` + 22 characters of salt
//! (16 bytes) + 31 characters of hash (23 bytes), in bcrypt's own base64 alphabet
//! `./A-Za-z0-9`. The unused low bits of the last salt and hash characters must be zero: the
//! OpenBSD reference (`bcrypt_checkpass`) re-encodes the salt and hash canonically and compares
//! whole strings, so a hash with those bits set never verifies there; pyca/bcrypt raises
//! "Invalid salt" for such a salt and answers no for such a hash. Refusing it here says so at
//! import time rather than failing every login.

use base64::Engine as _;
use base64::alphabet::BCRYPT;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD};
use blowfish::Blowfish;
use subtle::ConstantTimeEq;

use super::bounds::{MAX_BCRYPT_COST, MIN_BCRYPT_COST};
use super::stored::{StoredHashError, map_base64_error};

/// bcrypt's base64: the standard bit order over the alphabet `./A-Za-z0-9`, unpadded, unused
/// trailing bits required to be zero.
const BCRYPT_BASE64: GeneralPurpose = GeneralPurpose::new(&BCRYPT, NO_PAD);

/// Salt length, in bytes (22 base64 characters).
const SALT_BYTES: usize = 16;
/// Stored hash length, in bytes (31 base64 characters): 23 of the 24 bytes bcrypt computes,
/// as every implementation since OpenBSD's stores.
const HASH_BYTES: usize = 23;
/// Characters after the `$2b$NN$` prefix: 22 of salt and 31 of hash.
const BODY_CHARS: usize = 22 + 31;
/// The longest key bcrypt reads, in bytes: the Blowfish P-array is 18 32-bit words.
const MAX_KEY_BYTES: usize = 72;

/// "OrpheanBeholderScryDoubt" as six big-endian words: the text bcrypt encrypts 64 times
/// (Provos and Mazières, "A Future-Adaptable Password Scheme", 1999).
const MAGIC: [u32; 6] = [
    0x4f72_7068,
    0x6561_6e42,
    0x6568_6f6c,
    0x6465_7253,
    0x6372_7944,
    0x6f75_6274,
];

/// A stored bcrypt hash whose cost is within bounds.
#[derive(Clone, Debug)]
pub(crate) struct BcryptHash {
    pub(crate) cost: u32,
    salt: [u8; SALT_BYTES],
    hash: [u8; HASH_BYTES],
}

impl BcryptHash {
    /// Recomputes the hash of `password` (first 72 bytes, as bcrypt defines it) and compares
    /// it in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        let computed = eks_blowfish(self.cost, &self.salt, password);
        computed
            .first_chunk::<HASH_BYTES>()
            .is_some_and(|computed| bool::from(computed.ct_eq(&self.hash)))
    }
}

/// Parses `$2a$`/`$2b$`/`$2y$` + cost + salt + hash, refusing any other shape or cost.
pub(crate) fn parse(stored: &str) -> Result<BcryptHash, StoredHashError> {
    let rest = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| stored.strip_prefix(prefix))
        .ok_or(StoredHashError::UnknownFormat)?;
    // Exactly two digits, as OpenBSD writes them; pyca/bcrypt and passlib refuse `$2b$4$`.
    let (cost, body) = match rest.as_bytes() {
        [tens @ b'0'..=b'9', ones @ b'0'..=b'9', b'$', ..] => (
            u32::from(tens - b'0') * 10 + u32::from(ones - b'0'),
            rest.get(3..).unwrap_or_default(),
        ),
        _ => return Err(StoredHashError::Malformed),
    };
    if body.len() != BODY_CHARS {
        return Err(StoredHashError::Malformed);
    }
    if cost < MIN_BCRYPT_COST {
        return Err(StoredHashError::CostTooLow);
    }
    if cost > MAX_BCRYPT_COST {
        return Err(StoredHashError::CostTooHigh);
    }
    let (salt_b64, hash_b64) = (
        body.get(..22).ok_or(StoredHashError::Malformed)?,
        body.get(22..).ok_or(StoredHashError::Malformed)?,
    );
    // Scratch buffers with room to spare: the lengths were fixed above, and the decoder may
    // want more room than it ends up writing.
    let mut salt = [0u8; 18];
    let mut hash = [0u8; 24];
    let salt_len = BCRYPT_BASE64
        .decode_slice(salt_b64, &mut salt)
        .map_err(map_base64_error)?;
    let hash_len = BCRYPT_BASE64
        .decode_slice(hash_b64, &mut hash)
        .map_err(map_base64_error)?;
    match (
        salt.first_chunk::<SALT_BYTES>(),
        hash.first_chunk::<HASH_BYTES>(),
    ) {
        (Some(salt), Some(hash)) if salt_len == SALT_BYTES && hash_len == HASH_BYTES => {
            Ok(BcryptHash {
                cost,
                salt: *salt,
                hash: *hash,
            })
        }
        _ => Err(StoredHashError::Malformed),
    }
}

/// bcrypt's expensive key schedule and encryption (Provos and Mazières 1999, as in OpenBSD's
/// `bcrypt_hashpass`): 24 bytes, of which hashes store the first 23.
///
/// `cost` must be at most 31; [`parse`] bounds it far lower.
pub(crate) fn eks_blowfish(cost: u32, salt: &[u8; SALT_BYTES], password: &[u8]) -> [u8; 24] {
    // The key is the password and its C string terminator, cut at 72 bytes: a password of 72
    // bytes or more loses its terminator and everything past byte 72.
    let mut key_buffer = [0u8; MAX_KEY_BYTES];
    let used = password.len().min(MAX_KEY_BYTES);
    if let (Some(dest), Some(src)) = (key_buffer.get_mut(..used), password.get(..used)) {
        dest.copy_from_slice(src);
    }
    let key = key_buffer
        .get(..(used + 1).min(MAX_KEY_BYTES))
        .unwrap_or(&key_buffer);

    let mut state = Blowfish::bc_init_state();
    state.salted_expand_key(salt, key);
    for _ in 0..1u64 << cost.min(31) {
        state.bc_expand_key(key);
        state.bc_expand_key(salt);
    }

    // Encrypting each 64-bit block 64 times in turn equals OpenBSD's 64 passes over all three
    // blocks: ECB blocks are independent.
    let mut text = MAGIC;
    for block in text.chunks_exact_mut(2) {
        if let [left, right] = block {
            for _ in 0..64 {
                [*left, *right] = state.bc_encrypt([*left, *right]);
            }
        }
    }
    let mut out = [0u8; 24];
    for (bytes, word) in out.chunks_exact_mut(4).zip(text) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    //! Vectors whose passwords are not UTF-8, so the `&str` API cannot carry them.
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn verifies(password: &[u8], stored: &str) -> bool {
        parse(stored).unwrap().verify(password)
    }

    /// From pyca/bcrypt `tests/test_bcrypt.py` (`_test_vectors`, `_2y_test_vectors`), which
    /// took them from the openwall crypt_blowfish test vectors; the `\xaa\x55` and
    /// `\x55\xaa\xff` rows are in passlib's `tests/test_handlers_bcrypt.py` from the same source.
    const NON_UTF8_VECTORS: &[(&[u8], &str)] = &[
        (
            b"\xa3",
            "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
        ),
        (
            b"\xa3",
            "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
        ),
        (
            b"\xff\xff\xa3",
            "$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
        ),
        (
            b"\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\
              \xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\
              \xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\
              \xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55\xaa\x55",
            "$2a$05$/OK.fbVrR/bpIqNJ5ianF.R9xrDjiycxMbQE2bp.vgqlYpW5wx2yy",
        ),
        (
            b"\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\
              \x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\
              \x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\
              \x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff\x55\xaa\xff",
            "$2a$05$/OK.fbVrR/bpIqNJ5ianF.9tQZzcJfm3uj2NvJ/n5xkhpqLrMpWCe",
        ),
    ];

    #[wasm_bindgen_test(unsupported = test)]
    fn non_utf8_passwords_match_reference_hashes() {
        for (password, stored) in NON_UTF8_VECTORS {
            assert!(verifies(password, stored), "{stored}");
            assert!(
                !verifies(b"\xa4", stored),
                "{stored} matched a wrong password"
            );
        }
    }

    /// 72 bytes of `\xaa` then "chars after 72 are ignored as usual": pyca/bcrypt
    /// `tests/test_bcrypt.py` (`_test_vectors`, commit 3adeea2) and passlib.
    #[wasm_bindgen_test(unsupported = test)]
    fn only_the_first_72_bytes_count() {
        let stored = "$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6";
        let mut password = [0xaau8; 72].to_vec();
        assert!(verifies(&password, stored), "exactly 72 bytes");
        password.extend_from_slice(b"chars after 72 are ignored as usual");
        assert!(verifies(&password, stored), "the reference input");
        password.truncate(71);
        assert!(!verifies(&password, stored), "71 bytes must not match");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_three_prefixes_parse_alike_and_others_do_not() {
        let body = "05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let parsed = parse(&alloc::format!("{prefix}{body}")).unwrap();
            assert_eq!(parsed.cost, 5);
        }
        for prefix in ["$2x$", "$2$", "$2c$", "$2A$", "$3a$"] {
            assert_eq!(
                parse(&alloc::format!("{prefix}{body}")).unwrap_err(),
                StoredHashError::UnknownFormat,
                "{prefix}"
            );
        }
    }
}
