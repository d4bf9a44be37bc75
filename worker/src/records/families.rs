//! Strict mode's refresh families, kept by the user's `UserRecords` object.
//!
//! With `CONSISTENCY = "strict"` the Worker sends every family read and write of a user to
//! that user's object (`WorkerStores` routes them; see `crate::kv`), which handles one request
//! at a time and keeps the families in its own storage:
//!
//! | storage key | value |
//! |---|---|
//! | `family:{family id}` | the family record (the same JSON as in KV) |
//! | `revoked:{family id}` | `{"reason","until"}` |
//!
//! So a refresh, a logout and a reuse detection are ordered at one place, and each sees every
//! one before it: a family revoked for reuse is refused on the very next request, wherever it
//! lands, and a put replaces only the generation its refresh read (a compare-and-set).
//!
//! Every write also goes to KV, after the object's own storage: markers always (a switch back
//! to the default mode must find every revocation), family records as a best effort (KV takes
//! about one write per second per key; a copy that lags there only makes a refresh after a
//! switch back advance from the presented generation, see `tollgate_core::refresh::family`).
//! Reads merge in what only KV can hold, a marker or family written in the default mode before
//! the switch (`tollgate_core::store::strict::current_family`), so that no session revoked
//! then comes back.

use serde::{Deserialize, Serialize};
use tollgate_core::id::Id;
use tollgate_core::refresh::{Family, RevokeReason};
use tollgate_core::store::strict::{accepts, current_family, expired};
use tollgate_core::store::{FamilyStore, StoreError, StoredFamily};
use tollgate_core::time::UnixSeconds;
use worker::{ListOptions, Storage};

use super::objects::UserRecords;
use super::{SequencerAnswer, SequencerRequest};

/// A revocation marker as the object stores it.
#[derive(Serialize, Deserialize)]
struct Marker {
    reason: RevokeReason,
    until: UnixSeconds,
}

fn family_key(family: &Id) -> String {
    format!("family:{family}")
}

fn marker_key(family: &Id) -> String {
    format!("revoked:{family}")
}

fn unavailable(e: worker::Error) -> StoreError {
    StoreError::Unavailable(format!("user object storage: {e}"))
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("user object storage: {e}"))
}

impl UserRecords {
    /// One family request of strict mode, for user `id` (the object's own user), inside the
    /// object's turn.
    pub(super) async fn families(
        &self,
        id: &Id,
        request: SequencerRequest,
    ) -> Result<SequencerAnswer, StoreError> {
        let storage = self.state.storage();
        let now = crate::now();
        Ok(match request {
            SequencerRequest::GetFamily { family } => {
                let current = self.current_family(&storage, id, &family).await?;
                SequencerAnswer {
                    family: current.record,
                    revoked: current.revoked,
                    ..SequencerAnswer::default()
                }
            }
            SequencerRequest::PutFamily {
                family,
                expires_at,
                replacing,
            } => {
                // The compare-and-set needs only this object's copy: a family only KV holds is
                // adopted by this very write, and a marker only KV holds still refuses it on
                // every read.
                let current = stored_record(&storage, &family.id).await?;
                if !accepts(current.as_ref(), replacing) {
                    return Ok(SequencerAnswer {
                        conflict: true,
                        ..SequencerAnswer::default()
                    });
                }
                if family.generation == 0 {
                    // A login: a moment to forget the families that can no longer be used,
                    // at most once a day (it lists them all).
                    forget_expired(&storage, now).await?;
                }
                let json = serde_json::to_string(&family).map_err(corrupt)?;
                storage
                    .put(&family_key(&family.id), json)
                    .await
                    .map_err(unavailable)?;
                if let Err(e) = self.kv.put_family(&family, expires_at, None).await {
                    worker::console_warn!(
                        "{}",
                        serde_json::json!({"level": "warn", "event": "replica_write_failed", "detail": format!("family replica: {e:?}")})
                    );
                }
                SequencerAnswer::default()
            }
            SequencerRequest::RevokeFamily {
                family,
                reason,
                until,
            } => {
                let marker = serde_json::to_string(&Marker { reason, until }).map_err(corrupt)?;
                storage
                    .put(&marker_key(&family), marker)
                    .await
                    .map_err(unavailable)?;
                self.kv.revoke_family(id, &family, reason, until).await?;
                SequencerAnswer::default()
            }
            SequencerRequest::DeleteFamily { family } => {
                storage
                    .delete(&family_key(&family))
                    .await
                    .map_err(unavailable)?;
                self.kv.delete_family(id, &family).await?;
                SequencerAnswer::default()
            }
            SequencerRequest::ListFamilies => SequencerAnswer {
                families: self.list(&storage, id, now).await?,
                ..SequencerAnswer::default()
            },
            _ => return Err(StoreError::Corrupt("not a family request".into())),
        })
    }

