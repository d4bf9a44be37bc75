//! Request parsing and response building: bodies, content types, cookies, CORS, headers.
//!
//! Parsing is strict and bounded: bodies over 16 KiB are refused while streaming (413), the
//! content type must be the route's (415), and anything that does not parse is a 422 with a
//! stable code. Nothing here panics on input.

use futures_util::StreamExt;
use serde_json::{Map, Value};
use tollgate_core::time::{UnixSeconds, format_http_date};
use tollgate_core::{Error, ErrorCode, FieldError};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::worker_sys::web_sys;

use crate::error::AuthError;
use crate::incoming::Incoming;

/// Largest request body accepted, in bytes. Auth bodies are a few hundred bytes; 16 KiB
/// leaves room for long passwords (1024 bytes at most) and refuses megabytes before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The refresh cookie's name. The `__Host-` prefix (RFC 6265bis §4.1.3.2) makes browsers
/// refuse it unless it is set with `Secure`, from a secure origin, without a `Domain` and with
/// `Path=/` (ASVS 5.0 V3.3.1, V3.3.3). So no other host, not even a sibling subdomain that can
/// set cookies on the parent domain, can plant a cookie of this name that the browser would
/// send here ahead of the real one ("cookie tossing"): a tossed cookie would sign the victim
/// into the attacker's session at the next refresh. SECURITY.md, "Cookies", says why this
/// beats the `__Secure-` name scoped to `/auth` that it replaces.
pub const REFRESH_COOKIE: &str = "__Host-tollgate_refresh";

/// The path the refresh cookie is scoped to: `/`, which the `__Host-` prefix requires.
pub const REFRESH_COOKIE_PATH: &str = "/";

/// How much of a refused body is still read (and discarded) before answering 413, in bytes.
/// Answering while the client is still sending makes some proxies (wrangler dev's among them)
/// drop the exchange instead of delivering the 413; bodies beyond this are cut off regardless.
const MAX_DRAIN_BYTES: usize = 1024 * 1024;

/// Reads the whole body, refusing it once it passes [`MAX_BODY_BYTES`].
///
/// # Errors
/// [`AuthError::PayloadTooLarge`]; [`AuthError::MalformedBody`] if the body stream breaks.
pub async fn read_body(req: &mut Incoming) -> Result<Vec<u8>, AuthError> {
    let declared = req
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(mut stream) = req.take_body() else {
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
pub fn media_type(req: &Incoming) -> Option<String> {
    let value = req.header("Content-Type")?;
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
pub fn require_media_type(req: &Incoming, expected: &'static str) -> Result<(), AuthError> {
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
pub fn own_origin(req: &Incoming) -> String {
    let url = req.url();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_string()
}

/// The decoded value of query parameter `name` in `url`, if present once or more (the first
/// wins).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_form_component(key.as_bytes())? == name)
            .then(|| decode_form_component(value.as_bytes()))
            .flatten()
    })
}

/// The cookie `name` appears more than once in a request's `Cookie` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateCookie;

/// The value of cookie `name` in the `Cookie` header (RFC 6265 §5.4), or `None` when absent.
/// Names compare exactly (a `__HOST-` spelling is another cookie).
///
/// # Errors
/// [`DuplicateCookie`] when the name appears twice or more: one copy was planted by someone
/// else, and which one is real cannot be told.
pub fn cookie(req: &Incoming, name: &str) -> Result<Option<String>, DuplicateCookie> {
    match req.header("Cookie") {
        Some(header) => cookie_in(&header, name).map(|v| v.map(str::to_string)),
        None => Ok(None),
    }
}

/// [`cookie`] on the header's text.
fn cookie_in<'a>(header: &'a str, name: &str) -> Result<Option<&'a str>, DuplicateCookie> {
    let mut values = header.split(';').filter_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"'))
    });
    let first = values.next();
    if values.next().is_some() {
        return Err(DuplicateCookie);
    }
    Ok(first)
}

/// Which refresh cookie: first-party only (the default), or, with `CROSS_SITE_COOKIES`, one an
/// app on another site can use: `SameSite=None`, which cross-site requests carry, and
/// `Partitioned` (CHIPS), so the browser keeps it apart for each top-level site (the app's)
/// and accepts it where it refuses other third-party cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieMode {
    /// `SameSite=Strict`.
    FirstParty,
    /// `SameSite=None; Partitioned`.
    CrossSite,
}

impl CookieMode {
    /// The mode `CROSS_SITE_COOKIES` chooses.
    pub fn new(cross_site_cookies: bool) -> CookieMode {
        if cross_site_cookies {
            CookieMode::CrossSite
        } else {
            CookieMode::FirstParty
        }
    }

