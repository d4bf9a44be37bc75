//! Stored hashes are untrusted input: what `inspect_stored_hash` reports for good ones, and
//! that every bad one is refused with the right reason before any hashing.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use tollgate_core::Error;
use tollgate_core::password::{
    Argon2Params, HashFormat, MAX_STORED_HASH_BYTES, PasswordHasher, StoredCost, StoredHashError,
    StoredHashInfo, Verified, inspect_stored_hash,
};
use tollgate_core::random::{Random, SeededRandom};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// P-H-C/phc-winner-argon2 `src/test.c`: argon2id v=19, m=65536, t=2, p=1, "password",
/// "somesalt". The rows below are mutations of it (or of BCRYPT).
const ARGON2ID: &str =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
/// pyca/bcrypt `tests/test_bcrypt.py`: "dEe6XfVGrrfSH" at cost 4.
const BCRYPT: &str = "$2b$04$2Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe";
/// The salt and hash part of BCRYPT.
const BCRYPT_BODY: &str = "2Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe";
/// A canonical 43-character (32-byte) argon2 output, for rows whose tag does not matter.
const TAG: &str = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

fn argon2id_with(params: &str) -> String {
    format!("$argon2id$v=19${params}$c29tZXNhbHQ${TAG}")
}

/// One test per row: inspect, verify and needs_rehash all refuse it, with the given reason.
///
/// Rows marked "would take hours" name a cost that, were it ever computed, would hang the
/// test: they show the refusal comes before any hashing without needing a clock.
macro_rules! refused {
    ($($name:ident: $stored:expr => $reason:ident;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            let stored: &str = &$stored;
            assert_eq!(inspect_stored_hash(stored), Err(StoredHashError::$reason), "{stored:?}");
            let hasher = PasswordHasher::new(Argon2Params::DEFAULT);
            let expected = format!(
                "stored password hash refused: {}",
                StoredHashError::$reason.as_str()
            );
            assert_eq!(hasher.verify("password", stored), Err(Error::Internal(expected)));
            assert!(hasher.needs_rehash(stored));
        }
    )+};
}

