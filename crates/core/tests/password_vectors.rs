//! Known-answer vectors for password verification. Every hash here was computed by someone
//! else's implementation and copied exactly; each table names its source.
// Everything tested here sits behind the default `server` feature.
#![cfg(feature = "server")]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use tollgate_core::password::{Argon2Params, PasswordHasher, Verified};
use wasm_bindgen_test::wasm_bindgen_test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn verify(password: &str, stored: &str) -> Verified {
    PasswordHasher::new(Argon2Params::DEFAULT)
        .verify(password, stored)
        .unwrap_or_else(|e| panic!("{stored} was refused: {e}"))
}

fn is_match(password: &str, stored: &str) -> bool {
    matches!(verify(password, stored), Verified::Match { .. })
}

/// One test per row: the password verifies against the stored hash.
macro_rules! known_answers {
    ($($name:ident: $password:expr, $stored:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            assert!(is_match(&$password, $stored), "{} should match {}", $stored, $password);
        }
    )+};
}

/// One test per row: a wrong password does not verify, and the right one does.
macro_rules! known_answers_and_wrong_password {
    ($($name:ident: $password:expr, $stored:expr;)+) => {$(
        #[wasm_bindgen_test(unsupported = test)]
        fn $name() {
            assert!(is_match(&$password, $stored), "{} should match {}", $stored, $password);
            assert_eq!(verify("not the password", $stored), Verified::Mismatch);
        }
    )+};
}

// ---------------------------------------------------------------------------------------------
// RFC 9106 §5.3: argon2id v=0x13, m=32 KiB, t=3, p=4, password 32 x 0x01, salt 16 x 0x02,
// secret 8 x 0x03, associated data 12 x 0x04, 32-byte tag. The PHC strings Tollgate verifies
// carry neither secret nor associated data, so this pins the argon2 crate that does the work
// through its own API.
// ---------------------------------------------------------------------------------------------

#[wasm_bindgen_test(unsupported = test)]
fn rfc9106_section_5_3_argon2id() {
    use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(AssociatedData::new(&[0x04; 12]).unwrap())
        .output_len(32)
        .build()
        .unwrap();
    let secret = [0x03; 8];
    let argon2 =
        Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut tag = [0u8; 32];
    argon2
        .hash_password_into(&[0x01; 32], &[0x02; 16], &mut tag)
        .unwrap();
    let expected: [u8; 32] = [
        0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53,
        0xc9, 0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01,
        0xe6, 0x59,
    ];
    assert_eq!(tag, expected);
}

// ---------------------------------------------------------------------------------------------
// P-H-C/phc-winner-argon2 `src/test.c` (the reference implementation's tests): password
// "password" (or "differentpassword"), salt "somesalt" (or "diffsalt"), 32-byte output.
// Version 0x10 strings carry no `v=`. The m=2^18 and m=2^20 rows are above the memory bound
// (64 MiB, `bounds.rs`): argon2id's m=2^18 row is kept below as a hash that is refused.
// ---------------------------------------------------------------------------------------------

known_answers! {
    phc_argon2i_v10_t2_m16_p1:
        "password", "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
    phc_argon2i_v10_t2_m8_p1:
        "password", "$argon2i$m=256,t=2,p=1$c29tZXNhbHQ$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY";
    phc_argon2i_v10_t2_m8_p2:
        "password", "$argon2i$m=256,t=2,p=2$c29tZXNhbHQ$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs";
    phc_argon2i_v10_t1_m16_p1:
        "password", "$argon2i$m=65536,t=1,p=1$c29tZXNhbHQ$gWMFUrjzsfSM2xmSxMZ4ZD1JCytetP9sSzQ4tWIXJLI";
    phc_argon2i_v10_t4_m16_p1:
        "password", "$argon2i$m=65536,t=4,p=1$c29tZXNhbHQ$8hLwFhXm6110c03D70Ct4tUdBSRo2MaUQKOh8sHChHs";
    phc_argon2i_v10_differentpassword:
        "differentpassword", "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$6ckCB0tnVFMaOgvlGeW69ASzDOabPwGsO/ISKZYBCaM";
    phc_argon2i_v10_diffsalt:
        "password", "$argon2i$m=65536,t=2,p=1$ZGlmZnNhbHQ$eaEDuQ/orvhXDLMfyLIiWXeJFvgza3vaw4kladTxxJc";

    phc_argon2i_v13_t2_m16_p1:
        "password", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA";
    phc_argon2i_v13_t2_m8_p1:
        "password", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8";
    phc_argon2i_v13_t2_m8_p2:
        "password", "$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E";
    phc_argon2i_v13_t1_m16_p1:
        "password", "$argon2i$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$0WgHXE2YXhPr6uVgz4uUw7XYoWxRkWtvSsLaOsEbvs8";
    phc_argon2i_v13_t4_m16_p1:
        "password", "$argon2i$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$qqlT1YrzcGzj3xrv1KZKhOMdf1QXUjHxKFJZ+IF0zls";
    phc_argon2i_v13_differentpassword:
        "differentpassword", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$FK6NoBr+qHAMI1jc73xTWNkCEoK9iGY6RWL1n7dNIu4";
    phc_argon2i_v13_diffsalt:
        "password", "$argon2i$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$sDV8zPvvkfOGCw26RHsjSMvv7K2vmQq/6cxAcmxSEnE";

    phc_argon2id_v13_t2_m16_p1:
        "password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    phc_argon2id_v13_t2_m8_p1:
        "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
    phc_argon2id_v13_t2_m8_p2:
        "password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc";
    phc_argon2id_v13_t1_m16_p1:
        "password", "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg";
    phc_argon2id_v13_t4_m16_p1:
        "password", "$argon2id$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$kCXUjmjvc5XMqQedpMTsOv+zyJEf5PhtGiUghW9jFyw";
    phc_argon2id_v13_differentpassword:
        "differentpassword", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94";
    phc_argon2id_v13_diffsalt:
        "password", "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw";
}

