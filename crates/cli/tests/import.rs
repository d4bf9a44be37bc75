//! `tollgate import`: real exports in, the Worker's record format out, every bad line reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::fs;

use common::{fixture, tollgate};
use serde_json::Value;
use tollgate_core::email::fold_email;
use tollgate_core::password::{PasswordHasher, Verified};
use tollgate_core::store::UserRecord;
use tollgate_core::store::records::{USER_RECORD_VERSION, email_key, user_key};

/// The users a bulk file creates, by email, checked for the Worker's layout on the way:
/// `user:{id}` with the record and its summary as metadata, then `email:{email lower-cased}`
/// with the id.
fn users_in(bulk: &str) -> HashMap<String, UserRecord> {
    let entries: Vec<Value> = serde_json::from_str(bulk).expect("the bulk file is a JSON array");
    assert_eq!(entries.len() % 2, 0);
    let mut users = HashMap::new();
    for pair in entries.chunks(2) {
        let record: UserRecord =
            serde_json::from_str(pair[0]["value"].as_str().expect("values are strings")).unwrap();
        assert_eq!(pair[0]["key"], user_key(&record.id));
        assert_eq!(
            serde_json::from_value::<tollgate_core::store::UserSummary>(
                pair[0]["metadata"].clone()
            )
            .unwrap(),
            record.summary()
        );
        assert_eq!(pair[1]["key"], email_key(&fold_email(&record.email)));
        assert_eq!(pair[1]["value"], record.id.to_hyphenated());
        assert!(pair[1].get("metadata").is_none());
        assert_eq!((record.v, record.session_epoch), (USER_RECORD_VERSION, 0));
        assert_eq!(record.created_at, record.updated_at);
        users.insert(record.email.clone(), record);
    }
    users
}

#[test]
fn imports_passlib_and_pyca_bcrypt_users_who_then_verify_with_their_old_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bulk.json");
    let input = fixture("legacy_users.jsonl");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("11 lines: 11 users to import, 0 lines rejected"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("ignored fields (not part of a Tollgate user): \"source\" (11 lines)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("5  bcrypt cost=10"), "{}", run.stderr);
    assert!(run.stderr.contains("2  bcrypt cost=12"), "{}", run.stderr);
    assert!(
        run.stderr.contains("2  argon2id v=19 m=65536 t=3 p=4"),
        "{}",
        run.stderr
    );

    let users = users_in(&fs::read_to_string(&out).unwrap());
    assert_eq!(users.len(), 11);
    let source: Vec<Value> = fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hasher = PasswordHasher::default();
    for line in &source {
        let email = line["email"].as_str().unwrap();
        // The domain is lower-cased (pyca.bcrypt.2a@Example.COM), the local part kept.
        let normalised = tollgate_core::email::normalize_email(email).unwrap();
        let user = &users[&normalised];
        assert_eq!(
            user.password_hash,
            line["password_hash"].as_str().unwrap(),
            "unchanged"
        );
        assert_eq!(user.role, line["role"].as_str().unwrap_or("user"));
        let password = format!("{}-legacy-pw", email.split('@').next().unwrap());
        let verified = hasher.verify(&password, &user.password_hash).unwrap();
        // passlib's argon2id defaults (m=65536 t=3) are stronger than the Worker's and are kept.
        let upgrade = !user.password_hash.starts_with("$argon2id$");
        assert_eq!(
            verified,
            Verified::Match {
                needs_rehash: upgrade
            },
            "{email}"
        );
        assert_eq!(
            hasher
                .verify("wrong password", &user.password_hash)
                .unwrap(),
            Verified::Mismatch
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the bulk file holds hashes: owner only"
        );
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "the bulk file and no temporary file"
    );
}

/// Line number, code and a phrase of the detail for each bad line of malformed_users.jsonl.
const MALFORMED: &[(usize, &str, &str)] = &[
    (3, "invalid_json", "not JSON"),
    (4, "not_an_object", "not a JSON object"),
    (
        5,
        "invalid_email",
        "\"no-at-sign\" is not a valid email address",
    ),
    (6, "missing_field", "no \"email\" field"),
    (7, "missing_field", "no \"password_hash\" field"),
    (
        8,
        "invalid_password_hash",
        "PBKDF2 (Django's default) cannot be verified",
    ),
    (9, "invalid_password_hash", "cost above the allowed maximum"),
    (
        10,
        "invalid_password_hash",
        "cost above the allowed maximum",
    ),
    (
        11,
        "invalid_role",
        "role \"superuser\" is not one of user, admin",
    ),
    (
        12,
        "duplicate_email",
        "\"Dup@example.com\" is also on line 13",
    ),
    (
        13,
        "duplicate_email",
        "\"Dup@example.com\" is also on line 12",
    ),
    (14, "wrong_type", "\"email\" must be a string"),
    (
        15,
        "invalid_password_hash",
        "$2x$ is crypt_blowfish's buggy variant",
    ),
];

#[test]
fn every_malformed_line_is_reported_with_its_number_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bulk.json");
    let input = fixture("malformed_users.jsonl");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        run.code, 0,
        "without --strict the valid users are written: {}",
        run.stderr
    );
    let reported: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    assert_eq!(reported.len(), MALFORMED.len(), "{}", run.stderr);
    for ((line, code, phrase), got) in MALFORMED.iter().zip(&reported) {
        let prefix = format!("line {line}: {code}: ");
        assert!(
            got.starts_with(&prefix) && got.contains(phrase),
            "want {prefix}...{phrase}, got {got}"
        );
    }
    assert!(
        run.stderr
            .contains("16 lines: 2 users to import, 13 lines rejected, 1 blank lines skipped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("       3  invalid_password_hash (cost above the allowed maximum)")
            || run
                .stderr
                .contains("       2  invalid_password_hash (cost above the allowed maximum)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("       2  duplicate_email"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("warning: 13 lines were not imported"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("oIlDkrAhXqG"),
        "hashes are never echoed"
    );

    let users = users_in(&fs::read_to_string(&out).unwrap());
    let mut emails: Vec<&str> = users.keys().map(String::as_str).collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        ["first.good@example.com", "second.good@example.com"]
    );
    assert_eq!(users["second.good@example.com"].role, "admin");
}

