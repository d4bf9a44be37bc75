//! Where a request goes: the route table, and what every response gets on the way out.

use tollgate_core::Error;
use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::id::Id;
use tollgate_core::time::UnixSeconds;
use worker::{Env, Method};

use crate::config::{self, Settings, SharedSettings};
use crate::error::AuthError;
use crate::events::LogSink;
use crate::handlers::{
    account, admin, auth, identities, meta, mfa, oauth, openapi, passkeys, recovery,
};
use crate::http::{self, Reply};
use crate::incoming::Incoming;
use crate::same_site;

/// One endpoint of the API.
enum Route {
    Health,
    Jwks,
    Register,
    Login,
    Refresh,
    Logout,
    LogoutAll,
    Sessions,
    RevokeSession(String),
    Password,
    Claims,
    Me,
    AdminUsers,
    AdminSetRole(String),
    AdminDeleteUser(String),
    AdminEndSessions(String),
    AdminSetDisabled(String),
    Calibrate,
    OpenApi,
    PasswordReset,
    PasswordResetConfirm,
    EmailVerification,
    EmailVerificationConfirm,
    EmailChange,
    EmailChangeConfirm,
    MfaVerify,
    MfaTotp,
    MfaTotpConfirm,
    MfaRecoveryCodes,
    AdminResetMfa(String),
    PasskeyRegisterOptions,
    PasskeyRegister,
    PasskeyLoginOptions,
    PasskeyLogin,
    Passkeys,
    RemovePasskey(String),
    OAuthProviders,
    OAuthStart(String),
    OAuthCallback(String),
    Identities,
    LinkIdentity(String),
    UnlinkIdentity(String),
}

impl Route {
    /// Whether the route sets or clears the refresh cookie. Those routes run behind
    /// [`same_site::require`]: another site's page must not be able to plant a session in the
    /// browser (login CSRF) or end one. Exhaustive on purpose: a new route must decide.
    fn sets_refresh_cookie(&self) -> bool {
        match self {
            Route::Login
            | Route::Refresh
            | Route::Logout
            | Route::LogoutAll
            | Route::MfaVerify
            | Route::PasskeyLogin => true,
            Route::Health
            | Route::Jwks
            | Route::Register
            | Route::Sessions
            | Route::RevokeSession(_)
            | Route::Password
            | Route::Claims
            | Route::Me
            | Route::AdminUsers
            | Route::AdminSetRole(_)
            | Route::AdminDeleteUser(_)
            | Route::AdminEndSessions(_)
            | Route::AdminSetDisabled(_)
            | Route::Calibrate
            | Route::OpenApi
            | Route::PasswordReset
            | Route::PasswordResetConfirm
            | Route::EmailVerification
            | Route::EmailVerificationConfirm
            | Route::EmailChange
            | Route::EmailChangeConfirm
            | Route::MfaTotp
            | Route::MfaTotpConfirm
            | Route::MfaRecoveryCodes
            | Route::AdminResetMfa(_)
            | Route::PasskeyRegisterOptions
            | Route::PasskeyRegister
            | Route::PasskeyLoginOptions
            | Route::Passkeys
            | Route::RemovePasskey(_)
            | Route::OAuthProviders
            | Route::OAuthStart(_)
            | Route::Identities
            | Route::LinkIdentity(_)
            | Route::UnlinkIdentity(_) => false,
            // It sets the refresh cookie, but arrives as a navigation from the provider's site,
            // which the guard would refuse. What stops another site from planting a session
            // there (login CSRF) is the state, bound to this browser by its cookie and single
            // use (RFC 9700 §4.7): a callback without this browser's pending sign-in fails.
            Route::OAuthCallback(_) => false,
        }
    }
}

