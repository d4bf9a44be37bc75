//! The one module that touches Workers KV: the core's storage traits over `USERS` and `TOKENS`.
//!
//! Key layout and record formats are the core's (`tollgate_core::store::records`), documented
//! in the README. Every call is bounded by the storage timeout: a call that fails or does not
//! answer in time becomes [`StoreError::Unavailable`], which the flows turn into a 503 with
//! nothing half-written.

use std::cell::OnceCell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_core::id::Id;
use tollgate_core::refresh::Family;
use tollgate_core::store::records::{
    USER_KEY_PREFIX, email_key, family_key, family_key_prefix, user_key,
};
use tollgate_core::store::{FamilyStore, StoreError, UserPage, UserRecord, UserStore, UserSummary};
use tollgate_core::time::UnixSeconds;
use worker::kv::KvStore;
use worker::{Delay, Env};

use crate::faults::{FaultKind, Faults, StorageOp};

/// KV metadata is limited to 1024 bytes of JSON; a family's user agent is cut to fit.
const MAX_METADATA_BYTES: usize = 1024;

/// The Worker's storage: KV for users and families, a Durable Object for throttling.
///
/// Each KV namespace is bound on first use: binding one reads it off `env` and looks up its
/// five methods, a dozen calls out of the wasm, and most requests need only one of the two
/// (`/me` reads `USERS` alone, a refresh mostly `TOKENS`).
pub struct WorkerStores {
    users: OnceCell<KvStore>,
    tokens: OnceCell<KvStore>,
    pub(crate) env: Env,
    pub(crate) timeout_ms: u64,
    pub(crate) faults: Faults,
}

impl WorkerStores {
    /// The stores over `env`'s `USERS`, `TOKENS` (and `THROTTLE`, used by the throttle module).
    pub fn new(env: &Env, timeout_ms: u64, faults: Faults) -> WorkerStores {
        WorkerStores {
            users: OnceCell::new(),
            tokens: OnceCell::new(),
            env: env.clone(),
            timeout_ms,
            faults,
        }
    }

    /// The `USERS` namespace.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the binding is missing from `wrangler.toml`.
    fn users(&self) -> Result<&KvStore, StoreError> {
        self.bind(&self.users, "USERS")
    }

    /// The `TOKENS` namespace.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the binding is missing from `wrangler.toml`.
    fn tokens(&self) -> Result<&KvStore, StoreError> {
        self.bind(&self.tokens, "TOKENS")
    }

    fn bind<'a>(
        &'a self,
        cell: &'a OnceCell<KvStore>,
        name: &str,
    ) -> Result<&'a KvStore, StoreError> {
        if let Some(kv) = cell.get() {
            return Ok(kv);
        }
        let kv = self
            .env
            .kv(name)
            .map_err(|e| StoreError::Unavailable(format!("KV binding {name}: {e}")))?;
        Ok(cell.get_or_init(|| kv))
    }

    /// Runs one storage call under the timeout, after any injected fault for (`op`, `key`).
    pub(crate) async fn call<T, E: std::fmt::Display>(
        &self,
        op: StorageOp,
        key: &str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, StoreError> {
        let what = || format!("{op:?} {}", key_kind(key));
        let injected = self.faults.for_call(op, key);
        if injected == Some(FaultKind::Fail) {
            return Err(StoreError::Unavailable(format!(
                "{} failed (injected)",
                what()
            )));
        }
        // An injected timeout stalls the call itself, so the real timeout below has to fire.
        let stall_ms = if injected == Some(FaultKind::Timeout) {
            self.timeout_ms.saturating_mul(2)
        } else {
            0
        };
        let call = async move {
            if stall_ms > 0 {
                Delay::from(Duration::from_millis(stall_ms)).await;
            }
            fut.await
        };
        match timeout(self.timeout_ms, call).await {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(StoreError::Unavailable(format!("{} failed: {e}", what()))),
            None => Err(StoreError::Unavailable(format!(
                "{} timed out after {} ms",
                what(),
                self.timeout_ms
            ))),
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        kv: &KvStore,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let text = self.get_text(kv, key).await?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", key_kind(key))))
        })
        .transpose()
    }

    // The I/O halves are not generic: each generic instantiation would otherwise carry its own
    // copy of the call-with-timeout state machine (measured: several KB of the Worker each).
    async fn get_text(&self, kv: &KvStore, key: &str) -> Result<Option<String>, StoreError> {
        self.call(StorageOp::Get, key, kv.get(key).text()).await
    }

    async fn put_json<T: Serialize, M: Serialize>(
        &self,
        kv: &KvStore,
        key: &str,
        value: &T,
        metadata: Option<&M>,
        expiration: Option<UnixSeconds>,
    ) -> Result<(), StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let json = serde_json::to_string(value).map_err(corrupt)?;
        let metadata = metadata
            .map(serde_json::to_value)
            .transpose()
            .map_err(corrupt)?;
        self.put_text(kv, key, json, metadata, expiration).await
    }

    async fn put_text(
        &self,
        kv: &KvStore,
        key: &str,
        value: String,
        metadata: Option<serde_json::Value>,
        expiration: Option<UnixSeconds>,
    ) -> Result<(), StoreError> {
        let mut put = kv
            .put(key, value)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        if let Some(m) = metadata {
            put = put
                .metadata(m)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        if let Some(at) = expiration {
            put = put.expiration(at);
        }
        self.call(StorageOp::Put, key, put.execute()).await
    }

    async fn delete(&self, kv: &KvStore, key: &str) -> Result<(), StoreError> {
        self.call(StorageOp::Delete, key, kv.delete(key)).await
    }
}

