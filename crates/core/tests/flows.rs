//! The auth flows end to end over the in-memory store: behaviour, storage-operation budgets,
//! and what is left behind when a storage call fails or times out.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_core::events::{EventLog, SecurityEvent};
use tollgate_core::flows::{Auth, AuthConfig, LoginInput, RecoveryConfig, Tokens};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::family::PROPAGATION_WINDOW_S;
use tollgate_core::refresh::token::REFRESH_TOKEN_CHARS;
use tollgate_core::refresh::{RefreshKey, RefreshPolicy, RevokeReason};
use tollgate_core::roles::{Principal, Roles};
use tollgate_core::store::memory::{Fault, MemoryStore, Op};
use tollgate_core::store::{FamilyStore, ThrottleStore, UserRecord, UserStore};
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig};
use tollgate_core::{Error, ErrorCode, FieldError, RefreshRejection, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const T0: u64 = 1_700_000_000;
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";

/// Runs a future that never waits (the memory store answers at once).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory store never waits"),
    }
}

fn auth() -> Auth {
    Auth {
        config: AuthConfig {
            token: TokenConfig::new("tollgate", "tollgate", 900),
            refresh: RefreshPolicy::default(),
            account_throttle: ThrottlePolicy {
                max_failures: 5,
                window_s: 900,
            },
            address_throttle: ThrottlePolicy {
                max_failures: 20,
                window_s: 900,
            },
            register_throttle: ThrottlePolicy {
                max_failures: 10,
                window_s: 3600,
            },
            roles: Roles::default(),
            access_token_revocation: Default::default(),
            recovery: RecoveryConfig::default(),
            mfa: Default::default(),
        },
        keys: KeySet::hs256(SECRET).unwrap(),
        refresh_key: RefreshKey::derive_from_jwt_secret(SECRET).unwrap(),
        // Cheap parameters keep the suite fast; cost checks live in the password tests.
        hasher: PasswordHasher::new(Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }),
    }
}

struct World {
    auth: Auth,
    store: MemoryStore,
    events: EventLog,
    rng: SeededRandom,
    /// Registrations so far: each comes from an address of its own unless a test says where
    /// from (registrations are throttled per address).
    registrations: u32,
}

impl World {
    fn new() -> World {
        World {
            auth: auth(),
            store: MemoryStore::new(),
            events: EventLog::default(),
            rng: SeededRandom::new(3),
            registrations: 0,
        }
    }

    fn register(&mut self, email: &str) -> Result<UserRecord, Error> {
        self.registrations += 1;
        let address = format!("2001:db8:{:x}::1", self.registrations);
        self.register_from(email, &address, T0)
    }

    fn register_from(&mut self, email: &str, address: &str, now: u64) -> Result<UserRecord, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.register(email, PASSWORD, address, now, &mut self.rng))
    }

    fn login_from(
        &mut self,
        email: &str,
        password: &str,
        address: &str,
        now: u64,
    ) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password,
            client_address: address,
            user_agent: "test-agent",
            scope: None,
        };
        run(flows.login(&input, now, &mut self.rng)).map(|o| o.tokens)
    }

    fn login(&mut self, email: &str, password: &str) -> Result<Tokens, Error> {
        self.login_from(email, password, "192.0.2.1", T0)
    }

    fn refresh(&mut self, token: &str, now: u64) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.refresh(Some(token), now, &mut self.rng))
    }

    fn principal(&self, tokens: &Tokens) -> Principal {
        self.auth
            .authenticate(Some(&format!("Bearer {}", tokens.access_token)), T0)
            .unwrap()
    }

    fn events(&self) -> Vec<SecurityEvent> {
        self.events.events()
    }
}

fn signed_in(email: &str) -> (World, Tokens) {
    let mut w = World::new();
    w.register(email).unwrap();
    let tokens = w.login(email, PASSWORD).unwrap();
    (w, tokens)
}