/// `src/test.c`'s "Verify with mismatched password" cases: the tag is of "passwore".
#[wasm_bindgen_test(unsupported = test)]
fn phc_mismatched_password_rows() {
    for stored in [
        "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$b2G3seW+uPzerwQQC+/E1K50CLLO7YXy0JRcaTuswRo",
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$8iIuixkI73Js3G1uMbezQXD0b8LG4SXGsOwoQkdAQIM",
    ] {
        assert_eq!(verify("password", stored), Verified::Mismatch, "{stored}");
        assert!(is_match("passwore", stored), "{stored}");
    }
}

// ---------------------------------------------------------------------------------------------
// passlib 1.7 `passlib/tests/test_handlers_argon2.py` (read in the GitHub copy
// ThirVondukr/passlib): its own vectors, and argon2-cffi's, "generated by official argon2
// cmdline tool". UPASS_TABLE is passlib's `u"t\u00e1\u0411\u2113\u0259"`, hashed as UTF-8.
// ---------------------------------------------------------------------------------------------

known_answers_and_wrong_password! {
    passlib_argon2i_16_byte_output:
        "password", "$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$AJFIsNZTMKTAewB4+ETN1A";
    passlib_argon2i_all_parameters_different:
        "password", "$argon2i$v=19$m=380,t=2,p=2$c29tZXNhbHQ$SrssP8n7m/12VWPM8dvNrw";
    passlib_argon2i_utf8_password:
        "t\u{e1}\u{411}\u{2113}\u{259}", "$argon2i$v=19$m=512,t=2,p=2$1sV0O4PWLtc12Ypv1f7oGw$z+yqzlKtrq3SaNfXDfIDnQ";
    passlib_argon2i_trailing_nul:
        "password\0", "$argon2i$v=19$m=512,t=2,p=2$c29tZXNhbHQ$Fb5+nPuLzZvtqKRwqUEtUQ";
    passlib_argon2i_16_byte_salt:
        "password", "$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQAAAAAAAAAAA$rqnbEp1/jFDUEKZZmw+z14amDsFqMDC53dIe57ZHD38";
    argon2_cffi_argon2i_v12_without_version_tag:
        "password", "$argon2i$m=65536,t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY";
    argon2_cffi_argon2i_v13:
        "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4";
    argon2_cffi_argon2d_v13:
        "password", "$argon2d$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$cZn5d+rFh+ZfuRhm2iGUGgcrW5YLeM6q7L3vBsdmFA0";
    argon2_cffi_argon2i_trailing_nul:
        "password\0", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$Vpzuc0v0SrP88LcVvmg+z5RoOYpMDKH/lt6O+CZabIQ";
}

/// The trailing-NUL rows above must not match the password without the NUL.
#[wasm_bindgen_test(unsupported = test)]
fn argon2_trailing_nul_is_part_of_the_password() {
    let stored = "$argon2i$v=19$m=512,t=2,p=2$c29tZXNhbHQ$Fb5+nPuLzZvtqKRwqUEtUQ";
    assert_eq!(verify("password", stored), Verified::Mismatch);
}

// ---------------------------------------------------------------------------------------------
// bcrypt. pyca/bcrypt `tests/test_bcrypt.py` (`_test_vectors`, `_2y_test_vectors`, and at
// commit 3adeea2 the 72-byte rows) and passlib `tests/test_handlers_bcrypt.py` (JTR 1.7.9,
// openwall crypt_blowfish 1.2, py-bcrypt and passlib's own rows). Rows with non-UTF-8
// passwords are in the unit tests of `src/password/bcrypt.rs`.
// ---------------------------------------------------------------------------------------------

