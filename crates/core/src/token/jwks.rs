//! JSON Web Key Sets of Ed25519 public keys: reading them (the previous keys kept for rotation,
//! a verify-only guard's keys), writing the public document, and naming keys by RFC 7638
//! thumbprint.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::jws::{ED25519_PUBLIC_KEY_BYTES, VerifyingKey};
use super::strict_json;
use crate::error::{Error, TokenRejection};
use crate::unverified::{decode_base64url, encode_base64url};

/// One Ed25519 public key with its `kid`.
#[derive(Clone, Debug)]
pub(crate) struct PublicJwk {
    pub(crate) kid: String,
    pub(crate) key: VerifyingKey,
    pub(crate) x: [u8; ED25519_PUBLIC_KEY_BYTES],
}

/// The RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the required members in
/// lexicographic order without whitespace (RFC 8037 §2 names them: `crv`, `kty`, `x`),
/// base64url-encoded.
pub(crate) fn thumbprint(x: &[u8; ED25519_PUBLIC_KEY_BYTES]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        encode_base64url(x)
    );
    encode_base64url(&Sha256::digest(canonical.as_bytes()))
}

/// Renders `{"keys":[...]}` with one `OKP`/`Ed25519` signature key per entry.
pub(crate) fn render<'a>(
    keys: impl Iterator<Item = (&'a str, &'a [u8; ED25519_PUBLIC_KEY_BYTES])>,
) -> String {
    let mut out = String::from(r#"{"keys":["#);
    for (i, (kid, x)) in keys.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // A kid from JWT_PREVIOUS_PUBLIC_KEYS may need escaping; Value's Display does it.
        out.push_str(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}","kid":{},"alg":"EdDSA","use":"sig"}}"#,
            encode_base64url(x),
            Value::String(String::from(kid)),
        ));
    }
    out.push_str("]}");
    out
}

/// Members a previous key may carry; anything else is refused so that a pasted document with
/// private material or unexpected semantics fails loudly.
const ALLOWED_MEMBERS: &[&str] = &["kty", "crv", "x", "kid", "alg", "use", "key_ops"];

/// Parses a JWKS of Ed25519 public keys, each with a unique `kid`: `JWT_PREVIOUS_PUBLIC_KEYS`,
/// a guard's `JWT_PUBLIC_KEYS`, or the document at its `JWKS_URL`; `source` names it in errors.
///
/// # Errors
/// [`Error::Misconfigured`] starting with `source` and saying which key and member is wrong:
/// not strict JSON (duplicate keys included), a top-level member other than `keys`, a key that
/// is not `OKP`/`Ed25519`, a private key (`d`), a bad `x`, a missing or empty `kid`, an `alg`
/// other than `EdDSA`, a `use` other than `sig`, `key_ops` without `verify`, or the same `kid`
/// twice.
pub(crate) fn parse(source: &str, jwks_json: &str) -> Result<Vec<PublicJwk>, Error> {
    let refuse = |why: String| Error::Misconfigured(format!("{source} {why}"));
    let document = strict_json::parse_value(jwks_json.as_bytes()).map_err(|r| match r {
        TokenRejection::DuplicateKey => refuse("repeats a JSON member name".into()),
        _ => refuse("is not a JSON object".into()),
    })?;
    let Value::Object(document) = document else {
        return Err(refuse("is not a JSON object".into()));
    };
    if let Some(other) = document.keys().find(|k| *k != "keys") {
        return Err(refuse(format!(
            "has an unexpected member {other:?}; only \"keys\" is allowed"
        )));
    }
    let Some(Value::Array(entries)) = document.get("keys") else {
        return Err(refuse("needs a \"keys\" array".into()));
    };
    let mut keys: Vec<PublicJwk> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let key = parse_key(entry).map_err(|why| refuse(format!("key {i}: {why}")))?;
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(refuse(format!("key {i}: kid {:?} appears twice", key.kid)));
        }
        keys.push(key);
    }
    Ok(keys)
}

fn parse_key(entry: &Value) -> Result<PublicJwk, String> {
    let Value::Object(jwk) = entry else {
        return Err("is not a JSON object".into());
    };
    if jwk.contains_key("d") {
        return Err("holds a private key (\"d\"); list public keys only".into());
    }
    if let Some(other) = jwk.keys().find(|k| !ALLOWED_MEMBERS.contains(&k.as_str())) {
        return Err(format!("has an unsupported member {other:?}"));
    }
    let text = |name: &str| match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("\"{name}\" must be a string")),
    };
    if text("kty")? != Some("OKP") || text("crv")? != Some("Ed25519") {
        return Err("only Ed25519 keys (\"kty\":\"OKP\",\"crv\":\"Ed25519\") are supported".into());
    }
    if text("alg")?.is_some_and(|alg| alg != "EdDSA") {
        return Err("\"alg\" must be \"EdDSA\"".into());
    }
    if text("use")?.is_some_and(|u| u != "sig") {
        return Err("\"use\" must be \"sig\"".into());
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = match ops {
            Value::Array(ops) => ops.iter().any(|op| op == "verify"),
            _ => false,
        };
        if !verifies {
            return Err("\"key_ops\" must be an array including \"verify\"".into());
        }
    }
    let kid = match text("kid")? {
        Some(kid) if !kid.is_empty() => String::from(kid),
        _ => return Err("needs a non-empty \"kid\"".into()),
    };
    let x_bytes = text("x")?
        .ok_or_else(|| String::from("needs \"x\""))
        .and_then(|x| decode_base64url(x).map_err(|_| String::from("\"x\" is not base64url")))?;
    let x: [u8; ED25519_PUBLIC_KEY_BYTES] = x_bytes
        .as_slice()
        .try_into()
        .map_err(|_| String::from("\"x\" is not 32 bytes"))?;
    let key = VerifyingKey::ed25519(&x)
        .map_err(|_| String::from("\"x\" is not a valid Ed25519 public key"))?;
    Ok(PublicJwk { kid, key, x })
}
