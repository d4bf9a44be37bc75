//! The authorization request and the checks on its response (RFC 6749 §4.1, RFC 7636, RFC
//! 9207, RFC 9700 §2.1 and §4.5-4.7), with the randomness and the time passed in.
//!
//! [`start`] draws `state`, `nonce` and a PKCE verifier from the caller's [`Random`], builds the
//! provider URL, and returns the [`Pending`] sign-in the host keeps server-side (single use,
//! under [`pending_key`]) and the `state` it sets as this browser's cookie. [`check_callback`]
//! decides whether a callback continues: the state is this browser's and still pending, the
//! response comes from the provider that was asked (`iss`), and the user consented.

use alloc::format;
use alloc::string::{String, ToString};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::provider::{Endpoints, ProviderConfig};
use crate::error::{Error, ErrorCode};
use crate::id::Id;
use crate::random::Random;
use crate::time::UnixSeconds;
use crate::unverified::encode_base64url;

/// How long a started sign-in may take to come back, in seconds: the state cookie's
/// `Max-Age` and the pending record's lifetime. Ten minutes covers a login with a second
/// factor at the provider; RFC 9700 §4.7 asks only that it be short-lived.
pub const PENDING_TTL_S: u64 = 600;

/// Random bytes in each of `state`, `nonce` and the PKCE verifier: 256 bits, so they cannot be
/// guessed (RFC 7636 §7.1 asks for at least 256 bits of entropy in the verifier).
const RANDOM_BYTES: usize = 32;

/// A sign-in started at the provider and not yet come back: what the callback needs, kept by
/// the host (never in the browser) and used once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The provider it was started with: the callback's path must name the same one.
    pub provider: String,
    /// Where the browser goes afterwards (already checked against the allowed origins).
    pub redirect_to: String,
    /// The PKCE code verifier (RFC 7636 §4.1), sent with the code.
    pub code_verifier: String,
    /// The `nonce` the ID token must carry (OpenID Connect only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The account to link the identity to, when a signed-in user started it
    /// (`POST /auth/identities/{provider}/link`); otherwise a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkTarget>,
    /// When it was started.
    pub created_at: UnixSeconds,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pending")
            .field("provider", &self.provider)
            .field("redirect_to", &self.redirect_to)
            .field("code_verifier", &"[redacted]")
            .field("link", &self.link)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A started sign-in: where to send the browser, and what to keep.
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// The `state`: the value of the browser's state cookie, and (through [`pending_key`])
    /// the key of the pending record.
    pub state: String,
    /// What the callback needs.
    pub pending: Pending,
}

/// The storage key of the pending sign-in with `state`: a hash, so that the store's key
/// listing holds nothing that could complete a sign-in.
pub fn pending_key(state: &str) -> String {
    format!(
        "oauth:{}",
        encode_base64url(&Sha256::digest(state.as_bytes()))
    )
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2): BASE64URL(SHA256(verifier)).
pub fn code_challenge(verifier: &str) -> String {
    encode_base64url(&Sha256::digest(verifier.as_bytes()))
}

/// Starts a sign-in (or a link, with `link`) with `provider` at `endpoints`, coming back
/// to `redirect_uri` (the callback, registered at the provider exactly) and then to
/// `redirect_to`.
pub fn start<R: Random + ?Sized>(
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    redirect_uri: &str,
    redirect_to: &str,
    link: Option<LinkTarget>,
    now: UnixSeconds,
    rng: &mut R,
) -> Started {
    let mut draw = || {
        let mut bytes = [0u8; RANDOM_BYTES];
        rng.fill(&mut bytes);
        encode_base64url(&bytes)
    };
    let state = draw();
    let code_verifier = draw();
    let nonce = provider.issuer().map(|_| draw());
    let mut url = endpoints.authorization_endpoint.clone();
    url.push(if url.contains('?') { '&' } else { '?' });
    let mut params: alloc::vec::Vec<(&str, &str)> = alloc::vec![
        ("response_type", "code"),
        ("client_id", &provider.client_id),
        ("redirect_uri", redirect_uri),
        ("scope", &provider.scopes),
        ("state", &state),
    ];
    let challenge = code_challenge(&code_verifier);
    params.push(("code_challenge", &challenge));
    params.push(("code_challenge_method", "S256"));
    if let Some(nonce) = &nonce {
        params.push(("nonce", nonce));
    }
    url.push_str(&form_encode(&params));
    Started {
        url,
        pending: Pending {
            provider: provider.name.clone(),
            redirect_to: redirect_to.to_string(),
            code_verifier,
            nonce,
            link,
            created_at: now,
        },
        state,
    }
}

