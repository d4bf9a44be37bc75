//! The browser client never links the core's `server` feature: no password hashing, no token
//! signing, no MAC or serde stack in the wasm that every page downloads.
//!
//! Cargo unifies features, so a single `features = ["server"]` anywhere on the client's path
//! (its own manifest, a new dependency that enables it) would silently ship argon2 and
//! jsonwebtoken to browsers. This asks cargo for the client's real wasm32 dependency graph.
//! Native only: it runs `cargo tree`, which a browser cannot.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

/// Crates only the core's `server` feature brings in (see `crates/core/Cargo.toml`), plus
/// blake2 (argon2's hash): any of them in the client's graph means server code in the browser.
const SERVER_ONLY: [&str; 11] = [
    "argon2",
    "blake2",
    "blowfish",
    "jsonwebtoken",
    "ed25519-dalek",
    "hmac",
    "sha2",
    "subtle",
    "serde",
    "serde_json",
    "getrandom",
];

/// `cargo tree` of tollgate-client for wasm32, normal dependencies only, one line per crate
/// with its enabled features: `name vX.Y.Z [(path)]|feature,feature`.
fn wasm_dependency_tree() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args([
            "tree",
            "--locked",
            "-p",
            "tollgate-client",
            "--target",
            "wasm32-unknown-unknown",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--no-dedupe",
            "--format",
            "{p}|{f}",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

#[test]
fn the_wasm_build_links_no_server_only_crate() {
    let tree = wasm_dependency_tree();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"tollgate-core"),
        "the client depends on the core:\n{tree}"
    );
    let mut found: Vec<&str> = crates
        .iter()
        .copied()
        .filter(|name| SERVER_ONLY.contains(name))
        .collect();
    found.sort_unstable();
    found.dedup();
    assert!(
        found.is_empty(),
        "server-only crates in the browser client's wasm32 graph: {found:?}\n{tree}"
    );
}

#[test]
fn the_core_is_built_for_the_client_without_its_server_feature() {
    let tree = wasm_dependency_tree();
    let core: Vec<&str> = tree
        .lines()
        .filter(|line| line.starts_with("tollgate-core "))
        .collect();
    assert!(!core.is_empty(), "{tree}");
    for line in core {
        // After the `|`, the comma-separated list of enabled features (empty for none).
        let features = line.rsplit('|').next().unwrap_or("");
        assert!(
            !features.split(',').any(|f| f == "server" || f == "default"),
            "tollgate-core has features {features:?} in the client's graph: {line}"
        );
    }
}
