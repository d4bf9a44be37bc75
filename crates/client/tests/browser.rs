//! The client's exports, exercised in a real browser (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use tollgate_client::{
    decode_claims, decode_payload_scratch, is_expired, refresh_delay_ms, scratch, scratch_capacity,
    seconds_left, skew_high_after, skew_low_after, skew_offset_ms,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// RFC 7515 Appendix A.1.
const RFC7515_A1: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const T: f64 = 1_700_000_000.0;
const T_MS: f64 = T * 1000.0;

fn get(value: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn decode_claims_returns_the_payload_object() {
    let claims = decode_claims(RFC7515_A1).unwrap();
    assert_eq!(get(&claims, "iss").as_string().as_deref(), Some("joe"));
    assert_eq!(get(&claims, "exp").as_f64(), Some(1_300_819_380.0));
}

#[wasm_bindgen_test]
fn decode_claims_throws_errors_with_the_server_code() {
    for bad in [
        "",
        "not a token",
        "a.b.c",
        "e30.W10.c2ln",
        "e30.e30.c2ln.x",
        "e30.IjEi.c2ln",
    ] {
        let error = decode_claims(bad).unwrap_err();
        assert!(error.is_instance_of::<js_sys::Error>(), "{bad:?}");
        assert_eq!(
            get(&error, "code").as_string().as_deref(),
            Some("invalid_token"),
            "{bad:?}"
        );
    }
}

/// Writes `token` into the scratch buffer the way the TypeScript package does.
fn write_scratch(token: &str) {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let bytes = js_sys::Uint8Array::new(&memory.buffer());
    bytes.set(
        &js_sys::Uint8Array::from(token.as_bytes()),
        scratch() as u32,
    );
}

fn read_scratch(len: usize) -> Vec<u8> {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let start = scratch() as u32;
    js_sys::Uint8Array::new(&memory.buffer())
        .subarray(start, start + len as u32)
        .to_vec()
}

#[wasm_bindgen_test]
fn decode_payload_decodes_in_the_scratch_buffer() {
    assert_eq!(scratch_capacity(), 8192);
    write_scratch(RFC7515_A1);
    let n = decode_payload_scratch(RFC7515_A1.len());
    assert_eq!(
        String::from_utf8(read_scratch(n as usize)).unwrap(),
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    );
}

#[wasm_bindgen_test]
fn decode_payload_returns_minus_one_for_malformed_tokens() {
    for bad in ["", "a.b", "e30.e30=.c2ln", "e30.Zh.c2ln"] {
        write_scratch(bad);
        assert_eq!(decode_payload_scratch(bad.len()), -1, "{bad:?}");
    }
    // A length past the buffer is refused, not read.
    assert_eq!(decode_payload_scratch(scratch_capacity() + 1), -1);
}

#[wasm_bindgen_test]
fn expiry_exports_apply_the_skew() {
    // A 4-second token, the local clock ten minutes slow.
    let slow = -600_000.0;
    let now = T_MS + slow;
    assert_eq!(refresh_delay_ms(Some(T), T + 4.0, now, -slow, 0), 2_000.0);
    assert_eq!(refresh_delay_ms(Some(T), T + 4.0, now, 0.0, 0), 602_000.0); // what skew prevents
    assert_eq!(seconds_left(T + 4.0, now, -slow), 4.0);
    assert!(!is_expired(T + 4.0, now + 2_999.0, -slow, -1_000.0));
    assert!(is_expired(T + 4.0, now + 3_000.0, -slow, -1_000.0));
}

#[wasm_bindgen_test]
fn refresh_delay_handles_missing_and_hostile_claims() {
    // No iat: the lifetime counts from now.
    assert_eq!(refresh_delay_ms(None, T + 4.0, T_MS, 0.0, 0), 2_000.0);
    // iat after exp is ignored the same way.
    assert_eq!(
        refresh_delay_ms(Some(T + 10.0), T + 4.0, T_MS, 0.0, 0),
        2_000.0
    );
    // NaN, negative and absurd claims give "refresh now" or a finite delay, never a throw.
    assert_eq!(
        refresh_delay_ms(Some(f64::NAN), f64::NAN, T_MS, 0.0, 7),
        0.0
    );
    assert_eq!(refresh_delay_ms(Some(-5.0), -1.0, T_MS, 0.0, 7), 0.0);
    assert!(refresh_delay_ms(Some(T), 1e300, T_MS, 0.0, 7).is_finite());
}

#[wasm_bindgen_test]
fn skew_exports_estimate_the_offset_from_a_date_header() {
    // Local clock ten minutes fast; 200 ms round trip; Date header says T.
    let sent = T_MS + 600_000.0 - 100.0;
    let low = skew_low_after(0.0, 0.0, false, T_MS, 1_000.0, sent, sent + 200.0);
    let high = skew_high_after(0.0, 0.0, false, T_MS, 1_000.0, sent, sent + 200.0);
    assert_eq!((low, high), (-600_200.0 + 100.0, -600_000.0 + 1_100.0));
    let offset = skew_offset_ms(low, high, true);
    assert!((offset + 600_000.0).abs() <= 600.0, "{offset}");
    assert_eq!(skew_offset_ms(low, high, false), 0.0);
    // A sample whose clock ran backwards leaves an unknown estimate unknown.
    assert!(skew_low_after(0.0, 0.0, false, T_MS, 1_000.0, sent, sent - 1.0).is_nan());
}
