//! Hostile access tokens: every one must be rejected by `token::verify`, each for the reason
//! named in its row. A few near misses that must be accepted sit in their own table, so each
//! rule is shown to be exactly as wide as intended.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tollgate_core::random::{Random, SeededRandom};
use tollgate_core::token::jws::SigningKey;
use tollgate_core::token::{self, KeySet, MAX_NUMERIC_DATE, TokenConfig, dangerous};
use tollgate_core::unverified::encode_base64url;
use tollgate_core::{Error, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use TokenRejection as R;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
const LEEWAY: u64 = 30;

/// Everything a row needs: the HS256 and Ed25519 key sets and keys that sign like them.
struct World {
    secret: String,
    hs: KeySet,
    hs_signer: SigningKey,
    ed: KeySet,
    ed_signer: SigningKey,
}

fn world() -> World {
    let secret = encode_base64url(&SeededRandom::new(7).bytes::<32>());
    let pem = ed25519_pem(&SeededRandom::new(8).bytes::<32>());
    World {
        hs: KeySet::hs256(&secret).unwrap(),
        hs_signer: dangerous::hs256_signing_key(secret.as_bytes()),
        ed: KeySet::ed25519_pem(&pem).unwrap(),
        ed_signer: SigningKey::ed25519_pem(&pem).unwrap(),
        secret,
    }
}

/// A PKCS#8 PEM for an Ed25519 seed, through ed25519-dalek's own encoder.
fn ed25519_pem(seed: &[u8; 32]) -> String {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    ed25519_dalek::SigningKey::from_bytes(seed)
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string()
}

fn config() -> TokenConfig {
    TokenConfig {
        leeway_s: LEEWAY,
        ..TokenConfig::new(ISSUER, AUDIENCE, 900)
    }
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": NOW + 600, "iat": NOW - 300,
        "nbf": NOW - 300, "jti": "jti-1", "sid": "session-1", "role": "user", "scope": "read"
    })
}

fn claims_with(name: &str, value: Value) -> String {
    let mut c = claims();
    c[name] = value;
    c.to_string()
}

fn claims_without(name: &str) -> String {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(name);
    c.to_string()
}

impl World {
    fn hs_header(&self) -> String {
        json!({"alg": "HS256", "typ": "at+jwt", "kid": self.hs.kid()}).to_string()
    }

    fn ed_header(&self) -> String {
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.ed.kid()}).to_string()
    }

    fn hs_header_with(&self, name: &str, value: Value) -> String {
        let mut h: Value = serde_json::from_str(&self.hs_header()).unwrap();
        h[name] = value;
        h.to_string()
    }

    fn hs_header_without(&self, name: &str) -> String {
        let mut h: Value = serde_json::from_str(&self.hs_header()).unwrap();
        h.as_object_mut().unwrap().remove(name);
        h.to_string()
    }

    /// Signs with our HS256 secret: only the contents can make these fail.
    fn hs(&self, header: &str, payload: &str) -> String {
        sign(&self.hs_signer, header, payload)
    }

    fn ed(&self, header: &str, payload: &str) -> String {
        sign(&self.ed_signer, header, payload)
    }

    fn good(&self) -> String {
        self.hs(&self.hs_header(), &claims().to_string())
    }
}

fn sign(key: &SigningKey, header: &str, payload: &str) -> String {
    token::jws::sign_compact(key, header.as_bytes(), payload.as_bytes()).unwrap()
}

/// Signs already-encoded segments, so a test can choose their exact spelling.
fn sign_segments(key: &SigningKey, header_b64: &str, payload_b64: &str) -> String {
    let input = format!("{header_b64}.{payload_b64}");
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", encode_base64url(&signature))
}

/// The same bytes spelled non-canonically: a last character whose unused low bits are set.
fn noncanonical(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused_bits = match segment.len() % 4 {
        2 => 4,
        3 => 2,
        _ => panic!("segment of length {} has no unused bits", segment.len()),
    };
    let last = segment.as_bytes()[segment.len() - 1];
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(value % (1 << unused_bits), 0, "already non-canonical");
    let mut out = segment[..segment.len() - 1].to_string();
    out.push(ALPHABET[value + 1] as char);
    out
}

