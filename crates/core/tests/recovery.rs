//! Password reset and email ownership over the in-memory store: what each token opens, what
//! kills it, what an unknown address reveals, and the throttles.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_core::events::{EventLog, SecurityEvent};
use tollgate_core::flows::{Auth, AuthConfig, LoginInput, RecoveryConfig, Tokens};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::{RefreshKey, RefreshPolicy};
use tollgate_core::roles::Roles;
use tollgate_core::store::memory::MemoryStore;
use tollgate_core::store::{UserRecord, UserStore};
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig};
use tollgate_core::webhook::{EmailKind, EmailMessage};
use tollgate_core::{Error, ErrorCode, FieldError};

const T0: u64 = 1_700_000_000;
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";
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
    fn new() -> World {
        let policy = |max_failures, window_s| ThrottlePolicy {
            max_failures,
            window_s,
        };
        World {
            auth: Auth {
                config: AuthConfig {
                    token: TokenConfig::new("tollgate", "tollgate", 900),
                    refresh: RefreshPolicy::default(),
                    account_throttle: policy(5, 900),
                    address_throttle: policy(20, 900),
                    register_throttle: policy(100, 3600),
                    roles: Roles::default(),
                    recovery: RecoveryConfig::default(),
                    mfa: Default::default(),
                    access_token_revocation: Default::default(),
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
        }
    }

    fn register(&mut self, email: &str) -> UserRecord {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.register(email, PASSWORD, "198.51.100.1", T0, &mut self.rng)).unwrap()
    }

    fn login(&mut self, email: &str, password: &str) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password,
            client_address: "192.0.2.1",
            user_agent: "test",
            scope: None,
        };
        run(flows.login(&input, T0, &mut self.rng)).map(|o| o.tokens)
    }

    fn request_reset(
        &self,
        email: &str,
        from: &str,
        now: u64,
    ) -> Result<Option<EmailMessage>, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.request_password_reset(email, from, now))
    }

    fn confirm_reset(&mut self, token: &str, password: &str, now: u64) -> Result<(), Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.confirm_password_reset(token, password, now, &mut self.rng))
    }

    fn reset_token(&self, email: &str) -> String {
        let message = self
            .request_reset(email, "203.0.113.7", T0)
            .unwrap()
            .unwrap();
        assert_eq!(message.kind, EmailKind::PasswordReset);
        assert_eq!(message.to, email);
        assert_eq!(message.expires_at, Some(T0 + 1800));
        message.token.unwrap()
    }
}

#[test]
fn a_reset_sets_the_password_and_ends_every_session() {
    let mut w = World::new();
    let user = w.register("sam@example.com");
    let session = w.login("sam@example.com", PASSWORD).unwrap();
    let token = w.reset_token("sam@example.com");
    w.confirm_reset(&token, NEW_PASSWORD, T0 + 10).unwrap();
    assert!(w.login("sam@example.com", NEW_PASSWORD).is_ok());
    assert_eq!(
        w.login("sam@example.com", PASSWORD).unwrap_err(),
        Error::InvalidCredentials
    );
    // The session from before the reset is over.
    let flows = w.auth.flows(&w.store, &w.events);
    let refreshed = run(flows.refresh(Some(&session.refresh_token), T0 + 20, &mut w.rng));
    assert_eq!(
        refreshed.unwrap_err().code(),
        ErrorCode::InvalidRefreshToken
    );
    assert!(
        w.events()
            .contains(&SecurityEvent::PasswordReset { user_id: user.id })
    );
}

impl World {
    fn events(&self) -> Vec<SecurityEvent> {
        self.events.events()
    }
}

#[test]
fn a_reset_token_works_once() {
    let mut w = World::new();
    w.register("sam@example.com");
    let token = w.reset_token("sam@example.com");
    w.confirm_reset(&token, NEW_PASSWORD, T0 + 10).unwrap();
    assert_eq!(
        w.confirm_reset(&token, "yet another passphrase", T0 + 11),
        Err(Error::InvalidActionToken)
    );
    assert!(w.login("sam@example.com", NEW_PASSWORD).is_ok());
}

