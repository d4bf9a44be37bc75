//! Who signed in at a provider, and what to do about it locally: the token response, the
//! userinfo document, the linking decision, and how many ways an account has to sign in.

use alloc::format;
use alloc::string::{String, ToString};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::id_token::{MAX_SUBJECT_BYTES, email_claims};
use crate::error::{Error, ErrorCode};
use crate::id::Id;
use crate::store::UserRecord;
use crate::time::UnixSeconds;
use crate::token::strict_json;

/// An identity at a provider linked to an account: listed in the user record, and indexed as
/// `identity:{provider}:{subject}` → the user's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentity {
    /// The provider's name in `OAUTH_PROVIDERS`.
    pub provider: String,
    /// The provider's stable id for the user (`sub`).
    pub subject: String,
    /// The email the provider asserted when it was linked, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When it was linked.
    pub linked_at: UnixSeconds,
}

/// The identity index key of `subject` at `provider`.
pub fn identity_key(provider: &str, subject: &str) -> String {
    format!("identity:{provider}:{subject}")
}

/// What a provider asserted about the user who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asserted {
    /// The provider's name.
    pub provider: String,
    /// Its stable id for the user.
    pub subject: String,
    /// The email it gave, if any.
    pub email: Option<String>,
    /// Whether it asserted that email verified (`email_verified: true`).
    pub email_verified: bool,
}

/// The members of a token endpoint's success response that Tollgate uses (RFC 6749 §5.1,
/// OpenID Connect Core §3.1.3.3).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token (for userinfo).
    pub access_token: String,
    /// The ID token, for OpenID Connect.
    pub id_token: Option<String>,
}

impl core::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokenResponse { [redacted] }")
    }
}

fn provider_error(why: impl Into<String>) -> Error {
    Error::SignInRefused(ErrorCode::ProviderError, why.into())
}

/// Reads a token endpoint's answer: `status` and its JSON body.
///
/// # Errors
/// [`Error::SignInRefused`] (`provider_error`) for an error status or body (its `error` code is
/// kept for the log, never its description), a body that is not strict JSON, a `token_type`
/// other than `Bearer` (case-insensitive, RFC 6749 §5.1), no `access_token`, or (with
/// `needs_id_token`) no `id_token`.
pub fn parse_token_response(
    status: u16,
    body: &str,
    needs_id_token: bool,
) -> Result<TokenResponse, Error> {
    let doc = match strict_json::parse_value(body.as_bytes()) {
        Ok(Value::Object(doc)) => doc,
        _ => {
            return Err(provider_error(format!(
                "token endpoint answered {status} without a JSON object"
            )));
        }
    };
    if let Some(error) = doc.get("error").and_then(Value::as_str) {
        let shown: String = error.chars().take(64).collect();
        return Err(provider_error(format!(
            "token endpoint answered {status} error={shown:?}"
        )));
    }
    if !(200..300).contains(&status) {
        return Err(provider_error(format!("token endpoint answered {status}")));
    }
    let text = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if !text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
        return Err(provider_error("token endpoint gave no bearer token_type"));
    }
    let access_token = text("access_token")
        .ok_or_else(|| provider_error("token endpoint gave no access_token"))?
        .to_string();
    let id_token = text("id_token").map(ToString::to_string);
    if needs_id_token && id_token.is_none() {
        return Err(provider_error("token endpoint gave no id_token"));
    }
    Ok(TokenResponse {
        access_token,
        id_token,
    })
}

/// Reads a userinfo answer (OpenID Connect Core §5.3.2, or a plain OAuth2 provider's user
/// document): the subject is `sub`, or else `id` (GitHub's, a number or a string); `email` and
/// `email_verified` as in an ID token. With `expected_subject` (an OpenID provider whose ID
/// token named the user), `sub` must be it (§5.3.4).
///
/// # Errors
/// [`Error::SignInRefused`] (`provider_error`) for an error status, a body that is not a strict
/// JSON object, no usable subject, a subject other than the expected one, or an email claim of
/// the wrong type.
pub fn parse_userinfo(
    provider: &str,
    status: u16,
    body: &str,
    expected_subject: Option<&str>,
) -> Result<Asserted, Error> {
    if !(200..300).contains(&status) {
        return Err(provider_error(format!("userinfo answered {status}")));
    }
    let Ok(Value::Object(doc)) = strict_json::parse_value(body.as_bytes()) else {
        return Err(provider_error("userinfo answered no JSON object"));
    };
    let subject = match (doc.get("sub"), doc.get("id")) {
        (Some(Value::String(sub)), _) => sub.clone(),
        (None, Some(Value::String(id))) => id.clone(),
        // Through u64: `Number`'s own Display would link float formatting into the Worker.
        (None, Some(Value::Number(id))) => match id.as_u64() {
            Some(id) => id.to_string(),
            None => return Err(provider_error("userinfo names no subject")),
        },
        _ => return Err(provider_error("userinfo names no subject")),
    };
    if subject.is_empty() || subject.len() > MAX_SUBJECT_BYTES {
        return Err(provider_error("userinfo's subject is empty or too long"));
    }
    if expected_subject.is_some_and(|s| s != subject) {
        return Err(provider_error("userinfo's sub is not the ID token's"));
    }
    let (email, email_verified) = email_claims(&doc)
        .map_err(|_| provider_error("userinfo's email claims have the wrong type"))?;
    Ok(Asserted {
        provider: provider.to_string(),
        subject,
        email,
        email_verified,
    })
}

