//! The client's exports, exercised in a real browser (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

use tollgate_client::decode_claims;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn get(value: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn decode_claims_returns_the_payload_object() {
    // RFC 7515 Appendix A.1.
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let claims = decode_claims(token).unwrap();
    assert_eq!(get(&claims, "iss").as_string().as_deref(), Some("joe"));
    assert_eq!(get(&claims, "exp").as_f64(), Some(1_300_819_380.0));
}

#[wasm_bindgen_test]
fn decode_claims_throws_errors_with_the_server_code() {
    for bad in ["", "not a token", "a.b.c", "e30.W10.c2ln", "e30.e30.c2ln.x"] {
        let error = decode_claims(bad).unwrap_err();
        assert!(error.is_instance_of::<js_sys::Error>(), "{bad:?}");
        assert_eq!(
            get(&error, "code").as_string().as_deref(),
            Some("invalid_token"),
            "{bad:?}"
        );
    }
}
