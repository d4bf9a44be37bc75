//! The relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`) and ES256 through WebCrypto.
//!
//! ECDSA P-256 is verified by the runtime's `crypto.subtle` rather than a Rust P-256 crate:
//! the Worker's upload stays small, and the core still decides everything but the one
//! signature check ([`tollgate_core::passkey::Es256Verifier`]).

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use tollgate_core::Error;
use tollgate_core::passkey::{Es256Verifier, RelyingParty};
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;

/// The relying party from `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`, each defaulting from the
/// other or from `APP_URL`'s origin; `None` when nothing names one (the passkey routes then
/// answer 503 `misconfigured`).
///
/// When neither var is set, the relying party comes from `APP_URL` alone, and an `APP_URL`
/// that browsers would not take as one (an IP address, plain http off `localhost`) only leaves
/// passkeys off: `APP_URL` has other uses (links in emails, where a provider's sign-in comes
/// back), and a deployment without passkeys must not fail over it.
///
/// # Errors
/// [`Error::Misconfigured`] naming the variable, for a var that is set: an RP ID that is not a
/// domain name, an origin that is not `http(s)://host[:port]`, plain http anywhere but
/// `localhost`, or an origin whose host is not the RP ID or a subdomain of it (browsers would
/// refuse it).
pub fn relying_party(
    rp_id: Option<&str>,
    origins: Option<&str>,
    app_url: Option<&str>,
) -> Result<Option<RelyingParty>, Error> {
    let set = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    if !set(rp_id) && !set(origins) {
        let origin = app_url.and_then(origin_of);
        return Ok(checked(None, origin.as_deref(), None).ok().flatten());
    }
    checked(rp_id, origins, app_url)
}

/// [`relying_party`] with every check failing loudly.
fn checked(
    rp_id: Option<&str>,
    origins: Option<&str>,
    app_url: Option<&str>,
) -> Result<Option<RelyingParty>, Error> {
    let bad = |why: String| Error::Misconfigured(why);
    let origins: Vec<String> = match origins.map(str::trim).filter(|o| !o.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect(),
        None => app_url.and_then(origin_of).into_iter().collect(),
    };
    let mut hosts = Vec::with_capacity(origins.len());
    for origin in &origins {
        let host = host_of(origin).ok_or_else(|| {
            bad(format!(
                "WEBAUTHN_ORIGINS must list origins like https://example.com, got {origin:?}"
            ))
        })?;
        hosts.push(host);
    }
    let rp_id = match rp_id.map(str::trim).filter(|r| !r.is_empty()) {
        Some(id) => id.to_ascii_lowercase(),
        None => match hosts.first() {
            Some(host) => host.clone(),
            None => return Ok(None),
        },
    };
    let domain = !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        // An IP address is not a valid RP ID (WebAuthn Level 3 §5.1.3 needs a domain).
        && !rp_id.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !domain {
        return Err(bad(format!(
            "WEBAUTHN_RP_ID must be a domain name such as example.com, got {rp_id:?}"
        )));
    }
    if origins.is_empty() {
        return Err(bad(
            "WEBAUTHN_ORIGINS is empty: list the origins passkeys are used on (or set APP_URL)"
                .into(),
        ));
    }
    for (origin, host) in origins.iter().zip(&hosts) {
        if *host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
            return Err(bad(format!(
                "WEBAUTHN_ORIGINS: {origin} is not on WEBAUTHN_RP_ID {rp_id} or a subdomain of it"
            )));
        }
        // Browsers treat `localhost` and its subdomains as secure contexts, and no other
        // plain-http origin.
        if origin.starts_with("http://") && host != "localhost" && !host.ends_with(".localhost") {
            return Err(bad(format!(
                "WEBAUTHN_ORIGINS: {origin} must be https (browsers allow http only on localhost)"
            )));
        }
    }
    Ok(Some(RelyingParty { id: rp_id, origins }))
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}"))
}

/// The lower-cased host of an origin that is exactly `http(s)://host[:port]`.
fn host_of(origin: &str) -> Option<String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then(|| host.to_ascii_lowercase())
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey)]
    fn import_key(
        format: &str,
        key: &Uint8Array,
        algorithm: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Promise;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify)]
    fn subtle_verify(
        algorithm: &Object,
        key: &JsValue,
        signature: &Uint8Array,
        data: &Uint8Array,
    ) -> Promise;
}

/// ES256 with the runtime's WebCrypto (`ECDSA`, `P-256`, `SHA-256`; raw `r || s`).
pub struct WebCryptoEs256;

fn algorithm(pairs: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    object
}

impl Es256Verifier for WebCryptoEs256 {
    async fn verify_es256(&self, key: &[u8; 65], message: &[u8], signature: &[u8; 64]) -> bool {
        let usages = Array::of1(&JsValue::from_str("verify"));
        let import = import_key(
            "raw",
            &Uint8Array::from(&key[..]),
            &algorithm(&[("name", "ECDSA"), ("namedCurve", "P-256")]),
            false,
            &usages,
        );
        // A point not on the curve is refused by the import: a refused signature.
        let Ok(key) = JsFuture::from(import).await else {
            return false;
        };
        let verify = subtle_verify(
            &algorithm(&[("name", "ECDSA"), ("hash", "SHA-256")]),
            &key,
            &Uint8Array::from(&signature[..]),
            &Uint8Array::from(message),
        );
        matches!(JsFuture::from(verify).await, Ok(v) if v.as_bool() == Some(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_defaults_from_app_url_and_refuses_what_browsers_would() {
        let rp = relying_party(None, None, Some("https://app.example.com/account"))
            .unwrap()
            .unwrap();
        assert_eq!(rp.id, "app.example.com");
        assert_eq!(rp.origins, ["https://app.example.com"]);
        let rp = relying_party(
            Some("example.com"),
            Some("https://a.example.com, https://example.com/"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rp.origins, ["https://a.example.com", "https://example.com"]);
        let local = relying_party(None, Some("http://localhost:8787"), None)
            .unwrap()
            .unwrap();
        assert_eq!(local.id, "localhost");
        assert_eq!(relying_party(None, None, None), Ok(None));
        // An APP_URL browsers would not take as a relying party leaves passkeys off, and
        // misconfigures nothing else; the same values named in the vars are refused below.
        for app_url in [
            "http://127.0.0.1:8787/",
            "http://app.example.com/",
            "not a url",
        ] {
            assert_eq!(
                relying_party(None, None, Some(app_url)),
                Ok(None),
                "{app_url}"
            );
        }
        for (id, origins) in [
            (Some("example.com"), Some("https://evil.com")),
            (Some("ample.com"), Some("https://example.com")),
            (None, Some("http://example.com")),
            (None, Some("https://example.com/path")),
            (None, Some("example.com")),
            (Some("127.0.0.1"), Some("http://127.0.0.1:8787")),
            (Some("https://example.com"), Some("https://example.com")),
            (Some("example.com"), None),
        ] {
            assert!(
                matches!(
                    relying_party(id, origins, None),
                    Err(Error::Misconfigured(_))
                ),
                "{id:?} {origins:?}"
            );
        }
    }
}
