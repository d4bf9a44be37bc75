//! The auth flows: register, login, refresh, logout, sessions, password change, admin.
//!
//! Each flow decides everything and touches storage only through [`crate::store`] traits, so
//! hosts are thin: the Worker parses HTTP, calls a flow, and renders its result. Time and
//! randomness come in as arguments, events go out through an [`EventSink`].
//!
//! Ordering rules that keep storage consistent when any call fails (the host answers 503):
//! - nothing is handed to the client before the writes it depends on have succeeded;
//! - a record that others point at is written before the pointer (a user before its email
//!   index entry), and a pointer is removed before what it points at;
//! - a failed step is undone where it left something reachable (a registration whose index
//!   write failed removes the user record it wrote).

mod access;
mod account;
mod admin;
mod email;
mod login;
mod mfa;
mod oidc;
mod passkey;
mod recovery;
mod refresh;
mod throttle;

use alloc::string::String;

pub use access::{AccessTokenRevocation, check_principal};
pub use account::SessionInfo;
pub use login::{LoginInput, LoginOutcome};
pub use mfa::{MfaCode, MfaConfig, TotpEnrolment};
pub use oidc::IdentitySignInOutcome;
pub use passkey::VerifiedPasskey;
pub use recovery::RecoveryConfig;

use crate::error::{Error, TokenRejection};
use crate::events::EventSink;
use crate::id::Id;
use crate::mfa::{AMR_MFA, SCOPE_MFA_ENROLL};
use crate::password::PasswordHasher;
use crate::random::Random;
use crate::refresh::{Family, RefreshKey, RefreshPolicy, RevokeReason};
use crate::roles::{Principal, Roles};
use crate::store::{Stores, UserRecord, ended_sessions};
use crate::throttle::ThrottlePolicy;
use crate::time::UnixSeconds;
use crate::token::{self, KeySet, NewAccessToken, TokenConfig};

/// Everything a deployment configures, with the defaults of the issue's table.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Issuer, audience, access-token lifetime and leeway.
    pub token: TokenConfig,
    /// Refresh-family lifetimes and the reuse grace window.
    pub refresh: RefreshPolicy,
    /// Failed logins allowed per account.
    pub account_throttle: ThrottlePolicy,
    /// Failed logins allowed per client address.
    pub address_throttle: ThrottlePolicy,
    /// Registrations allowed per client address.
    pub register_throttle: ThrottlePolicy,
    /// Roles and the scopes they grant.
    pub roles: Roles,
    /// Whether bearer routes check that a token's session is still live
    /// (`ACCESS_TOKEN_REVOCATION`; see [`AccessTokenRevocation`]).
    pub access_token_revocation: AccessTokenRevocation,
    /// Password reset and email ownership: token lifetimes, whether login needs a verified
    /// address.
    pub recovery: RecoveryConfig,
    /// Second factors: which roles must have one (`REQUIRE_MFA_FOR_ROLES`), the name apps show.
    pub mfa: MfaConfig,
}

/// The immutable parts of a deployment: configuration, keys and the password hasher.
///
/// Built once per process (the Worker caches it per isolate) and shared by every request.
pub struct Auth {
    /// The configuration.
    pub config: AuthConfig,
    /// Access-token signing and verification keys.
    pub keys: KeySet,
    /// The refresh-token MAC key.
    pub refresh_key: RefreshKey,
    /// The password hasher at the configured cost.
    pub hasher: PasswordHasher,
}

/// Access and refresh tokens handed to a client after a login or a refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The signed access token (a JWT).
    pub access_token: String,
    /// Its lifetime in seconds (`expires_in`).
    pub expires_in: u64,
    /// The refresh token for the session's current generation.
    pub refresh_token: String,
    /// Seconds left of the session's absolute lifetime (the cookie's `Max-Age`).
    pub refresh_max_age: u64,
    /// The session (refresh family) id.
    pub session_id: Id,
    /// The scopes the access token grants, space-separated (the token response's `scope`).
    pub scope: String,
}

