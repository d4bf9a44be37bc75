//! Guarding another Worker's routes with Tollgate's access tokens: [`authenticate`].
//!
//! The guard's keys come from its own vars, in one of three modes:
//! - `JWT_PUBLIC_KEYS`: a JWKS of Ed25519 public keys (what the auth Worker serves at
//!   `/.well-known/jwks.json`). Verify-only, nothing fetched.
//! - `JWKS_URL`: the address of that document, fetched when needed and kept in the Cache API
//!   ([`crate::jwks_cache`]). Verify-only.
//! - neither: the auth Worker's own configuration (`JWT_SECRET`, or `JWT_PRIVATE_KEY`), read as
//!   the auth Worker reads it. That is the only way to verify HS256 tokens, and it means the
//!   guard holds a key that can sign any token; prefer EdDSA and a verify-only mode.
//!
//! A verify-only guard holds no secret that can sign: it refuses to start (503 `misconfigured`,
//! one log line naming the variable) when a signing secret is set beside its public keys, so a
//! leftover `JWT_SECRET` cannot quietly keep the power to mint tokens.

use std::cell::OnceCell;
use std::rc::Rc;

use tollgate_core::flows::{AccessTokenRevocation, bearer_token, check_principal};
use tollgate_core::id::Id;
use tollgate_core::roles::Principal;
use tollgate_core::store::UserStore;
use tollgate_core::token::{self, PublicKeySet, TokenConfig};
use tollgate_core::{Error, TokenRejection};
use worker::{Env, Request, Url};

use crate::config::{self, DEFAULT_STORAGE_TIMEOUT_MS};
use crate::error::AuthError;
use crate::faults::Faults;
use crate::kv::WorkerStores;

/// Every binding the guard's own configuration reads.
const NAMES: &[&str] = &[
    "JWT_PUBLIC_KEYS",
    "JWKS_URL",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "STORAGE_TIMEOUT_MS",
    "JWT_SECRET",
    "JWT_PRIVATE_KEY",
    "REFRESH_SECRET",
    "JWT_PREVIOUS_SECRETS",
    "JWT_PREVIOUS_PUBLIC_KEYS",
    "ACCESS_TOKEN_REVOCATION",
];

/// Secrets that sign or MAC tokens (a previous HS256 secret still makes tokens the issuer
/// accepts): none may sit beside a verify-only guard's public keys.
const SIGNING_SECRETS: &[&str] = &[
    "JWT_SECRET",
    "JWT_PRIVATE_KEY",
    "REFRESH_SECRET",
    "JWT_PREVIOUS_SECRETS",
];

/// Where the guard's verifying keys come from.
#[derive(Debug)]
enum Keys {
    /// `JWT_PUBLIC_KEYS`, parsed once.
    Public(PublicKeySet),
    /// `JWKS_URL`, fetched as needed.
    Remote(Url),
    /// The auth Worker's own configuration ([`config::settings`]), which can also sign.
    Shared,
}

/// The guard's configuration.
#[derive(Debug)]
struct Guard {
    keys: Keys,
    /// Issuer and audience the tokens must name (a verify-only guard's own vars).
    token: TokenConfig,
    /// How long a JWKS fetch or a user read may take, in milliseconds (`STORAGE_TIMEOUT_MS`).
    timeout_ms: u64,
    /// Whether a token's session is checked in the `USERS` namespace
    /// (`ACCESS_TOKEN_REVOCATION`, as the auth Worker's).
    revocation: AccessTokenRevocation,
}

thread_local! {
    // As for the auth Worker's settings: an isolate's bindings never change.
    static GUARD: OnceCell<Rc<Result<Guard, Error>>> = const { OnceCell::new() };
}

/// Verifies the request's `Authorization: Bearer` access token: with public keys only
/// (`JWT_PUBLIC_KEYS` or `JWKS_URL`), or with the auth Worker's configuration (`JWT_SECRET` or
/// `JWT_PRIVATE_KEY`); `JWT_ISSUER` and `JWT_AUDIENCE` either way. Guarding a route costs one
/// signature check, plus, with `JWKS_URL`, a fetch of the key set when the isolate has none
/// fresh (the Cache API first). No storage access by default; with `ACCESS_TOKEN_REVOCATION =
/// "session"`, one read of the user's record in the bound `USERS` namespace, so that a token
/// whose session ended is refused here as on the auth Worker's own routes.
///
/// # Errors
/// [`AuthError`] with code `not_authenticated` (no bearer token), `invalid_token`,
/// `misconfigured` (named in one log line), or `storage_unavailable` (`JWKS_URL` could not be
/// fetched and no fresh keys are held, or the user record could not be read); render it with [`AuthError::into_response`].
pub async fn authenticate(req: &Request, env: &Env) -> Result<Principal, AuthError> {
    let guard = guard(env);
    let guard = guard
        .as_ref()
        .as_ref()
        .map_err(|e| AuthError::Core(e.clone()))?;
    let authorization = req.headers().get("Authorization").ok().flatten();
    let bearer = || bearer_token(authorization.as_deref()).ok_or(Error::NotAuthenticated);
    let now = crate::now();
    let principal = match &guard.keys {
        Keys::Shared => {
            let settings = config::settings(env);
            let settings = settings
                .as_ref()
                .as_ref()
                .map_err(|e| AuthError::Core(e.clone()))?;
            settings.auth.authenticate(authorization.as_deref(), now)?
        }
        Keys::Public(keys) => Principal::from(token::verify(keys, &guard.token, bearer()?, now)?),
        Keys::Remote(url) => Principal::from(
            crate::jwks_cache::verify(url, &guard.token, bearer()?, guard.timeout_ms).await?,
        ),
    };
    if guard.revocation == AccessTokenRevocation::Session {
        check_session(&principal, env, guard.timeout_ms).await?;
    }
    Ok(principal)
}

