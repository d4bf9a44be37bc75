//! Storage as the core sees it: async traits the hosts implement.
//!
//! The core never does I/O itself. The auth flows in [`crate::flows`] reach storage only
//! through these traits: the Worker implements them over Workers KV and a Durable Object,
//! tests over memory ([`memory`]). Futures are not required to be `Send`: Workers and
//! browsers are single-threaded.
//!
//! Every method reports failure as a [`StoreError`]: `Unavailable` for a failed or timed-out
//! call (the flows answer 503 and leave nothing half-written), `Corrupt` for a record that
//! cannot be read back.

pub mod ended_sessions;
pub mod memory;
pub mod records;
#[cfg(any(test, feature = "test-support"))]
pub mod simulated;
pub mod strict;

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::id::Id;
use crate::refresh::{Family, RevokeReason};
use crate::throttle::{Admission, ThrottlePolicy};
use crate::time::UnixSeconds;
pub use records::{ChangeRequest, SessionState, UserChange, UserRecord, UserSummary};

/// Why a storage call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// When the backend failed or did not answer in time; the message is for logs.
    Unavailable(String),
    /// When a stored record does not parse; the message is for logs.
    Corrupt(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::Unavailable(why) => Error::StorageUnavailable(why),
            StoreError::Corrupt(why) => Error::Internal(alloc::format!("corrupt record: {why}")),
        }
    }
}

/// One page of users for the admin listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    /// The users on this page.
    pub users: Vec<UserSummary>,
    /// Where the next page starts, if there is one.
    pub cursor: Option<String>,
}

/// What a claim on an email address found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The address is now (or already was) claimed for the given user.
    Claimed,
    /// Another account holds the address, and has since `since`.
    Taken {
        /// The account holding it.
        holder: Id,
        /// When it was claimed.
        since: UnixSeconds,
    },
}

/// Users, their sequencer, the email claims and the email index.
///
/// Reads come in three strengths, because hosts differ in what each costs:
/// - [`UserStore::get_user`]: the record as this request's security decisions see it (in the
///   Worker's default mode, KV at this location, which may lag by up to 60 s);
/// - [`UserStore::get_user_replica`]: the record for display (`/me`, listings), which may lag;
/// - [`UserStore::get_user_current`]: the sequencer's record, which never lags (admin checks).
///
/// Writes of a user record go only through the sequencer ([`UserStore::create_user`],
/// [`UserStore::change_user`], [`UserStore::remove_user`]), which applies them in order to
/// the current record, so that no stale copy is ever written back (see
/// [`records`](crate::store::records)).
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// The user with `id`, if any, as this request's decisions see it.
    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError>;
    /// The user with `id`, for display; may lag behind [`UserStore::get_user`].
    async fn get_user_replica(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.get_user(id).await
    }
    /// The user with `id` as its sequencer holds it now: never stale.
    async fn get_user_current(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.get_user(id).await
    }
    /// The id the email index holds under an email key ([`crate::email::fold_email`], or an
    /// entry of the previous rule: [`crate::email::Email::legacy_key`]), if any.
    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError>;
    /// Claims the email key `email` for the account `id` about to be created (or migrated to
    /// that key), at `now`: atomically, wherever asked. An address indexed without a claim (an
    /// import, an older Tollgate) is held by its account. A claim held by `replacing` is taken over (a claim whose account was
    /// never created, see [`crate::flows`]).
    async fn claim_email(
        &self,
        email: &str,
        id: &Id,
        now: UnixSeconds,
        replacing: Option<&Id>,
    ) -> Result<Claim, StoreError>;
    /// Points the email index at `id`, which holds the claim on `email`. The claim's object
    /// writes the index entry, so that every write of one entry comes from one place, in
    /// order (two edge locations writing it would be ordered by their clocks).
    async fn bind_email(&self, email: &str, id: &Id) -> Result<(), StoreError>;
    /// Gives up `id`'s claim on `email` and removes its index entry (a claim of another
    /// account is left alone).
    async fn release_email(&self, email: &str, id: &Id) -> Result<(), StoreError>;
    /// Creates a new user at its sequencer (and the record readers see).
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Applies `request` to the user's current record at its sequencer
    /// ([`UserRecord::apply`]) and stores the result; the record after it, or `None` when
    /// there is no such user.
    ///
    /// # Errors
    /// What [`UserRecord::apply`] refuses, as [`ChangeError::Refused`].
    async fn change_user(
        &self,
        id: &Id,
        request: &ChangeRequest,
    ) -> Result<Option<UserRecord>, ChangeError>;
    /// Removes a user at its sequencer; the record it had, or `None` if there was none.
    async fn remove_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError>;
    /// A page of at most `limit` users, starting at `cursor`.
    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError>;
    /// The id the identity index holds under `key` ([`crate::oidc::identity_key`]), if any.
    async fn find_identity(&self, key: &str) -> Result<Option<Id>, StoreError>;
    /// Points the identity index entry `key` at `id` (after the user record lists the
    /// identity: a record before the pointer to it).
    async fn bind_identity(&self, key: &str, id: &Id) -> Result<(), StoreError>;
    /// Removes the identity index entry `key` if it points at `id` (after the record stopped
    /// listing it; an entry of another account is left alone).
    async fn release_identity(&self, key: &str, id: &Id) -> Result<(), StoreError>;
}