/// Matches `method` and `path` to a route: 404 for unknown paths, 405 (with `Allow`) for
/// known paths with another method. `HEAD` is answered wherever `GET` is, except on the
/// identity-provider sign-in's two steps, whose `GET` is not safe: the start writes a pending
/// sign-in and the callback spends its single-use state, so a `HEAD` from the browser itself
/// (an extension, a prefetch), which carries the state cookie, would break its sign-in.
fn resolve(method: &Method, path: &str) -> Result<Route, AuthError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let get = matches!(method, Method::Get | Method::Head);
    let is = |m: Method| *method == m;
    let only = |ok: bool, route: Route, allow: &'static str| {
        if ok {
            Ok(route)
        } else {
            Err(AuthError::MethodNotAllowed(allow))
        }
    };
    match segments.as_slice() {
        ["health"] => only(get, Route::Health, "GET, HEAD"),
        [".well-known", "jwks.json"] => only(get, Route::Jwks, "GET, HEAD"),
        ["auth", "register"] => only(is(Method::Post), Route::Register, "POST"),
        ["auth", "login"] => only(is(Method::Post), Route::Login, "POST"),
        ["auth", "refresh"] => only(is(Method::Post), Route::Refresh, "POST"),
        ["auth", "logout"] => only(is(Method::Post), Route::Logout, "POST"),
        ["auth", "logout-all"] => only(is(Method::Post), Route::LogoutAll, "POST"),
        ["auth", "sessions"] => only(get, Route::Sessions, "GET, HEAD"),
        ["auth", "sessions", id] if !id.is_empty() => only(
            is(Method::Delete),
            Route::RevokeSession((*id).to_string()),
            "DELETE",
        ),
        ["auth", "password"] => only(is(Method::Post), Route::Password, "POST"),
        ["auth", "password-reset"] => only(is(Method::Post), Route::PasswordReset, "POST"),
        ["auth", "password-reset", "confirm"] => {
            only(is(Method::Post), Route::PasswordResetConfirm, "POST")
        }
        ["auth", "email-verification"] => only(is(Method::Post), Route::EmailVerification, "POST"),
        ["auth", "email-verification", "confirm"] => {
            only(is(Method::Post), Route::EmailVerificationConfirm, "POST")
        }
        ["auth", "email"] => only(is(Method::Post), Route::EmailChange, "POST"),
        ["auth", "email", "confirm"] => only(is(Method::Post), Route::EmailChangeConfirm, "POST"),
        ["auth", "passkeys"] => only(get, Route::Passkeys, "GET, HEAD"),
        ["auth", "passkeys", "register", "options"] => {
            only(is(Method::Post), Route::PasskeyRegisterOptions, "POST")
        }
        ["auth", "passkeys", "register"] => only(is(Method::Post), Route::PasskeyRegister, "POST"),
        ["auth", "passkeys", "login", "options"] => {
            only(is(Method::Post), Route::PasskeyLoginOptions, "POST")
        }
        ["auth", "passkeys", "login"] => only(is(Method::Post), Route::PasskeyLogin, "POST"),
        ["auth", "passkeys", id] if !id.is_empty() => only(
            is(Method::Delete),
            Route::RemovePasskey((*id).to_string()),
            "DELETE",
        ),
        ["auth", "claims"] => only(get, Route::Claims, "GET, HEAD"),
        ["auth", "mfa", "verify"] => only(is(Method::Post), Route::MfaVerify, "POST"),
        ["auth", "mfa", "totp"] => only(
            is(Method::Post) || is(Method::Delete),
            Route::MfaTotp,
            "POST, DELETE",
        ),
        ["auth", "mfa", "totp", "confirm"] => only(is(Method::Post), Route::MfaTotpConfirm, "POST"),
        ["auth", "mfa", "recovery-codes"] => {
            only(is(Method::Post), Route::MfaRecoveryCodes, "POST")
        }
        ["me"] => only(get, Route::Me, "GET, HEAD"),
        ["admin", "users"] => only(get, Route::AdminUsers, "GET, HEAD"),
        ["admin", "users", id] if !id.is_empty() => only(
            is(Method::Delete),
            Route::AdminDeleteUser((*id).to_string()),
            "DELETE",
        ),
        ["admin", "users", id, "sessions"] if !id.is_empty() => only(
            is(Method::Delete),
            Route::AdminEndSessions((*id).to_string()),
            "DELETE",
        ),
        ["admin", "users", id, "role"] if !id.is_empty() => only(
            is(Method::Put),
            Route::AdminSetRole((*id).to_string()),
            "PUT",
        ),
        ["admin", "users", id, "disabled"] if !id.is_empty() => only(
            is(Method::Put),
            Route::AdminSetDisabled((*id).to_string()),
            "PUT",
        ),
        ["admin", "users", id, "mfa"] if !id.is_empty() => only(
            is(Method::Delete),
            Route::AdminResetMfa((*id).to_string()),
            "DELETE",
        ),
        ["__tollgate", "calibrate"] => only(is(Method::Post), Route::Calibrate, "POST"),
        ["openapi.json"] => only(get, Route::OpenApi, "GET, HEAD"),
        ["auth", "oauth", "providers"] => only(get, Route::OAuthProviders, "GET, HEAD"),
        ["auth", "oauth", provider, "start"] if !provider.is_empty() => only(
            is(Method::Get),
            Route::OAuthStart((*provider).to_string()),
            "GET",
        ),
        ["auth", "oauth", provider, "callback"] if !provider.is_empty() => only(
            is(Method::Get),
            Route::OAuthCallback((*provider).to_string()),
            "GET",
        ),
        ["auth", "identities"] => only(get, Route::Identities, "GET, HEAD"),
        ["auth", "identities", provider, "link"] if !provider.is_empty() => only(
            is(Method::Post),
            Route::LinkIdentity((*provider).to_string()),
            "POST",
        ),
        ["auth", "identities", provider] if !provider.is_empty() => only(
            is(Method::Delete),
            Route::UnlinkIdentity((*provider).to_string()),
            "DELETE",
        ),
        _ => Err(AuthError::NotFound),
    }
}

