//! The files the CLI writes (bulk files with password hashes) go through a temporary file that
//! is always created new, owner-only, beside the target, and renamed into place: nothing
//! already in the directory (a planted symlink, a world-readable file) is followed or reused.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use common::{Run, fixture, tollgate};

fn import_into(out: &Path) -> Run {
    let input = fixture("legacy_users.jsonl");
    tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    )
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// The file names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn assert_private_bulk_file(out: &Path) {
    let meta = fs::symlink_metadata(out).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is a regular file",
        out.display()
    );
    assert_eq!(mode(out), 0o600, "the bulk file holds hashes: owner only");
    let bulk: serde_json::Value = serde_json::from_str(&fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(
        bulk.as_array().unwrap().len(),
        22,
        "11 users, two entries each"
    );
}

#[test]
fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    // Where earlier versions wrote: `<out>.tmp`, opened with truncation, following links.
    symlink(&victim, dir.path().join("bulk.json.tmp")).unwrap();
    let out = dir.path().join("bulk.json");
    let run = import_into(&out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "the link's target is untouched"
    );
    assert!(
        fs::symlink_metadata(dir.path().join("bulk.json.tmp"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_private_bulk_file(&out);
    assert_eq!(
        names(dir.path()),
        ["bulk.json", "bulk.json.tmp", "victim"],
        "no temporary file left"
    );
}

#[test]
fn a_world_readable_file_at_the_temporary_name_lends_the_output_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("bulk.json.tmp");
    fs::write(&planted, "someone else's\n").unwrap();
    fs::set_permissions(&planted, fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.path().join("bulk.json");
    fs::write(&out, "an older bulk file\n").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
    let run = import_into(&out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_private_bulk_file(&out);
    assert_eq!(fs::read_to_string(&planted).unwrap(), "someone else's\n");
}

#[test]
fn a_symlink_at_the_output_name_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let out = dir.path().join("bulk.json");
    symlink(&victim, &out).unwrap();
    let run = import_into(&out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fs::read_to_string(&victim).unwrap() == "precious\n",
        "the link's target was written"
    );
    assert_private_bulk_file(&out);
}

#[test]
fn user_add_writes_its_bulk_file_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    symlink(&victim, dir.path().join("admin.json.tmp")).unwrap();
    let out = dir.path().join("admin.json");
    let run = tollgate(
        &[
            "user",
            "add",
            "root@example.com",
            "--role",
            "admin",
            "--out",
            out.to_str().unwrap(),
        ],
        "a long passphrase nobody guesses\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fs::read_to_string(&victim).unwrap() == "precious\n",
        "the link's target was written"
    );
    assert_eq!(mode(&out), 0o600);
    assert!(fs::symlink_metadata(&out).unwrap().file_type().is_file());
}
