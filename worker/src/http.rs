//! Request parsing and response building: bodies, content types, cookies, CORS, headers.
//!
//! Parsing is strict and bounded: bodies over 16 KiB are refused while streaming (413), the
//! content type must be the route's (415), and anything that does not parse is a 422 with a
//! stable code. Nothing here panics on input.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use tollgate_core::time::{UnixSeconds, format_http_date};
use tollgate_core::{Error, ErrorCode, FieldError};
use worker::{Headers, Request, Response};

use crate::error::AuthError;

/// Largest request body accepted, in bytes. Auth bodies are a few hundred bytes; 16 KiB
/// leaves room for long passwords (1024 bytes at most) and refuses megabytes before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The refresh cookie's name. The `__Secure-` prefix makes browsers refuse it unless it comes
/// with `Secure` over a secure origin (ASVS 5.0 V3.3.1); `__Host-` would also require `Path=/`,
/// and the cookie is deliberately scoped to `/auth` so no other route ever receives it.
pub const REFRESH_COOKIE: &str = "__Secure-tollgate_refresh";

/// The path the refresh cookie is scoped to: only `/auth/*` requests carry it.
pub const REFRESH_COOKIE_PATH: &str = "/auth";

/// How much of a refused body is still read (and discarded) before answering 413, in bytes.
/// Answering while the client is still sending makes some proxies (wrangler dev's among them)
/// drop the exchange instead of delivering the 413; bodies beyond this are cut off regardless.
const MAX_DRAIN_BYTES: usize = 1024 * 1024;

/// Reads the whole body, refusing it once it passes [`MAX_BODY_BYTES`].
///
/// # Errors
/// [`AuthError::PayloadTooLarge`]; [`AuthError::MalformedBody`] if the body stream breaks.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, AuthError> {
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new()); // no body at all
    };
    let mut body = Vec::new();
    let mut too_large = declared.is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| AuthError::MalformedBody("the body could not be read"))?;
        seen += chunk.len();
        if too_large || seen > MAX_BODY_BYTES {
            too_large = true;
            body.clear();
            if seen > MAX_DRAIN_BYTES {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        Err(AuthError::PayloadTooLarge)
    } else {
        Ok(body)
    }
}

/// The request's media type, lower-cased, without parameters (`application/json`).
pub fn media_type(req: &Request) -> Option<String> {
    let value = req.headers().get("Content-Type").ok().flatten()?;
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (!media.is_empty()).then_some(media)
}

/// Requires the body's media type to be `expected`.
///
/// # Errors
/// [`AuthError::UnsupportedMediaType`].
pub fn require_media_type(req: &Request, expected: &'static str) -> Result<(), AuthError> {
    if media_type(req).as_deref() == Some(expected) {
        Ok(())
    } else {
        Err(AuthError::UnsupportedMediaType(expected))
    }
}

/// Parses a JSON object.
///
/// # Errors
/// [`AuthError::MalformedBody`] for anything that is not a JSON object in UTF-8.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, AuthError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AuthError::MalformedBody("expected a JSON object")),
        Err(_) => Err(AuthError::MalformedBody("not valid JSON")),
    }
}

/// The string values of `names` in a JSON object, in order.
///
/// # Errors
/// [`Error::Validation`] with a `missing_field` entry for each name that is absent or not a string.
pub fn string_fields<'a, const N: usize>(
    object: &'a Map<String, Value>,
    names: [&str; N],
) -> Result<[&'a str; N], AuthError> {
    let mut missing = Vec::new();
    let values = names.map(|name| match object.get(name) {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            missing.push(FieldError::new(name, ErrorCode::MissingField));
            ""
        }
    });
    if missing.is_empty() {
        Ok(values)
    } else {
        Err(Error::Validation(missing).into())
    }
}

/// Parses `application/x-www-form-urlencoded` strictly (WHATWG URL §5.1, but refusing bad
/// percent-escapes and invalid UTF-8 instead of replacing them).
///
/// # Errors
/// [`AuthError::MalformedBody`].
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, AuthError> {
    let malformed = || AuthError::MalformedBody("not valid form data");
    let mut pairs = Vec::new();
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut split = part.splitn(2, |&b| b == b'=');
        let name = decode_form_component(split.next().unwrap_or(&[])).ok_or_else(malformed)?;
        let value = decode_form_component(split.next().unwrap_or(&[])).ok_or_else(malformed)?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn decode_form_component(input: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The single value of form field `name`.
///
/// # Errors
/// [`AuthError::MalformedBody`] when the field is repeated (which value would count?).
pub fn form_field<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, AuthError> {
    let mut found = pairs
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(AuthError::MalformedBody(
            "a form field appears more than once",
        ));
    }
    Ok(first)
}

/// The origin (`scheme://host[:port]`) of the request's own URL.
///
/// The runtime hands the URL over already serialized by the WHATWG URL rules (lower-case host,
/// punycode, default port omitted), which is exactly the form of an `Origin` header, so the
/// origin is the text before the path; nothing is re-parsed. (Parsing with the `url` crate
/// would also link its Unicode IDNA tables into the Worker, a sizeable part of its upload.)
pub fn own_origin(req: &Request) -> String {
    let url = req.inner().url();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_string()
}

/// The decoded value of query parameter `name`, if present once or more (the first wins).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    let url = req.inner().url();
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_form_component(key.as_bytes())? == name)
            .then(|| decode_form_component(value.as_bytes()))
            .flatten()
    })
}

