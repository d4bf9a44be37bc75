//! Configurable roles and narrowed sessions, end to end over the in-memory store: a login's
//! `scope` narrows its tokens to the intersection with the role's (RFC 6749 §3.3), the family
//! keeps that narrowing for the session's life, and a configured table's roles can be given.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_core::events::EventLog;
use tollgate_core::flows::{Auth, AuthConfig, LoginInput, Tokens};
use tollgate_core::id::Id;
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::{Family, RefreshKey, RefreshPolicy};
use tollgate_core::roles::{Principal, Roles};
use tollgate_core::store::memory::MemoryStore;
use tollgate_core::store::{FamilyStore, UserRecord};
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig};
use tollgate_core::{Error, ErrorCode};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const T0: u64 = 1_700_000_000;
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";

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
}

impl World {
    fn new(roles: Roles) -> World {
        let policy = ThrottlePolicy {
            max_failures: 5,
            window_s: 900,
        };
        World {
            auth: Auth {
                config: AuthConfig {
                    token: TokenConfig::new("tollgate", "tollgate", 900),
                    refresh: RefreshPolicy::default(),
                    account_throttle: policy,
                    address_throttle: policy,
                    register_throttle: ThrottlePolicy {
                        max_failures: 0,
                        window_s: 3600,
                    },
                    roles,
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
            rng: SeededRandom::new(5),
        }
    }

    /// Registers `email` and gives it `role` directly in storage (as `tollgate user add` does).
    fn user(&mut self, email: &str, role: &str) {
        let flows = self.auth.flows(&self.store, &self.events);
        let user = run(flows.register(email, PASSWORD, "", T0, &mut self.rng)).unwrap();
        self.store.plant_user(UserRecord {
            role: role.into(),
            ..user
        });
    }

    fn login(&mut self, email: &str, scope: Option<&str>) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password: PASSWORD,
            client_address: "192.0.2.1",
            user_agent: "test",
            scope,
        };
        run(flows.login(&input, T0, &mut self.rng)).map(|o| o.tokens)
    }

