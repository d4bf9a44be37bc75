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

use futures_util::future::join as join2;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_core::Error;
use tollgate_core::error::TokenRejection;
use tollgate_core::id::Id;
use tollgate_core::refresh::{Family, RevokeReason};
use tollgate_core::store::records::{
    USER_KEY_PREFIX, email_key, family_key, family_key_prefix, revocation_reason, revoked_key,
    revoked_key_prefix, user_key,
};
use tollgate_core::store::{
    ChangeError, ChangeRequest, Claim, FamilyStore, Put, StoreError, StoredFamily, UserPage,
    UserRecord, UserStore, UserSummary,
};
use tollgate_core::time::UnixSeconds;
use worker::{Delay, Env};

use crate::faults::{FaultKind, Faults, StorageOp};
use crate::kv_binding::{ListedKey, Namespace};
use crate::records::{ClaimRequest, Refusal, SequencerRequest};
use crate::storage_timer::{JsHost, StorageTimer};

/// KV metadata is limited to 1024 bytes of JSON; a family's user agent is cut to fit.
const MAX_METADATA_BYTES: usize = 1024;

/// The Worker's storage: KV for users and families, a Durable Object for throttling.
///
/// Each KV namespace is bound on first use (a call out of the wasm), and most requests need
/// only one of the two (`/me` reads `USERS` alone, a refresh mostly `TOKENS`); see
/// [`Namespace`] for how reads stay cheap.
pub struct WorkerStores {
    users: OnceCell<Namespace>,
    tokens: OnceCell<Namespace>,
    pub(crate) env: Env,
    pub(crate) timeout_ms: u64,
    /// The one timer this request's storage calls share (see [`StorageTimer`]).
    timer: StorageTimer<JsHost>,
    pub(crate) faults: Faults,
    /// `CONSISTENCY = "strict"`: user reads and every family call go to the user's object
    /// (see `tollgate_core::store::strict`).
    strict: bool,
}

impl WorkerStores {
    /// The stores over `env`'s `USERS`, `TOKENS` (and `THROTTLE`, used by the throttle module).
    pub fn new(env: &Env, timeout_ms: u64, faults: Faults) -> WorkerStores {
        WorkerStores {
            users: OnceCell::new(),
            tokens: OnceCell::new(),
            env: env.clone(),
            timeout_ms,
            timer: StorageTimer::new(JsHost),
            faults,
            strict: false,
        }
    }

    /// These stores in strict mode (`CONSISTENCY = "strict"`) or not.
    pub fn strict(self, strict: bool) -> WorkerStores {
        WorkerStores { strict, ..self }
    }

    /// The `USERS` namespace.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the binding is missing from `wrangler.toml`.
    fn users(&self) -> Result<&Namespace, StoreError> {
        self.bind(&self.users, "USERS")
    }

    /// The `TOKENS` namespace.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the binding is missing from `wrangler.toml`.
    fn tokens(&self) -> Result<&Namespace, StoreError> {
        self.bind(&self.tokens, "TOKENS")
    }