    /// The other mode.
    #[must_use]
    pub fn other(self) -> CookieMode {
        match self {
            CookieMode::FirstParty => CookieMode::CrossSite,
            CookieMode::CrossSite => CookieMode::FirstParty,
        }
    }

    fn attributes(self) -> &'static str {
        match self {
            CookieMode::FirstParty => "SameSite=Strict",
            CookieMode::CrossSite => "SameSite=None; Partitioned",
        }
    }
}

/// The `Set-Cookie` value that stores a refresh token for `max_age_s` seconds.
pub fn refresh_cookie(token: &str, max_age_s: u64, mode: CookieMode) -> String {
    let attributes = mode.attributes();
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; {attributes}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age_s}"
    )
}

/// The `Set-Cookie` value that removes the refresh cookie of `mode`. A partitioned cookie is
/// another cookie than an unpartitioned one of the same name: each is removed by its own.
pub fn clear_refresh_cookie(mode: CookieMode) -> String {
    let attributes = mode.attributes();
    format!(
        "{REFRESH_COOKIE}=; HttpOnly; Secure; {attributes}; Path={REFRESH_COOKIE_PATH}; Max-Age=0"
    )
}

/// A response as the Worker builds it. Status, headers and body stay in Rust until
/// [`Reply::into_raw`] hands them to the runtime in a single call: setting each header on a
/// runtime `Headers` object from Rust is one call out of the wasm per header, and those calls
/// were a good part of the cost of serving a request (BENCHMARKS.md, "What dominates").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
}

impl Reply {
    /// A JSON response with `status`.
    pub fn json(status: u16, body: &Value) -> Self {
        Self::json_text(status, body.to_string())
    }

    /// A response with `status` whose body is already serialized JSON.
    pub fn json_text(status: u16, text: String) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", "application/json".to_string())],
            body: Some(text),
        }
    }

    /// A response with no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// The value of header `name` (ASCII case-insensitive), if set; the first if appended more
    /// than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name` to `value`, replacing any value it had.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
    }

    /// Adds a value of header `name`, keeping those it had.
    pub fn append(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.push((name, value.into()));
    }

    /// The same response with `name` set to `value`.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// The same status and headers without the body: the answer to `HEAD`.
    #[must_use]
    pub fn without_body(mut self) -> Self {
        self.body = None;
        self
    }

    /// The headers as `name:value` lines for `respond` (worker/js/respond.js). A value the
    /// runtime's `Headers` would refuse is dropped, as setting it one by one would have
    /// failed alone: one holding CR, LF or NUL (a line break must never start a header of its
    /// own) or a character beyond U+00FF (header values are byte strings).
    fn head(&self) -> String {
        let mut head = String::new();
        for (name, value) in &self.headers {
            if value
                .chars()
                .any(|c| matches!(c, '\r' | '\n' | '\0') || c > '\u{ff}')
            {
                continue;
            }
            if !head.is_empty() {
                head.push('\n');
            }
            head.push_str(name);
            head.push(':');
            head.push_str(value);
        }
        head
    }

    /// The runtime's `Response`, built in one call out of the wasm.
    pub fn into_raw(self) -> web_sys::Response {
        let head = self.head();
        respond(self.status, self.body.as_deref(), &head)
    }
}

#[wasm_bindgen(module = "/js/respond.js")]
extern "C" {
    /// `new Response(body, { status, headers })`, the headers parsed from `head`.
    fn respond(status: u16, body: Option<&str>, head: &str) -> web_sys::Response;
}

/// Adds the headers every API response carries: `Date` (clients estimate clock skew from it),
/// `Cache-Control: no-store` unless the handler chose otherwise (tokens and account data must
/// not be cached, RFC 6749 §5.1), `X-Content-Type-Options: nosniff`, `Referrer-Policy:
/// no-referrer` (nothing the API links to learns where a user was), and CORS for an allowed
/// `Origin`. Static assets bypass the Worker; `worker/public/_headers` gives them the same
/// headers and the HTML pages their Content-Security-Policy.
pub fn finish(
    mut response: Reply,
    now: UnixSeconds,
    origin: Option<&str>,
    allowed_origins: &[String],
) -> Reply {
    response.set("Date", format_http_date(now));
    if response.header("Cache-Control").is_none() {
        response.set("Cache-Control", "no-store");
    }
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Referrer-Policy", "no-referrer");
    response.append("Vary", "Origin");
    if let Some(origin) = origin.filter(|o| allowed_origins.iter().any(|a| a == o)) {
        response.set("Access-Control-Allow-Origin", origin);
        response.set("Access-Control-Allow-Credentials", "true");
        response.set(
            "Access-Control-Expose-Headers",
            "Date, Retry-After, WWW-Authenticate",
        );
    }
    response
}

