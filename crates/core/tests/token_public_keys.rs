//! Verify-only guards: a `PublicKeySet` built from the JWKS an EdDSA issuer publishes verifies
//! its tokens and nothing else, and `RemoteKeys` decides when a guard fetches that JWKS, with a
//! fixed clock.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tollgate_core::random::{Random, SeededRandom};
use tollgate_core::roles::Principal;
use tollgate_core::token::{
    self, JWKS_MAX_AGE_S, JWKS_REFETCH_COOLDOWN_S, KeySet, NewAccessToken, PublicKeySet,
    RemoteKeys, TokenConfig,
};
use tollgate_core::unverified::{decode_base64url, encode_base64url, split_compact};
use tollgate_core::{Error, ErrorCode, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const NOW: u64 = 1_700_000_000;

fn config() -> TokenConfig {
    TokenConfig::new("tollgate", "tollgate", 900)
}

fn ed25519(seed: u64) -> KeySet {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    let pem = ed25519_dalek::SigningKey::from_bytes(&SeededRandom::new(seed).bytes::<32>())
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
    KeySet::ed25519_pem(&pem).unwrap()
}

fn issue(keys: &KeySet) -> String {
    let new = NewAccessToken {
        subject: "0b5d1e0c-0000-4000-8000-000000000001",
        session_id: "session-7",
        role: "admin",
        scope: "profile sessions",
        email_verified: false,
        amr: &[],
    };
    token::issue(keys, &config(), &new, NOW, &mut SeededRandom::new(9))
        .unwrap()
        .0
}

fn public(keys: &KeySet) -> PublicKeySet {
    PublicKeySet::from_jwks("JWT_PUBLIC_KEYS", &keys.jwks_json()).unwrap()
}

fn rejection(got: Result<impl core::fmt::Debug, Error>) -> TokenRejection {
    match got {
        Err(Error::InvalidToken(why)) => why,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

// --- PublicKeySet ------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn the_published_jwks_verifies_the_issuers_tokens_current_and_previous() {
    let old = ed25519(1);
    let issuer = ed25519(2)
        .with_previous_public_keys(&old.jwks_json())
        .unwrap();
    let guard = public(&issuer);
    assert_eq!(guard.kids().collect::<Vec<_>>(), [issuer.kid(), old.kid()]);
    for token in [issue(&issuer), issue(&old)] {
        let claims = token::verify(&guard, &config(), &token, NOW).unwrap();
        assert_eq!(
            claims,
            token::verify(&issuer, &config(), &token, NOW).unwrap()
        );
        let principal = Principal::from(claims);
        assert_eq!(principal.user_id, "0b5d1e0c-0000-4000-8000-000000000001");
        assert_eq!(
            (principal.issued_at, principal.expires_at),
            (NOW, NOW + 900)
        );
        assert!(principal.has_scope("profile"));
    }
    // Claims are still checked: expiry, audience.
    let token = issue(&issuer);
    assert_eq!(
        rejection(token::verify(&guard, &config(), &token, NOW + 900 + 30)),
        TokenRejection::Expired
    );
    let other_audience = TokenConfig::new("tollgate", "elsewhere", 900);
    assert_eq!(
        rejection(token::verify(&guard, &other_audience, &token, NOW)),
        TokenRejection::Audience
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn public_keys_verify_nothing_else() {
    let issuer = ed25519(3);
    let guard = public(&issuer);
    // Another EdDSA key: its kid is unknown here.
    assert_eq!(
        rejection(token::verify(&guard, &config(), &issue(&ed25519(4)), NOW)),
        TokenRejection::UnknownKey
    );
    // Another key's token relabelled with the issuer's kid: the signature fails.
    let stranger = issue(&ed25519(4));
    let parts = split_compact(&stranger).unwrap();
    let header = format!(
        r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#,
        issuer.kid()
    );
    let relabelled = format!(
        "{}.{}.{}",
        encode_base64url(header.as_bytes()),
        parts.payload,
        parts.signature
    );
    assert_eq!(
        rejection(token::verify(&guard, &config(), &relabelled, NOW)),
        TokenRejection::Signature
    );
    // The classic confusion: HS256 keyed with the public key's bytes, under its kid.
    let jwks: serde_json::Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
    let x = decode_base64url(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let header = format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
        issuer.kid()
    );
    let input = format!("{}.{}", encode_base64url(header.as_bytes()), parts.payload);
    let mut mac = Hmac::<Sha256>::new_from_slice(&x).unwrap();
    mac.update(input.as_bytes());
    let confused = format!("{input}.{}", encode_base64url(&mac.finalize().into_bytes()));
    assert_eq!(
        rejection(token::verify(&guard, &config(), &confused, NOW)),
        TokenRejection::Algorithm
    );
    // Without a kid no key is named (the issuer's own KeySet would try its current key).
    let header = encode_base64url(br#"{"alg":"EdDSA","typ":"at+jwt"}"#);
    let own = issue(&issuer);
    let own_parts = split_compact(&own).unwrap();
    let kidless = format!("{header}.{}.{}", own_parts.payload, own_parts.signature);
    assert_eq!(
        rejection(token::verify(&guard, &config(), &kidless, NOW)),
        TokenRejection::UnknownKey
    );
    // An HS256 issuer's tokens: no key of this kind exists here.
    let hs = KeySet::hs256("Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a").unwrap();
    assert_eq!(
        rejection(token::verify(&guard, &config(), &issue(&hs), NOW)),
        TokenRejection::UnknownKey
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_public_key_document_must_hold_public_ed25519_keys_only() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    for (label, doc, says) in [
        ("no keys", r#"{"keys":[]}"#.to_string(), "lists no key"),
        ("not JSON", "{".to_string(), "not a JSON object"),
        (
            "a private key",
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}","kid":"a"}}]}}"#
            ),
            "private key",
        ),
        (
            "an RSA key",
            r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"}]}"#.to_string(),
            "unsupported member",
        ),
        (
            "no kid",
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}]}}"#),
            "kid",
        ),
        (
            "a kid twice",
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}}]}}"#
            ),
            "appears twice",
        ),
    ] {
        match PublicKeySet::from_jwks("JWT_PUBLIC_KEYS", &doc) {
            Err(Error::Misconfigured(message)) => {
                assert!(
                    message.starts_with("JWT_PUBLIC_KEYS "),
                    "{label}: {message}"
                );
                assert!(message.contains(says), "{label}: {message}");
            }
            other => panic!("{label}: {other:?}"),
        }
    }
}

