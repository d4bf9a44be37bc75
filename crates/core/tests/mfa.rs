//! The login continuation and TOTP over the in-memory store, with a fixed clock: what an
//! `mfa_token` is good for (one completion, five minutes, five wrong codes, its own user),
//! that a code or recovery code is accepted once, and what `REQUIRE_MFA_FOR_ROLES` leaves a
//! session without a second factor.
//!
//! Codes here come from the core's own RFC 6238 function, whose vectors are checked in
//! `mfa::totp`; the HTTP tests (tests/http/mfa-totp.test.mjs) use an independent library.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tollgate_core::events::{EventLog, SecurityEvent};
use tollgate_core::flows::{
    Auth, AuthConfig, LoginInput, MfaCode, MfaConfig, Tokens, TotpEnrolment,
};
use tollgate_core::mfa::{MfaToken, totp};
use tollgate_core::random::SeededRandom;
use tollgate_core::roles::Principal;
use tollgate_core::store::memory::MemoryStore;
use tollgate_core::store::{UserRecord, UserStore};
use tollgate_core::token::TokenConfig;
use tollgate_core::unverified::encode_base64url;
use tollgate_core::{Error, MfaChallenge};

mod support;
use support::*;

/// A time in the middle of a TOTP step, so that `T0 + 1` is in the same step.
const T0: u64 = 1_700_000_010;

/// RFC 4648 base32 (no padding), to read the secret an enrolment shows.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

struct World {
    auth: Auth,
    store: MemoryStore,
    events: EventLog,
    rng: SeededRandom,
}

impl World {
    fn new(mfa: MfaConfig) -> World {
        World {
            auth: test_auth(AuthConfig {
                token: TokenConfig::new("https://auth.example/", "tollgate", 900),
                address_throttle: throttle(100, 900),
                register_throttle: throttle(100, 3600),
                mfa,
                ..test_config()
            }),
            store: MemoryStore::new(),
            events: EventLog::default(),
            rng: SeededRandom::new(11),
        }
    }

    fn register(&mut self, email: &str) -> UserRecord {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.register(email, PASSWORD, "198.51.100.1", T0, &mut self.rng)).unwrap()
    }

    fn login(&mut self, email: &str, now: u64) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password: PASSWORD,
            client_address: "192.0.2.1",
            user_agent: "test",
            scope: None,
        };
        run(flows.login(&input, now, &mut self.rng)).map(|o| o.tokens)
    }

    /// A login that must answer `mfa_required`: its challenge.
    fn challenge(&mut self, email: &str, now: u64) -> MfaChallenge {
        match self.login(email, now) {
            Err(Error::MfaRequired(challenge)) => challenge,
            other => panic!("expected mfa_required, got {other:?}"),
        }
    }

    fn verify(&mut self, token: &str, code: MfaCode<'_>, now: u64) -> Result<Tokens, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.verify_mfa(token, code, "192.0.2.1", "test", now, &mut self.rng))
            .map(|o| o.tokens)
    }

    fn principal(&self, tokens: &Tokens, now: u64) -> Principal {
        let header = format!("Bearer {}", tokens.access_token);
        self.auth.authenticate(Some(&header), now).unwrap()
    }

    /// Enrols and confirms TOTP for `email` (logged in at `T0`): the secret and the recovery
    /// codes. The confirming code is of the step before `T0`'s, so `T0`'s own code is unused.
    fn enable_totp(&mut self, email: &str) -> (Vec<u8>, Vec<String>) {
        let tokens = self.login(email, T0).unwrap();
        let principal = self.principal(&tokens, T0);
        let flows = self.auth.flows(&self.store, &self.events);
        let TotpEnrolment {
            secret,
            otpauth_uri,
        } = run(flows.enrol_totp(&principal, PASSWORD, T0, &mut self.rng)).unwrap();
        assert!(
            otpauth_uri.starts_with("otpauth://totp/auth.example:"),
            "{otpauth_uri}"
        );
        let secret = base32_decode(&secret);
        let code = totp::code_for_step(&secret, totp::step_at(T0) - 1);
        let codes = run(flows.confirm_totp(&principal, &code, T0, &mut self.rng)).unwrap();
        (secret, codes)
    }

    fn user(&self, id: &tollgate_core::id::Id) -> UserRecord {
        run(self.store.get_user(id)).unwrap().unwrap()
    }
}

