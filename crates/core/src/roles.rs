//! Roles, the scopes they grant, and the checks that guard routes.
//!
//! A user has one role; a role grants a set of scopes; access tokens carry both (`role` and a
//! space-separated `scope`), so routes that only need the token's claims can be authorised
//! without a storage read. "Who are you?" failures are 401 ([`Error::NotAuthenticated`],
//! [`Error::InvalidToken`]); "you may not" is 403 ([`Error::Forbidden`]). That distinction is
//! made here and carried by the error, so every host answers alike.
//!
//! A deployment configures its table with the `ROLES` var ([`Roles::from_json`], checked by
//! [`Roles::check`]): it always has `user` (what registration gives) and `admin` with the
//! user-management scopes, so no table can lock its admins out. A login may ask for fewer
//! scopes than its role grants ([`Roles::grant`], RFC 6749 §3.3).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode};

#[cfg(feature = "server")]
mod config;

/// Read one's own profile (`GET /me`).
pub const SCOPE_PROFILE: &str = "profile";
/// List and revoke one's own sessions, change one's own password.
pub const SCOPE_SESSIONS: &str = "sessions";
/// List users (admin).
pub const SCOPE_USERS_READ: &str = "users:read";
/// Change roles and delete users (admin).
pub const SCOPE_USERS_WRITE: &str = "users:write";

/// The role every new account gets.
pub const ROLE_USER: &str = "user";
/// The role that may manage users.
pub const ROLE_ADMIN: &str = "admin";

/// The scopes `admin` must always grant: without them no one could list users or change a
/// role, so a table without them is refused rather than served.
pub const ADMIN_SCOPES: [&str; 2] = [SCOPE_USERS_READ, SCOPE_USERS_WRITE];

/// Most roles a table may have: a table is listed in the OpenAPI document and the admin page.
pub const MAX_ROLES: usize = 32;
/// Longest role name, in characters (it rides in every access token and user listing).
pub const MAX_ROLE_CHARS: usize = 32;
/// Most scopes one role may grant.
pub const MAX_SCOPES_PER_ROLE: usize = 16;
/// Longest scope, in characters.
pub const MAX_SCOPE_CHARS: usize = 64;
/// Longest `scope` a role may grant (its scopes joined by spaces), in bytes. A session keeps
/// the scopes its login was narrowed to in its family record, which also rides in KV's
/// listing metadata (1024 bytes) beside its ids, times and user agent: 512 leaves room.
pub const MAX_ROLE_SCOPE_CHARS: usize = 512;

/// Whether `scope` is one scope-token of RFC 6749 §3.3: `1*( %x21 / %x23-5B / %x5D-7E )`,
/// printable ASCII but for the space, `"` and `\`.
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Whether `role` may name a role: 1 to [`MAX_ROLE_CHARS`] lower-case ASCII letters, digits,
/// `_` and `-`, starting with a letter. One case only, so `Admin` can never be mistaken for
/// `admin` by a reader (or by a resource server comparing strings).
pub fn is_role_name(role: &str) -> bool {
    role.len() <= MAX_ROLE_CHARS
        && role.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The scopes a login asked for, from the form's `scope` field (RFC 6749 §3.3: scope-tokens
/// separated by spaces): `None` when the field is absent or blank, which asks for everything
/// the role grants (Swagger UI's Authorize button sends an empty `scope` when no box is ticked).
///
/// # Errors
/// [`Error::Validation`] with field `scope` and [`ErrorCode::InvalidValue`] when a part is not
/// a scope-token (a quote, a backslash, a control or non-ASCII character).
pub fn requested_scope(field: Option<&str>) -> Result<Option<String>, Error> {
    let Some(field) = field.filter(|f| !f.trim().is_empty()) else {
        return Ok(None);
    };
    let mut scopes: Vec<&str> = Vec::new();
    for part in field.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(part) {
            return Err(Error::field("scope", ErrorCode::InvalidValue));
        }
        if !scopes.contains(&part) {
            scopes.push(part);
        }
    }
    Ok(Some(scopes.join(" ")))
}

/// The roles a deployment knows and the scopes each grants.
///
/// The default table has `user` and `admin`; a host may add roles with [`Roles::with_role`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    table: Vec<(String, Vec<String>)>,
}

impl Default for Roles {
    fn default() -> Roles {
        let user = [SCOPE_PROFILE, SCOPE_SESSIONS];
        let admin = [
            SCOPE_PROFILE,
            SCOPE_SESSIONS,
            SCOPE_USERS_READ,
            SCOPE_USERS_WRITE,
        ];
        Roles::empty()
            .with_role(ROLE_USER, &user)
            .with_role(ROLE_ADMIN, &admin)
    }
}

impl Roles {
    /// A table with no roles at all.
    pub fn empty() -> Roles {
        Roles { table: Vec::new() }
    }

