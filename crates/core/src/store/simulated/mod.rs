//! Workers KV at several edge locations, simulated, with the Durable Objects the Worker
//! uses beside it: the storage the property tests of `tests/consistency.rs` run the flows on.
//!
//! [`kv`] models KV itself (per-location views, propagation delays, last-write-wins by the
//! writer's clock, expiry, one write per second per key, skewed clocks). [`SimulatedStores`]
//! is the core's storage traits over it, at one location, with the same keys and record
//! formats as the Worker's `worker/src/kv.rs`, so that what the simulation finds is what a
//! deployment would do.
//!
//! The Durable Objects are modelled as the Worker runs them in its default (`eventual`) mode:
//! - a user's sequencer is one object per user, at one location (its *home*), that applies
//!   each change to the record it reads from KV there and writes the result there; requests to
//!   it are serialised, and a location sees its own writes at once, so it always starts from
//!   the latest record;
//! - an email claim is one object per address, holding which account claimed it and writing
//!   the address's index entry at its home;
//! - a login throttle is one object per key.

pub mod kv;

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

pub use kv::{SimulatedKv, Stored, YieldOnce};

use super::records::{
    ChangeRequest, USER_KEY_PREFIX, UserRecord, UserSummary, email_key, family_key,
    family_key_prefix, revocation_reason, revoked_key, revoked_key_prefix, user_key,
};
use super::{
    ChangeError, Claim, FamilyStore, Put, StoreError, StoredFamily, ThrottleStore, UserPage,
    UserStore,
};
use crate::email::fold_email;
use crate::id::Id;
use crate::refresh::{Family, RevokeReason};
use crate::throttle::{Admission, ThrottlePolicy, ThrottleState};
use crate::time::UnixSeconds;

/// A whole simulated deployment: KV at several locations and the Durable Objects.
pub struct Simulation {
    /// The KV namespace (users, the email index and families share one here: their keys do
    /// not collide, and the Worker's two namespaces behave alike).
    pub kv: SimulatedKv,
    /// The login throttle objects, one per key: strongly consistent wherever asked from.
    throttle: RefCell<BTreeMap<String, ThrottleState>>,
    /// The email claim objects: address → (account, since).
    claims: RefCell<BTreeMap<String, (Id, UnixSeconds)>>,
    /// Where each object runs: the location of the first request that used it, as Cloudflare
    /// places a Durable Object near its first caller.
    homes: RefCell<BTreeMap<String, usize>>,
}

impl Simulation {
    /// A deployment at `locations` locations starting at `start`, randomised by `seed`.
    pub fn new(locations: usize, start: UnixSeconds, seed: u64) -> Simulation {
        Simulation {
            kv: SimulatedKv::new(locations, start, seed),
            throttle: RefCell::new(BTreeMap::new()),
            claims: RefCell::new(BTreeMap::new()),
            homes: RefCell::new(BTreeMap::new()),
        }
    }

    /// Writes a user record and its index entry (under the email's key) straight into KV at
    /// location `at`, as an operator's `wrangler kv bulk put` of `tollgate user add` output
    /// does.
    ///
    /// # Errors
    /// KV's refusal of a second write to a key within a second.
    pub fn plant_user(&self, at: usize, user: &UserRecord) -> Result<(), StoreError> {
        self.kv
            .put(
                at,
                &user_key(&user.id),
                Some(SimulatedStores::user_value(user)?),
            )
            .map_err(StoreError::Unavailable)?;
        self.kv
            .put(
                at,
                &email_key(&fold_email(&user.email)),
                Some(Stored {
                    value: user.id.to_hyphenated(),
                    metadata: None,
                    expires_at: None,
                }),
            )
            .map_err(StoreError::Unavailable)
    }

    /// The location where the claim object of `email` runs (placed by its first caller, at
    /// `asked_from`).
    pub fn email_home(&self, email: &str, asked_from: usize) -> usize {
        self.home(alloc::format!("email:{email}"), asked_from)
    }

    /// The location where user `id`'s sequencer runs (placed by its first caller, at
    /// `asked_from`; a user planted straight into KV gets its sequencer where it is first
    /// used, as in the Worker).
    pub fn home_of(&self, id: &Id, asked_from: usize) -> usize {
        self.home(alloc::format!("user:{}", id.to_hyphenated()), asked_from)
    }

    fn home(&self, object: String, asked_from: usize) -> usize {
        *self.homes.borrow_mut().entry(object).or_insert(asked_from)
    }

    /// The storage a request at location `at` uses.
    pub fn at(&self, at: usize) -> SimulatedStores<'_> {
        SimulatedStores { sim: self, at }
    }
}

/// The core's storage traits at one location of a [`Simulation`].
pub struct SimulatedStores<'a> {
    sim: &'a Simulation,
    at: usize,
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl SimulatedStores<'_> {
    fn kv(&self) -> &SimulatedKv {
        &self.sim.kv
    }

    async fn read(&self, key: &str) -> Option<Stored> {
        YieldOnce::new().await;
        self.kv().get(self.at, key)
    }

    async fn write(&self, key: &str, value: Option<Stored>) -> Result<(), StoreError> {
        YieldOnce::new().await;
        self.kv()
            .put(self.at, key, value)
            .map_err(StoreError::Unavailable)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.read(key)
            .await
            .map(|s| serde_json::from_str(&s.value).map_err(corrupt))
            .transpose()
    }
}

