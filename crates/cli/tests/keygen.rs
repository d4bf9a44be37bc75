//! `tollgate keygen`: what it prints is what the Worker's key configuration accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::tollgate;
use serde_json::Value;
use tollgate_core::random::SeededRandom;
use tollgate_core::token::{self, KeySet, NewAccessToken, TokenConfig};

const NOW: u64 = 1_750_000_000;

/// Signs a token with `keys` and verifies it, as the Worker does on login and on each request.
fn round_trip(keys: &KeySet) {
    let config = TokenConfig::new("tollgate", "tollgate", 900);
    let new = NewAccessToken {
        subject: "0f8fad5b-d9cb-469f-a165-70867728950e",
        session_id: "s",
        role: "user",
        scope: "profile sessions",
        email_verified: false,
        amr: &[],
    };
    let (jwt, _) = token::issue(keys, &config, &new, NOW, &mut SeededRandom::new(1)).unwrap();
    let claims = token::verify(keys, &config, &jwt, NOW + 1).unwrap();
    assert_eq!(claims.sub, new.subject);
}

#[test]
fn the_secret_is_32_random_bytes_of_base64url_that_hs256_accepts() {
    let first = tollgate(&["keygen"], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Piped, there is no newline for `wrangler secret put` to keep.
    let secret = first.stdout.as_str();
    assert_eq!(secret.len(), 43, "{secret:?}");
    assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
    let keys = KeySet::hs256(secret).expect("the Worker accepts the secret");
    round_trip(&keys);
    assert!(
        first.stderr.contains(&format!("kid: {}", keys.kid())),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("wrangler secret put JWT_SECRET"));

    let second = tollgate(&["keygen"], "");
    assert_ne!(
        second.stdout, first.stdout,
        "two runs must not print the same secret"
    );
}

#[test]
fn the_ed25519_key_is_pkcs8_pem_and_its_jwk_kid_is_the_worker_kid() {
    let run = tollgate(&["keygen", "--ed25519"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pem = run.stdout.as_str();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"), "{pem}");
    let keys = KeySet::ed25519_pem(pem).expect("the Worker accepts the PEM");
    round_trip(&keys);

    let jwk_line = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("public JWK: "))
        .expect("the public JWK is printed");
    let jwk: Value = serde_json::from_str(jwk_line).unwrap();
    assert_eq!(
        jwk["kid"],
        keys.kid(),
        "the printed kid is the RFC 7638 thumbprint"
    );
    let published: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    assert_eq!(
        published["keys"][0], jwk,
        "the JWK is what /.well-known/jwks.json lists"
    );
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(jwk.get("d").is_none(), "no private material in the JWK");
    assert!(
        !run.stderr.contains("PRIVATE KEY"),
        "the key itself only goes to stdout"
    );

    let other = tollgate(&["keygen", "--ed25519"], "");
    assert_ne!(other.stdout, run.stdout);
}

/// A private key redirected to a file under the usual umask (022) would be world-readable:
/// every place that tells the user to redirect it sets a private umask first.
#[test]
fn the_advice_to_redirect_a_private_key_sets_a_private_umask() {
    let run = tollgate(&["keygen", "--ed25519"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let help = tollgate(&["keygen", "--help"], "");
    assert_eq!(help.code, 0, "{}", help.stderr);
    for (what, text) in [("stderr", &run.stderr), ("--help", &help.stdout)] {
        let redirects: Vec<&str> = text.lines().filter(|l| l.contains("--ed25519 >")).collect();
        assert!(!redirects.is_empty(), "{what} shows a redirection: {text}");
        for line in redirects {
            assert!(
                line.contains("(umask 077; tollgate keygen --ed25519 >"),
                "{what}: {line}"
            );
        }
    }
}

#[test]
fn the_webhook_secret_is_whsec_base64_that_the_worker_accepts() {
    let first = tollgate(&["keygen", "--webhook"], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let secret = first.stdout.as_str();
    let encoded = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    assert_eq!(STANDARD.decode(encoded).unwrap().len(), 32, "{secret:?}");
    tollgate_core::webhook::WebhookSecret::parse(secret).expect("the Worker accepts it");
    assert!(
        first
            .stderr
            .contains("wrangler secret put EMAIL_WEBHOOK_SECRET")
    );
    let second = tollgate(&["keygen", "--webhook"], "");
    assert_ne!(second.stdout, first.stdout);
    let both = tollgate(&["keygen", "--webhook", "--ed25519"], "");
    assert_ne!(both.code, 0, "--webhook and --ed25519 are exclusive");
}
