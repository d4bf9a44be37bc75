//! `--existing <keys.json>`: the accounts already in the `USERS` namespace, as
//! `npx wrangler kv key list --binding USERS --prefix email:` prints them.
//!
//! KV has no "put if absent", and `wrangler kv bulk put` overwrites. Loading a bulk file with
//! an email that already has an account re-points `email:<address>` at the new record: the
//! old account (its password, role and sessions' owner) can no longer be logged into, and
//! nothing says so. The CLI cannot read KV itself, so the operator hands it the key listing,
//! and every address listed there is refused with a reason instead of being overwritten.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;
use tollgate_core::email::normalize_email;

use crate::error::CliError;

/// The prefix of the email index keys (`email:{normalised email}` → user id).
const EMAIL_KEY_PREFIX: &str = "email:";

/// How many keys `wrangler kv key list --local` returns at most: it asks the local namespace
/// once, without following the cursor, and a KV list page holds at most 1000 keys.
const LOCAL_LIST_PAGE_KEYS: usize = 1000;

/// The command that makes the file, for hints.
pub const LIST_COMMAND: &str =
    "npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json";

/// One entry of `wrangler kv key list`: `{"name", "expiration"?, "metadata"?}`.
#[derive(Deserialize)]
struct ListedKey {
    name: String,
}

/// The normalised emails that already have an account.
#[derive(Debug, Default)]
pub struct ExistingEmails {
    emails: HashSet<String>,
    /// Keys in the listing, of any prefix.
    pub listed_keys: usize,
}

impl ExistingEmails {
    /// Reads a `wrangler kv key list` output. Keys other than `email:...` (such as `user:...`,
    /// when listed without `--prefix`) are skipped.
    ///
    /// # Errors
    /// [`CliError::Io`] when the file cannot be read; [`CliError::InvalidArgument`] when it is
    /// not a JSON array of `{"name": ...}` objects, or lists keys but none of them `email:`
    /// (the wrong namespace or prefix, which would make the check pass vacuously).
    pub fn read(path: &Path) -> Result<ExistingEmails, CliError> {
        let file = File::open(path).map_err(|e| CliError::io("reading", path, &e))?;
        let keys: Vec<ListedKey> = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
            CliError::invalid_argument(
                format!(
                    "--existing {}: not the JSON array of keys that `wrangler kv key list` \
                         prints ({e})",
                    path.display()
                ),
                format!("make it with `{LIST_COMMAND}`"),
            )
        })?;
        let existing = ExistingEmails::from_names(keys.iter().map(|k| k.name.as_str()));
        if existing.emails.is_empty() && existing.listed_keys > 0 {
            return Err(CliError::invalid_argument(
                format!(
                    "--existing {}: {} keys listed, none of them an email: key",
                    path.display(),
                    existing.listed_keys
                ),
                format!("list the USERS namespace's email index: `{LIST_COMMAND}`"),
            ));
        }
        Ok(existing)
    }

    /// The existing emails among key `names`.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ExistingEmails {
        let mut existing = ExistingEmails::default();
        for name in names {
            existing.listed_keys += 1;
            if let Some(email) = name.strip_prefix(EMAIL_KEY_PREFIX) {
                // Stored normalised already; normalising again is a no-op that also covers
                // an index written by hand.
                let email = normalize_email(email).unwrap_or_else(|_| email.to_string());
                existing.emails.insert(email);
            }
        }
        existing
    }

    /// Whether the normalised `email` already has an account.
    pub fn contains(&self, email: &str) -> bool {
        self.emails.contains(email)
    }

    /// How many accounts the listing names.
    pub fn len(&self) -> usize {
        self.emails.len()
    }

    /// A warning when the listing may be cut short: exactly one local page of keys.
    pub fn truncation_warning(&self) -> Option<String> {
        (self.listed_keys == LOCAL_LIST_PAGE_KEYS).then(|| {
            format!(
                "warning: the --existing listing has exactly {LOCAL_LIST_PAGE_KEYS} keys, where \
                 `wrangler kv key list --local` stops; if the namespace holds more, emails past \
                 them were not checked (--remote lists every key)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_email_keys_count_and_they_are_compared_normalised() {
        let existing = ExistingEmails::from_names([
            "email:sam@example.com",
            "email:Ann@example.org",
            "user:4b0a0000-0000-4000-8000-000000000000",
        ]);
        assert_eq!((existing.len(), existing.listed_keys), (2, 3));
        assert!(existing.contains("sam@example.com"));
        assert!(existing.contains("Ann@example.org"));
        assert!(
            !existing.contains("ann@example.org"),
            "local parts are kept as typed"
        );
        assert!(!existing.contains("4b0a0000-0000-4000-8000-000000000000"));
    }

    #[test]
    fn a_listing_of_exactly_one_local_page_warns() {
        let names: Vec<String> = (0..LOCAL_LIST_PAGE_KEYS)
            .map(|i| format!("email:u{i}@example.com"))
            .collect();
        let existing = ExistingEmails::from_names(names.iter().map(String::as_str));
        assert!(existing.truncation_warning().is_some());
        assert!(
            ExistingEmails::from_names(["email:a@b.io"])
                .truncation_warning()
                .is_none()
        );
    }
}