/// The answer to a CORS preflight (`OPTIONS`): allowed origins get the methods and headers
/// the API uses; others get no CORS headers, which the browser treats as a refusal.
pub fn preflight(origin: Option<&str>, allowed_origins: &[String]) -> Reply {
    let mut response = Reply::empty(204);
    if origin.is_some_and(|o| allowed_origins.iter().any(|a| a == o)) {
        response.set(
            "Access-Control-Allow-Methods",
            "GET, POST, PUT, DELETE, OPTIONS",
        );
        response.set(
            "Access-Control-Allow-Headers",
            // `same_site::CSRF_HEADER`, which the client sends with every request.
            "Authorization, Content-Type, Tollgate-CSRF",
        );
        response.set("Access-Control-Max-Age", "600");
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
    fn replies_keep_headers_until_the_end() {
        let mut reply = Reply::json(201, &serde_json::json!({ "a": 1 }));
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.set("Cache-Control", "no-store");
        reply.set("cache-control", "public, max-age=300");
        assert_eq!(reply.header("Cache-Control"), Some("public, max-age=300"));
        reply.append("Vary", "Origin");
        reply.append("Vary", "Cookie");
        assert_eq!(
            reply.head(),
            "Content-Type:application/json\ncache-control:public, max-age=300\nVary:Origin\nVary:Cookie"
        );
        let head = reply.clone().without_body();
        assert_eq!(
            (head.status, head.body, head.headers),
            (201, None, reply.headers)
        );
        assert_eq!(Reply::empty(204).head(), "");
    }

    /// A value that the runtime's `Headers` would refuse is dropped, never split into a
    /// header of its own, and never fails the whole response.
    #[test]
    fn a_line_break_in_a_value_cannot_add_a_header() {
        let mut reply = Reply::empty(200);
        reply.set("X-A", "ok");
        reply.set("X-B", "evil\nSet-Cookie: a=b");
        reply.set("X-C", "evil\r\nX-D: e");
        reply.set("X-E", "nul\0");
        reply.set("X-F", "snow \u{2603}");
        reply.set("Date", "Tue, 01 Dec 2026 16:14:41 GMT");
        assert_eq!(reply.head(), "X-A:ok\nDate:Tue, 01 Dec 2026 16:14:41 GMT");
    }

    #[test]
    fn refresh_cookies_are_locked_down() {
        let c = refresh_cookie("tok", 60, CookieMode::FirstParty);
        assert_eq!(
            c,
            "__Host-tollgate_refresh=tok; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert_eq!(
            clear_refresh_cookie(CookieMode::FirstParty),
            "__Host-tollgate_refresh=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"
        );
        let x = refresh_cookie("tok", 60, CookieMode::CrossSite);
        assert_eq!(
            x,
            "__Host-tollgate_refresh=tok; HttpOnly; Secure; SameSite=None; Partitioned; Path=/; Max-Age=60"
        );
        assert_eq!(
            clear_refresh_cookie(CookieMode::CrossSite),
            "__Host-tollgate_refresh=; HttpOnly; Secure; SameSite=None; Partitioned; Path=/; Max-Age=0"
        );
        assert_eq!(CookieMode::new(true).other(), CookieMode::FirstParty);
        // What the `__Host-` prefix demands of every cookie carrying it.
        assert!(REFRESH_COOKIE.starts_with("__Host-"));
        for c in [c, x] {
            assert!(!c.to_ascii_lowercase().contains("domain="));
        }
    }

    #[test]
    fn a_cookie_named_twice_is_refused_not_guessed() {
        let n = REFRESH_COOKIE;
        for (header, expected) in [
            (String::new(), Ok(None)),
            (format!("{n}=a"), Ok(Some("a"))),
            (format!("other=1; {n}=a; x=2"), Ok(Some("a"))),
            (format!("{n}=\"a\""), Ok(Some("a"))),
            (format!("__HOST-tollgate_refresh=t; {n}=a"), Ok(Some("a"))),
            ("__Secure-tollgate_refresh=t".to_string(), Ok(None)),
            (format!("{n}=tossed; {n}=real"), Err(DuplicateCookie)),
            (format!("{n}=real;{n}=tossed"), Err(DuplicateCookie)),
            (format!("{n}=a; {n}=a"), Err(DuplicateCookie)),
            (format!("{n}=; {n}=a"), Err(DuplicateCookie)),
            (format!(" {n} =a; {n}=b"), Err(DuplicateCookie)),
        ] {
            assert_eq!(cookie_in(&header, n), expected, "{header}");
        }
    }
}