impl Asserted {
    /// This assertion with its email claims taken from a GitHub-style list of the account's
    /// addresses (the answer of GitHub's `GET /user/emails`, `[{"email", "primary",
    /// "verified", "visibility"}, ...]`): the primary address, verified as the list says. The
    /// user document's own `email` is only the public address, which many accounts do not
    /// set, and says nothing of verification. A list with no primary address leaves the
    /// claims as they were, and so does a 403 or 404: what GitHub answers a token that may
    /// not read the addresses (an OAuth app's without the `user:email` scope, a GitHub App's
    /// without the "Email addresses" permission). Those claims are never verified, so they
    /// cannot link by email; a linked identity still signs in.
    ///
    /// # Errors
    /// [`Error::SignInRefused`] (`provider_error`) for any other error status, a body that is
    /// not a strict JSON array of objects, a member of the wrong type, or two primary
    /// addresses.
    pub fn with_listed_emails(mut self, status: u16, body: &str) -> Result<Asserted, Error> {
        if status == 403 || status == 404 {
            return Ok(self);
        }
        if !(200..300).contains(&status) {
            return Err(provider_error(format!("emails endpoint answered {status}")));
        }
        let Ok(Value::Array(entries)) = strict_json::parse_value(body.as_bytes()) else {
            return Err(provider_error("emails endpoint answered no JSON array"));
        };
        let mut primary = None;
        for entry in &entries {
            let (
                Some(Value::String(email)),
                Some(Value::Bool(is_primary)),
                Some(Value::Bool(verified)),
            ) = (
                entry.get("email"),
                entry.get("primary"),
                entry.get("verified"),
            )
            else {
                return Err(provider_error(
                    "emails endpoint listed an entry without a string email and boolean primary and verified",
                ));
            };
            if *is_primary {
                if primary.is_some() {
                    return Err(provider_error(
                        "emails endpoint listed two primary addresses",
                    ));
                }
                primary = Some((email.clone(), *verified));
            }
        }
        if let Some((email, verified)) = primary {
            self.email = Some(email);
            self.email_verified = verified;
        }
        Ok(self)
    }
}

/// What a sign-in through a provider does locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInDecision {
    /// The identity is linked to this account: sign it in.
    SignIn(Id),
    /// The email belongs to this account, and both sides vouch for it: link, then sign in.
    LinkByEmail(Id),
    /// No account has the identity or the email: create one.
    Create,
}

/// Decides a sign-in from what the indexes found: the account linked to the identity
/// (`linked`), else the account with the asserted email (`by_email`).
///
/// An email match links automatically only when the provider asserted the email verified
/// and the local address is verified too, or the provider is `trusted_email` (its verified
/// emails are authoritative): otherwise anyone who can make an account at a lax provider with
/// a victim's address would be signed into the victim's account.
///
/// # Errors
/// [`Error::AccountExists`] when an email match may not be linked; `provider_error` when
/// there is no email to create an account with.
pub fn decide_sign_in(
    asserted: &Asserted,
    trusted_email: bool,
    linked: Option<&UserRecord>,
    by_email: Option<&UserRecord>,
) -> Result<SignInDecision, Error> {
    if let Some(user) = linked {
        return Ok(SignInDecision::SignIn(user.id));
    }
    match by_email {
        Some(user) => {
            let local_ok = user.email_verified_at.is_some() || trusted_email;
            if asserted.email_verified && local_ok {
                Ok(SignInDecision::LinkByEmail(user.id))
            } else {
                Err(Error::AccountExists)
            }
        }
        None if asserted.email.is_some() => Ok(SignInDecision::Create),
        None => Err(provider_error(
            "the provider gave no email to create an account with",
        )),
    }
}
