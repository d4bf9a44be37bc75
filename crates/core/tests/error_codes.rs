//! The error codes are one contract across Rust, HTTP and TypeScript: this keeps the
//! TypeScript `AuthErrorCode` union of `@tollgate/client` identical to `ErrorCode::ALL`.
#![allow(clippy::expect_used)] // a missing union is a broken fixture: fail loudly

use tollgate_core::ErrorCode;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const ERRORS_TS: &str = include_str!("../../../npm/src/errors.ts");

/// The string literals of `export type AuthErrorCode = | 'a' | 'b' ...;`, in order.
fn typescript_codes() -> Vec<&'static str> {
    let start = ERRORS_TS
        .find("export type AuthErrorCode")
        .expect("AuthErrorCode union in errors.ts");
    let body = &ERRORS_TS[start..];
    let body = &body[..body.find(';').expect("end of AuthErrorCode union")];
    body.split('\'').skip(1).step_by(2).collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn typescript_union_lists_exactly_the_rust_codes_in_order() {
    let rust: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        typescript_codes(),
        rust,
        "npm/src/errors.ts AuthErrorCode differs from ErrorCode::ALL"
    );
}

const OPENAPI_JSON: &str = include_str!("../../../worker/openapi.json");

/// The OpenAPI document's `ErrorCode` enum lists every code that crosses HTTP (every code
/// but the client-side ones, whose status is 0), in the same order.
#[wasm_bindgen_test(unsupported = test)]
fn openapi_error_code_enum_lists_exactly_the_http_codes_in_order() {
    let spec: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json parses");
    let listed: Vec<&str> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("components.schemas.ErrorCode.enum")
        .iter()
        .map(|v| v.as_str().expect("a string code"))
        .collect();
    let http: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.http_status() != 0)
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        listed, http,
        "worker/openapi.json ErrorCode.enum differs from ErrorCode::ALL"
    );
}
