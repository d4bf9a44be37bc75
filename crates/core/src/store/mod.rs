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

pub mod memory;
pub mod records;

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::id::Id;
use crate::refresh::Family;
use crate::throttle::{Admission, ThrottlePolicy};
use crate::time::UnixSeconds;
pub use records::{UserRecord, UserSummary};

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

/// Users and the email index.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// The user with `id`, if any.
    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError>;
    /// The id the email index holds for a normalised email, if any.
    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError>;
    /// Creates or replaces a user record (and its listing summary).
    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Points the email index at `id`.
    async fn put_email(&self, email: &str, id: &Id) -> Result<(), StoreError>;
    /// Removes a user record; absent records are not an error.
    async fn delete_user(&self, id: &Id) -> Result<(), StoreError>;
    /// Removes an email index entry; absent entries are not an error.
    async fn delete_email(&self, email: &str) -> Result<(), StoreError>;
    /// A page of at most `limit` users, starting at `cursor`.
    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError>;
}

/// Refresh-token families.
#[allow(async_fn_in_trait)]
pub trait FamilyStore {
    /// The family `family_id` of `user_id`, if any.
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<Option<Family>, StoreError>;
    /// Creates or replaces a family; storage may forget it after `expires_at`.
    async fn put_family(&self, family: &Family, expires_at: UnixSeconds) -> Result<(), StoreError>;
    /// Removes a family; absent families are not an error.
    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError>;
    /// All families stored for `user_id` (live or not; the caller filters).
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
