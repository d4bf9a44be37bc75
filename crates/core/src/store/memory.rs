//! An in-memory store with fault injection, lost write races and an operation log, for tests
//! of the flows.
//!
//! Not for serving: it forgets everything with the process. Tests use it to drive the auth
//! flows deterministically, to count storage operations per request, and to make any chosen
//! operation fail or time out, checking that nothing is left half-written.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use super::records::{ChangeRequest, UserRecord, user_key};
use super::{
    ChangeError, Claim, FamilyStore, Put, StoreError, StoredFamily, ThrottleStore, UserPage,
    UserStore,
};
use crate::email::fold_email;
use crate::id::Id;
use crate::refresh::{Family, RevokeReason};
use crate::throttle::{Admission, ThrottlePolicy, ThrottleState};
use crate::time::UnixSeconds;

/// A storage operation, as logged and as targeted by faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// [`UserStore::get_user`]
    GetUser,
    /// [`UserStore::get_user_current`] (a call to the user's sequencer)
    GetUserCurrent,
    /// [`UserStore::find_user_id`]
    FindUserId,
    /// [`UserStore::claim_email`] (a call to the email's claim object)
    ClaimEmail,
    /// [`UserStore::release_email`] (a call to the email's claim object)
    ReleaseEmail,
    /// [`UserStore::create_user`] (a call to the user's sequencer)
    CreateUser,
    /// [`UserStore::change_user`] (a call to the user's sequencer)
    ChangeUser,
    /// [`UserStore::remove_user`] (a call to the user's sequencer)
    RemoveUser,
    /// [`UserStore::bind_email`] (a call to the email's claim object)
    BindEmail,
    /// [`UserStore::list_users`]
    ListUsers,
    /// [`UserStore::find_identity`]
    FindIdentity,
    /// [`UserStore::bind_identity`]
    BindIdentity,
    /// [`UserStore::release_identity`]
    ReleaseIdentity,
    /// [`FamilyStore::get_family`]: the family record (one KV read)
    GetFamily,
    /// [`FamilyStore::get_family`]: the revocation marker (a second KV read, in parallel)
    GetRevoked,
    /// [`FamilyStore::put_family`]
    PutFamily,
    /// [`FamilyStore::revoke_family`]
    RevokeFamily,
    /// [`FamilyStore::delete_family`]
    DeleteFamily,
    /// [`FamilyStore::list_families`]
    ListFamilies,
    /// [`ThrottleStore::reserve`]
    Reserve,
    /// [`ThrottleStore::release`]
    Release,
    /// [`ThrottleStore::clear`]
    Clear,
}

impl Op {
    /// Whether the operation reads users or families (a KV read in the Worker).
    pub fn is_kv_read(self) -> bool {
        matches!(
            self,
            Op::GetUser
                | Op::FindUserId
                | Op::FindIdentity
                | Op::GetFamily
                | Op::GetRevoked
                | Op::ListUsers
                | Op::ListFamilies
        )
    }

    /// Whether the operation writes users or families (a KV write or delete in the Worker).
    /// Writes of user records are not here: the sequencer makes them (see
    /// [`Op::is_object_call`]).
    pub fn is_kv_write(self) -> bool {
        matches!(self, Op::PutFamily | Op::RevokeFamily | Op::DeleteFamily)
    }

    /// Whether the operation is a call to a Durable Object in the Worker (the user's
    /// sequencer, an email claim, a throttle).
    pub fn is_object_call(self) -> bool {
        matches!(
            self,
            Op::GetUserCurrent
                | Op::ClaimEmail
                | Op::BindEmail
                | Op::ReleaseEmail
                | Op::CreateUser
                | Op::ChangeUser
                | Op::RemoveUser
                | Op::Reserve
                | Op::Release
                | Op::Clear
        )
    }
}

/// How an injected fault shows itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The call fails outright.
    Fail,
    /// The call does not answer in time (reported as the host's timeout would be).
    Timeout,
}

#[derive(Default)]
struct Inner {
    users: BTreeMap<String, UserRecord>,
    emails: BTreeMap<String, Id>,
    identities: BTreeMap<String, Id>,
    claims: BTreeMap<String, (Id, UnixSeconds)>,
    families: BTreeMap<(Id, Id), (Family, UnixSeconds)>,
    revoked: BTreeMap<(Id, Id), (RevokeReason, UnixSeconds)>,
    throttle: BTreeMap<String, ThrottleState>,
    log: Vec<Op>,
    /// Faults armed per operation: fire on the call whose index (counting from the moment
    /// they were armed) is `skip`, then disarm unless `sticky`.
    faults: Vec<(Op, Fault, usize, bool)>,
    /// A family that a concurrent request writes just before the next `put_family`, which
    /// then fails (see [`MemoryStore::race_next_family_write`]).
    rival: Option<(Family, UnixSeconds)>,
}

