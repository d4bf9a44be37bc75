//! Time-based one-time passwords: RFC 6238 over RFC 4226's HOTP, with the parameters every
//! authenticator app assumes (SHA-1, 6 digits, 30-second steps).
//!
//! A code is accepted for the current step and one step either side (RFC 6238 §5.2 allows a
//! small window for clock drift and typing time), and never for a step at or before the last
//! one accepted: [`matching_step`] returns the step a code matched, and the user's sequencer
//! records it as the account's last used step with a compare-and-set (see
//! [`crate::store::UserChange::CompleteMfa`]), so a code is good once, wherever it is presented.

use alloc::string::String;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::time::UnixSeconds;

/// Length of a step in seconds (RFC 6238 §4.1's default `X`, what authenticator apps use).
pub const STEP_S: u64 = 30;
/// Digits in a code (RFC 4226 §5.3's minimum, what authenticator apps show).
pub const DIGITS: u32 = 6;
/// Steps either side of the current one that are still accepted (RFC 6238 §5.2: one step of
/// drift or typing time; two steps ago is refused).
pub const WINDOW_STEPS: u64 = 1;
/// Bytes of a shared secret: 160 bits, RFC 4226 §4's recommended length for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;

/// The RFC 6238 time step that `now` falls in (`T = floor(now / X)`, `T0 = 0`).
pub fn step_at(now: UnixSeconds) -> u64 {
    now / STEP_S
}

/// HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the big-endian `counter`, dynamically truncated to
/// `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length (RFC 2104 §2); `new_from_slice` only fails for fixed-size
    // MACs, so the fallback (a key of zeros) is unreachable, but avoids a panic path.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha1> as KeyInit>::new(&Default::default()));
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The [`DIGITS`]-digit code of `secret` for `step`, zero-padded as apps show it.
pub fn code_for_step(secret: &[u8], step: u64) -> String {
    alloc::format!("{:06}", hotp(secret, step, DIGITS))
}

/// The step within [`WINDOW_STEPS`] of `now` whose code is `code`, if it is later than
/// `last_step` (the last step the account accepted; 0 before any). Every step of the window
/// is computed and compared in constant time, so the answer's timing does not say which one
/// matched. `code` must be exactly [`DIGITS`] ASCII digits (spaces are the caller's to strip).
pub fn matching_step(secret: &[u8], code: &str, now: UnixSeconds, last_step: u64) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in current.saturating_sub(WINDOW_STEPS)..=current.saturating_add(WINDOW_STEPS) {
        let candidate = code_for_step(secret, step);
        let equal: bool = candidate.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding: how `otpauth://` URIs and authenticator apps carry the
/// secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://totp/` URI of Google Authenticator's Key Uri Format (what QR codes carry):
/// label `issuer:account`, the base32 secret, the issuer again, and the parameters spelled out
/// (SHA1, 6 digits, 30 s) so that no app has to assume them.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    alloc::format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}",
        account = percent_encode(account),
        secret = base32(secret),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&alloc::format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// RFC 6238 Appendix B, the SHA-1 rows: the ASCII seed "12345678901234567890", 8 digits,
    /// X = 30, T0 = 0. (The SHA-256 and SHA-512 rows use other seeds and are not used here.)
    #[wasm_bindgen_test(unsupported = test)]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(seed, step_at(time), 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP of the same seed, 6 digits, counters 0 to 9.
    #[wasm_bindgen_test(unsupported = test)]
    fn rfc_4226_appendix_d_hotp_vectors() {
        let seed = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(seed, counter as u64, 6), want, "counter {counter}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_code_matches_its_step_and_one_either_side_but_not_two() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111; // step 37037037
        let step = step_at(now);
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let s = step.checked_add_signed(offset).unwrap();
            let code = code_for_step(secret, s);
            let got = matching_step(secret, &code, now, 0);
            assert_eq!(got, accepted.then_some(s), "offset {offset}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_step_at_or_before_the_last_used_is_refused() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        let step = step_at(now);
        let code = code_for_step(secret, step);
        assert_eq!(matching_step(secret, &code, now, step - 1), Some(step));
        assert_eq!(matching_step(secret, &code, now, step), None);
        assert_eq!(matching_step(secret, &code, now, step + 1), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn codes_of_the_wrong_shape_match_nothing() {
        let secret = b"12345678901234567890";
        for code in ["", "12345", "1234567", "12345a", " 12345", "１２３４５６"] {
            assert_eq!(matching_step(secret, code, 59, 0), None, "{code:?}");
        }
    }

    /// RFC 4648 §10's base32 vectors, without padding.
    #[wasm_bindgen_test(unsupported = test)]
    fn base32_follows_rfc_4648() {
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn otpauth_uris_spell_out_the_parameters_and_encode_the_label() {
        assert_eq!(
            otpauth_uri("Tollgate Demo", "a+b@example.com", b"foobar"),
            "otpauth://totp/Tollgate%20Demo:a%2Bb%40example.com?secret=MZXW6YTBOI&issuer=Tollgate%20Demo&algorithm=SHA1&digits=6&period=30"
        );
    }
}