// --- RemoteKeys: when a guard fetches -------------------------------------------------------

const COOLDOWN: u64 = JWKS_REFETCH_COOLDOWN_S;

#[wasm_bindgen_test(unsupported = test)]
fn keys_are_used_while_fresh_and_never_after() {
    let issuer = ed25519(5);
    let token = issue(&issuer);
    let mut remote = RemoteKeys::new();
    assert!(remote.needs_load(NOW) && remote.may_fetch(NOW));
    match remote.verify(&config(), &token, NOW) {
        Err(e @ Error::StorageUnavailable(_)) => {
            assert_eq!(e.code(), ErrorCode::StorageUnavailable)
        }
        other => panic!("no keys yet: {other:?}"),
    }
    remote.loaded(&issuer.jwks_json(), NOW, NOW).unwrap();
    for now in [NOW, NOW + JWKS_MAX_AGE_S - 1] {
        assert!(!remote.needs_load(now));
        assert!(remote.verify(&config(), &token, now).is_ok(), "{now}");
    }
    // At the maximum age the keys must be loaded again and are not used meanwhile: a key the
    // issuer removed stops verifying within that time even if the issuer cannot be reached.
    let stale = NOW + JWKS_MAX_AGE_S;
    assert!(remote.needs_load(stale));
    assert!(matches!(
        remote.verify(&config(), &token, stale),
        Err(Error::StorageUnavailable(_))
    ));
    // A cached copy's age is its fetch time, not the time it was read here.
    remote
        .loaded(&issuer.jwks_json(), stale - 100, stale)
        .unwrap();
    assert!(!remote.needs_load(stale));
    assert!(remote.needs_load(stale - 100 + JWKS_MAX_AGE_S));
    // A fetch time in the future counts as now; an older document replaces nothing.
    remote
        .loaded(&issuer.jwks_json(), stale + 10_000, stale + 1)
        .unwrap();
    assert!(!remote.needs_load(stale + JWKS_MAX_AGE_S));
    remote
        .loaded(&ed25519(6).jwks_json(), stale - 200, stale + 2)
        .unwrap();
    assert!(remote.verify(&config(), &token, stale + 2).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bad_document_is_refused_and_the_keys_held_are_kept() {
    let issuer = ed25519(7);
    let mut remote = RemoteKeys::new();
    remote.loaded(&issuer.jwks_json(), NOW, NOW).unwrap();
    for bad in [r#"{"keys":[]}"#, "<html>", ""] {
        match remote.loaded(bad, NOW + 1, NOW + 1) {
            Err(Error::Misconfigured(message)) => {
                assert!(message.starts_with("the JWKS at JWKS_URL "), "{message}")
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(remote.verify(&config(), &issue(&issuer), NOW + 1).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn only_an_unknown_kid_refetches_and_at_most_once_per_cooldown() {
    let issuer = ed25519(8);
    let mut remote = RemoteKeys::new();
    remote.fetch_started(NOW);
    remote.loaded(&issuer.jwks_json(), NOW, NOW).unwrap();
    let unknown = remote
        .verify(&config(), &issue(&ed25519(9)), NOW + 1)
        .unwrap_err();
    assert_eq!(unknown, Error::InvalidToken(TokenRejection::UnknownKey));
    assert!(!remote.should_refetch(&unknown, NOW + COOLDOWN - 1));
    assert!(remote.should_refetch(&unknown, NOW + COOLDOWN));
    // Other refusals never fetch: the keys are not the problem.
    for other in [
        Error::InvalidToken(TokenRejection::Signature),
        Error::InvalidToken(TokenRejection::Expired),
        Error::InvalidToken(TokenRejection::Algorithm),
        Error::NotAuthenticated,
        Error::StorageUnavailable("no keys".into()),
    ] {
        assert!(!remote.should_refetch(&other, NOW + 1000), "{other:?}");
    }
    remote.fetch_started(NOW + COOLDOWN);
    assert!(!remote.should_refetch(&unknown, NOW + 2 * COOLDOWN - 1));
    assert!(remote.should_refetch(&unknown, NOW + 2 * COOLDOWN));
}

#[wasm_bindgen_test(unsupported = test)]
fn after_a_failed_fetch_the_next_waits_a_cooldown() {
    let mut remote = RemoteKeys::new();
    remote.fetch_started(NOW);
    remote.fetch_failed(NOW);
    assert!(remote.needs_load(NOW + 1));
    assert!(!remote.may_fetch(NOW + COOLDOWN - 1));
    assert!(remote.may_fetch(NOW + COOLDOWN));
}

/// The guard's loop (worker/src/jwks_cache.rs) over a fake issuer, one request a second for an
/// hour, nine in ten with an invented kid: the issuer is asked at most once per cooldown (plus
/// a load at every maximum age), and every real token verifies.
#[wasm_bindgen_test(unsupported = test)]
fn invented_kids_cannot_make_a_guard_hammer_the_issuer() {
    let hour = 3600;
    let long = TokenConfig::new("tollgate", "tollgate", 2 * hour);
    let new = NewAccessToken {
        subject: "0b5d1e0c-0000-4000-8000-000000000001",
        session_id: "session-7",
        role: "user",
        scope: "profile",
        email_verified: false,
        amr: &[],
    };
    let mut rng = SeededRandom::new(3);
    let issuer = ed25519(10);
    let real = token::issue(&issuer, &long, &new, NOW, &mut rng).unwrap().0;
    let invented = token::issue(&ed25519(11), &long, &new, NOW, &mut rng)
        .unwrap()
        .0;
    let mut remote = RemoteKeys::new();
    let mut fetches = 0u64;
    let mut fetch = |remote: &mut RemoteKeys, now: u64| {
        fetches += 1;
        remote.fetch_started(now);
        remote.loaded(&issuer.jwks_json(), now, now).unwrap();
    };
    for second in 0..hour {
        let now = NOW + second;
        if remote.needs_load(now) && remote.may_fetch(now) {
            fetch(&mut remote, now);
        }
        let token = if second % 10 == 0 { &real } else { &invented };
        let got = remote.verify(&config(), token, now);
        if let Err(e) = &got
            && remote.should_refetch(e, now)
        {
            fetch(&mut remote, now);
        }
        if second % 10 == 0 {
            assert!(got.is_ok(), "the real token at {second} s: {got:?}");
        }
    }
    let bound = hour / COOLDOWN + hour / JWKS_MAX_AGE_S + 1;
    assert!(
        fetches <= bound,
        "{fetches} fetches in an hour, bound {bound}"
    );
    assert!(
        fetches >= hour / COOLDOWN / 2,
        "unknown kids did refetch: {fetches}"
    );
}