known_answers_and_wrong_password! {
    pyca_2b_04_a: "Kk4DQuMMfZL9o", "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm";
    pyca_2b_04_b: "9IeRXmnGxMYbs", "$2b$04$pQ7gRO7e6wx/936oXhNjrOUNOHL1D0h1N2IDbJZYs.1ppzSof6SPy";
    pyca_2b_04_c: "xVQVbwa1S0M8r", "$2b$04$SQe9knOzepOVKoYXo9xTteNYr6MBwVz4tpriJVe3PNgYufGIsgKcW";
    pyca_2b_04_d: "Zfgr26LWd22Za", "$2b$04$eH8zX.q5Q.j2hO1NkVYJQOM6KxntS/ow3.YzVmFrE4t//CoF4fvne";
    pyca_2b_04_e: "Tg4daC27epFBE", "$2b$04$ahiTdwRXpUG2JLRcIznxc.s1.ydaPGD372bsGs8NqyYjLY1inG5n2";
    pyca_2b_04_f: "dEe6XfVGrrfSH", "$2b$04$2Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe";
    pyca_2b_04_g: "J8eHUDuxBB520", "$2b$04$VvlCUKbTMjaxaYJ.k5juoecpG/7IzcH1AkmqKi.lIZMVIOLClWAk.";
    openwall_2a_05_u_u: "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    openwall_2a_05_u_u_star: "U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK";
    openwall_2a_05_u_u_u: "U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a";
    openwall_2a_05_empty: "", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy";
    jtr_2a_05_a: "U*U*U*U*", "$2a$05$c92SVSfjeiCD6F2nAD6y0uBpJDjdRkt0EgeC4/31Rf2LUZbDRDE.O";
    jtr_2a_05_b: "U*U***U", "$2a$05$WY62Xk2TXZ7EvVDQ5fmjNu7b0GEzSzUXUh2cllxJwhtOeMtWV3Ujq";
    jtr_2a_05_c: "U*U***U*", "$2a$05$Fa0iKV3E2SYVUlMknirWU.CFYGvJ67UwVKI1E2FP6XeLiZGcH3MJi";
    jtr_2a_05_d: "*U*U*U*U", "$2a$05$.WRrXibc1zPgIdRXYfv.4uu6TD1KWf0VnHzq/0imhUhuxSxCyeBs2";
    jtr_2a_05_empty: "", "$2a$05$Otz9agnajgrAe0.kFVF9V.tzaStZ2s1s4ZWi/LY4sw2k/MTVFj/IO";
    py_bcrypt_2a_06_empty: "", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.";
    py_bcrypt_2a_10_a: "a", "$2a$10$k87L/MF28Q673VKh8/cPi.SUl7MU/rWuSiIDDFayrKk/1tBsSQu4u";
    py_bcrypt_2a_10_abc: "abc", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi";
    py_bcrypt_2a_10_alphabet:
        "abcdefghijklmnopqrstuvwxyz", "$2a$10$fVH8e28OQRj9tqiDXs1e1uxpsjN0c7II7YPKXua2NAKYvM6iQk7dq";
    py_bcrypt_2a_10_symbols:
        "~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS";
    passlib_2a_utf8_password:
        "t\u{e1}\u{411}\u{2113}\u{259}", "$2a$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG";
    passlib_2b_utf8_password:
        "t\u{e1}\u{411}\u{2113}\u{259}", "$2b$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG";
    passlib_2y_8bit_bug_fixed: "\u{451}", "$2y$05$6bNw2HLQYeqHYyBfLMsv/OUcZd0LKP39b87nBw3.S2tVZSqiQX6eu";
    passlib_2a_canonical_padding_a:
        "test", "$2a$04$oaQbBqq8JnSM1NHRPQGXOOY4Vw3bdHKLIXTecPDRAcJ98cz1ilveO";
    passlib_2a_canonical_padding_b:
        "test", "$2a$04$yjDgE74RJkeqC0/1NheSSOrvKeu9IbKDpcQf/Ox3qsrRS/Kw42qIS";
}

/// pyca/bcrypt `test_checkpw_wrong_password`.
#[wasm_bindgen_test(unsupported = test)]
fn pyca_wrong_password() {
    let stored = "$2b$04$2Siw3Nv3Q/gTOIPetAyPr.GNj3aO0lb1E5E9UumYGKjP9BYqlNWJe";
    assert_eq!(verify("badpass", stored), Verified::Mismatch);
}

