//! Roles, the scopes they grant, and the checks that guard routes.
//!
//! A user has one role; a role grants a set of scopes; access tokens carry both (`role` and a
//! space-separated `scope`), so routes that only need the token's claims can be authorised
//! without a storage read. "Who are you?" failures are 401 ([`Error::NotAuthenticated`],
//! [`Error::InvalidToken`]); "you may not" is 403 ([`Error::Forbidden`]). That distinction is
//! made here and carried by the error, so every host answers alike.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, ErrorCode};

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
}
