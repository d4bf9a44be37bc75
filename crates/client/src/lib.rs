//! Tollgate's browser client, compiled to WebAssembly and wrapped by the `@tollgate/client`
//! TypeScript package.
//!
//! It shares claim decoding, expiry arithmetic and error codes with the server through
//! `tollgate-core` (built without its `server` feature), so the two sides cannot drift.
//! Nothing here verifies signatures: decoded claims are for display and refresh scheduling,
//! never for authorization decisions.

use tollgate_core::{ErrorCode, unverified};
use wasm_bindgen::prelude::*;

/// Decodes a token's claims **without verifying its signature**, for display only.
///
/// Throws an `Error` whose `code` is `invalid_token` when the token is not a compact JWT with
/// a JSON-object payload.
#[wasm_bindgen(js_name = decodeClaims)]
pub fn decode_claims(token: &str) -> Result<JsValue, JsValue> {
    let text =
        unverified::decode_unverified(token).map_err(|_| coded_error(ErrorCode::InvalidToken))?;
    let value = js_sys::JSON::parse(&text).map_err(|_| coded_error(ErrorCode::InvalidToken))?;
    if !value.is_object() || js_sys::Array::is_array(&value) {
        return Err(coded_error(ErrorCode::InvalidToken));
    }
    Ok(value)
}

/// A JS `Error` carrying `code`, the same stable code the server puts in its JSON.
fn coded_error(code: ErrorCode) -> JsValue {
    let error = js_sys::Error::new(code.detail());
    // Setting a plain property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &error,
        &JsValue::from_str("code"),
        &JsValue::from_str(code.as_str()),
    );
    error.into()
}
