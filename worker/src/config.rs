//! The Worker's configuration: read once per isolate from its bindings into typed values.
//!
//! Vars and secrets are documented in the README ("Configuration"). A missing or unusable
//! setting makes every route answer 503 `misconfigured` and logs one line naming the setting
//! (never its value), rather than serving with a weak or surprising default.

use std::cell::OnceCell;
use std::rc::Rc;

use tollgate_core::Error;
use tollgate_core::flows::{AccessTokenRevocation, Auth, AuthConfig, MfaConfig, RecoveryConfig};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::refresh::{RefreshKey, RefreshPolicy};
use tollgate_core::roles::Roles;
use tollgate_core::throttle::ThrottlePolicy;
use tollgate_core::token::{KeySet, TokenConfig, secret_strength};
use tollgate_core::webhook::WebhookSecret;
use wasm_bindgen::JsValue;
use worker::Env;

use crate::faults::Faults;

/// How long a storage call may take before the request answers 503, in milliseconds.
/// KV reads are usually single-digit milliseconds; 5 s only trips when something is wrong.
pub const DEFAULT_STORAGE_TIMEOUT_MS: u64 = 5_000;

/// Every binding the configuration reads, so the cache notices any change.
const NAMES: &[&str] = &[
    "JWT_SECRET",
    "JWT_PRIVATE_KEY",
    "JWT_PREVIOUS_PUBLIC_KEYS",
    "JWT_PREVIOUS_SECRETS",
    "REFRESH_SECRET",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "ACCESS_TOKEN_TTL_SECONDS",
    "REFRESH_TOKEN_TTL_SECONDS",
    "REFRESH_IDLE_TTL_SECONDS",
    "REFRESH_REUSE_GRACE_SECONDS",
    "ARGON2_MEMORY_KIB",
    "ARGON2_ITERATIONS",
    "ARGON2_PARALLELISM",
    "LOGIN_MAX_FAILURES",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_WINDOW_SECONDS",
    "REGISTER_MAX_PER_ADDRESS",
    "REGISTER_WINDOW_SECONDS",
    "ALLOWED_ORIGINS",
    "CROSS_SITE_COOKIES",
    "ACCESS_TOKEN_REVOCATION",
    "CONSISTENCY",
    "ROLES",
    "STORAGE_TIMEOUT_MS",
    "TOLLGATE_CALIBRATION",
    "TOLLGATE_FAULT_INJECTION",
    "EMAIL_WEBHOOK_URL",
    "EMAIL_WEBHOOK_SECRET",
    "APP_URL",
    "PASSWORD_RESET_TTL_SECONDS",
    "EMAIL_TOKEN_TTL_SECONDS",
    "REQUIRE_VERIFIED_EMAIL",
    "REQUIRE_MFA_FOR_ROLES",
    "WEBAUTHN_RP_ID",
    "WEBAUTHN_ORIGINS",
    "OAUTH_PROVIDERS",
];

/// The Worker's settings: the core's [`Auth`] plus what only the HTTP layer needs.
pub struct Settings {
    /// Keys, token and session policy, password hasher.
    pub auth: Auth,
    /// Origins allowed to call the API from a browser with credentials (CORS).
    pub allowed_origins: Vec<String>,
    /// Whether the refresh cookie is `SameSite=None; Partitioned`, for an app on another site
    /// (`CROSS_SITE_COOKIES`; see `same_site` for what then guards the cookie routes).
    pub cross_site_cookies: bool,
    /// Per-call storage timeout, in milliseconds.
    pub storage_timeout_ms: u64,
    /// `CONSISTENCY = "strict"`: every user's security state in its object (README,
    /// "Consistency modes"); the default `eventual` decides from KV.
    pub strict: bool,
    /// Whether `POST /__tollgate/calibrate` is served (never in production).
    pub calibration: bool,
    /// Storage faults to inject (the test build only; always none in the deployed build).
    pub faults: Faults,
    /// Where email messages go (`EMAIL_WEBHOOK_URL`); without it the recovery and email
    /// routes answer 503 `misconfigured`.
    pub email: Option<EmailDelivery>,
    /// The passkey relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`, or from `APP_URL`);
    /// without one the passkey routes answer 503 `misconfigured`.
    pub webauthn: Option<tollgate_core::passkey::RelyingParty>,
    /// The identity providers (`OAUTH_PROVIDERS`), or why they are unusable: only the
    /// `/auth/oauth/` and `/auth/identities/` routes answer 503 `misconfigured` then.
    pub oauth: Result<OAuthSettings, Error>,
}

