//! One handler per endpoint: parse the request, call a core flow, render the result.

pub mod account;
pub mod admin;
pub mod auth;
pub mod identities;
pub mod meta;
pub mod mfa;
pub mod oauth;
pub mod openapi;
pub mod passkeys;
pub mod recovery;

use serde_json::json;
use tollgate_core::flows::Tokens;
use tollgate_core::random::Random;
use tollgate_core::roles::Principal;

use crate::error::AuthError;
use crate::http::{self, Reply};
use crate::incoming::Incoming;
use crate::kv::WorkerStores;
use crate::routes::Cx;

/// Randomness from `crypto.getRandomValues`.
pub(crate) struct HostRandom;

impl Random for HostRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // The Web Crypto source does not fail for buffers this small. If it ever did, going on
        // with predictable ids or salts would be far worse than failing the request.
        #[allow(clippy::panic)]
        if getrandom::getrandom(dest).is_err() {
            panic!("crypto.getRandomValues failed");
        }
    }
}

/// The storage for this request (each binding is looked up when first used).
pub(crate) fn stores(cx: &Cx<'_>) -> WorkerStores {
    WorkerStores::new(
        cx.env,
        cx.settings.storage_timeout_ms,
        cx.settings.faults.clone(),
    )
    .strict(cx.settings.strict)
}

/// Who is calling, from the bearer token (no storage access).
pub(crate) fn principal(req: &Incoming, cx: &Cx<'_>) -> Result<Principal, AuthError> {
    Ok(cx
        .settings
        .auth
        .authenticate(req.header("Authorization").as_deref(), cx.now)?)
}

/// The refresh cookie's kind in this deployment (`CROSS_SITE_COOKIES`).
pub(crate) fn cookie_mode(cx: &Cx<'_>) -> http::CookieMode {
    http::CookieMode::new(cx.settings.cross_site_cookies)
}

/// The OAuth2 token response (RFC 6749 §5.1). Browsers get the refresh token as a cookie;
/// native clients (who asked with `client_type=native` or sent it in a JSON body) in the body.
pub(crate) fn token_response(tokens: &Tokens, native: bool, mode: http::CookieMode) -> Reply {
    let mut body = json!({
        "access_token": tokens.access_token,
        "token_type": "bearer",
        "expires_in": tokens.expires_in,
        // Always, not only when it differs from what was asked (RFC 6749 §5.1 requires it
        // then, and allows it otherwise): a client never has to work out what it was granted.
        "scope": tokens.scope,
    });
    if native {
        body["refresh_token"] = json!(tokens.refresh_token);
    }
    let mut response = Reply::json(200, &body);
    if !native {
        response.set(
            "Set-Cookie",
            http::refresh_cookie(&tokens.refresh_token, tokens.refresh_max_age, mode),
        );
    }
    response.with("Pragma", "no-cache")
}