impl core::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("refresh_max_age", &self.refresh_max_age)
            .field("session_id", &self.session_id)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Auth {
    /// The flows over `store`, reporting to `events`.
    pub fn flows<'a, S: Stores>(&'a self, store: &'a S, events: &'a dyn EventSink) -> Flows<'a, S> {
        Flows {
            auth: self,
            store,
            events,
        }
    }

    /// Establishes who is calling from an `Authorization` header value. No storage access.
    ///
    /// # Errors
    /// [`Error::NotAuthenticated`] when there is no bearer credential (missing header, another
    /// scheme); [`Error::InvalidToken`] when the bearer token does not verify.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        now: UnixSeconds,
    ) -> Result<Principal, Error> {
        let token = bearer_token(authorization).ok_or(Error::NotAuthenticated)?;
        let claims = token::verify(&self.keys, &self.config.token, token, now)?;
        Ok(Principal::from(claims))
    }

    /// Signs an access token for `user` in session `family` and bundles it with the refresh
    /// token the client should now hold.
    fn tokens<R: Random + ?Sized>(
        &self,
        user: &UserRecord,
        family: &Family,
        refresh_token: String,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Tokens, Error> {
        // The role's scopes, narrowed to those the login asked for (kept by the family for
        // the session's life); a role the deployment no longer knows grants nothing.
        let scope = self.config.roles.grant(&user.role, family.scope.as_deref());
        let amr = family.amr();
        // REQUIRE_MFA_FOR_ROLES: a session of such a role that did not pass a second factor
        // (the account has none yet: it would have had to) may only enrol one, at this login
        // and at every refresh, until the user signs in again with it.
        let scope = if self.config.mfa.requires_mfa(&user.role) && !amr.iter().any(|a| a == AMR_MFA)
        {
            String::from(SCOPE_MFA_ENROLL)
        } else {
            scope
        };
        let subject = user.id.to_hyphenated();
        let session_id = family.id.to_hyphenated();
        let new = NewAccessToken {
            subject: &subject,
            session_id: &session_id,
            role: &user.role,
            scope: &scope,
            email_verified: user.email_verified_at.is_some(),
            amr: &amr,
        };
        let (access_token, _) = token::issue(&self.keys, &self.config.token, &new, now, rng)?;
        Ok(Tokens {
            access_token,
            expires_in: self.config.token.ttl_s,
            refresh_token,
            refresh_max_age: family.remaining_s(now),
            session_id: family.id,
            scope,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
/// case-insensitive, RFC 9110 §11.1).
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let token = rest.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The flows bound to a store and an event sink. See the module docs.
pub struct Flows<'a, S> {
    auth: &'a Auth,
    store: &'a S,
    events: &'a dyn EventSink,
}

impl<S: Stores> Flows<'_, S> {
    /// Ends the session `family_id` of `user_id`, created at `created_at`, by writing its
    /// revocation marker (one write, no read; see [`crate::refresh::family`], "Ending a
    /// session"), kept for as long as any token of the family could otherwise be accepted.
    /// With `ACCESS_TOKEN_REVOCATION = "session"`, its access tokens end too, first: a failure
    /// there leaves the session live for the client to end again.
    pub(super) async fn end_session(
        &self,
        user_id: &Id,
        family_id: &Id,
        created_at: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        self.revoke_access_tokens(user_id, family_id, now).await?;
        let until = Family::revocation_expiration(created_at, &self.auth.config.refresh, now);
        Ok(self
            .store
            .revoke_family(user_id, family_id, RevokeReason::Ended, until)
            .await?)
    }

    /// The user a principal names, as this request's decisions see it: `invalid_token` if the
    /// account is gone or disabled, or if its sessions were ended after the token was issued (logout-all,
    /// password or role change).
    async fn principal_user(&self, principal: &Principal) -> Result<UserRecord, Error> {
        let id = principal_id(principal)?;
        principal_record(principal, self.store.get_user(&id).await?)
    }
}

/// The user id a principal names.
fn principal_id(principal: &Principal) -> Result<Id, Error> {
    Id::parse(&principal.user_id).ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))
}

/// `user`, if it exists, is not disabled, its sessions were not ended after `principal`'s
/// token was issued, and the token's own session is not listed as ended.
fn principal_record(principal: &Principal, user: Option<UserRecord>) -> Result<UserRecord, Error> {
    let user = user.ok_or(Error::InvalidToken(TokenRejection::UnknownSubject))?;
    if principal.issued_at < user.sessions_ended_at {
        return Err(Error::InvalidToken(TokenRejection::SessionEnded));
    }
    // Listed only while revoking access tokens with their session, and only until they expire.
    if ended_sessions::lists(&user.ended_sessions, &principal.session_id) {
        return Err(Error::InvalidToken(TokenRejection::SessionRevoked));
    }
    // Disabling ended the sessions too, but a token from that very second passes the check
    // above, and a record imported as disabled ended nothing: the flag itself refuses.
    if user.disabled {
        return Err(Error::InvalidToken(TokenRejection::AccountDisabled));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn bearer_tokens_are_read_per_rfc_6750() {
        for (header, want) in [
            (Some("Bearer abc.def.ghi"), Some("abc.def.ghi")),
            (Some("bearer abc"), Some("abc")),
            (Some("BEARER   abc"), Some("abc")),
            (Some("  Bearer abc  "), Some("abc")),
            (Some("Basic dXNlcjpwYXNz"), None),
            (Some("Bearer"), None),
            (Some("Bearer "), None),
            (Some("Bearerabc"), None),
            (Some(""), None),
            (None, None),
        ] {
            assert_eq!(bearer_token(header), want, "{header:?}");
        }
    }
}