    /// The family as strict mode decides with it: this object's copy, with what only KV holds
    /// merged in.
    async fn current_family(
        &self,
        storage: &Storage,
        user: &Id,
        family: &Id,
    ) -> Result<StoredFamily, StoreError> {
        let (record, marker, kv_marker) = futures_util::future::join3(
            stored_record(storage, family),
            storage.get::<String>(&marker_key(family)),
            self.kv.get_marker(user, family),
        )
        .await;
        let record = record?;
        let revoked = marker
            .map_err(unavailable)?
            .map(|json| serde_json::from_str::<Marker>(&json).map_err(corrupt))
            .transpose()?
            .map(|m| m.reason);
        let stored = StoredFamily { record, revoked };
        let in_kv = StoredFamily {
            // KV's record is needed only to adopt a family started before the switch.
            record: match stored.record {
                Some(_) => None,
                None => self.kv.get_family_record(user, family).await?,
            },
            revoked: kv_marker?,
        };
        Ok(current_family(stored, in_kv))
    }

    /// Every family of the user this object or KV holds, each with its marker.
    async fn list(
        &self,
        storage: &Storage,
        user: &Id,
        now: UnixSeconds,
    ) -> Result<Vec<Family>, StoreError> {
        let (families, markers) = futures_util::future::join(
            stored_values::<Family>(storage, "family:"),
            stored_values::<Marker>(storage, "revoked:"),
        )
        .await;
        let markers = markers?;
        let mut listed: Vec<Family> = families?
            .into_iter()
            .filter(|(_, f)| !expired(f, now))
            .map(|(key, f)| {
                let marker = markers
                    .iter()
                    .find(|(m, _)| m.strip_prefix("revoked:") == key.strip_prefix("family:"));
                Family {
                    revoked: marker.map(|(_, m)| m.reason).or(f.revoked),
                    ..f
                }
            })
            .collect();
        // Families started before the switch to strict mode are only in KV until first used.
        for family in self.kv.list_families(user).await? {
            if let Some(known) = listed.iter_mut().find(|f| f.id == family.id) {
                known.revoked = known.revoked.or(family.revoked);
            } else {
                listed.push(family);
            }
        }
        Ok(listed)
    }
}

/// The family record this object stores, if any.
async fn stored_record(storage: &Storage, family: &Id) -> Result<Option<Family>, StoreError> {
    let json = storage
        .get::<String>(&family_key(family))
        .await
        .map_err(unavailable)?;
    json.map(|j| serde_json::from_str::<Family>(&j).map_err(corrupt))
        .transpose()
}

/// Every `(key, value)` stored under `prefix`, parsed.
async fn stored_values<T: for<'de> Deserialize<'de>>(
    storage: &Storage,
    prefix: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    let map = storage
        .list_with_options(ListOptions::new().prefix(prefix))
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for entry in map.entries() {
        let pair = js_sys::Array::from(&entry.map_err(|e| StoreError::Corrupt(format!("{e:?}")))?);
        let (Some(key), Some(json)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            return Err(StoreError::Corrupt(
                "user object storage: not a string".into(),
            ));
        };
        out.push((key, serde_json::from_str(&json).map_err(corrupt)?));
    }
    Ok(out)
}

/// How often, at most, a login makes the object look for families it can forget.
const PRUNE_EVERY_S: UnixSeconds = 86_400;
/// The storage key of when the object last looked.
const PRUNED_AT: &str = "pruned_at";

/// Forgets the families past their absolute end, and their markers (a token of such a family
/// is refused for its age, with or without them), unless it looked less than a day ago.
async fn forget_expired(storage: &Storage, now: UnixSeconds) -> Result<(), StoreError> {
    let pruned_at = storage
        .get::<UnixSeconds>(PRUNED_AT)
        .await
        .map_err(unavailable)?
        .unwrap_or(0);
    if now.saturating_sub(pruned_at) < PRUNE_EVERY_S {
        return Ok(());
    }
    storage.put(PRUNED_AT, now).await.map_err(unavailable)?;
    let mut dead: Vec<String> = Vec::new();
    for (key, family) in stored_values::<Family>(storage, "family:").await? {
        if expired(&family, now) {
            dead.push(marker_key(&family.id));
            dead.push(key);
        }
    }
    for (key, marker) in stored_values::<Marker>(storage, "revoked:").await? {
        if marker.until <= now {
            dead.push(key);
        }
    }
    if !dead.is_empty() {
        storage.delete_multiple(dead).await.map_err(unavailable)?;
    }
    Ok(())
}