/// The value of cookie `name` in the `Cookie` header (RFC 6265 §5.4).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The `Set-Cookie` value that stores a refresh token for `max_age_s` seconds.
pub fn refresh_cookie(token: &str, max_age_s: u64) -> String {
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age_s}"
    )
}

/// The `Set-Cookie` value that removes the refresh cookie.
pub fn clear_refresh_cookie() -> String {
    format!(
        "{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age=0"
    )
}

/// A JSON response with `status`.
pub fn json_response(status: u16, body: &Value) -> Response {
    let text = body.to_string();
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json");
    Response::from_bytes(text.into_bytes())
        .map(|r| r.with_status(status).with_headers(headers))
        .unwrap_or_else(|_| {
            // Building a response from bytes cannot fail in practice; fall back to an empty one.
            empty_response(status)
        })
}

/// A response with no body.
pub fn empty_response(status: u16) -> Response {
    Response::builder().with_status(status).empty()
}

/// Adds the headers every API response carries: `Date` (clients estimate clock skew from it),
/// `Cache-Control: no-store` unless the handler chose otherwise (tokens and account data must
/// not be cached, RFC 6749 §5.1), `X-Content-Type-Options: nosniff`, `Referrer-Policy:
/// no-referrer` (nothing the API links to learns where a user was), and CORS for an allowed
/// `Origin`. Static assets bypass the Worker; `worker/public/_headers` gives them the same
/// headers and the HTML pages their Content-Security-Policy.
pub fn finish(
    mut response: Response,
    now: UnixSeconds,
    origin: Option<&str>,
    allowed_origins: &[String],
) -> Response {
    let headers = response.headers_mut();
    let _ = headers.set("Date", &format_http_date(now));
    if !headers.has("Cache-Control").unwrap_or(false) {
        let _ = headers.set("Cache-Control", "no-store");
    }
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    let _ = headers.set("Referrer-Policy", "no-referrer");
    let _ = headers.append("Vary", "Origin");
    if let Some(origin) = origin.filter(|o| allowed_origins.iter().any(|a| a == o)) {
        let _ = headers.set("Access-Control-Allow-Origin", origin);
        let _ = headers.set("Access-Control-Allow-Credentials", "true");
        let _ = headers.set(
            "Access-Control-Expose-Headers",
            "Date, Retry-After, WWW-Authenticate",
        );
    }
    response
}

/// The answer to a CORS preflight (`OPTIONS`): allowed origins get the methods and headers
/// the API uses; others get no CORS headers, which the browser treats as a refusal.
pub fn preflight(origin: Option<&str>, allowed_origins: &[String]) -> Response {
    let response = empty_response(204);
    if origin.is_some_and(|o| allowed_origins.iter().any(|a| a == o)) {
        let headers = response.headers();
        let _ = headers.set(
            "Access-Control-Allow-Methods",
            "GET, POST, PUT, DELETE, OPTIONS",
        );
        let _ = headers.set(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type",
        );
        let _ = headers.set("Access-Control-Max-Age", "600");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_strictly() {
        let pairs =
            parse_form(b"username=sam%40example.com&password=p%C3%A4ss+word&grant_type=password")
                .unwrap();
        assert_eq!(pairs[0], ("username".into(), "sam@example.com".into()));
        assert_eq!(pairs[1], ("password".into(), "päss word".into()));
        assert_eq!(form_field(&pairs, "grant_type").unwrap(), Some("password"));
        assert_eq!(form_field(&pairs, "scope").unwrap(), None);
        for bad in [&b"a=%"[..], b"a=%zz", b"a=%C3", b"a=%FF"] {
            assert!(parse_form(bad).is_err(), "{bad:?}");
        }
        let dup = parse_form(b"username=a&username=b").unwrap();
        assert!(form_field(&dup, "username").is_err());
        assert_eq!(parse_form(b"").unwrap(), vec![]);
        assert_eq!(
            parse_form(b"flag").unwrap(),
            vec![("flag".into(), String::new())]
        );
    }

    #[test]
    fn json_bodies_must_be_objects_with_string_fields() {
        assert!(json_object(b"{\"a\":1}").is_ok());
        for bad in [&b"[]"[..], b"\"s\"", b"{", b"", b"\xff"] {
            assert!(
                matches!(json_object(bad), Err(AuthError::MalformedBody(_))),
                "{bad:?}"
            );
        }
        let obj = json_object(br#"{"email":"a@b.io","password":5}"#).unwrap();
        let err = string_fields(&obj, ["email", "password", "role"]).unwrap_err();
        let AuthError::Core(Error::Validation(fields)) = err else {
            panic!()
        };
        assert_eq!(
            fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["password", "role"]
        );
    }

    #[test]
    fn refresh_cookies_are_locked_down() {
        let c = refresh_cookie("tok", 60);
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/auth",
            "Max-Age=60",
        ] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        assert!(clear_refresh_cookie().contains("Max-Age=0"));
    }
}
