//! `tollgate keygen`: a `JWT_SECRET`, or an Ed25519 `JWT_PRIVATE_KEY` with its public JWK, or
//! a Standard Webhooks `EMAIL_WEBHOOK_SECRET`.
//!
//! Both are checked with the same core constructors the Worker configures itself with
//! ([`KeySet::hs256`], [`KeySet::ed25519_pem`]), so what this prints is what the Worker accepts.

use std::io::{IsTerminal, Write};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use serde_json::Value;
use tollgate_core::random::Random;
use tollgate_core::token::KeySet;
use tollgate_core::webhook::WebhookSecret;

use crate::error::{CliError, core_message};
use crate::os_random::OsRandom;

/// Length of a generated `JWT_SECRET`, in bytes: RFC 7518 §3.2 asks for an HS256 key of at
/// least the hash output size (256 bits). Printed as 43 base64url characters.
pub const SECRET_BYTES: usize = 32;

/// A new HS256 secret that [`KeySet::hs256`] accepts, with that key set.
///
/// The core's strength heuristics refuse about one random secret in ten million (a chance
/// run or word); a refused one is simply drawn again.
///
/// # Errors
/// [`CliError::Hashing`] if ten draws in a row were refused, which means the generator is broken.
pub fn new_hs256_secret(rng: &mut OsRandom) -> Result<(String, KeySet), CliError> {
    let mut last_error = None;
    for _ in 0..10 {
        let secret = URL_SAFE_NO_PAD.encode(rng.bytes::<SECRET_BYTES>());
        match KeySet::hs256(&secret) {
            Ok(keys) => return Ok((secret, keys)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(CliError::Hashing {
        message: format!(
            "ten generated secrets in a row were refused ({}); the random generator is not working",
            last_error.map(|e| core_message(&e)).unwrap_or_default()
        ),
    })
}

/// A new Ed25519 private key as PKCS#8 PEM, with the key set the core builds from it.
///
/// # Errors
/// [`CliError::Hashing`] if the key cannot be encoded or the core refuses it (neither
/// happens with a working build).
pub fn new_ed25519_key(rng: &mut OsRandom) -> Result<(String, KeySet), CliError> {
    // PKCS#8 v1 without the public key, byte for byte what `openssl genpkey -algorithm
    // ed25519` writes, so every tool that reads OpenSSL's keys reads this one.
    let pem = KeypairBytes {
        secret_key: rng.bytes::<32>(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|_| CliError::Hashing {
        message: "could not encode the Ed25519 key as PKCS#8 PEM".into(),
    })?;
    let keys = KeySet::ed25519_pem(&pem).map_err(|e| CliError::Hashing {
        message: format!("the core refused the new key: {}", core_message(&e)),
    })?;
    Ok((pem.to_string(), keys))
}

/// The current public key of `keys` as a JWK object, taken from the core's own JWKS document
/// so its `kid` is exactly the RFC 7638 thumbprint the Worker publishes.
pub fn public_jwk(keys: &KeySet) -> Option<Value> {
    let jwks: Value = serde_json::from_str(&keys.jwks_json()).ok()?;
    jwks.get("keys")?.get(0).cloned()
}

/// Runs `tollgate keygen`: the secret (or PEM) alone on stdout, so it can be piped into
/// `wrangler secret put`; the kid, public JWK and next steps on stderr.
///
/// # Errors
/// [`CliError::Io`] when stdout cannot be written or the OS generator fails.
pub fn run(ed25519: bool) -> Result<(), CliError> {
    let mut rng = OsRandom::new()?;
    let mut stdout = std::io::stdout().lock();
    let write_err = |e: std::io::Error| CliError::io_on("writing to stdout", &e);
    if ed25519 {
        let (pem, keys) = new_ed25519_key(&mut rng)?;
        stdout.write_all(pem.as_bytes()).map_err(write_err)?;
        if !pem.ends_with('\n') {
            stdout.write_all(b"\n").map_err(write_err)?;
        }
        stdout.flush().map_err(write_err)?;
        let jwk = public_jwk(&keys).unwrap_or(Value::Null);
        eprintln!("kid: {}", keys.kid());
        eprintln!("public JWK: {jwk}");
        eprintln!(
            "Store the private key (stdout) as a Worker secret, writing it to a file only you can \
             read (a subshell keeps the umask to this one command):\n  \
             (umask 077; tollgate keygen --ed25519 > jwt_private_key.pem)\n  \
             npx wrangler secret put JWT_PRIVATE_KEY < jwt_private_key.pem\n\
             Tokens will carry kid {kid}; /.well-known/jwks.json publishes the public JWK. \
             When you rotate, put this JWK in JWT_PREVIOUS_PUBLIC_KEYS as {{\"keys\":[<jwk>]}}.",
            kid = keys.kid()
        );
    } else {
        let (secret, keys) = new_hs256_secret(&mut rng)?;
        // `wrangler secret put` stores piped stdin byte for byte, and the core uses the secret
        // exactly as given: a newline would silently become part of the key. Only a terminal
        // gets one, for the prompt's sake.
        let ending = if stdout.is_terminal() { "\n" } else { "" };
        write!(stdout, "{secret}{ending}").map_err(write_err)?;
        stdout.flush().map_err(write_err)?;
        eprintln!("kid: {}", keys.kid());
        eprintln!(
            "Store it (stdout) as the Worker's JWT_SECRET:\n  \
             tollgate keygen | npx wrangler secret put JWT_SECRET"
        );
    }
    Ok(())
}

/// Runs `tollgate keygen --webhook`: a new `whsec_` secret alone on stdout (checked with the
/// parser the Worker configures itself with), the next steps on stderr.
///
/// # Errors
/// [`CliError::Io`] when stdout cannot be written or the OS generator fails;
/// [`CliError::Hashing`] if the core refuses what it generated (a broken build).
pub fn run_webhook() -> Result<(), CliError> {
    let mut rng = OsRandom::new()?;
    let secret = WebhookSecret::generate(&mut rng);
    WebhookSecret::parse(&secret).map_err(|e| CliError::Hashing {
        message: format!("the core refused the new secret: {}", core_message(&e)),
    })?;
    let mut stdout = std::io::stdout().lock();
    let write_err = |e: std::io::Error| CliError::io_on("writing to stdout", &e);
    // No newline when piped: `wrangler secret put` would keep it (see `run`).
    let ending = if stdout.is_terminal() { "\n" } else { "" };
    write!(stdout, "{secret}{ending}").map_err(write_err)?;
    stdout.flush().map_err(write_err)?;
    eprintln!(
        "Store it (stdout) as the Worker's EMAIL_WEBHOOK_SECRET, and give the same value to the \
         mailer that receives the messages (any Standard Webhooks library verifies them):\n  \
         tollgate keygen --webhook | npx wrangler secret put EMAIL_WEBHOOK_SECRET"
    );
    Ok(())
}
