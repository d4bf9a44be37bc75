//! `GET /auth/identities`, `POST /auth/identities/{provider}/link`,
//! `DELETE /auth/identities/{provider}`: a signed-in user's identities at providers.

use serde_json::json;
use tollgate_core::oidc::authorize::form_encode;
use tollgate_core::oidc::authorize::{LINK_TICKET_TTL_S, link_ticket_key, new_ticket};
use tollgate_core::roles::SCOPE_PROFILE;
use tollgate_core::{Error, ErrorCode};

use super::oauth::{oauth, provider};
use super::{HostRandom, principal, stores};
use crate::error::AuthError;
use crate::http::{self, Reply};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// `GET /auth/identities` (bearer, scope `profile`) → 200 `{"identities": [{"provider",
/// "subject", "email", "linked_at"}], "providers": [names configured]}`.
pub async fn list(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let configured: Vec<&String> = oauth(cx)?.providers.keys().collect();
    let stores = stores(cx);
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    let identities = flows.identities(&principal).await?;
    Ok(Reply::json(
        200,
        &json!({ "identities": identities, "providers": configured }),
    ))
}

/// `POST /auth/identities/{provider}/link` (bearer, scope `profile`) → 200 `{"url"}`: a
/// one-time start URL (valid for five minutes) that links the identity the user signs in
/// with at the provider to this account. Query `redirect_to` as for the start route.
///
/// # Errors
/// 404 for an unknown provider; 422 for a `redirect_to` not allowed; 401 for a bad token.
pub async fn link(req: &mut Incoming, cx: &Cx<'_>, name: &str) -> Result<Reply, AuthError> {
    // Who is asking first: an anonymous caller learns nothing about the configuration.
    let principal = principal(req, cx)?;
    principal.require_scope(SCOPE_PROFILE)?;
    provider(cx, name)?;
    let redirect_to = http::query_param(req.url(), "redirect_to");
    if let Some(target) = &redirect_to
        && !tollgate_core::oidc::authorize::redirect_allowed(
            target,
            oauth(cx)?.app_url.as_deref(),
            &cx.settings.allowed_origins,
        )
    {
        return Err(Error::field("redirect_to", ErrorCode::InvalidValue).into());
    }
    // Checked against the stored record, like every route that reads it: a token whose
    // sessions were ended, or of a disabled account, gets no ticket.
    let stores = stores(cx);
    let record = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .start_link(&principal, name, cx.now)
        .await?;
    let ticket = new_ticket(&mut HostRandom);
    let json =
        serde_json::to_string(&record).map_err(|e| Error::Internal(format!("link ticket: {e}")))?;
    stores
        .kv_put_ephemeral(
            &link_ticket_key(&ticket),
            json,
            cx.now + LINK_TICKET_TTL_S + 60,
        )
        .await?;
    let mut query = vec![("link", ticket.as_str())];
    if let Some(target) = &redirect_to {
        query.push(("redirect_to", target.as_str()));
    }
    let url = format!(
        "{}/auth/oauth/{name}/start?{}",
        http::own_origin(req),
        form_encode(&query)
    );
    Ok(Reply::json(200, &json!({ "url": url })))
}

/// `DELETE /auth/identities/{provider}` (bearer, scope `profile`) → 204.
///
/// # Errors
/// 404 when no identity at `provider` is linked; 409 `last_login_method` when it is the
/// account's last way to sign in.
pub async fn unlink(req: &mut Incoming, cx: &Cx<'_>, name: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    flows.unlink_identity(&principal, name, cx.now).await?;
    Ok(Reply::empty(204))
}