/// `application/x-www-form-urlencoded` pairs (also a URL query): every byte but the
/// unreserved ones percent-encoded (RFC 3986 §2.3), so nothing is read differently anywhere.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(&mut out, name);
        out.push('=');
        percent_encode(&mut out, value);
    }
    out
}

fn percent_encode(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The query of a callback, as the host decoded it.
#[derive(Clone, Debug, Default)]
pub struct CallbackParams<'a> {
    /// `code`.
    pub code: Option<&'a str>,
    /// `state`.
    pub state: Option<&'a str>,
    /// `error` (RFC 6749 §4.1.2.1).
    pub error: Option<&'a str>,
    /// `iss` (RFC 9207).
    pub iss: Option<&'a str>,
}

/// What the provider must be for the callback to continue.
#[derive(Clone, Debug)]
pub struct ExpectedProvider<'a> {
    /// The provider named in the callback's path.
    pub name: &'a str,
    /// Its issuer identifier, if it has one (OpenID Connect).
    pub issuer: Option<&'a str>,
    /// Whether it always sends `iss` (its discovery says so): then a response without `iss`
    /// is refused.
    pub iss_required: bool,
}

/// Decides whether a callback continues, in this order: `state` is present and equals the
/// browser's cookie (RFC 9700 §4.7: the response belongs to this browser's request), a pending
/// sign-in was found for it (`pending`: the host took it out of storage, so a second use finds
/// none) and is younger than [`PENDING_TTL_S`] and for the provider of the path; `iss`, where
/// sent or required, is the provider's issuer exactly (RFC 9207 §2.4, against mix-up; a plain
/// OAuth2 provider has no issuer to compare with, and its `iss` is ignored); then
/// the provider's own `error`; then a `code` is present. Returns the code.
///
/// # Errors
/// [`Error::SignInRefused`] with `invalid_state` (state, pending, provider or `iss`),
/// `access_denied` (the user declined), or `provider_error` (any other `error`, or no code).
pub fn check_callback<'a>(
    params: &CallbackParams<'a>,
    cookie_state: Option<&str>,
    pending: Option<&Pending>,
    expected: &ExpectedProvider<'_>,
    now: UnixSeconds,
) -> Result<&'a str, Error> {
    let refuse = |code, why: &str| Error::SignInRefused(code, why.to_string());
    let state = params
        .state
        .ok_or_else(|| refuse(ErrorCode::InvalidState, "no state"))?;
    let same_browser = cookie_state.is_some_and(|cookie| constant_time_eq(cookie, state));
    if !same_browser {
        return Err(refuse(
            ErrorCode::InvalidState,
            "state is not this browser's (no or another state cookie)",
        ));
    }
    let pending = pending.ok_or_else(|| {
        refuse(
            ErrorCode::InvalidState,
            "no pending sign-in for this state (unknown, expired, or already used)",
        )
    })?;
    if now >= pending.created_at.saturating_add(PENDING_TTL_S) {
        return Err(refuse(ErrorCode::InvalidState, "the sign-in took too long"));
    }
    if pending.provider != expected.name {
        return Err(refuse(
            ErrorCode::InvalidState,
            "the state was issued for another provider",
        ));
    }
    match (params.iss, expected.issuer) {
        (Some(iss), Some(issuer)) if iss == issuer => {}
        (Some(_), Some(_)) => {
            return Err(refuse(
                ErrorCode::InvalidState,
                "iss names another issuer (mix-up, RFC 9207)",
            ));
        }
        // A plain OAuth2 provider has no configured issuer to compare with (RFC 9207 §2.4
        // applies to clients that know it); its state and its own endpoints stand.
        (Some(_), None) => {}
        (None, _) if expected.iss_required => {
            return Err(refuse(
                ErrorCode::InvalidState,
                "no iss from a provider that always sends it (RFC 9207)",
            ));
        }
        (None, _) => {}
    }
    match params.error {
        Some("access_denied") => {
            return Err(refuse(ErrorCode::AccessDenied, "the user declined"));
        }
        Some(other) => {
            let shown: String = other.chars().take(64).collect();
            return Err(Error::SignInRefused(
                ErrorCode::ProviderError,
                format!("the provider answered error={shown:?}"),
            ));
        }
        None => {}
    }
    params
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| refuse(ErrorCode::ProviderError, "no code in the callback"))
}