/// The first segment of a key, for messages that must not echo emails or ids.
fn key_kind(key: &str) -> &str {
    key.split(':').next().unwrap_or("key")
}

/// Polls `fut` until it finishes or `ms` milliseconds pass (then `None`).
pub(crate) async fn timeout<T>(ms: u64, fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = pin!(fut);
    let mut delay = pin!(Delay::from(Duration::from_millis(ms)));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if delay.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

impl UserStore for WorkerStores {
    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.get_json(self.users()?, &user_key(id)).await
    }

    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        let key = email_key(email);
        let value = self.get_text(self.users()?, &key).await?;
        value
            .map(|v| {
                Id::parse(v.trim())
                    .ok_or_else(|| StoreError::Corrupt("email index entry is not an id".into()))
            })
            .transpose()
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.put_json(
            self.users()?,
            &user_key(&user.id),
            user,
            Some(&user.summary()),
            None,
        )
        .await
    }

    async fn put_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        let key = email_key(email);
        self.put_text(self.users()?, &key, id.to_hyphenated(), None, None)
            .await
    }

    async fn delete_user(&self, id: &Id) -> Result<(), StoreError> {
        self.delete(self.users()?, &user_key(id)).await
    }

    async fn delete_email(&self, email: &str) -> Result<(), StoreError> {
        self.delete(self.users()?, &email_key(email)).await
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError> {
        let mut list = self
            .users()?
            .list()
            .prefix(USER_KEY_PREFIX.to_string())
            .limit(u64::from(limit));
        if let Some(c) = cursor {
            list = list.cursor(c.to_string());
        }
        let page = self
            .call(StorageOp::List, USER_KEY_PREFIX, list.execute())
            .await?;
        let mut users = Vec::with_capacity(page.keys.len());
        for key in page.keys {
            match key
                .metadata
                .and_then(|m| serde_json::from_value::<UserSummary>(m).ok())
            {
                Some(summary) => users.push(summary),
                // Records written without listing metadata (by hand, say) cost one read each.
                None => {
                    if let Some(user) = self
                        .get_json::<UserRecord>(self.users()?, &key.name)
                        .await?
                    {
                        users.push(user.summary());
                    }
                }
            }
        }
        Ok(UserPage {
            users,
            cursor: if page.list_complete {
                None
            } else {
                page.cursor
            },
        })
    }
}

impl FamilyStore for WorkerStores {
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<Option<Family>, StoreError> {
        self.get_json(self.tokens()?, &family_key(user_id, family_id))
            .await
    }

    async fn put_family(&self, family: &Family, expires_at: UnixSeconds) -> Result<(), StoreError> {
        // The whole record rides in the metadata too, so listing sessions is one operation.
        let mut listed = family.clone();
        while serde_json::to_string(&listed).map_or(0, |s| s.len()) > MAX_METADATA_BYTES
            && !listed.user_agent.is_empty()
        {
            let keep = listed.user_agent.chars().count() / 2;
            listed.user_agent = listed.user_agent.chars().take(keep).collect();
        }
        self.put_json(
            self.tokens()?,
            &family_key(&family.user_id, &family.id),
            family,
            Some(&listed),
            Some(expires_at),
        )
        .await
    }

    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError> {
        self.delete(self.tokens()?, &family_key(user_id, family_id))
            .await
    }

    async fn list_families(&self, user_id: &Id) -> Result<Vec<Family>, StoreError> {
        let prefix = family_key_prefix(user_id);
        let mut families = Vec::new();
        // Every page: KV returns at most 1,000 keys per call, and a user with more sessions
        // than that (a script logging in in a loop) must still have all of them listed, so
        // that logout-all paths and deleting the user reach each one.
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.tokens()?.list().prefix(prefix.clone());
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = self.call(StorageOp::List, &prefix, list.execute()).await?;
            for key in page.keys {
                match key
                    .metadata
                    .and_then(|m| serde_json::from_value::<Family>(m).ok())
                {
                    Some(family) => families.push(family),
                    None => {
                        if let Some(family) =
                            self.get_json::<Family>(self.tokens()?, &key.name).await?
                        {
                            families.push(family);
                        }
                    }
                }
            }
            match page.cursor.filter(|_| !page.list_complete) {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(families)
    }
}