/// pyca/bcrypt (commit 3adeea2) and passlib (openwall): the key is cut at 72 bytes, so the
/// 72-byte prefix matches and 71 bytes do not.
#[wasm_bindgen_test(unsupported = test)]
fn bcrypt_uses_only_the_first_72_bytes() {
    let stored = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
    let reference = "0123456789abcdefghijklmnopqrstuvwxyz\
                     ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\
                     chars after 72 are ignored";
    assert!(is_match(reference, stored));
    assert!(is_match(&reference[..72], stored));
    assert!(is_match(
        &format!("{}anything else", &reference[..72]),
        stored
    ));
    assert_eq!(verify(&reference[..71], stored), Verified::Mismatch);
}

/// passlib's "bsd wraparound bug" rows: OpenBSD's old `$2a$` stored the key length in 8 bits,
/// so 255+ byte passwords hashed like short ones. Correct implementations (and pyca/bcrypt's
/// `test_2a_wraparound_bug`) give every length the hash of the 72-byte prefix.
#[wasm_bindgen_test(unsupported = test)]
fn bcrypt_2a_has_no_wraparound_bug() {
    let stored = "$2a$04$R1lJ2gkNaoPGdafE.H.16.1MKHPvmKwryeulRe225LKProWYwt9Oi";
    let digits = "0123456789".repeat(26);
    for len in [254, 255, 256, 257] {
        assert!(is_match(&digits[..len], stored), "length {len}");
    }
    // passlib's note: a vulnerable backend hashes the 256-byte password like "0" * 72,
    // whose hash is this. It is a correct hash of "0" * 72, and must not match the former.
    let zeros = "$2a$04$R1lJ2gkNaoPGdafE.H.16.nVyh2niHsGJhayOHLMiXlI45o8/DU.6";
    assert!(is_match(&"0".repeat(72), zeros));
    assert_eq!(verify(&digits[..256], zeros), Verified::Mismatch);
}

/// Every legacy match asks for a re-hash to argon2id, which lifts the 72-byte limit.
#[wasm_bindgen_test(unsupported = test)]
fn legacy_matches_ask_for_a_rehash() {
    for (password, stored) in [
        (
            "U*U",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        (
            "password",
            "$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$AJFIsNZTMKTAewB4+ETN1A",
        ),
        (
            "password",
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        ),
    ] {
        assert_eq!(
            verify(password, stored),
            Verified::Match { needs_rehash: true },
            "{stored}"
        );
    }
}

/// The reference implementation's argon2id row at m=2^18 (256 MiB, P-H-C/phc-winner-argon2
/// `src/test.c`) is a correct hash that a Worker cannot afford: refused before any hashing.
#[wasm_bindgen_test(unsupported = test)]
fn phc_argon2id_m18_is_above_the_memory_bound() {
    let stored =
        "$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow";
    assert_eq!(
        PasswordHasher::new(Argon2Params::DEFAULT).verify("password", stored),
        Err(tollgate_core::Error::Internal(
            "stored password hash refused: cost above the allowed maximum".into()
        ))
    );
}

// ---------------------------------------------------------------------------------------------
// What Python apps store by default, at the edge of the bounds: argon2-cffi 25.1.0's
// `PasswordHasher()` and passlib 1.7.4's `argon2` (m=65536, t=3, p=4: RFC 9106's low-memory
// recommendation), and bcrypt cost 12 from passlib 1.7.4's `bcrypt` (on bcrypt 4.0.1) and
// pyca/bcrypt 5.0.0's `gensalt()`. Made with those libraries; password "correct horse battery
// staple".
// ---------------------------------------------------------------------------------------------

known_answers_and_wrong_password! {
    argon2_cffi_25_1_password_hasher_defaults:
        "correct horse battery staple",
        "$argon2id$v=19$m=65536,t=3,p=4$H1TLMv31xTdgbw6FhGDpHA$XhgHTF0/B740V+NzKfmidjSxUXlmPvcaPYqDsAriGj0";
    passlib_1_7_4_argon2_defaults:
        "correct horse battery staple",
        "$argon2id$v=19$m=65536,t=3,p=4$KaUUgrB2zpkT4nzv/Z9TSg$qZa4Wr6wn+42eWdQQ7M6cqkGK7NaKWm4MgrYFsHJSaA";
    passlib_1_7_4_bcrypt_defaults_cost_12:
        "correct horse battery staple",
        "$2b$12$a0RLzk1ncL7GH.ONDErJt.thr31wRP5WunSv8UbJB2Wqm11RyVWni";
    pyca_bcrypt_5_0_gensalt_defaults_cost_12:
        "correct horse battery staple",
        "$2b$12$9.w/TN4e4Fc5BWd.EVHmr.AAfJszsEd5q.3adXk45iQA2ThawHYki";
}