impl SimulatedStores<'_> {
    /// What user `id`'s sequencer starts each change from: its home, the record's key and the
    /// record as KV holds it there (read and written with nothing in between, as the object
    /// serialises its requests).
    fn current_at_home(&self, id: &Id) -> Result<(usize, String, Option<UserRecord>), StoreError> {
        let home = self.sim.home_of(id, self.at);
        let key = user_key(id);
        let current = match self.kv().get(home, &key) {
            Some(stored) => Some(serde_json::from_str(&stored.value).map_err(corrupt)?),
            None => None,
        };
        Ok((home, key, current))
    }

    /// The user record at its sequencer's home, where every write to it is made.
    fn at_home(&self, id: &Id) -> SimulatedStores<'_> {
        SimulatedStores {
            sim: self.sim,
            at: self.sim.home_of(id, self.at),
        }
    }

    /// A write by an object at its home: the object waits out KV's one-write-per-second limit
    /// on its key rather than fail (its requests queue meanwhile), so the clock moves on.
    fn sequenced_put(
        &self,
        home: usize,
        key: &str,
        value: Option<Stored>,
    ) -> Result<(), StoreError> {
        self.kv().wait_for_write_slot(key);
        self.kv()
            .put(home, key, value)
            .map_err(StoreError::Unavailable)
    }

    fn user_value(user: &UserRecord) -> Result<Stored, StoreError> {
        Ok(Stored {
            value: serde_json::to_string(user).map_err(corrupt)?,
            metadata: Some(serde_json::to_string(&user.summary()).map_err(corrupt)?),
            expires_at: None,
        })
    }
}

impl UserStore for SimulatedStores<'_> {
    async fn find_identity(&self, key: &str) -> Result<Option<Id>, StoreError> {
        Ok(self.read(key).await.and_then(|s| Id::parse(&s.value)))
    }

    async fn bind_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        let value = Stored {
            value: id.to_hyphenated(),
            metadata: None,
            expires_at: None,
        };
        self.write(key, Some(value)).await
    }

    async fn release_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        if self.find_identity(key).await? == Some(*id) {
            self.write(key, None).await?;
        }
        Ok(())
    }

    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.read_json(&user_key(id)).await
    }

    async fn get_user_current(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.at_home(id).read_json(&user_key(id)).await
    }

    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        Ok(self
            .read(&email_key(email))
            .await
            .and_then(|s| Id::parse(&s.value)))
    }

    async fn claim_email(
        &self,
        email: &str,
        id: &Id,
        now: UnixSeconds,
        replacing: Option<&Id>,
    ) -> Result<Claim, StoreError> {
        YieldOnce::new().await;
        // As the Worker's claim object: an address indexed without a claim (an import, an
        // older Tollgate) is held by its account since forever, as KV at the object's home
        // has it.
        let home = self.sim.email_home(email, self.at);
        let indexed = || {
            self.kv()
                .get(home, &email_key(email))
                .and_then(|s| Id::parse(&s.value))
                .map(|holder| (holder, 0))
        };
        let mut claims = self.sim.claims.borrow_mut();
        match claims.get(email).copied().or_else(indexed) {
            Some((holder, since)) if holder != *id && Some(&holder) != replacing => {
                Ok(Claim::Taken { holder, since })
            }
            _ => {
                claims.insert(email.to_string(), (*id, now));
                Ok(Claim::Claimed)
            }
        }
    }

    async fn bind_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        YieldOnce::new().await;
        if self
            .sim
            .claims
            .borrow()
            .get(email)
            .is_none_or(|(holder, _)| holder != id)
        {
            return Ok(());
        }
        self.sequenced_put(
            self.sim.email_home(email, self.at),
            &email_key(email),
            Some(Stored {
                value: id.to_hyphenated(),
                metadata: None,
                expires_at: None,
            }),
        )
    }

    async fn release_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        YieldOnce::new().await;
        let mut claims = self.sim.claims.borrow_mut();
        if claims.get(email).is_some_and(|(holder, _)| holder == id) {
            claims.remove(email);
        }
        // The index entry, if it names this account (it may predate claims: an import).
        let home = self.sim.email_home(email, self.at);
        let key = email_key(email);
        if self
            .kv()
            .get(home, &key)
            .is_some_and(|s| s.value == id.to_hyphenated())
        {
            self.sequenced_put(home, &key, None)?;
        }
        Ok(())
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        YieldOnce::new().await;
        self.sequenced_put(
            self.sim.home_of(&user.id, self.at),
            &user_key(&user.id),
            Some(Self::user_value(user)?),
        )
    }

    async fn change_user(
        &self,
        id: &Id,
        request: &ChangeRequest,
    ) -> Result<Option<UserRecord>, ChangeError> {
        // One call to the sequencer: it reads and writes at its home with nothing in between
        // (the object serialises its requests), so it always changes the latest record.
        YieldOnce::new().await;
        let (home, key, current) = self.current_at_home(id)?;
        let Some(current) = current else {
            return Ok(None);
        };
        let Some(next) = current.apply(request).map_err(ChangeError::Refused)? else {
            return Ok(Some(current));
        };
        self.sequenced_put(home, &key, Some(Self::user_value(&next)?))?;
        Ok(Some(next))
    }

    async fn remove_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        YieldOnce::new().await;
        let (home, key, current) = self.current_at_home(id)?;
        if current.is_some() {
            self.sequenced_put(home, &key, None)?;
        }
        Ok(current)
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError> {
        YieldOnce::new().await;
        let (page, more) = self
            .kv()
            .list(self.at, USER_KEY_PREFIX, cursor, limit as usize);
        let next = more.then(|| page.last().map(|(k, _)| k.clone())).flatten();
        let users = page
            .into_iter()
            .map(|(_, s)| {
                serde_json::from_str::<UserSummary>(s.metadata.as_deref().unwrap_or("null"))
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UserPage {
            users,
            cursor: next,
        })
    }
}

