//! Emails are one identity in any case (issue 19 D): registration, login, the login throttle,
//! index entries of the old rule (local part as typed) and their migration, over the in-memory
//! store.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_core::Error;
use tollgate_core::events::EventLog;
use tollgate_core::flows::{Auth, AuthConfig, LoginInput};
use tollgate_core::id::Id;
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::{RefreshKey, RefreshPolicy};
use tollgate_core::roles::{Principal, Roles};
use tollgate_core::store::UserRecord;
use tollgate_core::store::memory::{MemoryStore, Op};
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig};
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

struct World {
    auth: Auth,
    store: MemoryStore,
    events: EventLog,
    rng: SeededRandom,
    requests: u32,
}

impl World {
    fn new() -> World {
        let throttle = |max_failures, window_s| ThrottlePolicy {
            max_failures,
            window_s,
        };
        World {
            auth: Auth {
                config: AuthConfig {
                    token: TokenConfig::new("tollgate", "tollgate", 900),
                    refresh: RefreshPolicy::default(),
                    account_throttle: throttle(5, 900),
                    address_throttle: throttle(20, 900),
                    register_throttle: throttle(10, 3600),
                    roles: Roles::default(),
                    access_token_revocation: Default::default(),
                    recovery: Default::default(),
                    mfa: Default::default(),
                },
                keys: KeySet::hs256(SECRET).unwrap(),
                refresh_key: RefreshKey::derive_from_jwt_secret(SECRET).unwrap(),
                hasher: PasswordHasher::new(Argon2Params {
                    memory_kib: 64,
                    iterations: 1,
                    parallelism: 1,
                }),
            },
            store: MemoryStore::new(),
            events: EventLog::default(),
            rng: SeededRandom::new(7),
            requests: 0,
        }
    }

    /// A client address of its own for every request, so only the account throttle counts.
    fn address(&mut self) -> String {
        self.requests += 1;
        format!("2001:db8:{:x}::1", self.requests)
    }