/// Why [`UserStore::change_user`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// The storage call failed.
    Store(StoreError),
    /// The sequencer refused the change ([`UserRecord::apply`]'s error).
    Refused(Error),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> ChangeError {
        ChangeError::Store(e)
    }
}

impl From<ChangeError> for Error {
    fn from(e: ChangeError) -> Error {
        match e {
            ChangeError::Store(e) => e.into(),
            ChangeError::Refused(e) => e,
        }
    }
}

/// A family as one read sees it: its record and its revocation marker, either of which may
/// be missing (see [`crate::refresh::family`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredFamily {
    /// The family record.
    pub record: Option<Family>,
    /// The revocation marker's reason, if one is stored.
    pub revoked: Option<RevokeReason>,
}

/// What a conditional family write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// The record was stored.
    Stored,
    /// The stored generation was no longer the one expected: nothing was written. Only
    /// stores that can compare and set answer this (a Durable Object); KV cannot, and stores.
    Conflict,
}

/// Refresh-token families and their revocation markers.
#[allow(async_fn_in_trait)]
pub trait FamilyStore {
    /// The family `family_id` of `user_id` and its revocation marker.
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<StoredFamily, StoreError>;
    /// The family record alone (one read): for reading a family again right after its marker
    /// was found absent, as a refresh does when its write was refused.
    async fn get_family_record(
        &self,
        user_id: &Id,
        family_id: &Id,
    ) -> Result<Option<Family>, StoreError>;
    /// Stores a family; storage may forget it after `expires_at`. With `replacing`, a store
    /// that can compare and set writes only if the stored generation is still that one.
    async fn put_family(
        &self,
        family: &Family,
        expires_at: UnixSeconds,
        replacing: Option<u32>,
    ) -> Result<Put, StoreError>;
    /// Writes the revocation marker of a family (see [`crate::store::records::revoked_key`]),
    /// kept until `until`.
    async fn revoke_family(
        &self,
        user_id: &Id,
        family_id: &Id,
        reason: RevokeReason,
        until: UnixSeconds,
    ) -> Result<(), StoreError>;
    /// Removes a dead family record; absent families are not an error.
    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError>;
    /// All families stored for `user_id` (live or not; the caller filters), each with its
    /// revocation marker applied (`revoked` set).
    async fn list_families(&self, user_id: &Id) -> Result<Vec<Family>, StoreError>;
}

/// Per-key throttle state (logins, password checks, registrations), updated atomically per key
/// (see [`crate::throttle`]).
#[allow(async_fn_in_trait)]
pub trait ThrottleStore {
    /// Decides an attempt for `key` at `now` and, when it is allowed, counts it, as one atomic
    /// step per key ([`crate::throttle::ThrottleState::reserve`]): of any number of concurrent
    /// calls for one key, at most `policy.max_failures` per window are allowed. The attempt
    /// counts as a failure until [`ThrottleStore::release`] or [`ThrottleStore::clear`].
    async fn reserve(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<Admission, StoreError>;
    /// Takes back the one attempt reserved for `key` at `reserved_at`, which succeeded
    /// ([`crate::throttle::ThrottleState::release`]); the key's other attempts keep counting.
    async fn release(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        reserved_at: UnixSeconds,
    ) -> Result<(), StoreError>;
    /// Forgets every attempt of `key` (an account after its right password).
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}

/// Everything the auth flows need from a host.
pub trait Stores: UserStore + FamilyStore + ThrottleStore {}
impl<T: UserStore + FamilyStore + ThrottleStore> Stores for T {}