/// Compares two strings in time that depends only on their lengths.
fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The body of the token request that exchanges `code` (RFC 6749 §4.1.3 with RFC 7636 §4.5):
/// the client authenticates with `client_secret_post` (RFC 6749 §2.3.1), which every preset
/// and `oidc-provider` accept.
pub fn token_request_body(
    provider: &ProviderConfig,
    client_secret: &str,
    code: &str,
    redirect_uri: &str,
    pending: &Pending,
) -> String {
    form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", &provider.client_id),
        ("client_secret", client_secret),
        ("code_verifier", &pending.code_verifier),
    ])
}

/// The origin (`scheme://host[:port]`, lower-cased) of an absolute `http(s)` URL, or `None`
/// for anything a browser might read differently from this: no scheme, user info (`@`),
/// backslashes (browsers read `\` as `/`), whitespace or control characters.
pub fn origin_of(url: &str) -> Option<String> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\') {
        return None;
    }
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let rest = &url[scheme_len..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!(
        "{}{}",
        &lower[..scheme_len],
        authority.to_ascii_lowercase()
    ))
}

/// Whether the browser may be sent to `target` after a sign-in: an absolute URL on
/// `APP_URL`'s origin or on one of `ALLOWED_ORIGINS`, compared as whole origins (no prefix
/// or suffix matching). Anything else would make the callback an open redirect.
pub fn redirect_allowed(target: &str, app_url: Option<&str>, allowed_origins: &[String]) -> bool {
    let Some(origin) = origin_of(target) else {
        return false;
    };
    app_url.and_then(origin_of).is_some_and(|app| app == origin)
        || allowed_origins
            .iter()
            .filter_map(|o| origin_of(o))
            .any(|o| o == origin)
}

/// A one-time permission, handed to a signed-in user (`POST /auth/identities/{provider}/link`),
/// to start linking `provider` to their account: the start URL carries it, so the start
/// route (a plain navigation, without the bearer token) knows whose account it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkTicket {
    /// The provider it is for.
    pub provider: String,
    /// The account to link to, and the session that asked.
    pub target: LinkTarget,
    /// When it was handed out.
    pub created_at: UnixSeconds,
}

/// Whose account a link is for, and when the access token that asked for it was issued: the
/// link completes only if that token's sessions are still live when the provider sends the
/// user back (not ended by logout-all, a password change or an admin, the account not
/// disabled), so a stolen token cannot leave a lasting way in behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkTarget {
    /// The account to link to.
    pub user_id: Id,
    /// When the asking token was issued (its `iat`).
    pub issued_at: UnixSeconds,
}

/// How long a link ticket may wait before its start URL is opened, in seconds.
pub const LINK_TICKET_TTL_S: u64 = 300;

/// Draws a new link ticket's secret (256 bits, base64url).
pub fn new_ticket<R: Random + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    rng.fill(&mut bytes);
    encode_base64url(&bytes)
}

/// The storage key of the link ticket whose secret is `ticket` (a hash, as for
/// [`pending_key`]).
pub fn link_ticket_key(ticket: &str) -> String {
    format!(
        "oauth_link:{}",
        encode_base64url(&Sha256::digest(ticket.as_bytes()))
    )
}

impl LinkTicket {
    /// Whether the ticket may still be used at `now` for `provider`.
    pub fn usable(&self, provider: &str, now: UnixSeconds) -> bool {
        self.provider == provider && now < self.created_at.saturating_add(LINK_TICKET_TTL_S)
    }
}