    fn register(&mut self, email: &str) -> Result<UserRecord, Error> {
        let address = self.address();
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.register(email, PASSWORD, &address, T0, &mut self.rng))
    }

    /// The id of the account a login as `email` with `password` reached.
    fn login(&mut self, email: &str, password: &str) -> Result<Id, Error> {
        let address = self.address();
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password,
            client_address: &address,
            user_agent: "test-agent",
            scope: None,
        };
        run(flows.login(&input, T0, &mut self.rng)).map(|o| o.user.id)
    }

    /// Plants a user whose index entry an older Tollgate wrote: under the address as typed.
    fn plant_legacy(&mut self, address: &str) -> Id {
        let template = self.register(&format!("template-{}@example.org", self.requests));
        let user = UserRecord::new(
            Id::generate(&mut self.rng),
            address.into(),
            template.unwrap().password_hash,
            "user".into(),
            T0,
        );
        let id = user.id;
        self.store.plant_user_indexed_as(user, address.into());
        id
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_account_keeps_the_address_as_typed_and_is_indexed_under_its_folded_key() {
    let mut w = World::new();
    let user = w.register("  Sam.Smith@Example.COM ").unwrap();
    assert_eq!(user.email, "Sam.Smith@example.com");
    assert_eq!(w.store.indexed("sam.smith@example.com"), Some(user.id));
    assert_eq!(w.store.email_count(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_case_variant_of_a_registered_address_is_taken() {
    let mut w = World::new();
    w.register("Sam@example.com").unwrap();
    for variant in ["sam@example.com", "SAM@EXAMPLE.COM", "sAm@Example.com"] {
        assert_eq!(w.register(variant), Err(Error::EmailTaken), "{variant}");
    }
    assert_eq!(w.store.user_count(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_login_in_any_case_reaches_the_one_account() {
    let mut w = World::new();
    let id = w.register("Sam@example.com").unwrap().id;
    for variant in ["Sam@example.com", "sam@example.com", "SAM@EXAMPLE.COM"] {
        assert_eq!(w.login(variant, PASSWORD), Ok(id), "{variant}");
    }
    assert_eq!(
        w.login("sam@example.com", "wrong password!"),
        Err(Error::InvalidCredentials)
    );
}

/// Every spelling reaches the account, so every spelling must count against it: a throttle key
/// per spelling would give a guesser a fresh budget for each.
#[wasm_bindgen_test(unsupported = test)]
fn failures_in_any_case_count_against_one_account() {
    let mut w = World::new();
    w.register("sam@example.com").unwrap();
    for variant in [
        "Sam@example.com",
        "sAm@example.com",
        "saM@example.com",
        "SAM@example.com",
        "SaM@EXAMPLE.com",
    ] {
        assert_eq!(
            w.login(variant, "wrong password!"),
            Err(Error::InvalidCredentials)
        );
    }
    assert_eq!(w.store.throttle_count("account:sam@example.com"), 5);
    assert!(matches!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::TooManyAttempts { .. })
    ));
}

/// A failed login with capitals reads the index twice (the key and the old rule's key, at
/// once), whether or not the account exists: the same calls either way.
#[wasm_bindgen_test(unsupported = test)]
fn failed_logins_with_capitals_make_the_same_calls_whether_or_not_the_account_exists() {
    let mut w = World::new();
    w.register("Sam@example.com").unwrap();
    let mut calls = Vec::new();
    for (email, password) in [
        ("Sam@example.com", "wrong password!"),
        ("SAM@example.com", "wrong password!"),
        ("Nobody@example.com", PASSWORD),
    ] {
        w.store.clear_operations();
        assert_eq!(w.login(email, password), Err(Error::InvalidCredentials));
        calls.push(w.store.operations());
    }
    assert_eq!(
        calls[0],
        [
            Op::Reserve,
            Op::Reserve,
            Op::FindUserId,
            Op::FindUserId,
            Op::GetUser
        ]
    );
    assert!(calls.iter().all(|c| *c == calls[0]), "{calls:?}");
}

// --- index entries of the old rule -------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn an_old_rule_entry_logs_in_as_typed_and_that_login_migrates_it() {
    let mut w = World::new();
    let id = w.plant_legacy("Legacy.Admin@example.com");
    // Before any migration only the spelling it was stored under (any domain case) finds it:
    // the folded key is not there yet (`tollgate fold-emails` writes it for every account).
    assert_eq!(
        w.login("legacy.admin@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    w.store.clear_operations();
    assert_eq!(w.login("Legacy.Admin@Example.COM", PASSWORD), Ok(id));
    // The login claimed the folded key and bound it, through the claim object.
    let ops = w.store.operations();
    let claimed = ops.iter().position(|o| *o == Op::ClaimEmail);
    assert_eq!(claimed.map(|i| ops[i + 1]), Some(Op::BindEmail), "{ops:?}");
    assert_eq!(w.store.indexed("legacy.admin@example.com"), Some(id));
    // From now on every spelling logs in and none can register.
    assert_eq!(w.login("legacy.admin@example.com", PASSWORD), Ok(id));
    assert_eq!(
        w.register("LEGACY.ADMIN@example.com"),
        Err(Error::EmailTaken)
    );
    // A migrated account's logins make no more object calls for it.
    w.store.clear_operations();
    assert_eq!(w.login("Legacy.Admin@example.com", PASSWORD), Ok(id));
    assert!(!w.store.operations().contains(&Op::ClaimEmail));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_old_rule_address_registered_again_exactly_as_stored_is_taken() {
    let mut w = World::new();
    w.plant_legacy("Old.Rule@example.com");
    assert_eq!(w.register("Old.Rule@EXAMPLE.com"), Err(Error::EmailTaken));
}

/// Two accounts the old rule kept apart (`Sam@` and `sam@`) each go on logging in with their
/// own spelling, and a migration never takes the key another account holds.
#[wasm_bindgen_test(unsupported = test)]
fn accounts_the_old_rule_kept_apart_keep_their_own_spellings() {
    let mut w = World::new();
    let upper = w.plant_legacy("Sam@example.com");
    let lower = w.register("sam@example.com").unwrap().id;
    assert_eq!(w.login("Sam@example.com", PASSWORD), Ok(upper));
    assert_eq!(w.login("sam@example.com", PASSWORD), Ok(lower));
    assert_eq!(w.login("SAM@example.com", PASSWORD), Ok(lower));
    assert_eq!(w.store.indexed("sam@example.com"), Some(lower));
}

/// Until the old entry is migrated, a registration of another spelling cannot see it and gets
/// an account of its own (what `tollgate fold-emails` closes); the old account's login then
/// leaves the new account's key alone.
#[wasm_bindgen_test(unsupported = test)]
fn a_migration_never_takes_a_key_a_registration_holds() {
    let mut w = World::new();
    let old = w.plant_legacy("Pat@example.com");
    let new = w.register("PAT@example.com").unwrap().id;
    assert_eq!(w.login("Pat@example.com", PASSWORD), Ok(old));
    assert_eq!(w.store.indexed("pat@example.com"), Some(new));
    assert_eq!(w.login("pat@example.com", PASSWORD), Ok(new));
}

#[wasm_bindgen_test(unsupported = test)]
fn deleting_a_migrated_account_frees_both_keys() {
    let mut w = World::new();
    let root = w.register("root@example.com").unwrap();
    w.store.plant_user(UserRecord {
        role: "admin".into(),
        ..root
    });
    let id = w.plant_legacy("Gone@example.com");
    assert_eq!(w.login("Gone@example.com", PASSWORD), Ok(id));
    let flows = w.auth.flows(&w.store, &w.events);
    let tokens = {
        let address = "2001:db8:ffff::1";
        let input = LoginInput {
            username: "root@example.com",
            password: PASSWORD,
            client_address: address,
            user_agent: "test-agent",
            scope: None,
        };
        run(flows.login(&input, T0, &mut w.rng)).unwrap().tokens
    };
    let admin: Principal = w
        .auth
        .authenticate(Some(&format!("Bearer {}", tokens.access_token)), T0)
        .unwrap();
    run(flows.delete_user_at(&admin, &id.to_hyphenated(), T0 + 1)).unwrap();
    assert_eq!(w.store.indexed("gone@example.com"), None);
    assert_eq!(w.store.indexed("Gone@example.com"), None);
    assert!(w.register("Gone@example.com").is_ok());
}