/// What a handler gets besides the request.
pub(crate) struct Cx<'a> {
    /// The parsed configuration.
    pub settings: &'a Settings,
    /// The Worker's bindings.
    pub env: &'a Env,
    /// When the request arrived.
    pub now: UnixSeconds,
    /// Where events go.
    pub events: LogSink,
    /// The request's execution context: work that runs after the response (`waitUntil`).
    pub ctx: &'a worker::Context,
}

/// Handles one request and never fails: every error becomes its JSON response.
pub async fn handle(mut req: Incoming, env: Env, ctx: worker::Context) -> Reply {
    let now = crate::now();
    let origin = req.header("Origin");
    let settings = config::settings(&env);
    let allowed: &[String] = match settings.as_ref() {
        Ok(s) => &s.allowed_origins,
        Err(_) => &[],
    };
    let method = req.method();
    let response = if method == Method::Options {
        http::preflight(origin.as_deref(), allowed)
    } else {
        let response = match dispatch(&mut req, &env, &ctx, &settings, now).await {
            Ok(response) => response,
            Err(e) => e.into_reply(),
        };
        if method == Method::Head {
            response.without_body()
        } else {
            response
        }
    };
    http::finish(response, now, origin.as_deref(), allowed)
}

async fn dispatch(
    req: &mut Incoming,
    env: &Env,
    ctx: &worker::Context,
    settings: &SharedSettings,
    now: UnixSeconds,
) -> Result<Reply, AuthError> {
    let route = resolve(&req.method(), req.path())?;
    let settings = settings
        .as_ref()
        .as_ref()
        .map_err(|e| AuthError::Core(e.clone()))?;
    let cx = Cx {
        settings,
        env,
        now,
        events: LogSink {
            now,
            // The same runtime object, not a copy: `worker::Headers`' own `clone` copies
            // every header, and most requests log nothing.
            headers: worker::Headers(req.headers().0.clone()),
        },
        ctx,
    };
    // Before the handler reads anything: a refused request changes nothing.
    let result = if route.sets_refresh_cookie() {
        same_site::require(
            req,
            &http::own_origin(req),
            &settings.allowed_origins,
            settings.cross_site_cookies,
        )
    } else {
        Ok(())
    };
    let result = match result {
        Ok(()) => run(route, req, &cx).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        log_refusal(e, req, &cx);
    }
    result
}