    /// Adds (or replaces) `role`, granting `scopes`.
    pub fn with_role(mut self, role: &str, scopes: &[&str]) -> Roles {
        self.table.retain(|(name, _)| name != role);
        self.table.push((
            role.to_string(),
            scopes.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }

    /// Whether `role` is known.
    pub fn contains(&self, role: &str) -> bool {
        self.table.iter().any(|(name, _)| name == role)
    }

    /// The role names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.table.iter().map(|(name, _)| name.as_str())
    }

    /// The scopes `role` grants, space-separated as in the `scope` claim (RFC 8693 §4.2).
    ///
    /// # Errors
    /// [`Error::Validation`] with field `role` and [`ErrorCode::InvalidRole`] for an unknown role.
    pub fn scope_for(&self, role: &str) -> Result<String, Error> {
        let (_, scopes) = self
            .table
            .iter()
            .find(|(name, _)| name == role)
            .ok_or_else(|| Error::field("role", ErrorCode::InvalidRole))?;
        Ok(scopes.join(" "))
    }

    /// The scope a token of `role` gets, space-separated: every scope the role grants, or,
    /// when the login asked for `requested` scopes (space-separated; see [`requested_scope`]),
    /// those of them the role grants, in the role's order. Requested scopes the role does not
    /// grant, including ones no role has, are left out (RFC 6749 §3.3 lets a server ignore part
    /// of a request; the token response's `scope` says what was granted). A role the table no
    /// longer has grants nothing.
    pub fn grant(&self, role: &str, requested: Option<&str>) -> String {
        let Some((_, scopes)) = self.table.iter().find(|(name, _)| name == role) else {
            return String::new();
        };
        let wanted = |scope: &&String| {
            requested.is_none_or(|r| r.split(' ').any(|asked| asked == scope.as_str()))
        };
        let granted: Vec<&str> = scopes.iter().filter(wanted).map(String::as_str).collect();
        granted.join(" ")
    }

    /// Every scope some role grants, each once, in the order the table first names them, with
    /// the roles that grant it: what the OpenAPI document's OAuth2 flow lists.
    pub fn scopes(&self) -> Vec<(&str, Vec<&str>)> {
        let mut all: Vec<(&str, Vec<&str>)> = Vec::new();
        for (role, scopes) in &self.table {
            for scope in scopes {
                match all.iter_mut().find(|(s, _)| *s == scope.as_str()) {
                    Some((_, roles)) => roles.push(role),
                    None => all.push((scope, alloc::vec![role.as_str()])),
                }
            }
        }
        all
    }

    /// Checks the rules every configured table keeps: `user` and `admin` exist, `admin`
    /// grants [`ADMIN_SCOPES`], and names, scopes and sizes are within the limits above.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] with a sentence starting `ROLES` that says what to change.
    pub fn check(&self) -> Result<(), Error> {
        let refuse = |why: String| Err(Error::Misconfigured(alloc::format!("ROLES {why}")));
        if self.table.len() > MAX_ROLES {
            return refuse(alloc::format!("has more than {MAX_ROLES} roles"));
        }
        for (i, (role, scopes)) in self.table.iter().enumerate() {
            if !is_role_name(role) {
                return refuse(alloc::format!(
                    "names a role {role:?}: a role is 1 to {MAX_ROLE_CHARS} lower-case letters, \
                     digits, _ or -, starting with a letter"
                ));
            }
            if self.table[..i].iter().any(|(earlier, _)| earlier == role) {
                return refuse(alloc::format!("names the role {role:?} twice"));
            }
            if scopes.len() > MAX_SCOPES_PER_ROLE {
                return refuse(alloc::format!(
                    "gives {role:?} more than {MAX_SCOPES_PER_ROLE} scopes"
                ));
            }
            for (j, scope) in scopes.iter().enumerate() {
                if !is_scope_token(scope) || scope.len() > MAX_SCOPE_CHARS {
                    return refuse(alloc::format!(
                        "gives {role:?} the scope {scope:?}: a scope is 1 to {MAX_SCOPE_CHARS} \
                         printable ASCII characters without spaces, '\"' or '\\' (RFC 6749 §3.3)"
                    ));
                }
                if scopes[..j].contains(scope) {
                    return refuse(alloc::format!("gives {role:?} the scope {scope:?} twice"));
                }
            }
            if scopes.iter().map(|s| s.len() + 1).sum::<usize>() > MAX_ROLE_SCOPE_CHARS + 1 {
                return refuse(alloc::format!(
                    "gives {role:?} scopes longer than {MAX_ROLE_SCOPE_CHARS} bytes in all"
                ));
            }
        }
        if !self.contains(ROLE_USER) {
            return refuse(alloc::format!(
                "has no {ROLE_USER:?} role: every new account gets it"
            ));
        }
        let admin = self.table.iter().find(|(name, _)| name == ROLE_ADMIN);
        let missing: Vec<&str> = ADMIN_SCOPES
            .iter()
            .filter(|needed| !admin.is_some_and(|(_, s)| s.iter().any(|s| s == *needed)))
            .copied()
            .collect();
        if !missing.is_empty() {
            return refuse(alloc::format!(
                "must give {ROLE_ADMIN:?} the scopes {}: without them no one could manage \
                 users (missing: {})",
                ADMIN_SCOPES.join(" and "),
                missing.join(", ")
            ));
        }
        Ok(())
    }

    /// Validates a role name given as input (for example by an admin changing a role).
    ///
    /// # Errors
    /// [`Error::Validation`] with field `role` and [`ErrorCode::InvalidRole`].
    pub fn parse(&self, role: &str) -> Result<String, Error> {
        if self.contains(role) {
            Ok(role.to_string())
        } else {
            Err(Error::field("role", ErrorCode::InvalidRole))
        }
    }
}

/// Who is calling: the verified facts an access token established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's id (the token's `sub`).
    pub user_id: String,
    /// The session (refresh family) the token was issued for (`sid`).
    pub session_id: String,
    /// The user's role when the token was issued.
    pub role: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The token's id (`jti`), for logs.
    pub token_id: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// When the token was issued (`iat`), in seconds since the Unix epoch.
    pub issued_at: u64,
}