/// Signing in with identity providers.
#[derive(Clone, Debug, Default)]
pub struct OAuthSettings {
    /// The configured providers by name.
    pub providers: std::collections::BTreeMap<String, tollgate_core::oidc::ProviderConfig>,
    /// `APP_URL`, whose origin a `redirect_to` may name (as may `ALLOWED_ORIGINS`), and where
    /// a callback whose sign-in cannot be found sends the browser.
    pub app_url: Option<String>,
}

/// The operator's mailer, reached through a signed webhook (see `crate::delivery`).
#[derive(Clone, Debug)]
pub struct EmailDelivery {
    /// `EMAIL_WEBHOOK_URL`: where messages are POSTed (the runtime parses it when it sends).
    pub url: String,
    /// `EMAIL_WEBHOOK_SECRET`: signs them (Standard Webhooks).
    pub secret: WebhookSecret,
    /// `APP_URL`: the page that completes a flow, which links point at.
    pub app_url: Option<String>,
}

/// The parsed settings (or why they are unusable), shared by the requests of one isolate.
pub type SharedSettings = Rc<Result<Settings, Error>>;

thread_local! {
    // An isolate's bindings never change: a new deployment, a `wrangler secret put` or a
    // `wrangler dev` reload starts a new isolate. So they are read and parsed once per isolate;
    // re-reading twenty bindings per request was a measurable share of a request's CPU.
    static CACHE: OnceCell<SharedSettings> = const { OnceCell::new() };
}

/// The settings for `env`, read and parsed once per isolate.
///
/// # Errors
/// [`Error::Misconfigured`] naming the first unusable setting (logged once, when parsed).
pub fn settings(env: &Env) -> SharedSettings {
    CACHE.with(|cache| {
        cache
            .get_or_init(|| {
                let raw: Vec<Option<String>> = NAMES.iter().map(|n| read(env, n)).collect();
                let parsed = Rc::new(parse(&raw));
                match parsed.as_ref() {
                    Err(e) => {
                        worker::console_error!("{}", serde_json::json!({"level": "error", "event": "misconfigured", "detail": e.to_string()}));
                    }
                    Ok(Settings { oauth: Err(e), .. }) => {
                        worker::console_error!("{}", serde_json::json!({"level": "error", "event": "misconfigured", "detail": e.to_string()}));
                    }
                    Ok(s) if !s.faults.is_empty() => {
                        worker::console_warn!("{}", serde_json::json!({"level": "warn", "event": "fault_injection_enabled", "detail": "TOLLGATE_FAULT_INJECTION is set: storage calls will fail on purpose; never set it in production"}));
                    }
                    Ok(_) => {}
                }
                parsed
            })
            .clone()
    })
}

/// A string binding (var or secret); numbers in `[vars]` are accepted as their decimal form.
pub(crate) fn read(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name)).ok()?;
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    // Whole numbers only (every numeric setting is one), formatted as integers: formatting an
    // f64 would link the float-printing code, some 13 KB, for nothing.
    let n = value.as_f64()?;
    if n.is_finite() && n.fract() == 0.0 && (0.0..9.0e15).contains(&n) {
        Some((n as u64).to_string())
    } else {
        Some(String::from("not a whole number"))
    }
}

