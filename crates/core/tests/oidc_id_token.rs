//! ID tokens from identity providers: known answers nobody here wrote (RFC 7515 Appendix A.2
//! and A.3, RFC 8037 Appendix A.4), run through exactly the code the Worker runs
//! (`oidc::id_token::check_signature`), and a hostile table of tokens that must be refused,
//! each for its own reason.
//!
//! RS256 and ES256 arithmetic is delegated to a `SignatureBackend` (the Worker's WebCrypto);
//! here an independent implementation (RustCrypto's `rsa` and `p256`) plays that part, so the
//! vectors check the core's decisions (allowlist, key selection, lengths) and the wiring.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ed25519_dalek::Signer;
use p256::ecdsa::signature::Verifier as _;
use serde_json::json;
use tollgate_core::TokenRejection;
use tollgate_core::oidc::id_token::{
    EdDsaOnly, IdTokenAlgorithm, IdTokenExpectations, KeyMaterial, ProviderKeys, SignatureBackend,
    check_signature, verify_id_token,
};
use tollgate_core::unverified::{decode_base64url, encode_base64url};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the test backend never waits"),
    }
}

/// RS256 and ES256 through RustCrypto, as WebCrypto does them in the Worker.
struct RustCrypto;

impl SignatureBackend for RustCrypto {
    async fn verify(
        &self,
        alg: IdTokenAlgorithm,
        key: &KeyMaterial,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        match (alg, key) {
            (IdTokenAlgorithm::Rs256, KeyMaterial::Rsa { n, e }) => {
                let Ok(public) = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(n),
                    rsa::BigUint::from_bytes_be(e),
                ) else {
                    return false;
                };
                let key = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(public);
                let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                key.verify(message, &signature).is_ok()
            }
            (IdTokenAlgorithm::Es256, KeyMaterial::P256 { x, y }) => {
                let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
                let Ok(key) = p256::ecdsa::VerifyingKey::from_encoded_point(&point) else {
                    return false;
                };
                let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(message, &signature).is_ok()
            }
            _ => panic!("the core handed the backend a key that does not fit {alg:?}"),
        }
    }
}

// --- RFC 7515 Appendix A.2: RS256 -------------------------------------------------------------

/// RFC 7515 Appendix A.2.1: the RSA public key (`n`, `e`).
const RFC7515_A2_JWKS: &str = r#"{"keys":[{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}]}"#;
/// RFC 7515 Appendix A.2.1: the complete JWS (header `{"alg":"RS256"}`).
const RFC7515_A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// --- RFC 7515 Appendix A.3: ES256 -------------------------------------------------------------

/// RFC 7515 Appendix A.3.1: the P-256 public key (`x`, `y`).
const RFC7515_A3_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
/// RFC 7515 Appendix A.3.1: the complete JWS (header `{"alg":"ES256"}`; ECDSA signatures are
/// randomised, so this one can only be verified, never reproduced).
const RFC7515_A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// RFC 7515 A.2/A.3's payload: `{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}`.
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// --- RFC 8037 Appendix A: Ed25519 -------------------------------------------------------------

/// RFC 8037 Appendix A.1: the public key `x`.
const RFC8037_A1_JWKS: &str =
    r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
