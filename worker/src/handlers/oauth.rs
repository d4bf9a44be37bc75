//! `GET /auth/oauth/{provider}/start` and `GET /auth/oauth/{provider}/callback`: signing in
//! (or linking) with an identity provider. The decisions are the core's
//! (`tollgate_core::oidc`, `Flows::sign_in_with_identity`); this reads the request, talks to
//! the provider, and answers with redirects.
//!
//! The callback never answers with an error page or a 5xx: every failure sends the browser
//! back to the app with `#error=<code>` (where the client can show it), and is logged as a
//! security event.

use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::oidc::authorize::{
    self, CallbackParams, ExpectedProvider, LinkTicket, PENDING_TTL_S, Pending, link_ticket_key,
    pending_key, redirect_allowed,
};
use tollgate_core::oidc::id_token::{IdTokenExpectations, verify_id_token};
use tollgate_core::oidc::{Asserted, ProviderConfig, secret_name};
use tollgate_core::{Error, ErrorCode, TokenRejection};

use super::{HostRandom, cookie_mode, stores};
use crate::config::OAuthSettings;
use crate::error::AuthError;
use crate::http::{self, Reply};
use crate::incoming::Incoming;
use crate::providers;
use crate::routes::Cx;
use crate::webcrypto::WebCrypto;

/// The cookie that binds a started sign-in to this browser (RFC 9700 §4.7.1): its value is
/// the `state`, `SameSite=Lax` so that the provider's redirect back (a top-level navigation
/// from another site) carries it, and scoped to these routes.
pub(crate) const STATE_COOKIE: &str = "tollgate_oauth_state";
const STATE_COOKIE_PATH: &str = "/auth/oauth/";

/// The providers, or 503 `misconfigured` (logged once, when the settings were read).
pub(crate) fn oauth<'a>(cx: &'a Cx<'_>) -> Result<&'a OAuthSettings, AuthError> {
    cx.settings
        .oauth
        .as_ref()
        .map_err(|e| AuthError::Core(e.clone()))
}

/// The provider named in the path, or 404.
pub(crate) fn provider<'a>(cx: &'a Cx<'_>, name: &str) -> Result<&'a ProviderConfig, AuthError> {
    oauth(cx)?.providers.get(name).ok_or(AuthError::NotFound)
}

/// The route a provider sends the browser back to: registered at the provider exactly.
pub(crate) fn redirect_uri(req: &Incoming, provider: &str) -> String {
    format!("{}/auth/oauth/{provider}/callback", http::own_origin(req))
}

/// Logs a misconfiguration as one line (the settings-time log covers only `OAUTH_PROVIDERS`
/// itself; a missing secret or an unreachable discovery document shows at request time).
fn log_misconfigured(e: &Error) {
    worker::console_error!(
        "{}",
        serde_json::json!({"level": "error", "event": "misconfigured", "detail": e.to_string()})
    );
}

/// The provider's client secret (`OAUTH_<NAME>_CLIENT_SECRET`).
fn client_secret(cx: &Cx<'_>, provider: &ProviderConfig) -> Result<String, Error> {
    let name = secret_name(&provider.name);
    crate::config::read(cx.env, &name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Misconfigured(format!(
                "{name} is not set, but OAUTH_PROVIDERS configures {:?}; set it with \
                 `wrangler secret put {name}`",
                provider.name
            ))
        })
}

/// `GET /auth/oauth/providers` → 200 `{"providers": [names]}`: what a sign-in page offers
/// ("Sign in with ..." buttons); empty without `OAUTH_PROVIDERS`.
///
/// # Errors
/// 503 `misconfigured` when `OAUTH_PROVIDERS` is unusable.
pub fn providers(cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let names: Vec<&String> = oauth(cx)?.providers.keys().collect();
    Ok(Reply::json(200, &serde_json::json!({ "providers": names })))
}

