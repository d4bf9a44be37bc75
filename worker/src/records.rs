//! The two Durable Objects that order every write of a user record and of an email index
//! entry, so that KV's last-write-wins never lets a stale copy undo a newer security fact
//! (see `tollgate_core::store::records` and the README's "Consistency").
//!
//! - [`UserRecords`], one object per user (named by the user id): its *sequencer*. Creating,
//!   changing (logout-all, password, role, re-hash) and deleting the user are requests to it;
//!   it applies each change to the current record ([`UserRecord::apply`]) and writes the
//!   result to KV, one request at a time, at its own location. Whatever location asks, the
//!   change starts from the latest record, never from a location's lagging copy.
//! - [`EmailClaims`], one object per email key (the address folded,
//!   `tollgate_core::email::fold_email`, so every case of an address is one object): who
//!   claimed the address, so that of any number of concurrent registrations, at one location
//!   or many, exactly one gets it; it is also the only writer of the address's index entry.
//!
//! KV stays the read path (`/me`, logins, refreshes, the admin listing) and keeps its
//! documented formats, so `tollgate import` and `tollgate user add` output still loads with
//! `wrangler kv bulk put`: an object that holds nothing yet starts from what KV holds.
//!
//! The Worker and the objects speak JSON over `POST https://records/<op>`; every answer is
//! 200 with a JSON body, or an error status that the Worker reports as storage being
//! unavailable (503, nothing half-written).

use serde::{Deserialize, Serialize};
use tollgate_core::id::Id;
use tollgate_core::refresh::{Family, RevokeReason};
use tollgate_core::store::{ChangeRequest, StoreError, UserRecord};
use tollgate_core::time::UnixSeconds;
use worker::{Method, Request, RequestInit};

use crate::faults::StorageOp;
use crate::kv::WorkerStores;

/// The binding of [`UserRecords`] in `wrangler.toml`.
pub const USER_RECORDS: &str = "USER_RECORDS";
/// The binding of [`EmailClaims`] in `wrangler.toml`.
pub const EMAIL_CLAIMS: &str = "EMAIL_CLAIMS";

/// What the Worker asks a user's sequencer.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SequencerRequest {
    /// The current record.
    Get,
    /// Stores a new user.
    Create { user: UserRecord },
    /// Applies a change to the current record.
    Change { request: ChangeRequest },
    /// Deletes the user.
    Remove,
    /// Strict mode: a family of the user and its revocation marker.
    GetFamily { family: Id },
    /// Strict mode: stores a family if the stored generation is still `replacing`.
    PutFamily {
        family: Family,
        expires_at: UnixSeconds,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replacing: Option<u32>,
    },
    /// Strict mode: writes a family's revocation marker.
    RevokeFamily {
        family: Id,
        reason: RevokeReason,
        until: UnixSeconds,
    },
    /// Strict mode: forgets a dead family.
    DeleteFamily { family: Id },
    /// Strict mode: every family of the user, with its marker applied.
    ListFamilies,
}

/// Why a sequencer refused a change (the errors of [`UserRecord::apply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Refusal {
    /// The caller's token was issued before the user's sessions were ended.
    SessionEnded,
    /// The caller is the user, and the account is disabled.
    AccountDisabled,
    /// The record cannot be changed (a session epoch at its maximum).
    Corrupt,
    /// A second factor was consumed already (a TOTP step, a recovery code) or changed.
    InvalidCode,
    /// The pending login is gone: used, expired or dead.
    MfaTokenInvalid,
    /// The change would leave the account no way to sign in.
    LastLoginMethod,
    /// The change names something the record does not have (a passkey).
    NotFound,
    /// A passkey sign-in refused on the current record (gone, or its counter did not grow).
    InvalidCredentials,
    /// A passkey the record already has, or one too many.
    CredentialNotAccepted,
    /// The account already has another identity at that provider.
    AccountExists,
}

