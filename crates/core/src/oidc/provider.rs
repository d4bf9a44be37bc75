//! `OAUTH_PROVIDERS`: the identity providers a deployment signs in with, read once and
//! strictly.
//!
//! A JSON object keyed by provider name. Each entry is either OpenID Connect (`issuer`: the
//! endpoints and keys come from discovery, see [`Discovery`]) or plain OAuth2 (explicit
//! `authorization_endpoint`, `token_endpoint` and `userinfo_endpoint`, and optionally an
//! `emails_endpoint` in GitHub's form), or a `preset` (`google`, `github`, `microsoft`) that
//! fills those in. The client secret is never here: it is the secret
//! `OAUTH_<NAME>_CLIENT_SECRET` ([`secret_name`]).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value;

use crate::error::{Error, TokenRejection};
use crate::token::strict_json;

/// The longest provider name, in bytes: it becomes part of a route, a KV key and a secret's
/// name, so it stays short.
pub const MAX_PROVIDER_NAME: usize = 32;

/// How a provider tells who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect: an ID token from the token endpoint, verified with the keys of the
    /// provider's JWKS; the endpoints come from discovery at `issuer`.
    OpenIdConnect {
        /// The issuer identifier: discovery is at `{issuer}/.well-known/openid-configuration`,
        /// and the ID token's `iss` and the callback's `iss` must equal it exactly.
        issuer: String,
    },
    /// Plain OAuth2: the identity is read from the userinfo endpoint with the access token.
    OAuth2(Endpoints),
}

/// The endpoints of a plain OAuth2 provider, or what discovery found for an OpenID one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser is sent to sign in (RFC 6749 §3.1).
    pub authorization_endpoint: String,
    /// Where the code is exchanged (RFC 6749 §3.2).
    pub token_endpoint: String,
    /// Where the identity is read with the access token (OpenID Connect Core §5.3).
    pub userinfo_endpoint: Option<String>,
    /// Where a GitHub-style provider lists the account's addresses with their verification
    /// (GitHub's `GET /user/emails`): its user document has only the public address, often
    /// none, and never says whether it is verified. The primary address listed there is the
    /// one asserted ([`crate::oidc::Asserted::with_listed_emails`]).
    pub emails_endpoint: Option<String>,
}

/// One configured provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The name in `OAUTH_PROVIDERS` and in the routes (`/auth/oauth/{name}/...`).
    pub name: String,
    /// OpenID Connect or plain OAuth2.
    pub protocol: Protocol,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The scopes asked for, space-separated (with `openid` for OpenID Connect).
    pub scopes: String,
    /// Whether the provider's verified emails are authoritative enough to link to a local
    /// account whose own address was never verified (a company IdP that owns the domain).
    pub trusted_email: bool,
}

impl ProviderConfig {
    /// The issuer, for an OpenID Connect provider.
    pub fn issuer(&self) -> Option<&str> {
        match &self.protocol {
            Protocol::OpenIdConnect { issuer } => Some(issuer),
            Protocol::OAuth2(_) => None,
        }
    }
}

/// The name of the secret holding `provider`'s client secret: `OAUTH_<NAME>_CLIENT_SECRET`,
/// the name upper-cased with `-` as `_`.
pub fn secret_name(provider: &str) -> String {
    let name: String = provider
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    format!("OAUTH_{name}_CLIENT_SECRET")
}

/// Reads `OAUTH_PROVIDERS`.
///
/// # Errors
/// [`Error::Misconfigured`] naming the provider and the member at fault: not a strict JSON
/// object, a bad name (`[a-z0-9_-]`, at most [`MAX_PROVIDER_NAME`] bytes), an unknown
/// `preset` or member, no `client_id`, both an `issuer` and explicit endpoints, neither, an
/// endpoint that is not `https` (plain `http` only on loopback), OpenID `scopes` without
/// `openid`, or a `microsoft` preset without a tenant id.
pub fn parse_providers(json: &str) -> Result<Vec<ProviderConfig>, Error> {
    let refuse = |why: String| Error::Misconfigured(format!("OAUTH_PROVIDERS {why}"));
    let document = strict_json::parse_value(json.as_bytes()).map_err(|r| match r {
        TokenRejection::DuplicateKey => refuse("repeats a JSON member name".into()),
        _ => refuse("is not a JSON object".into()),
    })?;
    let Value::Object(document) = document else {
        return Err(refuse("is not a JSON object".into()));
    };
    let mut providers = Vec::with_capacity(document.len());
    for (name, entry) in &document {
        let provider =
            parse_provider(name, entry).map_err(|why| refuse(format!("{name:?}: {why}")))?;
        providers.push(provider);
    }
    Ok(providers)
}