/// `GET /auth/oauth/{provider}/start?redirect_to=<url>[&link=<ticket>]` → 302 to the provider,
/// with the state cookie.
///
/// # Errors
/// 404 for an unknown provider; 422 `validation_error` (field `redirect_to`) for a target not
/// on `APP_URL`'s origin or in `ALLOWED_ORIGINS`; 400 `invalid_action_token` for a link
/// ticket that is unknown, used, expired or for another provider; 503 `misconfigured` (one log
/// line) for a missing client secret or a discovery document that does not load.
pub async fn start(req: &mut Incoming, cx: &Cx<'_>, name: &str) -> Result<Reply, AuthError> {
    let provider = provider(cx, name)?;
    let oauth = oauth(cx)?;
    let redirect_to = http::query_param(req.url(), "redirect_to")
        .or_else(|| oauth.app_url.clone())
        .ok_or_else(|| Error::field("redirect_to", ErrorCode::MissingField))?;
    if !redirect_allowed(
        &redirect_to,
        oauth.app_url.as_deref(),
        &cx.settings.allowed_origins,
    ) {
        return Err(Error::field("redirect_to", ErrorCode::InvalidValue).into());
    }
    let misconfigured = |e: Error| {
        log_misconfigured(&e);
        AuthError::Core(e)
    };
    client_secret(cx, provider).map_err(misconfigured)?;
    let (endpoints, _) = providers::endpoints(provider, cx.now)
        .await
        .map_err(misconfigured)?;
    let stores = stores(cx);
    let link = match http::query_param(req.url(), "link") {
        None => None,
        Some(ticket) => {
            let ticket: Option<LinkTicket> = stores
                .kv_take(&link_ticket_key(&ticket))
                .await?
                .and_then(|json| serde_json::from_str(&json).ok());
            match ticket {
                Some(t) if t.usable(name, cx.now) => Some(t.target),
                _ => return Err(Error::InvalidActionToken.into()),
            }
        }
    };
    let started = authorize::start(
        provider,
        &endpoints,
        &redirect_uri(req, name),
        &redirect_to,
        link,
        cx.now,
        &mut HostRandom,
    );
    let pending = serde_json::to_string(&started.pending)
        .map_err(|e| Error::Internal(format!("pending sign-in: {e}")))?;
    // KV expires keys a minute late at the earliest; the core refuses an old one anyway.
    stores
        .kv_put_ephemeral(
            &pending_key(&started.state),
            pending,
            cx.now + PENDING_TTL_S + 60,
        )
        .await?;
    let mut reply = Reply::empty(302).with("Location", started.url);
    reply.append(
        "Set-Cookie",
        format!(
            "{STATE_COOKIE}={}; HttpOnly; Secure; SameSite=Lax; Path={STATE_COOKIE_PATH}; Max-Age={PENDING_TTL_S}",
            started.state
        ),
    );
    Ok(reply)
}

/// `GET /auth/oauth/{provider}/callback` → 302 to the sign-in's `redirect_to`: with a session
/// (the refresh cookie, as a login sets it) on success, with `#error=<code>` otherwise.
pub async fn callback(req: &mut Incoming, cx: &Cx<'_>, name: &str) -> Result<Reply, AuthError> {
    let url = req.url().to_string();
    let param = |n: &str| http::query_param(&url, n);
    let (code, state, error, iss) = (param("code"), param("state"), param("error"), param("iss"));
    // A planted second cookie makes the state unknowable: no cookie at all.
    let cookie = http::cookie(req, STATE_COOKIE).ok().flatten();
    let stores = stores(cx);
    // Taken (and so spent) only when it is this browser's: a request without the cookie cannot
    // use up someone else's pending sign-in.
    let pending: Option<Pending> = match (&state, &cookie) {
        (Some(state), Some(cookie)) if state == cookie => stores
            .kv_take(&pending_key(state))
            .await
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok()),
        _ => None,
    };
    let fallback = cx
        .settings
        .oauth
        .as_ref()
        .ok()
        .and_then(|o| o.app_url.clone())
        .or_else(|| cx.settings.allowed_origins.first().map(|o| format!("{o}/")))
        .unwrap_or_else(|| format!("{}/", http::own_origin(req)));
    let target = pending.as_ref().map_or(fallback, |p| p.redirect_to.clone());
    let params = CallbackParams {
        code: code.as_deref(),
        state: state.as_deref(),
        error: error.as_deref(),
        iss: iss.as_deref(),
    };
    let outcome = complete(req, cx, name, &params, cookie.as_deref(), pending.as_ref()).await;
    let mut reply = Reply::empty(302);
    // The state is spent, whatever happened.
    reply.append(
        "Set-Cookie",
        format!(
            "{STATE_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path={STATE_COOKIE_PATH}; Max-Age=0"
        ),
    );
    match outcome {
        Ok(Done::SignedIn(tokens)) => {
            let mode = cookie_mode(cx);
            reply.append(
                "Set-Cookie",
                http::refresh_cookie(&tokens.refresh_token, tokens.refresh_max_age, mode),
            );
            reply.append("Set-Cookie", http::clear_refresh_cookie(mode.other()));
            reply.set("Location", target);
        }
        Ok(Done::Linked) => {
            reply.set(
                "Location",
                with_fragment(&target, &format!("linked={name}")),
            );
        }
        Err(e) => {
            if let Error::Misconfigured(_) = e {
                log_misconfigured(&e);
            }
            let code = e.code();
            cx.events.record(SecurityEvent::IdentitySignInFailed {
                provider: cx
                    .settings
                    .oauth
                    .as_ref()
                    .ok()
                    .filter(|o| o.providers.contains_key(name))
                    .map(|_| name.to_string()),
                code: code.as_str(),
                reason: e.to_string(),
            });
            reply.set(
                "Location",
                with_fragment(&target, &format!("error={}", code.as_str())),
            );
        }
    }
    Ok(reply)
}