refused! {
    // --- Not a format we know ---
    empty: "" => UnknownFormat;
    plain_text: "password" => UnknownFormat;
    md5_crypt: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/" => UnknownFormat;
    django_pbkdf2: "pbkdf2_sha256$600000$c29tZXNhbHQ$aGFzaA==" => UnknownFormat;
    scrypt_phc: "$scrypt$ln=16,r=8,p=1$c29tZXNhbHQ$aGFzaA" => UnknownFormat;
    leading_space: format!(" {ARGON2ID}") => UnknownFormat;
    argon2_without_variant: ARGON2ID.replace("argon2id", "argon2") => UnknownFormat;
    argon2_unknown_variant: ARGON2ID.replace("argon2id", "argon2x") => UnknownFormat;
    argon2_uppercase: ARGON2ID.replace("argon2id", "ARGON2ID") => UnknownFormat;
    bcrypt_2x_sign_extension_bug: format!("$2x$04${BCRYPT_BODY}") => UnknownFormat;
    bcrypt_2_original: format!("$2$04${BCRYPT_BODY}") => UnknownFormat;
    // passlib `test_handlers_bcrypt.py` known_unidentified_hashes.
    bcrypt_2f: "$2f$12$EXRkfkdmXnagzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q" => UnknownFormat;
    bcrypt_2_backtick: "$2`$12$EXRkfkdmXnagzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q" => UnknownFormat;

    // --- Too long to look at ---
    one_byte_over: format!("{ARGON2ID}{}", "A".repeat(MAX_STORED_HASH_BYTES - ARGON2ID.len() + 1)) => TooLong;
    a_megabyte: "$argon2id$".repeat(100_000) => TooLong;

    // --- argon2 structure (P-H-C src/test.c "invalid encoding" rows, passlib's malformed rows) ---
    argon2_missing_dollar_before_salt:
        "$argon2i$v=19$m=65536,t=2,p=1c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA" => Malformed;
    argon2_missing_dollar_before_hash:
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQwWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA" => Malformed;
    argon2_missing_m:
        "$argon2i$v=19$t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY" => Malformed;
    argon2_unexpected_parameter:
        "$argon2i$v=19$m=65536,t=2,p=4,q=5$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY" => Malformed;
    argon2_parameters_out_of_order:
        "$argon2i$v=19$t=2,m=65536,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY" => Malformed;
    argon2_truncated_after_variant: "$argon2id" => Malformed;
    argon2_truncated_after_version: "$argon2id$v=19" => Malformed;
    argon2_truncated_after_params: "$argon2id$v=19$m=65536,t=2,p=1" => Malformed;
    argon2_truncated_without_hash: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ" => Malformed;
    argon2_trailing_field: format!("{ARGON2ID}$AAAA") => Malformed;
    argon2_m_not_a_number: argon2id_with("m=dummy,t=2,p=1") => Malformed;
    argon2_m_leading_zero: argon2id_with("m=065536,t=2,p=1") => Malformed;
    argon2_m_with_sign: argon2id_with("m=+65536,t=2,p=1") => Malformed;
    argon2_m_empty: argon2id_with("m=,t=2,p=1") => Malformed;
    argon2_params_with_spaces: argon2id_with("m=65536, t=2, p=1") => Malformed;
    argon2_version_hex: ARGON2ID.replace("v=19", "v=0x13") => Malformed;
    argon2_version_leading_zero: ARGON2ID.replace("v=19", "v=019") => Malformed;
    argon2_version_twice: ARGON2ID.replace("v=19", "v=19$v=19") => Malformed;

    // --- argon2 parameters nobody verifies (passlib test_keyid_parameter, test_data_parameter) ---
    argon2_keyid:
        "$argon2i$v=19$m=65536,t=2,p=4,keyid=ABCD$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4" => UnsupportedParameter;
    argon2_data:
        "$argon2i$v=19$m=512,t=2,p=2,data=c29tZWRhdGE$c29tZXNhbHQ$KgHyCesFyyjkVkihZ5VNFw" => UnsupportedParameter;

    // --- argon2 versions ---
    argon2_version_42: ARGON2ID.replace("v=19", "v=42") => UnsupportedVersion;
    argon2_version_0: ARGON2ID.replace("v=19", "v=0") => UnsupportedVersion;
    argon2_version_huge: ARGON2ID.replace("v=19", "v=99999999999999999999") => UnsupportedVersion;

    // --- argon2 cost above the bounds (m <= 64 MiB, t <= 10, m x t <= 4 x 64 MiB) ---
    argon2_m_one_over: argon2id_with("m=65537,t=1,p=1") => CostTooHigh;
    argon2_m_128_mib_fills_the_isolate: argon2id_with("m=131072,t=1,p=1") => CostTooHigh;
    argon2_m_256_mib_the_old_bound: argon2id_with("m=262144,t=2,p=1") => CostTooHigh;
    argon2_t_one_over: argon2id_with("m=8,t=11,p=1") => CostTooHigh;
    argon2_work_one_pass_over_at_64_mib: argon2id_with("m=65536,t=5,p=4") => CostTooHigh;
    argon2_work_just_over_at_ten_passes: argon2id_with("m=26215,t=10,p=1") => CostTooHigh;
    argon2_work_the_old_bounds: argon2id_with("m=262144,t=10,p=16") => CostTooHigh;
    argon2_p_one_over: argon2id_with("m=65536,t=2,p=17") => CostTooHigh;
    argon2_p_256: argon2id_with("m=65536,t=2,p=256") => CostTooHigh;
    argon2_m_u32_max_would_take_hours: argon2id_with("m=4294967295,t=2,p=1") => CostTooHigh;
    argon2_t_u32_max_would_take_hours: argon2id_with("m=8,t=4294967295,p=1") => CostTooHigh;
    argon2_m_overflows_u32: argon2id_with("m=4294967296,t=2,p=1") => CostTooHigh;
    argon2_t_overflows_u32_passlib: argon2id_with("m=65536,t=8589934592,p=4") => CostTooHigh;
    argon2_m_twenty_digits: argon2id_with("m=99999999999999999999,t=2,p=1") => CostTooHigh;

    // --- argon2 cost the algorithm cannot compute ---
    argon2_m_zero: argon2id_with("m=0,t=2,p=1") => CostTooLow;
    argon2_t_zero: argon2id_with("m=65536,t=0,p=1") => CostTooLow;
    argon2_p_zero: argon2id_with("m=65536,t=2,p=0") => CostTooLow;
    argon2_m_below_8p_passlib:
        "$argon2i$v=19$m=127,t=2,p=16$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4" => CostTooLow;

    // --- argon2 salt and output lengths ---
    argon2_empty_salt_test_c:
        "$argon2i$v=19$m=65536,t=2,p=1$$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ" => SaltLength;
    argon2_salt_7_bytes: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNhbA") => SaltLength;
    argon2_salt_49_bytes: ARGON2ID.replace("c29tZXNhbHQ", &"A".repeat(66)) => SaltLength;
    argon2_output_9_bytes: ARGON2ID.replace(TAG, "AAAAAAAAAAAA") => OutputLength;
    argon2_output_65_bytes: ARGON2ID.replace(TAG, &"A".repeat(87)) => OutputLength;

    // --- argon2 base64 ---
    argon2_salt_bad_character: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNh*HQ") => Base64;
    argon2_salt_url_safe_alphabet: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNh-_Q") => Base64;
    argon2_salt_padded: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNhbHQ=") => Base64;
    argon2_salt_impossible_length: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNhbHQAA") => Base64;
    argon2_output_non_ascii: ARGON2ID.replace("PPc", "P\u{e9}") => Base64;
    argon2_trailing_newline: format!("{ARGON2ID}\n") => Base64;
    argon2_salt_unused_bits_set: ARGON2ID.replace("c29tZXNhbHQ", "c29tZXNhbHR") => NonCanonicalBase64;
    argon2_output_unused_bits_set: ARGON2ID.replace("GRPPc", "GRPPd") => NonCanonicalBase64;

    // --- bcrypt structure (pyca/bcrypt test_checkpw_bad_salt, test_checkpw_extra_data,
    //     test_checkpw_nul_byte; passlib known_malformed_hashes) ---
    bcrypt_one_digit_cost_pyca: "$2b$3$mdEQPMOtfPX.WGZNXgF66OhmBlOGKEd66SQ7DyJPGucYYmvTJYviy" => Malformed;
    bcrypt_one_digit_cost_passlib: "$2a$6$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s." => Malformed;
    bcrypt_short_pyca: "$2b$12$incorrect" => Malformed;
    bcrypt_prefix_only: "$2b$" => Malformed;
    bcrypt_salt_only: "$2b$04$2Siw3Nv3Q/gTOIPetAyPr." => Malformed;
    bcrypt_extra_data: format!("{BCRYPT}extra") => Malformed;
    bcrypt_truncated: BCRYPT[..BCRYPT.len() - 10] => Malformed;
    bcrypt_cost_not_digits: format!("$2b$1x${BCRYPT_BODY}") => Malformed;

    // --- bcrypt cost ---
    bcrypt_cost_3: format!("$2b$03${BCRYPT_BODY}") => CostTooLow;
    bcrypt_cost_0: format!("$2b$00${BCRYPT_BODY}") => CostTooLow;
    bcrypt_cost_13: format!("$2b$13${BCRYPT_BODY}") => CostTooHigh;
    bcrypt_cost_15_the_old_bound: format!("$2a$15${BCRYPT_BODY}") => CostTooHigh;
    bcrypt_cost_16: format!("$2b$16${BCRYPT_BODY}") => CostTooHigh;
    bcrypt_cost_31_would_take_hours: format!("$2a$31${BCRYPT_BODY}") => CostTooHigh;
    bcrypt_cost_99: format!("$2y$99${BCRYPT_BODY}") => CostTooHigh;

    // --- bcrypt base64 ---
    bcrypt_bad_salt_character_pyca: "$2b$04$?Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe" => Base64;
    bcrypt_nul_in_salt_pyca: "$2b$04$2S\0w3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe" => Base64;
    bcrypt_bad_hash_character_passlib: "$2a$12$EXRkfkdmXn!gzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q" => Base64;
    bcrypt_standard_base64_plus: BCRYPT.replace("GNj3", "GN+3") => Base64;
    // passlib known_incorrect_padding: salts and a hash whose unused bits are set.
    bcrypt_salt_2_padding_bits_set_passlib:
        "$2a$04$oaQbBqq8JnSM1NHRPQGXORY4Vw3bdHKLIXTecPDRAcJ98cz1ilveO" => NonCanonicalBase64;
    bcrypt_salt_4_padding_bits_set_passlib:
        "$2a$04$yjDgE74RJkeqC0/1NheSScrvKeu9IbKDpcQf/Ox3qsrRS/Kw42qIS" => NonCanonicalBase64;
    bcrypt_hash_padding_bits_set_passlib:
        "$2a$04$yjDgE74RJkeqC0/1NheSSOrvKeu9IbKDpcQf/Ox3qsrRS/Kw42qIV" => NonCanonicalBase64;
}

