//! The file `wrangler kv bulk put --binding USERS` loads: new user records in exactly the
//! format the Worker reads (`tollgate_core::store::records`, never re-spelled here).
//!
//! A JSON array with, per user, two entries in this order:
//! 1. `{"key": "user:{id}", "value": "<UserRecord JSON>", "metadata": <UserSummary>}`: the
//!    record, with its listing summary as the key's KV metadata;
//! 2. `{"key": "email:{email key}", "value": "{id}"}`: the email index, under the whole
//!    address case-folded (`tollgate_core::email::fold_email`); the record keeps the address
//!    as typed;
//! 3. for each identity at a provider the record lists, `{"key":
//!    "identity:{provider}:{subject}", "value": "{id}"}`: the identity index.
//!
//! The record comes first so that a load interrupted between batches can leave a user nobody
//! can find yet, but never an email pointing at a missing user. One entry per line, so the
//! file can be read with grep and diffed.

use std::io::{self, Write};

use serde::Serialize;
use tollgate_core::email::fold_email;
use tollgate_core::id::Id;
use tollgate_core::oidc::identity_key;
use tollgate_core::random::Random;
use tollgate_core::store::records::{email_key, user_key};
use tollgate_core::store::{UserRecord, UserSummary};
use tollgate_core::time::UnixSeconds;

/// One key/value pair as `wrangler kv bulk put` reads it.
#[derive(Serialize)]
struct BulkEntry<'a> {
    key: String,
    /// KV values are strings: the record is JSON inside a JSON string.
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a UserSummary>,
}

/// A new account's record: a fresh random id, created and updated `now`, session epoch 0.
///
/// `email` must already be normalised and `role` validated; `password_hash` is stored as is
/// (a legacy hash is upgraded to argon2id by the Worker at the user's first login).
pub fn new_user_record<R: Random + ?Sized>(
    email: String,
    password_hash: String,
    role: String,
    now: UnixSeconds,
    rng: &mut R,
) -> UserRecord {
    UserRecord::new(Id::generate(rng), email, password_hash, role, now)
}

/// Writes the bulk array for `records`, each record followed by its email index entry (under
/// the email's key).
///
/// # Errors
/// The writer's error.
pub fn write_bulk<'a>(
    out: &mut dyn Write,
    records: impl IntoIterator<Item = &'a UserRecord>,
) -> io::Result<()> {
    let mut array = BulkArray::start(out)?;
    for record in records {
        let summary = record.summary();
        array.push(&BulkEntry {
            key: user_key(&record.id),
            value: serde_json::to_string(record)?,
            metadata: Some(&summary),
        })?;
        array.push(&index_entry(&fold_email(&record.email), &record.id))?;
        for identity in &record.identities {
            array.push(&BulkEntry {
                key: identity_key(&identity.provider, &identity.subject),
                value: record.id.to_hyphenated(),
                metadata: None,
            })?;
        }
    }
    array.finish()
}

/// Writes a bulk array of email index entries alone: `email:{key}` → id, for each pair.
///
/// # Errors
/// The writer's error.
pub fn write_index_entries<'a>(
    out: &mut dyn Write,
    entries: impl IntoIterator<Item = (&'a str, &'a Id)>,
) -> io::Result<()> {
    let mut array = BulkArray::start(out)?;
    for (key, id) in entries {
        array.push(&index_entry(key, id))?;
    }
    array.finish()
}

fn index_entry(key: &str, id: &Id) -> BulkEntry<'static> {
    BulkEntry {
        key: email_key(key),
        value: id.to_hyphenated(),
        metadata: None,
    }
}

/// A JSON array written one entry per line.
struct BulkArray<'w> {
    out: &'w mut dyn Write,
    first: bool,
}

impl<'w> BulkArray<'w> {
    fn start(out: &'w mut dyn Write) -> io::Result<BulkArray<'w>> {
        out.write_all(b"[")?;
        Ok(BulkArray { out, first: true })
    }

    fn push(&mut self, entry: &BulkEntry<'_>) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *self.out, entry)?;
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"]\n" } else { b"\n]\n" })
    }
}

/// The current time in seconds since the Unix epoch (0 if the clock is before 1970).
pub fn now() -> UnixSeconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tollgate_core::random::SeededRandom;

    #[test]
    fn identities_follow_the_email_index_as_identity_index_entries()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut record = new_user_record(
            "g@example.com".into(),
            String::new(),
            "user".into(),
            1_700_000_000,
            &mut SeededRandom::new(2),
        );
        record.identities.push(tollgate_core::oidc::LinkedIdentity {
            provider: "google".into(),
            subject: "1234".into(),
            email: None,
            linked_at: 1_700_000_000,
        });
        let mut out = Vec::new();
        write_bulk(&mut out, [&record])?;
        let entries: Vec<Value> = serde_json::from_slice(&out)?;
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[2],
            serde_json::json!({"key": "identity:google:1234", "value": record.id.to_hyphenated()})
        );
        Ok(())
    }

    #[test]
    fn writes_the_record_with_its_summary_then_the_email_index()
    -> Result<(), Box<dyn std::error::Error>> {
        let record = new_user_record(
            "sam@example.com".into(),
            "$2b$10$abc".into(),
            "admin".into(),
            1_700_000_000,
            &mut SeededRandom::new(1),
        );
        let mut out = Vec::new();
        write_bulk(&mut out, [&record])?;
        let entries: Vec<Value> = serde_json::from_slice(&out)?;
        assert_eq!(entries.len(), 2);
        let id = record.id.to_hyphenated();
        assert_eq!(entries[0]["key"], format!("user:{id}"));
        let stored: UserRecord = serde_json::from_str(entries[0]["value"].as_str().unwrap_or(""))?;
        assert_eq!(stored, record);
        assert_eq!(
            entries[0]["metadata"],
            serde_json::json!({"id": id, "email": "sam@example.com", "role": "admin", "created_at": 1_700_000_000})
        );
        assert_eq!(
            entries[1],
            serde_json::json!({"key": "email:sam@example.com", "value": id})
        );
        Ok(())
    }

    #[test]
    fn the_index_entry_is_under_the_folded_email_and_the_record_keeps_it_as_typed()
    -> Result<(), Box<dyn std::error::Error>> {
        let record = new_user_record(
            "Legacy.Admin@example.com".into(),
            "$2b$10$abc".into(),
            "user".into(),
            1_700_000_000,
            &mut SeededRandom::new(2),
        );
        let mut out = Vec::new();
        write_bulk(&mut out, [&record])?;
        let entries: Vec<Value> = serde_json::from_slice(&out)?;
        assert_eq!(entries[1]["key"], "email:legacy.admin@example.com");
        assert_eq!(entries[0]["metadata"]["email"], "Legacy.Admin@example.com");
        Ok(())
    }

    #[test]
    fn an_empty_import_is_an_empty_array() -> Result<(), Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        write_bulk(&mut out, [])?;
        assert_eq!(
            serde_json::from_slice::<Vec<Value>>(&out)?,
            Vec::<Value>::new()
        );
        Ok(())
    }
}