#[test]
fn two_tokens_of_one_password_die_together() {
    let mut w = World::new();
    w.register("sam@example.com");
    let first = w.reset_token("sam@example.com");
    let second = w.reset_token("sam@example.com");
    w.confirm_reset(&second, NEW_PASSWORD, T0 + 10).unwrap();
    assert_eq!(
        w.confirm_reset(&first, "yet another passphrase", T0 + 11),
        Err(Error::InvalidActionToken)
    );
}

#[test]
fn expired_tampered_and_foreign_tokens_are_refused_alike() {
    let mut w = World::new();
    w.register("sam@example.com");
    let token = w.reset_token("sam@example.com");
    assert_eq!(
        w.confirm_reset(&token, NEW_PASSWORD, T0 + 1800),
        Err(Error::InvalidActionToken)
    );
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        w.confirm_reset(&tampered, NEW_PASSWORD, T0 + 1),
        Err(Error::InvalidActionToken)
    );
    let mut other = World::new();
    other.auth.refresh_key =
        RefreshKey::derive_from_jwt_secret("Vb7Kp2Qx9Lm4Tz8Rw1Hn6Jc3Fd5Gs0Ya").unwrap();
    other.register("sam@example.com");
    let foreign = other.reset_token("sam@example.com");
    assert_eq!(
        w.confirm_reset(&foreign, NEW_PASSWORD, T0 + 1),
        Err(Error::InvalidActionToken)
    );
    assert_eq!(
        w.confirm_reset("", NEW_PASSWORD, T0 + 1),
        Err(Error::InvalidActionToken)
    );
    assert_eq!(Error::InvalidActionToken.http_status(), 400);
    // Still the password it was: nothing was changed by any of them.
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
    assert!(w.events().iter().any(|e| matches!(
        e,
        SecurityEvent::ActionTokenRejected {
            reason: "expired",
            ..
        }
    )));
}

#[test]
fn the_new_password_meets_the_policy_and_a_refused_one_keeps_the_token() {
    let mut w = World::new();
    w.register("sam@example.com");
    let token = w.reset_token("sam@example.com");
    assert_eq!(
        w.confirm_reset(&token, "short", T0 + 1),
        Err(Error::Validation(vec![FieldError::new(
            "new_password",
            ErrorCode::PasswordTooShort
        )]))
    );
    w.confirm_reset(&token, NEW_PASSWORD, T0 + 2).unwrap();
}

#[test]
fn an_unknown_address_makes_the_same_reads_and_sends_nothing() {
    let w = World::new();
    let mut known = World::new();
    known.register("sam@example.com");
    known.store.clear_operations();
    assert!(
        known
            .request_reset("sam@example.com", "203.0.113.7", T0)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        w.request_reset("nobody@example.com", "203.0.113.7", T0),
        Ok(None)
    );
    assert_eq!(known.store.operations(), w.store.operations());
    assert_eq!(
        w.request_reset("not an address", "203.0.113.7", T0),
        Ok(None)
    );
}

#[test]
fn reset_requests_are_throttled_per_address_asked_for_and_not_with_logins() {
    let mut w = World::new();
    w.register("sam@example.com");
    for i in 0..5 {
        assert!(
            w.request_reset("sam@example.com", &format!("203.0.113.{i}"), T0)
                .is_ok()
        );
    }
    let refused = w
        .request_reset("sam@example.com", "203.0.113.99", T0)
        .unwrap_err();
    assert!(matches!(refused, Error::TooManyAttempts { retry_after_s } if retry_after_s > 0));
    // An unknown address is counted the same way.
    for _ in 0..5 {
        w.request_reset("ghost@example.com", "198.51.100.9", T0)
            .unwrap();
    }
    assert!(
        w.request_reset("ghost@example.com", "198.51.100.10", T0)
            .is_err()
    );
    // Logins of the account are not locked by the resets.
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
    assert!(w.events().iter().any(|e| matches!(
        e,
        SecurityEvent::RecoveryThrottled {
            scope: "account",
            ..
        }
    )));
}