fn parse(raw: &[Option<String>]) -> Result<Settings, Error> {
    let value = |name: &str| -> Option<&str> {
        let i = NAMES.iter().position(|n| *n == name)?;
        raw[i].as_deref()
    };
    // Vars are trimmed (a stray space in `wrangler.toml` or `--var` is a typo). Secrets are
    // keys and are used exactly as given: `JWT_SECRET`'s UTF-8 bytes are the HMAC key, as
    // PyJWT and python-jose use a string secret, so trimming one here would make Tollgate's
    // tokens fail to verify elsewhere (and the reverse) whenever it has outer whitespace.
    let get = |name: &str| value(name).map(str::trim).filter(|v| !v.is_empty());
    let secret_value = |name: &str| value(name).filter(|v| !v.is_empty());
    let number = |name: &str, default: u64| -> Result<u64, Error> {
        match get(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().map_err(|_| {
                Error::Misconfigured(format!("{name} must be a whole number, got {v:?}"))
            }),
        }
    };
    let positive = |name: &str, default: u64| -> Result<u64, Error> {
        let v = number(name, default)?;
        if v == 0 {
            Err(Error::Misconfigured(format!("{name} must be at least 1")))
        } else {
            Ok(v)
        }
    };
    let small = |name: &str, default: u64| -> Result<u32, Error> {
        u32::try_from(number(name, default)?)
            .map_err(|_| Error::Misconfigured(format!("{name} is too large")))
    };

    let (keys, refresh_key) = keys(&secret_value)?;
    let issuer = get("JWT_ISSUER").unwrap_or("tollgate");
    let audience = get("JWT_AUDIENCE").unwrap_or("tollgate");
    let token = TokenConfig::new(issuer, audience, positive("ACCESS_TOKEN_TTL_SECONDS", 900)?);
    let refresh = RefreshPolicy {
        absolute_ttl_s: positive(
            "REFRESH_TOKEN_TTL_SECONDS",
            RefreshPolicy::default().absolute_ttl_s,
        )?,
        idle_ttl_s: positive(
            "REFRESH_IDLE_TTL_SECONDS",
            RefreshPolicy::default().idle_ttl_s,
        )?,
        reuse_grace_s: number(
            "REFRESH_REUSE_GRACE_SECONDS",
            RefreshPolicy::default().reuse_grace_s,
        )?,
    };
    let window_s = positive("LOGIN_WINDOW_SECONDS", ThrottlePolicy::ACCOUNT.window_s)?;
    let account_throttle = ThrottlePolicy {
        max_failures: small(
            "LOGIN_MAX_FAILURES",
            u64::from(ThrottlePolicy::ACCOUNT.max_failures),
        )?,
        window_s,
    };
    let address_throttle = ThrottlePolicy {
        max_failures: small(
            "LOGIN_MAX_FAILURES_PER_ADDRESS",
            u64::from(ThrottlePolicy::ADDRESS.max_failures),
        )?,
        window_s,
    };
    let register_throttle = ThrottlePolicy {
        max_failures: small(
            "REGISTER_MAX_PER_ADDRESS",
            u64::from(ThrottlePolicy::REGISTER.max_failures),
        )?,
        window_s: positive("REGISTER_WINDOW_SECONDS", ThrottlePolicy::REGISTER.window_s)?,
    };
    let defaults = Argon2Params::DEFAULT;
    let argon2 = Argon2Params::new(
        small("ARGON2_MEMORY_KIB", u64::from(defaults.memory_kib))?,
        small("ARGON2_ITERATIONS", u64::from(defaults.iterations))?,
        small("ARGON2_PARALLELISM", u64::from(defaults.parallelism))?,
    )?;
    let allowed_origins: Vec<String> = get("ALLOWED_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let cross_site_cookies = match get("CROSS_SITE_COOKIES") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(Error::Misconfigured(
                "CROSS_SITE_COOKIES must be true or false".into(),
            ));
        }
    };
    if cross_site_cookies && allowed_origins.is_empty() {
        return Err(Error::Misconfigured(
            "CROSS_SITE_COOKIES needs ALLOWED_ORIGINS: list the app's origin there".into(),
        ));
    }
    // Checked like every other setting: a table that would lock admins out is refused (503
    // `misconfigured` everywhere) rather than served.
    let roles = match get("ROLES") {
        None => Roles::default(),
        Some(json) => Roles::from_json(json)?,
    };
    let mfa = MfaConfig {
        require_for_roles: require_mfa_for_roles(get("REQUIRE_MFA_FOR_ROLES"), &roles)?,
        totp_issuer: String::new(),
    };
    let email = email_delivery(
        get("EMAIL_WEBHOOK_URL"),
        secret_value("EMAIL_WEBHOOK_SECRET"),
        get("APP_URL"),
    )?;
    let recovery = RecoveryConfig {
        password_reset_ttl_s: positive(
            "PASSWORD_RESET_TTL_SECONDS",
            RecoveryConfig::default().password_reset_ttl_s,
        )?,
        email_token_ttl_s: positive(
            "EMAIL_TOKEN_TTL_SECONDS",
            RecoveryConfig::default().email_token_ttl_s,
        )?,
        require_verified_email: match get("REQUIRE_VERIFIED_EMAIL") {
            None | Some("false") => false,
            Some("true") if email.is_some() => true,
            Some("true") => {
                return Err(Error::Misconfigured(
                    "REQUIRE_VERIFIED_EMAIL needs EMAIL_WEBHOOK_URL: without delivery no \
                     address could ever be verified, and nobody could log in"
                        .into(),
                ));
            }
            Some(_) => {
                return Err(Error::Misconfigured(
                    "REQUIRE_VERIFIED_EMAIL must be true or false".into(),
                ));
            }
        },
    };
    let faults = match get("TOLLGATE_FAULT_INJECTION") {
        None => Faults::none(),
        Some(plan) => fault_plan(plan)?,
    };

    Ok(Settings {
        auth: Auth {
            config: AuthConfig {
                token,
                refresh,
                account_throttle,
                address_throttle,
                register_throttle,
                roles,
                access_token_revocation: access_token_revocation(get("ACCESS_TOKEN_REVOCATION"))?,
                recovery,
                mfa,
            },
            keys,
            refresh_key,
            hasher: PasswordHasher::new(argon2),
        },
        allowed_origins,
        cross_site_cookies,
        storage_timeout_ms: positive("STORAGE_TIMEOUT_MS", DEFAULT_STORAGE_TIMEOUT_MS)?,
        strict: match get("CONSISTENCY") {
            None | Some("eventual") => false,
            Some("strict") => true,
            Some(v) => {
                return Err(Error::Misconfigured(format!(
                    "CONSISTENCY must be eventual or strict, got {v:?}"
                )));
            }
        },
        calibration: get("TOLLGATE_CALIBRATION") == Some("enabled"),
        faults,
        oauth: oauth_settings(get("OAUTH_PROVIDERS"), get("APP_URL")),
        email,
        webauthn: crate::webauthn::relying_party(
            get("WEBAUTHN_RP_ID"),
            get("WEBAUTHN_ORIGINS"),
            get("APP_URL"),
        )?,
    })
}