const MEMBERS: &[&str] = &[
    "preset",
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "emails_endpoint",
    "client_id",
    "scopes",
    "trusted_email",
    "tenant",
];

const PRESETS: &[&str] = &["google", "github", "microsoft"];

/// Whether `name` may name a provider: 1 to [`MAX_PROVIDER_NAME`] of `a-z`, `0-9`, `_`, `-`
/// (it becomes a path segment, part of a KV key, and part of a secret's name).
pub fn valid_provider_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PROVIDER_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn parse_provider(name: &str, entry: &Value) -> Result<ProviderConfig, String> {
    if !valid_provider_name(name) {
        return Err(format!(
            "a provider name must be 1 to {MAX_PROVIDER_NAME} of a-z, 0-9, _ and -"
        ));
    }
    let Value::Object(entry) = entry else {
        return Err("is not a JSON object".into());
    };
    if let Some(other) = entry.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(format!("has an unknown member {other:?}"));
    }
    let text = |member: &str| -> Result<Option<String>, String> {
        match entry.get(member) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{member}\" must be a non-empty string")),
        }
    };
    let client_id = text("client_id")?.ok_or("needs a \"client_id\"")?;
    let trusted_email = match entry.get("trusted_email") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("\"trusted_email\" must be true or false".into()),
    };
    let endpoint_members = [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "emails_endpoint",
    ];
    let has_endpoints = endpoint_members.iter().any(|m| entry.contains_key(*m));
    let issuer = text("issuer")?;
    // A name that is a preset's, with nothing else saying what it is, means that preset.
    let preset = match text("preset")? {
        Some(p) => Some(p),
        None if issuer.is_none() && !has_endpoints && PRESETS.contains(&name) => {
            Some(name.to_string())
        }
        None => None,
    };
    if preset.is_some() && (issuer.is_some() || has_endpoints) {
        return Err("a \"preset\" fills in the endpoints: give no \"issuer\" or endpoints".into());
    }
    let (protocol, default_scopes) = match preset.as_deref() {
        Some("google") => (oidc("https://accounts.google.com")?, "openid email profile"),
        Some("microsoft") => {
            let tenant = text("tenant")?.ok_or(
                "the microsoft preset needs \"tenant\": the directory (tenant) id, a GUID \
                 (the shared `common`/`organizations`/`consumers` endpoints issue tokens \
                 whose iss is not theirs, so no exact issuer check could pass)",
            )?;
            if !is_guid(&tenant) {
                return Err("\"tenant\" must be the directory (tenant) id, a GUID".into());
            }
            (
                oidc(&format!("https://login.microsoftonline.com/{tenant}/v2.0"))?,
                "openid email profile",
            )
        }
        Some("github") => (
            Protocol::OAuth2(Endpoints {
                authorization_endpoint: "https://github.com/login/oauth/authorize".into(),
                token_endpoint: "https://github.com/login/oauth/access_token".into(),
                userinfo_endpoint: Some("https://api.github.com/user".into()),
                // GitHub pages the list, 30 addresses at first: the primary may be further on.
                emails_endpoint: Some("https://api.github.com/user/emails?per_page=100".into()),
            }),
            "read:user user:email",
        ),
        Some(other) => {
            return Err(format!(
                "has an unknown preset {other:?}; presets are google, github, microsoft"
            ));
        }
        None => match issuer {
            Some(_) if has_endpoints => {
                return Err(
                    "give an \"issuer\" (OpenID Connect, discovery) or the endpoints (plain \
                     OAuth2), not both"
                        .into(),
                );
            }
            Some(issuer) => (oidc(&issuer)?, "openid email profile"),
            None if has_endpoints => {
                let endpoint = |m: &str| -> Result<String, String> {
                    let url = text(m)?.ok_or_else(|| format!("needs \"{m}\""))?;
                    check_url(&url).map_err(|why| format!("\"{m}\" {why}"))?;
                    Ok(url)
                };
                (
                    Protocol::OAuth2(Endpoints {
                        authorization_endpoint: endpoint("authorization_endpoint")?,
                        token_endpoint: endpoint("token_endpoint")?,
                        userinfo_endpoint: Some(endpoint("userinfo_endpoint")?),
                        emails_endpoint: match entry.get("emails_endpoint") {
                            None => None,
                            Some(_) => Some(endpoint("emails_endpoint")?),
                        },
                    }),
                    "",
                )
            }
            None => {
                return Err(
                    "needs an \"issuer\" (OpenID Connect), the three endpoints (plain OAuth2), \
                     or a \"preset\""
                        .into(),
                );
            }
        },
    };
    if entry.contains_key("tenant") && preset.as_deref() != Some("microsoft") {
        return Err("\"tenant\" is only for the microsoft preset".into());
    }
    let scopes = match entry.get("scopes") {
        None => default_scopes.to_string(),
        Some(Value::String(s)) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for scope in list {
                match scope {
                    Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => {
                        out.push(s.as_str())
                    }
                    _ => return Err("\"scopes\" must be scope strings".into()),
                }
            }
            out.join(" ")
        }
        Some(_) => return Err("\"scopes\" must be a string or an array of strings".into()),
    };
    if scopes.split(' ').any(|s| {
        s.bytes()
            .any(|b| !(0x21..=0x7e).contains(&b) || b == b'"' || b == b'\\')
    }) {
        return Err("\"scopes\" holds characters RFC 6749 §3.3 does not allow".into());
    }
    if matches!(protocol, Protocol::OpenIdConnect { .. })
        && !scopes.split(' ').any(|s| s == "openid")
    {
        return Err("an OpenID Connect provider's \"scopes\" must include \"openid\"".into());
    }
    Ok(ProviderConfig {
        name: name.to_string(),
        protocol,
        client_id,
        scopes,
        trusted_email,
    })
}

