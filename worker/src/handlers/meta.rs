//! Health and the JWKS. (The OpenAPI document is in [`super::openapi`].)

use serde_json::json;

use crate::error::AuthError;
use crate::http::Reply;
use crate::routes::Cx;

/// `GET /health`: 200 when the Worker is configured and serving (503 `misconfigured` is
/// answered before this runs otherwise).
pub fn health(_cx: &Cx<'_>) -> Result<Reply, AuthError> {
    Ok(Reply::json(
        200,
        &json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }),
    ))
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens (an empty set
/// when tokens are HS256, whose key is secret). Cacheable for five minutes.
pub fn jwks(cx: &Cx<'_>) -> Reply {
    Reply::json_text(200, cx.settings.auth.keys.jwks_json())
        .with("Cache-Control", "public, max-age=300")
}