/// Runs the route's handler.
async fn run(route: Route, req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    match route {
        Route::Health => meta::health(cx),
        Route::Jwks => Ok(meta::jwks(cx)),
        Route::Register => auth::register(req, cx).await,
        Route::Login => auth::login(req, cx).await,
        Route::Refresh => auth::refresh(req, cx).await,
        Route::Logout => auth::logout(req, cx).await,
        Route::LogoutAll => auth::logout_all(req, cx).await,
        Route::Sessions => account::sessions(req, cx).await,
        Route::RevokeSession(id) => account::revoke_session(req, cx, &id).await,
        Route::Password => account::change_password(req, cx).await,
        Route::Claims => account::claims(req, cx).await,
        Route::Me => account::me(req, cx).await,
        Route::AdminUsers => admin::list_users(req, cx).await,
        Route::AdminSetRole(id) => admin::set_role(req, cx, &id).await,
        Route::AdminDeleteUser(id) => admin::delete_user(req, cx, &id).await,
        Route::AdminEndSessions(id) => admin::end_sessions(req, cx, &id).await,
        Route::AdminSetDisabled(id) => admin::set_disabled(req, cx, &id).await,
        Route::Calibrate => crate::calibrate::calibrate(req, cx).await,
        Route::OpenApi => openapi::openapi(req, cx).await,
        Route::PasswordReset => recovery::request_password_reset(req, cx).await,
        Route::PasswordResetConfirm => recovery::confirm_password_reset(req, cx).await,
        Route::EmailVerification => recovery::request_email_verification(req, cx).await,
        Route::EmailVerificationConfirm => recovery::confirm_email(req, cx).await,
        Route::EmailChange => recovery::request_email_change(req, cx).await,
        Route::EmailChangeConfirm => recovery::confirm_email_change(req, cx).await,
        Route::MfaVerify => mfa::verify(req, cx).await,
        Route::MfaTotp if req.method() == Method::Delete => mfa::disable_totp(req, cx).await,
        Route::MfaTotp => mfa::enrol_totp(req, cx).await,
        Route::MfaTotpConfirm => mfa::confirm_totp(req, cx).await,
        Route::MfaRecoveryCodes => mfa::regenerate_recovery_codes(req, cx).await,
        Route::AdminResetMfa(id) => mfa::admin_reset(req, cx, &id).await,
        Route::PasskeyRegisterOptions => passkeys::register_options(req, cx).await,
        Route::PasskeyRegister => passkeys::register(req, cx).await,
        Route::PasskeyLoginOptions => passkeys::login_options(req, cx).await,
        Route::PasskeyLogin => passkeys::login(req, cx).await,
        Route::Passkeys => passkeys::list(req, cx).await,
        Route::RemovePasskey(id) => passkeys::remove(req, cx, &id).await,
        Route::OAuthProviders => oauth::providers(cx),
        Route::OAuthStart(provider) => oauth::start(req, cx, &provider).await,
        Route::OAuthCallback(provider) => oauth::callback(req, cx, &provider).await,
        Route::Identities => identities::list(req, cx).await,
        Route::LinkIdentity(provider) => identities::link(req, cx, &provider).await,
        Route::UnlinkIdentity(provider) => identities::unlink(req, cx, &provider).await,
    }
}

/// Security events for refusals the flows do not log themselves: a rejected bearer token
/// and a refused operation (ASVS 5.0 V16.3.1, V16.3.2). A missing token is not logged: every
/// anonymous visit to a protected route would be.
fn log_refusal(error: &AuthError, req: &Incoming, cx: &Cx<'_>) {
    match error {
        AuthError::Core(Error::InvalidToken(reason)) => {
            cx.events.record(SecurityEvent::TokenRejected {
                reason: reason.as_str(),
            });
        }
        AuthError::Core(Error::Forbidden(required)) => {
            log_access_denied(required.clone(), req, cx);
        }
        AuthError::CrossSiteRefused(refusal) => log_access_denied(refusal.log_reason(), req, cx),
        _ => {}
    }
}