/// With `ACCESS_TOKEN_REVOCATION = "session"`: one read of the user's record in the auth
/// Worker's `USERS` namespace (bound here too), refusing a token whose session has ended as
/// the auth Worker's own routes do ([`check_principal`]).
///
/// # Errors
/// `invalid_token`; `storage_unavailable`.
async fn check_session(principal: &Principal, env: &Env, timeout_ms: u64) -> Result<(), AuthError> {
    let id =
        Id::parse(&principal.user_id).ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))?;
    let stores = WorkerStores::new(env, timeout_ms, Faults::none());
    let user = stores.get_user(&id).await.map_err(Error::from)?;
    check_principal(principal, user)?;
    Ok(())
}

/// The guard's configuration, read and parsed once per isolate (a failure logged once).
fn guard(env: &Env) -> Rc<Result<Guard, Error>> {
    GUARD.with(|cell| {
        cell.get_or_init(|| {
            let raw: Vec<Option<String>> = NAMES.iter().map(|n| config::read(env, n)).collect();
            let parsed = parse(&raw).and_then(|guard| {
                if guard.revocation == AccessTokenRevocation::Session && env.kv("USERS").is_err() {
                    return Err(Error::Misconfigured(
                        "ACCESS_TOKEN_REVOCATION is session, but USERS is not bound: bind the \
                         auth Worker's USERS namespace to this Worker, or set expiry"
                            .into(),
                    ));
                }
                Ok(guard)
            });
            if let Err(e) = &parsed {
                worker::console_error!("{}", serde_json::json!({"level": "error", "event": "misconfigured", "detail": e.to_string()}));
            }
            Rc::new(parsed)
        })
        .clone()
    })
}

fn parse(raw: &[Option<String>]) -> Result<Guard, Error> {
    let value = |name: &str| {
        let i = NAMES.iter().position(|n| *n == name)?;
        raw[i].as_deref().filter(|v| !v.trim().is_empty())
    };
    let get = |name: &str| value(name).map(str::trim);
    let token = TokenConfig::new(
        get("JWT_ISSUER").unwrap_or("tollgate"),
        get("JWT_AUDIENCE").unwrap_or("tollgate"),
        // Lifetimes are the issuer's business; a guard only verifies.
        900,
    );
    let timeout_ms = match get("STORAGE_TIMEOUT_MS") {
        None => DEFAULT_STORAGE_TIMEOUT_MS,
        Some(v) => v.parse::<u64>().ok().filter(|&ms| ms > 0).ok_or_else(|| {
            Error::Misconfigured(format!(
                "STORAGE_TIMEOUT_MS must be a whole number of at least 1, got {v:?}"
            ))
        })?,
    };
    let revocation = config::access_token_revocation(get("ACCESS_TOKEN_REVOCATION"))?;
    let (mode, keys) = match (get("JWT_PUBLIC_KEYS"), get("JWKS_URL")) {
        (None, None) => {
            return Ok(Guard {
                keys: Keys::Shared,
                token,
                timeout_ms,
                revocation,
            });
        }
        (Some(_), Some(_)) => {
            return Err(Error::Misconfigured(
                "JWT_PUBLIC_KEYS and JWKS_URL are both set; a guard takes its public keys \
                 from one of them"
                    .into(),
            ));
        }
        (Some(jwks), None) => (
            "JWT_PUBLIC_KEYS",
            Keys::Public(PublicKeySet::from_jwks("JWT_PUBLIC_KEYS", jwks)?),
        ),
        (None, Some(url)) => ("JWKS_URL", Keys::Remote(jwks_url(url)?)),
    };
    if let Some(secret) = SIGNING_SECRETS.iter().find(|n| value(n).is_some()) {
        return Err(Error::Misconfigured(format!(
            "{secret} is set, but this guard verifies with public keys only ({mode}): remove \
             {secret} from it, so that it holds nothing that can sign a token"
        )));
    }
    if value("JWT_PREVIOUS_PUBLIC_KEYS").is_some() {
        return Err(Error::Misconfigured(format!(
            "JWT_PREVIOUS_PUBLIC_KEYS is for the issuer; a guard lists every key it accepts \
             in {mode} (the issuer's JWKS already includes its previous keys)"
        )));
    }
    Ok(Guard {
        keys,
        token,
        timeout_ms,
        revocation,
    })
}