#[test]
fn a_reset_clears_the_login_throttle() {
    let mut w = World::new();
    w.register("sam@example.com");
    let token = w.reset_token("sam@example.com");
    for _ in 0..5 {
        assert_eq!(
            w.login("sam@example.com", "wrong password!"),
            Err(Error::InvalidCredentials)
        );
    }
    assert!(matches!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::TooManyAttempts { .. })
    ));
    w.confirm_reset(&token, NEW_PASSWORD, T0 + 1).unwrap();
    assert!(w.login("sam@example.com", NEW_PASSWORD).is_ok());
}

#[test]
fn a_disabled_account_gets_no_reset_message() {
    let w = World::new();
    let mut w = w;
    let user = w.register("sam@example.com");
    run(w.store.change_user(
        &user.id,
        &tollgate_core::store::ChangeRequest {
            change: tollgate_core::store::UserChange::SetDisabled { disabled: true },
            now: T0,
            caller_issued_at: None,
        },
    ))
    .unwrap();
    assert_eq!(
        w.request_reset("sam@example.com", "203.0.113.7", T0),
        Ok(None)
    );
}

#[test]
fn the_sequencer_applies_one_reset_of_two_checked_at_once() {
    use tollgate_core::store::{ChangeRequest, UserChange};
    let mut w = World::new();
    let user = w.register("sam@example.com");
    // Two locations checked the same token against the same record, then both send a reset.
    let reset = |hash: &str| ChangeRequest {
        change: UserChange::ResetPassword {
            password_hash: hash.into(),
            replaces: user.password_hash.clone(),
        },
        now: T0 + 1,
        caller_issued_at: None,
    };
    let first = run(w.store.change_user(&user.id, &reset("$argon2id$first"))).unwrap();
    assert_eq!(
        first.map(|u| u.password_hash),
        Some("$argon2id$first".into())
    );
    let second = run(w.store.change_user(&user.id, &reset("$argon2id$second"))).unwrap();
    // A change that does nothing answers the record as it stands.
    assert_eq!(
        second.map(|u| u.password_hash),
        Some("$argon2id$first".into()),
        "the second reset finds the hash replaced"
    );
    let stored = run(w.store.get_user_current(&user.id)).unwrap().unwrap();
    assert_eq!(stored.password_hash, "$argon2id$first");
    let _ = &mut w;
}

impl World {
    fn principal(&self, tokens: &Tokens, now: u64) -> tollgate_core::roles::Principal {
        self.auth
            .authenticate(Some(&format!("Bearer {}", tokens.access_token)), now)
            .unwrap()
    }

    fn claims(&self, tokens: &Tokens) -> serde_json::Value {
        let payload = tokens.access_token.split('.').nth(1).unwrap();
        let bytes = tollgate_core::unverified::decode_base64url(payload).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn verification_token(&self, user: &UserRecord) -> String {
        let flows = self.auth.flows(&self.store, &self.events);
        let message = flows.verification_message(user, T0);
        assert_eq!(message.kind, EmailKind::EmailVerification);
        assert_eq!(message.expires_at, Some(T0 + 86_400));
        message.token.unwrap()
    }

    fn confirm_email(&self, token: &str, now: u64) -> Result<(), Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.confirm_email(token, now))
    }
}

