//! The scope strings are one contract: every place outside the core that names one of
//! Tollgate's scopes (the guard library's docs, the example Worker, the FastAPI example and
//! its README, the admin page) names a scope of the default role table, spelled as the core
//! spells it. A renamed scope fails here instead of in a deployment.
#![allow(clippy::expect_used, clippy::panic)]

use tollgate_core::roles::Roles;
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Each file, and the call whose first string argument is a scope.
const USES: &[(&str, &str, &str)] = &[
    (
        "worker/src/lib.rs",
        include_str!("../../../worker/src/lib.rs"),
        "require_scope(&principal, \"",
    ),
    (
        "examples/guarded-worker/src/lib.rs",
        include_str!("../../../examples/guarded-worker/src/lib.rs"),
        "require_scope(&user, \"",
    ),
    (
        "examples/fastapi-resource-server/main.py",
        include_str!("../../../examples/fastapi-resource-server/main.py"),
        "require_scope(\"",
    ),
    (
        "examples/fastapi-resource-server/README.md",
        include_str!("../../../examples/fastapi-resource-server/README.md"),
        "require_scope(\"",
    ),
    (
        "worker/public/admin.js",
        include_str!("../../../worker/public/admin.js"),
        "const USERS_READ = '",
    ),
];

/// The string after each occurrence of `call` in `text`, up to the closing quote.
fn scopes_named<'a>(text: &'a str, call: &str) -> Vec<&'a str> {
    let quote = call.chars().last().expect("the call ends with its quote");
    text.match_indices(call)
        .map(|(i, _)| {
            let rest = &text[i + call.len()..];
            &rest[..rest.find(quote).expect("a closing quote")]
        })
        .filter(|s| *s != "...")
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn every_scope_named_outside_the_core_is_a_scope_of_the_default_table() {
    let roles = Roles::default();
    let known: Vec<&str> = roles.scopes().into_iter().map(|(s, _)| s).collect();
    for (path, text, call) in USES {
        let named = scopes_named(text, call);
        assert!(
            !named.is_empty(),
            "{path} names no scope with {call}: update this test"
        );
        for scope in named {
            assert!(
                known.contains(&scope),
                "{path} names {scope:?}, not one of {known:?}"
            );
        }
    }
}

/// The FastAPI example's docstring lists the scope strings: exactly the default table's.
#[wasm_bindgen_test(unsupported = test)]
fn the_fastapi_example_lists_exactly_the_default_scopes() {
    let auth = include_str!("../../../examples/fastapi-resource-server/auth.py");
    let start = auth
        .find("Tollgate's scope")
        .expect("the scope list in auth.py");
    let list = &auth[start..start + auth[start..].find(')').expect("end of the list")];
    let listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    let roles = Roles::default();
    let known: Vec<&str> = roles.scopes().into_iter().map(|(s, _)| s).collect();
    assert_eq!(listed, known);
}