/// `access_denied`, with the caller when a valid bearer token names one.
fn log_access_denied(required: String, req: &Incoming, cx: &Cx<'_>) {
    let user_id = crate::handlers::principal(req, cx)
        .ok()
        .and_then(|p| Id::parse(&p.user_id));
    cx.events
        .record(SecurityEvent::AccessDenied { user_id, required });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(method: Method, path: &str) -> Result<(), (u16, Option<&'static str>)> {
        match resolve(&method, path) {
            Ok(_) => Ok(()),
            Err(AuthError::MethodNotAllowed(allow)) => Err((405, Some(allow))),
            Err(e) => Err((e.status(), None)),
        }
    }

    #[test]
    fn routes_resolve_and_the_rest_is_404_or_405() {
        assert_eq!(status(Method::Get, "/health"), Ok(()));
        assert_eq!(status(Method::Head, "/me"), Ok(()));
        assert_eq!(status(Method::Post, "/auth/login"), Ok(()));
        assert_eq!(status(Method::Delete, "/auth/sessions/abc"), Ok(()));
        assert_eq!(status(Method::Put, "/admin/users/abc/role"), Ok(()));
        assert_eq!(status(Method::Get, "/auth/login"), Err((405, Some("POST"))));
        assert_eq!(status(Method::Post, "/me"), Err((405, Some("GET, HEAD"))));
        assert_eq!(status(Method::Get, "/auth/oauth/idp/callback"), Ok(()));
        assert_eq!(
            status(Method::Head, "/auth/oauth/idp/callback"),
            Err((405, Some("GET")))
        );
        assert_eq!(
            status(Method::Head, "/auth/oauth/idp/start"),
            Err((405, Some("GET")))
        );
        assert_eq!(status(Method::Get, "/auth/sessions/"), Err((404, None)));
        assert_eq!(status(Method::Get, "/nope"), Err((404, None)));
        assert_eq!(status(Method::Get, "/me/"), Err((404, None)));
        assert_eq!(status(Method::Get, "/admin/users/a/b/c"), Err((404, None)));
    }

    /// The routes whose responses can set or clear the refresh cookie run behind the
    /// cross-site guard, and no others (bearer routes are not CSRF-able and stay callable
    /// from any origin CORS admits).
    #[test]
    fn exactly_the_cookie_routes_are_guarded_against_cross_site_requests() {
        let guarded: Vec<&str> = EVERY_ROUTE
            .iter()
            .filter(|(method, path)| resolve(method, path).is_ok_and(|r| r.sets_refresh_cookie()))
            .map(|(_, path)| *path)
            .collect();
        assert_eq!(
            guarded,
            [
                "/auth/login",
                "/auth/refresh",
                "/auth/logout",
                "/auth/logout-all",
                "/auth/mfa/verify",
                "/auth/passkeys/login",
            ]
        );
    }

    const ROUTES: usize = 42;

    /// The route's place in the table. Exhaustive on purpose: a new route fails to compile
    /// here until it gets a number, and then `EVERY_ROUTE` must name a path of it.
    fn ordinal(route: &Route) -> usize {
        match route {
            Route::Health => 0,
            Route::Jwks => 1,
            Route::Register => 2,
            Route::Login => 3,
            Route::Refresh => 4,
            Route::Logout => 5,
            Route::LogoutAll => 6,
            Route::Sessions => 7,
            Route::RevokeSession(_) => 8,
            Route::Password => 9,
            Route::Claims => 10,
            Route::Me => 11,
            Route::AdminUsers => 12,
            Route::AdminSetRole(_) => 13,
            Route::AdminDeleteUser(_) => 14,
            Route::AdminEndSessions(_) => 15,
            Route::Calibrate => 16,
            Route::AdminSetDisabled(_) => 17,
            Route::OpenApi => 18,
            Route::PasswordReset => 19,
            Route::PasswordResetConfirm => 20,
            Route::EmailVerification => 21,
            Route::EmailVerificationConfirm => 22,
            Route::EmailChange => 23,
            Route::EmailChangeConfirm => 24,
            Route::MfaVerify => 25,
            Route::MfaTotp => 26,
            Route::MfaTotpConfirm => 27,
            Route::MfaRecoveryCodes => 28,
            Route::AdminResetMfa(_) => 29,
            Route::PasskeyRegisterOptions => 30,
            Route::PasskeyRegister => 31,
            Route::PasskeyLoginOptions => 32,
            Route::PasskeyLogin => 33,
            Route::Passkeys => 34,
            Route::RemovePasskey(_) => 35,
            Route::OAuthStart(_) => 36,
            Route::OAuthCallback(_) => 37,
            Route::Identities => 38,
            Route::LinkIdentity(_) => 39,
            Route::UnlinkIdentity(_) => 40,
            Route::OAuthProviders => 41,
        }
    }

    /// One path of every route, with the method it answers.
    const EVERY_ROUTE: &[(Method, &str)] = &[
        (Method::Get, "/health"),
        (Method::Get, "/.well-known/jwks.json"),
        (Method::Post, "/auth/register"),
        (Method::Post, "/auth/login"),
        (Method::Post, "/auth/refresh"),
        (Method::Post, "/auth/logout"),
        (Method::Post, "/auth/logout-all"),
        (Method::Get, "/auth/sessions"),
        (Method::Delete, "/auth/sessions/abc"),
        (Method::Post, "/auth/password"),
        (Method::Get, "/auth/claims"),
        (Method::Get, "/me"),
        (Method::Get, "/admin/users"),
        (Method::Delete, "/admin/users/abc"),
        (Method::Delete, "/admin/users/abc/sessions"),
        (Method::Put, "/admin/users/abc/role"),
        (Method::Put, "/admin/users/abc/disabled"),
        (Method::Post, "/__tollgate/calibrate"),
        (Method::Get, "/openapi.json"),
        (Method::Post, "/auth/password-reset"),
        (Method::Post, "/auth/password-reset/confirm"),
        (Method::Post, "/auth/email-verification"),
        (Method::Post, "/auth/email-verification/confirm"),
        (Method::Post, "/auth/email"),
        (Method::Post, "/auth/email/confirm"),
        (Method::Post, "/auth/mfa/verify"),
        (Method::Post, "/auth/mfa/totp"),
        (Method::Post, "/auth/mfa/totp/confirm"),
        (Method::Post, "/auth/mfa/recovery-codes"),
        (Method::Delete, "/admin/users/abc/mfa"),
        (Method::Post, "/auth/passkeys/register/options"),
        (Method::Post, "/auth/passkeys/register"),
        (Method::Post, "/auth/passkeys/login/options"),
        (Method::Post, "/auth/passkeys/login"),
        (Method::Get, "/auth/passkeys"),
        (Method::Delete, "/auth/passkeys/abc"),
        (Method::Get, "/auth/oauth/google/start"),
        (Method::Get, "/auth/oauth/google/callback"),
        (Method::Get, "/auth/identities"),
        (Method::Post, "/auth/identities/google/link"),
        (Method::Delete, "/auth/identities/google"),
        (Method::Get, "/auth/oauth/providers"),
    ];

    /// wrangler.toml's `assets.run_worker_first` sends every API route to the Worker before
    /// any file lookup, so no file in worker/public can shadow a route. A route added to the
    /// table but not to the list would still work, only behind the lookup: this keeps them in
    /// step. (Patterns are exact paths or a prefix ending in `/*`, as Cloudflare matches them.)
    #[test]
    fn every_route_runs_the_worker_first() {
        let toml = include_str!("../../wrangler.toml");
        let line = toml
            .lines()
            .find_map(|l| l.strip_prefix("run_worker_first = "))
            .expect("wrangler.toml sets assets.run_worker_first");
        let patterns: Vec<&str> = line
            .trim_matches(['[', ']'])
            .split(',')
            .map(|p| p.trim().trim_matches('"'))
            .collect();
        let covered = |path: &str| {
            patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == *p,
            })
        };
        let mut seen = [false; ROUTES];
        for (method, path) in EVERY_ROUTE {
            let Ok(route) = resolve(method, path) else {
                panic!("{method:?} {path} is not a route");
            };
            seen[ordinal(&route)] = true;
            assert!(
                covered(path),
                "{path} is not in run_worker_first: {patterns:?}"
            );
        }
        assert!(
            seen.iter().all(|s| *s),
            "EVERY_ROUTE misses a route: {seen:?}"
        );
        // The static files stay with the assets layer: the demo page, Swagger UI's, the admin
        // page and their scripts. (`/openapi.json` is the Worker's: it fills in the scopes.)
        for path in [
            "/",
            "/docs",
            "/docs.js",
            "/admin",
            "/admin.js",
            "/admin.css",
            "/client/index.js",
        ] {
            assert!(!covered(path), "{path} would skip the assets layer");
        }
    }
}