#[test]
fn verification_flips_the_record_and_the_claim() {
    let mut w = World::new();
    let user = w.register("sam@example.com");
    let before = w.login("sam@example.com", PASSWORD).unwrap();
    assert_eq!(w.claims(&before)["email_verified"], false);
    let token = w.verification_token(&user);
    w.confirm_email(&token, T0 + 5).unwrap();
    let stored = run(w.store.get_user_current(&user.id)).unwrap().unwrap();
    assert_eq!(stored.email_verified_at, Some(T0 + 5));
    let after = w.login("sam@example.com", PASSWORD).unwrap();
    assert_eq!(w.claims(&after)["email_verified"], true);
    // The claim is read back by the verifier, too.
    assert_eq!(
        tollgate_core::token::verify(&w.auth.keys, &w.auth.config.token, &after.access_token, T0)
            .unwrap()
            .email_verified,
        Some(true)
    );
    // Twice is fine, and keeps the first time.
    w.confirm_email(&token, T0 + 9).unwrap();
    let stored = run(w.store.get_user_current(&user.id)).unwrap().unwrap();
    assert_eq!(stored.email_verified_at, Some(T0 + 5));
    assert!(
        w.events()
            .contains(&SecurityEvent::EmailVerified { user_id: user.id })
    );
}

#[test]
fn verification_tokens_are_refused_when_expired_forged_or_for_a_reset() {
    let mut w = World::new();
    let user = w.register("sam@example.com");
    let token = w.verification_token(&user);
    assert_eq!(
        w.confirm_email(&token, T0 + 86_400),
        Err(Error::InvalidActionToken)
    );
    // A reset token is not a verification token, nor the reverse.
    let reset = w.reset_token("sam@example.com");
    assert_eq!(
        w.confirm_email(&reset, T0 + 1),
        Err(Error::InvalidActionToken)
    );
    assert_eq!(
        w.confirm_reset(&token, NEW_PASSWORD, T0 + 1),
        Err(Error::InvalidActionToken)
    );
    let stored = run(w.store.get_user_current(&user.id)).unwrap().unwrap();
    assert_eq!(stored.email_verified_at, None);
}

#[test]
fn a_signed_in_user_asks_for_a_verification_and_not_once_verified() {
    let mut w = World::new();
    let user = w.register("sam@example.com");
    let tokens = w.login("sam@example.com", PASSWORD).unwrap();
    let principal = w.principal(&tokens, T0);
    let flows = w.auth.flows(&w.store, &w.events);
    let message = run(flows.request_email_verification(&principal, "192.0.2.5", T0))
        .unwrap()
        .unwrap();
    assert_eq!(
        (message.to.as_str(), message.user_id),
        ("sam@example.com", user.id)
    );
    w.confirm_email(message.token.as_deref().unwrap(), T0 + 1)
        .unwrap();
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.request_email_verification(&principal, "192.0.2.5", T0 + 2)),
        Ok(None)
    );
}

#[test]
fn with_require_verified_email_an_unverified_login_is_refused_after_the_password() {
    let mut w = World::new();
    w.auth.config.recovery.require_verified_email = true;
    let user = w.register("sam@example.com");
    // A wrong password is the usual answer: nothing is revealed to a guesser.
    assert_eq!(
        w.login("sam@example.com", "wrong password!"),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::EmailNotVerified)
    );
    assert_eq!(Error::EmailNotVerified.http_status(), 403);
    let flows = w.auth.flows(&w.store, &w.events);
    let resent = run(flows.resend_verification("sam@example.com", "192.0.2.5", T0)).unwrap();
    let token = resent.unwrap().token.unwrap();
    w.confirm_email(&token, T0 + 1).unwrap();
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.resend_verification("sam@example.com", "192.0.2.5", T0)),
        Ok(None)
    );
    let _ = user;
}

impl World {
    fn request_change(
        &self,
        tokens: &Tokens,
        new_email: &str,
        password: &str,
    ) -> Result<Vec<EmailMessage>, Error> {
        let principal = self.principal(tokens, T0);
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.request_email_change(&principal, new_email, password, T0))
    }

    fn confirm_change(&self, token: &str, keep: Option<&Tokens>) -> Result<(), Error> {
        let principal = keep.map(|t| self.principal(t, T0));
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.confirm_email_change(token, principal.as_ref(), T0 + 5))
    }
}