/// `ACCESS_TOKEN_REVOCATION` (trimmed, if set): `expiry` (the default) or `session`.
///
/// # Errors
/// [`Error::Misconfigured`] naming the variable for any other value.
pub(crate) fn access_token_revocation(value: Option<&str>) -> Result<AccessTokenRevocation, Error> {
    value.map_or(Ok(AccessTokenRevocation::Expiry), |v| {
        AccessTokenRevocation::parse(v).ok_or_else(|| {
            Error::Misconfigured(format!(
                "ACCESS_TOKEN_REVOCATION must be expiry or session, got {v:?}"
            ))
        })
    })
}

/// `REQUIRE_MFA_FOR_ROLES`: role names separated by commas or spaces, each one `ROLES` has.
///
/// # Errors
/// [`Error::Misconfigured`] naming the first role the table does not have.
pub(crate) fn require_mfa_for_roles(
    value: Option<&str>,
    roles: &Roles,
) -> Result<Vec<String>, Error> {
    let mut listed = Vec::new();
    for role in value
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|r| !r.is_empty())
    {
        if !roles.contains(role) {
            return Err(Error::Misconfigured(format!(
                "REQUIRE_MFA_FOR_ROLES names {role:?}, which is not a role (see ROLES)"
            )));
        }
        listed.push(role.to_string());
    }
    Ok(listed)
}

/// `OAUTH_PROVIDERS` (none when unset) and `APP_URL`.
///
/// # Errors
/// [`Error::Misconfigured`] for providers the core refuses
/// ([`tollgate_core::oidc::parse_providers`]).
fn oauth_settings(providers: Option<&str>, app_url: Option<&str>) -> Result<OAuthSettings, Error> {
    let providers = match providers {
        None => Vec::new(),
        Some(json) => tollgate_core::oidc::parse_providers(json)?,
    };
    Ok(OAuthSettings {
        providers: tollgate_core::oidc::provider::by_name(providers),
        app_url: app_url.map(str::to_string),
    })
}

