//! Known answers nobody here wrote: RFC 7515, RFC 8037 and Project Wycheproof, run through the
//! same signature-level code that `token::verify` uses.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tollgate_core::token::jws::{self, Algorithm, SigningKey, VerifyingKey};
use tollgate_core::token::{self, KeySet, TokenConfig, dangerous};
use tollgate_core::unverified::decode_base64url;
use tollgate_core::{Error, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// --- RFC 7515 Appendix A.1: HS256 ------------------------------------------------------------

/// RFC 7515 Appendix A.1.1: the HMAC key, as the JWK `k` member.
const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// RFC 7515 Appendix A.1.1: the complete JWS (header `{"typ":"JWT",\r\n "alg":"HS256"}`).
const RFC7515_A1_JWS: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7515 Appendix A.1.1: the payload, with its CRLF line breaks.
const RFC7515_A1_PAYLOAD: &str =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
/// The `exp` of the A.1 payload (2011-03-22T18:43:00Z).
const RFC7515_A1_EXP: u64 = 1_300_819_380;

/// RFC 7515 Appendix A.5: the unsecured JWS (`{"alg":"none"}`, A.1's payload, empty signature).
const RFC7515_A5_JWS: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

fn a1_key_bytes() -> Vec<u8> {
    decode_base64url(RFC7515_A1_K).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a1_signature_verifies_at_the_jws_layer() {
    let key = dangerous::hs256_verifying_key(&a1_key_bytes());
    let verified = jws::verify_signature(&key, RFC7515_A1_JWS).unwrap();
    assert_eq!(verified.algorithm, Algorithm::Hs256);
    assert_eq!(verified.typ.as_deref(), Some("JWT"));
    assert_eq!(verified.kid, None);
    assert_eq!(verified.payload, RFC7515_A1_PAYLOAD.as_bytes());
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a1_signature_is_reproduced_by_signing() {
    let key = dangerous::hs256_signing_key(&a1_key_bytes());
    let (signing_input, signature) = RFC7515_A1_JWS.rsplit_once('.').unwrap();
    let ours = key.sign(signing_input.as_bytes()).unwrap();
    assert_eq!(ours, decode_base64url(signature).unwrap());
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a1_is_not_an_access_token_because_its_typ_is_jwt() {
    // Checked at a time when A.1 has not expired, so only its typ can be the reason.
    let keys = dangerous::hs256_key_set(&a1_key_bytes());
    let config = TokenConfig::new("joe", "joe", 900);
    let before_expiry = RFC7515_A1_EXP - 60;
    assert_eq!(
        token::verify(&keys, &config, RFC7515_A1_JWS, before_expiry),
        Err(Error::InvalidToken(TokenRejection::Type))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a1_claims_are_expired_once_the_typ_is_right() {
    // A.1's issuer and exp, re-signed with A.1's key under an access-token header and with
    // the claims an access token requires, so that only the time can decide.
    let signing = dangerous::hs256_signing_key(&a1_key_bytes());
    let keys = dangerous::hs256_key_set(&a1_key_bytes());
    let config = TokenConfig::new("joe", "api", 900);
    let header = br#"{"typ":"at+jwt","alg":"HS256"}"#;
    let payload = format!(
        r#"{{"iss":"joe","exp":{RFC7515_A1_EXP},"http://example.com/is_root":true,
            "aud":"api","sub":"u1","iat":{iat},"nbf":{iat},"jti":"j","sid":"s","role":"user",
            "scope":""}}"#,
        iat = RFC7515_A1_EXP - 900
    );
    let token = jws::sign_compact(&signing, header, payload.as_bytes()).unwrap();
    let leeway = config.leeway_s;
    assert!(token::verify(&keys, &config, &token, RFC7515_A1_EXP - 1).is_ok());
    assert!(token::verify(&keys, &config, &token, RFC7515_A1_EXP + leeway - 1).is_ok());
    for now in [RFC7515_A1_EXP + leeway, 1_700_000_000] {
        assert_eq!(
            token::verify(&keys, &config, &token, now),
            Err(Error::InvalidToken(TokenRejection::Expired)),
            "now = {now}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a5_unsecured_jws_is_rejected() {
    // Its empty signature fails the shape check before anything is decoded.
    let key = dangerous::hs256_verifying_key(&a1_key_bytes());
    assert_eq!(
        jws::verify_signature(&key, RFC7515_A5_JWS),
        Err(TokenRejection::Shape)
    );
    let keys = dangerous::hs256_key_set(&a1_key_bytes());
    let config = TokenConfig::new("joe", "joe", 900);
    assert_eq!(
        token::verify(&keys, &config, RFC7515_A5_JWS, RFC7515_A1_EXP - 60),
        Err(Error::InvalidToken(TokenRejection::Shape))
    );
    // With a signature segment added, `alg: none` itself is what fails.
    let with_signature = format!("{RFC7515_A5_JWS}c2ln");
    assert_eq!(
        jws::verify_signature(&key, &with_signature),
        Err(TokenRejection::Algorithm)
    );
}

// --- RFC 8037 Appendix A: Ed25519 ------------------------------------------------------------

/// RFC 8037 Appendix A.1: the private key seed `d`.
const RFC8037_A1_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
/// RFC 8037 Appendix A.1: the public key `x`.
const RFC8037_A1_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 Appendix A.3: the JWK thumbprint of the A.1 key.
const RFC8037_A3_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/// RFC 8037 Appendix A.4: header `{"alg":"EdDSA"}`, payload "Example of Ed25519 signing".
const RFC8037_A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// The A.1 seed as a PKCS#8 PEM private key: the fixed DER prefix of an Ed25519
/// OneAsymmetricKey (RFC 8410 §7: SEQUENCE { version 0, AlgorithmIdentifier { 1.3.101.112 },
/// OCTET STRING { OCTET STRING seed } }) followed by the 32-byte seed.
fn rfc8037_pem() -> String {
    use base64::Engine as _;
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(decode_base64url(RFC8037_A1_D).unwrap());
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8037_a4_is_reproduced_exactly_by_signing() {
    // Ed25519 is deterministic (RFC 8032 §5.1.6), so the whole JWS must match byte for byte.
    let key = SigningKey::ed25519_pem(&rfc8037_pem()).unwrap();
    let token =
        jws::sign_compact(&key, br#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing").unwrap();
    assert_eq!(token, RFC8037_A4_JWS);
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8037_a4_verifies_with_the_a1_public_key() {
    let key = VerifyingKey::ed25519(&decode_base64url(RFC8037_A1_X).unwrap()).unwrap();
    let verified = jws::verify_signature(&key, RFC8037_A4_JWS).unwrap();
    assert_eq!(verified.algorithm, Algorithm::EdDsa);
    assert_eq!(verified.payload, b"Example of Ed25519 signing");
    // The key derived from the private PEM is the same public key.
    let derived = SigningKey::ed25519_pem(&rfc8037_pem())
        .unwrap()
        .verifying_key();
    assert!(jws::verify_signature(&derived, RFC8037_A4_JWS).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8037_a4_fails_when_any_part_changes() {
    let key = VerifyingKey::ed25519(&decode_base64url(RFC8037_A1_X).unwrap()).unwrap();
    let (input, signature) = RFC8037_A4_JWS.rsplit_once('.').unwrap();
    let mut sig = decode_base64url(signature).unwrap();
    sig[7] ^= 1;
    assert_eq!(
        key.verify(input.as_bytes(), &sig),
        Err(TokenRejection::Signature)
    );
    let other_payload = RFC8037_A4_JWS.replacen("RXhhbXBsZSBv", "RXhhbXBsZSBw", 1);
    assert_eq!(
        jws::verify_signature(&key, &other_payload),
        Err(TokenRejection::Signature)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8037_a3_thumbprint_is_the_ed25519_kid() {
    let keys = KeySet::ed25519_pem(&rfc8037_pem()).unwrap();
    assert_eq!(keys.kid(), RFC8037_A3_THUMBPRINT);
    let jwks: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    assert_eq!(jwks["keys"][0]["x"], RFC8037_A1_X);
    assert_eq!(jwks["keys"][0]["kid"], RFC8037_A3_THUMBPRINT);
}

// --- Wycheproof ------------------------------------------------------------------------------

const WYCHEPROOF_HMAC: &str = include_str!("vectors/wycheproof/hmac_sha256_test.json");
const WYCHEPROOF_ED25519: &str = include_str!("vectors/wycheproof/ed25519_test.json");
const WYCHEPROOF_JWS: &str = include_str!("vectors/wycheproof/json_web_signature_test.json");

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases(file: &str) -> Vec<(Value, Value)> {
    let doc: Value = serde_json::from_str(file).unwrap();
    let groups = doc["testGroups"].as_array().unwrap();
    let all: Vec<(Value, Value)> = groups
        .iter()
        .flat_map(|g| {
            g["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (g.clone(), t.clone()))
        })
        .collect();
    assert_eq!(all.len() as u64, doc["numberOfTests"].as_u64().unwrap());
    all
}

fn is_valid(test: &Value) -> bool {
    match test["result"].as_str().unwrap() {
        "valid" => true,
        "invalid" => false,
        other => panic!("tcId {}: result {other}", test["tcId"]),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn wycheproof_hmac_sha256_through_the_hs256_backend() {
    let cases = cases(WYCHEPROOF_HMAC);
    assert_eq!(cases.len(), 87);
    for (group, test) in &cases {
        assert_eq!(group["tagSize"], 256);
        let (key, msg, tag) = (
            hex(test["key"].as_str().unwrap()),
            hex(test["msg"].as_str().unwrap()),
            hex(test["tag"].as_str().unwrap()),
        );
        let accepted = dangerous::hs256_verifying_key(&key)
            .verify(&msg, &tag)
            .is_ok();
        assert_eq!(accepted, is_valid(test), "tcId {}", test["tcId"]);
        if is_valid(test) {
            let signed = dangerous::hs256_signing_key(&key).sign(&msg).unwrap();
            assert_eq!(signed, tag, "tcId {}", test["tcId"]);
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn wycheproof_ed25519_through_the_eddsa_backend() {
    let cases = cases(WYCHEPROOF_ED25519);
    assert_eq!(cases.len(), 151);
    for (group, test) in &cases {
        let key = VerifyingKey::ed25519(&hex(group["publicKey"]["pk"].as_str().unwrap())).unwrap();
        let (msg, sig) = (
            hex(test["msg"].as_str().unwrap()),
            hex(test["sig"].as_str().unwrap()),
        );
        let accepted = key.verify(&msg, &sig).is_ok();
        assert_eq!(
            accepted,
            is_valid(test),
            "tcId {} ({})",
            test["tcId"],
            test["comment"]
        );
    }
}

/// Wycheproof's known JWS errata (see `tests/vectors/README.md`): the label we hold instead.
const JWS_ERRATA: &[(u64, bool)] = &[
    // "invalidBase64Padding" and "invalidBase64PaddingInPayload" are byte-identical to the
    // valid tcId 357: nothing in them is invalid.
    (367, true),
    (370, true),
    // "InvalidCharacterInserted{InHeader,InPayload}" contain '?', which is not base64url.
    (372, false),
    (373, false),
];

#[wasm_bindgen_test(unsupported = test)]
fn wycheproof_jws_hs256_cases_through_the_signature_layer() {
    let mut checked = 0;
    for (group, test) in cases(WYCHEPROOF_JWS) {
        let jwk = &group["key"];
        if jwk["kty"] != "oct" || jwk["alg"] != "HS256" {
            continue;
        }
        let key =
            dangerous::hs256_verifying_key(&decode_base64url(jwk["k"].as_str().unwrap()).unwrap());
        let id = test["tcId"].as_u64().unwrap();
        let expected = JWS_ERRATA
            .iter()
            .find(|(tc, _)| *tc == id)
            .map_or_else(|| is_valid(&test), |(_, valid)| *valid);
        let outcome = jws::verify_signature(&key, test["jws"].as_str().unwrap());
        assert_eq!(
            outcome.is_ok(),
            expected,
            "tcId {id} ({}): {outcome:?}",
            test["comment"]
        );
        checked += 1;
    }
    // 17 in the hs256 group, 2 from RFC 7520, 21 in the base64 group.
    assert_eq!(checked, 40);
}

#[wasm_bindgen_test(unsupported = test)]
fn wycheproof_jws_other_algorithms_are_all_rejected() {
    // Tollgate supports HS256 and EdDSA only, so every RS*, PS*, ES* token must fail, valid or
    // not, whichever of our keys is offered. (This Wycheproof file has no EdDSA cases.)
    let hs = dangerous::hs256_verifying_key(&[7u8; 32]);
    let ed = VerifyingKey::ed25519(&decode_base64url(RFC8037_A1_X).unwrap()).unwrap();
    let mut checked = 0;
    for (group, test) in cases(WYCHEPROOF_JWS) {
        if group["key"]["kty"] == "oct" {
            continue;
        }
        let jws = test["jws"].as_str().unwrap();
        for key in [&hs, &ed] {
            let outcome = jws::verify_signature(key, jws);
            // Algorithm for RS/PS/ES headers, Shape for the malformed ones, and Signature for
            // tcId 31, an HS256 token MACed with the EC key's bytes (key confusion): under our
            // HS256 key its alg agrees, and the MAC, made with another key, fails.
            assert!(
                matches!(
                    outcome,
                    Err(TokenRejection::Algorithm
                        | TokenRejection::Shape
                        | TokenRejection::Signature)
                ),
                "tcId {} under {key:?}: {outcome:?}",
                test["tcId"]
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 361);
}
