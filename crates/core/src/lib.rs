//! Tollgate's auth core: every authentication decision, and nothing else.
//!
//! This crate **never** does I/O, **never** reads the clock and **never** draws randomness on
//! its own. Time arrives as an argument (seconds since the Unix epoch, see [`time`]), randomness
//! through the [`random::Random`] trait, and storage only through the async traits in `store`,
//! which each host implements (the Worker over Workers KV, tests over memory). Decisions such as
//! refresh-token rotation are returned as values for the host to carry out, and the auth flows
//! (`flows`: register, login, refresh, sessions, password change, admin) are written once here
//! over those traits. That is what lets
//! the Cloudflare Worker, the browser client and the CLI share this code without drifting.
//!
//! `#![no_std]` makes the first two compile-time facts: clocks, I/O and the OS RNG are only
//! reachable through `std`, which this crate does not link (its dependencies may).
//!
//! It never panics on input either: every failure is an [`Error`] with a stable
//! [`ErrorCode`] that the Worker puts in its JSON and the TypeScript client sees unchanged.
//!
//! Features:
//! - `server` (default): password hashing (argon2id, legacy bcrypt), JWT signing and
//!   verification, refresh-token families, storage traits and the auth flows. The browser
//!   client turns it off and keeps only claims, expiry arithmetic and error codes.

// No std: the compiler, not a convention, keeps clocks, files, sockets, threads and the OS
// RNG out of this crate (they live in std, not in core or alloc). Dependencies may use std;
// this crate's own code cannot. Unit tests run under the std test harness.
#![cfg_attr(not(test), no_std)]
// Unit tests may unwrap (a panic is how a test fails); the library itself may not.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

pub mod email;
pub mod error;
#[cfg(feature = "server")]
pub mod events;
pub mod expiry;
#[cfg(feature = "server")]
pub mod flows;
pub mod id;
pub mod join;
pub mod limits;
#[cfg(feature = "server")]
mod mac;
#[cfg(feature = "server")]
pub mod mfa;
#[cfg(feature = "server")]
pub mod oidc;
#[cfg(feature = "server")]
pub mod passkey;
#[cfg(feature = "server")]
pub mod password;
pub mod random;
#[cfg(feature = "server")]
pub mod recovery;
#[cfg(feature = "server")]
pub mod refresh;
pub mod roles;
#[cfg(feature = "server")]
pub mod store;
pub mod throttle;
pub mod time;
#[cfg(feature = "server")]
pub mod token;
pub mod unverified;
#[cfg(feature = "server")]
pub mod webhook;

pub use error::{
    Error, ErrorCode, FieldError, MfaChallenge, RefreshRejection, Result, TokenRejection,
};

// Unit tests run natively under `cargo test` and in headless Chromium under
// `wasm-pack test --headless --chrome`; this sends the wasm run to the browser.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
