//! The defaults the configuration table names, pinned: a change to any of them is a
//! change to what every deployment without that setting does, so it must be deliberate.
//! (The argon2 default is pinned in `password_hasher.rs`, the throttle defaults in the
//! `throttle` module's tests, which also run without the `server` feature.)
#![cfg(feature = "server")]

use tollgate_core::refresh::RefreshPolicy;
use tollgate_core::refresh::family::{
    DEFAULT_ABSOLUTE_TTL_S, DEFAULT_IDLE_TTL_S, DEFAULT_REUSE_GRACE_S,
};
use tollgate_core::token::{DEFAULT_LEEWAY_S, TokenConfig};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const DAY_S: u64 = 24 * 60 * 60;

#[wasm_bindgen_test(unsupported = test)]
fn access_tokens_allow_30_seconds_of_clock_skew_by_default() {
    let config = TokenConfig::new("tollgate", "tollgate", 900);
    assert_eq!(config.leeway_s, 30);
    assert_eq!(DEFAULT_LEEWAY_S, 30);
    // The constructor takes the rest as given.
    assert_eq!(
        config,
        TokenConfig {
            issuer: "tollgate".into(),
            audience: "tollgate".into(),
            ttl_s: 900,
            leeway_s: 30,
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn sessions_last_30_days_end_after_7_idle_days_and_forgive_retries_for_30_seconds() {
    assert_eq!(
        RefreshPolicy::default(),
        RefreshPolicy {
            absolute_ttl_s: 30 * DAY_S,
            idle_ttl_s: 7 * DAY_S,
            reuse_grace_s: 30,
        }
    );
    assert_eq!(
        (
            DEFAULT_ABSOLUTE_TTL_S,
            DEFAULT_IDLE_TTL_S,
            DEFAULT_REUSE_GRACE_S
        ),
        (2_592_000, 604_800, 30)
    );
}
