//! Admin operations on other users' accounts.
//!
//! Admin rights come from the caller's stored record, read on every admin operation, never
//! from the access token alone: a token's `role` claim lives for its whole lifetime, so a
//! demoted, deleted or signed-out-everywhere admin would otherwise keep admin powers until it
//! expires, long enough to promote themselves again. The token's scopes still narrow what it
//! may do (a token without `users:write` cannot change roles, whatever the record says).

use alloc::string::String;

use super::{Flows, principal_id, principal_record};
use crate::email::Email;
use crate::error::Error;
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::roles::{Principal, ROLE_ADMIN, SCOPE_USERS_READ, SCOPE_USERS_WRITE};
use crate::store::{ChangeRequest, Stores, UserChange, UserPage, UserRecord};
use crate::time::UnixSeconds;

/// Users per admin page: KV lists up to 1000 keys per call; 100 keeps responses small.
pub const USERS_PAGE_SIZE: u32 = 100;

/// Users per page when looking for another admin: the most one KV list call returns.
const ADMIN_SCAN_PAGE_SIZE: u32 = 1000;

impl<S: Stores> Flows<'_, S> {
    /// A page of users (one list operation: summaries ride in the listing).
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the caller is an admin with `users:read`.
    pub async fn list_users(
        &self,
        principal: &Principal,
        cursor: Option<&str>,
    ) -> Result<UserPage, Error> {
        self.admin_caller(principal, SCOPE_USERS_READ).await?;
        Ok(self
            .store
            .list_users(cursor.filter(|c| !c.is_empty()), USERS_PAGE_SIZE)
            .await?)
    }

    /// Sets a user's role and ends their sessions, so the new role applies from their next
    /// login (older access tokens are refused where the user is read, and keep the old role on
    /// token-only routes until they expire).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] or [`Error::Forbidden`] unless the caller is an admin now (see
    /// the module docs); [`Error::Validation`] for an unknown role; [`Error::NotFound`];
    /// [`Error::LastAdmin`] when the last admin would demote themselves.
    pub async fn set_role(
        &self,
        principal: &Principal,
        user_id: &str,
        role: &str,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        let caller = self.admin_caller(principal, SCOPE_USERS_WRITE).await?;
        let role = self.auth.config.roles.parse(role)?;
        let user = self.user_by_id(user_id).await?;
        if user.id == caller.id && role != ROLE_ADMIN {
            self.require_another_admin(&caller.id).await?;
        }
        let admin = caller.id;
        let user = self
            .change_as_admin(&user.id, UserChange::SetRole { role }, now)
            .await?;
        self.events.record(SecurityEvent::RoleChanged {
            user_id: user.id,
            by: admin,
            role: user.role.clone(),
        });
        Ok(user)
    }

    /// Disables or enables a user's account. Disabling ends every session (as a role change
    /// does); while disabled, logins with the right password answer `account_disabled`, and
    /// refreshes and access tokens of the user are refused. Enabling lets the user log in
    /// again; it restores no session.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] or [`Error::Forbidden`] unless the caller is an admin now;
    /// [`Error::NotFound`]; [`Error::LastAdmin`] when the last admin would disable themselves;
    /// [`Error::StorageUnavailable`].
    pub async fn set_disabled(
        &self,
        principal: &Principal,
        user_id: &str,
        disabled: bool,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        let caller = self.admin_caller(principal, SCOPE_USERS_WRITE).await?;
        let user = self.user_by_id(user_id).await?;
        if user.id == caller.id && disabled {
            self.require_another_admin(&caller.id).await?;
        }
        let admin = caller.id;
        let user = self
            .change_as_admin(&user.id, UserChange::SetDisabled { disabled }, now)
            .await?;
        self.events.record(if disabled {
            SecurityEvent::UserDisabled {
                user_id: user.id,
                by: admin,
            }
        } else {
            SecurityEvent::UserEnabled {
                user_id: user.id,
                by: admin,
            }
        });
        Ok(user)
    }

    /// Ends every session of a user: their refresh tokens stop working at once, and older
    /// access tokens are refused wherever the user record is read (token-only routes accept
    /// them until they expire).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] or [`Error::Forbidden`] unless the caller is an admin now;
    /// [`Error::NotFound`]; [`Error::StorageUnavailable`].
    pub async fn end_user_sessions(
        &self,
        principal: &Principal,
        user_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let admin = self.admin_caller(principal, SCOPE_USERS_WRITE).await?.id;
        let user = self.user_by_id(user_id).await?;
        let user = self
            .change_as_admin(&user.id, UserChange::EndSessions, now)
            .await?;
        self.events.record(SecurityEvent::UserSessionsEnded {
            user_id: user.id,
            by: admin,
        });
        Ok(())
    }

    /// Removes every second factor of a user (TOTP, recovery codes, pending logins): for a
    /// user who lost their authenticator. A security event.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] or [`Error::Forbidden`] unless the caller is an admin now;
    /// [`Error::NotFound`]; [`Error::StorageUnavailable`].
    pub async fn reset_user_mfa(
        &self,
        principal: &Principal,
        user_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let admin = self.admin_caller(principal, SCOPE_USERS_WRITE).await?.id;
        let id = Id::parse(user_id).ok_or(Error::NotFound)?;
        let user = self.change_as_admin(&id, UserChange::ResetMfa, now).await?;
        self.events.record(SecurityEvent::MfaReset {
            user_id: user.id,
            by: admin,
        });
        Ok(())
    }

    /// Deletes a user and their sessions at `now`. The address goes first (its claim and index
    /// entry), so a failure part-way leaves an account nobody can log in to rather than an
    /// email that cannot register; then the record at its sequencer. The user's
    /// sessions are refused wherever the deletion has arrived (a refresh reads the user);
    /// their revocation markers, written after, refuse them as revoked even where a young
    /// session's missing user would otherwise read as "not arrived yet".
    ///
    /// # Errors
    /// [`Error::InvalidToken`] or [`Error::Forbidden`] unless the caller is an admin now;
    /// [`Error::NotFound`]; [`Error::LastAdmin`] when the last admin would delete themselves;
    /// [`Error::StorageUnavailable`].
    pub async fn delete_user_at(
        &self,
        principal: &Principal,
        user_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let admin = self.admin_caller(principal, SCOPE_USERS_WRITE).await?.id;
        let user = self.user_by_id(user_id).await?;
        if user.id == admin {
            self.require_another_admin(&admin).await?;
        }
        // Under its key, and under the key the old rule gave its address, if that differs
        // and still names this account (each release leaves another account's entry alone).
        let email = Email::of_stored(&user.email);
        self.store.release_email(&email.key, &user.id).await?;
        if let Some(legacy) = email.legacy_key() {
            self.store.release_email(legacy, &user.id).await?;
        }
        self.store.remove_user(&user.id).await?;
        // The removal is what ends the sessions: a refresh needs the user, and only the
        // user's sequencer writes its record, so no stale location can bring it back. The
        // families are the deleted user's data, and go (best effort: they expire anyway). A
        // family young enough that its absence reads as "not arrived yet" also gets its
        // marker, so that its tokens are refused at once rather than told to retry.
        if let Ok(families) = self.store.list_families(&user.id).await {
            for family in &families {
                if family.may_be_unpropagated(now) {
                    let _ = self
                        .end_session(&family.user_id, &family.id, family.created_at, now)
                        .await;
                }
                let _ = self.store.delete_family(&family.user_id, &family.id).await;
            }
        }
        self.events.record(SecurityEvent::UserDeleted {
            user_id: user.id,
            by: admin,
        });
        Ok(())
    }

    /// Applies `change` to user `id` at its sequencer for an admin, whose own rights were
    /// checked already (so no caller token is checked against the user's sessions).
    async fn change_as_admin(
        &self,
        id: &Id,
        change: UserChange,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        let request = ChangeRequest {
            change,
            now,
            caller_issued_at: None,
        };
        self.store
            .change_user(id, &request)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The caller's stored record, if the caller may act as an admin with `scope` now: the
    /// token was issued to an admin and grants `scope` (403 otherwise, before any read), the
    /// account exists and its sessions were not ended after the token was issued (401
    /// otherwise), and its stored role is `admin` (403 otherwise).
    async fn admin_caller(&self, principal: &Principal, scope: &str) -> Result<UserRecord, Error> {
        // The token's role only narrows, like its scopes: a token issued to a non-admin can
        // never pass, so it is refused without a read, and for the reason that matters (the
        // security log's `access_denied` says `role admin`, not the scope a user never has).
        principal.require_role(ROLE_ADMIN)?;
        principal.require_scope(scope)?;
        // The sequencer's record, never a copy that may lag: a demotion elsewhere a second ago
        // already counts.
        let id = principal_id(principal)?;
        let caller = principal_record(principal, self.store.get_user_current(&id).await?)?;
        if caller.role != ROLE_ADMIN {
            return Err(Error::Forbidden(String::from("role admin")));
        }
        Ok(caller)
    }

    /// Succeeds if some enabled admin other than `admin` exists, paging through the users'
    /// listing (their roles and flags ride in it) until one is found: a disabled admin cannot
    /// log in, so it leaves no one to administer.
    ///
    /// # Errors
    /// [`Error::LastAdmin`] when there is none; [`Error::StorageUnavailable`].
    async fn require_another_admin(&self, admin: &Id) -> Result<(), Error> {
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .list_users(cursor.as_deref(), ADMIN_SCAN_PAGE_SIZE)
                .await?;
            if page
                .users
                .iter()
                .any(|u| u.role == ROLE_ADMIN && !u.disabled && u.id != *admin)
            {
                return Ok(());
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Err(Error::LastAdmin),
            }
        }
    }

    async fn user_by_id(&self, user_id: &str) -> Result<UserRecord, Error> {
        let id = Id::parse(user_id).ok_or(Error::NotFound)?;
        self.store.get_user(&id).await?.ok_or(Error::NotFound)
    }
}
