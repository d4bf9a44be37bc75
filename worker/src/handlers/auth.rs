//! `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`.

use serde_json::{Value, json};
use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::flows::{LoginInput, Tokens};
use tollgate_core::{Error, ErrorCode, FieldError, RefreshRejection};

use super::{HostRandom, cookie_mode, principal, stores, token_response};
use crate::delivery;
use crate::error::AuthError;
use crate::http::{
    self, Reply, form_field, json_object, parse_form, read_body, require_media_type, string_fields,
};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// `POST /auth/register` JSON `{"email","password"}` → 201 `{"id","email","role"}`.
pub async fn register(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [email, password] = string_fields(&body, ["email", "password"])?;
    let stores = stores(cx);
    let client_address = crate::events::client_address(req.headers());
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    let user = flows
        .register(email, password, &client_address, cx.now, &mut HostRandom)
        .await?;
    // With a mailer, every new account gets its first verification by itself (after the
    // response, like every message).
    if delivery::configured(cx) {
        delivery::send(cx, flows.verification_message(&user, cx.now));
    }
    Ok(Reply::json(
        201,
        &json!({ "id": user.id, "email": user.email, "role": user.role }),
    ))
}

/// `POST /auth/login`, the OAuth2 password-grant form (RFC 6749 §4.3.2) that FastAPI's
/// `OAuth2PasswordRequestForm` and Swagger UI's Authorize button send.
pub async fn login(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_media_type(req, "application/x-www-form-urlencoded")?;
    let form = parse_form(&read_body(req).await?)?;
    let username = form_field(&form, "username")?;
    let password = form_field(&form, "password")?;
    let mut problems = Vec::new();
    if username.is_none() {
        problems.push(FieldError::new("username", ErrorCode::MissingField));
    }
    if password.is_none() {
        problems.push(FieldError::new("password", ErrorCode::MissingField));
    }
    // `grant_type` may be omitted (FastAPI's form makes it optional) but must say password.
    if form_field(&form, "grant_type")?.is_some_and(|g| g != "password") {
        problems.push(FieldError::new("grant_type", ErrorCode::InvalidValue));
    }
    let native = match form_field(&form, "client_type")? {
        None | Some("browser") => false,
        Some("native") => true,
        Some(_) => {
            problems.push(FieldError::new("client_type", ErrorCode::InvalidValue));
            false
        }
    };
    // `scope` narrows the session to those of the role's scopes it names (RFC 6749 §3.3);
    // the core checks its syntax and keeps the narrowing for the session's life.
    let scope = form_field(&form, "scope")?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(Error::Validation(problems).into());
    };
    if !problems.is_empty() {
        return Err(Error::Validation(problems).into());
    }
    let stores = stores(cx);
    // Read only here: every header read crosses into JavaScript, and only a login needs these.
    let client_address = crate::events::client_address(req.headers());
    let user_agent = req.header("User-Agent").unwrap_or_default();
    let input = LoginInput {
        username,
        password,
        client_address: &client_address,
        user_agent: &user_agent,
        scope,
    };
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    let outcome = match flows.login(&input, cx.now, &mut HostRandom).await {
        Err(Error::EmailNotVerified) => {
            // REQUIRE_VERIFIED_EMAIL, and the right password: a fresh verification goes out,
            // throttled like a reset (a refusal by the throttle still answers 403).
            if let Ok(Some(message)) = flows
                .resend_verification(username, &client_address, cx.now)
                .await
            {
                delivery::send(cx, message);
            }
            return Err(Error::EmailNotVerified.into());
        }
        result => result?,
    };
    Ok(signed_in(&outcome.tokens, native, cx))
}