fn oidc(issuer: &str) -> Result<Protocol, String> {
    check_url(issuer).map_err(|why| format!("\"issuer\" {why}"))?;
    if issuer.contains('?') || issuer.contains('#') {
        // OpenID Connect Discovery §2: an issuer has no query or fragment.
        return Err("\"issuer\" may have no query or fragment".into());
    }
    Ok(Protocol::OpenIdConnect {
        issuer: issuer.to_string(),
    })
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether `url` may be an endpoint: `https://` with a host, or `http://` to a loopback host
/// (a provider on the developer's machine, or the test harness's); no fragment, no spaces.
///
/// # Errors
/// A phrase saying what is wrong, to follow the member's name.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) || url.contains('#') {
        return Err("must be a URL without spaces or a fragment");
    }
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err("must be an https URL");
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err("must name a host (and no user info)");
    }
    if !https {
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return Err("must be an https URL (plain http only to localhost)");
        }
    }
    Ok(())
}

/// An OpenID Provider's discovery document (OpenID Connect Discovery 1.0 §3), the members
/// Tollgate uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The endpoints.
    pub endpoints: Endpoints,
    /// Where the provider's signing keys are.
    pub jwks_uri: String,
    /// Whether the provider sends `iss` with every authorization response (RFC 9207 §3):
    /// then a response without it is refused.
    pub iss_parameter_supported: bool,
}

/// Reads the discovery document fetched for `issuer`.
///
/// # Errors
/// [`Error::Misconfigured`] naming the provider: not a strict JSON object, an `issuer` other
/// than the configured one exactly (Discovery §4.3: otherwise another provider could speak for
/// this one), a missing or non-https endpoint or `jwks_uri`.
pub fn parse_discovery(provider: &str, issuer: &str, json: &str) -> Result<Discovery, Error> {
    let refuse = |why: &str| {
        Error::Misconfigured(format!(
            "the discovery document of OAuth provider {provider:?} {why}"
        ))
    };
    let Ok(Value::Object(doc)) = strict_json::parse_value(json.as_bytes()) else {
        return Err(refuse("is not a strict JSON object"));
    };
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(refuse("names another issuer than the configured one"));
    }
    let url = |member: &str, required: bool| -> Result<Option<String>, Error> {
        match doc.get(member) {
            None if !required => Ok(None),
            Some(Value::String(url)) if check_url(url).is_ok() => Ok(Some(url.clone())),
            _ => Err(refuse(&format!("lacks a usable \"{member}\""))),
        }
    };
    let authorization_endpoint = url("authorization_endpoint", true)?.unwrap_or_default();
    let token_endpoint = url("token_endpoint", true)?.unwrap_or_default();
    let userinfo_endpoint = url("userinfo_endpoint", false)?;
    let jwks_uri = url("jwks_uri", true)?.unwrap_or_default();
    Ok(Discovery {
        endpoints: Endpoints {
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            // OpenID providers assert `email_verified` themselves.
            emails_endpoint: None,
        },
        jwks_uri,
        iss_parameter_supported: doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Providers by name, for lookups per request.
pub fn by_name(providers: Vec<ProviderConfig>) -> BTreeMap<String, ProviderConfig> {
    providers.into_iter().map(|p| (p.name.clone(), p)).collect()
}