/// A sequencer's answer: the record after the request (before it, for `remove`), or none;
/// for the family requests of strict mode, the family, its marker, whether a put was stored,
/// or the list.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct SequencerAnswer {
    #[serde(default)]
    pub(crate) user: Option<UserRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refused: Option<Refusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) family: Option<Family>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revoked: Option<RevokeReason>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) conflict: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) families: Vec<Family>,
}

/// What the Worker asks an address's claim object.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClaimRequest {
    /// Claims the address for `id` (taking over a claim of `replacing`).
    Claim {
        id: Id,
        now: UnixSeconds,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replacing: Option<Id>,
    },
    /// Points the index entry at `id`, if `id` holds the claim.
    Bind { id: Id },
    /// Gives up `id`'s claim and its index entry.
    Release { id: Id },
}

/// A claim object's answer: who holds the address and since when, if not the asker.
#[derive(Serialize, Deserialize)]
pub(crate) struct ClaimAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) taken: Option<(Id, UnixSeconds)>,
}

impl WorkerStores {
    /// One request to user `id`'s sequencer.
    pub(crate) async fn ask_sequencer(
        &self,
        id: &Id,
        request: &SequencerRequest,
    ) -> Result<SequencerAnswer, StoreError> {
        let answer = self
            .ask_object(USER_RECORDS, &id.to_hyphenated(), "user", request)
            .await?;
        parse(&answer)
    }

    /// One request to the claim object of an email key (the address folded).
    pub(crate) async fn ask_claims(
        &self,
        email: &str,
        request: &ClaimRequest,
    ) -> Result<ClaimAnswer, StoreError> {
        let answer = self
            .ask_object(EMAIL_CLAIMS, email, "email", request)
            .await?;
        parse(&answer)
    }

    /// One round trip to the object `name` of `binding`, under the storage timeout and any
    /// injected fault (`object:user=fail`, `object:email=timeout`).
    async fn ask_object<T: Serialize>(
        &self,
        binding: &str,
        name: &str,
        kind: &str,
        request: &T,
    ) -> Result<String, StoreError> {
        let body = serde_json::to_string(&Envelope { name, request })
            .map_err(|e| StoreError::Corrupt(format!("{kind} object request: {e}")))?;
        let unavailable = |e: worker::Error| StoreError::Unavailable(format!("{kind} object: {e}"));
        let namespace = self.env.durable_object(binding).map_err(unavailable)?;
        let stub = namespace
            .id_from_name(name)
            .and_then(|id| id.get_stub())
            .map_err(unavailable)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let request = Request::new_with_init("https://records/", &init).map_err(unavailable)?;
        let exchange = async {
            let mut response = stub.fetch_with_request(request).await?;
            match response.status_code() {
                200 => response.text().await,
                status => Err(worker::Error::RustError(format!(
                    "status {status}: {}",
                    response.text().await.unwrap_or_default()
                ))),
            }
        };
        // The fault key names the object's kind, never the email or id.
        self.call(StorageOp::Object, kind, exchange).await
    }
}

/// A request with the name of the object it is for (the object checks it is that one).
#[derive(Serialize, Deserialize)]
struct Envelope<N, T> {
    name: N,
    request: T,
}

fn parse<T: for<'de> Deserialize<'de>>(answer: &str) -> Result<T, StoreError> {
    serde_json::from_str(answer).map_err(|e| StoreError::Corrupt(format!("object answer: {e}")))
}

#[cfg(feature = "entry")]
pub use objects::{EmailClaims, UserRecords};

#[cfg(feature = "entry")]
mod families;

#[cfg(feature = "entry")]
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
mod objects {
    use std::cell::{Cell, RefCell};
    use std::future::poll_fn;
    use std::task::{Poll, Waker};

    use serde::{Deserialize, Serialize};
    use tollgate_core::id::Id;
    use tollgate_core::store::records::{email_key, user_key};
    use tollgate_core::store::strict::current_user;
    use tollgate_core::store::{StoreError, UserRecord};
    use tollgate_core::time::UnixSeconds;
    use tollgate_core::{Error, TokenRejection};
    use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

    use super::{ClaimAnswer, ClaimRequest, Envelope, Refusal, SequencerAnswer, SequencerRequest};
    use crate::faults::Faults;
    use crate::kv::WorkerStores;

