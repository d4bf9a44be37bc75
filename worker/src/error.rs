//! The Worker's error: the core's errors plus what only HTTP has, rendered one way.
//!
//! Every error becomes JSON `{"detail": "<sentence>", "code": "<stable code>"}` (FastAPI
//! clients read `detail`), with `errors` on every 422: one entry per invalid field, or one for
//! the `body` when it does not parse. 401s carry `WWW-Authenticate:
//! Bearer` (with `error="invalid_token"` when a token was presented, RFC 6750 §3), 429s
//! `Retry-After`, 405s `Allow`. Internal details are logged, never returned.

use serde_json::{Value, json};
use tollgate_core::{Error, ErrorCode};
use worker::Response;

use crate::http;

/// An error answered over HTTP.
#[derive(Debug)]
pub enum AuthError {
    /// Anything the core decided.
    Core(Error),
    /// No route matches the path.
    NotFound,
    /// The path exists with other methods (listed in `Allow`).
    MethodNotAllowed(&'static str),
    /// The body is over the limit.
    PayloadTooLarge,
    /// The body's content type is not the one the route takes.
    UnsupportedMediaType(&'static str),
    /// The body does not parse as the route's content type; says what was wrong.
    MalformedBody(&'static str),
    /// A browser request from another site to a route that sets or clears the refresh cookie;
    /// the reason chooses the `detail`, which names the fix.
    CrossSiteRefused(crate::same_site::Refusal),
}

impl From<Error> for AuthError {
    fn from(e: Error) -> AuthError {
        AuthError::Core(e)
    }
}

/// A workers-rs failure (building a response, reading a binding) is an internal error: logged
/// in detail, answered as a generic 500.
impl From<worker::Error> for AuthError {
    fn from(e: worker::Error) -> AuthError {
        AuthError::Core(Error::Internal(e.to_string()))
    }
}

impl From<tollgate_core::store::StoreError> for AuthError {
    fn from(e: tollgate_core::store::StoreError) -> AuthError {
        AuthError::Core(e.into())
    }
}

impl AuthError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Core(e) => e.code(),
            AuthError::NotFound => ErrorCode::NotFound,
            AuthError::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            AuthError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            AuthError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            AuthError::MalformedBody(_) => ErrorCode::MalformedBody,
            AuthError::CrossSiteRefused(_) => ErrorCode::CrossSiteRefused,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code().http_status()
    }

    /// The JSON body and the extra headers for this error.
    pub fn render(&self) -> (Value, Vec<(&'static str, String)>) {
        let code = self.code();
        let detail = match self {
            AuthError::UnsupportedMediaType(expected) => {
                format!("Unsupported content type; send {expected}.")
            }
            AuthError::MalformedBody(why) => {
                format!("The request body could not be parsed: {why}.")
            }
            AuthError::CrossSiteRefused(refusal) => refusal.detail().to_string(),
            _ => code.detail().to_string(),
        };
        let mut body = json!({ "detail": detail, "code": code.as_str() });
        match self {
            AuthError::Core(Error::Validation(fields)) => {
                body["errors"] = fields
                    .iter()
                    .map(|f| json!({ "field": f.field, "code": f.code.as_str(), "detail": f.code.detail() }))
                    .collect();
            }
            // The login's second step (Auth0's shape for the password grant): the token that
            // continues it and what the account can use.
            AuthError::Core(Error::MfaRequired(challenge)) => {
                body["mfa_token"] = json!(challenge.mfa_token);
                body["methods"] = json!(challenge.methods);
            }
            // Every 422 lists what was wrong in `errors`; for a body that does not parse,
            // that is the body as a whole.
            AuthError::MalformedBody(_) => {
                body["errors"] =
                    json!([{ "field": "body", "code": code.as_str(), "detail": detail }]);
            }
            _ => {}
        }
        let mut headers = Vec::new();
        match self {
            AuthError::Core(Error::InvalidToken(_)) => {
                headers.push((
                    "WWW-Authenticate",
                    r#"Bearer error="invalid_token""#.to_string(),
                ));
            }
            AuthError::Core(Error::TooManyAttempts { retry_after_s }) => {
                headers.push(("Retry-After", retry_after_s.to_string()));
            }
            AuthError::Core(Error::StorageUnavailable(_)) => {
                headers.push(("Retry-After", "1".to_string()))
            }
            AuthError::MethodNotAllowed(allow) => headers.push(("Allow", (*allow).to_string())),
            _ => {}
        }
        if self.status() == 401 && headers.iter().all(|(name, _)| *name != "WWW-Authenticate") {
            headers.push(("WWW-Authenticate", "Bearer".to_string()));
        }
        (body, headers)
    }

    /// The JSON error response (`{"detail","code"}`, with `WWW-Authenticate` on 401);
    /// server-side failures are logged with their detail first.
    pub fn into_response(self) -> Response {
        Response::from(self.into_reply().into_raw())
    }

    /// The JSON error reply: [`AuthError::into_response`] before it is handed to the runtime.
    pub(crate) fn into_reply(self) -> http::Reply {
        if let Some(detail) = self.log_detail() {
            worker::console_error!(
                "{}",
                json!({ "level": "error", "event": self.code().as_str(), "detail": detail })
            );
        }
        let (body, headers) = self.render();
        let mut reply = http::Reply::json(self.status(), &body);
        for (name, value) in headers {
            reply.set(name, value);
        }
        reply
    }

    /// What to log about this error, if anything: server-side failures only, with detail.
    /// (A misconfiguration is logged once per isolate, when the configuration is read.)
    pub fn log_detail(&self) -> Option<String> {
        match self {
            AuthError::Core(e @ (Error::Internal(_) | Error::StorageUnavailable(_))) => {
                Some(e.to_string())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::{ErrorCode, FieldError, RefreshRejection, TokenRejection};

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_401_carries_a_bearer_challenge() {
        for e in [
            Error::NotAuthenticated,
            Error::InvalidCredentials,
            Error::InvalidToken(TokenRejection::Expired),
            Error::InvalidRefreshToken(RefreshRejection::Revoked),
            Error::RefreshTokenReused,
        ] {
            let err = AuthError::from(e);
            assert_eq!(err.status(), 401);
            let (_, headers) = err.render();
            assert!(
                header(&headers, "WWW-Authenticate")
                    .unwrap()
                    .starts_with("Bearer"),
                "{err:?}"
            );
        }
        let (_, h) = AuthError::from(Error::InvalidToken(TokenRejection::Signature)).render();
        assert_eq!(
            header(&h, "WWW-Authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
    }

    #[test]
    fn bodies_carry_detail_code_and_field_errors_but_no_internal_reason() {
        let (body, _) = AuthError::from(Error::InvalidToken(TokenRejection::Audience)).render();
        assert_eq!(
            body,
            json!({"detail": "The access token is invalid or has expired.", "code": "invalid_token"})
        );
        let (body, _) = AuthError::from(Error::Validation(vec![FieldError::new(
            "email",
            ErrorCode::InvalidEmail,
        )]))
        .render();
        assert_eq!(body["code"], "validation_error");
        assert_eq!(
            body["errors"][0],
            json!({"field": "email", "code": "invalid_email", "detail": "This is not a valid email address."})
        );
        let (body, _) = AuthError::MalformedBody("not valid JSON").render();
        assert_eq!(body["code"], "malformed_body");
        assert_eq!(
            body["errors"],
            json!([{"field": "body", "code": "malformed_body", "detail": "The request body could not be parsed: not valid JSON."}])
        );
        let (body, _) = AuthError::from(Error::StorageUnavailable(
            "KV put email failed: secret detail".into(),
        ))
        .render();
        assert!(!body.to_string().contains("secret detail"));
    }

    #[test]
    fn mfa_required_is_403_with_the_token_and_methods_in_the_body() {
        let err = AuthError::from(Error::MfaRequired(tollgate_core::MfaChallenge {
            mfa_token: "tok".into(),
            methods: vec!["totp", "recovery_code"],
        }));
        assert_eq!(err.status(), 403);
        let (body, headers) = err.render();
        assert_eq!(
            body,
            json!({
                "detail": ErrorCode::MfaRequired.detail(),
                "code": "mfa_required",
                "mfa_token": "tok",
                "methods": ["totp", "recovery_code"],
            })
        );
        assert!(headers.is_empty(), "{headers:?}");
        // The token never reaches a log line through Debug.
        assert!(!format!("{err:?}").contains("tok\""));
        let (_, headers) = AuthError::from(Error::MfaTokenInvalid).render();
        assert_eq!(header(&headers, "WWW-Authenticate"), Some("Bearer"));
    }

    #[test]
    fn throttling_and_method_errors_carry_their_headers() {
        let (_, h) = AuthError::from(Error::TooManyAttempts { retry_after_s: 42 }).render();
        assert_eq!(header(&h, "Retry-After"), Some("42"));
        let (_, h) = AuthError::MethodNotAllowed("GET, HEAD").render();
        assert_eq!(header(&h, "Allow"), Some("GET, HEAD"));
    }

    #[test]
    fn a_cross_site_refusal_is_403_cross_site_refused_with_the_detail_of_its_reason() {
        use crate::same_site::Refusal;
        for refusal in [
            Refusal::ForeignOrigin("https://evil.example".into()),
            Refusal::CrossSite,
            Refusal::NoAllowedOrigin,
            Refusal::NoCsrfHeader,
        ] {
            let err = AuthError::CrossSiteRefused(refusal.clone());
            assert_eq!(err.status(), 403);
            let (body, headers) = err.render();
            assert_eq!(
                body,
                json!({"detail": refusal.detail(), "code": "cross_site_refused"})
            );
            assert!(headers.is_empty(), "{headers:?}");
            // The origin is logged, never echoed to the page.
            assert!(!body.to_string().contains("evil.example"));
        }
    }
}
