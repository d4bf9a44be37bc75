//! Signing in with an identity provider, as the core decides it: `OAUTH_PROVIDERS` and
//! discovery, the authorization request, the callback's checks, and the flows over the
//! in-memory store (find-or-create, linking rules, unlinking with `last_login_method`).
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tollgate_core::events::{EventLog, SecurityEvent};
use tollgate_core::flows::{Auth, AuthConfig, LoginInput, RecoveryConfig};
use tollgate_core::oidc::authorize::{
    CallbackParams, ExpectedProvider, LinkTarget, PENDING_TTL_S, check_callback, code_challenge,
    start,
};
use tollgate_core::oidc::identity::{parse_token_response, parse_userinfo};
use tollgate_core::oidc::provider::parse_discovery;
use tollgate_core::oidc::{
    Asserted, Endpoints, Protocol, ProviderConfig, identity_key, parse_providers, secret_name,
};
use tollgate_core::passkey::StoredPasskey;
use tollgate_core::random::SeededRandom;
use tollgate_core::roles::Principal;
use tollgate_core::store::memory::MemoryStore;
use tollgate_core::store::{ChangeRequest, UserChange, UserRecord, UserStore};
use tollgate_core::{Error, ErrorCode, TokenRejection};
use wasm_bindgen_test::wasm_bindgen_test;

mod support;
use support::*;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// --- OAUTH_PROVIDERS --------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn providers_read_issuers_endpoints_and_presets() {
    let providers = parse_providers(
        r#"{
          "corp": {"issuer": "https://idp.example.com", "client_id": "app", "trusted_email": true},
          "plain": {"authorization_endpoint": "http://127.0.0.1:4555/auth",
                    "token_endpoint": "http://127.0.0.1:4555/token",
                    "userinfo_endpoint": "http://127.0.0.1:4555/me",
                    "client_id": "app2", "scopes": ["openid", "email"]},
          "ghe": {"authorization_endpoint": "https://ghe.example/login/oauth/authorize",
                  "token_endpoint": "https://ghe.example/login/oauth/access_token",
                  "userinfo_endpoint": "https://ghe.example/api/v3/user",
                  "emails_endpoint": "https://ghe.example/api/v3/user/emails",
                  "client_id": "app3"},
          "google": {"client_id": "g"},
          "gh": {"preset": "github", "client_id": "h"},
          "ms": {"preset": "microsoft", "client_id": "m", "tenant": "9188040d-6c67-4c5b-b112-36a304b66dad"}
        }"#,
    )
    .unwrap();
    let by = |name: &str| providers.iter().find(|p| p.name == name).unwrap();
    assert_eq!(by("corp").issuer(), Some("https://idp.example.com"));
    assert!(by("corp").trusted_email);
    assert_eq!(by("corp").scopes, "openid email profile");
    assert!(
        matches!(&by("plain").protocol, Protocol::OAuth2(e) if e.userinfo_endpoint.as_deref() == Some("http://127.0.0.1:4555/me"))
    );
    assert_eq!(by("plain").scopes, "openid email");
    assert_eq!(by("google").issuer(), Some("https://accounts.google.com"));
    assert!(
        matches!(&by("gh").protocol, Protocol::OAuth2(e) if e.token_endpoint == "https://github.com/login/oauth/access_token"
            && e.emails_endpoint.as_deref() == Some("https://api.github.com/user/emails?per_page=100"))
    );
    assert!(matches!(&by("plain").protocol, Protocol::OAuth2(e) if e.emails_endpoint.is_none()));
    assert!(
        matches!(&by("ghe").protocol, Protocol::OAuth2(e) if e.emails_endpoint.as_deref() == Some("https://ghe.example/api/v3/user/emails"))
    );
    assert_eq!(
        by("ms").issuer(),
        Some("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
    );
    assert_eq!(secret_name("my-idp"), "OAUTH_MY_IDP_CLIENT_SECRET");
}

