//! `--existing <keys.json>`: the accounts already in the `USERS` namespace, as
//! `npx wrangler kv key list --binding USERS --prefix email:` prints them.
//!
//! Compared by key (the whole address case-folded), so a listing with `email:Sam@example.com`,
//! an entry of the rule before emails were compared in any case, refuses `sam@example.com`.
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
use tollgate_core::email::{fold_email, normalize_email};

use crate::error::CliError;

/// The prefix of the email index keys (`email:{email key}` → user id).
pub const EMAIL_KEY_PREFIX: &str = "email:";

/// How many keys `wrangler kv key list --local` returns at most: it asks the local namespace
/// once, without following the cursor, and a KV list page holds at most 1000 keys.
const LOCAL_LIST_PAGE_KEYS: usize = 1000;

/// The command that makes the file, for hints.
pub const LIST_COMMAND: &str =
    "npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json";

/// One entry of `wrangler kv key list`: `{"name", "expiration"?, "metadata"?}`.
#[derive(Deserialize)]
pub struct ListedKey {
    /// The key.
    pub name: String,
    /// Its KV metadata (a user record's listing summary), if any.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// Reads a `wrangler kv key list` output, as `--<flag> <path>`; `command` is how to make it.
///
/// # Errors
/// [`CliError::Io`] when the file cannot be read; [`CliError::InvalidArgument`] when it is
/// not a JSON array of `{"name": ...}` objects.
pub fn read_listing(path: &Path, flag: &str, command: &str) -> Result<Vec<ListedKey>, CliError> {
    let file = File::open(path).map_err(|e| CliError::io("reading", path, &e))?;
    serde_json::from_reader(BufReader::new(file)).map_err(|e| {
        CliError::invalid_argument(
            format!(
                "{flag} {}: not the JSON array of keys that `wrangler kv key list` prints ({e})",
                path.display()
            ),
            format!("make it with `{command}`"),
        )
    })
}

/// A warning when a listing of `listed` keys may be cut short: exactly one local page.
pub fn truncation_warning(listed: usize, flag: &str) -> Option<String> {
    (listed == LOCAL_LIST_PAGE_KEYS).then(|| {
        format!(
            "warning: the {flag} listing has exactly {LOCAL_LIST_PAGE_KEYS} keys, where \
             `wrangler kv key list --local` stops; if the namespace holds more, keys past \
             them were not read (--remote lists every key)"
        )
    })
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
        let keys = read_listing(path, "--existing", LIST_COMMAND)?;
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
                // Stored as a key already, or under the address as typed (the rule before
                // emails were compared in any case), or by hand: normalised and folded alike.
                let email = normalize_email(email).unwrap_or_else(|_| email.to_string());
                existing.emails.insert(fold_email(&email));
            }
        }
        existing
    }

    /// Whether the normalised `email`, in any case, already has an account.
    pub fn contains(&self, email: &str) -> bool {
        self.emails.contains(&fold_email(email))
    }

    /// How many accounts the listing names.
    pub fn len(&self) -> usize {
        self.emails.len()
    }

    /// A warning when the listing may be cut short: exactly one local page of keys.
    pub fn truncation_warning(&self) -> Option<String> {
        truncation_warning(self.listed_keys, "--existing")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_email_keys_count_and_they_are_compared_in_any_case() {
        let existing = ExistingEmails::from_names([
            "email:sam@example.com",
            "email:Ann@example.org",
            "user:4b0a0000-0000-4000-8000-000000000000",
        ]);
        assert_eq!((existing.len(), existing.listed_keys), (2, 3));
        assert!(existing.contains("sam@example.com"));
        assert!(existing.contains("Ann@example.org"));
        // `email:Ann@...` is an entry of the old rule: every spelling of it is taken.
        assert!(existing.contains("ann@example.org"));
        assert!(existing.contains("SAM@example.com"));
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
