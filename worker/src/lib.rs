//! Tollgate's auth API as a Cloudflare Worker, and a library for guarding other Workers.
//!
//! As a Worker (the default `entry` feature): `wrangler dev` / `wrangler deploy` run the
//! fetch handler in [`routes`], which parses HTTP, calls the auth flows of `tollgate-core`, and
//! renders their results; users and refresh families live in Workers KV ([`kv`]), login
//! throttle state in a Durable Object ([`throttle`]).
//!
//! As a library (`default-features = false`), another workers-rs app guards its routes with
//! [`authenticate`] and [`require_scope`], verifying Tollgate's access tokens with no storage
//! access (one read with `ACCESS_TOKEN_REVOCATION = "session"`). With an EdDSA issuer the
//! guard holds public keys only (`JWT_PUBLIC_KEYS`, or `JWKS_URL` to fetch them), so it
//! cannot mint a token ([`guard`] has the modes):
//!
//! ```ignore
//! let principal = tollgate_worker::authenticate(&req, &env).await?;
//! tollgate_worker::require_scope(&principal, "profile")?;
//! ```
//! See `examples/guarded-worker` for a complete Worker.

// Built as a library (`default-features = false`), only `authenticate` and its helpers are
// used; the server half still compiles (it shares the configuration code) and is dropped at
// link time, so its dead-code warnings are expected there and only there.
#![cfg_attr(not(feature = "entry"), allow(dead_code))]

mod calibrate;
mod config;
mod delivery;
mod error;
mod events;
mod faults;
pub mod guard;
mod handlers;
mod http;
mod incoming;
mod jwks_cache;
mod kv;
mod kv_binding;
mod providers;
mod records;
mod routes;
mod same_site;
mod storage_timer;
mod throttle;
mod webauthn;
mod webcrypto;

pub use error::AuthError;
pub use guard::authenticate;
#[cfg(feature = "entry")]
pub use records::{EmailClaims, UserRecords};
#[cfg(feature = "entry")]
pub use throttle::LoginThrottle;
pub use tollgate_core::roles::Principal;

use tollgate_core::time::UnixSeconds;

/// Requires `scope` (403 `forbidden` otherwise).
///
/// # Errors
/// [`AuthError`] with code `forbidden`.
pub fn require_scope(principal: &Principal, scope: &str) -> Result<(), AuthError> {
    Ok(principal.require_scope(scope)?)
}

/// Requires `role` (403 `forbidden` otherwise).
///
/// # Errors
/// [`AuthError`] with code `forbidden`.
pub fn require_role(principal: &Principal, role: &str) -> Result<(), AuthError> {
    Ok(principal.require_role(role)?)
}

/// The current time from the Workers runtime, in whole seconds.
pub(crate) fn now() -> UnixSeconds {
    // `Date.now()` itself: `worker::Date::now()` constructs a `Date` object to read it.
    (js_sys::Date::now() / 1000.0) as UnixSeconds
}

/// The Worker's entry point: every request starts here.
#[cfg(feature = "entry")]
#[worker::event(fetch)]
pub async fn fetch(
    req: worker::worker_sys::web_sys::Request,
    env: worker::Env,
    ctx: worker::Context,
) -> worker::Result<worker::worker_sys::web_sys::Response> {
    // The runtime's request and response as they are, not `worker::Request` and
    // `worker::Response`: see `incoming` and `http::Reply`.
    Ok(routes::handle(incoming::Incoming::new(req), env, ctx)
        .await
        .into_raw())
}