/// `JWKS_URL`: `https`, or `http` to a loopback host (a local `wrangler dev`), with no
/// credentials in it (they would be logged with every failed fetch).
fn jwks_url(text: &str) -> Result<Url, Error> {
    let refuse = |why: &str| Error::Misconfigured(format!("JWKS_URL {why}"));
    let url = Url::parse(text).map_err(|_| refuse("is not an absolute URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(refuse(
                "must be https (http only to localhost, for wrangler dev)",
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "q3RZ0vJ8yN1mW5kT7bH2xC9dF4gL6pSa";
    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}"#;

    fn bindings(set: &[(&str, &str)]) -> Vec<Option<String>> {
        NAMES
            .iter()
            .map(|name| {
                set.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| (*v).to_string())
            })
            .collect()
    }

    fn refused(set: &[(&str, &str)]) -> String {
        match parse(&bindings(set)) {
            Err(Error::Misconfigured(message)) => {
                assert!(!message.contains(SECRET), "quotes a secret: {message}");
                message
            }
            other => panic!("{set:?}: {other:?}"),
        }
    }

    #[test]
    fn public_keys_or_a_jwks_url_make_a_verify_only_guard() {
        let guard = parse(&bindings(&[("JWT_PUBLIC_KEYS", JWKS)])).unwrap();
        assert!(matches!(guard.keys, Keys::Public(_)));
        for url in [
            "https://auth.example.com/.well-known/jwks.json",
            "http://127.0.0.1:8787/.well-known/jwks.json",
            "http://localhost:8787/.well-known/jwks.json",
        ] {
            let guard = parse(&bindings(&[("JWKS_URL", url)])).unwrap();
            assert!(matches!(guard.keys, Keys::Remote(_)), "{url}");
        }
        let guard = parse(&bindings(&[
            ("JWKS_URL", "https://auth.example.com/jwks"),
            ("JWT_ISSUER", " https://auth.example.com "),
            ("STORAGE_TIMEOUT_MS", "800"),
        ]))
        .unwrap();
        assert_eq!(guard.token.issuer, "https://auth.example.com");
        assert_eq!(guard.timeout_ms, 800);
        // Neither: the auth Worker's own keys, read by its own configuration.
        let guard = parse(&bindings(&[("JWT_SECRET", SECRET)])).unwrap();
        assert!(matches!(guard.keys, Keys::Shared));
    }

    #[test]
    fn a_verify_only_guard_refuses_every_secret_that_can_sign() {
        for public in [
            ("JWT_PUBLIC_KEYS", JWKS),
            ("JWKS_URL", "https://auth.example.com/.well-known/jwks.json"),
        ] {
            for secret in SIGNING_SECRETS {
                let message = refused(&[public, (secret, SECRET)]);
                assert!(
                    message.starts_with(&format!("{secret} is set")),
                    "{message}"
                );
                assert!(message.contains(public.0), "{message}");
            }
            let message = refused(&[public, ("JWT_PREVIOUS_PUBLIC_KEYS", JWKS)]);
            assert!(
                message.starts_with("JWT_PREVIOUS_PUBLIC_KEYS "),
                "{message}"
            );
        }
    }

    #[test]
    fn bad_public_key_settings_are_refused_by_name() {
        for (set, name) in [
            (
                vec![
                    ("JWT_PUBLIC_KEYS", JWKS),
                    ("JWKS_URL", "https://a.example/j"),
                ],
                "JWT_PUBLIC_KEYS and JWKS_URL",
            ),
            (
                vec![("JWT_PUBLIC_KEYS", r#"{"keys":[]}"#)],
                "JWT_PUBLIC_KEYS ",
            ),
            (vec![("JWT_PUBLIC_KEYS", "not json")], "JWT_PUBLIC_KEYS "),
            (vec![("JWKS_URL", "auth.example.com/jwks")], "JWKS_URL "),
            (
                vec![("JWKS_URL", "http://auth.example.com/jwks")],
                "JWKS_URL ",
            ),
            (vec![("JWKS_URL", "ftp://127.0.0.1/jwks")], "JWKS_URL "),
            (
                vec![("JWKS_URL", "https://user:pw@auth.example.com/jwks")],
                "JWKS_URL ",
            ),
            (
                vec![
                    ("JWKS_URL", "https://a.example/j"),
                    ("STORAGE_TIMEOUT_MS", "0"),
                ],
                "STORAGE_TIMEOUT_MS ",
            ),
        ] {
            let message = refused(&set);
            assert!(message.starts_with(name), "{set:?}: {message}");
        }
    }
}
