//! Strict mode (`CONSISTENCY = "strict"`): a user's security state kept by its own object.
//!
//! In strict mode the user's object (the Worker's `UserRecords` Durable Object, the sequencer
//! of [`super::records`]) holds the user record and the refresh families in its own
//! strongly consistent storage, and every decision reads them there: a revocation is seen by
//! the very next request, wherever it lands. KV stays a replica, written by the object after
//! its own storage, for `/me`, the admin listing and a later switch back to the default mode.
//!
//! The object also reads KV, for what only KV can hold: an operator's edit made with
//! `wrangler kv` (or `tollgate import`), and the state a deployment built up before it
//! switched to strict mode. The rules below merge the two so that KV can only ever add a newer
//! fact, never take one back: a copy in KV that lags behind the object's own writes (KV shows
//! a write at other locations up to 60 s later) changes nothing.

use crate::refresh::Family;
use crate::store::{StoredFamily, UserRecord};
use crate::time::UnixSeconds;

/// The user record strict mode decides with, from the object's copy (`stored`, absent before
/// its first write), the time the object deleted the user (`deleted_at`), and KV's copy.
///
/// Every write the object makes stamps `updated_at` and reaches its own storage before KV, so
/// KV's copy is newer only when someone else wrote it: an operator who changed the record and
/// moved `updated_at` on, or a record that only KV has (imported, or written before the switch
/// to strict mode). Ties go to the object. A user the object deleted stays deleted unless KV
/// holds a record changed after the deletion.
pub fn current_user(
    stored: Option<UserRecord>,
    deleted_at: Option<UnixSeconds>,
    kv: Option<UserRecord>,
) -> Option<UserRecord> {
    let floor = stored
        .as_ref()
        .map(|s| s.updated_at)
        .or(deleted_at)
        .unwrap_or(0);
    match kv {
        Some(k) if (stored.is_none() && deleted_at.is_none()) || k.updated_at > floor => Some(k),
        _ => stored,
    }
}

/// The family strict mode decides with, from the object's copy and KV's.
///
/// A revocation marker in either place revokes (markers are only ever added). KV's record is
/// taken only when the object has none: a family started before the switch to strict mode,
/// adopted at its first use. A generation KV saw advance while the deployment ran in the
/// default mode needs no merging: a refresh presenting a newer generation than the stored one
/// advances from the presented one (see [`crate::refresh::family`]).
pub fn current_family(stored: StoredFamily, kv: StoredFamily) -> StoredFamily {
    StoredFamily {
        record: stored.record.or(kv.record),
        revoked: stored.revoked.or(kv.revoked),
    }
}

/// Whether the object stores `family` over `current` when the writer read generation
/// `replacing` (`None`: a new family): a compare-and-set on the generation, so that of two
/// concurrent refreshes of one generation only the first writes, and the second reads the
/// record again ([`super::Put::Conflict`]).
pub fn accepts(current: Option<&Family>, replacing: Option<u32>) -> bool {
    match (current, replacing) {
        (None, _) => true,
        (Some(c), Some(g)) => c.generation == g,
        // A new family's id is 128 random bits: one already stored is a retry of the same
        // login, which may store it again only while nothing advanced it.
        (Some(c), None) => c.generation == 0,
    }
}

/// Whether a family the object stores can be forgotten at `now`: it is past its absolute end,
/// after which no token of it is accepted whatever the storage says.
pub fn expired(family: &Family, now: UnixSeconds) -> bool {
    family.expires_at <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Id;
    use crate::refresh::RevokeReason;
    use alloc::string::String;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn user(updated_at: UnixSeconds, role: &str) -> UserRecord {
        let mut u = UserRecord::new(
            Id::from_bytes([7; 16]),
            String::from("sam@example.com"),
            String::from("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            String::from(role),
            1,
        );
        u.updated_at = updated_at;
        u
    }

    fn family(generation: u32) -> Family {
        Family {
            id: Id::from_bytes([9; 16]),
            user_id: Id::from_bytes([7; 16]),
            generation,
            rotated_at: 10,
            created_at: 10,
            last_used_at: 10,
            expires_at: 1000,
            epoch: 0,
            user_agent: String::new(),
            revoked: None,
            scope: None,
            amr: None,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_lagging_kv_copy_never_undoes_the_objects_write() {
        // The object demoted the admin at 100; KV here still shows the admin record of 90.
        let stored = user(100, "user");
        assert_eq!(
            current_user(Some(stored.clone()), None, Some(user(90, "admin"))),
            Some(stored.clone())
        );
        // The same second: the object's copy wins.
        assert_eq!(
            current_user(Some(stored.clone()), None, Some(user(100, "admin"))),
            Some(stored)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_operators_later_edit_and_a_record_only_kv_has_are_taken_up() {
        let edited = user(101, "admin");
        assert_eq!(
            current_user(Some(user(100, "user")), None, Some(edited.clone())),
            Some(edited.clone())
        );
        assert_eq!(current_user(None, None, Some(edited.clone())), Some(edited));
        assert_eq!(current_user(None, None, None), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_deleted_user_stays_deleted_unless_kv_changed_it_afterwards() {
        assert_eq!(current_user(None, Some(100), Some(user(100, "user"))), None);
        assert_eq!(current_user(None, Some(100), Some(user(90, "user"))), None);
        let later = user(101, "user");
        assert_eq!(
            current_user(None, Some(100), Some(later.clone())),
            Some(later)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_marker_in_either_place_revokes_and_kv_only_fills_a_missing_record() {
        let in_kv = StoredFamily {
            record: Some(family(5)),
            revoked: Some(RevokeReason::Ended),
        };
        let stored = StoredFamily {
            record: Some(family(2)),
            revoked: None,
        };
        let merged = current_family(stored.clone(), in_kv.clone());
        assert_eq!(merged.record, Some(family(2)), "the object's record");
        assert_eq!(merged.revoked, Some(RevokeReason::Ended), "KV's marker");
        let adopted = current_family(StoredFamily::default(), in_kv.clone());
        assert_eq!(adopted, in_kv);
        let reused = StoredFamily {
            record: None,
            revoked: Some(RevokeReason::Reuse),
        };
        assert_eq!(
            current_family(reused, StoredFamily::default()).revoked,
            Some(RevokeReason::Reuse)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_write_must_replace_the_generation_it_read() {
        assert!(accepts(None, None));
        assert!(
            accepts(None, Some(3)),
            "forgotten meanwhile: nothing to lose"
        );
        assert!(accepts(Some(&family(3)), Some(3)));
        assert!(!accepts(Some(&family(4)), Some(3)), "another refresh won");
        assert!(accepts(Some(&family(0)), None), "a retried login");
        assert!(!accepts(Some(&family(1)), None));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_family_past_its_absolute_end_is_forgotten() {
        assert!(!expired(&family(0), 999));
        assert!(expired(&family(0), 1000));
    }
}