/// The mailer's settings, if `EMAIL_WEBHOOK_URL` is set.
///
/// # Errors
/// [`Error::Misconfigured`] naming the setting (never quoting a secret): a URL that is not
/// http(s), a URL without `EMAIL_WEBHOOK_SECRET`, a secret not in `whsec_` form, an `APP_URL`
/// that is not http(s) or already has a fragment (the link's fragment carries the token).
fn email_delivery(
    url: Option<&str>,
    secret: Option<&str>,
    app_url: Option<&str>,
) -> Result<Option<EmailDelivery>, Error> {
    // A plain check, not `url::Url::parse`: linking that crate (with its IDNA tables) grew
    // the Worker's wasm by 161 KB (72 KB gzipped), a fifth of it, and the runtime parses the
    // URL anyway when the request is sent.
    let http = |name: &str, value: &str| -> Result<String, Error> {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        let clean = !value.chars().any(|c| c.is_whitespace() || c.is_control());
        match host {
            Some(host) if clean && !host.is_empty() && !host.contains('@') => Ok(value.to_string()),
            _ => Err(Error::Misconfigured(format!(
                "{name} must be an http(s) URL"
            ))),
        }
    };
    let app_url = match app_url {
        None => None,
        Some(v) if v.contains('#') => {
            return Err(Error::Misconfigured(
                "APP_URL must not have a fragment (#): links put the token there".into(),
            ));
        }
        Some(v) => Some(http("APP_URL", v)?),
    };
    let Some(url) = url else {
        return Ok(None);
    };
    let url = http("EMAIL_WEBHOOK_URL", url)?;
    let secret = secret.ok_or_else(|| {
        Error::Misconfigured(
            "EMAIL_WEBHOOK_SECRET is not set, but EMAIL_WEBHOOK_URL is; generate one with \
             `tollgate keygen --webhook` and `wrangler secret put EMAIL_WEBHOOK_SECRET`"
                .into(),
        )
    })?;
    Ok(Some(EmailDelivery {
        url,
        secret: WebhookSecret::parse(secret)?,
        app_url,
    }))
}

/// The test build's fault plan (see [`crate::faults`]).
///
/// # Errors
/// [`Error::Misconfigured`] naming `TOLLGATE_FAULT_INJECTION` when the plan does not parse.
#[cfg(feature = "fault-injection")]
fn fault_plan(plan: &str) -> Result<Faults, Error> {
    Faults::parse(plan)
        .map_err(|e| Error::Misconfigured(format!("TOLLGATE_FAULT_INJECTION cannot be read: {e}")))
}

/// The deployed build has no fault injection: a set `TOLLGATE_FAULT_INJECTION` is a mistake
/// (a test setting copied into production), refused rather than ignored.
///
/// # Errors
/// Always [`Error::Misconfigured`] naming `TOLLGATE_FAULT_INJECTION`.
#[cfg(not(feature = "fault-injection"))]
fn fault_plan(_plan: &str) -> Result<Faults, Error> {
    Err(Error::Misconfigured(
        "TOLLGATE_FAULT_INJECTION is set, but this build has no fault injection: it exists \
         only in the test build (scripts/build-worker.sh --test); remove the var"
            .into(),
    ))
}