/// A store that keeps everything in memory. See the module docs.
#[derive(Default)]
pub struct MemoryStore {
    inner: RefCell<Inner>,
}

impl MemoryStore {
    /// An empty store with no faults armed.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Makes the next call of `op` fail with `fault`.
    pub fn fail_next(&self, op: Op, fault: Fault) {
        self.inner.borrow_mut().faults.push((op, fault, 0, false));
    }

    /// Makes the call of `op` after `skip` successful ones fail with `fault`.
    pub fn fail_after(&self, op: Op, skip: usize, fault: Fault) {
        self.inner
            .borrow_mut()
            .faults
            .push((op, fault, skip, false));
    }

    /// Makes every call of `op` fail with `fault` until [`MemoryStore::heal`].
    pub fn fail_always(&self, op: Op, fault: Fault) {
        self.inner.borrow_mut().faults.push((op, fault, 0, true));
    }

    /// Makes the next [`FamilyStore::put_family`] lose a race, as on Workers KV when two
    /// requests write one key within the same second: `winner` is stored first (another
    /// request's write landing), then the call fails as KV's 429 does.
    pub fn race_next_family_write(&self, winner: Family, expires_at: UnixSeconds) {
        self.inner.borrow_mut().rival = Some((winner, expires_at));
    }

    /// Disarms every fault and race.
    pub fn heal(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.faults.clear();
        inner.rival = None;
    }

    /// The operations performed so far, in order (failed ones included).
    pub fn operations(&self) -> Vec<Op> {
        self.inner.borrow().log.clone()
    }

    /// Forgets the operation log.
    pub fn clear_operations(&self) {
        self.inner.borrow_mut().log.clear();
    }

    /// How many user records are stored.
    pub fn user_count(&self) -> usize {
        self.inner.borrow().users.len()
    }

    /// How many email index entries are stored.
    pub fn email_count(&self) -> usize {
        self.inner.borrow().emails.len()
    }

    /// Every stored family with the expiration it was stored with.
    pub fn families(&self) -> Vec<(Family, UnixSeconds)> {
        self.inner.borrow().families.values().cloned().collect()
    }

    /// Every revocation marker: (user, family, reason, kept until).
    pub fn revocations(&self) -> Vec<(Id, Id, RevokeReason, UnixSeconds)> {
        self.inner
            .borrow()
            .revoked
            .iter()
            .map(|((u, f), (r, t))| (*u, *f, *r, *t))
            .collect()
    }

    /// How many email claims are held.
    pub fn claim_count(&self) -> usize {
        self.inner.borrow().claims.len()
    }

    /// How many attempts count against throttle `key` now (reservations and failures within
    /// the window, as last stored).
    pub fn throttle_count(&self, key: &str) -> usize {
        self.inner
            .borrow()
            .throttle
            .get(key)
            .map_or(0, |s| s.failures.len())
    }

    /// Replaces a stored user record directly, with its index entry under the email's key, as
    /// an operator's `wrangler kv bulk put` of `tollgate` output would (for tests that plant
    /// admins, legacy hashes or corrupt data).
    pub fn plant_user(&self, user: UserRecord) {
        let key = fold_email(&user.email);
        self.plant_user_indexed_as(user, key);
    }

    /// Plants a user record with its index entry under `index_key`: an entry of an older rule
    /// (`Sam@example.com` under the address as typed), or one planted by hand.
    pub fn plant_user_indexed_as(&self, user: UserRecord, index_key: String) {
        let mut inner = self.inner.borrow_mut();
        inner.emails.insert(index_key, user.id);
        inner.users.insert(user_key(&user.id), user);
    }

    /// The id the email index holds under `key`, read without logging an operation.
    pub fn indexed(&self, key: &str) -> Option<Id> {
        self.inner.borrow().emails.get(key).copied()
    }

