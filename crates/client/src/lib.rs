//! Tollgate's browser client, compiled to WebAssembly and wrapped by the `@tollgate/client`
//! TypeScript package.
//!
//! It shares claim decoding rules, expiry arithmetic and error codes with the server through
//! `tollgate-core` (built without its `server` feature), so the two sides cannot drift.
//! Nothing here verifies signatures: decoded claims are for display and refresh scheduling,
//! never for authorization decisions.
//!
//! # The boundary
//! Every export takes and returns plain numbers. A token crosses as bytes the caller writes
//! into [`scratch`] (base64url is ASCII, so no text encoding is involved), and its payload comes
//! back in the same buffer for the caller to `TextDecoder` and `JSON.parse`. Nothing allocates
//! and nothing can panic, so the wasm carries neither an allocator nor Rust's panic formatting,
//! and a decode is one call with no copies on the Rust side. (Returning a `JsValue` instead
//! links wasm-bindgen's externref slab and, through it, both: 16 KB gzipped instead of 3 KB.)
//!
//! Times cross as JS numbers: claims (`exp`, `iat`) in seconds, clocks and durations in
//! milliseconds. Every expiry function takes the caller's local `nowMs` *and* the estimated
//! clock offset `skewMs` (see [`skew_offset_ms`]), so no decision is made on the local clock
//! alone.

extern crate alloc;

mod decode;

use core::cell::Cell;
use tollgate_core::limits::MAX_TOKEN_BYTES;
use tollgate_core::{ErrorCode, expiry};
use wasm_bindgen::prelude::*;

pub use decode::{decode_payload, decode_payload_in_place};

thread_local! {
    // The one I/O buffer (wasm here is single-threaded). Cells, so that the JS side may write
    // into it between calls without Rust ever holding a reference across one.
    static SCRATCH: [Cell<u8>; MAX_TOKEN_BYTES] = const { [const { Cell::new(0) }; MAX_TOKEN_BYTES] };
}

/// The address in wasm memory of the scratch buffer, [`scratch_capacity`] bytes long: the
/// caller writes a token's bytes there before [`decode_payload_scratch`].
#[wasm_bindgen]
pub fn scratch() -> usize {
    SCRATCH.try_with(|s| s.as_ptr() as usize).unwrap_or(0)
}

/// The scratch buffer's length in bytes (the largest token accepted, 8 KiB).
#[wasm_bindgen(js_name = scratchCapacity)]
pub fn scratch_capacity() -> usize {
    MAX_TOKEN_BYTES
}

/// Base64url-decodes the payload of the token in `scratch[..len]` **without verifying its
/// signature**, in place, and returns the payload's length in bytes (found at `scratch[0..]`),
/// or -1 when the token is not three non-empty base64url segments with a canonical payload
/// (the server's `invalid_token`). The payload is not yet checked to be UTF-8 JSON.
#[wasm_bindgen(js_name = decodePayload)]
pub fn decode_payload_scratch(len: usize) -> i32 {
    SCRATCH
        .try_with(|s| decode::decode_payload_in_place(s, len))
        .ok()
        .flatten()
        .map_or(-1, |n| n as i32)
}

/// Decodes a token's claims **without verifying its signature**, for display only.
///
/// For Rust callers in the browser; JavaScript uses the TypeScript package's `decodeClaims`,
/// which does the same over [`decode_payload_scratch`] (see the crate doc for why).
///
/// # Errors
/// A JS `Error` whose `code` is `invalid_token` when the token is not a compact JWT with a
/// UTF-8 JSON-object payload.
pub fn decode_claims(token: &str) -> Result<JsValue, JsValue> {
    decode::decode_payload(token)
        .and_then(|bytes| alloc::string::String::from_utf8(bytes).ok())
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .filter(|value| value.is_object() && !js_sys::Array::is_array(value))
        .ok_or_else(|| coded_error(ErrorCode::InvalidToken))
}

/// Whole seconds left before `exp` (a claim, in seconds), rounded down; negative once expired.
#[wasm_bindgen(js_name = secondsLeft)]
pub fn seconds_left(exp: f64, now_ms: f64, skew_ms: f64) -> f64 {
    expiry::seconds_left(seconds(exp), server_now(now_ms, skew_ms)) as f64
}