impl FamilyStore for SimulatedStores<'_> {
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<StoredFamily, StoreError> {
        let record = self.read_json(&family_key(user_id, family_id)).await?;
        let revoked = match self.read(&revoked_key(user_id, family_id)).await {
            Some(marker) => Some(revocation_reason(&marker.value)?),
            None => None,
        };
        Ok(StoredFamily { record, revoked })
    }

    async fn get_family_record(
        &self,
        user_id: &Id,
        family_id: &Id,
    ) -> Result<Option<Family>, StoreError> {
        self.read_json(&family_key(user_id, family_id)).await
    }

    async fn put_family(
        &self,
        family: &Family,
        expires_at: UnixSeconds,
        _replacing: Option<u32>,
    ) -> Result<Put, StoreError> {
        // KV cannot compare and set: the write is blind, as the Worker's is.
        let value = serde_json::to_string(family).map_err(corrupt)?;
        self.write(
            &family_key(&family.user_id, &family.id),
            Some(Stored {
                metadata: Some(value.clone()),
                value,
                expires_at: Some(expires_at),
            }),
        )
        .await?;
        Ok(Put::Stored)
    }

    async fn revoke_family(
        &self,
        user_id: &Id,
        family_id: &Id,
        reason: RevokeReason,
        until: UnixSeconds,
    ) -> Result<(), StoreError> {
        // The Worker's format: the reason's word, as value and metadata.
        self.write(
            &revoked_key(user_id, family_id),
            Some(Stored {
                metadata: Some(reason.as_str().into()),
                value: reason.as_str().into(),
                expires_at: Some(until),
            }),
        )
        .await
    }

    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError> {
        self.write(&family_key(user_id, family_id), None).await
    }

    async fn list_families(&self, user_id: &Id) -> Result<Vec<Family>, StoreError> {
        YieldOnce::new().await;
        let (families, _) = self
            .kv()
            .list(self.at, &family_key_prefix(user_id), None, usize::MAX);
        let (markers, _) = self
            .kv()
            .list(self.at, &revoked_key_prefix(user_id), None, usize::MAX);
        let revoked = markers
            .into_iter()
            .map(|(k, s)| {
                let id = k.rsplit(':').next().unwrap_or_default().to_string();
                Ok((id, revocation_reason(&s.value)?))
            })
            .collect::<Result<BTreeMap<String, RevokeReason>, StoreError>>()?;
        families
            .into_iter()
            .map(|(_, s)| {
                let mut family: Family = serde_json::from_str(&s.value).map_err(corrupt)?;
                if let Some(reason) = revoked.get(&family.id.to_hyphenated()) {
                    family.revoked = Some(*reason);
                }
                Ok(family)
            })
            .collect()
    }
}

impl ThrottleStore for SimulatedStores<'_> {
    // The throttle is one Durable Object per key in the Worker: strongly consistent, so one
    // shared map (not per location) models it.
    async fn reserve(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<Admission, StoreError> {
        YieldOnce::new().await;
        let mut throttle = self.sim.throttle.borrow_mut();
        let (admission, next) = throttle
            .get(key)
            .cloned()
            .unwrap_or_default()
            .reserve(policy, now);
        throttle.insert(key.to_string(), next);
        Ok(admission)
    }

    async fn release(
        &self,
        key: &str,
        _policy: ThrottlePolicy,
        reserved_at: UnixSeconds,
    ) -> Result<(), StoreError> {
        YieldOnce::new().await;
        let mut throttle = self.sim.throttle.borrow_mut();
        if let Some(state) = throttle.get(key) {
            let next = state.release(reserved_at);
            throttle.insert(key.to_string(), next);
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        YieldOnce::new().await;
        self.sim.throttle.borrow_mut().remove(key);
        Ok(())
    }
}