    /// Logs `op` and fires an armed fault for it, if any.
    fn enter(&self, op: Op) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        inner.log.push(op);
        let mut fired = None;
        inner.faults.retain_mut(|(o, fault, skip, sticky)| {
            if *o != op || fired.is_some() {
                return true;
            }
            if *skip > 0 {
                *skip -= 1;
                return true;
            }
            fired = Some(*fault);
            *sticky
        });
        match fired {
            None => Ok(()),
            Some(Fault::Fail) => Err(StoreError::Unavailable(alloc::format!(
                "injected failure of {op:?}"
            ))),
            Some(Fault::Timeout) => Err(StoreError::Unavailable(alloc::format!(
                "injected timeout of {op:?}"
            ))),
        }
    }
}

impl UserStore for MemoryStore {
    async fn find_identity(&self, key: &str) -> Result<Option<Id>, StoreError> {
        self.enter(Op::FindIdentity)?;
        Ok(self.inner.borrow().identities.get(key).copied())
    }

    async fn bind_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        self.enter(Op::BindIdentity)?;
        self.inner
            .borrow_mut()
            .identities
            .insert(key.to_string(), *id);
        Ok(())
    }

    async fn release_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        self.enter(Op::ReleaseIdentity)?;
        let mut inner = self.inner.borrow_mut();
        if inner.identities.get(key) == Some(id) {
            inner.identities.remove(key);
        }
        Ok(())
    }

    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.enter(Op::GetUser)?;
        Ok(self.inner.borrow().users.get(&user_key(id)).cloned())
    }

    async fn get_user_current(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.enter(Op::GetUserCurrent)?;
        Ok(self.inner.borrow().users.get(&user_key(id)).cloned())
    }

    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        self.enter(Op::FindUserId)?;
        Ok(self.inner.borrow().emails.get(email).copied())
    }

    async fn claim_email(
        &self,
        email: &str,
        id: &Id,
        now: UnixSeconds,
        replacing: Option<&Id>,
    ) -> Result<Claim, StoreError> {
        self.enter(Op::ClaimEmail)?;
        let mut inner = self.inner.borrow_mut();
        // As the Worker's claim object: an address indexed without a claim (an import, an
        // older Tollgate) is held by its account since forever.
        let held = inner
            .claims
            .get(email)
            .copied()
            .or_else(|| inner.emails.get(email).map(|holder| (*holder, 0)));
        match held {
            Some((holder, since)) if holder != *id && Some(&holder) != replacing => {
                Ok(Claim::Taken { holder, since })
            }
            _ => {
                inner.claims.insert(email.to_string(), (*id, now));
                Ok(Claim::Claimed)
            }
        }
    }

    async fn bind_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        self.enter(Op::BindEmail)?;
        let mut inner = self.inner.borrow_mut();
        if inner
            .claims
            .get(email)
            .is_some_and(|(holder, _)| holder == id)
        {
            inner.emails.insert(email.to_string(), *id);
        }
        Ok(())
    }

    async fn release_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        self.enter(Op::ReleaseEmail)?;
        let mut inner = self.inner.borrow_mut();
        if inner
            .claims
            .get(email)
            .is_some_and(|(holder, _)| holder == id)
        {
            inner.claims.remove(email);
        }
        // An index entry of this account goes too (one written before claims existed, by an
        // import, has no claim).
        if inner.emails.get(email) == Some(id) {
            inner.emails.remove(email);
        }
        Ok(())
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.enter(Op::CreateUser)?;
        self.inner
            .borrow_mut()
            .users
            .insert(user_key(&user.id), user.clone());
        Ok(())
    }

    async fn change_user(
        &self,
        id: &Id,
        request: &ChangeRequest,
    ) -> Result<Option<UserRecord>, ChangeError> {
        self.enter(Op::ChangeUser)?;
        let mut inner = self.inner.borrow_mut();
        let Some(current) = inner.users.get(&user_key(id)) else {
            return Ok(None);
        };
        match current.apply(request).map_err(ChangeError::Refused)? {
            Some(next) => {
                inner.users.insert(user_key(id), next.clone());
                Ok(Some(next))
            }
            None => Ok(Some(current.clone())),
        }
    }

    async fn remove_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.enter(Op::RemoveUser)?;
        Ok(self.inner.borrow_mut().users.remove(&user_key(id)))
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError> {
        self.enter(Op::ListUsers)?;
        let inner = self.inner.borrow();
        let start = cursor.unwrap_or("");
        let mut page: Vec<(&String, &UserRecord)> = inner
            .users
            .range::<str, _>((
                core::ops::Bound::Excluded(start),
                core::ops::Bound::Unbounded,
            ))
            .take(limit as usize + 1)
            .collect();
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let cursor = if more {
            page.last().map(|(k, _)| (*k).clone())
        } else {
            None
        };
        Ok(UserPage {
            users: page.into_iter().map(|(_, u)| u.summary()).collect(),
            cursor,
        })
    }
}

