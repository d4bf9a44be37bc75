//! `tollgate fold-emails <keys.json>`: indexes every account already in KV under its email's
//! key, once, after upgrading to the rule that compares emails in any case.
//!
//! Before that rule the `email:` index kept the local part as typed (`email:Sam@example.com`).
//! The Worker still finds such an entry when the address is typed exactly so, and binds the
//! folded key at that login; but a login typed in another case, or a registration of another
//! case, looks up `email:sam@example.com` only, and cannot know the old entry is there. This
//! command closes that gap for every account at once: from the namespace's key listing (each
//! `user:{id}` key carries the record's summary, with its email, as KV metadata) it writes a
//! bulk file of `email:{key}` → id entries for `wrangler kv bulk put`.
//!
//! Decisions:
//! - Only accounts reachable under the old rule are indexed: one whose `email:{address as
//!   stored}` is in the listing. A record without any index entry (a delete that stopped
//!   half-way) is not brought back.
//! - A key already in the listing is never written: KV has no "put if absent", and the entry
//!   there may name another account (a case variant registered after the upgrade).
//! - A **collision**, two or more accounts whose emails fold to one key, is reported with
//!   every account's id and email, and nothing is written for that key: which account keeps
//!   the address is the operator's call. Until it is settled, each of them still logs in with
//!   its own spelling; the key is bound by the first of them to log in with it (or is already
//!   held, when one of them is spelled as the key), and while nobody holds it a registration of
//!   yet another spelling can take it.
//! - A `user:` key without summary metadata (a record written by hand) cannot be read from a
//!   listing; it is reported, by key, for the operator to index by hand.
//! - Without `--strict`, the entries that can be written are written and exit is 0; with it,
//!   any collision or unreadable record writes nothing and exits 1.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use tollgate_core::email::fold_email;
use tollgate_core::id::Id;
use tollgate_core::store::UserSummary;
use tollgate_core::store::records::USER_KEY_PREFIX;

use crate::bulk::write_index_entries;
use crate::error::CliError;
use crate::existing::{EMAIL_KEY_PREFIX, ListedKey, read_listing, truncation_warning};
use crate::output::Output;

/// The command that makes the listing, for hints: the whole namespace, with metadata.
pub const LIST_COMMAND: &str =
    "npx wrangler kv key list --binding USERS --remote > users-keys.json";

/// What folding a listing comes to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FoldPlan {
    /// Accounts listed (`user:` keys).
    pub accounts: usize,
    /// Entries to write: (key, account), sorted by key.
    pub entries: Vec<(String, Id)>,
    /// Accounts whose key is in the listing already.
    pub already: usize,
    /// Accounts with no index entry at all, left alone.
    pub unindexed: Vec<UserSummary>,
    /// Keys that two or more accounts' emails fold to, with those accounts.
    pub collisions: Vec<(String, Vec<UserSummary>)>,
    /// `user:` keys without readable summary metadata.
    pub unreadable: Vec<String>,
}

/// Plans the fold of a `wrangler kv key list` of the `USERS` namespace.
pub fn plan(keys: &[ListedKey]) -> FoldPlan {
    let mut plan = FoldPlan::default();
    let indexed: HashSet<&str> = keys
        .iter()
        .filter_map(|k| k.name.strip_prefix(EMAIL_KEY_PREFIX))
        .collect();
    let mut by_key: BTreeMap<String, Vec<UserSummary>> = BTreeMap::new();
    for key in keys.iter().filter(|k| k.name.starts_with(USER_KEY_PREFIX)) {
        plan.accounts += 1;
        let summary = key
            .metadata
            .clone()
            .and_then(|m| serde_json::from_value::<UserSummary>(m).ok());
        match summary {
            Some(summary) => by_key
                .entry(fold_email(&summary.email))
                .or_default()
                .push(summary),
            None => plan.unreadable.push(key.name.clone()),
        }
    }
    for (key, mut accounts) in by_key {
        if accounts.len() > 1 {
            accounts.sort_by_key(|a| a.created_at);
            plan.collisions.push((key, accounts));
            continue;
        }
        let Some(account) = accounts.pop() else {
            continue;
        };
        if indexed.contains(key.as_str()) {
            plan.already += 1;
        } else if indexed.contains(account.email.as_str()) {
            plan.entries.push((key, account.id));
        } else {
            plan.unindexed.push(account);
        }
    }
    plan
}