/// One test per row: inspect reports the format and cost the string states.
macro_rules! inspected {
    ($($name:ident: $stored:expr => $format:ident, $cost:expr, $display:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            let stored: &str = &$stored;
            let info = inspect_stored_hash(stored).unwrap();
            assert_eq!(info, StoredHashInfo { format: HashFormat::$format, cost: $cost });
            assert_eq!(info.to_string(), $display);
        }
    )+};
}

const fn argon2(version: u32, m: u32, t: u32, p: u32, salt: usize, output: usize) -> StoredCost {
    StoredCost::Argon2 {
        version,
        memory_kib: m,
        iterations: t,
        parallelism: p,
        salt_bytes: salt,
        output_bytes: output,
    }
}

inspected! {
    inspect_argon2id_v13: ARGON2ID
        => Argon2id, argon2(0x13, 65536, 2, 1, 8, 32), "argon2id v=19 m=65536 t=2 p=1";
    inspect_argon2i_without_version_is_v10:
        "$argon2i$m=65536,t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY"
        => Argon2i, argon2(0x10, 65536, 2, 4, 16, 32), "argon2i v=16 m=65536 t=2 p=4";
    inspect_argon2i_v16_explicit:
        "$argon2i$v=16$m=65536,t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY"
        => Argon2i, argon2(0x10, 65536, 2, 4, 16, 32), "argon2i v=16 m=65536 t=2 p=4";
    inspect_argon2d_16_byte_output:
        "$argon2d$v=19$m=512,t=2,p=2$c29tZXNhbHQ$Fb5+nPuLzZvtqKRwqUEtUQ"
        => Argon2d, argon2(0x13, 512, 2, 2, 8, 16), "argon2d v=19 m=512 t=2 p=2";
    inspect_argon2id_at_the_memory_and_work_bounds:
        format!("$argon2id$v=19$m=65536,t=4,p=16${}${}", "A".repeat(64), "A".repeat(86))
        => Argon2id, argon2(0x13, 65_536, 4, 16, 48, 64), "argon2id v=19 m=65536 t=4 p=16";
    inspect_argon2id_at_the_pass_and_work_bounds:
        argon2id_with("m=26214,t=10,p=16")
        => Argon2id, argon2(0x13, 26_214, 10, 16, 8, 32), "argon2id v=19 m=26214 t=10 p=16";
    inspect_argon2id_argon2_cffi_and_passlib_defaults:
        argon2id_with("m=65536,t=3,p=4")
        => Argon2id, argon2(0x13, 65_536, 3, 4, 8, 32), "argon2id v=19 m=65536 t=3 p=4";
    inspect_argon2id_at_every_lower_bound:
        format!("$argon2id$v=19$m=8,t=1,p=1${}${}", "A".repeat(11), "A".repeat(14))
        => Argon2id, argon2(0x13, 8, 1, 1, 8, 10), "argon2id v=19 m=8 t=1 p=1";
    inspect_bcrypt_2b: BCRYPT => Bcrypt, StoredCost::Bcrypt { cost: 4 }, "bcrypt cost=4";
    inspect_bcrypt_2a_cost_12_at_the_bound: format!("$2a$12${BCRYPT_BODY}")
        => Bcrypt, StoredCost::Bcrypt { cost: 12 }, "bcrypt cost=12";
    inspect_bcrypt_2y: format!("$2y$10${BCRYPT_BODY}")
        => Bcrypt, StoredCost::Bcrypt { cost: 10 }, "bcrypt cost=10";
}