/// `url` with its fragment replaced by `fragment`.
fn with_fragment(url: &str, fragment: &str) -> String {
    let base = url.split('#').next().unwrap_or(url);
    format!("{base}#{fragment}")
}

enum Done {
    SignedIn(tollgate_core::flows::Tokens),
    Linked,
}

/// The callback's work, each step refusing with the code the browser is sent back with.
async fn complete(
    req: &Incoming,
    cx: &Cx<'_>,
    name: &str,
    params: &CallbackParams<'_>,
    cookie: Option<&str>,
    pending: Option<&Pending>,
) -> Result<Done, Error> {
    let refused = |code: ErrorCode, why: &str| Error::SignInRefused(code, why.to_string());
    let provider = match provider(cx, name) {
        Ok(p) => p,
        Err(AuthError::Core(e)) => return Err(e),
        Err(_) => return Err(refused(ErrorCode::InvalidState, "unknown provider")),
    };
    let (endpoints, discovery) = providers::endpoints(provider, cx.now).await?;
    let expected = ExpectedProvider {
        name,
        issuer: provider.issuer(),
        iss_required: discovery
            .as_ref()
            .is_some_and(|d| d.iss_parameter_supported),
    };
    let code = authorize::check_callback(params, cookie, pending, &expected, cx.now)?;
    let pending = pending.ok_or_else(|| refused(ErrorCode::InvalidState, "no pending"))?;
    let secret = client_secret(cx, provider)?;
    let body =
        authorize::token_request_body(provider, &secret, code, &redirect_uri(req, name), pending);
    let tokens =
        providers::exchange_code(&endpoints.token_endpoint, &body, discovery.is_some()).await?;
    let asserted = match (&discovery, provider.issuer(), &pending.nonce) {
        (Some(discovery), Some(issuer), Some(nonce)) => {
            let id_token = tokens.id_token.as_deref().unwrap_or_default();
            let expect = IdTokenExpectations {
                issuer,
                client_id: &provider.client_id,
                nonce,
                now: cx.now,
            };
            let keys = providers::keys(&discovery.jwks_uri, cx.now, false).await?;
            let claims = match verify_id_token(&WebCrypto, &keys, id_token, &expect).await {
                // A kid the cached keys lack: the provider may have rotated; fetch once more.
                Err(TokenRejection::UnknownKey) => {
                    let keys = providers::keys(&discovery.jwks_uri, cx.now, true).await?;
                    verify_id_token(&WebCrypto, &keys, id_token, &expect).await
                }
                other => other,
            }
            .map_err(|r| {
                Error::SignInRefused(
                    ErrorCode::ProviderError,
                    format!("ID token refused: {}", r.as_str()),
                )
            })?;
            let mut asserted = Asserted {
                provider: name.to_string(),
                subject: claims.sub,
                email: claims.email,
                email_verified: claims.email_verified,
            };
            // Providers that keep the ID token small put the email in userinfo only.
            if asserted.email.is_none()
                && let Some(userinfo) = &endpoints.userinfo_endpoint
            {
                let from_userinfo = providers::userinfo(
                    name,
                    userinfo,
                    &tokens.access_token,
                    Some(&asserted.subject),
                )
                .await?;
                asserted.email = from_userinfo.email;
                asserted.email_verified = from_userinfo.email_verified;
            }
            asserted
        }
        (None, None, _) => {
            let userinfo = endpoints
                .userinfo_endpoint
                .as_deref()
                .ok_or_else(|| refused(ErrorCode::ProviderError, "no userinfo endpoint"))?;
            let asserted = providers::userinfo(name, userinfo, &tokens.access_token, None).await?;
            match &endpoints.emails_endpoint {
                Some(emails) => {
                    providers::listed_emails(asserted, emails, &tokens.access_token).await?
                }
                None => asserted,
            }
        }
        _ => return Err(refused(ErrorCode::InvalidState, "the sign-in has no nonce")),
    };
    let stores = stores(cx);
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    if let Some(target) = &pending.link {
        flows.link_identity(target, &asserted, cx.now).await?;
        return Ok(Done::Linked);
    }
    let user_agent = req.header("User-Agent").unwrap_or_default();
    let outcome = flows
        .sign_in_with_identity(
            &asserted,
            provider.trusted_email,
            &user_agent,
            cx.now,
            &mut HostRandom,
        )
        .await?;
    Ok(Done::SignedIn(outcome.login.tokens))
}