/// Runs `tollgate fold-emails`.
///
/// # Errors
/// [`CliError::Io`] when the listing or the output cannot be read or written;
/// [`CliError::InvalidArgument`] when the listing is not one, or lists keys but no `user:`
/// key (listed with `--prefix email:`, which carries no emails' owners); [`CliError::FoldRefused`]
/// with `strict` and a collision or an unreadable record; [`CliError::TerminalOutput`].
pub fn run(listing: &Path, out: Option<&Path>, strict: bool) -> Result<(), CliError> {
    let output = Output::open(out)?;
    let keys = read_listing(listing, "fold-emails", LIST_COMMAND)?;
    let plan = plan(&keys);
    if plan.accounts == 0 && !keys.is_empty() {
        return Err(CliError::invalid_argument(
            format!(
                "{}: {} keys listed, none of them a user: key",
                listing.display(),
                keys.len()
            ),
            format!("list the whole USERS namespace, without --prefix: `{LIST_COMMAND}`"),
        ));
    }
    report(&plan);
    if let Some(warning) = truncation_warning(keys.len(), "fold-emails") {
        eprintln!("{warning}");
    }
    if strict && !(plan.collisions.is_empty() && plan.unreadable.is_empty()) {
        return Err(CliError::FoldRefused {
            message: format!(
                "--strict: {} colliding keys, {} unreadable records; nothing was written",
                plan.collisions.len(),
                plan.unreadable.len()
            ),
            hint: "settle the accounts reported above, list the namespace again and rerun, or \
                   run without --strict to index the others now"
                .into(),
        });
    }
    let mut output = output;
    let entries = plan.entries.iter().map(|(key, id)| (key.as_str(), id));
    if let Err(e) = write_index_entries(output.writer(), entries) {
        return Err(output.write_error(&e));
    }
    let target = output.describe();
    output.finish()?;
    eprintln!(
        "wrote {} index entries to {target}; load them at once (a registration made after the \
         listing could otherwise be overwritten), then list and run again to check:\n  \
         npx wrangler kv bulk put --binding USERS --remote {target}",
        plan.entries.len()
    );
    Ok(())
}

/// Prints the collisions, the records that could not be read and the summary, on stderr.
fn report(plan: &FoldPlan) {
    for (key, accounts) in &plan.collisions {
        let listed: Vec<String> = accounts
            .iter()
            .map(|a| format!("{} ({:?})", a.id, a.email))
            .collect();
        eprintln!(
            "collision: email:{key} would be {} accounts: {}; nothing written for it",
            accounts.len(),
            listed.join(", ")
        );
    }
    for key in &plan.unreadable {
        eprintln!(
            "unreadable: {key} has no listing metadata (a record written by hand); index it by hand"
        );
    }
    eprintln!(
        "fold-emails: {} accounts: {} to index under their folded key, {} indexed already, \
         {} without any index entry (left alone), {} in {} collisions, {} unreadable",
        plan.accounts,
        plan.entries.len(),
        plan.already,
        plan.unindexed.len(),
        plan.collisions.iter().map(|(_, a)| a.len()).sum::<usize>(),
        plan.collisions.len(),
        plan.unreadable.len()
    );
    if !plan.collisions.is_empty() {
        eprintln!(
            "  each account in a collision still logs in with its own spelling. Keep one \
             (delete the others: DELETE /admin/users/<id>), then list and run again: until \
             then the key goes to the first of them to log in, and while nobody holds it a \
             registration of another spelling can take it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "a0000000-0000-4000-8000-000000000001";
    const B: &str = "b0000000-0000-4000-8000-000000000002";
    const C: &str = "c0000000-0000-4000-8000-000000000003";
    const D: &str = "d0000000-0000-4000-8000-000000000004";

    fn user(id: &str, email: &str, created_at: u64) -> ListedKey {
        ListedKey {
            name: format!("user:{id}"),
            metadata: Some(
                json!({"id": id, "email": email, "role": "user", "created_at": created_at}),
            ),
        }
    }

    fn index(email: &str) -> ListedKey {
        ListedKey {
            name: format!("email:{email}"),
            metadata: None,
        }
    }

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn old_rule_entries_get_their_folded_key_and_nothing_else_is_written() {
        let keys = [
            user(A, "Legacy.Admin@example.com", 1),
            index("Legacy.Admin@example.com"),
            user(B, "sam@example.com", 2),
            index("sam@example.com"),
            user(C, "Migrated@example.com", 3),
            index("Migrated@example.com"),
            index("migrated@example.com"),
            // A record whose index entry is gone (a delete that stopped half-way).
            user(D, "Gone@example.com", 4),
        ];
        let plan = plan(&keys);
        assert_eq!(
            plan.entries,
            [("legacy.admin@example.com".to_string(), id(A))]
        );
        assert_eq!((plan.accounts, plan.already), (4, 2));
        assert_eq!(
            plan.unindexed.iter().map(|u| u.id).collect::<Vec<_>>(),
            [id(D)]
        );
        assert!(plan.collisions.is_empty() && plan.unreadable.is_empty());
    }

    #[test]
    fn accounts_whose_emails_fold_alike_are_a_collision_and_nothing_is_written_for_them() {
        let keys = [
            user(B, "sam@example.com", 2),
            index("sam@example.com"),
            user(A, "Sam@example.com", 1),
            index("Sam@example.com"),
            user(C, "ann@example.com", 3),
            index("ann@example.com"),
            ListedKey {
                name: format!("user:{D}"),
                metadata: None,
            },
        ];
        let plan = plan(&keys);
        assert!(plan.entries.is_empty());
        assert_eq!(plan.collisions.len(), 1);
        let (key, accounts) = &plan.collisions[0];
        assert_eq!(key, "sam@example.com");
        // Oldest first.
        assert_eq!(
            accounts.iter().map(|a| a.id).collect::<Vec<_>>(),
            [id(A), id(B)]
        );
        assert_eq!(plan.unreadable, [format!("user:{D}")]);
    }
}
