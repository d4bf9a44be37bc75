//! Talking to identity providers: discovery documents and key sets (through the Cache API,
//! as the guard's JWKS are), the token endpoint, userinfo, and a GitHub-style list of the
//! account's addresses. Every call is bounded by [`PROVIDER_TIMEOUT_MS`]; what the answers
//! mean is the core's to decide (`tollgate_core::oidc`).

use tollgate_core::oidc::identity::{TokenResponse, parse_token_response, parse_userinfo};
use tollgate_core::oidc::provider::{Discovery, parse_discovery};
use tollgate_core::oidc::{Asserted, Endpoints, Protocol, ProviderConfig, ProviderKeys};
use tollgate_core::time::UnixSeconds;
use tollgate_core::token::JWKS_MAX_AGE_S;
use tollgate_core::{Error, ErrorCode};
use wasm_bindgen::JsValue;
use worker::{Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::jwks_cache;
use crate::kv::timeout;

/// How long one call to a provider may take, in milliseconds: a sign-in waits for it.
pub(crate) const PROVIDER_TIMEOUT_MS: u64 = 5_000;

/// Largest answer read from a provider, in bytes: discovery documents and key sets are a
/// few KiB (Microsoft's are the largest, about 10 KiB).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The endpoints of `provider`, and for OpenID Connect its discovery document (fetched from
/// `{issuer}/.well-known/openid-configuration`, cached for [`JWKS_MAX_AGE_S`]).
///
/// # Errors
/// [`Error::Misconfigured`] when the document cannot be fetched or is refused.
pub(crate) async fn endpoints(
    provider: &ProviderConfig,
    now: UnixSeconds,
) -> Result<(Endpoints, Option<Discovery>), Error> {
    match &provider.protocol {
        Protocol::OAuth2(endpoints) => Ok((endpoints.clone(), None)),
        Protocol::OpenIdConnect { issuer } => {
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let misconfigured = |why: String| {
                Error::Misconfigured(format!(
                    "the discovery document of OAuth provider {:?} could not be loaded: {why}",
                    provider.name
                ))
            };
            let text = cached_get(&url, now).await.map_err(misconfigured)?;
            let discovery = parse_discovery(&provider.name, issuer, &text)?;
            Ok((discovery.endpoints.clone(), Some(discovery)))
        }
    }
}

/// The signing keys at `jwks_uri`: from the Cache API while fresh, else fetched; with
/// `refetch`, from the network (the provider may have rotated its keys).
///
/// # Errors
/// `provider_error` when they cannot be fetched or do not parse.
pub(crate) async fn keys(
    jwks_uri: &str,
    now: UnixSeconds,
    refetch: bool,
) -> Result<ProviderKeys, Error> {
    let text = if refetch {
        fetch_and_cache(jwks_uri, now).await
    } else {
        cached_get(jwks_uri, now).await
    }
    .map_err(|why| provider_error(format!("the provider's JWKS: {why}")))?;
    ProviderKeys::from_jwks(&text)
        .map_err(|r| provider_error(format!("the provider's JWKS: {}", r.as_str())))
}

/// A document from the Cache API while it is younger than [`JWKS_MAX_AGE_S`], else fetched.
async fn cached_get(url: &str, now: UnixSeconds) -> Result<String, String> {
    if let Some((text, fetched_at)) = jwks_cache::cached(url).await
        && now < fetched_at.saturating_add(JWKS_MAX_AGE_S)
    {
        return Ok(text);
    }
    fetch_and_cache(url, now).await
}

async fn fetch_and_cache(url: &str, now: UnixSeconds) -> Result<String, String> {
    let (status, text) = send(url, Method::Get, &[("Accept", "application/json")], None).await?;
    if status != 200 {
        return Err(format!("answered {status}"));
    }
    jwks_cache::store(url, &text, now).await;
    Ok(text)
}

/// Exchanges `body` (the core's token request) at `endpoint`.
///
/// # Errors
/// `provider_error` when the endpoint cannot be reached or refuses.
pub(crate) async fn exchange_code(
    endpoint: &str,
    body: &str,
    needs_id_token: bool,
) -> Result<TokenResponse, Error> {
    let (status, text) = send(
        endpoint,
        Method::Post,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            // GitHub answers form-encoded unless asked for JSON.
            ("Accept", "application/json"),
        ],
        Some(body),
    )
    .await
    .map_err(|why| provider_error(format!("token endpoint: {why}")))?;
    parse_token_response(status, &text, needs_id_token)
}

/// Reads who signed in from `endpoint` with `access_token`.
///
/// # Errors
/// `provider_error` when it cannot be reached or its answer is refused.
pub(crate) async fn userinfo(
    provider: &str,
    endpoint: &str,
    access_token: &str,
    expected_subject: Option<&str>,
) -> Result<Asserted, Error> {
    let (status, text) = get_with_token(endpoint, access_token)
        .await
        .map_err(|why| provider_error(format!("userinfo: {why}")))?;
    parse_userinfo(provider, status, &text, expected_subject)
}

/// Reads the account's addresses from a GitHub-style `endpoint` with `access_token`, and
/// asserts the primary one with its verification in place of `asserted`'s email claims.
///
/// # Errors
/// `provider_error` when it cannot be reached or its answer is refused.
pub(crate) async fn listed_emails(
    asserted: Asserted,
    endpoint: &str,
    access_token: &str,
) -> Result<Asserted, Error> {
    let (status, text) = get_with_token(endpoint, access_token)
        .await
        .map_err(|why| provider_error(format!("emails endpoint: {why}")))?;
    asserted.with_listed_emails(status, &text)
}

/// A GET of a provider's API `endpoint` with the user's `access_token`.
async fn get_with_token(endpoint: &str, access_token: &str) -> Result<(u16, String), String> {
    let authorization = format!("Bearer {access_token}");
    send(
        endpoint,
        Method::Get,
        &[
            ("Authorization", authorization.as_str()),
            ("Accept", "application/json"),
        ],
        None,
    )
    .await
}

fn provider_error(why: String) -> Error {
    Error::SignInRefused(ErrorCode::ProviderError, why)
}

/// One call to a provider: never following redirects (an endpoint that redirects is not the
/// one configured), within [`PROVIDER_TIMEOUT_MS`], with a bounded answer. The error says
/// what failed, never quoting a token or secret.
async fn send(
    url: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let request = async {
        let h = Headers::new();
        // GitHub's API refuses requests without a User-Agent.
        h.set("User-Agent", "tollgate").map_err(|e| e.to_string())?;
        for (name, value) in headers {
            h.set(name, value)
                .map_err(|_| format!("could not set {name}"))?;
        }
        let mut init = RequestInit::new();
        init.with_method(method)
            .with_headers(h)
            .with_redirect(RequestRedirect::Manual);
        if let Some(body) = body {
            init.with_body(Some(JsValue::from_str(body)));
        }
        let request =
            Request::new_with_init(url, &init).map_err(|_| "not a valid URL".to_string())?;
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|_| "no answer".to_string())?;
        let status = response.status_code();
        let text = response
            .text()
            .await
            .map_err(|_| "unreadable answer".to_string())?;
        if text.len() > MAX_ANSWER_BYTES {
            return Err(format!("answer over {MAX_ANSWER_BYTES} bytes"));
        }
        Ok((status, text))
    };
    timeout(PROVIDER_TIMEOUT_MS, request)
        .await
        .unwrap_or_else(|| Err(format!("no answer within {PROVIDER_TIMEOUT_MS} ms")))
}
