//! `/auth/password-reset`, `/auth/email-verification`, `/auth/email` and their `/confirm`
//! routes: recovering an account, proving its address and moving it, through the mailbox (the flows are
//! `tollgate_core::flows`' recovery and email flows; delivery is `crate::delivery`).

use tollgate_core::Error;

use super::{HostRandom, principal, stores};
use crate::delivery;
use crate::error::AuthError;
use crate::http::{Reply, json_object, read_body, require_media_type, string_fields};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// 503 `misconfigured` (logged once per request, naming the var) when no mailer is set up:
/// these routes cannot do what they promise without one.
fn require_delivery(cx: &Cx<'_>) -> Result<(), AuthError> {
    if delivery::configured(cx) {
        return Ok(());
    }
    Err(Error::Misconfigured(
        "EMAIL_WEBHOOK_URL is not set: password reset and email verification need a mailer \
         (see README, \"Email delivery\")"
            .into(),
    )
    .into())
}

/// `POST /auth/password-reset` JSON `{"email"}` → 202, whether the address has an account or
/// not; the message (if any) is sent after the response.
pub async fn request_password_reset(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_delivery(cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [email] = string_fields(&body, ["email"])?;
    let stores = stores(cx);
    let client_address = crate::events::client_address(req.headers());
    let message = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .request_password_reset(email, &client_address, cx.now)
        .await?;
    if let Some(message) = message {
        delivery::send(cx, message);
    }
    Ok(Reply::empty(202))
}

/// `POST /auth/password-reset/confirm` JSON `{"token","new_password"}` → 204: the password is
/// set, every session ends, the login throttle is cleared.
pub async fn confirm_password_reset(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_delivery(cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [token, new_password] = string_fields(&body, ["token", "new_password"])?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .confirm_password_reset(token, new_password, cx.now, &mut HostRandom)
        .await?;
    Ok(Reply::empty(204))
}

/// `POST /auth/email-verification` (bearer) → 202: a verification goes to the caller's
/// current address (nothing when it is verified already). Throttled like a reset.
pub async fn request_email_verification(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    // Who is asking comes first, as on every bearer route: 401 before anything else.
    let principal = principal(req, cx)?;
    require_delivery(cx)?;
    let stores = stores(cx);
    let client_address = crate::events::client_address(req.headers());
    let message = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .request_email_verification(&principal, &client_address, cx.now)
        .await?;
    if let Some(message) = message {
        delivery::send(cx, message);
    }
    Ok(Reply::empty(202))
}

/// `POST /auth/email-verification/confirm` JSON `{"token"}` → 204: the address is verified.
pub async fn confirm_email(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_delivery(cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [token] = string_fields(&body, ["token"])?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .confirm_email(token, cx.now)
        .await?;
    Ok(Reply::empty(204))
}

/// `POST /auth/email` (bearer) JSON `{"new_email","current_password"}` → 202: an
/// `email_change` message goes to the new address and an `email_changed_notice` to the old.
pub async fn request_email_change(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    require_delivery(cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [new_email, current_password] = string_fields(&body, ["new_email", "current_password"])?;
    let stores = stores(cx);
    let messages = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .request_email_change(&principal, new_email, current_password, cx.now)
        .await?;
    for message in messages {
        delivery::send(cx, message);
    }
    Ok(Reply::empty(202))
}

/// `POST /auth/email/confirm` JSON `{"token"}` → 204: the account moves to the new address.
/// A valid bearer token of the same user, if sent, keeps that session; every other one ends.
pub async fn confirm_email_change(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    require_delivery(cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [token] = string_fields(&body, ["token"])?;
    let keep = principal(req, cx).ok();
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .confirm_email_change(token, keep.as_ref(), cx.now)
        .await?;
    Ok(Reply::empty(204))
}