#[wasm_bindgen_test(unsupported = test)]
fn misconfigured_providers_are_refused_with_the_reason() {
    for (json, says) in [
        (r#"[]"#, "not a JSON object"),
        (
            r#"{"a":{"issuer":"https://x","client_id":"c","client_id":"d"}}"#,
            "repeats",
        ),
        (
            r#"{"Bad":{"issuer":"https://x","client_id":"c"}}"#,
            "provider name",
        ),
        (r#"{"a":{"issuer":"https://x"}}"#, "client_id"),
        (
            r#"{"a":{"preset":"facebook","client_id":"c"}}"#,
            "unknown preset",
        ),
        (
            r#"{"a":{"issuer":"http://idp.example","client_id":"c"}}"#,
            "https",
        ),
        (
            r#"{"a":{"issuer":"https://x","authorization_endpoint":"https://x/a","client_id":"c"}}"#,
            "not both",
        ),
        (
            r#"{"a":{"authorization_endpoint":"https://x/a","client_id":"c"}}"#,
            "token_endpoint",
        ),
        (r#"{"a":{"client_id":"c"}}"#, "needs an \"issuer\""),
        (
            r#"{"a":{"issuer":"https://x","client_id":"c","scopes":"email"}}"#,
            "openid",
        ),
        (
            r#"{"a":{"issuer":"https://x","client_id":"c","secret":"s"}}"#,
            "unknown member",
        ),
        (r#"{"microsoft":{"client_id":"c"}}"#, "tenant"),
        (
            r#"{"a":{"issuer":"https://x","emails_endpoint":"https://x/e","client_id":"c"}}"#,
            "not both",
        ),
        (
            r#"{"a":{"preset":"github","emails_endpoint":"https://x/e","client_id":"c"}}"#,
            "preset",
        ),
        (
            r#"{"a":{"authorization_endpoint":"https://x/a","token_endpoint":"https://x/t","userinfo_endpoint":"https://x/u","emails_endpoint":"http://x/e","client_id":"c"}}"#,
            "\"emails_endpoint\" must be an https URL",
        ),
        (
            r#"{"a":{"preset":"microsoft","client_id":"c","tenant":"common"}}"#,
            "GUID",
        ),
    ] {
        let Err(Error::Misconfigured(why)) = parse_providers(json) else {
            panic!("{json} was accepted");
        };
        assert!(why.starts_with("OAUTH_PROVIDERS"), "{why}");
        assert!(why.contains(says), "{json}: {why}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn discovery_must_name_the_configured_issuer_exactly() {
    let doc = |issuer: &str| {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": "https://idp.example/auth",
            "token_endpoint": "https://idp.example/token",
            "jwks_uri": "https://idp.example/jwks",
            "authorization_response_iss_parameter_supported": true
        })
        .to_string()
    };
    let found =
        parse_discovery("corp", "https://idp.example", &doc("https://idp.example")).unwrap();
    assert!(found.iss_parameter_supported);
    assert_eq!(found.jwks_uri, "https://idp.example/jwks");
    for other in ["https://evil.example", "https://idp.example/"] {
        assert!(matches!(
            parse_discovery("corp", "https://idp.example", &doc(other)),
            Err(Error::Misconfigured(_))
        ));
    }
}

// --- the authorization request and the callback ----------------------------------------------

fn oidc_provider() -> ProviderConfig {
    ProviderConfig {
        name: "corp".into(),
        protocol: Protocol::OpenIdConnect {
            issuer: "https://idp.example".into(),
        },
        client_id: "app".into(),
        scopes: "openid email".into(),
        trusted_email: false,
    }
}

fn endpoints() -> Endpoints {
    Endpoints {
        authorization_endpoint: "https://idp.example/auth?tenant=x".into(),
        token_endpoint: "https://idp.example/token".into(),
        userinfo_endpoint: None,
        emails_endpoint: None,
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').unwrap().1;
    q.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            let decode = |s: &str| {
                let mut out = Vec::new();
                let bytes = s.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (decode(k), decode(v))
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn the_request_carries_state_nonce_and_a_pkce_s256_challenge() {
    let mut rng = SeededRandom::new(1);
    let started = start(
        &oidc_provider(),
        &endpoints(),
        "https://auth.example/auth/oauth/corp/callback",
        "https://app.example/",
        None,
        T0,
        &mut rng,
    );
    let q = query(&started.url);
    let get = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert!(
        started
            .url
            .starts_with("https://idp.example/auth?tenant=x&")
    );
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(get("client_id"), Some("app"));
    assert_eq!(
        get("redirect_uri"),
        Some("https://auth.example/auth/oauth/corp/callback")
    );
    assert_eq!(get("scope"), Some("openid email"));
    assert_eq!(get("state"), Some(started.state.as_str()));
    assert_eq!(get("nonce"), started.pending.nonce.as_deref());
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(
        get("code_challenge"),
        Some(code_challenge(&started.pending.code_verifier).as_str())
    );
    // 256 bits each, all different; the verifier never leaves the server.
    assert_eq!(started.state.len(), 43);
    assert_eq!(started.pending.code_verifier.len(), 43);
    assert_ne!(started.state, started.pending.code_verifier);
    assert!(!started.url.contains(&started.pending.code_verifier));
    // RFC 7636 Appendix B's example.
    assert_eq!(
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

fn callback<'a>(
    params: CallbackParams<'a>,
    cookie: Option<&str>,
    pending_at: Option<u64>,
    iss_required: bool,
) -> Result<&'a str, ErrorCode> {
    let mut rng = SeededRandom::new(2);
    let mut started = start(
        &oidc_provider(),
        &endpoints(),
        "cb",
        "https://app.example/",
        None,
        T0,
        &mut rng,
    );
    started.pending.created_at = pending_at.unwrap_or(T0);
    let pending = pending_at.map(|_| started.pending.clone());
    let expected = ExpectedProvider {
        name: "corp",
        issuer: Some("https://idp.example"),
        iss_required,
    };
    let state = if cookie == Some("STATE") {
        Some(started.state.as_str())
    } else {
        cookie
    };
    check_callback(&params, state, pending.as_ref(), &expected, T0 + 5).map_err(|e| e.code())
}

#[wasm_bindgen_test(unsupported = test)]
fn the_callback_checks_state_cookie_pending_iss_and_consent_in_order() {
    let mut rng = SeededRandom::new(2);
    let state = start(
        &oidc_provider(),
        &endpoints(),
        "cb",
        "https://app.example/",
        None,
        T0,
        &mut rng,
    )
    .state;
    let ok = CallbackParams {
        code: Some("c0de"),
        state: Some(&state),
        error: None,
        iss: Some("https://idp.example"),
    };
    assert_eq!(
        callback(ok.clone(), Some("STATE"), Some(T0), true),
        Ok("c0de")
    );
    // RFC 9207: without iss, only from a provider that does not always send it.
    let no_iss = CallbackParams {
        iss: None,
        ..ok.clone()
    };
    assert_eq!(
        callback(no_iss.clone(), Some("STATE"), Some(T0), false),
        Ok("c0de")
    );
    for (name, params, cookie, pending, iss_required, want) in [
        (
            "no state",
            CallbackParams {
                state: None,
                ..ok.clone()
            },
            Some("STATE"),
            Some(T0),
            true,
            ErrorCode::InvalidState,
        ),
        (
            "no cookie (another browser)",
            ok.clone(),
            None,
            Some(T0),
            true,
            ErrorCode::InvalidState,
        ),
        (
            "another state's cookie",
            ok.clone(),
            Some("other-state"),
            Some(T0),
            true,
            ErrorCode::InvalidState,
        ),
        (
            "already used (no pending)",
            ok.clone(),
            Some("STATE"),
            None,
            true,
            ErrorCode::InvalidState,
        ),
        (
            "too old",
            ok.clone(),
            Some("STATE"),
            Some(T0 - PENDING_TTL_S),
            true,
            ErrorCode::InvalidState,
        ),
        (
            "mix-up: another iss",
            CallbackParams {
                iss: Some("https://evil.example"),
                ..ok.clone()
            },
            Some("STATE"),
            Some(T0),
            false,
            ErrorCode::InvalidState,
        ),
        (
            "iss missing where always sent",
            no_iss.clone(),
            Some("STATE"),
            Some(T0),
            true,
            ErrorCode::InvalidState,
        ),
        (
            "denied consent",
            CallbackParams {
                code: None,
                error: Some("access_denied"),
                ..ok.clone()
            },
            Some("STATE"),
            Some(T0),
            true,
            ErrorCode::AccessDenied,
        ),
        (
            "another provider error",
            CallbackParams {
                code: None,
                error: Some("server_error"),
                ..ok.clone()
            },
            Some("STATE"),
            Some(T0),
            true,
            ErrorCode::ProviderError,
        ),
        (
            "no code",
            CallbackParams {
                code: None,
                ..ok.clone()
            },
            Some("STATE"),
            Some(T0),
            true,
            ErrorCode::ProviderError,
        ),
        // A denial with a forged state is a bad state first.
        (
            "denied with no cookie",
            CallbackParams {
                code: None,
                error: Some("access_denied"),
                ..ok.clone()
            },
            None,
            Some(T0),
            true,
            ErrorCode::InvalidState,
        ),
    ] {
        assert_eq!(
            callback(params, cookie, pending, iss_required),
            Err(want),
            "{name}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn token_and_userinfo_responses_are_read_strictly() {
    let ok = parse_token_response(
        200,
        r#"{"access_token":"at","token_type":"Bearer","id_token":"a.b.c"}"#,
        true,
    )
    .unwrap();
    assert_eq!(ok.id_token.as_deref(), Some("a.b.c"));
    for (status, body) in [
        (400, r#"{"error":"invalid_grant"}"#),
        (
            200,
            r#"{"access_token":"at","token_type":"mac","id_token":"x"}"#,
        ),
        (200, r#"{"token_type":"Bearer","id_token":"x"}"#),
        (200, r#"{"access_token":"at","token_type":"Bearer"}"#),
        (500, "<html>"),
    ] {
        let e = parse_token_response(status, body, true).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ProviderError, "{body}");
    }
    let github = parse_userinfo(
        "gh",
        200,
        r#"{"id":583231,"email":"octo@example.com"}"#,
        None,
    )
    .unwrap();
    assert_eq!(
        (github.subject.as_str(), github.email_verified),
        ("583231", false)
    );
    let oidc = parse_userinfo(
        "p",
        200,
        r#"{"sub":"s1","email":"a@example.com","email_verified":true}"#,
        Some("s1"),
    )
    .unwrap();
    assert!(oidc.email_verified);
    for (body, expected) in [
        (r#"{"sub":"s2"}"#, Some("s1")),
        (r#"{"email":"a@example.com"}"#, None),
        (r#"{"sub":"s1","sub":"s2"}"#, None),
        (r#"{"sub":"s1","email_verified":"yes"}"#, None),
    ] {
        assert!(parse_userinfo("p", 200, body, expected).is_err(), "{body}");
    }
}

/// GitHub's user document names only the public address (often none, as here) and never says
/// whether it is verified; its list of addresses does. The list below is the example answer
/// of "List email addresses for the authenticated user" in GitHub's REST API documentation
/// (docs.github.com/en/rest/users/emails), with a second, non-primary address added.
#[wasm_bindgen_test(unsupported = test)]
fn a_github_style_list_of_addresses_asserts_the_primary_one() {
    let user = parse_userinfo(
        "gh",
        200,
        r#"{"id":583231,"login":"octocat","email":null}"#,
        None,
    )
    .unwrap();
    assert_eq!((user.email.as_deref(), user.email_verified), (None, false));
    let listed = r#"[
      {"email":"old@example.com","verified":true,"primary":false,"visibility":null},
      {"email":"octocat@github.com","verified":true,"primary":true,"visibility":"public"}
    ]"#;
    let primary = user.clone().with_listed_emails(200, listed).unwrap();
    assert_eq!(
        (
            primary.email.as_deref(),
            primary.email_verified,
            primary.subject.as_str()
        ),
        (Some("octocat@github.com"), true, "583231")
    );
    // An unverified primary address is asserted, as unverified: it cannot link by email. With
    // no primary address, or a token that may not read the list (no `user:email` scope, or a
    // GitHub App without the "Email addresses" permission: 403 or 404), the user document's
    // claims stand, unverified.
    let public = parse_userinfo("gh", 200, r#"{"id":1,"email":"pub@example.com"}"#, None).unwrap();
    assert_eq!(public, asserted("gh", "1", Some("pub@example.com"), false));
    let no_list = r#"{"message":"Resource not accessible by integration"}"#;
    for (from, status, body, expected) in [
        (
            &user,
            200,
            r#"[{"email":"new@example.com","verified":false,"primary":true}]"#,
            asserted("gh", "583231", Some("new@example.com"), false),
        ),
        (
            &public,
            200,
            r#"[{"email":"x@example.com","verified":true,"primary":false}]"#,
            public.clone(),
        ),
        (&public, 403, no_list, public.clone()),
        (&public, 404, no_list, public.clone()),
    ] {
        let got = from.clone().with_listed_emails(status, body).unwrap();
        assert_eq!(got, expected, "{status} {body}");
    }
    for (status, body) in [
        (401, r#"{"message":"Bad credentials"}"#),
        (200, r#"{"email":"a@example.com"}"#),
        (
            200,
            r#"[{"email":"a@example.com","primary":"yes","verified":true}]"#,
        ),
        (200, r#"[{"email":1,"primary":true,"verified":true}]"#),
        (200, r#"[{"email":"a@example.com","primary":true}]"#),
        (200, r#"["a@example.com"]"#),
        (
            200,
            r#"[{"email":"a@example.com","primary":true,"verified":true},{"email":"b@example.com","primary":true,"verified":true}]"#,
        ),
        (
            200,
            r#"[{"email":"a@example.com","email":"b@example.com","primary":true,"verified":true}]"#,
        ),
    ] {
        let e = user.clone().with_listed_emails(status, body).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ProviderError, "{body}");
    }
}

// --- the flows --------------------------------------------------------------------------------

fn auth(require_verified_email: bool) -> Auth {
    test_auth(AuthConfig {
        recovery: RecoveryConfig {
            require_verified_email,
            ..RecoveryConfig::default()
        },
        ..test_config()
    })
}

struct World {
    auth: Auth,
    store: MemoryStore,
    events: EventLog,
    rng: SeededRandom,
}

fn asserted(provider: &str, subject: &str, email: Option<&str>, verified: bool) -> Asserted {
    Asserted {
        provider: provider.into(),
        subject: subject.into(),
        email: email.map(Into::into),
        email_verified: verified,
    }
}

impl World {
    fn new() -> World {
        World {
            auth: auth(false),
            store: MemoryStore::new(),
            events: EventLog::default(),
            rng: SeededRandom::new(5),
        }
    }

    fn sign_in(&mut self, a: &Asserted, trusted: bool) -> Result<(UserRecord, bool), Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        run(flows.sign_in_with_identity(a, trusted, "agent", T0, &mut self.rng))
            .map(|o| (o.login.user, o.created))
    }

    fn register(&mut self, email: &str, verified: bool) -> UserRecord {
        let flows = self.auth.flows(&self.store, &self.events);
        let user = run(flows.register(email, PASSWORD, "192.0.2.9", T0, &mut self.rng)).unwrap();
        if !verified {
            return user;
        }
        let request = ChangeRequest {
            change: UserChange::VerifyEmail {
                email: user.email.clone(),
            },
            now: T0,
            caller_issued_at: None,
        };
        run(self.store.change_user(&user.id, &request))
            .unwrap()
            .unwrap()
    }

    fn login(&mut self, email: &str, password: &str) -> Result<(), Error> {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password,
            client_address: "192.0.2.1",
            user_agent: "a",
            scope: None,
        };
        run(flows.login(&input, T0, &mut self.rng)).map(|_| ())
    }

    fn principal(&self, access_token: &str) -> Principal {
        self.auth
            .authenticate(Some(&format!("Bearer {access_token}")), T0)
            .unwrap()
    }

    /// Signs in with a password, returning the caller's principal.
    fn password_principal(&mut self, email: &str) -> Principal {
        let flows = self.auth.flows(&self.store, &self.events);
        let input = LoginInput {
            username: email,
            password: PASSWORD,
            client_address: "192.0.2.1",
            user_agent: "a",
            scope: None,
        };
        let tokens = run(flows.login(&input, T0, &mut self.rng)).unwrap().tokens;
        self.principal(&tokens.access_token)
    }

    /// Signs in through a provider, returning the account and the caller's principal.
    fn identity_principal(&mut self, a: &Asserted) -> (UserRecord, Principal) {
        let flows = self.auth.flows(&self.store, &self.events);
        let outcome =
            run(flows.sign_in_with_identity(a, false, "agent", T0, &mut self.rng)).unwrap();
        let principal = self.principal(&outcome.login.tokens.access_token);
        (outcome.login.user, principal)
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_first_sign_in_creates_a_password_less_account_and_the_second_finds_it() {
    let mut w = World::new();
    let a = asserted("corp", "sub-1", Some("New@Example.com"), true);
    let (user, created) = w.sign_in(&a, false).unwrap();
    assert!(created);
    assert_eq!(user.email, "New@example.com");
    assert_eq!(user.email_verified_at, Some(T0));
    assert_eq!(user.identities.len(), 1);
    assert_eq!(user.sign_in_methods(), 1);
    assert_eq!(
        run(w.store.find_identity(&identity_key("corp", "sub-1"))).unwrap(),
        Some(user.id)
    );
    // The second sign-in finds the same account, even if the email changed at the provider.
    let again = asserted("corp", "sub-1", Some("renamed@example.com"), true);
    let (second, created) = w.sign_in(&again, false).unwrap();
    assert!(!created);
    assert_eq!(second.id, user.id);
    // The account has no password: its password login fails like a wrong one (the empty
    // string included).
    for password in ["", PASSWORD] {
        assert_eq!(
            w.login("new@example.com", password),
            Err(Error::InvalidCredentials)
        );
    }
    assert!(
        w.events
            .events()
            .iter()
            .any(|e| matches!(e, SecurityEvent::IdentitySignIn { created: true, .. }))
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_email_match_links_only_when_both_sides_vouch_for_the_address() {
    // (provider says verified, local verified, trusted_email) -> links?
    for (provider_verified, local_verified, trusted, links) in [
        (true, true, false, true),
        (true, false, false, false),
        (false, true, false, false),
        (false, false, false, false),
        (true, false, true, true),
        (false, true, true, false),
    ] {
        let mut w = World::new();
        let local = w.register("jane@example.com", local_verified);
        let a = asserted(
            "corp",
            "jane-sub",
            Some("JANE@example.com"),
            provider_verified,
        );
        let outcome = w.sign_in(&a, trusted);
        let case = format!("provider {provider_verified} local {local_verified} trusted {trusted}");
        if links {
            let (user, created) = outcome.expect(&case);
            assert_eq!((user.id, created), (local.id, false), "{case}");
            assert_eq!(user.identities.len(), 1, "{case}");
            assert!(
                w.events
                    .events()
                    .iter()
                    .any(|e| matches!(e, SecurityEvent::IdentityLinked { how: "email", .. }))
            );
        } else {
            assert_eq!(outcome.map(|_| ()), Err(Error::AccountExists), "{case}");
            let stored = run(w.store.get_user(&local.id)).unwrap().unwrap();
            assert!(stored.identities.is_empty(), "{case}");
            assert_eq!(
                run(w.store.find_identity(&identity_key("corp", "jane-sub"))).unwrap(),
                None
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn no_email_and_disabled_accounts_are_refused() {
    let mut w = World::new();
    let e = w
        .sign_in(&asserted("gh", "1", None, false), false)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ProviderError);
    let (user, _) = w
        .sign_in(&asserted("gh", "2", Some("d@example.com"), false), false)
        .unwrap();
    let request = ChangeRequest {
        change: UserChange::SetDisabled { disabled: true },
        now: T0,
        caller_issued_at: None,
    };
    run(w.store.change_user(&user.id, &request)).unwrap();
    assert_eq!(
        w.sign_in(&asserted("gh", "2", None, false), false)
            .map(|_| ()),
        Err(Error::AccountDisabled)
    );
}

/// A link asked for by a session of `user_id` issued at `T0`.
fn asked_by(user_id: tollgate_core::id::Id) -> LinkTarget {
    LinkTarget {
        user_id,
        issued_at: T0,
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_link_is_void_once_the_session_that_asked_for_it_has_ended() {
    let mut w = World::new();
    let local = w.register("lea@example.com", false);
    let principal = w.password_principal("lea@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    let ticket = run(flows.start_link(&principal, "corp", T0)).unwrap();
    assert_eq!(
        ticket.target,
        LinkTarget {
            user_id: local.id,
            issued_at: principal.issued_at
        }
    );
    // While the user is at the provider, the owner signs every session out (a stolen token
    // among them): the link that session asked for comes back to nothing.
    let end = ChangeRequest {
        change: UserChange::EndSessions,
        now: principal.issued_at + 1,
        caller_issued_at: None,
    };
    run(w.store.change_user(&local.id, &end)).unwrap();
    assert_eq!(
        run(flows.link_identity(
            &ticket.target,
            &asserted("corp", "lea", None, false),
            T0 + 1
        ))
        .map(|_| ()),
        Err(Error::InvalidToken(TokenRejection::SessionEnded))
    );
    assert_eq!(
        run(w.store.find_identity(&identity_key("corp", "lea"))).unwrap(),
        None
    );
    assert!(
        run(w.store.get_user(&local.id))
            .unwrap()
            .unwrap()
            .identities
            .is_empty()
    );
    // Nor does that session get another ticket.
    assert!(matches!(
        run(flows.start_link(&principal, "corp", T0 + 1)),
        Err(Error::InvalidToken(_))
    ));

    // A disabled account: no ticket, and a ticket from before the disabling links nothing.
    let kim = w.register("kim@example.com", false);
    let principal = w.password_principal("kim@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    let ticket = run(flows.start_link(&principal, "corp", T0)).unwrap();
    let disable = ChangeRequest {
        change: UserChange::SetDisabled { disabled: true },
        now: T0,
        caller_issued_at: None,
    };
    run(w.store.change_user(&kim.id, &disable)).unwrap();
    assert!(matches!(
        run(flows.link_identity(&ticket.target, &asserted("corp", "kim", None, false), T0)),
        Err(Error::InvalidToken(_))
    ));
    assert!(matches!(
        run(flows.start_link(&principal, "corp", T0)),
        Err(Error::InvalidToken(_))
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn explicit_links_and_unlinks_keep_a_way_to_sign_in() {
    let mut w = World::new();
    // A password account links a provider, then may unlink it again.
    let local = w.register("pat@example.com", false);
    let flows = w.auth.flows(&w.store, &w.events);
    let linked = run(flows.link_identity(
        &asked_by(local.id),
        &asserted("corp", "pat", Some("other@example.com"), false),
        T0,
    ))
    .unwrap();
    assert_eq!(linked.sign_in_methods(), 2);
    // The identity now signs in to that account (whatever email it asserts).
    let (user, created) = w
        .sign_in(&asserted("corp", "pat", None, false), false)
        .unwrap();
    assert_eq!((user.id, created), (local.id, false));
    // Another account may not take it, nor may this one link a second identity at "corp".
    let other = w.register("kim@example.com", false);
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(
        run(flows.link_identity(
            &asked_by(other.id),
            &asserted("corp", "pat", None, false),
            T0
        ))
        .map(|_| ()),
        Err(Error::AccountExists)
    );
    assert_eq!(
        run(flows.link_identity(
            &asked_by(local.id),
            &asserted("corp", "pat-2", None, false),
            T0
        ))
        .map(|_| ()),
        Err(Error::AccountExists)
    );
    let principal = w.password_principal("pat@example.com");
    let flows = w.auth.flows(&w.store, &w.events);
    assert_eq!(run(flows.identities(&principal)).unwrap().len(), 1);
    run(flows.unlink_identity(&principal, "corp", T0)).unwrap();
    assert_eq!(
        run(w.store.find_identity(&identity_key("corp", "pat"))).unwrap(),
        None
    );
    assert_eq!(
        run(flows.unlink_identity(&principal, "corp", T0)),
        Err(Error::NotFound)
    );

    // A provider-created account with one identity may not unlink it: 409 last_login_method.
    let (social, principal) =
        w.identity_principal(&asserted("corp", "solo", Some("solo@example.com"), true));
    let flows = w.auth.flows(&w.store, &w.events);
    let e = run(flows.unlink_identity(&principal, "corp", T0)).unwrap_err();
    assert_eq!((e.clone(), e.http_status()), (Error::LastLoginMethod, 409));
    // With a second identity, either may go (but not both).
    run(flows.link_identity(
        &asked_by(social.id),
        &asserted("other", "solo-2", None, false),
        T0,
    ))
    .unwrap();
    run(flows.unlink_identity(&principal, "corp", T0)).unwrap();
    assert_eq!(
        run(flows.unlink_identity(&principal, "other", T0)),
        Err(Error::LastLoginMethod)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_sequencer_decides_last_login_method_on_the_current_record() {
    // Two unlinks decided from one stale copy: the record itself refuses the second.
    let mut user = UserRecord::new(
        tollgate_core::id::Id::from_bytes([1; 16]),
        "a@example.com".into(),
        String::new(),
        "user".into(),
        T0,
    );
    for (provider, subject) in [("a", "1"), ("b", "2")] {
        let request = ChangeRequest {
            change: UserChange::LinkIdentity {
                identity: tollgate_core::oidc::LinkedIdentity {
                    provider: provider.into(),
                    subject: subject.into(),
                    email: None,
                    linked_at: T0,
                },
            },
            now: T0,
            caller_issued_at: None,
        };
        user = user.apply(&request).unwrap().unwrap();
    }
    let unlink = |p: &str| ChangeRequest {
        change: UserChange::UnlinkIdentity { provider: p.into() },
        now: T0,
        caller_issued_at: None,
    };
    let after_a = user.apply(&unlink("a")).unwrap().unwrap();
    assert_eq!(after_a.apply(&unlink("b")), Err(Error::LastLoginMethod));
    // Records written before identities existed read with none.
    let json = serde_json::to_string(&after_a).unwrap().replace(
        r#","identities":[{"provider":"b","subject":"2","linked_at":1700000000}]"#,
        "",
    );
    let old: UserRecord = serde_json::from_str(&json).unwrap();
    assert!(old.identities.is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn redirect_targets_must_be_on_an_allowed_origin_exactly() {
    use tollgate_core::oidc::authorize::redirect_allowed;
    let allowed = vec!["http://localhost:5173".to_string()];
    let app = Some("https://app.example/signed-in");
    for ok in [
        "https://app.example/",
        "https://APP.example/after?x=1#y",
        "http://localhost:5173/cb",
        "http://localhost:5173",
    ] {
        assert!(redirect_allowed(ok, app, &allowed), "{ok}");
    }
    for bad in [
        "https://evil.example/",
        "https://app.example.evil.example/",
        "https://app.example@evil.example/",
        "https://evil.example\\@app.example/",
        "https://evil.example/\\app.example",
        "//app.example/",
        "/relative",
        "javascript:alert(1)",
        "http://app.example/",
        "https://app.example:8443/",
        "http://localhost:5174/",
        " https://app.example/",
        "",
    ] {
        assert!(!redirect_allowed(bad, app, &allowed), "{bad}");
    }
    assert!(!redirect_allowed("https://app.example/", None, &[]));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_account_with_a_second_factor_is_not_entered_through_a_provider() {
    let mut w = World::new();
    let user = w.register("sam@example.com", true);
    // Linked by a verified email, while the account has no second factor.
    let (signed_in, _) = w
        .sign_in(
            &asserted("corp", "s-1", Some("sam@example.com"), true),
            false,
        )
        .unwrap();
    assert_eq!(signed_in.id, user.id);
    let kim = w.register("kim@example.com", true);
    for id in [user.id, kim.id] {
        let request = ChangeRequest {
            change: UserChange::AddPasskey {
                passkey: StoredPasskey {
                    id: format!("key-{id}"),
                    public_key: "pQECAyYgASFYIA".into(),
                    alg: -7,
                    sign_count: 0,
                    backup_eligible: false,
                    transports: Vec::new(),
                    created_at: T0,
                    last_used_at: None,
                },
            },
            now: T0,
            caller_issued_at: None,
        };
        run(w.store.change_user(&id, &request)).unwrap();
    }
    // The linked identity no longer signs in: the passkey (a second factor) is asked for.
    let refused = w
        .sign_in(
            &asserted("corp", "s-1", Some("sam@example.com"), true),
            false,
        )
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::MfaRequired);
    // Nor does an email match link the identity to such an account: nothing is linked.
    let refused = w
        .sign_in(
            &asserted("corp", "k-1", Some("kim@example.com"), true),
            false,
        )
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::MfaRequired);
    let kim = run(w.store.get_user(&kim.id)).unwrap().unwrap();
    assert!(kim.identities.is_empty());
}