    fn bind<'a>(
        &'a self,
        cell: &'a OnceCell<Namespace>,
        name: &'static str,
    ) -> Result<&'a Namespace, StoreError> {
        if let Some(kv) = cell.get() {
            return Ok(kv);
        }
        let kv = Namespace::bind(&self.env, name).map_err(StoreError::Unavailable)?;
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
        if injected == Some(FaultKind::Trap) {
            // What a panic is in this build: the instance traps, and the entry must recover.
            std::process::abort();
        }
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
        match self.timer.within(self.timeout_ms, call).await {
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
        kv: &Namespace,
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
    async fn get_text(&self, kv: &Namespace, key: &str) -> Result<Option<String>, StoreError> {
        self.call(StorageOp::Get, key, kv.get_text(key)).await
    }

    async fn put_json<T: Serialize, M: Serialize>(
        &self,
        kv: &Namespace,
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
        kv: &Namespace,
        key: &str,
        value: String,
        metadata: Option<serde_json::Value>,
        expiration: Option<UnixSeconds>,
    ) -> Result<(), StoreError> {
        let put = kv.put(key, &value, metadata.as_ref(), expiration);
        self.call(StorageOp::Put, key, put).await
    }

    async fn delete(&self, kv: &Namespace, key: &str) -> Result<(), StoreError> {
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

/// The raw KV calls the Durable Objects of [`crate::records`] make: they are the only writers
/// of user records and email index entries.
impl WorkerStores {
    /// A user record as KV holds it here.
    pub(crate) async fn kv_get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.get_json(self.users()?, &user_key(id)).await
    }

    /// The id the email index holds for `email` here.
    pub(crate) async fn kv_find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        let key = email_key(email);
        let value = self.get_text(self.users()?, &key).await?;
        value
            .map(|v| {
                Id::parse(v.trim())
                    .ok_or_else(|| StoreError::Corrupt("email index entry is not an id".into()))
            })
            .transpose()
    }

    /// Writes a user record, with its listing summary as metadata.
    pub(crate) async fn kv_put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.put_json(
            self.users()?,
            &user_key(&user.id),
            user,
            Some(&user.summary()),
            None,
        )
        .await
    }

    /// Points the email index entry of `email` at `id`.
    pub(crate) async fn kv_put_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        let key = email_key(email);
        self.put_text(self.users()?, &key, id.to_hyphenated(), None, None)
            .await
    }

    /// A family's revocation marker as KV holds it here.
    pub(crate) async fn get_marker(
        &self,
        user_id: &Id,
        family_id: &Id,
    ) -> Result<Option<RevokeReason>, StoreError> {
        let marker = self
            .get_text(self.tokens()?, &revoked_key(user_id, family_id))
            .await?;
        marker.map(|r| revocation_reason(&r)).transpose()
    }

    /// Writes a short-lived record of a sign-in in progress (a pending sign-in, a link ticket)
    /// to `TOKENS`, gone by itself at `expires_at`.
    pub(crate) async fn kv_put_ephemeral(
        &self,
        key: &str,
        value: String,
        expires_at: UnixSeconds,
    ) -> Result<(), StoreError> {
        self.put_text(self.tokens()?, key, value, None, Some(expires_at))
            .await
    }

    /// Reads and deletes a short-lived record: the one use it has. The delete is awaited
    /// before the value is used, so a second use at this location finds nothing.
    pub(crate) async fn kv_take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let kv = self.tokens()?;
        let value = self.get_text(kv, key).await?;
        if value.is_some() {
            self.delete(kv, key).await?;
        }
        Ok(value)
    }

    /// Deletes one key of `USERS`.
    pub(crate) async fn kv_delete(&self, key: &str) -> Result<(), StoreError> {
        self.delete(self.users()?, key).await
    }

    /// A change's answer from the sequencer, as the core's [`ChangeError`].
    fn refused(refusal: Refusal) -> ChangeError {
        ChangeError::Refused(match refusal {
            Refusal::SessionEnded => Error::InvalidToken(TokenRejection::SessionEnded),
            Refusal::AccountDisabled => Error::InvalidToken(TokenRejection::AccountDisabled),
            Refusal::Corrupt => {
                Error::Internal("the user record cannot take the change (session epoch)".into())
            }
            Refusal::InvalidCode => Error::InvalidCode,
            Refusal::MfaTokenInvalid => Error::MfaTokenInvalid,
            Refusal::LastLoginMethod => Error::LastLoginMethod,
            Refusal::NotFound => Error::NotFound,
            Refusal::InvalidCredentials => Error::InvalidCredentials,
            Refusal::CredentialNotAccepted => {
                Error::field("credential", tollgate_core::ErrorCode::InvalidValue)
            }
            Refusal::AccountExists => Error::AccountExists,
        })
    }
}