#[wasm_bindgen_test(unsupported = test)]
fn the_longest_hash_within_bounds_fits_the_length_limit() {
    let longest = format!(
        "$argon2id$v=19$m=26214,t=10,p=16${}${}",
        "A".repeat(64),
        "A".repeat(86)
    );
    assert!(longest.len() <= MAX_STORED_HASH_BYTES);
}

#[wasm_bindgen_test(unsupported = test)]
fn error_descriptions_are_distinct() {
    let all = [
        StoredHashError::TooLong,
        StoredHashError::UnknownFormat,
        StoredHashError::Malformed,
        StoredHashError::UnsupportedParameter,
        StoredHashError::UnsupportedVersion,
        StoredHashError::Base64,
        StoredHashError::NonCanonicalBase64,
        StoredHashError::SaltLength,
        StoredHashError::OutputLength,
        StoredHashError::CostTooLow,
        StoredHashError::CostTooHigh,
    ];
    for (i, a) in all.iter().enumerate() {
        assert_eq!(a.to_string(), a.as_str());
        for b in &all[i + 1..] {
            assert_ne!(a.as_str(), b.as_str());
        }
    }
}

/// A small deterministic fuzzer: thousands of corruptions of real hashes must never panic,
/// and whatever still parses must be within bounds. Verification runs only where the parsed
/// cost is small, so a mutation into an expensive (but valid) cost cannot slow the suite.
#[wasm_bindgen_test(unsupported = test)]
fn corrupted_hashes_never_panic() {
    const SEEDS: &[&str] = &[
        ARGON2ID,
        BCRYPT,
        "$argon2i$m=256,t=2,p=2$c29tZXNhbHQ$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs",
        "$argon2d$v=19$m=512,t=2,p=2$c29tZXNhbHQ$Fb5+nPuLzZvtqKRwqUEtUQ",
        "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
    ];
    const ALPHABET: &[u8] = b"$,=.+/0123456789vmtpAZaz\0\xff";
    let hasher = PasswordHasher::new(Argon2Params::DEFAULT);
    let mut rng = SeededRandom::new(0x70_61_73_73);
    let mut parsed = 0;
    for round in 0..4_000 {
        let seed = SEEDS[round % SEEDS.len()];
        let mut bytes = seed.as_bytes().to_vec();
        let [op, pos, pick, len]: [u8; 4] = rng.bytes();
        let pos = usize::from(pos) % (bytes.len() + 1);
        let byte = ALPHABET[usize::from(pick) % ALPHABET.len()];
        match op % 4 {
            0 if pos < bytes.len() => bytes[pos] = byte,
            1 => bytes.insert(pos, byte),
            2 if pos < bytes.len() => {
                bytes.remove(pos);
            }
            _ => bytes.truncate(usize::from(len) % (seed.len() + 1)),
        }
        let stored = String::from_utf8_lossy(&bytes);
        let _ = hasher.needs_rehash(&stored);
        let Ok(info) = inspect_stored_hash(&stored) else {
            continue;
        };
        parsed += 1;
        let cheap = match info.cost {
            StoredCost::Argon2 {
                memory_kib,
                iterations,
                parallelism,
                ..
            } => {
                assert!(memory_kib <= 262_144 && iterations <= 10 && parallelism <= 16);
                memory_kib <= 1024 && iterations <= 2
            }
            StoredCost::Bcrypt { cost } => {
                assert!((4..=15).contains(&cost));
                cost <= 5
            }
        };
        if cheap {
            let outcome = hasher.verify("password", &stored).unwrap();
            assert!(matches!(
                outcome,
                Verified::Match { .. } | Verified::Mismatch
            ));
        }
    }
    // Enough mutations survive parsing to exercise verification, not just refusal.
    assert!(parsed > 100, "only {parsed} mutations parsed");
}
