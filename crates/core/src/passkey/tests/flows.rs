//! The passkey flows over the in-memory store: what the Worker's routes and a login's second
//! step ([`crate::flows::Flows::verify_passkey`]) rely on.

use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

use super::{Authenticator, P256, block_on, rp};
use crate::error::Error;
use crate::events::{EventLog, SecurityEvent};
use crate::flows::{Auth, AuthConfig, LoginInput, RecoveryConfig};
use crate::id::Id;
use crate::password::{Argon2Params, PasswordHasher};
use crate::random::SeededRandom;
use crate::refresh::{RefreshKey, RefreshPolicy};
use crate::roles::{Principal, Roles};
use crate::store::memory::{Fault, MemoryStore, Op};
use crate::throttle::ThrottlePolicy;
use crate::token::{KeySet, TokenConfig};
use crate::unverified::decode_base64url;

const T0: u64 = 1_700_000_000;
const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";
const PASSWORD: &str = "correct horse battery staple";

fn auth() -> Auth {
    let throttle = ThrottlePolicy {
        max_failures: 5,
        window_s: 900,
    };
    Auth {
        config: AuthConfig {
            token: TokenConfig::new("tollgate", "tollgate", 900),
            refresh: RefreshPolicy::default(),
            account_throttle: throttle,
            address_throttle: throttle,
            register_throttle: throttle,
            roles: Roles::default(),
            access_token_revocation: Default::default(),
            recovery: RecoveryConfig::default(),
            mfa: Default::default(),
        },
        keys: KeySet::hs256(SECRET).unwrap(),
        refresh_key: RefreshKey::derive_from_jwt_secret(SECRET).unwrap(),
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
}

impl World {
    fn new() -> World {
        World {
            auth: auth(),
            store: MemoryStore::new(),
            events: EventLog::default(),
            rng: SeededRandom::new(5),
        }
    }

    /// A new account, signed in: its id and principal.
    fn account(&mut self, email: &str) -> (Id, Principal) {
        let flows = self.auth.flows(&self.store, &self.events);
        let user =
            block_on(flows.register(email, PASSWORD, "192.0.2.1", T0, &mut self.rng)).unwrap();
        let input = LoginInput {
            username: email,
            password: PASSWORD,
            client_address: "192.0.2.1",
            user_agent: "test",
            scope: None,
        };
        let outcome = block_on(flows.login(&input, T0, &mut self.rng)).unwrap();
        let bearer = alloc::format!("Bearer {}", outcome.tokens.access_token);
        (user.id, self.auth.authenticate(Some(&bearer), T0).unwrap())
    }

    /// Registers `authenticator` on the account of `principal`.
    fn register(&mut self, principal: &Principal, authenticator: &mut Authenticator) {
        let flows = self.auth.flows(&self.store, &self.events);
        let options =
            block_on(flows.passkey_registration_options(principal, &rp(), T0, &mut self.rng))
                .unwrap();
        authenticator.user_handle = decode_base64url(options["user"]["id"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let challenge = decode_base64url(options["challenge"].as_str().unwrap()).unwrap();
        block_on(flows.register_passkey(principal, &rp(), &authenticator.register(&challenge), T0))
            .unwrap();
    }

    /// A challenge of the login options for `user` (or a discoverable sign-in).
    fn login_challenge(&mut self, user: Option<&Id>) -> alloc::vec::Vec<u8> {
        let flows = self.auth.flows(&self.store, &self.events);
        let options = flows.passkey_login_options(&rp(), user, T0, &mut self.rng);
        decode_base64url(options["challenge"].as_str().unwrap()).unwrap()
    }

    fn verify(
        &self,
        response: &Value,
        user: Option<&Id>,
        now: u64,
    ) -> Result<crate::flows::VerifiedPasskey, Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        block_on(flows.verify_passkey(&rp(), response, user, now, &P256))
    }

    fn rejections(&self) -> alloc::vec::Vec<&'static str> {
        self.events
            .events()
            .into_iter()
            .filter_map(|e| match e {
                SecurityEvent::PasskeyRejected { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_second_step_verifies_a_passkey_of_the_known_account_only() {
    let mut w = World::new();
    let (sam, sam_principal) = w.account("sam@example.com");
    let (_, kim_principal) = w.account("kim@example.com");
    let mut sams = Authenticator::new(1);
    let mut kims = Authenticator::new(2);
    w.register(&sam_principal, &mut sams);
    w.register(&kim_principal, &mut kims);

    // The continuation asks for options bound to the account the password named, and gets
    // back who it was, with what, and the amr value.
    let challenge = w.login_challenge(Some(&sam));
    let verified = w.verify(&sams.assert(&challenge), Some(&sam), T0).unwrap();
    assert_eq!(verified.user.id, sam);
    assert_eq!(verified.credential_id, sams.id());
    assert!(verified.user_verified);
    assert_eq!(verified.amr, "hwk");
    assert_eq!(verified.user.passkeys[0].last_used_at, Some(T0));

    // Another account's passkey, over a challenge for Sam: refused, whoever signs.
    let challenge = w.login_challenge(Some(&sam));
    assert_eq!(
        w.verify(&kims.assert(&challenge), Some(&sam), T0)
            .map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    // A challenge for Sam's second step is no discoverable sign-in, and the reverse.
    let challenge = w.login_challenge(Some(&sam));
    assert_eq!(
        w.verify(&sams.assert(&challenge), None, T0).map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    let challenge = w.login_challenge(None);
    assert_eq!(
        w.verify(&sams.assert(&challenge), Some(&sam), T0)
            .map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    // Without a user handle: only where the account is known already, and then it is that one.
    let challenge = w.login_challenge(Some(&sam));
    let mut anonymous = sams.assert(&challenge);
    anonymous["response"]
        .as_object_mut()
        .unwrap()
        .remove("userHandle");
    assert_eq!(w.verify(&anonymous, Some(&sam), T0).unwrap().user.id, sam);
    let challenge = w.login_challenge(None);
    let mut anonymous = sams.assert(&challenge);
    anonymous["response"]
        .as_object_mut()
        .unwrap()
        .remove("userHandle");
    assert_eq!(
        w.verify(&anonymous, None, T0).map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    // A malformed handle is no handle.
    let challenge = w.login_challenge(Some(&sam));
    let mut short = sams.assert(&challenge);
    short["response"]["userHandle"] = Value::from("AAAA");
    assert_eq!(
        w.verify(&short, Some(&sam), T0).map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        w.rejections(),
        [
            "unknown_credential",
            "wrong_challenge",
            "wrong_challenge",
            "unknown_credential",
            "unknown_credential"
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_challenge_is_used_once_and_expires() {
    let mut w = World::new();
    let (sam, principal) = w.account("sam@example.com");
    let mut key = Authenticator::new(1);
    w.register(&principal, &mut key);
    let challenge = w.login_challenge(None);
    let first = key.assert(&challenge);
    assert_eq!(w.verify(&first, None, T0).unwrap().user.id, sam);
    assert_eq!(
        w.verify(&first, None, T0).map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    // A later assertion (its counter grew) over the same challenge.
    assert_eq!(
        w.verify(&key.assert(&challenge), None, T0).map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    // Five minutes on, a challenge no one used is dead too.
    let late = w.login_challenge(None);
    assert_eq!(
        w.verify(
            &key.assert(&late),
            None,
            T0 + crate::passkey::challenge::CHALLENGE_TTL_S
        )
        .map(|_| ()),
        Err(Error::InvalidCredentials)
    );
    assert_eq!(
        w.rejections(),
        ["challenge_reused", "challenge_reused", "challenge_expired"]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn when_the_challenge_cannot_be_used_up_nothing_signs_in() {
    let mut w = World::new();
    let (_, principal) = w.account("sam@example.com");
    let mut key = Authenticator::new(1);
    w.register(&principal, &mut key);
    let challenge = w.login_challenge(None);
    w.store.clear_operations();
    w.store.fail_next(Op::Reserve, Fault::Fail);
    let result = w.verify(&key.assert(&challenge), None, T0);
    assert!(
        matches!(result, Err(Error::StorageUnavailable(_))),
        "{result:?}"
    );
    // The sequencer was never asked: no sign-in recorded, no counter moved.
    assert!(!w.store.operations().contains(&Op::ChangeUser));
    // The challenge was not used up either: the client may try again.
    assert!(w.verify(&key.assert(&challenge), None, T0).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_passkey_registered_from_another_origin_or_twice_is_not_added() {
    let mut w = World::new();
    let (_, principal) = w.account("sam@example.com");
    let mut key = Authenticator::new(1);
    w.register(&principal, &mut key);
    let flows = w.auth.flows(&w.store, &w.events);
    let options =
        block_on(flows.passkey_registration_options(&principal, &rp(), T0, &mut w.rng)).unwrap();
    // The account's passkey is excluded from the next creation.
    assert_eq!(options["excludeCredentials"][0]["id"], key.id());
    let challenge = decode_base64url(options["challenge"].as_str().unwrap()).unwrap();
    let refused = Err(Error::field("credential", crate::ErrorCode::InvalidValue));
    let other = Authenticator::new(3);
    let phished = other.register_at(&challenge, "https://evil.example");
    assert_eq!(
        block_on(flows.register_passkey(&principal, &rp(), &phished, T0)).map(|_| ()),
        refused
    );
    let again = key.register(&challenge);
    assert_eq!(
        block_on(flows.register_passkey(&principal, &rp(), &again, T0)).map(|_| ()),
        refused
    );
    assert_eq!(block_on(flows.passkeys(&principal)).unwrap().len(), 1);
}

/// The `amr` claim of an access token (its payload read without the signature check: the
/// token was just issued by these flows).
fn amr_of(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice::<Value>(&decode_base64url(payload).unwrap()).unwrap()["amr"].clone()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_passkey_is_a_second_factor_and_answers_mfa_required() {
    let mut w = World::new();
    let (_, sam_principal) = w.account("sam@example.com");
    let (_, kim_principal) = w.account("kim@example.com");
    let mut sams = Authenticator::new(1);
    let mut kims = Authenticator::new(2);
    w.register(&sam_principal, &mut sams);
    w.register(&kim_principal, &mut kims);
    let flows = w.auth.flows(&w.store, &w.events);
    let input = LoginInput {
        username: "sam@example.com",
        password: PASSWORD,
        client_address: "192.0.2.1",
        user_agent: "test",
        scope: None,
    };

    // With a passkey on the account, the right password alone starts no session.
    let Err(Error::MfaRequired(challenge)) = block_on(flows.login(&input, T0, &mut w.rng)) else {
        panic!("a password login of an account with a passkey must ask for a second step");
    };
    assert_eq!(challenge.methods, ["passkey"]);
    let mfa_token = challenge.mfa_token;
    let step_challenge = |w: &mut World| {
        let flows = w.auth.flows(&w.store, &w.events);
        let options = flows
            .mfa_passkey_options(&rp(), &mfa_token, T0, &mut w.rng)
            .unwrap();
        assert_eq!(options["allowCredentials"], Value::Array(alloc::vec![]));
        decode_base64url(options["challenge"].as_str().unwrap()).unwrap()
    };
    let verify = |w: &mut World, assertion: &Value| {
        let flows = w.auth.flows(&w.store, &w.events);
        block_on(flows.verify_mfa_passkey(
            &rp(),
            &mfa_token,
            assertion,
            "192.0.2.1",
            "test",
            T0,
            &P256,
            &mut w.rng,
        ))
    };

    // Another account's passkey does not answer for Sam, and counts as a wrong code.
    let c = step_challenge(&mut w);
    let kims_assertion = kims.assert(&c);
    assert_eq!(
        verify(&mut w, &kims_assertion).map(|_| ()),
        Err(Error::InvalidCode)
    );
    assert!(w.events.events().iter().any(|e| matches!(
        e,
        SecurityEvent::MfaFailed {
            reason: "wrong_passkey",
            ..
        }
    )));

    // Sam's does, once; the tokens say how the login was made.
    let c = step_challenge(&mut w);
    let assertion = sams.assert(&c);
    let outcome = verify(&mut w, &assertion).unwrap();
    assert_eq!(
        amr_of(&outcome.tokens.access_token),
        serde_json::json!(["pwd", "hwk", "user", "mfa"])
    );
    let c = step_challenge(&mut w);
    let again = sams.assert(&c);
    assert_eq!(
        verify(&mut w, &again).map(|_| ()),
        Err(Error::MfaTokenInvalid)
    );

    // A token that does not parse gets no options.
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        flows
            .mfa_passkey_options(&rp(), "not a token", T0, &mut w.rng)
            .map(|_| ()),
        Err(Error::MfaTokenInvalid)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_passkey_sign_in_says_how_it_was_made() {
    let mut w = World::new();
    let (_, principal) = w.account("sam@example.com");
    let mut key = Authenticator::new(1);
    w.register(&principal, &mut key);
    let c = w.login_challenge(None);
    let flows = w.auth.flows(&w.store, &w.events);
    let outcome =
        block_on(flows.passkey_login(&rp(), &key.assert(&c), "test", T0, &P256, &mut w.rng))
            .unwrap();
    assert_eq!(
        amr_of(&outcome.tokens.access_token),
        serde_json::json!(["hwk", "user", "mfa"])
    );
}
