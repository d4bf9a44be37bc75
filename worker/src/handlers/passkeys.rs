//! `/auth/passkeys/*`: registering passkeys, signing in with one, listing and removing them.
//!
//! Bodies are the WebAuthn Level 3 JSON forms as the browser makes them: the options are
//! `PublicKeyCredentialCreationOptionsJSON` / `PublicKeyCredentialRequestOptionsJSON`, and
//! `POST /auth/passkeys/register` and `/auth/passkeys/login` take the credential's
//! `toJSON()` (`RegistrationResponseJSON`, `AuthenticationResponseJSON`) as they are.

use serde_json::{Value, json};
use tollgate_core::Error;
use tollgate_core::passkey::{RelyingParty, StoredPasskey};
use tollgate_core::time::format_rfc3339;

use super::auth::signed_in;
use super::{HostRandom, principal, stores};
use crate::error::AuthError;
use crate::http::{Reply, read_body, require_media_type};
use crate::incoming::Incoming;
use crate::routes::Cx;
use crate::webauthn::WebCryptoEs256;

/// The relying party, or 503 `misconfigured` naming what to set.
pub(super) fn relying_party<'a>(cx: &Cx<'a>) -> Result<&'a RelyingParty, AuthError> {
    cx.settings.webauthn.as_ref().ok_or_else(|| {
        AuthError::Core(Error::Misconfigured(
            "passkeys need WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS (or APP_URL)".into(),
        ))
    })
}

/// A JSON body, any JSON value (the core reads the WebAuthn form and refuses the rest).
async fn json_body(req: &mut Incoming) -> Result<Value, AuthError> {
    require_media_type(req, "application/json")?;
    serde_json::from_slice(&read_body(req).await?)
        .map_err(|_| AuthError::MalformedBody("not valid JSON"))
}

/// A passkey as the API shows it: never the public key.
fn passkey_json(p: &StoredPasskey) -> Value {
    json!({
        "id": p.id,
        "alg": p.alg,
        "kind": p.amr(),
        "created_at": format_rfc3339(p.created_at),
        "last_used_at": p.last_used_at.map(format_rfc3339),
    })
}

/// `POST /auth/passkeys/register/options` (bearer) → creation options.
pub async fn register_options(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    // Who is asking first: a bearer route answers 401 without a token, configured or not.
    let principal = principal(req, cx)?;
    let rp = relying_party(cx)?;
    let stores = stores(cx);
    let options = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .passkey_registration_options(&principal, rp, cx.now, &mut HostRandom)
        .await?;
    Ok(Reply::json(200, &options).with("Cache-Control", "no-store"))
}

/// `POST /auth/passkeys/register` (bearer) `RegistrationResponseJSON` → 201 the passkey.
pub async fn register(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let rp = relying_party(cx)?;
    let body = json_body(req).await?;
    let stores = stores(cx);
    let passkey = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .register_passkey(&principal, rp, &body, cx.now)
        .await?;
    Ok(Reply::json(201, &passkey_json(&passkey)))
}

/// `POST /auth/passkeys/login/options` → request options for a discoverable credential; with
/// a JSON body `{"mfa_token"}`, options for answering that login's `mfa_required` with a
/// passkey (then sent to `POST /auth/mfa/verify` as `passkey`). Writes nothing (the challenge
/// is signed; its single use is recorded when it is answered).
pub async fn login_options(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let rp = relying_party(cx)?;
    // No body (or an empty one) is the discoverable sign-in.
    let body = read_body(req).await?;
    let mfa_token = if body.is_empty() {
        None
    } else {
        require_media_type(req, "application/json")?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| AuthError::MalformedBody("not valid JSON"))?;
        match value.get("mfa_token") {
            Some(Value::String(token)) => Some(token.clone()),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(Error::Validation(alloc_field("mfa_token")).into());
            }
        }
    };
    let stores = stores(cx);
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    let options = match mfa_token {
        Some(token) => flows.mfa_passkey_options(rp, &token, cx.now, &mut HostRandom)?,
        None => flows.passkey_login_options(rp, None, cx.now, &mut HostRandom),
    };
    Ok(Reply::json(200, &options).with("Cache-Control", "no-store"))
}

/// The one problem of a field with the wrong type.
fn alloc_field(name: &str) -> Vec<tollgate_core::FieldError> {
    vec![tollgate_core::FieldError::new(
        name,
        tollgate_core::ErrorCode::InvalidValue,
    )]
}

/// `POST /auth/passkeys/login` `AuthenticationResponseJSON` → the token response and the
/// refresh cookie, as `POST /auth/login` answers.
pub async fn login(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let rp = relying_party(cx)?;
    let body = json_body(req).await?;
    let user_agent = req.header("User-Agent").unwrap_or_default();
    let stores = stores(cx);
    let outcome = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .passkey_login(
            rp,
            &body,
            &user_agent,
            cx.now,
            &WebCryptoEs256,
            &mut HostRandom,
        )
        .await?;
    Ok(signed_in(&outcome.tokens, false, cx))
}

/// `GET /auth/passkeys` (bearer) → `{"passkeys": [...]}`.
pub async fn list(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    let passkeys = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .passkeys(&principal)
        .await?;
    let list: Vec<Value> = passkeys.iter().map(passkey_json).collect();
    Ok(Reply::json(200, &json!({ "passkeys": list })))
}

/// `DELETE /auth/passkeys/{id}` (bearer) → 204; 409 `last_login_method` for the account's
/// last way to sign in.
pub async fn remove(req: &Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .remove_passkey(&principal, id, cx.now)
        .await?;
    Ok(Reply::empty(204))
}
