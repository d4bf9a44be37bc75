//! `/auth/mfa/*`: the second step of a login, and TOTP management; and the admin's reset.

use serde_json::{Map, Value, json};
use tollgate_core::flows::MfaCode;
use tollgate_core::{Error, ErrorCode, FieldError};

use super::{HostRandom, cookie_mode, principal, stores, token_response};
use crate::error::AuthError;
use crate::http::{self, Reply, json_object, read_body, require_media_type, string_fields};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// The JSON object body of a request that must carry one.
async fn json_body(req: &mut Incoming) -> Result<Map<String, Value>, AuthError> {
    require_media_type(req, "application/json")?;
    json_object(&read_body(req).await?)
}

/// An optional string field: absent or `null` is `None`, another type is `missing_field`.
fn optional<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, AuthError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Error::field(name, ErrorCode::MissingField).into()),
    }
}

/// `POST /auth/mfa/verify` `{"mfa_token", "code"}` or `{"mfa_token", "recovery_code"}` (and
/// `client_type`, as at login) → the token response and the refresh cookie, as a password
/// login without a second factor gives.
/// What answers a login's second step.
enum Factor<'a> {
    /// A TOTP or recovery code.
    Code(MfaCode<'a>),
    /// A passkey assertion (`AuthenticationResponseJSON`).
    Passkey(&'a Value),
}

pub async fn verify(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let body = json_body(req).await?;
    let mfa_token = optional(&body, "mfa_token")?;
    let code = optional(&body, "code")?;
    let recovery_code = optional(&body, "recovery_code")?;
    let mut problems = Vec::new();
    if mfa_token.is_none() {
        problems.push(FieldError::new("mfa_token", ErrorCode::MissingField));
    }
    // A passkey assertion (`AuthenticationResponseJSON`, for options from
    // `POST /auth/passkeys/login/options` with this `mfa_token`) is the third kind of answer.
    let passkey = body.get("passkey").filter(|v| !v.is_null());
    let code = match (code, recovery_code, passkey) {
        (Some(code), None, None) => Some(Factor::Code(MfaCode::Totp(code))),
        (None, Some(code), None) => Some(Factor::Code(MfaCode::RecoveryCode(code))),
        (None, None, Some(assertion)) if assertion.is_object() => Some(Factor::Passkey(assertion)),
        (None, None, Some(_)) => {
            problems.push(FieldError::new("passkey", ErrorCode::InvalidValue));
            None
        }
        (None, None, None) => {
            problems.push(FieldError::new("code", ErrorCode::MissingField));
            None
        }
        (_, _, passkey) => {
            // One factor per attempt: which one was meant cannot be told.
            let field = if passkey.is_some() {
                "passkey"
            } else {
                "recovery_code"
            };
            problems.push(FieldError::new(field, ErrorCode::InvalidValue));
            None
        }
    };
    let native = match optional(&body, "client_type")? {
        None | Some("browser") => false,
        Some("native") => true,
        Some(_) => {
            problems.push(FieldError::new("client_type", ErrorCode::InvalidValue));
            false
        }
    };
    let (Some(mfa_token), Some(code), true) = (mfa_token, code, problems.is_empty()) else {
        return Err(Error::Validation(problems).into());
    };
    let stores = stores(cx);
    let client_address = crate::events::client_address(req.headers());
    let user_agent = req.header("User-Agent").unwrap_or_default();
    let flows = cx.settings.auth.flows(&stores, &cx.events);
    let outcome = match code {
        Factor::Code(code) => {
            flows
                .verify_mfa(
                    mfa_token,
                    code,
                    &client_address,
                    &user_agent,
                    cx.now,
                    &mut HostRandom,
                )
                .await?
        }
        Factor::Passkey(assertion) => {
            let rp = super::passkeys::relying_party(cx)?;
            flows
                .verify_mfa_passkey(
                    rp,
                    mfa_token,
                    assertion,
                    &client_address,
                    &user_agent,
                    cx.now,
                    &crate::webauthn::WebCryptoEs256,
                    &mut HostRandom,
                )
                .await?
        }
    };
    let mode = cookie_mode(cx);
    let mut response = token_response(&outcome.tokens, native, mode);
    if !native {
        // As at login: a cookie of the other mode would come back beside this one.
        response.append("Set-Cookie", http::clear_refresh_cookie(mode.other()));
    }
    Ok(response)
}

/// `POST /auth/mfa/totp` (bearer) `{"current_password"}` → `{"secret", "otpauth_uri"}`.
pub async fn enrol_totp(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let body = json_body(req).await?;
    let [password] = string_fields(&body, ["current_password"])?;
    let stores = stores(cx);
    let enrolment = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .enrol_totp(&principal, password, cx.now, &mut HostRandom)
        .await?;
    Ok(Reply::json(
        200,
        &json!({ "secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri }),
    )
    .with("Cache-Control", "no-store"))
}

/// `POST /auth/mfa/totp/confirm` (bearer) `{"code"}` → `{"recovery_codes": [10]}`, shown once.
pub async fn confirm_totp(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let body = json_body(req).await?;
    let [code] = string_fields(&body, ["code"])?;
    let stores = stores(cx);
    let codes = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .confirm_totp(&principal, code, cx.now, &mut HostRandom)
        .await?;
    Ok(recovery_codes(codes))
}

/// `DELETE /auth/mfa/totp` (bearer) `{"current_password", "code"}` → 204.
pub async fn disable_totp(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let body = json_body(req).await?;
    let [password, code] = string_fields(&body, ["current_password", "code"])?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .disable_totp(&principal, password, code, cx.now)
        .await?;
    Ok(Reply::empty(204))
}

/// `POST /auth/mfa/recovery-codes` (bearer) `{"current_password"}` or `{"code"}` → a new set
/// `{"recovery_codes": [10]}`; the old codes stop working.
pub async fn regenerate_recovery_codes(
    req: &mut Incoming,
    cx: &Cx<'_>,
) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let body = json_body(req).await?;
    let password = optional(&body, "current_password")?;
    let code = optional(&body, "code")?;
    let stores = stores(cx);
    let codes = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .regenerate_recovery_codes(&principal, password, code, cx.now, &mut HostRandom)
        .await?;
    Ok(recovery_codes(codes))
}

/// `{"recovery_codes": [...]}`, never cached.
fn recovery_codes(codes: Vec<String>) -> Reply {
    Reply::json(200, &json!({ "recovery_codes": codes })).with("Cache-Control", "no-store")
}

/// `DELETE /admin/users/{id}/mfa` (admin) → 204: the user's second factors are gone.
pub async fn admin_reset(req: &Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .reset_user_mfa(&principal, id, cx.now)
        .await?;
    Ok(Reply::empty(204))
}