fn code_at(secret: &[u8], now: u64) -> String {
    totp::code_for_step(secret, totp::step_at(now))
}

fn amr(world: &World, tokens: &Tokens) -> Vec<String> {
    let claims = tollgate_core::token::verify(
        &world.auth.keys,
        &world.auth.config.token,
        &tokens.access_token,
        T0 + 60,
    )
    .unwrap();
    claims.amr
}

#[test]
fn a_login_with_totp_on_continues_with_a_code_and_its_tokens_say_otp_and_mfa() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let plain = w.login("ann@example.com", T0).unwrap();
    assert_eq!(amr(&w, &plain), ["pwd"]);
    let (secret, codes) = w.enable_totp("ann@example.com");
    assert_eq!(codes.len(), 10);

    let challenge = w.challenge("ann@example.com", T0 + 1);
    assert_eq!(challenge.methods, ["totp", "recovery_code"]);
    assert!(!format!("{challenge:?}").contains(&challenge.mfa_token));
    let tokens = w
        .verify(
            &challenge.mfa_token,
            MfaCode::Totp(&code_at(&secret, T0 + 1)),
            T0 + 1,
        )
        .unwrap();
    assert_eq!(amr(&w, &tokens), ["pwd", "otp", "mfa"]);
    // The refreshed token keeps the login's methods.
    let flows = w.auth.flows(&w.store, &w.events);
    let refreshed = run(flows.refresh(Some(&tokens.refresh_token), T0 + 30, &mut w.rng)).unwrap();
    assert_eq!(amr(&w, &refreshed), ["pwd", "otp", "mfa"]);
}

#[test]
fn an_mfa_token_completes_one_login_only() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, _) = w.enable_totp("ann@example.com");
    let challenge = w.challenge("ann@example.com", T0);
    w.verify(
        &challenge.mfa_token,
        MfaCode::Totp(&code_at(&secret, T0)),
        T0,
    )
    .unwrap();
    let next = code_at(&secret, T0 + 30);
    assert_eq!(
        w.verify(&challenge.mfa_token, MfaCode::Totp(&next), T0 + 30),
        Err(Error::MfaTokenInvalid)
    );
}

#[test]
fn a_code_is_accepted_once_even_with_a_fresh_mfa_token() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, _) = w.enable_totp("ann@example.com");
    let code = code_at(&secret, T0);
    let first = w.challenge("ann@example.com", T0);
    w.verify(&first.mfa_token, MfaCode::Totp(&code), T0)
        .unwrap();
    let second = w.challenge("ann@example.com", T0 + 1);
    assert_eq!(
        w.verify(&second.mfa_token, MfaCode::Totp(&code), T0 + 1),
        Err(Error::InvalidCode)
    );
    // An earlier step of the window is refused too: the last used step only moves forward.
    let earlier = totp::code_for_step(&secret, totp::step_at(T0) - 1);
    assert_eq!(
        w.verify(&second.mfa_token, MfaCode::Totp(&earlier), T0 + 1),
        Err(Error::InvalidCode)
    );
    // The next step's code works.
    let later = code_at(&secret, T0 + 30);
    w.verify(&second.mfa_token, MfaCode::Totp(&later), T0 + 30)
        .unwrap();
}

#[test]
fn a_code_from_two_steps_ago_is_refused() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, _) = w.enable_totp("ann@example.com");
    let now = T0 + 90;
    let challenge = w.challenge("ann@example.com", now);
    let old = totp::code_for_step(&secret, totp::step_at(now) - 2);
    assert_eq!(
        w.verify(&challenge.mfa_token, MfaCode::Totp(&old), now),
        Err(Error::InvalidCode)
    );
    let drifted = totp::code_for_step(&secret, totp::step_at(now) - 1);
    w.verify(&challenge.mfa_token, MfaCode::Totp(&drifted), now)
        .unwrap();
}

#[test]
fn an_mfa_token_expires_after_five_minutes() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, _) = w.enable_totp("ann@example.com");
    let challenge = w.challenge("ann@example.com", T0);
    let late = T0 + 300;
    assert_eq!(
        w.verify(
            &challenge.mfa_token,
            MfaCode::Totp(&code_at(&secret, late)),
            late
        ),
        Err(Error::MfaTokenInvalid)
    );
    let challenge = w.challenge("ann@example.com", T0 + 1);
    let in_time = T0 + 300;
    w.verify(
        &challenge.mfa_token,
        MfaCode::Totp(&code_at(&secret, in_time)),
        in_time,
    )
    .unwrap();
}