/// The access-token keys and the refresh-token key, from the secrets.
///
/// Every secret that is set is strength-checked, whatever the mode, so no key is ever made
/// from a weak one: `JWT_SECRET` signs (HS256) or, beside an EdDSA `JWT_PRIVATE_KEY`, may only
/// key the refresh tokens, and is checked either way; `REFRESH_SECRET`, or the key derived from
/// `JWT_SECRET`, keys every refresh token. With `JWT_PRIVATE_KEY`, `JWT_SECRET` is not needed
/// when `REFRESH_SECRET` is set.
///
/// # Errors
/// [`Error::Misconfigured`] naming the first missing or weak secret (never its value).
fn keys<'a>(secret: &dyn Fn(&str) -> Option<&'a str>) -> Result<(KeySet, RefreshKey), Error> {
    let jwt_secret = secret("JWT_SECRET");
    let private_key = secret("JWT_PRIVATE_KEY");
    let refresh_secret = secret("REFRESH_SECRET");
    let previous_secrets = secret("JWT_PREVIOUS_SECRETS");
    let mut keys = match (private_key, jwt_secret) {
        (Some(pem), jwt_secret) => {
            // It signs nothing here, but may key refresh tokens, and a weak one is a mistake
            // worth stopping either way.
            if let Some(s) = jwt_secret {
                secret_strength::check_named("JWT_SECRET", s)?;
            }
            KeySet::ed25519_pem(pem)?
        }
        (None, Some(s)) => KeySet::hs256(s)?,
        (None, None) => {
            return Err(Error::Misconfigured(
                "JWT_SECRET is not set; generate one with `tollgate keygen` and \
                 `wrangler secret put JWT_SECRET` (or sign with EdDSA: JWT_PRIVATE_KEY)"
                    .into(),
            ));
        }
    };
    if let Some(jwks) = secret("JWT_PREVIOUS_PUBLIC_KEYS") {
        keys = keys.with_previous_public_keys(jwks)?;
    }
    // Earlier HS256 secrets, one per line, still accepted for verification while the access
    // tokens they signed live out their lifetime (a secret rotation without signing anyone out).
    if let Some(lines) = previous_secrets {
        keys = keys.with_previous_hs256_secrets(lines)?;
    }
    let refresh_key = match (refresh_secret, jwt_secret) {
        (Some(s), _) => RefreshKey::from_secret(s)?,
        // Derived from JWT_SECRET: refresh tokens made under a previous secret stay readable
        // too, so rotating JWT_SECRET ends no session.
        (None, Some(s)) => {
            let key = RefreshKey::derive_from_jwt_secret(s)?;
            match previous_secrets {
                Some(lines) => key.with_previous_jwt_secrets(lines)?,
                None => key,
            }
        }
        (None, None) => {
            return Err(Error::Misconfigured(
                "REFRESH_SECRET is not set, and there is no JWT_SECRET to derive the \
                 refresh-token key from; generate one with `tollgate keygen` and \
                 `wrangler secret put REFRESH_SECRET`"
                    .into(),
            ));
        }
    };
    Ok((keys, refresh_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The raw bindings with `JWT_SECRET` set to `secret` and `vars` set, the rest unset.
    fn raw(secret: &str, vars: &[(&str, &str)]) -> Vec<Option<String>> {
        let mut all = vec![("JWT_SECRET", secret)];
        all.extend_from_slice(vars);
        bindings(&all)
    }

    /// The raw bindings with exactly `set` set (no `JWT_SECRET` unless listed).
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

    const SECRET: &str = "q3RZ0vJ8yN1mW5kT7bH2xC9dF4gL6pSa";
    const OTHER_SECRET: &str = "Vb7Kp2Qx9Lm4Tz8Rw1Hn6Jc3Fd5Gs0Ya";
    /// The Ed25519 private key of RFC 8410 §10.3, in PKCS#8 PEM.
    const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    /// At least 32 bytes, and weak: a short pattern repeated.
    const WEAK: &str = "0123456789abcdef0123456789abcdef";

    /// The unusable setting's message: it must name `name` first and never quote the value.
    fn refused(set: &[(&str, &str)], name: &str) -> String {
        let message = match parse(&bindings(set)) {
            Err(Error::Misconfigured(message)) => message,
            Err(other) => panic!("{set:?}: refused with {other:?}, not as misconfigured"),
            Ok(_) => panic!("{set:?}: accepted; expected {name} to be refused"),
        };
        assert!(message.starts_with(name), "{set:?}: {message}");
        for (_, value) in set {
            if value.len() >= 16 {
                assert!(
                    !message.contains(value),
                    "the message quotes a value: {message}"
                );
            }
        }
        message
    }

    #[test]
    fn secrets_are_used_exactly_as_given() {
        let padded = format!(" {SECRET}\n");
        let settings = parse(&raw(&padded, &[])).unwrap();
        let exact = KeySet::hs256(&padded).unwrap();
        let trimmed = KeySet::hs256(SECRET).unwrap();
        assert_eq!(settings.auth.keys.kid(), exact.kid());
        assert_ne!(settings.auth.keys.kid(), trimmed.kid());
    }

    #[test]
    fn registration_throttle_defaults_to_10_an_hour_and_0_disables_it() {
        let settings = parse(&raw(SECRET, &[])).unwrap();
        assert_eq!(
            settings.auth.config.register_throttle,
            ThrottlePolicy {
                max_failures: 10,
                window_s: 3600
            }
        );
        let settings = parse(&raw(
            SECRET,
            &[
                ("REGISTER_MAX_PER_ADDRESS", "0"),
                ("REGISTER_WINDOW_SECONDS", "60"),
            ],
        ))
        .unwrap();
        let policy = settings.auth.config.register_throttle;
        assert_eq!((policy.max_failures, policy.window_s), (0, 60));
        assert!(!policy.is_enabled());
        for bad in [
            ("REGISTER_MAX_PER_ADDRESS", "ten"),
            ("REGISTER_MAX_PER_ADDRESS", "-1"),
            ("REGISTER_WINDOW_SECONDS", "0"),
        ] {
            let Err(Error::Misconfigured(why)) = parse(&raw(SECRET, &[bad])) else {
                panic!("{bad:?} accepted");
            };
            assert!(why.contains(bad.0), "{why}");
        }
    }

    #[test]
    fn cross_site_cookies_is_true_or_false_and_needs_allowed_origins() {
        let app = ("ALLOWED_ORIGINS", "https://app.example");
        assert!(!parse(&raw(SECRET, &[app])).unwrap().cross_site_cookies);
        let on = parse(&raw(SECRET, &[app, ("CROSS_SITE_COOKIES", " true ")])).unwrap();
        assert!(on.cross_site_cookies);
        let off = parse(&raw(SECRET, &[("CROSS_SITE_COOKIES", "false")])).unwrap();
        assert!(!off.cross_site_cookies);
        for (value, origins) in [
            ("yes", Some(app)),
            ("1", Some(app)),
            ("TRUE", Some(app)),
            ("true", None),
        ] {
            let mut vars = vec![("CROSS_SITE_COOKIES", value)];
            vars.extend(origins);
            let Err(Error::Misconfigured(why)) = parse(&raw(SECRET, &vars)) else {
                panic!("CROSS_SITE_COOKIES={value} with {origins:?} accepted");
            };
            assert!(why.contains("CROSS_SITE_COOKIES"), "{why}");
        }
    }

    #[test]
    fn email_delivery_needs_an_http_url_and_a_whsec_secret() {
        const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let url = ("EMAIL_WEBHOOK_URL", "https://mail.example/hook");
        assert!(parse(&raw(SECRET, &[])).unwrap().email.is_none());
        let on = parse(&raw(
            SECRET,
            &[
                url,
                ("EMAIL_WEBHOOK_SECRET", WHSEC),
                ("APP_URL", "https://app.example/recover"),
            ],
        ))
        .unwrap();
        let email = on.email.unwrap();
        assert_eq!(email.url, "https://mail.example/hook");
        assert_eq!(
            email.app_url.as_deref(),
            Some("https://app.example/recover")
        );
        assert!(
            !format!("{email:?}").contains("MfKQ9r8"),
            "Debug shows the secret"
        );
        refused(&[("JWT_SECRET", SECRET), url], "EMAIL_WEBHOOK_SECRET");
        refused(
            &[
                ("JWT_SECRET", SECRET),
                url,
                ("EMAIL_WEBHOOK_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ],
            "EMAIL_WEBHOOK_SECRET",
        );
        for bad in [
            "ftp://x.example/",
            "https://",
            "https:///path",
            "mail.example/hook",
            "https://a b.example/",
            "https://user@x.example/",
        ] {
            refused(
                &[
                    ("JWT_SECRET", SECRET),
                    ("EMAIL_WEBHOOK_URL", bad),
                    ("EMAIL_WEBHOOK_SECRET", WHSEC),
                ],
                "EMAIL_WEBHOOK_URL",
            );
        }
        refused(
            &[
                ("JWT_SECRET", SECRET),
                url,
                ("EMAIL_WEBHOOK_SECRET", WHSEC),
                ("APP_URL", "https://app.example/#x"),
            ],
            "APP_URL",
        );
        // Verification cannot be required where no verification can be sent.
        refused(
            &[("JWT_SECRET", SECRET), ("REQUIRE_VERIFIED_EMAIL", "true")],
            "REQUIRE_VERIFIED_EMAIL",
        );
        let recovery = parse(&raw(SECRET, &[])).unwrap().auth.config.recovery;
        assert_eq!(
            (recovery.password_reset_ttl_s, recovery.email_token_ttl_s),
            (1800, 86_400)
        );
        assert!(!recovery.require_verified_email);
    }

    #[test]
    fn vars_are_trimmed() {
        let settings = parse(&raw(
            SECRET,
            &[
                ("ACCESS_TOKEN_TTL_SECONDS", " 60 "),
                ("ALLOWED_ORIGINS", " https://app.example/ "),
            ],
        ))
        .unwrap();
        assert_eq!(settings.auth.config.token.ttl_s, 60);
        assert_eq!(settings.allowed_origins, ["https://app.example"]);
    }

    #[test]
    fn every_secret_is_strength_checked_in_every_mode() {
        // The three ways to configure the keys: HS256 from JWT_SECRET; EdDSA with the refresh
        // key derived from JWT_SECRET; EdDSA with a dedicated REFRESH_SECRET and no JWT_SECRET.
        let modes: &[&[(&str, &str)]] = &[
            &[("JWT_SECRET", SECRET)],
            &[("JWT_PRIVATE_KEY", PRIVATE_KEY), ("JWT_SECRET", SECRET)],
            &[("JWT_PRIVATE_KEY", PRIVATE_KEY), ("REFRESH_SECRET", SECRET)],
        ];
        for mode in modes {
            assert!(
                parse(&bindings(mode)).is_ok(),
                "{mode:?} with strong secrets"
            );
            for (name, weak) in [
                ("JWT_SECRET", WEAK),
                ("JWT_SECRET", "short"),
                ("REFRESH_SECRET", WEAK),
                ("REFRESH_SECRET", "your-256-bit-secret"),
                ("JWT_PREVIOUS_SECRETS", WEAK),
            ] {
                let mut set: Vec<(&str, &str)> =
                    mode.iter().filter(|(n, _)| *n != name).copied().collect();
                set.push((name, weak));
                refused(&set, name);
            }
        }
    }

    #[test]
    fn roles_default_to_user_and_admin_and_a_table_that_locks_admins_out_is_refused() {
        let settings = parse(&raw(SECRET, &[])).unwrap();
        assert_eq!(settings.auth.config.roles, Roles::default());
        let table = r#" {"user": ["profile"], "editor": ["profile", "notes:write"], "admin": ["users:read", "users:write"]} "#;
        let settings = parse(&raw(SECRET, &[("ROLES", table)])).unwrap();
        let names: Vec<&str> = settings.auth.config.roles.names().collect();
        assert_eq!(names, ["user", "editor", "admin"]);
        for bad in [
            r#"{"user": ["profile"], "admin": ["profile"]}"#,
            r#"{"user": ["profile"]}"#,
            r#"{"admin": ["users:read", "users:write"]}"#,
            "user, admin",
        ] {
            let message = refused(&[("JWT_SECRET", SECRET), ("ROLES", bad)], "ROLES ");
            assert!(!message.contains(SECRET), "{message}");
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    #[test]
    fn the_deployed_build_refuses_a_fault_plan() {
        // Whatever the plan says, even one that would parse in the test build.
        for plan in ["put:email=fail", "nonsense"] {
            let message = refused(
                &[("JWT_SECRET", SECRET), ("TOLLGATE_FAULT_INJECTION", plan)],
                "TOLLGATE_FAULT_INJECTION ",
            );
            assert!(message.contains("--test"), "{message}");
        }
        let blank = parse(&raw(SECRET, &[("TOLLGATE_FAULT_INJECTION", "  ")])).unwrap();
        assert!(blank.faults.is_empty());
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn the_test_build_reads_a_fault_plan_and_refuses_a_bad_one() {
        let settings = parse(&raw(
            SECRET,
            &[("TOLLGATE_FAULT_INJECTION", "put:email=fail")],
        ))
        .unwrap();
        assert!(!settings.faults.is_empty());
        refused(
            &[
                ("JWT_SECRET", SECRET),
                ("TOLLGATE_FAULT_INJECTION", "nonsense"),
            ],
            "TOLLGATE_FAULT_INJECTION ",
        );
    }

    #[test]
    fn an_eddsa_deployment_needs_a_refresh_key_but_no_jwt_secret() {
        let message = refused(&[("JWT_PRIVATE_KEY", PRIVATE_KEY)], "REFRESH_SECRET");
        assert!(
            message.contains("JWT_SECRET"),
            "says the other way: {message}"
        );
        let settings = parse(&bindings(&[
            ("JWT_PRIVATE_KEY", PRIVATE_KEY),
            ("REFRESH_SECRET", OTHER_SECRET),
        ]))
        .unwrap();
        assert_eq!(settings.auth.keys.jwks_json().matches("\"kid\"").count(), 1);
        // Without an EdDSA key, JWT_SECRET is what signs: still required.
        refused(&[("REFRESH_SECRET", OTHER_SECRET)], "JWT_SECRET");
    }

    #[test]
    fn require_mfa_for_roles_lists_known_roles_only() {
        let settings = parse(&raw(SECRET, &[("REQUIRE_MFA_FOR_ROLES", "admin, user")])).unwrap();
        assert_eq!(
            settings.auth.config.mfa.require_for_roles,
            ["admin", "user"]
        );
        let unset = parse(&raw(SECRET, &[])).unwrap();
        assert!(unset.auth.config.mfa.require_for_roles.is_empty());
        refused(
            &[("JWT_SECRET", SECRET), ("REQUIRE_MFA_FOR_ROLES", "root")],
            "REQUIRE_MFA_FOR_ROLES",
        );
    }
}
