//! Hashing new passwords, verifying them, deciding when to re-hash, and configuring the cost.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use tollgate_core::password::{
    Argon2Params, HashFormat, PasswordHasher, StoredCost, StoredHashInfo, Verified,
    inspect_stored_hash,
};
use tollgate_core::random::{Random, SeededRandom};
use tollgate_core::{Error, ErrorCode};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn default_hasher() -> PasswordHasher {
    PasswordHasher::new(Argon2Params::DEFAULT)
}

/// A source that always gives the same byte, to see exactly where the salt comes from.
struct Constant(u8);

impl Random for Constant {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.fill(self.0);
    }
}

// --- hash -------------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn hash_writes_argon2id_v19_at_the_configured_cost() {
    let stored = default_hasher()
        .hash("correct horse battery staple", &mut SeededRandom::new(1))
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let fields: Vec<&str> = stored.split('$').collect();
    assert_eq!(fields.len(), 6, "{stored}");
    assert_eq!(fields[4].len(), 22, "16-byte salt is 22 base64 characters");
    assert_eq!(
        fields[5].len(),
        43,
        "32-byte output is 43 base64 characters"
    );
    assert_eq!(
        inspect_stored_hash(&stored).unwrap(),
        StoredHashInfo {
            format: HashFormat::Argon2id,
            cost: StoredCost::Argon2 {
                version: 0x13,
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1,
                salt_bytes: 16,
                output_bytes: 32,
            },
        }
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_salt_comes_from_the_callers_randomness() {
    let hasher = default_hasher();
    let zeros = hasher.hash("hunter2hunter2", &mut Constant(0)).unwrap();
    assert_eq!(zeros.split('$').nth(4), Some("AAAAAAAAAAAAAAAAAAAAAA"));
    let same = hasher.hash("hunter2hunter2", &mut Constant(0)).unwrap();
    assert_eq!(zeros, same, "same salt and password, same hash");
    let a = hasher
        .hash("hunter2hunter2", &mut SeededRandom::new(1))
        .unwrap();
    let b = hasher
        .hash("hunter2hunter2", &mut SeededRandom::new(2))
        .unwrap();
    assert_ne!(a, b, "different salts, different hashes");
}

#[wasm_bindgen_test(unsupported = test)]
fn hash_accepts_a_dyn_random() {
    let mut rng = SeededRandom::new(3);
    let rng: &mut dyn Random = &mut rng;
    assert!(default_hasher().hash("dyn-random-ok", rng).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn hash_refuses_over_long_passwords_before_any_work() {
    let hasher = default_hasher();
    let too_long = "a".repeat(1025);
    assert_eq!(
        hasher.hash(&too_long, &mut SeededRandom::new(1)),
        Err(Error::field("password", ErrorCode::PasswordTooLong))
    );
    // Bytes, not characters: 513 two-byte characters are 1026 bytes.
    assert!(hasher.hash(&"é".repeat(513), &mut Constant(1)).is_err());
    assert!(hasher.hash(&"a".repeat(1024), &mut Constant(1)).is_ok());
    assert!(hasher.hash(&"é".repeat(512), &mut Constant(1)).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn hash_refuses_parameters_it_could_not_verify_later() {
    for (m, t, p) in [
        (262_145, 2, 1),
        (19_456, 11, 1),
        (19_456, 2, 17),
        (7, 1, 1),
        (64, 0, 1),
    ] {
        let hasher = PasswordHasher::new(Argon2Params {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        });
        assert!(
            matches!(
                hasher.hash("password1!", &mut Constant(1)),
                Err(Error::Misconfigured(_))
            ),
            "m={m} t={t} p={p}"
        );
    }
}

// --- verify -----------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn hash_then_verify_round_trips() {
    let hasher = default_hasher();
    for password in [
        "correct horse battery staple",
        "pässwörd-ünïcödé",
        "パスワード確認用",
        "🔒🔑🦀🌍🎲🧩🚀🌙",
        "",
        "\0nul\0inside\0",
    ] {
        let stored = hasher.hash(password, &mut SeededRandom::new(9)).unwrap();
        assert_eq!(
            hasher.verify(password, &stored),
            Ok(Verified::Match {
                needs_rehash: false
            }),
            "{password:?}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn wrong_passwords_are_mismatches() {
    let hasher = default_hasher();
    let stored = hasher
        .hash("Correct Horse", &mut SeededRandom::new(4))
        .unwrap();
    for wrong in [
        "correct horse", // case is never folded
        "Correct Horse ",
        " Correct Horse", // nor whitespace trimmed
        "Correct Hors",
        "Correct Horse\0",
        "",
    ] {
        assert_eq!(
            hasher.verify(wrong, &stored),
            Ok(Verified::Mismatch),
            "{wrong:?}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn unicode_is_hashed_as_given_without_normalisation() {
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) look alike but differ in bytes.
    let hasher = default_hasher();
    let stored = hasher.hash("caf\u{e9}-latte", &mut Constant(5)).unwrap();
    assert_eq!(
        hasher.verify("cafe\u{301}-latte", &stored),
        Ok(Verified::Mismatch)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn over_long_passwords_are_a_fast_mismatch_but_bad_hashes_still_an_error() {
    let hasher = default_hasher();
    let stored = hasher.hash("short enough", &mut Constant(6)).unwrap();
    let huge = "a".repeat(1 << 20);
    assert_eq!(hasher.verify(&huge, &stored), Ok(Verified::Mismatch));
    assert!(matches!(
        hasher.verify(&huge, "$argon2id$nonsense"),
        Err(Error::Internal(_))
    ));
}

#[wasm_bindgen_test(unsupported = test)]
fn verify_reports_the_refusal_reason_as_an_internal_error() {
    let err = default_hasher()
        .verify(
            "password",
            "$argon2id$v=19$m=999999,t=2,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAA",
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert_eq!(
        err.to_string(),
        "internal_error: stored password hash refused: cost above the allowed maximum"
    );
}

// --- needs_rehash -----------------------------------------------------------------------------

/// A 16-byte salt and a 32-byte output of zeros: needs_rehash never looks at the tag.
fn argon2(variant: &str, version: &str, params: &str) -> String {
    format!(
        "${variant}{version}${params}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
}

macro_rules! needs_rehash {
    ($($name:ident: $stored:expr => $expected:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            let stored: &str = &$stored;
            // Configured at the OWASP floor: m=19456 KiB, t=2, p=1.
            assert_eq!(default_hasher().needs_rehash(stored), $expected, "{stored}");
        }
    )+};
}

needs_rehash! {
    rehash_not_needed_at_exactly_the_configured_cost: argon2("argon2id", "$v=19", "m=19456,t=2,p=1") => false;
    rehash_not_needed_with_more_memory: argon2("argon2id", "$v=19", "m=65536,t=2,p=1") => false;
    rehash_not_needed_with_more_passes: argon2("argon2id", "$v=19", "m=19456,t=3,p=1") => false;
    rehash_not_needed_for_other_parallelism: argon2("argon2id", "$v=19", "m=19456,t=2,p=4") => false;
    rehash_for_less_memory: argon2("argon2id", "$v=19", "m=19455,t=2,p=1") => true;
    rehash_for_fewer_passes_even_on_another_owasp_row: argon2("argon2id", "$v=19", "m=47104,t=1,p=1") => true;
    rehash_for_argon2i: argon2("argon2i", "$v=19", "m=65536,t=3,p=1") => true;
    rehash_for_argon2d: argon2("argon2d", "$v=19", "m=65536,t=3,p=1") => true;
    rehash_for_version_16: argon2("argon2id", "$v=16", "m=65536,t=3,p=1") => true;
    rehash_for_missing_version: argon2("argon2id", "", "m=65536,t=3,p=1") => true;
    rehash_for_an_8_byte_salt:
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc" => true;
    rehash_for_a_16_byte_output:
        "$argon2id$v=19$m=65536,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA" => true;
    rehash_for_bcrypt: "$2b$12$2Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe" => true;
    rehash_for_anything_unparseable: "not a hash" => true;
}

#[wasm_bindgen_test(unsupported = test)]
fn a_match_reports_whether_the_configured_cost_has_risen() {
    let floor = default_hasher();
    let stored = floor.hash("rising-cost", &mut Constant(7)).unwrap();
    for (params, expected) in [
        (Argon2Params::new(19_456, 2, 1).unwrap(), false),
        (Argon2Params::new(47_104, 1, 1).unwrap(), true), // more memory
        (Argon2Params::new(9_216, 4, 1).unwrap(), true),  // more passes
        (Argon2Params::new(19_456, 2, 4).unwrap(), false), // lanes only
    ] {
        assert_eq!(
            PasswordHasher::new(params).verify("rising-cost", &stored),
            Ok(Verified::Match {
                needs_rehash: expected
            }),
            "{params:?}"
        );
    }
}

// --- dummy_verify -----------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn dummy_verify_runs_for_any_password_and_any_parameters() {
    let hasher = default_hasher();
    hasher.dummy_verify("someone@example.com's guess");
    hasher.dummy_verify("");
    hasher.dummy_verify(&"a".repeat(1 << 20));
    // Parameters argon2 refuses, or that no stored hash may have, are skipped like `hash`
    // refuses them: neither a panic nor (for t = u32::MAX) hours of work.
    for (m, t, p) in [(0, 0, 0), (8, u32::MAX, 1), (u32::MAX, 1, 1)] {
        PasswordHasher::new(Argon2Params {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        })
        .dummy_verify("password");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn dummy_verify_is_a_verify_against_a_hash_like_every_hash_at_these_parameters() {
    // dummy_verify is `verify(password, dummy_hash())`, so it costs what verifying a real
    // stored hash costs exactly when the dummy hash states the same cost as the real ones.
    let mut rng = SeededRandom::new(5);
    for params in [
        Argon2Params::DEFAULT,
        Argon2Params::new(12_288, 3, 1).unwrap(),
        Argon2Params {
            memory_kib: 64,
            iterations: 3,
            parallelism: 4,
        },
    ] {
        let hasher = PasswordHasher::new(params);
        let dummy = hasher.dummy_hash();
        let real = hasher
            .hash("correct horse battery staple", &mut rng)
            .unwrap();
        let dummy_info = inspect_stored_hash(&dummy).unwrap();
        assert_eq!(
            dummy_info,
            inspect_stored_hash(&real).unwrap(),
            "{params:?}"
        );
        assert_eq!(
            dummy_info.cost,
            StoredCost::Argon2 {
                version: 0x13,
                memory_kib: params.memory_kib,
                iterations: params.iterations,
                parallelism: params.parallelism,
                salt_bytes: 16,
                output_bytes: 32,
            }
        );
        assert!(!hasher.needs_rehash(&dummy), "{params:?}");
        // Verified in full (not refused before hashing), and matched by no password.
        for password in ["correct horse battery staple", "", "password"] {
            assert_eq!(hasher.verify(password, &dummy), Ok(Verified::Mismatch));
        }
    }
}

/// How long `f` takes, in seconds.
#[cfg(not(target_arch = "wasm32"))]
fn seconds(f: impl FnOnce()) -> f64 {
    let start = std::time::Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

#[cfg(not(target_arch = "wasm32"))]
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

// Native only: wasm32-unknown-unknown has no clock for `Instant`. The structural test above
// is the one that runs everywhere; this one measures what it implies.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn dummy_verify_takes_as_long_as_a_real_verify_at_the_default_cost() {
    let hasher = default_hasher();
    let stored = hasher
        .hash("correct horse battery staple", &mut SeededRandom::new(6))
        .unwrap();
    // Interleaved, so that a neighbour's load on a shared machine hits both alike.
    let (mut real, mut dummy) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        real.push(seconds(|| {
            let _ = hasher.verify("someone's wrong guess", &stored);
        }));
        dummy.push(seconds(|| hasher.dummy_verify("someone's wrong guess")));
    }
    let (real, dummy) = (median(real), median(dummy));
    assert!(
        (0.5..=2.0).contains(&(dummy / real)),
        "dummy {:.1} ms vs verify {:.1} ms",
        dummy * 1e3,
        real * 1e3
    );
}

// --- Argon2Params -----------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn default_is_the_owasp_floor() {
    assert_eq!(
        Argon2Params::DEFAULT,
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1
        }
    );
    assert_eq!(Argon2Params::default(), Argon2Params::DEFAULT);
    assert_eq!(PasswordHasher::default().params(), Argon2Params::DEFAULT);
    assert_eq!(Argon2Params::new(19_456, 2, 1), Ok(Argon2Params::DEFAULT));
}

#[wasm_bindgen_test(unsupported = test)]
fn every_owasp_row_is_accepted() {
    for row in Argon2Params::OWASP_ROWS {
        assert_eq!(
            Argon2Params::new(row.memory_kib, row.iterations, row.parallelism),
            Ok(row)
        );
    }
}

macro_rules! params {
    ($($name:ident: ($m:expr, $t:expr, $p:expr) => $ok:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            let result = Argon2Params::new($m, $t, $p);
            if $ok {
                assert_eq!(
                    result,
                    Ok(Argon2Params { memory_kib: $m, iterations: $t, parallelism: $p })
                );
            } else {
                assert!(matches!(result, Err(Error::Misconfigured(_))), "{result:?}");
            }
        }
    )+};
}

params! {
    params_between_rows: (30_000, 2, 1) => true;
    params_stronger_than_every_row: (65_536, 3, 4) => true;
    params_at_the_memory_and_work_bounds: (65_536, 4, 16) => true;
    params_at_the_pass_and_work_bounds: (26_214, 10, 16) => true;
    params_much_memory_one_pass: (65_536, 1, 1) => true;
    params_just_below_the_floor: (19_455, 2, 1) => false;
    params_just_below_the_one_pass_row: (47_103, 1, 1) => false;
    params_just_below_the_five_pass_row: (7_167, 5, 1) => false;
    params_enough_memory_for_no_row: (9_216, 3, 1) => false;
    params_many_passes_little_memory: (1_024, 10, 1) => false;
    params_zero_parallelism: (19_456, 2, 0) => false;
    params_memory_over_bound: (65_537, 1, 1) => false;
    params_the_old_memory_bound: (262_144, 1, 1) => false;
    params_work_over_bound_at_full_memory: (65_536, 5, 1) => false;
    params_work_over_bound_at_ten_passes: (26_215, 10, 1) => false;
    params_passes_over_bound: (19_456, 11, 1) => false;
    params_lanes_over_bound: (19_456, 2, 17) => false;
    params_all_maximal: (u32::MAX, u32::MAX, u32::MAX) => false;
    params_all_zero: (0, 0, 0) => false;
}