#[test]
fn strict_writes_nothing_and_exits_1_when_a_line_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bulk.json");
    let input = fixture("malformed_users.jsonl");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--strict",
        ],
        "",
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "error[import_rejected]: --strict: 13 of 16 lines rejected; nothing was written"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 3: invalid_json"),
        "the lines are still reported"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "neither a bulk file nor a temporary file"
    );

    let clean = fixture("legacy_users.jsonl");
    let run = tollgate(
        &[
            "import",
            clean.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--strict",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.exists());
}

/// A `wrangler kv key list --binding USERS` output naming these keys, as wrangler prints it.
fn key_listing(dir: &std::path::Path, names: &[&str]) -> std::path::PathBuf {
    let keys: Vec<Value> = names
        .iter()
        .map(|name| match name.strip_prefix("user:") {
            Some(id) => serde_json::json!({"name": name, "metadata": {"id": id, "role": "user"}}),
            None => serde_json::json!({"name": name}),
        })
        .collect();
    let path = dir.join("existing-keys.json");
    fs::write(&path, serde_json::to_string_pretty(&keys).unwrap()).unwrap();
    path
}

#[test]
fn existing_accounts_in_the_listing_are_rejected_instead_of_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bulk.json");
    // Two fixture users already have accounts (one listed with its domain as KV stores it,
    // lower-cased), plus keys of other kinds that are not emails.
    let existing = key_listing(
        dir.path(),
        &[
            "email:passlib.bcrypt.2a@example.com",
            "email:pyca.bcrypt.2b@example.com",
            "email:someone.else@example.com",
            "user:4b0a0000-0000-4000-8000-000000000000",
        ],
    );
    let input = fixture("legacy_users.jsonl");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--existing",
            existing.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rejected: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    assert_eq!(rejected.len(), 2, "{}", run.stderr);
    for line in &rejected {
        assert!(line.contains(": email_exists: "), "{line}");
        assert!(
            line.contains("already has an account (it is in the --existing listing)"),
            "{line}"
        );
        assert!(line.contains("lock the existing one out"), "{line}");
    }
    assert!(rejected[0].contains("\"passlib.bcrypt.2a@example.com\""));
    assert!(
        run.stderr
            .contains("11 lines: 9 users to import, 2 lines rejected"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("       2  email_exists"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("checked against 3 existing accounts listed in"),
        "{}",
        run.stderr
    );
    let users = users_in(&fs::read_to_string(&out).unwrap());
    assert_eq!(users.len(), 9);
    assert!(!users.contains_key("passlib.bcrypt.2a@example.com"));
    assert!(!users.contains_key("pyca.bcrypt.2b@example.com"));

    // --strict makes a collision fatal like any other rejected line.
    fs::remove_file(&out).unwrap();
    let strict = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--existing",
            existing.to_str().unwrap(),
            "--strict",
        ],
        "",
    );
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(!out.exists());
}