#[test]
fn five_wrong_codes_kill_the_mfa_token_and_count_against_the_account() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, _) = w.enable_totp("ann@example.com");
    let challenge = w.challenge("ann@example.com", T0);
    let right = code_at(&secret, T0);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_eq!(
            w.verify(&challenge.mfa_token, MfaCode::Totp(wrong), T0),
            Err(Error::InvalidCode)
        );
    }
    assert_eq!(
        w.verify(&challenge.mfa_token, MfaCode::Totp(&right), T0),
        Err(Error::MfaTokenInvalid)
    );
    // The five wrong codes filled the account's throttle (5 per 15 minutes): even the right
    // password is refused now.
    assert!(matches!(
        w.login("ann@example.com", T0 + 1),
        Err(Error::TooManyAttempts { .. })
    ));
    assert!(w.events.events().iter().any(|e| matches!(
        e,
        SecurityEvent::MfaFailed {
            reason: "wrong_code",
            ..
        }
    )));
}

#[test]
fn an_mfa_token_is_bound_to_its_user() {
    let mut w = World::new(MfaConfig::default());
    let ann = w.register("ann@example.com");
    let bob = w.register("bob@example.com");
    let (ann_secret, _) = w.enable_totp("ann@example.com");
    let (bob_secret, _) = w.enable_totp("bob@example.com");
    let ann_challenge = w.challenge("ann@example.com", T0);
    w.challenge("bob@example.com", T0);
    // Ann's token with Bob's id in it is no token of Bob's.
    let mut bytes = tollgate_core::unverified::decode_base64url(&ann_challenge.mfa_token).unwrap();
    bytes[..16].copy_from_slice(bob.id.as_bytes());
    let forged = encode_base64url(&bytes);
    assert_eq!(
        w.verify(&forged, MfaCode::Totp(&code_at(&bob_secret, T0)), T0),
        Err(Error::MfaTokenInvalid)
    );
    // Ann's token with Bob's code is a wrong code for Ann.
    let bob_code = code_at(&bob_secret, T0);
    if bob_code != code_at(&ann_secret, T0) {
        assert_eq!(
            w.verify(&ann_challenge.mfa_token, MfaCode::Totp(&bob_code), T0),
            Err(Error::InvalidCode)
        );
    }
    assert_eq!(
        MfaToken::parse(&ann_challenge.mfa_token).unwrap().user_id,
        ann.id
    );
}

#[test]
fn a_recovery_code_works_once_and_its_use_is_a_security_event() {
    let mut w = World::new(MfaConfig::default());
    let ann = w.register("ann@example.com");
    let (_, codes) = w.enable_totp("ann@example.com");
    let challenge = w.challenge("ann@example.com", T0);
    let tokens = w
        .verify(
            &challenge.mfa_token,
            MfaCode::RecoveryCode(&codes[3].to_uppercase()),
            T0,
        )
        .unwrap();
    assert_eq!(amr(&w, &tokens), ["pwd", "mfa"]);
    assert!(
        w.events
            .events()
            .contains(&SecurityEvent::RecoveryCodeUsed {
                user_id: ann.id,
                remaining: 9
            })
    );
    let again = w.challenge("ann@example.com", T0 + 1);
    assert_eq!(
        w.verify(&again.mfa_token, MfaCode::RecoveryCode(&codes[3]), T0 + 1),
        Err(Error::InvalidCode)
    );
    w.verify(&again.mfa_token, MfaCode::RecoveryCode(&codes[4]), T0 + 1)
        .unwrap();
    assert_eq!(w.user(&ann.id).mfa.recovery_codes.len(), 8);
}

