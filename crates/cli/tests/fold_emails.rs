//! `tollgate fold-emails`: a key listing of the USERS namespace in, the folded index entries of
//! accounts indexed under the old rule out, collisions reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::tollgate;
use serde_json::{Value, json};

const A: &str = "a0000000-0000-4000-8000-000000000001";
const B: &str = "b0000000-0000-4000-8000-000000000002";
const C: &str = "c0000000-0000-4000-8000-000000000003";
const D: &str = "d0000000-0000-4000-8000-000000000004";

/// A `wrangler kv key list --binding USERS` output: `user:` keys with their listing summary
/// as metadata (as the Worker and `tollgate import` write them), `email:` keys bare.
fn listing(dir: &Path, users: &[(&str, &str)], index: &[&str]) -> PathBuf {
    let mut keys: Vec<Value> = users
        .iter()
        .enumerate()
        .map(|(i, (id, email))| {
            json!({"name": format!("user:{id}"),
                   "metadata": {"id": id, "email": email, "role": "user", "created_at": 1_700_000_000 + i}})
        })
        .collect();
    keys.extend(index.iter().map(|e| json!({"name": format!("email:{e}")})));
    let path = dir.join("users-keys.json");
    fs::write(&path, serde_json::to_string_pretty(&keys).unwrap()).unwrap();
    path
}

#[test]
fn writes_the_folded_key_of_each_old_rule_entry_and_reports_collisions() {
    let dir = tempfile::tempdir().unwrap();
    let keys = listing(
        dir.path(),
        &[
            (A, "Legacy.Admin@example.com"),
            (B, "sam@example.com"),
            (C, "Sam@example.com"),
            (D, "ann@example.com"),
        ],
        &[
            "Legacy.Admin@example.com",
            "sam@example.com",
            "Sam@example.com",
            "ann@example.com",
        ],
    );
    let out = dir.path().join("folded.json");
    let run = tollgate(
        &[
            "fold-emails",
            keys.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        written,
        json!([{"key": "email:legacy.admin@example.com", "value": A}])
    );
    assert!(
        run.stderr.contains(&format!(
            "collision: email:sam@example.com would be 2 accounts: {B} (\"sam@example.com\"), \
             {C} (\"Sam@example.com\"); nothing written for it"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "fold-emails: 4 accounts: 1 to index under their folded key, 1 indexed already, \
             0 without any index entry (left alone), 2 in 1 collisions, 0 unreadable"
        ),
        "{}",
        run.stderr
    );

    // --strict: the collision is fatal and nothing is written.
    fs::remove_file(&out).unwrap();
    let strict = tollgate(
        &[
            "fold-emails",
            keys.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--strict",
        ],
        "",
    );
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(
        strict
            .stderr
            .contains("error[fold_refused]: --strict: 1 colliding keys, 0 unreadable records"),
        "{}",
        strict.stderr
    );
    assert!(!out.exists());
}

#[test]
fn a_namespace_already_folded_gives_an_empty_bulk_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = listing(
        dir.path(),
        &[(A, "Legacy.Admin@example.com")],
        &["Legacy.Admin@example.com", "legacy.admin@example.com"],
    );
    let run = tollgate(&["fold-emails", keys.to_str().unwrap(), "--strict"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!([])
    );
}

#[test]
fn a_listing_without_user_keys_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = listing(dir.path(), &[], &["Sam@example.com"]);
    let run = tollgate(&["fold-emails", keys.to_str().unwrap()], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: list the whole USERS namespace, without --prefix"),
        "{}",
        run.stderr
    );
    let garbage = dir.path().join("garbage.json");
    fs::write(&garbage, "{").unwrap();
    assert_eq!(
        tollgate(&["fold-emails", garbage.to_str().unwrap()], "").code,
        2
    );
}