/// Issue 19: `SAM@example.com` and `sam@example.com` were two accounts. In one file they are
/// one address: every line of it is reported by number, naming the other spellings, and
/// `--strict` refuses the file.
#[test]
fn addresses_that_differ_only_by_case_are_reported_by_line_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let hash = "$2b$10$Cs2q1S7uaqBeiV/f2.0LOe.yHrhsYgYVRd9kAfyZtKNA/NxvaQLTi";
    let input = dir.path().join("users.jsonl");
    let lines: Vec<String> = [
        "SAM@example.com",
        "ann@example.com",
        "sam@Example.COM",
        "Legacy.Admin@Example.COM",
    ]
    .iter()
    .map(|e| format!(r#"{{"email": "{e}", "password_hash": "{hash}"}}"#))
    .collect();
    fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.path().join("bulk.json");
    let args = [
        "import",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];

    let run = tollgate(&args, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reported: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    assert_eq!(
        reported,
        [
            "line 1: duplicate_email: \"SAM@example.com\" is also on line 3 (as \"sam@example.com\") \
             (emails are compared in any case: these are one address); none of them was imported",
            "line 3: duplicate_email: \"sam@example.com\" is also on line 1 (as \"SAM@example.com\") \
             (emails are compared in any case: these are one address); none of them was imported",
        ]
    );
    // The others are written: the record keeps the address as typed (domain lower-cased),
    // the index entry is under the whole address lower-cased (checked by `users_in`).
    let users = users_in(&fs::read_to_string(&out).unwrap());
    let mut emails: Vec<&str> = users.keys().map(String::as_str).collect();
    emails.sort_unstable();
    assert_eq!(emails, ["Legacy.Admin@example.com", "ann@example.com"]);
    assert!(
        fs::read_to_string(&out)
            .unwrap()
            .contains("\"key\":\"email:legacy.admin@example.com\"")
    );

    fs::remove_file(&out).unwrap();
    let strict = tollgate(&[&args[..], &["--strict"]].concat(), "");
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(
        strict
            .stderr
            .contains("error[import_rejected]: --strict: 2 of 4 lines rejected"),
        "{}",
        strict.stderr
    );
    assert!(!out.exists());
}

/// A listing from before emails were compared in any case names `email:Sam@example.com`:
/// every spelling of that address already has an account.
#[test]
fn an_existing_entry_refuses_every_case_of_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let existing = key_listing(dir.path(), &["email:Passlib.Bcrypt.2A@example.com"]);
    let input = fixture("legacy_users.jsonl");
    let out = dir.path().join("bulk.json");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--existing",
            existing.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("email_exists: \"passlib.bcrypt.2a@example.com\" already has an account"),
        "{}",
        run.stderr
    );
}

#[test]
fn import_help_warns_that_an_existing_email_is_taken_over_and_says_how_to_prevent_it() {
    let help = tollgate(&["import", "--help"], "").stdout;
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for needed in [
        "A line whose email already has an account in the namespace would point the address at the new record",
        "nobody can log into it any more",
        "npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json",
        "tollgate import users.jsonl --existing existing-keys.json --out bulk.json",
    ] {
        assert!(help.contains(needed), "{needed:?} missing from:\n{help}");
    }
}

