//! Issuing and verifying round trips, key rotation, the JWKS document, and what `KeySet`
//! refuses to be built from.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tollgate_core::random::{Random, SeededRandom};
use tollgate_core::token::jws::Algorithm;
use tollgate_core::token::{self, AccessClaims, KeySet, NewAccessToken, TokenConfig};
use tollgate_core::unverified::{decode_base64url, encode_base64url, split_compact};
use tollgate_core::{Error, ErrorCode, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const NOW: u64 = 1_700_000_000;

fn config() -> TokenConfig {
    TokenConfig::new("https://auth.example.com", "https://api.example.com", 900)
}

fn new_token() -> NewAccessToken<'static> {
    NewAccessToken {
        subject: "user-42",
        session_id: "session-7",
        role: "admin",
        scope: "profile:read  users:write",
        email_verified: false,
        amr: &[],
    }
}

fn random_secret(seed: u64) -> String {
    encode_base64url(&SeededRandom::new(seed).bytes::<32>())
}

fn ed25519_pem(seed: u64) -> String {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    ed25519_dalek::SigningKey::from_bytes(&SeededRandom::new(seed).bytes::<32>())
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string()
}

fn header_of(token: &str) -> Value {
    let parts = split_compact(token).unwrap();
    serde_json::from_slice(&decode_base64url(parts.header).unwrap()).unwrap()
}

