//! The registration and password-change policy: length in characters, size in bytes, and the
//! common-password list. No composition rules.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]

use tollgate_core::password::check_policy;
use tollgate_core::{Error, ErrorCode, FieldError};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn refused(code: ErrorCode) -> Result<(), Error> {
    Err(Error::Validation(vec![FieldError::new("password", code)]))
}

macro_rules! policy {
    ($($name:ident: $password:expr => $expected:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            let password: &str = &$password;
            assert_eq!(check_policy(password), $expected, "{password:?}");
        }
    )+};
}

const OK: Result<(), Error> = Ok(());
const SHORT: ErrorCode = ErrorCode::PasswordTooShort;
const LONG: ErrorCode = ErrorCode::PasswordTooLong;
const COMMON: ErrorCode = ErrorCode::PasswordTooCommon;

policy! {
    // --- Length, in Unicode scalar values ---
    empty: "" => refused(SHORT);
    seven_chars: "k7#vQ2z" => refused(SHORT);
    seven_two_byte_chars_are_still_seven: "ééééééé" => refused(SHORT);
    seven_chars_in_28_bytes: "🔒🔑🦀🌍🎲🧩🚀" => refused(SHORT);
    eight_chars: "k7#vQ2zx" => OK;
    eight_multibyte_chars: "パスワード確認用" => OK;
    eight_emoji: "🔒🔑🦀🌍🎲🧩🚀🌙" => OK;
    no_composition_rules_all_lowercase: "zebrafishmoon" => OK;
    no_composition_rules_all_digits: "73910586241" => OK;
    long_passphrase: "correct horse battery staple, but my own" => OK;

    // --- Size, in bytes, checked before anything else ---
    exactly_1024_bytes: "x".repeat(1024) => OK;
    exactly_1024_bytes_of_two_byte_chars: "é".repeat(512) => OK;
    bytes_1025: "x".repeat(1025) => refused(LONG);
    bytes_1025_in_513_chars: format!("{}x", "é".repeat(512)) => refused(LONG);
    a_megabyte: "x".repeat(1 << 20) => refused(LONG);
    long_even_if_common_when_repeated: "password".repeat(129) => refused(LONG);

    // --- The common list (zxcvbn's top 10,000, at least 8 characters), in any case ---
    common_password: "password" => refused(COMMON);
    common_password_capitalised: "Password" => refused(COMMON);
    common_password_upper: "PASSWORD" => refused(COMMON);
    common_password_mixed: "pAsSwOrD" => refused(COMMON);
    common_with_digit: "Password1" => refused(COMMON);
    common_digits: "12345678" => refused(COMMON);
    common_keyboard_walk: "QwertyUIOP" => refused(COMMON);
    common_phrase: "iloveyou" => refused(COMMON);
    common_leet: "trustno1" => refused(COMMON);
    common_pattern: "1qaz2wsx" => refused(COMMON);
    common_first_entry: "!qaz2wsx" => refused(COMMON);
    uncommon_variant: "password-for-tollgate" => OK;
    common_short_ones_are_short_first: "123456" => refused(SHORT);
}