/// The answer to any sign-in (a password, a passkey): the token response, with the refresh
/// cookie for a browser.
pub(crate) fn signed_in(tokens: &Tokens, native: bool, cx: &Cx<'_>) -> Reply {
    let mode = cookie_mode(cx);
    let mut response = token_response(tokens, native, mode);
    if !native {
        // A browser may still hold the cookie of the other mode (CROSS_SITE_COOKIES was
        // switched): partitioned and unpartitioned cookies of one name are two cookies, which
        // would come back together and be refused as ambiguous. A sign-in removes the other.
        response.append("Set-Cookie", http::clear_refresh_cookie(mode.other()));
    }
    response
}

/// Where a refresh or logout request carries its refresh token.
struct Presented {
    token: Option<String>,
    /// The token came in a JSON body (a native client), not in the cookie.
    in_body: bool,
}

/// Reads the refresh token from a JSON body `{"refresh_token"}` or the cookie. (Refresh and
/// logout run behind `same_site::require`: a cross-site browser request never gets here.)
///
/// # Errors
/// 401 `invalid_refresh_token` when the cookie's name appears twice (cookie tossing); the
/// body's errors (413, 415, 422).
async fn presented_token(req: &mut Incoming, cx: &Cx<'_>) -> Result<Presented, AuthError> {
    let body = read_body(req).await?;
    if !body.is_empty() {
        require_media_type(req, "application/json")?;
        let object = json_object(&body)?;
        match object.get("refresh_token") {
            Some(Value::String(token)) => {
                return Ok(Presented {
                    token: Some(token.clone()),
                    in_body: true,
                });
            }
            None => {}
            Some(_) => return Err(Error::field("refresh_token", ErrorCode::MissingField).into()),
        }
    }
    let token = match http::cookie(req, http::REFRESH_COOKIE) {
        Ok(token) => token.filter(|t| !t.is_empty()),
        // Refused as it is: no Set-Cookie, so the real cookie is neither cleared nor
        // replaced, and the session it names is not touched.
        Err(http::DuplicateCookie) => {
            let reason = RefreshRejection::Ambiguous;
            cx.events.record(SecurityEvent::RefreshRejected {
                reason: reason.as_str(),
            });
            return Err(Error::InvalidRefreshToken(reason).into());
        }
    };
    Ok(Presented {
        token,
        in_body: false,
    })
}

/// `POST /auth/refresh`: rotates the refresh token (cookie, or `{"refresh_token"}` in a JSON
/// body for native clients) and issues a new access token.
pub async fn refresh(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let presented = presented_token(req, cx).await?;
    let stores = stores(cx);
    let result = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .refresh(presented.token.as_deref(), cx.now, &mut HostRandom)
        .await;
    match result {
        Ok(tokens) => Ok(token_response(&tokens, presented.in_body, cookie_mode(cx))),
        // A dead session's cookie is useless: tell the browser to drop it with the 401.
        Err(e @ (Error::InvalidRefreshToken(_) | Error::RefreshTokenReused))
            if !presented.in_body =>
        {
            Ok(AuthError::Core(e)
                .into_reply()
                .with("Set-Cookie", http::clear_refresh_cookie(cookie_mode(cx))))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /auth/logout` → 204: ends the session of the presented refresh token (if any) and
/// clears the cookie.
pub async fn logout(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let presented = presented_token(req, cx).await?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .logout(presented.token.as_deref(), cx.now)
        .await?;
    Ok(no_content_clearing_cookie(cx))
}

/// `POST /auth/logout-all` (bearer) → 204: ends every session of the user.
pub async fn logout_all(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .logout_all(&principal, cx.now)
        .await?;
    Ok(no_content_clearing_cookie(cx))
}

/// 204, removing the refresh cookie of both modes (see `login`).
fn no_content_clearing_cookie(cx: &Cx<'_>) -> Reply {
    let mode = cookie_mode(cx);
    let mut reply = Reply::empty(204).with("Set-Cookie", http::clear_refresh_cookie(mode));
    reply.append("Set-Cookie", http::clear_refresh_cookie(mode.other()));
    reply
}