#[test]
fn regenerating_replaces_the_recovery_codes_and_disabling_turns_the_second_step_off() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    let (secret, old_codes) = w.enable_totp("ann@example.com");
    let challenge = w.challenge("ann@example.com", T0);
    let tokens = w
        .verify(
            &challenge.mfa_token,
            MfaCode::Totp(&code_at(&secret, T0)),
            T0,
        )
        .unwrap();
    let principal = w.principal(&tokens, T0);
    let flows = w.auth.flows(&w.store, &w.events);
    let new_codes =
        run(flows.regenerate_recovery_codes(&principal, Some(PASSWORD), None, T0, &mut w.rng))
            .unwrap();
    assert_ne!(new_codes, old_codes);
    let challenge = w.challenge("ann@example.com", T0 + 1);
    assert_eq!(
        w.verify(
            &challenge.mfa_token,
            MfaCode::RecoveryCode(&old_codes[0]),
            T0 + 1
        ),
        Err(Error::InvalidCode)
    );
    // Disabling needs the password and a fresh code (T0's was used by the login).
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.disable_totp(&principal, PASSWORD, &code_at(&secret, T0), T0 + 1)),
        Err(Error::InvalidCode)
    );
    assert_eq!(
        run(flows.disable_totp(
            &principal,
            "wrong password",
            &code_at(&secret, T0 + 30),
            T0 + 30
        )),
        Err(Error::IncorrectPassword)
    );
    run(flows.disable_totp(&principal, PASSWORD, &code_at(&secret, T0 + 30), T0 + 30)).unwrap();
    w.login("ann@example.com", T0 + 31).unwrap();
}

#[test]
fn an_admin_reset_removes_every_factor() {
    let mut w = World::new(MfaConfig::default());
    let ann = w.register("ann@example.com");
    let admin = w.register("root@example.com");
    let record = w.user(&admin.id);
    w.store.plant_user(UserRecord {
        role: "admin".into(),
        ..record
    });
    w.enable_totp("ann@example.com");
    w.challenge("ann@example.com", T0);
    let tokens = w.login("root@example.com", T0).unwrap();
    let principal = w.principal(&tokens, T0);
    let flows = w.auth.flows(&w.store, &w.events);
    run(flows.reset_user_mfa(&principal, &ann.id.to_hyphenated(), T0)).unwrap();
    assert!(w.user(&ann.id).mfa.is_empty());
    assert!(w.events.events().contains(&SecurityEvent::MfaReset {
        user_id: ann.id,
        by: admin.id
    }));
    w.login("ann@example.com", T0 + 1).unwrap();
}

#[test]
fn a_role_that_requires_mfa_gets_only_the_enrolment_scope_until_it_has_one() {
    let mut w = World::new(MfaConfig {
        require_for_roles: vec!["admin".into()],
        totp_issuer: String::new(),
    });
    let admin = w.register("root@example.com");
    let record = w.user(&admin.id);
    w.store.plant_user(UserRecord {
        role: "admin".into(),
        ..record
    });
    let tokens = w.login("root@example.com", T0).unwrap();
    assert_eq!(tokens.scope, "mfa:enroll");
    let principal = w.principal(&tokens, T0);
    let flows = w.auth.flows(&w.store, &w.events);
    assert!(matches!(
        run(flows.me(&principal)),
        Err(Error::Forbidden(_))
    ));
    // The enrolment scope is enough to enrol and confirm.
    let (secret, _) = w.enable_totp("root@example.com");
    // A refresh of the password-only session still only enrols.
    let flows = w.auth.flows(&w.store, &w.events);
    let refreshed = run(flows.refresh(Some(&tokens.refresh_token), T0 + 5, &mut w.rng)).unwrap();
    assert_eq!(refreshed.scope, "mfa:enroll");
    let challenge = w.challenge("root@example.com", T0 + 30);
    let full = w
        .verify(
            &challenge.mfa_token,
            MfaCode::Totp(&code_at(&secret, T0 + 30)),
            T0 + 30,
        )
        .unwrap();
    assert_eq!(full.scope, "profile sessions users:read users:write");
    // A user of a role that does not require it is unaffected.
    w.register("ann@example.com");
    assert_eq!(
        w.login("ann@example.com", T0).unwrap().scope,
        "profile sessions"
    );
}

#[test]
fn a_password_reset_does_not_bypass_the_second_factor() {
    let mut w = World::new(MfaConfig::default());
    w.register("ann@example.com");
    w.enable_totp("ann@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    let message = run(flows.request_password_reset("ann@example.com", "203.0.113.7", T0 + 1))
        .unwrap()
        .unwrap();
    let token = message.token.unwrap();
    run(flows.confirm_password_reset(&token, PASSWORD, T0 + 2, &mut w.rng)).unwrap();
    let challenge = w.challenge("ann@example.com", T0 + 3);
    assert_eq!(challenge.methods, ["totp", "recovery_code"]);
}
