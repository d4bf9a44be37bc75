//! `tollgate user add` at a terminal: the password is asked twice at a no-echo prompt. The
//! binary runs in a pseudo-terminal (rexpect), which is its controlling terminal, so the
//! prompt path is the one an operator gets, not the piped-stdin one the other tests take.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};
use serde_json::Value;
use tollgate_core::password::{PasswordHasher, Verified};
use tollgate_core::store::UserRecord;

const PASSWORD: &str = "typed at the terminal 42";

/// How long any one expected output may take, in milliseconds (hashing included).
const TIMEOUT_MS: u64 = 60_000;

/// `tollgate user add <email> --role admin --out <out>` in a pty. The terminal's echo is
/// turned back on first (`stty echo`), as in a real terminal, so that a prompt that forgot to
/// disable it would show the password in the output.
fn user_add_at_a_terminal(email: &str, out: &Path) -> PtySession {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        "stty echo && exec \"$@\"",
        "sh",
        env!("CARGO_BIN_EXE_tollgate"),
        "user",
        "add",
        email,
        "--role",
        "admin",
        "--out",
        out.to_str().unwrap(),
    ]);
    spawn_command(command, Some(TIMEOUT_MS)).expect("tollgate starts in a pty")
}

/// Everything until the process ends, and its exit code.
fn finish(mut session: PtySession) -> (String, i32) {
    let rest = session.exp_eof().expect("tollgate ends");
    match session.process().wait().expect("tollgate is waited for") {
        WaitStatus::Exited(_, code) => (rest, code),
        other => panic!("tollgate did not exit normally: {other:?}\n{rest}"),
    }
}

#[test]
fn the_password_is_asked_twice_without_echo_and_the_user_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("admin.json");
    let mut session = user_add_at_a_terminal("tty.admin@example.com", &out);
    let mut seen = session.exp_string("Password: ").unwrap();
    session.send_line(PASSWORD).unwrap();
    seen += &session.exp_string("Repeat password: ").unwrap();
    session.send_line(PASSWORD).unwrap();
    let (rest, code) = finish(session);
    seen += &rest;
    assert_eq!(code, 0, "{seen}");
    assert!(
        !seen.contains(PASSWORD),
        "the password was echoed: {seen:?}"
    );
    assert!(
        seen.contains("wrote user ") && seen.contains("(tty.admin@example.com, role admin)"),
        "{seen}"
    );

    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let record: UserRecord = serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        (record.email.as_str(), record.role.as_str()),
        ("tty.admin@example.com", "admin")
    );
    assert_eq!(
        PasswordHasher::default()
            .verify(PASSWORD, &record.password_hash)
            .unwrap(),
        Verified::Match {
            needs_rehash: false
        }
    );
}

#[test]
fn two_different_answers_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("admin.json");
    let mut session = user_add_at_a_terminal("tty.admin@example.com", &out);
    session.exp_string("Password: ").unwrap();
    session.send_line(PASSWORD).unwrap();
    session.exp_string("Repeat password: ").unwrap();
    session.send_line("typed at the terminal 43").unwrap();
    let (seen, code) = finish(session);
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("error[password_input]: the two passwords differ"),
        "{seen}"
    );
    assert!(
        seen.contains("hint: type the same password twice"),
        "{seen}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file either"
    );
}

#[test]
fn a_password_typed_at_the_prompt_meets_the_same_policy_as_a_piped_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("admin.json");
    let mut session = user_add_at_a_terminal("tty.admin@example.com", &out);
    for _ in 0..2 {
        session.exp_string("assword: ").unwrap();
        session.send_line("short").unwrap();
    }
    let (seen, code) = finish(session);
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("error[password_input]: the password is not acceptable"),
        "{seen}"
    );
    assert!(!out.exists());
}