    /// The storage key of a claim.
    const CLAIM: &str = "claim";
    /// The storage key of a user's record, in its sequencer.
    const STORED_USER: &str = "user";
    /// The storage key of when a sequencer deleted its user.
    const DELETED_AT: &str = "deleted_at";

    /// One request at a time, across awaits. The runtime serialises an object's storage
    /// calls, but a KV call is outside I/O, during which another request may start; each
    /// request here reads, decides and writes with nothing of another in between.
    #[derive(Default)]
    struct Turns {
        busy: Cell<bool>,
        waiting: RefCell<Vec<Waker>>,
    }

    /// Holds a turn until dropped.
    struct Turn<'a>(&'a Turns);

    impl Turns {
        async fn take(&self) -> Turn<'_> {
            poll_fn(|cx| {
                if self.busy.replace(true) {
                    self.waiting.borrow_mut().push(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            Turn(self)
        }
    }

    impl Drop for Turn<'_> {
        fn drop(&mut self) {
            self.0.busy.set(false);
            // Everyone waiting tries again; one gets the turn, the rest wait again.
            for waker in self.0.waiting.take() {
                waker.wake();
            }
        }
    }

    /// KV as an object sees it: the deployment's storage timeout and fault plan apply to the
    /// objects' own KV calls too (`put:email=fail` fails the claim object's index write).
    fn stores(env: &Env) -> WorkerStores {
        let timeout_ms = env
            .var("STORAGE_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.to_string().trim().parse().ok())
            .filter(|ms| *ms > 0)
            .unwrap_or(crate::config::DEFAULT_STORAGE_TIMEOUT_MS);
        WorkerStores::new(env, timeout_ms, object_faults(env))
    }

    #[cfg(feature = "fault-injection")]
    fn object_faults(env: &Env) -> Faults {
        env.var("TOLLGATE_FAULT_INJECTION")
            .ok()
            .and_then(|plan| Faults::parse(&plan.to_string()).ok())
            .unwrap_or_else(Faults::none)
    }

    #[cfg(not(feature = "fault-injection"))]
    fn object_faults(_env: &Env) -> Faults {
        Faults::none()
    }

    fn answer<T: Serialize>(value: &T) -> Result<Response> {
        Response::from_json(value)
    }

    fn failed(e: &StoreError) -> Result<Response> {
        let (StoreError::Unavailable(why) | StoreError::Corrupt(why)) = e;
        Response::error(why.as_str(), 503)
    }

    /// A user's sequencer (see the module docs), and in strict mode the keeper of the user's
    /// refresh families (`super::families`).
    #[durable_object]
    pub struct UserRecords {
        pub(in crate::records) state: State,
        pub(in crate::records) kv: WorkerStores,
        turns: Turns,
        /// `CONSISTENCY = "strict"`: decisions read this object's own storage.
        pub(in crate::records) strict: bool,
    }

    impl UserRecords {
        /// The current record. In the default mode, KV here: KV makes a write visible at once
        /// at the location that made it (Cloudflare's KV documentation, "How KV works"), and
        /// every write of a user record is made here, one at a time, so KV here holds the
        /// latest record (an operator's `wrangler kv` edit, such as promoting the first admin,
        /// arrives like any other write, within KV's propagation window). In strict mode, this
        /// object's own storage, with KV consulted only for a record changed by someone else
        /// later (`tollgate_core::store::strict::current_user`).
        async fn current(&self, id: &Id) -> std::result::Result<Option<UserRecord>, StoreError> {
            if !self.strict {
                return self.kv.kv_get_user(id).await;
            }
            let storage = self.state.storage();
            let (stored, deleted, kv) = futures_util::future::join3(
                storage.get::<String>(STORED_USER),
                storage.get::<UnixSeconds>(DELETED_AT),
                self.kv.kv_get_user(id),
            )
            .await;
            let unavailable = |e: worker::Error| StoreError::Unavailable(e.to_string());
            let stored = stored
                .map_err(unavailable)?
                .map(|json| {
                    serde_json::from_str::<UserRecord>(&json)
                        .map_err(|e| StoreError::Corrupt(format!("stored user: {e}")))
                })
                .transpose()?;
            Ok(current_user(stored, deleted.map_err(unavailable)?, kv?))
        }

        /// Stores the record after a change, or deletes it: in this object's storage first (in
        /// either mode, so that a switch to strict mode finds every change), then in KV.
        async fn keep(
            &self,
            id: &Id,
            user: Option<&UserRecord>,
        ) -> std::result::Result<(), StoreError> {
            let storage = self.state.storage();
            let unavailable = |e: worker::Error| StoreError::Unavailable(e.to_string());
            match user {
                Some(user) => {
                    let json = serde_json::to_string(user)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    storage.put(STORED_USER, json).await.map_err(unavailable)?;
                    self.kv.kv_put_user(user).await
                }
                None => {
                    // The record, and in strict mode the user's families and markers: nothing
                    // of a deleted user is needed (its tokens are refused for the user alone).
                    storage.delete_all().await.map_err(unavailable)?;
                    storage
                        .put(DELETED_AT, crate::now())
                        .await
                        .map_err(unavailable)?;
                    self.kv.kv_delete(&user_key(id)).await
                }
            }
        }

        async fn handle(
            &self,
            id: &Id,
            request: SequencerRequest,
        ) -> std::result::Result<SequencerAnswer, StoreError> {
            let _turn = self.turns.take().await;
            let done = |user| SequencerAnswer {
                user,
                ..SequencerAnswer::default()
            };
            match request {
                SequencerRequest::Get => Ok(done(self.current(id).await?)),
                SequencerRequest::Create { user } => {
                    self.keep(id, Some(&user)).await?;
                    Ok(done(Some(user)))
                }
                SequencerRequest::Remove => {
                    let before = self.current(id).await?;
                    self.keep(id, None).await?;
                    Ok(done(before))
                }
                family_request @ (SequencerRequest::GetFamily { .. }
                | SequencerRequest::PutFamily { .. }
                | SequencerRequest::RevokeFamily { .. }
                | SequencerRequest::DeleteFamily { .. }
                | SequencerRequest::ListFamilies) => self.families(id, family_request).await,
                SequencerRequest::Change { request } => {
                    let Some(current) = self.current(id).await? else {
                        return Ok(done(None));
                    };
                    match current.apply(&request) {
                        Ok(Some(next)) => {
                            self.keep(id, Some(&next)).await?;
                            Ok(done(Some(next)))
                        }
                        Ok(None) => Ok(done(Some(current))),
                        Err(Error::InvalidToken(TokenRejection::AccountDisabled)) => {
                            Ok(refused(Refusal::AccountDisabled))
                        }
                        Err(Error::InvalidToken(_)) => Ok(refused(Refusal::SessionEnded)),
                        Err(Error::InvalidCode) => Ok(refused(Refusal::InvalidCode)),
                        Err(Error::MfaTokenInvalid) => Ok(refused(Refusal::MfaTokenInvalid)),
                        Err(Error::LastLoginMethod) => Ok(refused(Refusal::LastLoginMethod)),
                        Err(Error::NotFound) => Ok(refused(Refusal::NotFound)),
                        Err(Error::InvalidCredentials) => Ok(refused(Refusal::InvalidCredentials)),
                        Err(Error::Validation(_)) => Ok(refused(Refusal::CredentialNotAccepted)),
                        Err(Error::AccountExists) => Ok(refused(Refusal::AccountExists)),
                        Err(_) => Ok(refused(Refusal::Corrupt)),
                    }
                }
            }
        }
    }

    fn refused(refusal: Refusal) -> SequencerAnswer {
        SequencerAnswer {
            refused: Some(refusal),
            ..SequencerAnswer::default()
        }
    }

    impl DurableObject for UserRecords {
        fn new(state: State, env: Env) -> Self {
            // The Worker reads the same var and refuses any value but these two (503
            // `misconfigured`), so no request reaches an object under a third.
            let strict = env
                .var("CONSISTENCY")
                .is_ok_and(|v| v.to_string().trim() == "strict");
            UserRecords {
                state,
                kv: stores(&env),
                turns: Turns::default(),
                strict,
            }
        }

        async fn fetch(&self, mut req: Request) -> Result<Response> {
            let Ok(Envelope { name, request }) =
                req.json::<Envelope<String, SequencerRequest>>().await
            else {
                return Response::error("bad sequencer request", 400);
            };
            let Some(id) = Id::parse(&name) else {
                return Response::error("a user sequencer is named by its user id", 400);
            };
            match self.handle(&id, request).await {
                Ok(a) => answer(&a),
                Err(e) => failed(&e),
            }
        }
    }

    /// An address's claim (see the module docs).
    #[durable_object]
    pub struct EmailClaims {
        state: State,
        kv: WorkerStores,
        turns: Turns,
    }

    /// Who holds the address, and since when.
    #[derive(Clone, Copy, Serialize, Deserialize)]
    struct Held {
        holder: Id,
        since: UnixSeconds,
    }

    impl EmailClaims {
        async fn held(&self) -> std::result::Result<Option<Held>, StoreError> {
            let held: Option<String> = self
                .state
                .storage()
                .get(CLAIM)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            held.map(|h| {
                serde_json::from_str(&h).map_err(|e| StoreError::Corrupt(format!("claim: {e}")))
            })
            .transpose()
        }

        async fn hold(&self, held: Option<Held>) -> std::result::Result<(), StoreError> {
            let storage = self.state.storage();
            let stored = match held {
                Some(h) => {
                    let json = serde_json::to_string(&h)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    storage.put(CLAIM, json).await
                }
                None => storage.delete(CLAIM).await.map(drop),
            };
            stored.map_err(|e| StoreError::Unavailable(e.to_string()))
        }

        async fn handle(
            &self,
            email: &str,
            request: ClaimRequest,
        ) -> std::result::Result<ClaimAnswer, StoreError> {
            let _turn = self.turns.take().await;
            let free = ClaimAnswer { taken: None };
            match request {
                ClaimRequest::Claim { id, now, replacing } => {
                    // An address indexed before claims existed (an import, an older
                    // Tollgate) is held by its account since forever.
                    let held = match self.held().await? {
                        Some(h) => Some(h),
                        None => self
                            .kv
                            .kv_find_user_id(email)
                            .await?
                            .map(|holder| Held { holder, since: 0 }),
                    };
                    match held {
                        Some(h) if h.holder != id && Some(h.holder) != replacing => {
                            Ok(ClaimAnswer {
                                taken: Some((h.holder, h.since)),
                            })
                        }
                        _ => {
                            self.hold(Some(Held {
                                holder: id,
                                since: now,
                            }))
                            .await?;
                            Ok(free)
                        }
                    }
                }
                ClaimRequest::Bind { id } => {
                    if self.held().await?.is_some_and(|h| h.holder == id) {
                        self.kv.kv_put_email(email, &id).await?;
                    }
                    Ok(free)
                }
                ClaimRequest::Release { id } => {
                    if self.held().await?.is_some_and(|h| h.holder == id) {
                        self.hold(None).await?;
                    }
                    if self.kv.kv_find_user_id(email).await? == Some(id) {
                        self.kv.kv_delete(&email_key(email)).await?;
                    }
                    Ok(free)
                }
            }
        }
    }

    impl DurableObject for EmailClaims {
        fn new(state: State, env: Env) -> Self {
            EmailClaims {
                state,
                kv: stores(&env),
                turns: Turns::default(),
            }
        }

        async fn fetch(&self, mut req: Request) -> Result<Response> {
            let Ok(Envelope {
                name: email,
                request,
            }) = req.json::<Envelope<String, ClaimRequest>>().await
            else {
                return Response::error("bad claim request", 400);
            };
            match self.handle(&email, request).await {
                Ok(a) => answer(&a),
                Err(e) => failed(&e),
            }
        }
    }
}