impl FamilyStore for MemoryStore {
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<StoredFamily, StoreError> {
        // The Worker reads the record and the marker at once: two KV reads.
        self.enter(Op::GetFamily)?;
        self.enter(Op::GetRevoked)?;
        let inner = self.inner.borrow();
        let key = (*user_id, *family_id);
        Ok(StoredFamily {
            record: inner.families.get(&key).map(|(f, _)| f.clone()),
            revoked: inner.revoked.get(&key).map(|(r, _)| *r),
        })
    }

    async fn get_family_record(
        &self,
        user_id: &Id,
        family_id: &Id,
    ) -> Result<Option<Family>, StoreError> {
        self.enter(Op::GetFamily)?;
        let inner = self.inner.borrow();
        Ok(inner
            .families
            .get(&(*user_id, *family_id))
            .map(|(f, _)| f.clone()))
    }

    async fn put_family(
        &self,
        family: &Family,
        expires_at: UnixSeconds,
        replacing: Option<u32>,
    ) -> Result<Put, StoreError> {
        self.enter(Op::PutFamily)?;
        let mut inner = self.inner.borrow_mut();
        if let Some((winner, winner_expires)) = inner.rival.take() {
            inner
                .families
                .insert((winner.user_id, winner.id), (winner, winner_expires));
            return Err(StoreError::Unavailable(
                "injected 429: the key was written by another request this second".into(),
            ));
        }
        let key = (family.user_id, family.id);
        if let Some(expected) = replacing
            && inner
                .families
                .get(&key)
                .is_some_and(|(f, _)| f.generation != expected)
        {
            return Ok(Put::Conflict);
        }
        inner.families.insert(key, (family.clone(), expires_at));
        Ok(Put::Stored)
    }

    async fn revoke_family(
        &self,
        user_id: &Id,
        family_id: &Id,
        reason: RevokeReason,
        until: UnixSeconds,
    ) -> Result<(), StoreError> {
        self.enter(Op::RevokeFamily)?;
        self.inner
            .borrow_mut()
            .revoked
            .insert((*user_id, *family_id), (reason, until));
        Ok(())
    }

    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError> {
        self.enter(Op::DeleteFamily)?;
        self.inner
            .borrow_mut()
            .families
            .remove(&(*user_id, *family_id));
        Ok(())
    }

    async fn list_families(&self, user_id: &Id) -> Result<Vec<Family>, StoreError> {
        self.enter(Op::ListFamilies)?;
        let inner = self.inner.borrow();
        Ok(inner
            .families
            .values()
            .filter(|(f, _)| f.user_id == *user_id)
            .map(|(f, _)| {
                let mut f = f.clone();
                if let Some((reason, _)) = inner.revoked.get(&(f.user_id, f.id)) {
                    f.revoked = Some(*reason);
                }
                f
            })
            .collect())
    }
}

impl ThrottleStore for MemoryStore {
    async fn reserve(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<Admission, StoreError> {
        self.enter(Op::Reserve)?;
        let mut inner = self.inner.borrow_mut();
        let (admission, next) = inner
            .throttle
            .get(key)
            .cloned()
            .unwrap_or_default()
            .reserve(policy, now);
        // Like the Worker's object: a state that holds nothing is not kept.
        if next.failures.is_empty() {
            inner.throttle.remove(key);
        } else {
            inner.throttle.insert(key.to_string(), next);
        }
        Ok(admission)
    }

    async fn release(
        &self,
        key: &str,
        _policy: ThrottlePolicy,
        reserved_at: UnixSeconds,
    ) -> Result<(), StoreError> {
        self.enter(Op::Release)?;
        let mut inner = self.inner.borrow_mut();
        if let Some(state) = inner.throttle.get(key) {
            let next = state.release(reserved_at);
            if next.failures.is_empty() {
                inner.throttle.remove(key);
            } else {
                inner.throttle.insert(key.to_string(), next);
            }
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.enter(Op::Clear)?;
        self.inner.borrow_mut().throttle.remove(key);
        Ok(())
    }
}
