//! Admin operations on other users' accounts.

use super::Flows;
use crate::error::Error;
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::roles::{Principal, ROLE_ADMIN, SCOPE_USERS_READ, SCOPE_USERS_WRITE};
use crate::store::{Stores, UserPage, UserRecord};
use crate::time::UnixSeconds;

/// Users per admin page: KV lists up to 1000 keys per call; 100 keeps responses small.
pub const USERS_PAGE_SIZE: u32 = 100;

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
        principal.require_role(ROLE_ADMIN)?;
        principal.require_scope(SCOPE_USERS_READ)?;
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
    /// [`Error::Forbidden`]; [`Error::Validation`] for an unknown role; [`Error::NotFound`].
    pub async fn set_role(
        &self,
        principal: &Principal,
        user_id: &str,
        role: &str,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        principal.require_role(ROLE_ADMIN)?;
        principal.require_scope(SCOPE_USERS_WRITE)?;
        let role = self.auth.config.roles.parse(role)?;
        let user = self.user_by_id(user_id).await?;
        let admin = Id::parse(&principal.user_id).ok_or(Error::NotFound)?;
        let user = UserRecord {
            role,
            ..user.with_sessions_ended(now)?
        };
        self.store.put_user(&user).await?;
        self.events.record(SecurityEvent::RoleChanged {
            user_id: user.id,
            by: admin,
            role: user.role.clone(),
        });
        Ok(user)
    }

    /// Ends every session of a user: their refresh tokens stop working at once, and older
    /// access tokens are refused wherever the user record is read (token-only routes accept
    /// them until they expire).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; [`Error::StorageUnavailable`].
    pub async fn end_user_sessions(
        &self,
        principal: &Principal,
        user_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        principal.require_role(ROLE_ADMIN)?;
        principal.require_scope(SCOPE_USERS_WRITE)?;
        let user = self.user_by_id(user_id).await?;
        let admin = Id::parse(&principal.user_id).ok_or(Error::NotFound)?;
        let user = user.with_sessions_ended(now)?;
        self.store.put_user(&user).await?;
        self.events.record(SecurityEvent::UserSessionsEnded {
            user_id: user.id,
            by: admin,
        });
        Ok(())
    }

    /// Deletes a user and their sessions at `now`. The email index goes first, so a failure
    /// part-way leaves an account nobody can log in to rather than an email that cannot
    /// register. Sessions still in their propagation window
    /// ([`crate::refresh::family::PROPAGATION_WINDOW_S`]) are overwritten with revoked records
    /// that storage keeps until that window closes, older ones deleted (see
    /// [`crate::refresh::family`]).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::NotFound`]; [`Error::StorageUnavailable`].
    pub async fn delete_user_at(
        &self,
        principal: &Principal,
        user_id: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        principal.require_role(ROLE_ADMIN)?;
        principal.require_scope(SCOPE_USERS_WRITE)?;
        let user = self.user_by_id(user_id).await?;
        let admin = Id::parse(&principal.user_id).ok_or(Error::NotFound)?;
        self.store.delete_email(&user.email).await?;
        self.store.delete_user(&user.id).await?;
        // Families of a deleted user are refused at refresh anyway (the user read finds
        // nothing, once the deletion has reached that location); ending them now frees
        // storage sooner and refuses them as revoked at once.
        if let Ok(families) = self.store.list_families(&user.id).await {
            for family in families {
                let _ = self.end_family(&family, now).await;
            }
        }
        self.events.record(SecurityEvent::UserDeleted {
            user_id: user.id,
            by: admin,
        });
        Ok(())
    }

    async fn user_by_id(&self, user_id: &str) -> Result<UserRecord, Error> {
        let id = Id::parse(user_id).ok_or(Error::NotFound)?;
        self.store.get_user(&id).await?.ok_or(Error::NotFound)
    }
}