fn round_trip(keys: &KeySet, alg: &str) -> (String, AccessClaims) {
    let config = config();
    let mut rng = SeededRandom::new(1);
    let (token, issued) = token::issue(keys, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(
        header_of(&token),
        json!({"alg": alg, "typ": "at+jwt", "kid": keys.kid()})
    );
    assert_eq!(issued.iss, config.issuer);
    assert_eq!(issued.aud, config.audience);
    assert_eq!(issued.sub, "user-42");
    assert_eq!(issued.sid, "session-7");
    assert_eq!(issued.role, "admin");
    assert_eq!((issued.iat, issued.nbf, issued.exp), (NOW, NOW, NOW + 900));
    assert_eq!(decode_base64url(&issued.jti).unwrap().len(), 16);
    assert_eq!(
        token::verify(keys, &config, &token, NOW),
        Ok(issued.clone())
    );
    assert_eq!(
        token::verify(keys, &config, &token, NOW + 899),
        Ok(issued.clone())
    );
    (token, issued)
}

#[wasm_bindgen_test(unsupported = test)]
fn hs256_tokens_round_trip() {
    let keys = KeySet::hs256(&random_secret(1)).unwrap();
    assert_eq!(keys.algorithm(), Algorithm::Hs256);
    round_trip(&keys, "HS256");
}

#[wasm_bindgen_test(unsupported = test)]
fn eddsa_tokens_round_trip() {
    let keys = KeySet::ed25519_pem(&ed25519_pem(1)).unwrap();
    assert_eq!(keys.algorithm(), Algorithm::EdDsa);
    let (token, _) = round_trip(&keys, "EdDSA");
    // Ed25519 signatures are 64 bytes.
    let signature = split_compact(&token).unwrap().signature;
    assert_eq!(decode_base64url(signature).unwrap().len(), 64);
}

#[wasm_bindgen_test(unsupported = test)]
fn issued_tokens_expire_after_their_lifetime_plus_leeway() {
    let keys = KeySet::hs256(&random_secret(2)).unwrap();
    let config = config();
    let (token, _) =
        token::issue(&keys, &config, &new_token(), NOW, &mut SeededRandom::new(3)).unwrap();
    let end = NOW + config.ttl_s + config.leeway_s;
    assert!(token::verify(&keys, &config, &token, end - 1).is_ok());
    assert_eq!(
        token::verify(&keys, &config, &token, end),
        Err(Error::InvalidToken(TokenRejection::Expired))
    );
    // And a verifier whose clock is behind by more than the leeway sees it as not yet valid.
    assert_eq!(
        token::verify(&keys, &config, &token, NOW - config.leeway_s - 1),
        Err(Error::InvalidToken(TokenRejection::NotYetValid))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn every_rejection_reaches_clients_as_invalid_token() {
    let keys = KeySet::hs256(&random_secret(2)).unwrap();
    let err = token::verify(&keys, &config(), "not.a.token", NOW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidToken);
    assert_eq!(err.http_status(), 401);
}

#[wasm_bindgen_test(unsupported = test)]
fn jti_comes_from_the_host_rng_and_differs_per_token() {
    let keys = KeySet::hs256(&random_secret(4)).unwrap();
    let mut rng = SeededRandom::new(5);
    let a = token::issue(&keys, &config(), &new_token(), NOW, &mut rng)
        .unwrap()
        .1;
    let b = token::issue(&keys, &config(), &new_token(), NOW, &mut rng)
        .unwrap()
        .1;
    assert_ne!(a.jti, b.jti);
    let again = token::issue(
        &keys,
        &config(),
        &new_token(),
        NOW,
        &mut SeededRandom::new(5),
    )
    .unwrap()
    .1;
    assert_eq!(
        a.jti, again.jti,
        "the same seed gives the same jti: no hidden randomness"
    );
    // Through a trait object too (`R: ?Sized`).
    let dyn_rng: &mut dyn Random = &mut SeededRandom::new(5);
    let c = token::issue(&keys, &config(), &new_token(), NOW, dyn_rng)
        .unwrap()
        .1;
    assert_eq!(c.jti, a.jti);
}

#[wasm_bindgen_test(unsupported = test)]
fn claims_strings_are_escaped_and_read_back_exactly() {
    let keys = KeySet::hs256(&random_secret(6)).unwrap();
    let config = TokenConfig::new("iss \"quoted\" \\ é", "aud\n", 60);
    let new = NewAccessToken {
        subject: "\u{0}sub\u{1F600}",
        session_id: "</script>",
        role: "a\"b",
        scope: "",
        email_verified: true,
        amr: &[],
    };
    let (token, issued) =
        token::issue(&keys, &config, &new, NOW, &mut SeededRandom::new(1)).unwrap();
    let verified = token::verify(&keys, &config, &token, NOW).unwrap();
    assert_eq!(verified, issued);
    assert_eq!(verified.sub, "\u{0}sub\u{1F600}");
    assert_eq!(verified.scopes().count(), 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn scopes_split_on_spaces() {
    let keys = KeySet::hs256(&random_secret(7)).unwrap();
    let (_, claims) = token::issue(
        &keys,
        &config(),
        &new_token(),
        NOW,
        &mut SeededRandom::new(1),
    )
    .unwrap();
    assert_eq!(
        claims.scopes().collect::<Vec<_>>(),
        ["profile:read", "users:write"]
    );
    assert!(claims.has_scope("users:write"));
    assert!(!claims.has_scope("users"));
}

#[wasm_bindgen_test(unsupported = test)]
fn issue_refuses_a_zero_lifetime_and_an_expiry_past_year_9999() {
    let keys = KeySet::hs256(&random_secret(8)).unwrap();
    let zero = TokenConfig::new("i", "a", 0);
    let far = TokenConfig::new("i", "a", u64::MAX);
    for config in [zero, far] {
        let got = token::issue(&keys, &config, &new_token(), NOW, &mut SeededRandom::new(1));
        assert!(
            matches!(got, Err(Error::Misconfigured(_))),
            "{config:?}: {got:?}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn tokens_from_another_key_set_are_rejected() {
    let config = config();
    let mut rng = SeededRandom::new(1);
    let a = KeySet::hs256(&random_secret(10)).unwrap();
    let b = KeySet::hs256(&random_secret(11)).unwrap();
    let (token, _) = token::issue(&a, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(
        token::verify(&b, &config, &token, NOW),
        Err(Error::InvalidToken(TokenRejection::UnknownKey))
    );
    let c = KeySet::ed25519_pem(&ed25519_pem(12)).unwrap();
    let d = KeySet::ed25519_pem(&ed25519_pem(13)).unwrap();
    let (token, _) = token::issue(&c, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(
        token::verify(&d, &config, &token, NOW),
        Err(Error::InvalidToken(TokenRejection::UnknownKey))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_previous_ed25519_key_still_verifies_after_rotation() {
    let config = config();
    let mut rng = SeededRandom::new(1);
    let old = KeySet::ed25519_pem(&ed25519_pem(20)).unwrap();
    let (old_token, old_claims) = token::issue(&old, &config, &new_token(), NOW, &mut rng).unwrap();

    // The operator moves the old public JWKS into JWT_PREVIOUS_PUBLIC_KEYS.
    let new = KeySet::ed25519_pem(&ed25519_pem(21))
        .unwrap()
        .with_previous_public_keys(&old.jwks_json())
        .unwrap();
    assert_ne!(new.kid(), old.kid());
    assert_eq!(
        token::verify(&new, &config, &old_token, NOW),
        Ok(old_claims)
    );
    let (new_token_str, _) = token::issue(&new, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(header_of(&new_token_str)["kid"], new.kid());
    assert!(token::verify(&new, &config, &new_token_str, NOW).is_ok());
    // The old set does not know the new key.
    assert_eq!(
        token::verify(&old, &config, &new_token_str, NOW),
        Err(Error::InvalidToken(TokenRejection::UnknownKey))
    );

    // Previous keys are only reached by kid: the old token without its kid is tried against
    // the current key only, and fails.
    let parts = split_compact(&old_token).unwrap();
    let header = encode_base64url(br#"{"alg":"EdDSA","typ":"at+jwt"}"#);
    let kidless = format!("{header}.{}.{}", parts.payload, parts.signature);
    assert_eq!(
        token::verify(&new, &config, &kidless, NOW),
        Err(Error::InvalidToken(TokenRejection::Signature))
    );

    // An HS256 deployment moving away from Ed25519 can keep verifying the old tokens too.
    let hs = KeySet::hs256(&random_secret(22))
        .unwrap()
        .with_previous_public_keys(&old.jwks_json())
        .unwrap();
    assert!(token::verify(&hs, &config, &old_token, NOW).is_ok());
}

/// `token` with its header replaced by `header` (signature unchanged).
fn with_header(token: &str, header: &str) -> String {
    let parts = split_compact(token).unwrap();
    format!(
        "{}.{}.{}",
        encode_base64url(header.as_bytes()),
        parts.payload,
        parts.signature
    )
}

/// A compact JWS over `header` and `payload_of`'s payload, signed with HMAC-SHA-256 under
/// `secret` (whatever the header says).
fn hmac_signed(header: &str, payload_of: &str, secret: &[u8]) -> String {
    let parts = split_compact(payload_of).unwrap();
    let input = format!("{}.{}", encode_base64url(header.as_bytes()), parts.payload);
    let sig = tollgate_core::token::dangerous::hs256_signing_key(secret)
        .sign(input.as_bytes())
        .unwrap();
    format!("{input}.{}", encode_base64url(&sig))
}

#[wasm_bindgen_test(unsupported = test)]
fn a_previous_hs256_secret_still_verifies_after_rotation() {
    let config = config();
    let mut rng = SeededRandom::new(1);
    let (old_secret, new_secret) = (random_secret(30), random_secret(31));
    let old = KeySet::hs256(&old_secret).unwrap();
    let (old_token, old_claims) = token::issue(&old, &config, &new_token(), NOW, &mut rng).unwrap();

    // Before the operator lists the old secret, its tokens name an unknown key.
    let bare = KeySet::hs256(&new_secret).unwrap();
    assert_eq!(
        token::verify(&bare, &config, &old_token, NOW),
        Err(Error::InvalidToken(TokenRejection::UnknownKey))
    );
    // After: verified under the old secret, found by the kid derived from it.
    let new = KeySet::hs256(&new_secret)
        .unwrap()
        .with_previous_hs256_secret(&old_secret)
        .unwrap();
    assert_eq!(new.kid(), bare.kid(), "previous secrets never sign");
    assert_eq!(header_of(&old_token)["kid"], old.kid());
    assert_eq!(
        token::verify(&new, &config, &old_token, NOW),
        Ok(old_claims.clone())
    );
    let (fresh, _) = token::issue(&new, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(header_of(&fresh)["kid"], new.kid());
    assert!(token::verify(&new, &config, &fresh, NOW).is_ok());
    assert_eq!(
        new.jwks_json(),
        r#"{"keys":[]}"#,
        "secrets are never published"
    );

    // The same through JWT_PREVIOUS_SECRETS, one secret per line.
    let listed = KeySet::hs256(&new_secret)
        .unwrap()
        .with_previous_hs256_secrets(&format!("{}\r\n\n{old_secret}\n", random_secret(32)))
        .unwrap();
    assert_eq!(
        token::verify(&listed, &config, &old_token, NOW),
        Ok(old_claims)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_forged_kid_or_alg_does_not_reach_a_previous_hs256_secret() {
    let config = config();
    let mut rng = SeededRandom::new(2);
    let (old_secret, new_secret) = (random_secret(33), random_secret(34));
    let old = KeySet::hs256(&old_secret).unwrap();
    let (old_token, _) = token::issue(&old, &config, &new_token(), NOW, &mut rng).unwrap();
    let new = KeySet::hs256(&new_secret)
        .unwrap()
        .with_previous_hs256_secret(&old_secret)
        .unwrap();
    let reject = |token: &str| token::verify(&new, &config, token, NOW).unwrap_err();

    // The old token relabelled with the current kid, or with none: checked against the current
    // secret only, where its signature fails.
    let current_kid = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, new.kid());
    assert_eq!(
        reject(&with_header(&old_token, &current_kid)),
        Error::InvalidToken(TokenRejection::Signature)
    );
    assert_eq!(
        reject(&with_header(
            &old_token,
            r#"{"alg":"HS256","typ":"at+jwt"}"#
        )),
        Error::InvalidToken(TokenRejection::Signature)
    );
    // The old kid on a token signed with some other secret.
    let old_kid = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, old.kid());
    let other = hmac_signed(&old_kid, &old_token, random_secret(35).as_bytes());
    assert_eq!(
        reject(&other),
        Error::InvalidToken(TokenRejection::Signature)
    );
    // The old kid with another algorithm: the key decides, the header may only agree.
    for alg in ["EdDSA", "none", "hs256", "HS512"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#, old.kid());
        assert!(
            matches!(
                reject(&with_header(&old_token, &header)),
                Error::InvalidToken(TokenRejection::Algorithm)
            ),
            "{alg}"
        );
    }
    // A kid that merely looks like an HS256 kid.
    let made_up = r#"{"alg":"HS256","typ":"at+jwt","kid":"AAAAAAAAAAAAAAAA"}"#;
    assert_eq!(
        reject(&with_header(&old_token, made_up)),
        Error::InvalidToken(TokenRejection::UnknownKey)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn moving_from_hs256_to_eddsa_keeps_the_old_secret_verify_only_and_separate() {
    let config = config();
    let mut rng = SeededRandom::new(3);
    let old_secret = random_secret(36);
    let old = KeySet::hs256(&old_secret).unwrap();
    let (old_token, old_claims) = token::issue(&old, &config, &new_token(), NOW, &mut rng).unwrap();
    let pem = ed25519_pem(37);
    let ed = KeySet::ed25519_pem(&pem)
        .unwrap()
        .with_previous_hs256_secret(&old_secret)
        .unwrap();
    assert_eq!(ed.algorithm(), Algorithm::EdDsa);
    assert_eq!(token::verify(&ed, &config, &old_token, NOW), Ok(old_claims));
    let (fresh, _) = token::issue(&ed, &config, &new_token(), NOW, &mut rng).unwrap();
    assert_eq!(header_of(&fresh)["alg"], "EdDSA");
    assert!(token::verify(&ed, &config, &fresh, NOW).is_ok());

    // The classic confusion: HS256 "signed" with the published Ed25519 public key as the
    // secret, under the Ed25519 key's kid. That key only does EdDSA.
    let jwks: Value = serde_json::from_str(&ed.jwks_json()).unwrap();
    let x = decode_base64url(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, ed.kid());
    assert_eq!(
        token::verify(&ed, &config, &hmac_signed(&header, &old_token, &x), NOW),
        Err(Error::InvalidToken(TokenRejection::Algorithm))
    );
    // And the old secret's kid with EdDSA: refused before any signature work.
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#, old.kid());
    assert_eq!(
        token::verify(&ed, &config, &with_header(&fresh, &header), NOW),
        Err(Error::InvalidToken(TokenRejection::Algorithm))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn previous_hs256_secrets_follow_the_strength_rules_and_stay_unique() {
    let current = random_secret(40);
    let keys = || KeySet::hs256(&current).unwrap();
    let misconfigured = |r: Result<KeySet, Error>| match r {
        Err(Error::Misconfigured(why)) => why,
        other => panic!("{other:?}"),
    };
    // Weak: refused with the rule, never the value.
    for weak in ["Zq9-x", "your-256-bit-secret", &"ab".repeat(20)] {
        let why = misconfigured(keys().with_previous_hs256_secret(weak));
        assert!(!why.contains(weak), "{why}");
        assert!(why.contains("previous HS256 secret"), "{why}");
    }
    // The list names the line, not the text.
    let why = misconfigured(
        keys()
            .with_previous_hs256_secrets(&format!("{}\nsecret-password-123\n", random_secret(41))),
    );
    assert!(why.starts_with("JWT_PREVIOUS_SECRETS line 2 "), "{why}");
    assert!(!why.contains("secret-password-123"), "{why}");
    // The current secret, or one listed twice.
    let why = misconfigured(keys().with_previous_hs256_secret(&current));
    assert!(why.contains("already configured"), "{why}");
    let old = random_secret(42);
    let why = misconfigured(keys().with_previous_hs256_secrets(&format!("{old}\n{old}")));
    assert!(
        why.contains("line 2") && why.contains("already configured"),
        "{why}"
    );
    // Added one by one and from a list alike; nothing for an empty list.
    let both = keys()
        .with_previous_hs256_secret(&old)
        .unwrap()
        .with_previous_hs256_secrets(&random_secret(43))
        .unwrap();
    assert!(matches!(
        both.clone().with_previous_hs256_secret(&old),
        Err(Error::Misconfigured(_))
    ));
    assert_eq!(
        format!("{:?}", keys().with_previous_hs256_secrets("").unwrap()),
        format!("{:?}", keys())
    );
    // A secret may hold commas, spaces and quotes: lines keep them exactly.
    let odd = "q8Z3,vN1x K7pR\"4tY9;wB2mL6hJ0cF5dG8x";
    let listed = keys()
        .with_previous_hs256_secrets(&format!("{odd}\n"))
        .unwrap();
    let (t, claims) = token::issue(
        &KeySet::hs256(odd).unwrap(),
        &config(),
        &new_token(),
        NOW,
        &mut SeededRandom::new(4),
    )
    .unwrap();
    assert_eq!(token::verify(&listed, &config(), &t, NOW), Ok(claims));
    // Debug lists the previous kids and no secret.
    let shown = format!("{both:?}");
    assert!(
        shown.contains(KeySet::hs256(&old).unwrap().kid()),
        "{shown}"
    );
    assert!(
        !shown.contains(&old[..12]) && !shown.contains(&current[..12]),
        "{shown}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn jwks_lists_current_then_previous_ed25519_keys() {
    let hs = KeySet::hs256(&random_secret(30)).unwrap();
    assert_eq!(hs.jwks_json(), r#"{"keys":[]}"#);

    let old = KeySet::ed25519_pem(&ed25519_pem(31)).unwrap();
    let current = KeySet::ed25519_pem(&ed25519_pem(32))
        .unwrap()
        .with_previous_public_keys(&old.jwks_json())
        .unwrap();
    let doc: Value = serde_json::from_str(&current.jwks_json()).unwrap();
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(doc.as_object().unwrap().len(), 1);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], current.kid());
    assert_eq!(keys[1]["kid"], old.kid());
    for key in keys {
        let members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members.len(), 6, "{key}");
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(
            decode_base64url(key["x"].as_str().unwrap()).unwrap().len(),
            32
        );
    }
    // The document is exactly what with_previous_public_keys accepts.
    assert!(
        KeySet::hs256(&random_secret(33))
            .unwrap()
            .with_previous_public_keys(&current.jwks_json())
            .is_ok()
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn previous_kids_are_escaped_in_the_jwks() {
    let x = jwk_x(40);
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k\"1\\"}]});
    let keys = KeySet::hs256(&random_secret(41))
        .unwrap()
        .with_previous_public_keys(&jwks.to_string())
        .unwrap();
    let doc: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    assert_eq!(doc["keys"][0]["kid"], "k\"1\\");
}

/// The `x` of a valid Ed25519 public key.
fn jwk_x(seed: u64) -> String {
    let keys = KeySet::ed25519_pem(&ed25519_pem(seed)).unwrap();
    let doc: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    doc["keys"][0]["x"].as_str().unwrap().to_string()
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_previous_key_documents_are_refused() {
    let x = jwk_x(50);
    let key = |extra: Value| {
        let mut k = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "old-1"});
        for (name, value) in extra.as_object().unwrap() {
            if value.is_null() {
                k.as_object_mut().unwrap().remove(name);
            } else {
                k[name] = value.clone();
            }
        }
        k
    };
    let doc = |keys: Vec<Value>| json!({"keys": keys}).to_string();
    // The identity point: a valid encoding of a small-order ("weak") key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let current = KeySet::hs256(&random_secret(51)).unwrap();
    let current_kid = current.kid().to_string();
    let rows: Vec<(&str, String)> = vec![
        ("not JSON", "keys".into()),
        ("empty string", String::new()),
        ("an array", "[]".into()),
        ("no keys member", "{}".into()),
        ("keys not an array", r#"{"keys":{}}"#.into()),
        ("extra top-level member", r#"{"keys":[],"x":1}"#.into()),
        (
            "duplicate JSON member",
            format!(
                r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a","kid":"b"}}]}}"#
            ),
        ),
        (
            "duplicate top-level keys",
            r#"{"keys":[],"keys":[]}"#.into(),
        ),
        ("duplicate kid", doc(vec![key(json!({})), key(json!({}))])),
        (
            "the current kid",
            doc(vec![key(json!({"kid": current_kid}))]),
        ),
        ("private key", doc(vec![key(json!({"d": "AAAA"}))])),
        ("RSA", doc(vec![key(json!({"kty": "RSA"}))])),
        ("X25519", doc(vec![key(json!({"crv": "X25519"}))])),
        ("no kty", doc(vec![key(json!({"kty": null}))])),
        ("no x", doc(vec![key(json!({"x": null}))])),
        (
            "x too short",
            doc(vec![key(json!({"x": encode_base64url(&[9u8; 31])}))]),
        ),
        ("x padded", doc(vec![key(json!({"x": format!("{x}=")}))])),
        (
            "x weak",
            doc(vec![key(json!({"x": encode_base64url(&identity)}))]),
        ),
        ("x a number", doc(vec![key(json!({"x": 5}))])),
        ("no kid", doc(vec![key(json!({"kid": null}))])),
        ("empty kid", doc(vec![key(json!({"kid": ""}))])),
        ("alg RS256", doc(vec![key(json!({"alg": "RS256"}))])),
        ("alg HS256", doc(vec![key(json!({"alg": "HS256"}))])),
        ("use enc", doc(vec![key(json!({"use": "enc"}))])),
        (
            "key_ops sign only",
            doc(vec![key(json!({"key_ops": ["sign"]}))]),
        ),
        (
            "key_ops not an array",
            doc(vec![key(json!({"key_ops": "verify"}))]),
        ),
        ("unknown member", doc(vec![key(json!({"x5c": ["MIIB"]}))])),
        ("key not an object", doc(vec![json!("key")])),
    ];
    for (name, jwks) in rows {
        let got = current.clone().with_previous_public_keys(&jwks);
        let Err(Error::Misconfigured(message)) = got else {
            panic!("{name}: accepted {got:?}");
        };
        assert!(
            message.starts_with("JWT_PREVIOUS_PUBLIC_KEYS"),
            "{name}: {message}"
        );
    }
    // And the well-formed variants are accepted.
    for extra in [
        json!({}),
        json!({"alg": "EdDSA", "use": "sig"}),
        json!({"key_ops": ["verify"]}),
    ] {
        assert!(
            current
                .clone()
                .with_previous_public_keys(&doc(vec![key(extra.clone())]))
                .is_ok(),
            "{extra}"
        );
    }
    assert!(
        current
            .clone()
            .with_previous_public_keys(r#"{"keys":[]}"#)
            .is_ok()
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn previous_keys_accumulate_and_kids_stay_unique_across_calls() {
    let first =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": jwk_x(60), "kid": "a"}]}).to_string();
    let second =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": jwk_x(61), "kid": "b"}]}).to_string();
    let keys = KeySet::hs256(&random_secret(62)).unwrap();
    let keys = keys
        .with_previous_public_keys(&first)
        .unwrap()
        .with_previous_public_keys(&second)
        .unwrap();
    let doc: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
    assert!(matches!(
        keys.with_previous_public_keys(&first),
        Err(Error::Misconfigured(_))
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn weak_hs256_secrets_are_refused_without_echoing_them() {
    let rows: &[(&str, &str)] = &[
        ("empty", ""),
        ("the word secret", "secret"),
        ("jwt.io's default", "your-256-bit-secret"),
        ("jwt.io's default, uppercased", "YOUR-256-BIT-SECRET"),
        ("changeme", "changeme"),
        ("31 random-looking bytes", "q8Z3vN1xK7pR4tY9wB2mL6hJ0cF5dG8"),
        (
            "one character repeated",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        (
            "two characters repeated",
            "abababababababababababababababababababab",
        ),
        (
            "a word repeated",
            "hunter2hunter2hunter2hunter2hunter2hunter2",
        ),
        (
            "random-looking unit repeated",
            "Xk9$Qw2!Xk9$Qw2!Xk9$Qw2!Xk9$Qw2!",
        ),
        ("digits repeated", "01234567890123456789012345678901"),
        (
            "Supabase's example",
            "your-super-secret-jwt-token-with-at-least-32-characters-long",
        ),
        (
            "a sentence with secret",
            "this is my very long jwt secret for production use",
        ),
        ("a password padded", "Password1234567890!Password12345x"),
        ("mostly one character", "aaaaaaaaaaaaaaaaaaaaaaaaaqzxwvkj"),
        (
            "seven distinct characters",
            "abcabcdefgabcdefgabcdefgabcdefgabcgfe",
        ),
        ("the alphabet", "abcdefghijklmnopqrstuvwxyz012345"),
        ("a keyboard walk", "qwertyuiopasdfghjklzxcvbnm1234567890"),
        ("the product's name", "tollgate-production-key-2024-v1-xyz"),
    ];
    for (name, secret) in rows {
        let got = KeySet::hs256(secret);
        let Err(Error::Misconfigured(message)) = got else {
            panic!("{name}: accepted ({got:?})");
        };
        assert!(message.starts_with("JWT_SECRET "), "{name}: {message}");
        assert!(message.contains("tollgate keygen"), "{name}: {message}");
        // Short ones ("secret") are words the message itself may use.
        if secret.len() >= 12 {
            assert!(
                !message.contains(secret),
                "{name}: message quotes the secret: {message}"
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn machine_made_secrets_are_accepted() {
    // 32 random bytes in the encodings people generate them in: base64url (tollgate keygen),
    // standard base64 with padding (openssl rand -base64 32), and hex (openssl rand -hex 32),
    // plus 16 random bytes in hex, the shortest that meets the 32-byte minimum.
    use base64::Engine as _;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut rng = SeededRandom::new(2024);
    for i in 0..500 {
        let bytes: [u8; 32] = rng.bytes();
        let short: [u8; 16] = rng.bytes();
        for secret in [
            encode_base64url(&bytes),
            base64::engine::general_purpose::STANDARD.encode(bytes),
            hex(&bytes),
            hex(&short),
        ] {
            let got = KeySet::hs256(&secret);
            assert!(got.is_ok(), "sample {i} ({secret}): {got:?}");
        }
    }
}

/// The PEM with one byte of its DER flipped.
fn alter_der(pem: &str, index: usize) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = b64.decode(body).unwrap();
    der[index] ^= 0x01;
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64.encode(der)
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_ed25519_private_keys_are_refused() {
    let good = ed25519_pem(70);
    let public_pem = {
        use ed25519_dalek::pkcs8::{EncodePublicKey, spki::der::pem::LineEnding};
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    };
    let rows = [
        ("empty", String::new()),
        ("not PEM", "hello".to_string()),
        ("a public key", public_pem),
        ("truncated", good[..good.len() / 2].to_string()),
        ("DER length altered", alter_der(&good, 1)),
        ("algorithm OID altered", alter_der(&good, 11)),
        ("an HMAC secret", random_secret(71)),
    ];
    for (name, pem) in rows {
        let got = KeySet::ed25519_pem(&pem);
        let Err(Error::Misconfigured(message)) = got else {
            panic!("{name}: accepted ({got:?})");
        };
        assert!(message.starts_with("JWT_PRIVATE_KEY"), "{name}: {message}");
        assert!(
            !message.contains("BEGIN PRIVATE KEY-----\n"),
            "{name}: {message}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn debug_never_prints_key_material() {
    let secret = random_secret(80);
    let hs = KeySet::hs256(&secret).unwrap();
    let pem = ed25519_pem(81);
    let ed = KeySet::ed25519_pem(&pem).unwrap();
    let seed = SeededRandom::new(81).bytes::<32>();
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for printed in [
        format!("{hs:?}"),
        format!("{hs:#?}"),
        format!("{ed:?}"),
        format!("{ed:#?}"),
    ] {
        assert!(!printed.contains(&secret), "{printed}");
        assert!(!printed.contains(&secret[..12]), "{printed}");
        assert!(!printed.contains(&pem_body[16..40]), "{printed}");
        assert!(
            !printed.contains(&encode_base64url(&seed)[..12]),
            "{printed}"
        );
        assert!(!printed.contains(&format!("{:?}", &seed[..4])), "{printed}");
        assert!(
            !printed.contains(&format!("{:?}", &secret.as_bytes()[..4])),
            "{printed}"
        );
    }
    assert!(format!("{hs:?}").contains(hs.kid()));
    let signing = tollgate_core::token::jws::SigningKey::ed25519_pem(&pem).unwrap();
    assert!(format!("{signing:?}").contains("[redacted]"));
    let verifying = tollgate_core::token::dangerous::hs256_verifying_key(secret.as_bytes());
    assert!(!format!("{verifying:?}").contains(&secret[..12]));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_hs256_kid_is_stable_and_reveals_nothing_obvious() {
    let secret = random_secret(90);
    let a = KeySet::hs256(&secret).unwrap();
    let b = KeySet::hs256(&secret).unwrap();
    let c = KeySet::hs256(&random_secret(91)).unwrap();
    assert_eq!(a.kid(), b.kid());
    assert_ne!(a.kid(), c.kid());
    assert_eq!(a.kid().len(), 16);
    assert!(!secret.contains(a.kid()) && !a.kid().contains(&secret[..8]));
}

#[wasm_bindgen_test(unsupported = test)]
fn key_sets_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<KeySet>();
    shareable::<TokenConfig>();
}
