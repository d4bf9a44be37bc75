//! What the flow tests share: a fixed clock origin, a password and a secret, a one-poll
//! executor for futures over the in-memory store, and a test deployment. A test changes the
//! configuration with struct-update syntax (`AuthConfig { roles, ..test_config() }`), so a new
//! `AuthConfig` field is given its test value here, once.
// Each test crate (every file in tests/ is one) uses its own part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_core::flows::{Auth, AuthConfig, RecoveryConfig};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::refresh::{RefreshKey, RefreshPolicy};
use tollgate_core::roles::Roles;
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig};

/// The tests' "now" at the start, in Unix seconds (November 2023).
pub const T0: u64 = 1_700_000_000;
/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The HS256 secret (32 characters of high entropy, as `JWT_SECRET` must be).
pub const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";

/// Runs a future that never waits (the memory store answers at once).
pub fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory store never waits"),
    }
}

/// A throttle allowing `max_failures` (0: off) per `window_s` seconds.
pub fn throttle(max_failures: u32, window_s: u64) -> ThrottlePolicy {
    ThrottlePolicy {
        max_failures,
        window_s,
    }
}

/// The deployment defaults the tests start from: issuer and audience `tollgate`, 15-minute
/// access tokens, 5 failures per account and 20 per address in 15 minutes, 10 registrations
/// per address an hour, the default roles, and everything else at its default.
pub fn test_config() -> AuthConfig {
    AuthConfig {
        token: TokenConfig::new("tollgate", "tollgate", 900),
        refresh: RefreshPolicy::default(),
        account_throttle: throttle(5, 900),
        address_throttle: throttle(20, 900),
        register_throttle: throttle(10, 3600),
        roles: Roles::default(),
        access_token_revocation: Default::default(),
        recovery: RecoveryConfig::default(),
        mfa: Default::default(),
    }
}

/// A deployment with `config`, HS256 keys from [`SECRET`], and argon2id at the cheapest cost
/// (64 KiB, one pass) to keep the suites fast: the cost checks live in the password tests.
pub fn test_auth(config: AuthConfig) -> Auth {
    Auth {
        config,
        keys: KeySet::hs256(SECRET).unwrap(),
        refresh_key: RefreshKey::derive_from_jwt_secret(SECRET).unwrap(),
        hasher: PasswordHasher::new(Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }),
    }
}