impl UserStore for WorkerStores {
    async fn find_identity(&self, key: &str) -> Result<Option<Id>, StoreError> {
        let value = self.get_text(self.users()?, key).await?;
        value
            .map(|v| {
                Id::parse(v.trim())
                    .ok_or_else(|| StoreError::Corrupt("identity index entry is not an id".into()))
            })
            .transpose()
    }

    async fn bind_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        self.put_text(self.users()?, key, id.to_hyphenated(), None, None)
            .await
    }

    async fn release_identity(&self, key: &str, id: &Id) -> Result<(), StoreError> {
        if self.find_identity(key).await? == Some(*id) {
            self.delete(self.users()?, key).await?;
        }
        Ok(())
    }

    async fn get_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        if self.strict {
            return self.get_user_current(id).await;
        }
        self.kv_get_user(id).await
    }

    async fn get_user_replica(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        self.kv_get_user(id).await
    }

    async fn get_user_current(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.ask_sequencer(id, &SequencerRequest::Get).await?.user)
    }

    async fn find_user_id(&self, email: &str) -> Result<Option<Id>, StoreError> {
        // KV in either mode: the index only points at a record, and strict mode reads that
        // record in its object. Asking each address's object instead would make a login with
        // an unknown address start an object of its own, measurably slower than a known one:
        // a timing oracle for which addresses have accounts.
        self.kv_find_user_id(email).await
    }

    async fn claim_email(
        &self,
        email: &str,
        id: &Id,
        now: UnixSeconds,
        replacing: Option<&Id>,
    ) -> Result<Claim, StoreError> {
        let request = ClaimRequest::Claim {
            id: *id,
            now,
            replacing: replacing.copied(),
        };
        Ok(match self.ask_claims(email, &request).await?.taken {
            None => Claim::Claimed,
            Some((holder, since)) => Claim::Taken { holder, since },
        })
    }

    async fn bind_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        self.ask_claims(email, &ClaimRequest::Bind { id: *id })
            .await
            .map(drop)
    }

    async fn release_email(&self, email: &str, id: &Id) -> Result<(), StoreError> {
        self.ask_claims(email, &ClaimRequest::Release { id: *id })
            .await
            .map(drop)
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let request = SequencerRequest::Create { user: user.clone() };
        self.ask_sequencer(&user.id, &request).await.map(drop)
    }

    async fn change_user(
        &self,
        id: &Id,
        request: &ChangeRequest,
    ) -> Result<Option<UserRecord>, ChangeError> {
        let request = SequencerRequest::Change {
            request: request.clone(),
        };
        let answer = self.ask_sequencer(id, &request).await?;
        match answer.refused {
            Some(refusal) => Err(Self::refused(refusal)),
            None => Ok(answer.user),
        }
    }

    async fn remove_user(&self, id: &Id) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .ask_sequencer(id, &SequencerRequest::Remove)
            .await?
            .user)
    }

    async fn list_users(&self, cursor: Option<&str>, limit: u32) -> Result<UserPage, StoreError> {
        let list = self.users()?.list(USER_KEY_PREFIX, Some(limit), cursor);
        let page = self.call(StorageOp::List, USER_KEY_PREFIX, list).await?;
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
    async fn get_family(&self, user_id: &Id, family_id: &Id) -> Result<StoredFamily, StoreError> {
        if self.strict {
            let request = SequencerRequest::GetFamily { family: *family_id };
            let answer = self.ask_sequencer(user_id, &request).await?;
            return Ok(StoredFamily {
                record: answer.family,
                revoked: answer.revoked,
            });
        }
        // The record and its revocation marker are read at once: one round trip's wait.
        let tokens = self.tokens()?;
        let (record, revoked) = join2(
            self.get_json::<Family>(tokens, &family_key(user_id, family_id)),
            self.get_text(tokens, &revoked_key(user_id, family_id)),
        )
        .await;
        Ok(StoredFamily {
            record: record?,
            revoked: revoked?.map(|r| revocation_reason(&r)).transpose()?,
        })
    }

    async fn get_family_record(
        &self,
        user_id: &Id,
        family_id: &Id,
    ) -> Result<Option<Family>, StoreError> {
        if self.strict {
            return Ok(self.get_family(user_id, family_id).await?.record);
        }
        self.get_json(self.tokens()?, &family_key(user_id, family_id))
            .await
    }

    async fn put_family(
        &self,
        family: &Family,
        expires_at: UnixSeconds,
        replacing: Option<u32>,
    ) -> Result<Put, StoreError> {
        if self.strict {
            let request = SequencerRequest::PutFamily {
                family: family.clone(),
                expires_at,
                replacing,
            };
            let answer = self.ask_sequencer(&family.user_id, &request).await?;
            return Ok(if answer.conflict {
                Put::Conflict
            } else {
                Put::Stored
            });
        }
        // KV cannot compare and set: the write is made whatever is stored (see the core's
        // `Put`). The whole record rides in the metadata too, so listing sessions is one
        // operation.
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
        if self.strict {
            let request = SequencerRequest::RevokeFamily {
                family: *family_id,
                reason,
                until,
            };
            return self.ask_sequencer(user_id, &request).await.map(drop);
        }
        // The reason is the value and the metadata, so listing a user's markers reads none.
        let reason = reason.as_str();
        self.put_text(
            self.tokens()?,
            &revoked_key(user_id, family_id),
            reason.to_string(),
            Some(serde_json::Value::from(reason)),
            Some(until),
        )
        .await
    }

    async fn delete_family(&self, user_id: &Id, family_id: &Id) -> Result<(), StoreError> {
        if self.strict {
            let request = SequencerRequest::DeleteFamily { family: *family_id };
            return self.ask_sequencer(user_id, &request).await.map(drop);
        }
        self.delete(self.tokens()?, &family_key(user_id, family_id))
            .await
    }

    async fn list_families(&self, user_id: &Id) -> Result<Vec<Family>, StoreError> {
        if self.strict {
            let answer = self
                .ask_sequencer(user_id, &SequencerRequest::ListFamilies)
                .await?;
            return Ok(answer.families);
        }
        let (families, markers) = join2(
            self.list_all(&family_key_prefix(user_id)),
            self.list_all(&revoked_key_prefix(user_id)),
        )
        .await;
        let markers = markers?;
        let marker_prefix = revoked_key_prefix(user_id);
        let mut listed = Vec::new();
        for key in families? {
            let family = match key
                .metadata
                .and_then(|m| serde_json::from_value::<Family>(m).ok())
            {
                Some(family) => family,
                // Records written without listing metadata (by hand, say) cost one read each.
                None => match self.get_json::<Family>(self.tokens()?, &key.name).await? {
                    Some(family) => family,
                    None => continue,
                },
            };
            let marker = markers.iter().find(|m| {
                m.name.strip_prefix(&marker_prefix) == Some(family.id.to_hyphenated().as_str())
            });
            let revoked = match marker {
                Some(m) => Some(match m.metadata.as_ref().and_then(|v| v.as_str()) {
                    Some(reason) => revocation_reason(reason)?,
                    None => match self.get_text(self.tokens()?, &m.name).await? {
                        Some(reason) => revocation_reason(&reason)?,
                        None => continue,
                    },
                }),
                None => None,
            };
            listed.push(Family {
                revoked: revoked.or(family.revoked),
                ..family
            });
        }
        Ok(listed)
    }
}

impl WorkerStores {
    /// Every key of `TOKENS` under `prefix`, with its metadata. Every page: KV returns at most
    /// 1,000 keys per call, and a user with more sessions than that (a script logging in in a
    /// loop) must still have all of them listed, so that logout-all and deleting the user
    /// reach each one.
    async fn list_all(&self, prefix: &str) -> Result<Vec<ListedKey>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let list = self.tokens()?.list(prefix, None, cursor.as_deref());
            let page = self.call(StorageOp::List, prefix, list).await?;
            keys.extend(page.keys);
            match page.cursor.filter(|_| !page.list_complete) {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(keys)
    }
}
