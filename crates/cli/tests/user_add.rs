//! `tollgate user add`, `hash` and `verify`: passwords in through stdin, the core's argon2id out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::tollgate;
use serde_json::Value;
use tollgate_core::password::{PasswordHasher, Verified, inspect_stored_hash};
use tollgate_core::store::UserRecord;

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn user_add_writes_an_admin_whose_password_verifies() {
    let run = tollgate(
        &["user", "add", "Root@Example.COM", "--role", "admin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(entries.len(), 2);
    let record: UserRecord = serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        (record.email.as_str(), record.role.as_str()),
        ("Root@example.com", "admin")
    );
    assert_eq!(entries[0]["metadata"]["role"], "admin");
    // The record keeps the address as typed; the index key is the whole address lower-cased.
    assert_eq!(entries[1]["key"], "email:root@example.com");
    assert!(
        record
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        record.password_hash
    );
    let hasher = PasswordHasher::default();
    assert_eq!(
        hasher.verify(PASSWORD, &record.password_hash).unwrap(),
        Verified::Match {
            needs_rehash: false
        }
    );
    assert!(run.stderr.contains(&format!(
        "wrote user {} (Root@example.com, role admin)",
        record.id
    )));
    assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
}

/// `--disabled` writes an account nobody can log in to until an admin enables it (as an
/// import with `is_active: false` does); without it the record says nothing about it.
#[test]
fn user_add_disabled_writes_a_disabled_account() {
    for (args, disabled) in [(&["--disabled"][..], true), (&[][..], false)] {
        let mut argv = vec!["user", "add", "sam@example.com"];
        argv.extend_from_slice(args);
        let run = tollgate(&argv, &format!("{PASSWORD}\n"));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
        let record: UserRecord =
            serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(record.disabled, disabled);
        assert_eq!(entries[0]["metadata"].get("disabled").is_some(), disabled);
        assert_eq!(run.stderr.contains("disabled"), disabled, "{}", run.stderr);
    }
}

/// `--email-verified` writes the address as verified; without it the record has no
/// `email_verified_at`, and the user verifies by link.
#[test]
fn user_add_email_verified_writes_a_verified_address() {
    for (args, verified) in [(&["--email-verified"][..], true), (&[][..], false)] {
        let mut argv = vec!["user", "add", "sam@example.com"];
        argv.extend_from_slice(args);
        let run = tollgate(&argv, &format!("{PASSWORD}\n"));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
        let value = entries[0]["value"].as_str().unwrap();
        let record: UserRecord = serde_json::from_str(value).unwrap();
        assert_eq!(record.email_verified_at.is_some(), verified);
        assert_eq!(value.contains("email_verified_at"), verified, "{value}");
    }
}

#[test]
fn user_add_hashes_at_the_given_cost_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("admin.json");
    let run = tollgate(
        &[
            "user",
            "add",
            "ops@example.com",
            "--out",
            out.to_str().unwrap(),
            "--memory-kib",
            "12288",
            "--iterations",
            "3",
        ],
        PASSWORD,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let record: UserRecord = serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(record.role, "user");
    assert!(
        record
            .password_hash
            .starts_with("$argon2id$v=19$m=12288,t=3,p=1$")
    );
}

#[test]
fn user_add_refuses_bad_input_with_the_right_exit_code() {
    for (args, stdin, code, error) in [
        (
            &["user", "add", "a@example.com"][..],
            "short\n",
            1,
            "error[password_input]: the password is not acceptable: password: The password is too short.",
        ),
        (
            &["user", "add", "a@example.com"],
            "password123\n",
            1,
            "error[password_input]: the password is not acceptable: password: This password is too common",
        ),
        (
            &["user", "add", "a@example.com"],
            "",
            1,
            "error[password_input]: no password was given",
        ),
        (
            &["user", "add", "a@example.com"],
            "two\nlines\n",
            1,
            "error[password_input]: stdin holds more than one line",
        ),
        (
            &["user", "add", "not-an-email"],
            "x",
            2,
            "error[invalid_argument]: \"not-an-email\" is not a valid email address",
        ),
        (
            &["user", "add", "a@example.com", "--role", "root"],
            "x",
            2,
            "error[invalid_argument]: unknown role \"root\"",
        ),
        (
            &[
                "user",
                "add",
                "a@example.com",
                "--memory-kib",
                "1024",
                "--iterations",
                "1",
            ],
            "x",
            2,
            "error[invalid_argument]: argon2 m=1024 KiB, t=1 is weaker than every OWASP row",
        ),
        (
            &["user", "add", "a@example.com", "--parallelism", "0"],
            "x",
            2,
            "error[invalid_argument]: argon2 parallelism must be at least 1",
        ),
    ] {
        let run = tollgate(args, stdin);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with(error), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("  hint: "),
            "errors say what to do: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn user_add_refuses_an_email_the_existing_listing_has_before_asking_for_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let listing = dir.path().join("keys.json");
    std::fs::write(
        &listing,
        r#"[{"name": "email:root@example.com"}, {"name": "user:4b0a0000-0000-4000-8000-000000000000"}]"#,
    )
    .unwrap();
    let out = dir.path().join("admin.json");
    let args = |email: &'static str| {
        [
            "user",
            "add",
            email,
            "--role",
            "admin",
            "--existing",
            listing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
    };
    let taken = args("root@EXAMPLE.com");
    let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
    // No password on stdin: it must fail on the email, never get as far as reading one.
    let run = tollgate(&taken, "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error[email_exists]: root@example.com already has an account (it is in the --existing listing); nothing was written"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("lock the existing one out"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
    // Emails are compared in any case: the local part's case does not make another address.
    let variant = args("ROOT@example.com");
    let variant: Vec<&str> = variant.iter().map(String::as_str).collect();
    let run = tollgate(&variant, "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error[email_exists]: ROOT@example.com already has an account"),
        "{}",
        run.stderr
    );

    let free = args("second.admin@example.com");
    let free: Vec<&str> = free.iter().map(String::as_str).collect();
    let run = tollgate(&free, &format!("{PASSWORD}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.exists());
}

#[test]
fn hash_then_verify_round_trips_and_a_wrong_password_exits_1() {
    let hashed = tollgate(&["hash"], &format!("{PASSWORD}\n"));
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    let hash = hashed.stdout.trim_end();
    assert!(inspect_stored_hash(hash).is_ok(), "{hash}");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    let ok = tollgate(&["verify", hash], PASSWORD);
    assert_eq!(
        (ok.code, ok.stdout.as_str()),
        (0, "match\n"),
        "{}",
        ok.stderr
    );
    assert!(ok.stderr.contains("kept as is at login"), "{}", ok.stderr);

    let stronger = tollgate(
        &["verify", hash, "--memory-kib", "47104", "--iterations", "1"],
        PASSWORD,
    );
    assert_eq!(stronger.code, 0);
    assert!(
        stronger
            .stderr
            .contains("a login re-hashes it to argon2id m=47104 t=1 p=1"),
        "{}",
        stronger.stderr
    );

    let wrong = tollgate(&["verify", hash], "not the password");
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.starts_with("error[password_mismatch]"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn verify_reads_legacy_hashes_and_refuses_unreadable_ones_as_usage_errors() {
    // pyca/bcrypt 5.0.0, from tests/fixtures/legacy_users.jsonl.
    let bcrypt = "$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";
    let run = tollgate(&["verify", bcrypt], "pyca.bcrypt.2b-legacy-pw\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("bcrypt cost=10: a login re-hashes it to argon2id m=19456 t=2 p=1"),
        "{}",
        run.stderr
    );

    let run = tollgate(&["verify", "pbkdf2_sha256$600000$abc$def"], "x\n");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(
            "error[invalid_argument]: the hash would be refused at login: unknown hash format"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn hash_warns_about_a_password_registration_would_refuse() {
    let run = tollgate(&["hash"], "password\n");
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("warning: the Worker would refuse this password at registration"),
        "{}",
        run.stderr
    );
}

/// `--roles` takes the deployment's `ROLES` JSON, so its own roles can be given.
#[test]
fn user_add_accepts_a_role_of_the_table_given_with_roles() {
    let table = r#"{"user": ["profile"], "editor": ["profile", "notes:write"], "admin": ["users:read", "users:write"]}"#;
    let run = tollgate(
        &[
            "user",
            "add",
            "ed@example.com",
            "--role",
            "editor",
            "--roles",
            table,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(entries[0]["metadata"]["role"], "editor");
    let run = tollgate(
        &["user", "add", "ed@example.com", "--role", "editor"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("use one of: user, admin"),
        "{}",
        run.stderr
    );
}