// --- register ----------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn register_creates_a_user_with_the_normalised_email() {
    let mut w = World::new();
    let user = w.register("  Sam@Example.COM ").unwrap();
    assert_eq!(
        (user.email.as_str(), user.role.as_str()),
        ("Sam@example.com", "user")
    );
    assert!(user.password_hash.starts_with("$argon2id$v=19$"));
    assert_eq!((w.store.user_count(), w.store.email_count()), (1, 1));
    assert_eq!(
        w.events(),
        [SecurityEvent::UserRegistered { user_id: user.id }]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn register_refuses_a_taken_email_in_any_domain_case() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    assert_eq!(w.register("sam@EXAMPLE.com"), Err(Error::EmailTaken));
    assert_eq!(w.store.user_count(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn register_reports_every_invalid_field_at_once() {
    let mut w = World::new();
    let flows = w.auth.flows(&w.store, &w.events);
    let err = run(flows.register("not-an-email", "short", "", T0, &mut w.rng)).unwrap_err();
    assert_eq!(
        err,
        Error::Validation(vec![
            FieldError::new("email", ErrorCode::InvalidEmail),
            FieldError::new("password", ErrorCode::PasswordTooShort)
        ])
    );
    let err =
        run(flows.register("sam@example.com", "password123", "", T0, &mut w.rng)).unwrap_err();
    assert_eq!(err, Error::field("password", ErrorCode::PasswordTooCommon));
    assert_eq!(w.store.user_count(), 0);
}

/// Registrations are counted per address before any read or hashing: 201 and 409 alike (409
/// tells which emails exist), and the eleventh within the hour is refused at once.
#[wasm_bindgen_test(unsupported = test)]
fn registrations_are_throttled_per_address_before_any_work() {
    let mut w = World::new();
    let from = "2001:db8:aa:bb::1";
    w.register_from("taken@example.com", from, T0).unwrap();
    for i in 1..10 {
        assert_eq!(
            w.register_from("taken@example.com", from, T0 + i),
            Err(Error::EmailTaken)
        );
    }
    w.store.clear_operations();
    // Another host of the same /64 is the same client.
    let refused = w.register_from("new@example.com", "2001:db8:aa:bb::2", T0 + 10);
    assert_eq!(
        refused,
        Err(Error::TooManyAttempts {
            retry_after_s: 3590
        })
    );
    assert_eq!(
        w.store.operations(),
        [Op::Reserve],
        "no read, no hash, no write"
    );
    assert_eq!(
        w.events().last(),
        Some(&SecurityEvent::RegistrationThrottled {
            retry_after_s: 3590
        })
    );
    assert_eq!(w.store.user_count(), 1);
    assert!(
        w.register_from("new@example.com", "2001:db8:aa:bc::1", T0 + 10)
            .is_ok(),
        "another /64"
    );
    assert!(
        w.register_from("later@example.com", from, T0 + 3600)
            .is_ok(),
        "after the window"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_invalid_registration_is_not_counted() {
    let w = World::new();
    let flows = w.auth.flows(&w.store, &w.events);
    let mut rng = SeededRandom::new(1);
    for _ in 0..20 {
        assert!(matches!(
            run(flows.register("not-an-email", PASSWORD, "192.0.2.5", T0, &mut rng)),
            Err(Error::Validation(_))
        ));
    }
    assert_eq!(w.store.operations(), []);
    assert!(run(flows.register("sam@example.com", PASSWORD, "192.0.2.5", T0, &mut rng)).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_registration_that_cannot_be_counted_is_a_503_that_creates_nothing() {
    let mut w = World::new();
    w.store.fail_next(Op::Reserve, Fault::Timeout);
    assert!(matches!(
        w.register("sam@example.com"),
        Err(Error::StorageUnavailable(_))
    ));
    assert_eq!(w.store.operations(), [Op::Reserve]);
    assert_eq!((w.store.user_count(), w.store.email_count()), (0, 0));
}

// --- login -------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn login_issues_tokens_whose_claims_name_the_user_and_session() {
    let (w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    let user = run(w
        .store
        .get_user(&tollgate_core::id::Id::parse(&p.user_id).unwrap()))
    .unwrap()
    .unwrap();
    assert_eq!(p.session_id, tokens.session_id.to_hyphenated());
    assert_eq!(
        (p.role.as_str(), p.scope.as_str()),
        ("user", "profile sessions")
    );
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(
        tokens.refresh_max_age,
        RefreshPolicy::default().absolute_ttl_s
    );
    assert_eq!(user.email, "sam@example.com");
    assert!(matches!(
        w.events().last(),
        Some(SecurityEvent::LoginSucceeded {
            rehashed: false,
            ..
        })
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_email_and_wrong_password_fail_alike() {
    let mut w = World::new();
    let user = w.register("sam@example.com").unwrap();
    assert_eq!(
        w.login("sam@example.com", "wrong password!"),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        w.login("nobody@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        w.login("not an email", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    let failures: Vec<_> = w
        .events()
        .into_iter()
        .filter(|e| matches!(e, SecurityEvent::LoginFailed { .. }))
        .collect();
    assert_eq!(
        failures,
        [
            SecurityEvent::LoginFailed {
                user_id: Some(user.id),
                reason: "wrong_password"
            },
            SecurityEvent::LoginFailed {
                user_id: None,
                reason: "unknown_user"
            },
            SecurityEvent::LoginFailed {
                user_id: None,
                reason: "unknown_user"
            },
        ]
    );
}

/// Timing must not tell whether an email has an account: besides the dummy verify, a failed
/// login makes the same storage calls, in the same order, for a wrong password, an unknown
/// email and a username that is not an email (of any length: no key is made from it).
#[wasm_bindgen_test(unsupported = test)]
fn failed_logins_make_the_same_storage_calls_whether_or_not_the_email_has_an_account() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    let mut calls = Vec::new();
    for (email, password) in [
        ("sam@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("not an email", PASSWORD),
        (&*"x".repeat(5000), PASSWORD),
    ] {
        w.store.clear_operations();
        assert_eq!(w.login(email, password), Err(Error::InvalidCredentials));
        calls.push(w.store.operations());
    }
    // The attempt is counted (reserved) first; its reservation is the failure, so nothing is
    // written after the verdict.
    assert_eq!(
        calls[0],
        [Op::Reserve, Op::Reserve, Op::FindUserId, Op::GetUser]
    );
    for other in &calls[1..] {
        assert_eq!(other, &calls[0]);
    }
}

/// A login is counted before its password is judged, under the account and the address;
/// its success then clears the account and takes back the address's count of this attempt
/// only, both sent with the session write.
#[wasm_bindgen_test(unsupported = test)]
fn a_login_is_counted_before_the_verdict_and_a_success_settles_it() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    w.store.clear_operations();
    assert_eq!(
        w.login("sam@example.com", "wrong password!"),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 1);
    assert_eq!(w.store.throttle_count("address:192.0.2.1"), 1);
    for i in 0..3 {
        let _ = w.login(&format!("other{i}@example.com"), "wrong password!");
    }
    assert_eq!(w.store.throttle_count("address:192.0.2.1"), 4);
    w.store.clear_operations();
    w.login("sam@example.com", PASSWORD).unwrap();
    let ops = w.store.operations();
    assert_eq!(
        ops[..3],
        [Op::Reserve, Op::Reserve, Op::FindUserId],
        "{ops:?}"
    );
    for op in [Op::Clear, Op::Release, Op::PutFamily] {
        assert_eq!(
            ops.iter().filter(|&&o| o == op).count(),
            1,
            "{op:?} in {ops:?}"
        );
    }
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 0);
    assert_eq!(
        w.store.throttle_count("address:192.0.2.1"),
        4,
        "the address's other failures still count; only this attempt was taken back"
    );
    // The reset took: four more failures (nine in the window) leave the account open.
    for _ in 0..4 {
        let _ = w.login("sam@example.com", "wrong password!");
    }
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
}

/// However many attempts are under way, at most the limit of them are admitted: a
/// reservation counts from the moment it is made, before any outcome. (The HTTP test
/// `tests/http/lockout-parallel.test.mjs` sends them truly in parallel.)
#[wasm_bindgen_test(unsupported = test)]
fn reservations_without_a_verdict_yet_use_up_the_limit() {
    let w = World::new();
    let limit = w.auth.config.account_throttle;
    let admitted = (0..30)
        .filter(|_| {
            run(w.store.reserve("account:sam@example.com", limit, T0))
                == Ok(tollgate_core::throttle::Admission::Allowed)
        })
        .count();
    assert_eq!(admitted, 5);
}

/// If the attempt cannot be counted, the password is not judged: 503 before any read, with
/// no verdict event, and nothing left counted under the other limit.
#[wasm_bindgen_test(unsupported = test)]
fn a_reservation_that_cannot_be_recorded_answers_503_before_the_password_is_judged() {
    for (skip, fault) in [(0, Fault::Fail), (1, Fault::Timeout)] {
        let mut w = World::new();
        w.register("sam@example.com").unwrap();
        w.store.clear_operations();
        w.store.fail_after(Op::Reserve, skip, fault);
        for password in [PASSWORD, "wrong password!"] {
            let err = w.login("sam@example.com", password).unwrap_err();
            assert!(matches!(err, Error::StorageUnavailable(_)), "{err:?}");
            w.store.heal();
            w.store.fail_after(Op::Reserve, skip, fault);
        }
        let ops = w.store.operations();
        assert!(
            !ops.contains(&Op::FindUserId) && !ops.contains(&Op::GetUser),
            "nothing read, nothing judged: {ops:?}"
        );
        assert!(!w.events().iter().any(|e| matches!(
            e,
            SecurityEvent::LoginFailed { .. } | SecurityEvent::LoginSucceeded { .. }
        )));
        assert_eq!(w.store.throttle_count("account:sam@example.com"), 0);
        assert_eq!(w.store.throttle_count("address:192.0.2.1"), 0);
    }
}

/// A refused attempt counts against neither limit: a locked address does not lock the
/// accounts it goes on trying, and a locked account does not use up a fresh address's budget.
#[wasm_bindgen_test(unsupported = test)]
fn a_refused_attempt_counts_nowhere() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for i in 0..20 {
        let _ = w.login_from(&format!("u{i}@example.com"), "x", "192.0.2.66", T0);
    }
    for _ in 0..10 {
        assert!(matches!(
            w.login_from("sam@example.com", "wrong password!", "192.0.2.66", T0),
            Err(Error::TooManyAttempts { .. })
        ));
    }
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 0);
    for i in 0..5 {
        let _ = w.login_from("sam@example.com", "x", &format!("198.51.100.{i}"), T0);
    }
    for _ in 0..10 {
        assert!(matches!(
            w.login_from("sam@example.com", PASSWORD, "203.0.113.1", T0),
            Err(Error::TooManyAttempts { .. })
        ));
    }
    assert_eq!(w.store.throttle_count("address:203.0.113.1"), 0);
}

/// IPv6 clients are counted by /64, so one host cannot spread its guesses over its 2^64
/// addresses; IPv4 clients by address; and all requests without a usable address share one
/// bucket (see `throttle::address_bucket`).
#[wasm_bindgen_test(unsupported = test)]
fn addresses_are_counted_by_bucket() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for i in 0..20 {
        let _ = w.login_from(
            &format!("u{i}@example.com"),
            "x",
            &format!("2001:db8:7:7::{i:x}"),
            T0,
        );
    }
    assert!(matches!(
        w.login_from("sam@example.com", PASSWORD, "2001:db8:7:7:ffff::9", T0),
        Err(Error::TooManyAttempts { .. })
    ));
    assert!(
        w.login_from("sam@example.com", PASSWORD, "2001:db8:7:8::1", T0)
            .is_ok()
    );
    for i in 0..20 {
        let _ = w.login_from(&format!("v{i}@example.com"), "x", "", T0);
    }
    for unusable in ["", "unknown", "not-an-address"] {
        assert!(matches!(
            w.login_from("sam@example.com", PASSWORD, unusable, T0),
            Err(Error::TooManyAttempts { .. })
        ));
    }
}

/// With both login limits at 0 the throttle is off: no round trip to it at all.
#[wasm_bindgen_test(unsupported = test)]
fn disabled_throttles_make_no_throttle_calls() {
    let mut w = World::new();
    let off = ThrottlePolicy {
        max_failures: 0,
        window_s: 900,
    };
    w.auth.config.account_throttle = off;
    w.auth.config.address_throttle = off;
    w.auth.config.register_throttle = off;
    w.register_from("sam@example.com", "192.0.2.1", T0).unwrap();
    let _ = w.login("sam@example.com", "wrong password!");
    w.login("sam@example.com", PASSWORD).unwrap();
    let ops = w.store.operations();
    for op in [Op::Reserve, Op::Release, Op::Clear] {
        assert!(!ops.contains(&op), "{op:?} in {ops:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn five_failures_lock_the_account_even_for_the_right_password_until_the_window_passes() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for i in 0..5 {
        let r = w.login_from(
            "sam@example.com",
            "wrong password!",
            &format!("198.51.100.{i}"),
            T0 + i,
        );
        assert_eq!(r, Err(Error::InvalidCredentials));
    }
    let locked = w.login_from("sam@example.com", PASSWORD, "203.0.113.9", T0 + 10);
    assert_eq!(locked, Err(Error::TooManyAttempts { retry_after_s: 890 }));
    // The same refusal for an email that does not exist: lockout reveals nothing.
    for i in 0..5 {
        let _ = w.login_from(
            "ghost@example.com",
            PASSWORD,
            &format!("198.51.100.{i}"),
            T0 + i,
        );
    }
    assert_eq!(
        w.login_from("ghost@example.com", PASSWORD, "203.0.113.9", T0 + 10),
        Err(Error::TooManyAttempts { retry_after_s: 890 })
    );
    assert!(
        w.login_from("sam@example.com", PASSWORD, "203.0.113.9", T0 + 900)
            .is_ok()
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_success_resets_the_account_counter() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for i in 0..4 {
        let _ = w.login_from("sam@example.com", "wrong password!", "198.51.100.1", T0 + i);
    }
    w.login_from("sam@example.com", PASSWORD, "198.51.100.1", T0 + 5)
        .unwrap();
    for i in 0..4 {
        let _ = w.login_from(
            "sam@example.com",
            "wrong password!",
            "198.51.100.1",
            T0 + 6 + i,
        );
    }
    assert!(
        w.login_from("sam@example.com", PASSWORD, "198.51.100.1", T0 + 20)
            .is_ok()
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn twenty_failures_from_one_address_lock_that_address_across_accounts() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for i in 0..20 {
        let _ = w.login_from(
            &format!("user{i}@example.com"),
            PASSWORD,
            "192.0.2.66",
            T0 + i,
        );
    }
    assert!(matches!(
        w.login_from("sam@example.com", PASSWORD, "192.0.2.66", T0 + 30),
        Err(Error::TooManyAttempts { .. })
    ));
    assert!(
        w.login_from("sam@example.com", PASSWORD, "192.0.2.67", T0 + 30)
            .is_ok()
    );
    assert!(w.events().iter().any(|e| matches!(
        e,
        SecurityEvent::LoginThrottled {
            scope: "address",
            ..
        }
    )));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_legacy_bcrypt_user_logs_in_and_is_upgraded_to_argon2id() {
    let mut w = World::new();
    let mut user = w.register("legacy@example.com").unwrap();
    // pyca/bcrypt tests/test_bcrypt.py: hashpw(b"Kk4DQuMMfZL9o", b"$2b$04$cVWp4XaNU8a4v1uMRum2SO")
    user.password_hash = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm".into();
    w.store.plant_user(user.clone());
    w.login("legacy@example.com", "Kk4DQuMMfZL9o").unwrap();
    let stored = run(w.store.get_user(&user.id)).unwrap().unwrap();
    assert!(
        stored.password_hash.starts_with("$argon2id$"),
        "{}",
        stored.password_hash
    );
    assert!(matches!(
        w.events().last(),
        Some(SecurityEvent::LoginSucceeded { rehashed: true, .. })
    ));
    // And the new hash works for the next login.
    w.login("legacy@example.com", "Kk4DQuMMfZL9o").unwrap();
}

#[wasm_bindgen_test(unsupported = test)]
fn a_poisoned_stored_hash_is_a_failed_login_not_a_crash() {
    let mut w = World::new();
    let mut user = w.register("poison@example.com").unwrap();
    user.password_hash = "$argon2id$v=19$m=4194304,t=1000,p=1$c29tZXNhbHQ$aGFzaA".into();
    w.store.plant_user(user);
    assert_eq!(
        w.login("poison@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    assert!(matches!(
        w.events().last(),
        Some(SecurityEvent::LoginFailed {
            reason: "stored_hash_refused",
            ..
        })
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn every_refused_stored_hash_is_invalid_credentials() {
    for stored in [
        "$argon2id$v=19$m=4194304,t=1000,p=1$c29tZXNhbHQ$aGFzaA", // over the cost bounds
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",             // malformed
        "$2b$99$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm", // bcrypt over cost
        "plaintext-from-a-bad-import",                            // not a hash at all
        "",
    ] {
        let mut w = World::new();
        let mut user = w.register("poison@example.com").unwrap();
        user.password_hash = stored.into();
        w.store.plant_user(user);
        assert_eq!(
            w.login("poison@example.com", PASSWORD),
            Err(Error::InvalidCredentials),
            "{stored:?}"
        );
        assert!(
            matches!(
                w.events().last(),
                Some(SecurityEvent::LoginFailed {
                    reason: "stored_hash_refused",
                    ..
                })
            ),
            "{stored:?}"
        );
    }
}

/// How long `f` takes, in seconds.
#[cfg(not(target_arch = "wasm32"))]
fn seconds<T>(f: impl FnOnce() -> T) -> f64 {
    let start = std::time::Instant::now();
    let _ = f();
    start.elapsed().as_secs_f64()
}

// Native only (no `Instant` on wasm32-unknown-unknown). At the default argon2 cost, so that
// the hashing dwarfs the flow's own bookkeeping, and with throttling off so that every
// attempt gets as far as the password.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_refused_stored_hash_takes_as_long_as_an_unknown_email() {
    let mut w = World::new();
    w.auth.hasher = PasswordHasher::default();
    let off = ThrottlePolicy {
        max_failures: 0,
        window_s: 900,
    };
    (
        w.auth.config.account_throttle,
        w.auth.config.address_throttle,
    ) = (off, off);
    let mut user = w.register("poison@example.com").unwrap();
    user.password_hash = "$argon2id$v=19$m=4194304,t=1000,p=1$c29tZXNhbHQ$aGFzaA".into();
    w.store.plant_user(user);
    let (mut poisoned, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        poisoned.push(seconds(|| w.login("poison@example.com", PASSWORD)));
        unknown.push(seconds(|| w.login("nobody@example.com", PASSWORD)));
    }
    poisoned.sort_by(f64::total_cmp);
    unknown.sort_by(f64::total_cmp);
    let (poisoned, unknown) = (poisoned[2], unknown[2]);
    assert!(
        (0.5..=2.0).contains(&(poisoned / unknown)),
        "refused hash {:.1} ms vs unknown email {:.1} ms",
        poisoned * 1e3,
        unknown * 1e3
    );
}

// --- refresh -----------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn refresh_rotates_with_three_reads_and_one_write() {
    // The family, its revocation marker (kept apart so that no stale copy of the family can
    // erase it) and the user.
    let (mut w, tokens) = signed_in("sam@example.com");
    w.store.clear_operations();
    let next = w.refresh(&tokens.refresh_token, T0 + 60).unwrap();
    assert_ne!(next.refresh_token, tokens.refresh_token);
    assert_eq!(next.session_id, tokens.session_id);
    let ops = w.store.operations();
    assert_eq!(ops.iter().filter(|o| o.is_kv_read()).count(), 3, "{ops:?}");
    assert_eq!(ops.iter().filter(|o| o.is_kv_write()).count(), 1, "{ops:?}");
}

#[wasm_bindgen_test(unsupported = test)]
fn concurrent_refreshes_with_one_token_both_succeed_with_the_same_new_token() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let a = w.refresh(&tokens.refresh_token, T0 + 60).unwrap();
    let b = w.refresh(&tokens.refresh_token, T0 + 61).unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    assert!(matches!(
        w.events().last(),
        Some(SecurityEvent::TokenRefreshed { replayed: true, .. })
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn replaying_a_token_two_generations_old_kills_the_whole_family() {
    let (mut w, t0) = signed_in("sam@example.com");
    let t1 = w.refresh(&t0.refresh_token, T0 + 60).unwrap();
    let t2 = w.refresh(&t1.refresh_token, T0 + 120).unwrap();
    assert_eq!(
        w.refresh(&t0.refresh_token, T0 + 130),
        Err(Error::RefreshTokenReused)
    );
    assert!(w.events().iter().any(|e| matches!(
        e,
        SecurityEvent::RefreshTokenReused {
            presented_generation: 0,
            current_generation: 2,
            ..
        }
    )));
    assert_eq!(
        w.refresh(&t2.refresh_token, T0 + 140),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn garbage_and_missing_refresh_tokens_are_refused() {
    let (mut w, _) = signed_in("sam@example.com");
    assert_eq!(
        w.refresh("garbage", T0),
        Err(Error::InvalidRefreshToken(RefreshRejection::Malformed))
    );
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.refresh(None, T0, &mut w.rng)),
        Err(Error::InvalidRefreshToken(RefreshRejection::Missing))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn refresh_picks_up_a_role_change_only_after_sessions_end() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let user_id = w.principal(&tokens).user_id;
    let admin = admin_in(&mut w, "admin@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.set_role(&admin, &user_id, "admin", T0 + 1)).unwrap();
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + 2),
        Err(Error::InvalidRefreshToken(RefreshRejection::Superseded))
    );
    let again = w.login("sam@example.com", PASSWORD).unwrap();
    assert_eq!(w.principal(&again).role, "admin");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lost_write_race_to_an_identical_rotation_answers_with_the_same_token() {
    // Two refreshes of one token read generation 0; the other one's write lands first and
    // KV refuses this one's (429). Deterministic rotation means both carry the same record
    // and token for generation 1, so this one succeeds after reading the family again.
    let (mut w, tokens) = signed_in("sam@example.com");
    let (stored, _) = w.store.families().pop().unwrap();
    let mut winner = stored.clone();
    (winner.generation, winner.rotated_at, winner.last_used_at) = (1, T0 + 60, T0 + 60);
    let winner_token = winner.current_token(&w.auth.refresh_key);
    w.store.race_next_family_write(
        winner.clone(),
        winner.storage_expiration(&w.auth.config.refresh, T0 + 60),
    );
    w.store.clear_operations();

    let next = w.refresh(&tokens.refresh_token, T0 + 60).unwrap();
    assert_eq!(next.refresh_token, winner_token);
    assert_eq!(next.session_id, tokens.session_id);
    assert_eq!(
        w.store.operations(),
        [
            Op::GetFamily,
            Op::GetRevoked,
            Op::GetUser,
            Op::PutFamily,
            Op::GetFamily
        ],
        "one failed write, one more read, no second write"
    );
    assert_eq!(w.store.families().pop().unwrap().0, winner);
    assert!(matches!(
        w.events().last(),
        Some(SecurityEvent::TokenRefreshed {
            generation: 1,
            replayed: true,
            ..
        })
    ));
    // The token handed out is the live one: it rotates on.
    assert!(w.refresh(&next.refresh_token, T0 + 120).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_write_that_no_identical_rotation_explains_is_still_a_503() {
    let rotated = |generation: u32, revoked: bool| {
        move |stored: &tollgate_core::refresh::Family| {
            let mut f = stored.clone();
            (f.generation, f.rotated_at, f.last_used_at) = (generation, T0 + 60, T0 + 60);
            if revoked {
                f.revoked = Some(RevokeReason::Reuse);
            }
            f
        }
    };
    // The other request got further (generation 2: this one's successor is already old), or
    // the family was revoked meanwhile: handing out generation 1 would be wrong, and a 503
    // leaves the client's (possibly newer) cookie alone.
    for (label, winner) in [
        ("moved further on", rotated(2, false)),
        ("revoked", rotated(1, true)),
    ] {
        let (mut w, tokens) = signed_in("sam@example.com");
        let (stored, expires) = w.store.families().pop().unwrap();
        w.store.race_next_family_write(winner(&stored), expires);
        assert!(
            matches!(
                w.refresh(&tokens.refresh_token, T0 + 60),
                Err(Error::StorageUnavailable(_))
            ),
            "{label}"
        );
    }
    // A plain failure (nothing else wrote) stays a 503 with the family unchanged (see
    // `a_failed_family_write_hands_out_nothing`), and so does one whose second read fails
    // too (the first read is the rotation's own).
    let (mut w, tokens) = signed_in("sam@example.com");
    w.store.fail_next(Op::PutFamily, Fault::Fail);
    w.store.fail_after(Op::GetFamily, 1, Fault::Timeout);
    assert!(matches!(
        w.refresh(&tokens.refresh_token, T0 + 60),
        Err(Error::StorageUnavailable(_))
    ));
    assert_eq!(w.store.families().pop().unwrap().0.generation, 0);
}

// --- a session not yet visible at another location (KV propagation) -----------------------

/// Another edge location: it already has the user (registered long ago) but none of the
/// families written at the location `w` stands for.
fn elsewhere(w: &World, email: &str) -> MemoryStore {
    let store = MemoryStore::new();
    let id = run(w.store.find_user_id(email)).unwrap().unwrap();
    store.plant_user(run(w.store.get_user(&id)).unwrap().unwrap());
    store
}

fn refresh_at(w: &mut World, store: &MemoryStore, token: &str, now: u64) -> Result<Tokens, Error> {
    let flows = w.auth.flows(store, &w.events);
    run(flows.refresh(Some(token), now, &mut w.rng))
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refresh_where_the_new_session_has_not_arrived_yet_is_a_retry_not_a_sign_out() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let there = elsewhere(&w, "sam@example.com");
    for now in [T0 + 1, T0 + PROPAGATION_WINDOW_S - 1] {
        let err = refresh_at(&mut w, &there, &tokens.refresh_token, now).unwrap_err();
        assert!(matches!(err, Error::StorageUnavailable(_)), "{now}: {err}");
        assert_eq!(err.code(), ErrorCode::StorageUnavailable);
    }
    assert!(
        there.families().is_empty(),
        "nothing written, nothing deleted"
    );
    // Once the login's write arrives, the same token rotates as usual.
    let (family, expires) = w.store.families().pop().unwrap();
    run(there.put_family(&family, expires, None)).unwrap();
    assert!(refresh_at(&mut w, &there, &tokens.refresh_token, T0 + 30).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_missing_family_past_the_propagation_window_is_unknown() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let there = elsewhere(&w, "sam@example.com");
    assert_eq!(
        refresh_at(
            &mut w,
            &there,
            &tokens.refresh_token,
            T0 + PROPAGATION_WINDOW_S
        ),
        Err(Error::InvalidRefreshToken(RefreshRejection::UnknownFamily))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_user_not_visible_yet_is_a_retry_and_keeps_the_family() {
    // Registered and logged in moments ago elsewhere: the family has arrived here, the user
    // (written earlier, but on its own schedule) has not.
    let (mut w, tokens) = signed_in("sam@example.com");
    let there = MemoryStore::new();
    let (family, expires) = w.store.families().pop().unwrap();
    run(there.put_family(&family, expires, None)).unwrap();
    assert!(matches!(
        refresh_at(&mut w, &there, &tokens.refresh_token, T0 + 5),
        Err(Error::StorageUnavailable(_))
    ));
    assert_eq!(there.families().len(), 1, "the family is not forgotten");
    // Past the window a missing user is a deleted user: the family ends and is deleted.
    assert_eq!(
        refresh_at(
            &mut w,
            &there,
            &tokens.refresh_token,
            T0 + PROPAGATION_WINDOW_S
        ),
        Err(Error::InvalidRefreshToken(RefreshRejection::UnknownUser))
    );
    assert!(there.families().is_empty());
}

/// A refresh token in the given format version for `family` at `generation`, MAC-valid under
/// the key derived from [`SECRET`]: computed here from the format documented in
/// `refresh::token` with the `hmac` crate, not with Tollgate's encoder. Version 1 (the first
/// format) is the fields without the creation time; version 2 adds it.
fn token_by_hand(version: u8, family: &tollgate_core::refresh::Family, generation: u32) -> String {
    use hmac::{Hmac, Mac};
    type HmacSha256 = Hmac<sha2::Sha256>;
    let mut kdf = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
    kdf.update(b"tollgate/refresh-token-key/v1");
    let key = kdf.finalize().into_bytes();
    let mut body = vec![version];
    body.extend_from_slice(family.user_id.as_bytes());
    body.extend_from_slice(family.id.as_bytes());
    body.extend_from_slice(&generation.to_be_bytes());
    if version == 2 {
        body.extend_from_slice(&family.created_at.to_be_bytes());
    }
    let mut mac = HmacSha256::new_from_slice(&key).unwrap();
    mac.update(b"tollgate/refresh-token/v1\0");
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    tollgate_core::unverified::encode_base64url(&body)
}

#[wasm_bindgen_test(unsupported = test)]
fn refresh_tokens_of_the_first_format_are_refused_and_end_nothing() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let (family, _) = w.store.families().pop().unwrap();
    // The hand-made current token is the one Tollgate issued: the MAC below is right.
    assert_eq!(token_by_hand(2, &family, 0), tokens.refresh_token);
    assert_eq!(tokens.refresh_token.len(), REFRESH_TOKEN_CHARS);
    let first_format = token_by_hand(1, &family, 0);
    assert_eq!(first_format.len(), 92);
    assert_eq!(
        w.refresh(&first_format, T0 + 60),
        Err(Error::InvalidRefreshToken(RefreshRejection::Malformed))
    );
    // Nor does it log the session out: logging out with it is a no-op, as with any bad token.
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&first_format), T0 + 61)).unwrap();
    assert!(w.refresh(&tokens.refresh_token, T0 + 62).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn ending_a_session_leaves_a_revocation_marker_that_outlives_its_tokens() {
    // Revoked by its user, and by an admin deleting the user: at the location that did it the
    // token is refused at once (not "retry"), and the marker stays as long as any token of
    // the family could otherwise be accepted, whatever copy of the family is written back.
    let (mut w, a) = signed_in("sam@example.com");
    let b = w.login("sam@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    let p = w.principal(&a);
    run(flows.revoke_session_at(&p, &b.session_id.to_hyphenated(), T0 + 10)).unwrap();
    assert_eq!(
        w.refresh(&b.refresh_token, T0 + 11),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.revoke_session_at(&p, &b.session_id.to_hyphenated(), T0 + 12)),
        Err(Error::NotFound),
        "an ended session is not there to revoke"
    );
    assert_eq!(run(flows.sessions(&p, T0 + 12)).unwrap().len(), 1);
    let marker = w
        .store
        .revocations()
        .into_iter()
        .find(|(_, family, _, _)| *family == b.session_id)
        .unwrap();
    assert_eq!(marker.2, RevokeReason::Ended);
    assert_eq!(marker.3, T0 + w.auth.config.refresh.absolute_ttl_s);

    // An admin deletes the user while the remaining session is young.
    let admin = admin_in(&mut w, "admin@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.delete_user_at(&admin, &p.user_id, T0 + 20)).unwrap();
    assert_eq!(
        w.refresh(&a.refresh_token, T0 + 21),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn ending_an_older_session_is_refused_as_revoked_too() {
    let (mut w, a) = signed_in("sam@example.com");
    let b = w.login("sam@example.com", PASSWORD).unwrap();
    let later = T0 + PROPAGATION_WINDOW_S;
    let flows = w.auth.flows(&w.store, &w.events);
    let p = w.principal(&a);
    run(flows.revoke_session_at(&p, &b.session_id.to_hyphenated(), later)).unwrap();
    assert_eq!(w.store.revocations().len(), 1);
    assert_eq!(
        w.refresh(&b.refresh_token, later + 1),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
}

// --- a corrupt session epoch --------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn a_session_epoch_at_its_maximum_is_refused_never_wrapped() {
    // Wrapping to 0 would make every family of the user valid again; refusing changes nothing.
    let (mut w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    let admin = admin_in(&mut w, "admin@example.com");
    let mut user = run(w.store.get_user(&tokens_user(&p))).unwrap().unwrap();
    user.session_epoch = u64::MAX;
    w.store.plant_user(user.clone());
    let flows = w.auth.flows(&w.store, &w.events);
    let refused = [
        run(flows.logout_all(&p, T0 + 1)),
        run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0 + 1, &mut w.rng)),
        run(flows.set_role(&admin, &p.user_id, "admin", T0 + 1)).map(|_| ()),
        run(flows.end_user_sessions(&admin, &p.user_id, T0 + 1)),
    ];
    for result in refused {
        assert!(matches!(result, Err(Error::Internal(_))), "{result:?}");
    }
    assert_eq!(run(w.store.get_user(&user.id)).unwrap().unwrap(), user);
}

fn tokens_user(p: &Principal) -> tollgate_core::id::Id {
    tollgate_core::id::Id::parse(&p.user_id).unwrap()
}

// --- logout, sessions, password --------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn logout_ends_the_session_and_is_idempotent() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    run(flows.logout(Some(&tokens.refresh_token), T0 + 1)).unwrap();
    run(flows.logout(None, T0 + 1)).unwrap();
    run(flows.logout(Some("garbage"), T0 + 1)).unwrap();
    // The session leaves a revocation marker, kept until no token of it could be accepted.
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + 2),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
    let (_, _, reason, until) = w.store.revocations().pop().unwrap();
    assert_eq!(reason, RevokeReason::Ended);
    assert_eq!(until, T0 + w.auth.config.refresh.absolute_ttl_s);
}

#[wasm_bindgen_test(unsupported = test)]
fn logging_out_an_older_session_is_one_write() {
    let (mut w, tokens) = signed_in("sam@example.com");
    w.store.clear_operations();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout(Some(&tokens.refresh_token), T0 + PROPAGATION_WINDOW_S)).unwrap();
    assert_eq!(w.store.operations(), [Op::RevokeFamily]);
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + PROPAGATION_WINDOW_S + 1),
        Err(Error::InvalidRefreshToken(RefreshRejection::Revoked))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn logout_all_ends_every_session_of_the_user_only() {
    let (mut w, a) = signed_in("sam@example.com");
    let b = w.login("sam@example.com", PASSWORD).unwrap();
    w.register("kim@example.com").unwrap();
    let other = w.login("kim@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout_all(&w.principal(&a), T0 + 1)).unwrap();
    for t in [&a, &b] {
        assert_eq!(
            w.refresh(&t.refresh_token, T0 + 2),
            Err(Error::InvalidRefreshToken(RefreshRejection::Superseded))
        );
    }
    assert!(w.refresh(&other.refresh_token, T0 + 2).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn ending_sessions_also_refuses_older_access_tokens_where_the_user_is_read() {
    let (mut w, before) = signed_in("sam@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.logout_all(&w.principal(&before), T0 + 1)).unwrap();
    assert_eq!(
        run(flows.me(&w.principal(&before))),
        Err(Error::InvalidToken(TokenRejection::SessionEnded))
    );
    assert_eq!(
        run(flows.sessions(&w.principal(&before), T0 + 2)),
        Err(Error::InvalidToken(TokenRejection::SessionEnded))
    );
    // A token issued after the logout-all is fine.
    let after = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 2)
        .unwrap();
    let later = w
        .auth
        .authenticate(Some(&format!("Bearer {}", after.access_token)), T0 + 2)
        .unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(run(flows.me(&later)).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn sessions_lists_live_sessions_and_revoking_one_ends_it() {
    let (mut w, a) = signed_in("sam@example.com");
    let b = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 10)
        .unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    let p = w.principal(&a);
    let sessions = run(flows.sessions(&p, T0 + 20)).unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| (s.id, s.current))
            .collect::<Vec<_>>(),
        [(b.session_id, false), (a.session_id, true)]
    );
    assert_eq!(sessions[0].user_agent, "test-agent");
    run(flows.revoke_session_at(&p, &b.session_id.to_hyphenated(), T0 + 20)).unwrap();
    assert_eq!(
        run(flows.revoke_session_at(&p, &b.session_id.to_hyphenated(), T0 + 20)),
        Err(Error::NotFound)
    );
    assert_eq!(
        run(flows.revoke_session_at(&p, "not-an-id", T0 + 20)),
        Err(Error::NotFound)
    );
    assert!(w.refresh(&b.refresh_token, T0 + 30).is_err());
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(run(flows.sessions(&p, T0 + 40)).unwrap().len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn sessions_of_another_user_cannot_be_revoked() {
    let (mut w, a) = signed_in("sam@example.com");
    w.register("kim@example.com").unwrap();
    let kim = w.login("kim@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.revoke_session_at(&w.principal(&a), &kim.session_id.to_hyphenated(), T0 + 20)),
        Err(Error::NotFound)
    );
    assert!(w.refresh(&kim.refresh_token, T0 + 1).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn changing_the_password_ends_other_sessions_but_not_this_one() {
    let (mut w, this) = signed_in("sam@example.com");
    let other = w.login("sam@example.com", PASSWORD).unwrap();
    let p = w.principal(&this);
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.change_password(
            &p,
            "wrong password!",
            "a brand new passphrase",
            T0,
            &mut w.rng
        )),
        Err(Error::IncorrectPassword)
    );
    assert_eq!(
        run(flows.change_password(&p, PASSWORD, "short", T0, &mut w.rng)),
        Err(Error::field("new_password", ErrorCode::PasswordTooShort))
    );
    run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0 + 1, &mut w.rng)).unwrap();
    assert!(w.refresh(&this.refresh_token, T0 + 2).is_ok());
    assert_eq!(
        w.refresh(&other.refresh_token, T0 + 2),
        Err(Error::InvalidRefreshToken(RefreshRejection::Superseded))
    );
    assert_eq!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    assert!(w.login("sam@example.com", "a brand new passphrase").is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn wrong_current_passwords_count_against_the_account_throttle() {
    let (mut w, this) = signed_in("sam@example.com");
    let p = w.principal(&this);
    let flows = w.auth.flows(&w.store, &w.events);
    for _ in 0..5 {
        let _ = run(flows.change_password(
            &p,
            "wrong password!",
            "a brand new passphrase",
            T0,
            &mut w.rng,
        ));
    }
    assert!(matches!(
        run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0, &mut w.rng)),
        Err(Error::TooManyAttempts { .. })
    ));
}

/// A password change is counted before the current password is judged; the right one
/// clears the account's count like a login does, and a reservation that cannot be made is a
/// 503 with the password unchanged.
#[wasm_bindgen_test(unsupported = test)]
fn password_changes_are_counted_before_the_verdict() {
    let (mut w, this) = signed_in("sam@example.com");
    let p = w.principal(&this);
    let flows = w.auth.flows(&w.store, &w.events);
    for _ in 0..4 {
        let _ = run(flows.change_password(
            &p,
            "wrong password!",
            "a brand new passphrase",
            T0,
            &mut w.rng,
        ));
    }
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 4);
    w.store.fail_next(Op::Reserve, Fault::Fail);
    assert!(matches!(
        run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0, &mut w.rng)),
        Err(Error::StorageUnavailable(_))
    ));
    run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0, &mut w.rng)).unwrap();
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn me_reads_one_record_and_a_deleted_user_is_an_invalid_token() {
    let (w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    w.store.clear_operations();
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(run(flows.me(&p)).unwrap().email, "sam@example.com");
    assert_eq!(w.store.operations(), [Op::GetUser]);
    run(w
        .store
        .remove_user(&tollgate_core::id::Id::parse(&p.user_id).unwrap()))
    .unwrap();
    assert_eq!(
        run(flows.me(&p)),
        Err(Error::InvalidToken(TokenRejection::UnknownSubject))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn authenticate_does_no_storage_work_and_separates_401_from_403() {
    let (w, tokens) = signed_in("sam@example.com");
    w.store.clear_operations();
    let p = w
        .auth
        .authenticate(Some(&format!("Bearer {}", tokens.access_token)), T0)
        .unwrap();
    assert!(w.store.operations().is_empty());
    assert_eq!(w.auth.authenticate(None, T0), Err(Error::NotAuthenticated));
    assert_eq!(
        w.auth.authenticate(Some("Basic abc"), T0),
        Err(Error::NotAuthenticated)
    );
    let mut tampered = tokens.access_token.clone();
    tampered.pop();
    tampered.push('A');
    assert!(matches!(
        w.auth.authenticate(Some(&format!("Bearer {tampered}")), T0),
        Err(Error::InvalidToken(_))
    ));
    assert_eq!(
        w.auth.authenticate(
            Some(&format!("Bearer {}", tokens.access_token)),
            T0 + 900 + 30
        ),
        Err(Error::InvalidToken(TokenRejection::Expired))
    );
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.list_users(&p, None)).unwrap_err().http_status(),
        403
    );
}

// --- admin -------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn admins_page_through_users_change_roles_and_delete_users() {
    let mut w = World::new();
    // The bootstrap admin comes from `tollgate user add --role admin`; it promotes another
    // account through the flow, which then signs in again to get an admin token.
    let bootstrap = admin_in(&mut w, "root@example.com");
    let admin_id = w.register("admin@example.com").unwrap().id.to_hyphenated();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.set_role(&bootstrap, &admin_id, "admin", T0)).unwrap();
    assert_eq!(
        run(flows.set_role(&bootstrap, &admin_id, "root", T0)),
        Err(Error::field("role", ErrorCode::InvalidRole))
    );
    assert_eq!(
        run(flows.set_role(
            &bootstrap,
            "0b5d1e0c-0000-4000-8000-000000000000",
            "user",
            T0
        )),
        Err(Error::NotFound)
    );
    for i in 0..150 {
        w.store.plant_user(UserRecord::new(
            tollgate_core::id::Id::generate(&mut w.rng),
            format!("u{i}@example.com"),
            "x".into(),
            "user".into(),
            T0,
        ));
    }
    let admin_tokens = w.login("admin@example.com", PASSWORD).unwrap();
    let admin = w.principal(&admin_tokens);
    let flows = w.auth.flows(&w.store, &w.events);
    let first = run(flows.list_users(&admin, None)).unwrap();
    assert_eq!(first.users.len(), 100);
    let second = run(flows.list_users(&admin, first.cursor.as_deref())).unwrap();
    // 150 planted users, the bootstrap admin and the promoted one.
    assert_eq!((second.users.len(), second.cursor.as_deref()), (52, None));

    // Ending a user's sessions: their refresh tokens stop, their password still works.
    w.register("busy@example.com").unwrap();
    let busy = w.login("busy@example.com", PASSWORD).unwrap();
    let busy_id = w.principal(&busy).user_id;
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.end_user_sessions(&w.principal(&busy), &busy_id, T0))
            .unwrap_err()
            .http_status(),
        403
    );
    run(flows.end_user_sessions(&admin, &busy_id, T0 + 1)).unwrap();
    assert_eq!(
        w.refresh(&busy.refresh_token, T0 + 2),
        Err(Error::InvalidRefreshToken(RefreshRejection::Superseded))
    );
    assert!(w.login("busy@example.com", PASSWORD).is_ok());
    assert!(
        w.events()
            .iter()
            .any(|e| matches!(e, SecurityEvent::UserSessionsEnded { .. }))
    );

    let victim = w.register("victim@example.com");
    assert!(victim.is_ok());
    let victim_tokens = w.login("victim@example.com", PASSWORD).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.delete_user_at(&admin, &victim.unwrap().id.to_hyphenated(), T0 + 20)).unwrap();
    assert_eq!(
        w.login("victim@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    assert!(w.refresh(&victim_tokens.refresh_token, T0 + 1).is_err());
    assert!(
        w.register("victim@example.com").is_ok(),
        "the email is free again"
    );
}

// --- storage failures --------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_index_write_leaves_no_user_behind() {
    for fault in [Fault::Fail, Fault::Timeout] {
        let mut w = World::new();
        w.store.fail_next(Op::BindEmail, fault);
        assert!(matches!(
            w.register("sam@example.com"),
            Err(Error::StorageUnavailable(_))
        ));
        assert_eq!((w.store.user_count(), w.store.email_count()), (0, 0));
        assert!(w.register("sam@example.com").is_ok(), "a retry succeeds");
        assert!(w.login("sam@example.com", PASSWORD).is_ok());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_or_slow_read_is_a_clean_503_for_every_flow() {
    for op in [Op::FindUserId, Op::GetUser, Op::Reserve] {
        let (mut w, _) = signed_in("sam@example.com");
        w.store.fail_next(op, Fault::Timeout);
        let err = w.login("sam@example.com", PASSWORD).unwrap_err();
        assert_eq!(err.http_status(), 503, "{op:?}: {err}");
    }
    for op in [Op::GetFamily, Op::GetUser] {
        let (mut w, tokens) = signed_in("sam@example.com");
        w.store.fail_next(op, Fault::Timeout);
        assert!(
            matches!(
                w.refresh(&tokens.refresh_token, T0 + 1),
                Err(Error::StorageUnavailable(_))
            ),
            "{op:?}"
        );
        assert!(
            w.refresh(&tokens.refresh_token, T0 + 2).is_ok(),
            "{op:?}: nothing changed, the token still works"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_family_write_hands_out_nothing() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    w.store.fail_next(Op::PutFamily, Fault::Fail);
    assert!(matches!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::StorageUnavailable(_))
    ));
    assert!(w.store.families().is_empty());

    let tokens = w.login("sam@example.com", PASSWORD).unwrap();
    w.store.fail_next(Op::PutFamily, Fault::Fail);
    assert!(matches!(
        w.refresh(&tokens.refresh_token, T0 + 60),
        Err(Error::StorageUnavailable(_))
    ));
    let (family, _) = w.store.families().pop().unwrap();
    assert_eq!(
        family.generation, 0,
        "the failed rotation left the family as it was"
    );
    let next = w.refresh(&tokens.refresh_token, T0 + 61).unwrap();
    assert!(w.refresh(&next.refresh_token, T0 + 62).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_throttle_settlement_after_a_good_password_starts_no_session() {
    // The settlement and the family write go out together; when clearing the account or
    // releasing the address fails, the family that was written is taken back, so the refused
    // login leaves no session anyone could list.
    for op in [Op::Clear, Op::Release] {
        for fault in [Fault::Fail, Fault::Timeout] {
            let mut w = World::new();
            w.register("sam@example.com").unwrap();
            w.store.fail_next(op, fault);
            assert!(matches!(
                w.login("sam@example.com", PASSWORD),
                Err(Error::StorageUnavailable(_))
            ));
            assert!(w.store.families().is_empty(), "{op:?} {fault:?}");
            assert!(w.login("sam@example.com", PASSWORD).is_ok());
            assert_eq!(w.store.families().len(), 1);
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_password_write_keeps_the_old_password() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    w.store.fail_next(Op::ChangeUser, Fault::Fail);
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(matches!(
        run(flows.change_password(&p, PASSWORD, "a brand new passphrase", T0, &mut w.rng)),
        Err(Error::StorageUnavailable(_))
    ));
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn events_never_carry_secrets() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let _ = w.login("sam@example.com", "wrong password!");
    let _ = w.refresh(&tokens.refresh_token, T0 + 1);
    let all = serde_json::to_string(&w.events()).unwrap();
    for secret in [
        PASSWORD,
        "wrong password!",
        &tokens.refresh_token,
        &tokens.access_token,
        "sam@example.com",
        "$argon2",
    ] {
        assert!(!all.contains(secret), "{secret:?} leaked into {all}");
    }
}

// --- admin rights come from the stored record ---------------------------------------------

/// Registers `email` and makes it an admin the way `tollgate user add --role admin` does: by
/// writing the stored record, not through the API. Returns a fresh admin token's principal.
fn admin_in(w: &mut World, email: &str) -> Principal {
    let user = w.register(email).unwrap();
    w.store.plant_user(UserRecord {
        role: "admin".into(),
        ..user
    });
    let tokens = w.login(email, PASSWORD).unwrap();
    w.principal(&tokens)
}

/// Every admin operation, as `principal`, on `target`; each result's HTTP status.
fn admin_statuses(w: &World, principal: &Principal, target: &str, now: u64) -> Vec<u16> {
    let flows = w.auth.flows(&w.store, &w.events);
    let status = |r: Result<(), Error>| r.map_or_else(|e| e.http_status(), |()| 200);
    vec![
        status(run(flows.list_users(principal, None)).map(drop)),
        status(run(flows.set_role(principal, &principal.user_id, "admin", now)).map(drop)),
        status(run(flows.set_role(principal, target, "admin", now)).map(drop)),
        status(run(flows.end_user_sessions(principal, target, now))),
        status(run(flows.set_disabled(principal, target, false, now)).map(drop)),
        status(run(flows.delete_user_at(principal, target, now))),
    ]
}

/// A plain user's token on an admin route is refused for what it lacks, the admin role (the
/// reason the security log records), before any storage read: such a token can never pass.
#[wasm_bindgen_test(unsupported = test)]
fn a_plain_user_is_refused_admin_routes_for_the_role_without_a_read() {
    let (w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    w.store.clear_operations();
    let target = p.user_id.clone();
    for status in admin_statuses(&w, &p, &target, T0) {
        assert_eq!(status, 403);
    }
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.list_users(&p, None)).unwrap_err(),
        Error::Forbidden("role admin".into())
    );
    assert_eq!(
        run(flows.delete_user_at(&p, &target, T0)).unwrap_err(),
        Error::Forbidden("role admin".into())
    );
    assert_eq!(w.store.operations(), [], "refused before any read");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_demoted_admin_keeps_no_admin_rights_for_the_rest_of_the_token() {
    let mut w = World::new();
    let a = admin_in(&mut w, "a@example.com");
    let b = admin_in(&mut w, "b@example.com");
    let fresh = w.register("fresh@example.com").unwrap().id.to_hyphenated();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.set_role(&b, &a.user_id, "user", T0 + 1)).unwrap();
    // A's token still says admin and has not expired; the stored record decides. Demotion
    // also ended A's sessions, so every admin route refuses A's token as ended (401).
    assert_eq!(admin_statuses(&w, &a, &fresh, T0 + 2), [401; 6]);
    // A fresh token of the demoted user is refused for want of the role (403).
    let again = w
        .login_from("a@example.com", PASSWORD, "192.0.2.1", T0 + 2)
        .unwrap();
    let a_user = w.principal(&again);
    assert_eq!(a_user.role, "user");
    let forged = Principal {
        role: "admin".into(),
        scope: "users:read users:write".into(),
        ..a_user
    };
    assert_eq!(admin_statuses(&w, &forged, &fresh, T0 + 2), [403; 6]);
    // B still works.
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(run(flows.list_users(&b, None)).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_deleted_or_ended_admin_keeps_no_admin_rights() {
    let mut w = World::new();
    let a = admin_in(&mut w, "a@example.com");
    let b = admin_in(&mut w, "b@example.com");
    let fresh = w.register("fresh@example.com").unwrap().id.to_hyphenated();
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.end_user_sessions(&b, &a.user_id, T0 + 1)).unwrap();
    assert_eq!(admin_statuses(&w, &a, &fresh, T0 + 2), [401; 6]);

    let c = admin_in(&mut w, "c@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.delete_user_at(&b, &c.user_id, T0 + 1)).unwrap();
    assert_eq!(admin_statuses(&w, &c, &fresh, T0 + 2), [401; 6]);
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(run(flows.list_users(&b, None)).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_last_admin_cannot_demote_or_delete_themselves() {
    let mut w = World::new();
    let a = admin_in(&mut w, "a@example.com");
    for i in 0..250 {
        w.store.plant_user(UserRecord::new(
            tollgate_core::id::Id::generate(&mut w.rng),
            format!("u{i}@example.com"),
            "x".into(),
            "user".into(),
            T0,
        ));
    }
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.set_role(&a, &a.user_id, "user", T0 + 1)),
        Err(Error::LastAdmin)
    );
    assert_eq!(
        run(flows.delete_user_at(&a, &a.user_id, T0 + 1)),
        Err(Error::LastAdmin)
    );
    assert_eq!(Error::LastAdmin.http_status(), 409);
    // Nothing changed: A is still an admin with a working token.
    assert!(run(flows.list_users(&a, None)).is_ok());
    // With a second admin (found past the first page of users), A may step down.
    let b = admin_in(&mut w, "b@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.set_role(&a, &a.user_id, "user", T0 + 1)).unwrap();
    assert_eq!(
        run(flows.delete_user_at(&b, &b.user_id, T0 + 2)),
        Err(Error::LastAdmin)
    );
}

// --- disabled accounts --------------------------------------------------------------------

fn user_of(p: &Principal) -> tollgate_core::id::Id {
    tollgate_core::id::Id::parse(&p.user_id).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_disabled_user_loses_every_session_and_cannot_log_in_with_the_right_password() {
    let mut w = World::new();
    let admin = admin_in(&mut w, "admin@example.com");
    w.register("sam@example.com").unwrap();
    let old = w.login("sam@example.com", PASSWORD).unwrap();
    // A token issued in the very second of the disabling: `sessions_ended_at` lets it pass,
    // so only the flag can refuse it.
    let same_second = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 1)
        .unwrap();
    let sam = w.principal(&old);
    let flows = w.auth.flows(&w.store, &w.events);
    let user = run(flows.set_disabled(&admin, &sam.user_id, true, T0 + 1)).unwrap();
    assert!(user.disabled);
    assert!(w.events().contains(&SecurityEvent::UserDisabled {
        user_id: user.id,
        by: user_of(&admin),
    }));

    // Every session ended: refresh answers 401.
    for tokens in [&old, &same_second] {
        let refused = w.refresh(&tokens.refresh_token, T0 + 2).unwrap_err();
        assert!(
            matches!(refused, Error::InvalidRefreshToken(_)),
            "{refused:?}"
        );
        assert_eq!(refused.http_status(), 401);
    }
    // Routes that read the user refuse its access tokens, even one from the same second.
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.me(&w.principal(&same_second))),
        Err(Error::InvalidToken(TokenRejection::AccountDisabled))
    );
    assert!(matches!(run(flows.me(&sam)), Err(Error::InvalidToken(_))));

    // The right password: 403 account_disabled, no session; the attempt counts as a failure.
    let refused = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 2)
        .unwrap_err();
    assert_eq!(refused, Error::AccountDisabled);
    assert_eq!(refused.http_status(), 403);
    assert_eq!(refused.code().as_str(), "account_disabled");
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 1);
    assert!(w.events().contains(&SecurityEvent::LoginFailed {
        user_id: Some(user.id),
        reason: "account_disabled",
    }));
    // A wrong password learns nothing: the usual 401, counted as before.
    assert_eq!(
        w.login_from("sam@example.com", "wrong password!", "192.0.2.1", T0 + 2),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 2);
    let live = w
        .store
        .families()
        .into_iter()
        .filter(|(f, _)| f.user_id == user.id && f.epoch == user.session_epoch)
        .count();
    assert_eq!(live, 0, "no session was started while disabled");

    // The listing shows the flag.
    let flows = w.auth.flows(&w.store, &w.events);
    let page = run(flows.list_users(&admin, None)).unwrap();
    let listed = page.users.iter().find(|u| u.id == user.id).unwrap();
    assert!(listed.disabled);
    assert!(
        page.users
            .iter()
            .filter(|u| u.id != user.id)
            .all(|u| !u.disabled)
    );

    // Enabled again: the right password logs in (and clears the count), old sessions stay ended.
    let user = run(flows.set_disabled(&admin, &sam.user_id, false, T0 + 3)).unwrap();
    assert!(!user.disabled);
    assert!(w.events().contains(&SecurityEvent::UserEnabled {
        user_id: user.id,
        by: user_of(&admin),
    }));
    let again = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 3)
        .unwrap();
    assert!(w.refresh(&again.refresh_token, T0 + 4).is_ok());
    assert!(w.refresh(&old.refresh_token, T0 + 4).is_err());
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 0);
}

/// A record that says disabled is refused whatever its epoch says: `tollgate import` writes
/// `"disabled": true` records, and a record could be re-imported over a user with sessions.
#[wasm_bindgen_test(unsupported = test)]
fn a_record_marked_disabled_refuses_refresh_and_tokens_without_an_epoch_change() {
    let (mut w, tokens) = signed_in("sam@example.com");
    let p = w.principal(&tokens);
    let user = run(w.store.get_user(&user_of(&p))).unwrap().unwrap();
    w.store.plant_user(UserRecord {
        disabled: true,
        ..user
    });
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + 1),
        Err(Error::InvalidRefreshToken(RefreshRejection::Superseded))
    );
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.me(&p)),
        Err(Error::InvalidToken(TokenRejection::AccountDisabled))
    );
    assert!(matches!(
        run(flows.logout_all(&p, T0 + 1)),
        Err(Error::InvalidToken(_))
    ));
}

/// An enabling takes up to 60 s to reach every location. A session started after it must not
/// be ended by a location that still has the disabled copy of the record: enabling moves the
/// epoch on, so such a session is newer than anything that copy knows, and a lagging refresh
/// goes on. (Access tokens are refused there until the enabling arrives: a 401 the client
/// answers by refreshing, never a sign-out.) Re-enabling an enabled account ends nothing.
#[wasm_bindgen_test(unsupported = test)]
fn a_location_that_has_not_seen_the_enabling_does_not_end_the_new_session() {
    let mut w = World::new();
    let admin = admin_in(&mut w, "admin@example.com");
    let sam = w.register("sam@example.com").unwrap().id.to_hyphenated();
    let flows = w.auth.flows(&w.store, &w.events);
    let stale = run(flows.set_disabled(&admin, &sam, true, T0 + 1)).unwrap();
    let enabled = run(flows.set_disabled(&admin, &sam, false, T0 + 100)).unwrap();
    assert!(enabled.session_epoch > stale.session_epoch);
    let tokens = w
        .login_from("sam@example.com", PASSWORD, "192.0.2.1", T0 + 101)
        .unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    let again = run(flows.set_disabled(&admin, &sam, false, T0 + 102)).unwrap();
    assert_eq!(
        again, enabled,
        "enabling an enabled account changes nothing"
    );
    // The location's copy is the record as disabling left it.
    w.store.plant_user(stale);
    let next = w.refresh(&tokens.refresh_token, T0 + 103).unwrap();
    let bearer = format!("Bearer {}", next.access_token);
    let p = w.auth.authenticate(Some(&bearer), T0 + 103).unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.me(&p)),
        Err(Error::InvalidToken(TokenRejection::AccountDisabled))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_last_admin_cannot_disable_themselves_and_a_disabled_admin_is_no_other_admin() {
    let mut w = World::new();
    let a = admin_in(&mut w, "a@example.com");
    let b = admin_in(&mut w, "b@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    // B disabled: A is the last admin who can act.
    run(flows.set_disabled(&a, &b.user_id, true, T0 + 1)).unwrap();
    for result in [
        run(flows.set_disabled(&a, &a.user_id, true, T0 + 1)).map(drop),
        run(flows.set_role(&a, &a.user_id, "user", T0 + 1)).map(drop),
        run(flows.delete_user_at(&a, &a.user_id, T0 + 1)),
    ] {
        assert_eq!(result, Err(Error::LastAdmin));
    }
    let me = run(w.store.get_user(&user_of(&a))).unwrap().unwrap();
    assert!(!me.disabled, "nothing changed");
    // Enabling oneself is never refused by the rule; with B back, A may step away.
    run(flows.set_disabled(&a, &a.user_id, false, T0 + 1)).unwrap();
    run(flows.set_disabled(&a, &b.user_id, false, T0 + 1)).unwrap();
    assert!(
        run(flows.set_disabled(&a, &a.user_id, true, T0 + 2))
            .unwrap()
            .disabled
    );
    // A's own token died with the disabling.
    assert!(matches!(
        run(flows.list_users(&a, None)),
        Err(Error::InvalidToken(_))
    ));
    // B's token ended with B's disabling; a fresh one works.
    let b_again = w
        .login_from("b@example.com", PASSWORD, "192.0.2.1", T0 + 2)
        .unwrap();
    let b = w.principal(&b_again);
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.set_disabled(&b, "not-an-id", true, T0 + 2)),
        Err(Error::NotFound)
    );
    assert!(run(flows.list_users(&b, None)).is_ok());
}

/// The KV format only grows optional fields: `disabled` is absent while false, and records and
/// summaries written before it existed read as enabled.
#[wasm_bindgen_test(unsupported = test)]
fn the_disabled_flag_is_an_optional_field_of_the_record_and_its_summary() {
    let id = tollgate_core::id::Id::from_bytes([7; 16]);
    let user = UserRecord::new(id, "sam@example.com".into(), "x".into(), "user".into(), T0);
    let enabled = serde_json::to_string(&user).unwrap();
    let summary = serde_json::to_string(&user.summary()).unwrap();
    assert!(!enabled.contains("disabled") && !summary.contains("disabled"));
    let back: UserRecord = serde_json::from_str(&enabled).unwrap();
    assert!(!back.disabled);
    let disabled = UserRecord {
        disabled: true,
        ..user
    };
    assert!(
        serde_json::to_string(&disabled)
            .unwrap()
            .contains(r#""disabled":true"#)
    );
    let summary = serde_json::to_value(disabled.summary()).unwrap();
    assert_eq!(summary["disabled"], true);
}

#[path = "flows/access.rs"]
mod access;
