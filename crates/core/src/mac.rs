//! HMAC-SHA-256 keyed without a fallible call.
//!
//! `Hmac::new_from_slice` returns a `Result` even though HMAC takes keys of any length
//! (RFC 2104 §2), which leaves every caller an error arm that can only panic or invent a key.
//! Preparing the key the way RFC 2104 does (hashed when longer than SHA-256's 64-byte block,
//! then zero-padded to the block) and handing that block to the infallible `KeyInit::new`
//! computes the same MAC with no such arm.

use hmac::Hmac;
use hmac::digest::{Digest, Key, KeyInit};
use sha2::Sha256;

/// HMAC with SHA-256.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA-256 state keyed with `key`, of any length.
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    if key.len() <= block.len() {
        block[..key.len()].copy_from_slice(key);
    } else {
        // SHA-256's 32-byte output always fits the 64-byte block.
        block[..32].copy_from_slice(&Sha256::digest(key));
    }
    <HmacSha256 as KeyInit>::new(&block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn keys_of_every_length_give_the_mac_of_new_from_slice() {
        // Around both edges: the empty key, the 64-byte block, and keys that get hashed.
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 129, 1000] {
            let key: alloc::vec::Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut ours = hmac_sha256(&key);
            let mut theirs = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
            ours.update(b"message");
            theirs.update(b"message");
            assert_eq!(
                ours.finalize().into_bytes(),
                theirs.finalize().into_bytes(),
                "key of {len} bytes"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mut mac = hmac_sha256(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        let tag = mac.finalize().into_bytes();
        let hex: alloc::string::String = tag.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
