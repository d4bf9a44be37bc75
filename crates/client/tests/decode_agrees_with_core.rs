//! The client's allocation-free payload decoder must accept and reject exactly what the
//! server's `tollgate_core::unverified::decode_unverified` does (see `src/decode.rs` for why
//! it is a second implementation). Runs natively and in headless Chromium.
#![allow(clippy::unwrap_used, clippy::panic)] // a panic is how a test fails

use tollgate_client::decode_payload;
use tollgate_core::error::TokenRejection;
use tollgate_core::limits::MAX_TOKEN_BYTES;
use tollgate_core::random::{Random, SeededRandom};
use tollgate_core::unverified::{decode_unverified, encode_base64url};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// RFC 7515 Appendix A.1.
const RFC7515_A1: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Checks one input: both accept with the same bytes, or both reject. The core's extra `Json`
/// rejection (payload not UTF-8 or not starting an object) is the caller's job in the client:
/// there the client must return bytes that `TextDecoder` + `JSON.parse` then refuse.
fn agree(token: &str) {
    match (decode_unverified(token), decode_payload(token)) {
        (Ok(text), Some(bytes)) => assert_eq!(text.as_bytes(), &bytes[..], "{token:?}"),
        (Err(TokenRejection::Json), Some(bytes)) => {
            let is_object_text =
                std::str::from_utf8(&bytes).is_ok_and(|t| t.trim_start().starts_with('{'));
            assert!(
                !is_object_text,
                "core refused {token:?} as JSON but its payload looks fine"
            );
        }
        (Err(_), None) => {}
        (core, client) => panic!("disagree on {token:?}: core {core:?}, client {client:?}"),
    }
}

fn token(header: &[u8], payload: &[u8], signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        encode_base64url(header),
        encode_base64url(payload),
        encode_base64url(signature)
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_token_decodes_to_its_payload() {
    let bytes = decode_payload(RFC7515_A1).unwrap();
    assert_eq!(bytes, decode_unverified(RFC7515_A1).unwrap().as_bytes());
}

#[wasm_bindgen_test(unsupported = test)]
fn hand_picked_inputs_agree() {
    let big = "a".repeat(MAX_TOKEN_BYTES);
    let too_big = format!("e30.{}.c2ln", "e".repeat(MAX_TOKEN_BYTES));
    for input in [
        "",
        ".",
        "..",
        "...",
        "a",
        "a.b",
        "a.b.",
        ".b.c",
        "a..c",
        "a.b.c.d",
        "e30.e30.c2ln",
        "e30.e30=.c2ln",
        "e30.e3.c2ln",
        "e30.e30.c2ln.",
        " e30.e30.c2ln",
        "e30.e30.c2ln\n",
        "e30.e+0.c2ln",
        "e30.e/0.c2ln",
        "e30.Zg.c2ln",
        "e30.Zh.c2ln",
        "e30.Zm8.c2ln",
        "e30.Zm9.c2ln",
        "e30.Zm9vY.c2ln",
        "e30.é.c2ln",
        "e30.W10.c2ln",
        "e30.IHt9.c2ln",
        &big,
        &too_big,
        RFC7515_A1,
    ] {
        agree(input);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn payload_lengths_around_every_remainder_agree() {
    for len in 0..40 {
        let payload: Vec<u8> = (0..len).map(|i| b'{' + (i % 3) as u8).collect();
        agree(&token(b"{}", &payload, b"sig"));
    }
    // The largest token allowed, and one byte more.
    let payload = vec![b' '; (MAX_TOKEN_BYTES - 9) / 4 * 3];
    let t = token(b"{}", &payload, b"s");
    assert!(t.len() <= MAX_TOKEN_BYTES);
    agree(&t);
    agree(&format!("{t}A"));
}

#[wasm_bindgen_test(unsupported = test)]
fn mutated_tokens_agree() {
    // Point mutations of a real token with characters from both alphabets, dots, padding,
    // whitespace and non-ASCII, plus truncations: 20 000 inputs from a fixed seed.
    const NOISE: &[char] = &[
        '.', '=', '+', '/', '-', '_', ' ', 'A', 'h', '9', 'é', '\0', '{',
    ];
    let mut rng = SeededRandom::new(7515);
    let base: Vec<char> = RFC7515_A1.chars().collect();
    for _ in 0..20_000 {
        let [a, b, c, d] = rng.bytes::<4>();
        let mut chars = base.clone();
        let at = usize::from(u16::from_le_bytes([a, b])) % chars.len();
        match c % 4 {
            0 => chars[at] = NOISE[usize::from(d) % NOISE.len()],
            1 => chars.insert(at, NOISE[usize::from(d) % NOISE.len()]),
            2 => {
                chars.remove(at);
            }
            _ => chars.truncate(at),
        }
        agree(&chars.into_iter().collect::<String>());
    }
}