    fn refresh(&mut self, token: &str, now: u64) -> Tokens {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.refresh(Some(token), now, &mut self.rng)).unwrap()
    }

    /// Who `tokens` speak for, `now` (a refreshed token is not valid before it was issued).
    fn principal_at(&self, tokens: &Tokens, now: u64) -> Principal {
        self.auth
            .authenticate(Some(&format!("Bearer {}", tokens.access_token)), now)
            .unwrap()
    }

    fn principal(&self, tokens: &Tokens) -> Principal {
        self.principal_at(tokens, T0)
    }

    fn family(&self, tokens: &Tokens) -> Family {
        let p = self.principal(tokens);
        let user = Id::parse(&p.user_id).unwrap();
        run(self.store.get_family_record(&user, &tokens.session_id))
            .unwrap()
            .unwrap()
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_login_without_scope_gets_every_scope_of_its_role() {
    let mut w = World::new(Roles::default());
    w.user("ada@example.com", "admin");
    for absent in [None, Some(""), Some("   ")] {
        let tokens = w.login("ada@example.com", absent).unwrap();
        let all = "profile sessions users:read users:write";
        assert_eq!(
            (tokens.scope.as_str(), w.principal(&tokens).scope.as_str()),
            (all, all)
        );
        assert_eq!(w.family(&tokens).scope, None, "{absent:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_requested_scope_narrows_the_token_and_every_refresh_of_the_session() {
    let mut w = World::new(Roles::default());
    w.user("ada@example.com", "admin");
    let tokens = w
        .login("ada@example.com", Some("users:read profile billing"))
        .unwrap();
    // The role's order, without the scope no role has.
    assert_eq!(tokens.scope, "profile users:read");
    assert_eq!(w.principal(&tokens).scope, "profile users:read");
    assert_eq!(
        w.family(&tokens).scope.as_deref(),
        Some("profile users:read")
    );
    let refreshed = w.refresh(&tokens.refresh_token, T0 + 60);
    assert_eq!(
        w.principal_at(&refreshed, T0 + 60).scope,
        "profile users:read"
    );
    let again = w.refresh(&refreshed.refresh_token, T0 + 120);
    assert_eq!(again.scope, "profile users:read");
    // The narrowed admin token cannot change roles, whatever the stored role says.
    let p = w.principal_at(&again, T0 + 120);
    let flows = w.auth.flows(&w.store, &w.events);
    let err = run(flows.set_role(&p, &p.user_id, "user", T0 + 120)).unwrap_err();
    assert_eq!((err.http_status(), err.code()), (403, ErrorCode::Forbidden));
}

#[wasm_bindgen_test(unsupported = test)]
fn asking_only_for_scopes_the_role_lacks_gives_a_token_with_no_scope() {
    let mut w = World::new(Roles::default());
    w.user("sam@example.com", "user");
    let tokens = w.login("sam@example.com", Some("users:write")).unwrap();
    assert_eq!(tokens.scope, "");
    assert_eq!(w.family(&tokens).scope.as_deref(), Some(""));
    // ... and the session stays that narrow: a refresh grants nothing more.
    assert_eq!(w.refresh(&tokens.refresh_token, T0 + 60).scope, "");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_malformed_scope_is_refused_before_anything_is_counted_or_read() {
    let mut w = World::new(Roles::default());
    w.user("sam@example.com", "user");
    w.store.clear_operations();
    assert_eq!(
        w.login("sam@example.com", Some("profile \"x\"")),
        Err(Error::field("scope", ErrorCode::InvalidValue))
    );
    assert_eq!(w.store.operations(), []);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_configured_role_can_be_given_and_grants_its_scopes() {
    let roles = Roles::from_json(
        r#"{"user": ["profile", "sessions"], "editor": ["profile", "notes:write"],
            "admin": ["profile", "users:read", "users:write"]}"#,
    )
    .unwrap();
    let mut w = World::new(roles);
    w.user("ada@example.com", "admin");
    w.user("sam@example.com", "user");
    let admin_tokens = w.login("ada@example.com", None).unwrap();
    let admin = w.principal(&admin_tokens);
    let sam = w.login("sam@example.com", None).unwrap();
    let sam_id = w.principal(&sam).user_id;
    let flows = w.auth.flows(&w.store, &w.events);
    let user = run(flows.set_role(&admin, &sam_id, "editor", T0 + 1)).unwrap();
    assert_eq!(user.role, "editor");
    // A role of the default table that this one lacks is refused as any unknown role.
    assert_eq!(
        run(flows.set_role(&admin, &sam_id, "sessions", T0 + 1)),
        Err(Error::field("role", ErrorCode::InvalidRole))
    );
    let editor = w.login("sam@example.com", Some("notes:write")).unwrap();
    assert_eq!(w.principal(&editor).role, "editor");
    assert_eq!(editor.scope, "notes:write");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_narrowed_session_loses_a_scope_its_role_no_longer_grants_and_gains_none() {
    let mut w = World::new(Roles::default());
    w.user("ada@example.com", "admin");
    let tokens = w
        .login("ada@example.com", Some("profile users:read"))
        .unwrap();
    // The deployment is reconfigured: admin no longer grants `profile`, and grants a new
    // `audit` that the session never asked for.
    w.auth.config.roles = Roles::from_json(
        r#"{"user": ["profile"], "admin": ["users:read", "users:write", "audit"]}"#,
    )
    .unwrap();
    assert_eq!(
        w.refresh(&tokens.refresh_token, T0 + 60).scope,
        "users:read"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn family_records_gain_scope_only_when_narrowed_and_older_records_still_read() {
    let mut w = World::new(Roles::default());
    w.user("ada@example.com", "admin");
    let plain = w.login("ada@example.com", None).unwrap();
    let json = serde_json::to_string(&w.family(&plain)).unwrap();
    assert!(!json.contains("\"scope\""), "{json}");
    let narrowed = w.login("ada@example.com", Some("profile")).unwrap();
    let json = serde_json::to_string(&w.family(&narrowed)).unwrap();
    assert!(json.contains("\"scope\":\"profile\""), "{json}");
    let old: Family = serde_json::from_str(&json.replace(",\"scope\":\"profile\"", "")).unwrap();
    assert_eq!(old.scope, None);
}
