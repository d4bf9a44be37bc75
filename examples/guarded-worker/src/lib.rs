//! A Worker that trusts Tollgate's access tokens: `/public` is open, `/notes` needs a valid
//! token with the `profile` scope, `/admin/stats` needs the `admin` role.
//!
//! It verifies with public keys only: the Tollgate Worker that issues the tokens signs with
//! EdDSA (`JWT_PRIVATE_KEY`), and this one is given its JWKS (`JWT_PUBLIC_KEYS`) or the address
//! of it (`JWKS_URL`, fetched and kept in the Cache API), with the same `JWT_ISSUER` and
//! `JWT_AUDIENCE` (see `wrangler.toml` beside this file). It holds nothing that can sign a
//! token, and verifying one costs a signature check: no storage, no call to Tollgate unless the
//! keys must be fetched.

use serde_json::json;
use tollgate_worker::{AuthError, authenticate, require_role, require_scope};
use worker::{Context, Env, Request, Response, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    // Every AuthError renders as Tollgate's JSON error, with WWW-Authenticate on 401.
    Ok(route(&req, &env)
        .await
        .unwrap_or_else(AuthError::into_response))
}

async fn route(req: &Request, env: &Env) -> Result<Response, AuthError> {
    match req.path().as_str() {
        "/public" => Ok(Response::from_json(&json!({ "hello": "anyone" }))?),
        "/notes" => {
            let user = authenticate(req, env).await?; // 401 unless a valid bearer token
            require_scope(&user, "profile")?; // 403 unless the token grants it
            Ok(Response::from_json(&json!({ "notes_of": user.user_id }))?)
        }
        "/admin/stats" => {
            let admin = authenticate(req, env).await?;
            require_role(&admin, "admin")?;
            Ok(Response::from_json(
                &json!({ "requested_by": admin.user_id }),
            )?)
        }
        _ => Ok(Response::error("Not found", 404)?),
    }
}