/// RFC 8037 Appendix A.4: header `{"alg":"EdDSA"}`, payload "Example of Ed25519 signing".
const RFC8037_A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn keys(jwks: &str) -> ProviderKeys {
    ProviderKeys::from_jwks(jwks).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a2_rs256_verifies_with_its_public_key() {
    let signed = run(check_signature(
        &RustCrypto,
        &keys(RFC7515_A2_JWKS),
        RFC7515_A2_JWS,
    ))
    .unwrap();
    assert_eq!(signed.algorithm, IdTokenAlgorithm::Rs256);
    assert_eq!(signed.payload, RFC7515_PAYLOAD);
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc7515_a3_es256_verifies_with_its_public_key() {
    let signed = run(check_signature(
        &RustCrypto,
        &keys(RFC7515_A3_JWKS),
        RFC7515_A3_JWS,
    ))
    .unwrap();
    assert_eq!(signed.algorithm, IdTokenAlgorithm::Es256);
    assert_eq!(signed.payload, RFC7515_PAYLOAD);
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc8037_a4_eddsa_verifies_in_the_core_without_the_backend() {
    let signed = run(check_signature(
        &EdDsaOnly,
        &keys(RFC8037_A1_JWKS),
        RFC8037_A4_JWS,
    ))
    .unwrap();
    assert_eq!(signed.algorithm, IdTokenAlgorithm::EdDsa);
    assert_eq!(signed.payload, b"Example of Ed25519 signing");
}

/// Flips one bit of the segment `index` (0 header, 1 payload, 2 signature), keeping it valid
/// base64url of the same length.
fn flip(jws: &str, index: usize) -> String {
    let mut parts: Vec<Vec<u8>> = jws
        .split('.')
        .map(|p| decode_base64url(p).unwrap())
        .collect();
    let last = parts[index].len() - 1;
    parts[index][last / 2] ^= 0x01;
    parts
        .iter()
        .map(|p| encode_base64url(p))
        .collect::<Vec<_>>()
        .join(".")
}

#[wasm_bindgen_test(unsupported = test)]
fn the_vectors_fail_when_any_signed_byte_changes() {
    for (jwks, jws) in [
        (RFC7515_A2_JWKS, RFC7515_A2_JWS),
        (RFC7515_A3_JWKS, RFC7515_A3_JWS),
        (RFC8037_A1_JWKS, RFC8037_A4_JWS),
    ] {
        for segment in [1, 2] {
            assert_eq!(
                run(check_signature(
                    &RustCrypto,
                    &keys(jwks),
                    &flip(jws, segment)
                )),
                Err(TokenRejection::Signature),
                "{jws} segment {segment}"
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_vector_is_refused_under_another_algorithms_key() {
    // The RS256 token against the P-256 key, and the other way round: the key decides.
    assert_eq!(
        run(check_signature(
            &RustCrypto,
            &keys(RFC7515_A3_JWKS),
            RFC7515_A2_JWS
        )),
        Err(TokenRejection::Algorithm)
    );
    assert_eq!(
        run(check_signature(
            &RustCrypto,
            &keys(RFC7515_A2_JWKS),
            RFC7515_A3_JWS
        )),
        Err(TokenRejection::Algorithm)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn jwks_documents_keep_only_usable_signing_keys() {
    let jwks = json!({"keys": [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "short"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "use": "enc", "kid": "enc"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "alg": "RS256", "kid": "wrong-alg"},
        // A small-order point: verifies forged signatures.
        {"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "kid": "weak"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "good"}
    ]});
    let parsed = keys(&jwks.to_string());
    let kids: Vec<_> = parsed.keys().iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some("good")]);
    assert_eq!(
        ProviderKeys::from_jwks(r#"{"keys":[],"keys":[]}"#),
        Err(TokenRejection::DuplicateKey)
    );
    assert_eq!(ProviderKeys::from_jwks("[]"), Err(TokenRejection::Json));
}

// --- ID tokens: a provider of our own, signing with Ed25519 -----------------------------------

const ISSUER: &str = "https://idp.example";
const CLIENT: &str = "tollgate-app";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: u64 = 1_800_000_000;
const SEED: [u8; 32] = [7; 32];
const OTHER_SEED: [u8; 32] = [9; 32];

fn provider_jwks() -> String {
    let x = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
    json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": encode_base64url(x.as_bytes()), "kid": "k1", "use": "sig"}]})
        .to_string()
}

fn sign_raw(seed: &[u8; 32], header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", encode_base64url(header), encode_base64url(payload));
    let signature = ed25519_dalek::SigningKey::from_bytes(seed).sign(input.as_bytes());
    format!("{input}.{}", encode_base64url(&signature.to_bytes()))
}

fn good_claims() -> serde_json::Value {
    json!({
        "iss": ISSUER, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 300, "iat": NOW,
        "nonce": NONCE, "email": "jane@example.com", "email_verified": true
    })
}

fn token_with(header: serde_json::Value, claims: serde_json::Value) -> String {
    sign_raw(
        &SEED,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

fn good_header() -> serde_json::Value {
    json!({"alg": "EdDSA", "kid": "k1", "typ": "JWT"})
}

fn with(
    claims: serde_json::Value,
    f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> serde_json::Value {
    let mut claims = claims;
    f(claims.as_object_mut().unwrap());
    claims
}

fn verify(token: &str) -> Result<tollgate_core::oidc::IdTokenClaims, TokenRejection> {
    run(verify_id_token(
        &RustCrypto,
        &keys(&provider_jwks()),
        token,
        &IdTokenExpectations {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce: NONCE,
            now: NOW,
        },
    ))
}

#[wasm_bindgen_test(unsupported = test)]
fn a_good_id_token_verifies_and_yields_the_identity() {
    let claims = verify(&token_with(good_header(), good_claims())).unwrap();
    assert_eq!(claims.sub, "248289761001");
    assert_eq!(claims.email.as_deref(), Some("jane@example.com"));
    assert!(claims.email_verified);
    // Without `email_verified`, the email is not verified; without `typ` or `kid` (one key),
    // the token is still fine.
    let claims = verify(&token_with(
        json!({"alg": "EdDSA"}),
        with(good_claims(), |c| {
            c.remove("email_verified");
        }),
    ))
    .unwrap();
    assert!(!claims.email_verified);
    // Several audiences with azp naming us.
    let multi = with(good_claims(), |c| {
        c.insert("aud".into(), json!([CLIENT, "other"]));
        c.insert("azp".into(), json!(CLIENT));
    });
    assert!(verify(&token_with(good_header(), multi)).is_ok());
}

/// Every way an ID token must be refused, with its reason.
#[wasm_bindgen_test(unsupported = test)]
fn hostile_id_tokens_are_refused_each_for_its_reason() {
    use TokenRejection::*;
    let claims = good_claims;
    let header = good_header;
    let unsigned = |h: serde_json::Value, c: serde_json::Value| {
        format!(
            "{}.{}.",
            encode_base64url(h.to_string().as_bytes()),
            encode_base64url(c.to_string().as_bytes())
        )
    };
    let good = token_with(header(), claims());
    let cases: Vec<(&str, String, TokenRejection)> = vec![
        (
            "alg none, no signature",
            unsigned(json!({"alg": "none"}), claims()),
            Shape,
        ),
        (
            "alg none with a signature segment",
            format!("{}x", unsigned(json!({"alg": "none"}), claims())),
            Algorithm,
        ),
        (
            "alg NONE",
            token_with(json!({"alg": "NONE", "kid": "k1"}), claims()),
            Algorithm,
        ),
        // The client secret would be the key: anyone with it (every copy of the app) could sign.
        (
            "alg HS256",
            token_with(json!({"alg": "HS256", "kid": "k1"}), claims()),
            Algorithm,
        ),
        (
            "alg RS512",
            token_with(json!({"alg": "RS512", "kid": "k1"}), claims()),
            Algorithm,
        ),
        (
            "alg eddsa (casing)",
            token_with(json!({"alg": "eddsa", "kid": "k1"}), claims()),
            Algorithm,
        ),
        (
            "alg missing",
            token_with(json!({"kid": "k1"}), claims()),
            Algorithm,
        ),
        (
            "RS256 header on an Ed25519 key",
            token_with(json!({"alg": "RS256", "kid": "k1"}), claims()),
            Algorithm,
        ),
        (
            "crit",
            token_with(
                json!({"alg": "EdDSA", "kid": "k1", "crit": ["exp"]}),
                claims(),
            ),
            Critical,
        ),
        (
            "embedded jwk",
            token_with(json!({"alg": "EdDSA", "kid": "k1", "jwk": {}}), claims()),
            EmbeddedKey,
        ),
        (
            "jku",
            token_with(
                json!({"alg": "EdDSA", "kid": "k1", "jku": "https://evil.example/jwks"}),
                claims(),
            ),
            EmbeddedKey,
        ),
        (
            "x5u",
            token_with(
                json!({"alg": "EdDSA", "kid": "k1", "x5u": "https://evil.example/cert"}),
                claims(),
            ),
            EmbeddedKey,
        ),
        (
            "typ at+jwt",
            token_with(
                json!({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}),
                claims(),
            ),
            Type,
        ),
        (
            "unknown kid",
            token_with(json!({"alg": "EdDSA", "kid": "k2"}), claims()),
            UnknownKey,
        ),
        (
            "kid not a string",
            token_with(json!({"alg": "EdDSA", "kid": 1}), claims()),
            UnknownKey,
        ),
        // Signed with a key the provider does not publish, under the published kid.
        (
            "signed by an unpublished key",
            sign_raw(
                &OTHER_SEED,
                header().to_string().as_bytes(),
                claims().to_string().as_bytes(),
            ),
            Signature,
        ),
        ("tampered payload", flip(&good, 1), Signature),
        ("tampered signature", flip(&good, 2), Signature),
        (
            "signature too short",
            format!("{}.AAAA", good.rsplit_once('.').unwrap().0),
            Signature,
        ),
        (
            "duplicate claim",
            sign_raw(
                &SEED,
                header().to_string().as_bytes(),
                br#"{"sub":"a","sub":"b"}"#,
            ),
            DuplicateKey,
        ),
        (
            "payload not an object",
            sign_raw(&SEED, header().to_string().as_bytes(), b"[1]"),
            Json,
        ),
        (
            "wrong iss",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("iss".into(), json!("https://evil.example"));
                }),
            ),
            Issuer,
        ),
        (
            "iss with a trailing slash",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("iss".into(), json!("https://idp.example/"));
                }),
            ),
            Issuer,
        ),
        (
            "no iss",
            token_with(
                header(),
                with(claims(), |c| {
                    c.remove("iss");
                }),
            ),
            MissingClaim,
        ),
        (
            "wrong aud",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("aud".into(), json!("another-app"));
                }),
            ),
            Audience,
        ),
        (
            "aud list without us",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("aud".into(), json!(["a", "b"]));
                }),
            ),
            Audience,
        ),
        (
            "several audiences, no azp",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("aud".into(), json!([CLIENT, "other"]));
                }),
            ),
            Audience,
        ),
        (
            "azp of another client",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("azp".into(), json!("other"));
                }),
            ),
            Audience,
        ),
        (
            "no aud",
            token_with(
                header(),
                with(claims(), |c| {
                    c.remove("aud");
                }),
            ),
            MissingClaim,
        ),
        (
            "aud a number",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("aud".into(), json!(1));
                }),
            ),
            ClaimType,
        ),
        (
            "expired",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("exp".into(), json!(NOW - 31));
                }),
            ),
            Expired,
        ),
        (
            "exp a string",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("exp".into(), json!("1800000300"));
                }),
            ),
            ClaimType,
        ),
        (
            "exp beyond year 9999",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("exp".into(), json!(253_402_300_800u64));
                }),
            ),
            ClaimType,
        ),
        (
            "no exp",
            token_with(
                header(),
                with(claims(), |c| {
                    c.remove("exp");
                }),
            ),
            MissingClaim,
        ),
        (
            "issued in the future",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("iat".into(), json!(NOW + 31));
                }),
            ),
            NotYetValid,
        ),
        (
            "issued long ago (a replay)",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("iat".into(), json!(NOW - 700));
                }),
            ),
            Expired,
        ),
        (
            "no iat",
            token_with(
                header(),
                with(claims(), |c| {
                    c.remove("iat");
                }),
            ),
            MissingClaim,
        ),
        (
            "wrong nonce",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("nonce".into(), json!("another"));
                }),
            ),
            Nonce,
        ),
        (
            "no nonce",
            token_with(
                header(),
                with(claims(), |c| {
                    c.remove("nonce");
                }),
            ),
            MissingClaim,
        ),
        (
            "empty sub",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("sub".into(), json!(""));
                }),
            ),
            ClaimType,
        ),
        (
            "sub of 256 bytes",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("sub".into(), json!("s".repeat(256)));
                }),
            ),
            ClaimType,
        ),
        (
            "sub a number",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("sub".into(), json!(1));
                }),
            ),
            ClaimType,
        ),
        (
            "email_verified a string",
            token_with(
                header(),
                with(claims(), |c| {
                    c.insert("email_verified".into(), json!("true"));
                }),
            ),
            ClaimType,
        ),
        (
            "oversized",
            format!("{}.{}.sig", "a".repeat(5000), "b".repeat(5000)),
            Oversized,
        ),
        ("two segments", "abc.def".to_string(), Shape),
    ];
    for (name, token, want) in cases {
        assert_eq!(verify(&token).map(|_| ()), Err(want), "{name}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn two_keys_without_a_kid_select_nothing() {
    let a = ed25519_dalek::SigningKey::from_bytes(&SEED).verifying_key();
    let b = ed25519_dalek::SigningKey::from_bytes(&OTHER_SEED).verifying_key();
    let jwks = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": encode_base64url(a.as_bytes())},
        {"kty": "OKP", "crv": "Ed25519", "x": encode_base64url(b.as_bytes())}
    ]});
    let token = token_with(json!({"alg": "EdDSA"}), good_claims());
    assert_eq!(
        run(check_signature(
            &EdDsaOnly,
            &keys(&jwks.to_string()),
            &token
        ))
        .map(|_| ()),
        Err(TokenRejection::UnknownKey)
    );
}