#[test]
fn an_email_change_moves_the_index_verifies_the_address_and_ends_other_sessions() {
    let mut w = World::new();
    let user = w.register("sam@example.com");
    let mine = w.login("sam@example.com", PASSWORD).unwrap();
    let other = w.login("sam@example.com", PASSWORD).unwrap();
    let messages = w
        .request_change(&mine, "Sam@New.Example", PASSWORD)
        .unwrap();
    let kinds: Vec<_> = messages.iter().map(|m| (m.kind, m.to.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (EmailKind::EmailChange, "Sam@new.example"),
            (EmailKind::EmailChangedNotice, "sam@example.com")
        ]
    );
    assert!(messages[1].token.is_none());
    let token = messages[0].token.clone().unwrap();
    w.confirm_change(&token, Some(&mine)).unwrap();
    let stored = run(w.store.get_user_current(&user.id)).unwrap().unwrap();
    assert_eq!(stored.email, "Sam@new.example");
    assert_eq!(stored.email_verified_at, Some(T0 + 5));
    // Indexed under its key, the whole address case-folded (the record keeps it as typed).
    assert_eq!(
        run(w.store.find_user_id("sam@new.example")).unwrap(),
        Some(user.id)
    );
    assert_eq!(run(w.store.find_user_id("sam@example.com")).unwrap(), None);
    assert!(w.login("Sam@new.example", PASSWORD).is_ok());
    assert_eq!(
        w.login("sam@example.com", PASSWORD),
        Err(Error::InvalidCredentials)
    );
    // The confirming session goes on; the other one ended.
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(run(flows.refresh(Some(&mine.refresh_token), T0 + 6, &mut w.rng)).is_ok());
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(run(flows.refresh(Some(&other.refresh_token), T0 + 6, &mut w.rng)).is_err());
    // The old address is free again, and the token is dead.
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(
        run(flows.register(
            "sam@example.com",
            PASSWORD,
            "198.51.100.2",
            T0 + 7,
            &mut w.rng
        ))
        .is_ok()
    );
    assert_eq!(
        w.confirm_change(&token, None),
        Err(Error::InvalidActionToken)
    );
}

#[test]
fn an_email_change_needs_the_password_and_a_free_address_now_and_at_confirmation() {
    let mut w = World::new();
    w.register("sam@example.com");
    w.register("taken@example.com");
    let mine = w.login("sam@example.com", PASSWORD).unwrap();
    assert_eq!(
        w.request_change(&mine, "new@example.com", "wrong password!"),
        Err(Error::IncorrectPassword)
    );
    assert_eq!(
        w.request_change(&mine, "taken@example.com", PASSWORD),
        Err(Error::EmailTaken)
    );
    assert_eq!(
        w.request_change(&mine, "not an address", PASSWORD),
        Err(Error::field("new_email", ErrorCode::InvalidEmail))
    );
    assert_eq!(
        w.request_change(&mine, "sam@EXAMPLE.com", PASSWORD),
        Err(Error::field("new_email", ErrorCode::InvalidValue))
    );
    // Free when asked, taken by a registration before the confirmation: refused then.
    let messages = w
        .request_change(&mine, "late@example.com", PASSWORD)
        .unwrap();
    w.register("late@example.com");
    let token = messages[0].token.clone().unwrap();
    assert_eq!(w.confirm_change(&token, None), Err(Error::EmailTaken));
    // Nothing moved, and the address belongs to the registration.
    let sam = run(w.store.find_user_id("sam@example.com"))
        .unwrap()
        .unwrap();
    let stored = run(w.store.get_user_current(&sam)).unwrap().unwrap();
    assert_eq!(stored.email, "sam@example.com");
    assert_ne!(
        run(w.store.find_user_id("late@example.com")).unwrap(),
        Some(sam)
    );
    assert!(w.login("sam@example.com", PASSWORD).is_ok());
}