#[test]
fn without_existing_the_run_says_accounts_in_kv_were_not_checked() {
    let lines = "{\"email\":\"a@b.io\",\"password_hash\":\"$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW\"}\n";
    let run = tollgate(&["import", "-", "--out", "-"], lines);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("note: not checked against accounts already in KV"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--existing <keys.json> made with `npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json`"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_existing_file_that_is_not_an_email_key_listing_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "{\"email\":\"a@b.io\",\"password_hash\":\"$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW\"}\n";
    let not_json = dir.path().join("not.json");
    fs::write(&not_json, "email:a@b.io\n").unwrap();
    let only_users = key_listing(dir.path(), &["user:4b0a0000-0000-4000-8000-000000000000"]);
    for (file, error) in [
        (
            not_json.as_path(),
            "not the JSON array of keys that `wrangler kv key list` prints",
        ),
        (
            only_users.as_path(),
            "1 keys listed, none of them an email: key",
        ),
    ] {
        let run = tollgate(
            &[
                "import",
                "-",
                "--out",
                "-",
                "--existing",
                file.to_str().unwrap(),
            ],
            lines,
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .starts_with("error[invalid_argument]: --existing "),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(error), "{}", run.stderr);
        assert!(
            run.stderr.contains("hint: ") && run.stderr.contains("wrangler kv key list"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    // An empty namespace lists nothing: nothing collides.
    let empty = key_listing(dir.path(), &[]);
    let run = tollgate(
        &[
            "import",
            "-",
            "--out",
            "-",
            "--existing",
            empty.to_str().unwrap(),
        ],
        lines,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(users_in(&run.stdout).len(), 1);
}

#[test]
fn reads_stdin_and_writes_stdout_when_asked() {
    let lines = "{\"email\":\"a@b.io\",\"password_hash\":\"$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW\"}\n";
    let run = tollgate(&["import", "-"], lines);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(users_in(&run.stdout).len(), 1);
    let run = tollgate(&["import", "-", "--out", "-"], lines);
    assert_eq!(users_in(&run.stdout).len(), 1);
}

/// Accounts exported disabled (Django's and FastAPI-Users' `is_active: false`) arrive
/// disabled: nobody can log in to them until an admin enables them. `true`, `null` or no field
/// is an active account; any other value is a wrong type, rejected by line number.
#[test]
fn is_active_false_imports_a_disabled_account() {
    let hash = "$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";
    let lines = [
        format!(r#"{{"email":"off@b.io","password_hash":"{hash}","is_active":false}}"#),
        format!(r#"{{"email":"on@b.io","password_hash":"{hash}","is_active":true}}"#),
        format!(r#"{{"email":"null@b.io","password_hash":"{hash}","is_active":null}}"#),
        format!(r#"{{"email":"absent@b.io","password_hash":"{hash}"}}"#),
        format!(r#"{{"email":"zero@b.io","password_hash":"{hash}","is_active":0}}"#),
    ]
    .join("\n");
    let run = tollgate(&["import", "-"], &lines);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let users = users_in(&run.stdout);
    let disabled: Vec<(&str, bool)> = ["off@b.io", "on@b.io", "null@b.io", "absent@b.io"]
        .into_iter()
        .map(|e| (e, users[e].disabled))
        .collect();
    assert_eq!(
        disabled,
        [
            ("off@b.io", true),
            ("on@b.io", false),
            ("null@b.io", false),
            ("absent@b.io", false)
        ]
    );
    assert!(!users.contains_key("zero@b.io"));
    assert!(
        run.stderr
            .contains("line 5: wrong_type: \"is_active\" must be true, false or null"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 of them disabled (is_active: false)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ignored fields"), "{}", run.stderr);
    // The listing metadata carries the flag too (`users_in` checks it equals the record's
    // summary), and neither says anything about the active accounts.
    assert!(run.stdout.contains(r#""disabled":true"#));
    assert_eq!(run.stdout.matches("disabled").count(), 2, "{}", run.stdout);
}

/// `email_verified: true` imports the address as verified (the record's `email_verified_at`
/// set); `false`, `null` or no field leaves it unverified; anything else is rejected.
#[test]
fn email_verified_true_imports_a_verified_address() {
    let hash = "$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";
    let lines = [
        format!(r#"{{"email":"yes@b.io","password_hash":"{hash}","email_verified":true}}"#),
        format!(r#"{{"email":"no@b.io","password_hash":"{hash}","email_verified":false}}"#),
        format!(r#"{{"email":"absent@b.io","password_hash":"{hash}"}}"#),
        format!(r#"{{"email":"str@b.io","password_hash":"{hash}","email_verified":"yes"}}"#),
    ]
    .join("\n");
    let run = tollgate(&["import", "-"], &lines);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let users = users_in(&run.stdout);
    assert!(users["yes@b.io"].email_verified_at.is_some());
    assert!(users["no@b.io"].email_verified_at.is_none());
    assert!(users["absent@b.io"].email_verified_at.is_none());
    assert!(!users.contains_key("str@b.io"));
    assert!(
        run.stderr
            .contains("line 4: wrong_type: \"email_verified\" must be true, false or null"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ignored fields"), "{}", run.stderr);
}

#[test]
fn an_input_with_nothing_to_import_fails() {
    for (input, why) in [
        ("", "0 lines, 0 rejected"),
        ("\n\n", "2 lines, 0 rejected"),
        ("{}\n", "1 lines, 1 rejected"),
    ] {
        let run = tollgate(&["import", "-"], input);
        assert_eq!(run.code, 1, "{input:?}");
        assert!(
            run.stderr.contains(&format!(
                "error[import_rejected]: no user could be imported from - ({why})"
            )),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn a_missing_input_is_an_io_error_naming_the_file() {
    let run = tollgate(&["import", "/no/such/users.jsonl", "--out", "-"], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error[io_error]: failed reading /no/such/users.jsonl:"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(tollgate(&["import"], "").code, 2);
    assert_eq!(tollgate(&["import", "a", "--bogus"], "").code, 2);
    assert_eq!(tollgate(&["frobnicate"], "").code, 2);
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["keygen", "--help"],
        &["import", "--help"],
        &["user", "--help"],
        &["user", "add", "--help"],
        &["calibrate", "--help"],
        &["hash", "--help"],
        &["verify", "--help"],
        &["fold-emails", "--help"],
    ] {
        let run = tollgate(args, "");
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stdout.contains("Usage: tollgate"), "{args:?}");
    }
    let help = tollgate(&["import", "--help"], "").stdout;
    for rule in [
        "Blank lines are skipped",
        "all of them are rejected",
        "Exit codes: 0 the bulk file was written",
    ] {
        assert!(help.contains(rule), "import --help documents: {rule}");
    }
}

/// What one login may cost is the Worker's decision (`tollgate_core::password::bounds`), and
/// the importer makes the same one: hashes at the bounds import, hashes over them are rejected
/// by line number, so no imported user is one the Worker would refuse to log in.
#[test]
fn hashes_over_the_workers_cost_bounds_are_rejected_by_line_number() {
    const TAG: &str = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    const BCRYPT_BODY: &str = "oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";
    let argon2 = |params: &str| format!("$argon2id$v=19${params}$c29tZXNhbHQ${TAG}");
    // (hash, imported?)
    let lines = [
        (argon2("m=65536,t=3,p=4"), true), // argon2-cffi's and passlib's defaults
        (format!("$2b$12${BCRYPT_BODY}"), true), // passlib's and pyca/bcrypt's default cost
        (argon2("m=65536,t=4,p=16"), true), // memory and work at their bounds
        (argon2("m=26214,t=10,p=1"), true), // passes at the bound, work just under
        (argon2("m=65537,t=1,p=1"), false), // 64 MiB + 1 KiB
        (argon2("m=131072,t=1,p=1"), false), // the whole isolate
        (argon2("m=65536,t=5,p=4"), false), // work: five passes over 64 MiB
        (argon2("m=26215,t=10,p=1"), false), // work just over
        (argon2("m=8,t=11,p=1"), false),   // passes
        (argon2("m=65536,t=2,p=17"), false), // lanes
        (format!("$2b$13${BCRYPT_BODY}"), false),
        (format!("$2a$15${BCRYPT_BODY}"), false),
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("users.jsonl");
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, (hash, _))| {
            format!("{{\"email\":\"user{i}@example.com\",\"password_hash\":\"{hash}\"}}\n")
        })
        .collect();
    fs::write(&input, text).unwrap();
    let out = dir.path().join("bulk.json");
    let run = tollgate(
        &[
            "import",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reported: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("line "))
        .collect();
    let refused: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, (_, ok))| !ok)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(reported.len(), refused.len(), "{}", run.stderr);
    for (number, got) in refused.iter().zip(&reported) {
        assert!(
            got.starts_with(&format!(
                "line {number}: invalid_password_hash: cost above the allowed maximum: "
            )) && got.contains(
                "bcrypt cost <= 12; argon2 m <= 65536 KiB, t <= 10, p <= 16, m x t <= 262144 KiB"
            ),
            "line {number}: {got}"
        );
    }
    let users = users_in(&fs::read_to_string(&out).unwrap());
    for (i, (hash, ok)) in lines.iter().enumerate() {
        let email = format!("user{i}@example.com");
        assert_eq!(users.contains_key(&email), *ok, "{hash}");
        // The importer's decision is the core's, which the Worker's login makes.
        assert_eq!(
            tollgate_core::password::inspect_stored_hash(hash).is_ok(),
            *ok,
            "{hash}"
        );
    }
}

/// A deployment with its own `ROLES` passes the same JSON to `--roles`: its roles are then
/// accepted, and the default table's refusals name the roles it does have. A table the
/// Worker would refuse is a usage error here too.
#[test]
fn roles_are_checked_against_the_deployments_table_given_with_roles() {
    let hash = "$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";
    let line = format!(r#"{{"email":"ed@b.io","password_hash":"{hash}","role":"editor"}}"#);
    let run = tollgate(&["import", "-"], &line);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 1: invalid_role: role \"editor\" is not one of user, admin"),
        "{}",
        run.stderr
    );
    let table = r#"{"user": ["profile"], "editor": ["profile", "notes:write"], "admin": ["users:read", "users:write"]}"#;
    let run = tollgate(&["import", "-", "--roles", table], &line);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(users_in(&run.stdout)["ed@b.io"].role, "editor");
    let bad = r#"{"user": ["profile"], "admin": ["profile"]}"#;
    let run = tollgate(&["import", "-", "--roles", bad], &line);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error[invalid_argument]: ROLES must give \"admin\""),
        "{}",
        run.stderr
    );
}