/// Whether a token expiring at `exp` counts as expired now; a negative `leeway_ms` gives up on
/// it that much early (what a client wants), a positive one tolerates lateness.
#[wasm_bindgen(js_name = isExpired)]
pub fn is_expired(exp: f64, now_ms: f64, skew_ms: f64, leeway_ms: f64) -> bool {
    expiry::is_expired(seconds(exp), server_now(now_ms, skew_ms), leeway_ms as i64)
}

/// Milliseconds until the token issued at `iat` and expiring at `exp` (claims, in seconds)
/// should be refreshed: 80 % of its lifetime, at least 30 s before `exp`, at half-life for
/// lifetimes under a minute, moved earlier by `jitter / 2^32` of a jitter window. Zero means
/// "now". Without a usable `iat` (missing, or after `exp`) the lifetime counts from now.
#[wasm_bindgen(js_name = refreshDelayMs)]
pub fn refresh_delay_ms(iat: Option<f64>, exp: f64, now_ms: f64, skew_ms: f64, jitter: u32) -> f64 {
    let now = server_now(now_ms, skew_ms);
    let exp_s = seconds(exp);
    let issued = match iat {
        Some(iat) if seconds(iat) <= exp_s => expiry::seconds_to_ms(seconds(iat)),
        _ => now,
    };
    expiry::refresh_delay_ms(issued, exp_s, now, jitter) as f64
}

/// The lower end of the clock-offset range after observing a response (see
/// [`expiry::ClockSkew::observe`]): the range before is `[low_ms, high_ms]` if `known`, the
/// server's time was `server_ms` at `resolution_ms` precision (1000 for a `Date` header), and the
/// request left at local `sent_ms` and came back at `received_ms`. NaN while still unknown.
#[wasm_bindgen(js_name = skewLowAfter)]
pub fn skew_low_after(
    low_ms: f64,
    high_ms: f64,
    known: bool,
    server_ms: f64,
    resolution_ms: f64,
    sent_ms: f64,
    received_ms: f64,
) -> f64 {
    let skew = observed(
        low_ms,
        high_ms,
        known,
        server_ms,
        resolution_ms,
        sent_ms,
        received_ms,
    );
    if skew.is_known() {
        skew.low_ms() as f64
    } else {
        f64::NAN
    }
}

/// The upper end of the range, as [`skew_low_after`] computes the lower one.
#[wasm_bindgen(js_name = skewHighAfter)]
pub fn skew_high_after(
    low_ms: f64,
    high_ms: f64,
    known: bool,
    server_ms: f64,
    resolution_ms: f64,
    sent_ms: f64,
    received_ms: f64,
) -> f64 {
    let skew = observed(
        low_ms,
        high_ms,
        known,
        server_ms,
        resolution_ms,
        sent_ms,
        received_ms,
    );
    if skew.is_known() {
        skew.high_ms() as f64
    } else {
        f64::NAN
    }
}

/// The estimated `server time - local time` for the range `[low_ms, high_ms]` (0 if unknown).
#[wasm_bindgen(js_name = skewOffsetMs)]
pub fn skew_offset_ms(low_ms: f64, high_ms: f64, known: bool) -> f64 {
    skew(low_ms, high_ms, known).offset_ms() as f64
}

fn skew(low_ms: f64, high_ms: f64, known: bool) -> expiry::ClockSkew {
    let mut skew = expiry::ClockSkew::new();
    if known {
        skew.observe_range(low_ms as i64, high_ms as i64);
    }
    skew
}

fn observed(
    low_ms: f64,
    high_ms: f64,
    known: bool,
    server_ms: f64,
    resolution_ms: f64,
    sent_ms: f64,
    received_ms: f64,
) -> expiry::ClockSkew {
    let mut skew = skew(low_ms, high_ms, known);
    skew.observe(
        server_ms as i64,
        resolution_ms as i64,
        sent_ms as i64,
        received_ms as i64,
    );
    skew
}

/// A claim in seconds as the core's unsigned seconds: negative and NaN become 0, fractions are
/// dropped, huge values saturate (`as` casts from f64 saturate and map NaN to 0).
fn seconds(claim: f64) -> u64 {
    claim as u64
}

/// The server's time for a local clock reading and an offset, in the core's integer millis.
fn server_now(now_ms: f64, skew_ms: f64) -> i64 {
    (now_ms as i64).saturating_add(skew_ms as i64)
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