impl Principal {
    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Requires `scope`.
    ///
    /// # Errors
    /// [`Error::Forbidden`] (403) naming the missing scope.
    pub fn require_scope(&self, scope: &str) -> Result<(), Error> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden(alloc::format!("scope {scope}")))
        }
    }

    /// Requires `role` exactly.
    ///
    /// # Errors
    /// [`Error::Forbidden`] (403) naming the required role.
    pub fn require_role(&self, role: &str) -> Result<(), Error> {
        if self.role == role {
            Ok(())
        } else {
            Err(Error::Forbidden(alloc::format!("role {role}")))
        }
    }
}

/// Requires that a principal was established at all: `None` is 401, not 403.
///
/// # Errors
/// [`Error::NotAuthenticated`] when `principal` is `None`.
pub fn require_principal(principal: Option<&Principal>) -> Result<&Principal, Error> {
    principal.ok_or(Error::NotAuthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn principal(role: &str) -> Principal {
        let scope = Roles::default().scope_for(role).unwrap();
        Principal {
            user_id: "u".into(),
            session_id: "s".into(),
            role: role.into(),
            scope,
            token_id: "t".into(),
            expires_at: 0,
            issued_at: 0,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn default_roles_grant_their_scopes() {
        let roles = Roles::default();
        assert_eq!(roles.scope_for("user").unwrap(), "profile sessions");
        assert_eq!(
            roles.scope_for("admin").unwrap(),
            "profile sessions users:read users:write"
        );
        assert_eq!(
            roles.scope_for("root"),
            Err(Error::field("role", ErrorCode::InvalidRole))
        );
        assert_eq!(roles.names().collect::<Vec<_>>(), ["user", "admin"]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn roles_are_extensible() {
        let roles = Roles::default().with_role("auditor", &["users:read"]);
        assert_eq!(roles.parse("auditor").as_deref(), Ok("auditor"));
        assert_eq!(roles.scope_for("auditor").as_deref(), Ok("users:read"));
        let replaced = roles.with_role("user", &["profile"]);
        assert_eq!(replaced.scope_for("user").as_deref(), Ok("profile"));
        assert_eq!(
            replaced.parse("Admin"),
            Err(Error::field("role", ErrorCode::InvalidRole))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn missing_principal_is_401_and_missing_permission_is_403() {
        let err = require_principal(None).unwrap_err();
        assert_eq!(err.http_status(), 401);
        let user = principal("user");
        let err = user.require_role("admin").unwrap_err();
        assert_eq!((err.http_status(), err.code()), (403, ErrorCode::Forbidden));
        let err = user.require_scope(SCOPE_USERS_WRITE).unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert!(user.require_scope(SCOPE_PROFILE).is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn admin_passes_admin_checks_and_scopes_match_whole_words() {
        let admin = principal("admin");
        assert!(admin.require_role("admin").is_ok());
        assert!(admin.require_scope(SCOPE_USERS_WRITE).is_ok());
        assert!(!admin.has_scope("users"));
        assert!(!admin.has_scope(""));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_default_table_passes_its_own_checks() {
        assert_eq!(Roles::default().check(), Ok(()));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_requested_scope_narrows_the_role_to_the_intersection_in_the_roles_order() {
        let roles = Roles::default();
        for (role, requested, granted) in [
            ("admin", None, "profile sessions users:read users:write"),
            ("admin", Some("users:read profile"), "profile users:read"),
            ("user", Some("profile users:write"), "profile"),
            ("user", Some("nonexistent"), ""),
            ("user", Some("prof"), ""),
            ("user", Some(""), ""),
            ("gone", None, ""),
        ] {
            assert_eq!(
                roles.grant(role, requested),
                granted,
                "{role} {requested:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn requested_scopes_are_scope_tokens_and_blank_asks_for_everything() {
        assert_eq!(requested_scope(None), Ok(None));
        assert_eq!(requested_scope(Some("  ")), Ok(None));
        assert_eq!(
            requested_scope(Some(" profile  users:read profile ")),
            Ok(Some("profile users:read".into()))
        );
        for bad in ["pro\"file", "a\\b", "tab\there", "\u{e9}t\u{e9}", "nul\0"] {
            assert_eq!(
                requested_scope(Some(bad)),
                Err(Error::field("scope", ErrorCode::InvalidValue)),
                "{bad:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn scopes_lists_each_scope_once_with_the_roles_that_grant_it() {
        let roles = Roles::default();
        let scopes = roles.scopes();
        assert_eq!(
            scopes,
            [
                ("profile", vec!["user", "admin"]),
                ("sessions", vec!["user", "admin"]),
                ("users:read", vec!["admin"]),
                ("users:write", vec!["admin"]),
            ]
        );
    }

    #[cfg(feature = "server")]
    #[wasm_bindgen_test(unsupported = test)]
    fn a_roles_var_is_read_in_order_and_checked() {
        let roles = Roles::from_json(
            r#"{"user": ["profile"], "editor": ["profile", "notes:write"],
                "admin": ["users:read", "users:write"]}"#,
        )
        .unwrap();
        assert_eq!(
            roles.names().collect::<Vec<_>>(),
            ["user", "editor", "admin"]
        );
        assert_eq!(roles.grant("editor", None), "profile notes:write");
        assert_eq!(roles.parse("editor").as_deref(), Ok("editor"));
    }

    /// Each refused table, and a word its message must contain (every message starts with
    /// `ROLES`, as the Worker's misconfiguration log line names the var first).
    #[cfg(feature = "server")]
    #[wasm_bindgen_test(unsupported = test)]
    fn a_roles_var_that_would_lock_admins_out_or_is_malformed_is_refused() {
        let admin = r#""admin": ["users:read", "users:write"]"#;
        let user = r#""user": ["profile"]"#;
        let many_roles: String = (0..=MAX_ROLES)
            .map(|i| alloc::format!(r#""r{i}": []"#))
            .collect::<Vec<_>>()
            .join(",");
        let many_scopes: String = (0..=MAX_SCOPES_PER_ROLE)
            .map(|i| alloc::format!(r#""s{i}""#))
            .collect::<Vec<_>>()
            .join(",");
        let long_scopes: String = (0..9)
            .map(|i| alloc::format!(r#""{i}{}""#, "x".repeat(MAX_SCOPE_CHARS - 1)))
            .collect::<Vec<_>>()
            .join(",");
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "JSON object"),
            ("[]".into(), "JSON object"),
            (r#"{"user": "profile"}"#.into(), "JSON object"),
            (r#"{"user": [1]}"#.into(), "JSON object"),
            (alloc::format!("{{{user}}}"), "admin"),
            (
                alloc::format!(r#"{{{user}, "admin": ["users:read"]}}"#),
                "users:write",
            ),
            (
                alloc::format!(r#"{{{user}, "admin": ["profile"]}}"#),
                "users:read",
            ),
            (alloc::format!("{{{admin}}}"), "\"user\""),
            (
                alloc::format!(r#"{{{user}, {admin}, "admin": ["profile"]}}"#),
                "twice",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "Editor": []}}"#),
                "Editor",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "": []}}"#),
                "lower-case",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "{}": []}}"#, "a".repeat(33)),
                "lower-case",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": ["a b"]}}"#),
                "RFC 6749",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": ["a\"b"]}}"#),
                "RFC 6749",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": [""]}}"#),
                "RFC 6749",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": ["{}"]}}"#, "x".repeat(65)),
                "RFC 6749",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": ["x", "x"]}}"#),
                "twice",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": [{many_scopes}]}}"#),
                "more than 16",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, "e": [{long_scopes}]}}"#),
                "512",
            ),
            (
                alloc::format!(r#"{{{user}, {admin}, {many_roles}}}"#),
                "more than 32",
            ),
        ];
        for (json, word) in cases {
            match Roles::from_json(&json) {
                Err(Error::Misconfigured(why)) => {
                    assert!(why.starts_with("ROLES "), "{json}: {why}");
                    assert!(why.contains(word), "{json}: {why} (expected {word:?})");
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