/// A header JSON padded with spaces until its base64url length leaves unused bits.
fn header_with_unused_bits(w: &World) -> String {
    let mut header = w.hs_header();
    while header.len().is_multiple_of(3) {
        header.insert(1, ' ');
    }
    header
}

fn expect_rejections(keys: &KeySet, rows: &[(&str, String, TokenRejection)]) {
    let config = config();
    let mut failures = Vec::new();
    for (name, token, expected) in rows {
        let got = token::verify(keys, &config, token, NOW);
        if got != Err(Error::InvalidToken(*expected)) {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn expect_accepted(keys: &KeySet, rows: &[(&str, String)]) {
    let config = config();
    for (name, token) in rows {
        let got = token::verify(keys, &config, token, NOW);
        assert!(got.is_ok(), "{name}: {got:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_control_token_is_accepted() {
    // Every row below is a change to this token; if it failed, the rows would prove nothing.
    let w = world();
    let claims = token::verify(&w.hs, &config(), &w.good(), NOW).unwrap();
    assert_eq!(claims.sub, "user-1");
    let ed = w.ed(&w.ed_header(), &self::claims().to_string());
    assert!(token::verify(&w.ed, &config(), &ed, NOW).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn alg_none_in_every_casing_is_rejected() {
    let w = world();
    let body = encode_base64url(claims().to_string().as_bytes());
    let mut rows = Vec::new();
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = encode_base64url(w.hs_header_with("alg", json!(none)).as_bytes());
        // As an unsecured JWS would be sent: the empty signature fails the shape check.
        rows.push((none, format!("{header}.{body}."), R::Shape));
        // With any signature at all, the algorithm itself is refused.
        rows.push((none, format!("{header}.{body}.c2lnbmF0dXJl"), R::Algorithm));
        // Even with a valid HS256 MAC over it: the header must name the key's algorithm.
        rows.push((
            none,
            sign_segments(&w.hs_signer, &header, &body),
            R::Algorithm,
        ));
    }
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn algorithm_swaps_are_rejected() {
    let w = world();
    let body = claims().to_string();
    let no_kid = |alg: &str| json!({"alg": alg, "typ": "at+jwt"}).to_string();
    // The classic confusion: the Ed25519 public key (public knowledge) used as an HMAC secret.
    let jwks: Value = serde_json::from_str(&w.ed.jwks_json()).unwrap();
    let ed_public =
        tollgate_core::unverified::decode_base64url(jwks["keys"][0]["x"].as_str().unwrap())
            .unwrap();
    let public_as_secret = dangerous::hs256_signing_key(&ed_public);
    let ed_rows = [
        (
            "HS256 token, no kid, EdDSA key set",
            w.hs(&no_kid("HS256"), &body),
            R::Algorithm,
        ),
        (
            "HS256 token with our HS kid, EdDSA key set",
            w.good(),
            R::UnknownKey,
        ),
        (
            "HS256 MAC keyed with the Ed25519 public key, Ed kid",
            sign(
                &public_as_secret,
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": w.ed.kid()}).to_string(),
                &body,
            ),
            R::Algorithm,
        ),
    ];
    expect_rejections(&w.ed, &ed_rows);

    let mut hs_rows = vec![
        (
            "EdDSA token, no kid, HS256 key set",
            w.ed(&no_kid("EdDSA"), &body),
            R::Algorithm,
        ),
        (
            "EdDSA header with the HS kid",
            w.ed(
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": w.hs.kid()}).to_string(),
                &body,
            ),
            R::Algorithm,
        ),
    ];
    for alg in [
        "HS384", "HS512", "RS256", "ES256", "PS256", "hs256", "HS256 ", "EDDSA", "",
    ] {
        hs_rows.push((
            alg,
            w.hs(&w.hs_header_with("alg", json!(alg)), &body),
            R::Algorithm,
        ));
    }
    hs_rows.push((
        "alg missing",
        w.hs(&w.hs_header_without("alg"), &body),
        R::Algorithm,
    ));
    hs_rows.push((
        "alg a number",
        w.hs(&w.hs_header_with("alg", json!(256)), &body),
        R::Algorithm,
    ));
    hs_rows.push((
        "alg an array",
        w.hs(&w.hs_header_with("alg", json!(["HS256"])), &body),
        R::Algorithm,
    ));
    expect_rejections(&w.hs, &hs_rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn blank_and_weak_keys_are_rejected() {
    let w = world();
    let header = w.hs_header();
    let body = claims().to_string();
    let mut rows = Vec::new();
    for weak in ["", "secret", "your-256-bit-secret", "changeme", "null"] {
        let forged = sign(
            &dangerous::hs256_signing_key(weak.as_bytes()),
            &header,
            &body,
        );
        rows.push((weak, forged, R::Signature));
    }
    // Our secret with one byte changed.
    let mut near = w.secret.clone().into_bytes();
    near[0] ^= 1;
    rows.push((
        "near miss",
        sign(&dangerous::hs256_signing_key(&near), &header, &body),
        R::Signature,
    ));
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn injected_or_unknown_kids_are_rejected() {
    let w = world();
    let body = claims().to_string();
    let mut rows = Vec::new();
    for kid in [
        "../../../../etc/passwd",
        "/dev/null",
        "' OR '1'='1",
        "x'; DROP TABLE keys; --",
        "unknown-kid",
        "",
        "\u{0000}",
    ] {
        rows.push((
            kid,
            w.hs(&w.hs_header_with("kid", json!(kid)), &body),
            R::UnknownKey,
        ));
    }
    let ours = w.hs.kid().to_string();
    rows.push((
        "our kid uppercased",
        w.hs(&w.hs_header_with("kid", json!(ours.to_uppercase())), &body),
        R::UnknownKey,
    ));
    rows.push((
        "our kid with a space",
        w.hs(&w.hs_header_with("kid", json!(format!("{ours} "))), &body),
        R::UnknownKey,
    ));
    rows.push((
        "kid a number",
        w.hs(&w.hs_header_with("kid", json!(1)), &body),
        R::UnknownKey,
    ));
    rows.push((
        "kid null",
        w.hs(&w.hs_header_with("kid", Value::Null), &body),
        R::UnknownKey,
    ));
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn embedded_keys_key_urls_and_crit_are_rejected() {
    let w = world();
    let body = claims().to_string();
    let jwk = json!({"kty": "oct", "k": encode_base64url(w.secret.as_bytes())});
    let rows = [
        (
            "jwk",
            w.hs(&w.hs_header_with("jwk", jwk), &body),
            R::EmbeddedKey,
        ),
        (
            "jku",
            w.hs(
                &w.hs_header_with("jku", json!("https://evil.example/jwks.json")),
                &body,
            ),
            R::EmbeddedKey,
        ),
        (
            "x5u",
            w.hs(
                &w.hs_header_with("x5u", json!("https://evil.example/cert.pem")),
                &body,
            ),
            R::EmbeddedKey,
        ),
        (
            "x5c",
            w.hs(&w.hs_header_with("x5c", json!(["MIIB"])), &body),
            R::EmbeddedKey,
        ),
        (
            "jku null",
            w.hs(&w.hs_header_with("jku", Value::Null), &body),
            R::EmbeddedKey,
        ),
        (
            "crit",
            w.hs(&w.hs_header_with("crit", json!(["exp"])), &body),
            R::Critical,
        ),
        (
            "crit empty",
            w.hs(&w.hs_header_with("crit", json!([])), &body),
            R::Critical,
        ),
        (
            "crit b64",
            w.hs(
                &w.hs_header_with("crit", json!(["b64"]))
                    .replace('}', ",\"b64\":false}"),
                &body,
            ),
            R::Critical,
        ),
    ];
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn type_confusion_is_rejected() {
    let w = world();
    let body = claims().to_string();
    let mut rows = vec![(
        "typ missing",
        w.hs(&w.hs_header_without("typ"), &body),
        R::Type,
    )];
    for typ in [
        "JWT",
        "jwt",
        "at+jwt ",
        " at+jwt",
        "at+jwt; charset=utf-8",
        "application/jwt",
        "application/application/at+jwt",
        "at-jwt",
        "secevent+jwt",
        "",
    ] {
        rows.push((
            typ,
            w.hs(&w.hs_header_with("typ", json!(typ)), &body),
            R::Type,
        ));
    }
    rows.push((
        "typ a number",
        w.hs(&w.hs_header_with("typ", json!(1)), &body),
        R::Type,
    ));
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn access_token_types_are_accepted_in_either_spelling_and_any_case() {
    // RFC 9068 §4 accepts "at+jwt" and "application/at+jwt"; media types ignore case
    // (RFC 7515 §4.1.9).
    let w = world();
    let body = claims().to_string();
    let rows: Vec<(&str, String)> = [
        "at+jwt",
        "at+JWT",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+jwt",
    ]
    .into_iter()
    .map(|typ| (typ, w.hs(&w.hs_header_with("typ", json!(typ)), &body)))
    .collect();
    expect_accepted(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn claims_of_the_wrong_type_are_rejected() {
    let w = world();
    let header = w.hs_header();
    let mut rows = Vec::new();
    for (claim, value) in [
        ("exp", json!((NOW + 600).to_string())),
        ("nbf", json!((NOW - 300).to_string())),
        ("iat", json!((NOW - 300).to_string())),
        ("exp", json!(1.7e9)),
        ("exp", json!((NOW + 600) as f64 + 0.5)),
        ("exp", json!(-1)),
        ("nbf", json!(-300)),
        ("exp", json!(MAX_NUMERIC_DATE + 1)),
        ("exp", json!(u64::MAX)),
        ("exp", Value::Null),
        ("exp", json!(true)),
        ("exp", json!([NOW + 600])),
        ("sub", json!(1)),
        ("sub", Value::Null),
        ("iss", json!([ISSUER])),
        ("jti", json!({"id": 1})),
        ("sid", json!(false)),
        ("role", json!(["admin"])),
        ("scope", json!(["read"])),
        ("aud", json!(1)),
        ("aud", json!({"aud": AUDIENCE})),
        ("aud", json!([AUDIENCE, 1])),
    ] {
        rows.push((
            claim,
            w.hs(&header, &claims_with(claim, value)),
            R::ClaimType,
        ));
    }
    // A float spelled with an exponent past u64: serde_json reads it as a float.
    rows.push((
        "exp 1e20",
        w.hs(
            &header,
            &claims()
                .to_string()
                .replace(&format!("\"exp\":{}", NOW + 600), "\"exp\":1e20"),
        ),
        R::ClaimType,
    ));
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn each_missing_required_claim_is_rejected() {
    let w = world();
    let header = w.hs_header();
    let required = [
        "iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid", "role", "scope",
    ];
    let rows: Vec<_> = required
        .iter()
        .map(|claim| {
            (
                *claim,
                w.hs(&header, &claims_without(claim)),
                R::MissingClaim,
            )
        })
        .collect();
    expect_rejections(&w.hs, &rows);
    // A claim present but null is a type error, not a missing claim.
    let null_sub = w.hs(&header, &claims_with("sub", Value::Null));
    expect_rejections(&w.hs, &[("sub null", null_sub, R::ClaimType)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn wrong_or_partial_issuer_and_audience_are_rejected() {
    let w = world();
    let header = w.hs_header();
    let mut rows = Vec::new();
    for iss in [
        "https://auth.example.co",
        "https://auth.example.com/",
        "https://auth.example.com.evil.example",
        "HTTPS://AUTH.EXAMPLE.COM",
        "http://auth.example.com",
        " https://auth.example.com",
        "",
    ] {
        rows.push((
            iss,
            w.hs(&header, &claims_with("iss", json!(iss))),
            R::Issuer,
        ));
    }
    for aud in [
        json!("https://api.example.co"),
        json!("https://api.example.com/"),
        json!("https://api.example.com.evil.example"),
        json!("https://API.example.com"),
        json!(""),
        json!([]),
        json!(["https://other.example.com"]),
        json!([AUDIENCE, "https://other.example.com"]),
        json!([AUDIENCE, AUDIENCE]),
    ] {
        rows.push(("aud", w.hs(&header, &claims_with("aud", aud)), R::Audience));
    }
    expect_rejections(&w.hs, &rows);
    // The one accepted array form: exactly our audience, alone.
    let one = w.hs(&header, &claims_with("aud", json!([AUDIENCE])));
    expect_accepted(&w.hs, &[("aud [ours]", one)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn duplicate_keys_are_rejected_in_header_and_payload_at_any_depth() {
    let w = world();
    let kid = w.hs.kid();
    let body = claims().to_string();
    let inner = &body[1..body.len() - 1];
    let rows = [
        (
            "header alg twice (HS256 then none)",
            w.hs(
                &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","alg":"none"}}"#),
                &body,
            ),
            R::DuplicateKey,
        ),
        (
            "header typ twice",
            w.hs(
                &format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}","typ":"at+jwt"}}"#),
                &body,
            ),
            R::DuplicateKey,
        ),
        (
            "header kid twice, spelled with an escape",
            w.hs(
                &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","\u006bid":"other"}}"#),
                &body,
            ),
            R::DuplicateKey,
        ),
        (
            "header nested object with a duplicate",
            w.hs(
                &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","ext":{{"a":1,"a":2}}}}"#),
                &body,
            ),
            R::DuplicateKey,
        ),
        (
            "payload sub twice",
            w.hs(&w.hs_header(), &format!(r#"{{{inner},"sub":"admin"}}"#)),
            R::DuplicateKey,
        ),
        (
            "payload exp twice",
            w.hs(
                &w.hs_header(),
                &format!(r#"{{{inner},"exp":{}}}"#, NOW + 999_999),
            ),
            R::DuplicateKey,
        ),
        (
            "payload duplicate inside an array of objects",
            w.hs(
                &w.hs_header(),
                &format!(r#"{{{inner},"ext":[{{"r":1}},{{"r":1,"r":2}}]}}"#),
            ),
            R::DuplicateKey,
        ),
    ];
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn encoding_and_shape_tricks_are_rejected() {
    let w = world();
    let good = w.good();
    let (header_b64, rest) = good.split_once('.').unwrap();
    let (payload_b64, signature_b64) = rest.split_once('.').unwrap();
    let odd_header = encode_base64url(header_with_unused_bits(&w).as_bytes());
    let body = claims().to_string();
    let mut odd_body = body.clone();
    while odd_body.len().is_multiple_of(3) {
        odd_body.insert(1, ' ');
    }
    let odd_payload = encode_base64url(odd_body.as_bytes());
    let rows = [
        // Non-canonical spellings, each segment MACed as spelled so only the encoding is wrong.
        (
            "non-canonical header",
            sign_segments(&w.hs_signer, &noncanonical(&odd_header), &odd_payload),
            R::Base64,
        ),
        (
            "non-canonical payload",
            sign_segments(&w.hs_signer, &odd_header, &noncanonical(&odd_payload)),
            R::Base64,
        ),
        (
            "non-canonical signature",
            format!("{header_b64}.{payload_b64}.{}", noncanonical(signature_b64)),
            R::Base64,
        ),
        (
            "impossible segment length",
            format!("{header_b64}.{payload_b64}.{signature_b64}AA"),
            R::Base64,
        ),
        ("padding", format!("{good}="), R::Shape),
        (
            "padded header",
            format!("{header_b64}=.{payload_b64}.{signature_b64}"),
            R::Shape,
        ),
        (
            "standard alphabet",
            format!(
                "{header_b64}.{payload_b64}.{}",
                signature_b64.replace('-', "+").replace('_', "/") + "+"
            ),
            R::Shape,
        ),
        ("leading space", format!(" {good}"), R::Shape),
        ("trailing newline", format!("{good}\n"), R::Shape),
        (
            "space inside",
            format!("{header_b64}. {payload_b64}.{signature_b64}"),
            R::Shape,
        ),
        ("Bearer prefix", format!("Bearer {good}"), R::Shape),
        (
            "fourth segment",
            format!("{good}.{signature_b64}"),
            R::Shape,
        ),
        ("trailing dot", format!("{good}."), R::Shape),
        (
            "JWE-like five segments",
            format!("{header_b64}.{payload_b64}.{payload_b64}.{payload_b64}.{signature_b64}"),
            R::Shape,
        ),
        (
            "two segments",
            format!("{header_b64}.{payload_b64}"),
            R::Shape,
        ),
        ("empty", String::new(), R::Shape),
        (
            "oversized",
            w.hs(&w.hs_header(), &claims_with("pad", json!("x".repeat(9000)))),
            R::Oversized,
        ),
        ("header not JSON", w.hs("not json", &body), R::Json),
        ("header an array", w.hs("[1]", &body), R::Json),
        (
            "header with trailing bytes",
            w.hs(&format!("{} x", w.hs_header()), &body),
            R::Json,
        ),
        (
            "header not UTF-8",
            sign_segments(
                &w.hs_signer,
                &encode_base64url(b"{\"alg\":\"HS256\xff\"}"),
                payload_b64,
            ),
            R::Json,
        ),
        ("payload an array", w.hs(&w.hs_header(), "[]"), R::Json),
        (
            "payload a string",
            w.hs(&w.hs_header(), "\"claims\""),
            R::Json,
        ),
        (
            "payload two objects",
            w.hs(&w.hs_header(), &format!("{body}{body}")),
            R::Json,
        ),
        (
            "payload with a comment",
            w.hs(&w.hs_header(), &format!("/*x*/{body}")),
            R::Json,
        ),
        (
            "payload tampered",
            format!(
                "{header_b64}.{}.{signature_b64}",
                encode_base64url(claims_with("role", json!("admin")).as_bytes())
            ),
            R::Signature,
        ),
        (
            "signature of the wrong length",
            format!("{header_b64}.{payload_b64}.{}", &signature_b64[..40]),
            R::Signature,
        ),
    ];
    expect_rejections(&w.hs, &rows);
}

#[wasm_bindgen_test(unsupported = test)]
fn time_claims_are_checked_with_the_leeway() {
    let w = world();
    let header = w.hs_header();
    let at = |claim: &str, value: u64| w.hs(&header, &claims_with(claim, json!(value)));
    let rows = [
        (
            "exp just past the leeway",
            at("exp", NOW - LEEWAY),
            R::Expired,
        ),
        ("exp long past", at("exp", NOW - 86_400), R::Expired),
        ("exp zero", at("exp", 0), R::Expired),
        (
            "nbf just past the leeway",
            at("nbf", NOW + LEEWAY + 1),
            R::NotYetValid,
        ),
        (
            "nbf far future",
            at("nbf", MAX_NUMERIC_DATE),
            R::NotYetValid,
        ),
        (
            "iat just past the leeway",
            at("iat", NOW + LEEWAY + 1),
            R::NotYetValid,
        ),
    ];
    expect_rejections(&w.hs, &rows);
    expect_accepted(
        &w.hs,
        &[
            ("exp within the leeway", at("exp", NOW - LEEWAY + 1)),
            ("exp at the largest date", at("exp", MAX_NUMERIC_DATE)),
            ("nbf at the edge of the leeway", at("nbf", NOW + LEEWAY)),
            ("iat at the edge of the leeway", at("iat", NOW + LEEWAY)),
            ("nbf zero", at("nbf", 0)),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn extra_claims_and_header_members_are_allowed() {
    // RFC 9068 lists optional claims (client_id, auth_time, acr, ...); a header may carry
    // harmless members such as cty. They are checked for duplicates but otherwise ignored.
    let w = world();
    let mut c = claims();
    c["client_id"] = json!("web");
    c["nested"] = json!({"a": [1, {"b": null}], "c": 1.5});
    let header = w.hs_header_with("cty", json!("json"));
    expect_accepted(&w.hs, &[("extras", w.hs(&header, &c.to_string()))]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_random_forgery_is_rejected() {
    // Random signatures of the right length over a valid header and payload.
    let w = world();
    let good = w.good();
    let (input, _) = good.rsplit_once('.').unwrap();
    let mut rng = SeededRandom::new(99);
    let rows: Vec<_> = (0..32)
        .map(|_| {
            let sig: [u8; 32] = rng.bytes();
            (
                "random",
                format!("{input}.{}", encode_base64url(&sig)),
                R::Signature,
            )
        })
        .collect();
    expect_rejections(&w.hs, &rows);
}
