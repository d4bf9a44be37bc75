//! `/me`, `/auth/claims`, `/auth/sessions`, `/auth/password`: a user's own account.

use serde_json::{Value, json};
use tollgate_core::store::UserRecord;
use tollgate_core::time::format_rfc3339;

use super::{HostRandom, principal, stores};
use crate::error::AuthError;
use crate::http::{Reply, json_object, read_body, require_media_type, string_fields};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// `GET /me` (bearer): one KV read.
pub async fn me(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    let user = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .me(&principal)
        .await?;
    Ok(Reply::json(200, &user_json(&user, cx)))
}

/// A user as the API shows it: never the hash or the session epoch.
pub(crate) fn user_json(user: &UserRecord, cx: &Cx<'_>) -> Value {
    let scope = cx
        .settings
        .auth
        .config
        .roles
        .scope_for(&user.role)
        .unwrap_or_default();
    json!({
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "scopes": scope.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "created_at": format_rfc3339(user.created_at),
        "email_verified": user.email_verified_at.is_some(),
        // The enrolled second factors (never a secret or a hash).
        "mfa": {
            "totp": user.mfa.confirmed_totp().is_some(),
            "recovery_codes": user.mfa.recovery_codes.len(),
        },
    })
}

/// `GET /auth/claims` (bearer): the verified claims of the caller's token, with no storage
/// access by default — the cheapest protected route, and a way for a backend to check a token.
/// With `ACCESS_TOKEN_REVOCATION = "session"`, one read checks that its session is live.
pub async fn claims(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let p = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .check_access(&p)
        .await?;
    Ok(Reply::json(
        200,
        &json!({
            "sub": p.user_id,
            "sid": p.session_id,
            "role": p.role,
            "scopes": p.scopes().collect::<Vec<_>>(),
            "exp": p.expires_at,
        }),
    ))
}

/// `GET /auth/sessions` (bearer): the caller's live sessions.
pub async fn sessions(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    let sessions = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .sessions(&principal, cx.now)
        .await?;
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "created_at": format_rfc3339(s.created_at),
                "last_used_at": format_rfc3339(s.last_used_at),
                "user_agent": s.user_agent,
                "current": s.current,
            })
        })
        .collect();
    Ok(Reply::json(200, &json!({ "sessions": sessions })))
}

/// `DELETE /auth/sessions/{id}` (bearer) → 204.
pub async fn revoke_session(req: &Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .revoke_session_at(&principal, id, cx.now)
        .await?;
    Ok(Reply::empty(204))
}

/// `POST /auth/password` (bearer) JSON `{"current_password","new_password"}` → 204; every
/// other session ends.
pub async fn change_password(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [current, new] = string_fields(&body, ["current_password", "new_password"])?;
    let stores = stores(cx);
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    flows
        .change_password(&principal, current, new, cx.now, &mut HostRandom)
        .await?;
    Ok(Reply::empty(204))
}
