//! Action tokens: each dies with the state it was bound to, and nothing else opens it.

use super::*;
use crate::random::SeededRandom;
use alloc::string::ToString;
use wasm_bindgen_test::wasm_bindgen_test;

const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";
const T0: UnixSeconds = 1_700_000_000;

fn key() -> ActionKey {
    ActionKey::derive(&RefreshKey::derive_from_jwt_secret(SECRET).unwrap())
}

fn user() -> UserRecord {
    let mut rng = SeededRandom::new(4);
    UserRecord::new(
        Id::generate(&mut rng),
        "sam@example.com".into(),
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        "user".into(),
        T0,
    )
}

fn check(
    token: &str,
    purpose: Purpose,
    user: &UserRecord,
    now: UnixSeconds,
) -> Result<(), ActionRejection> {
    key().check(&read(token)?, purpose, Some(user), now)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_fresh_token_opens_its_purpose_until_it_expires() {
    let u = user();
    for purpose in [Purpose::PasswordReset, Purpose::EmailVerification] {
        let token = key().issue(purpose, &u, None, T0 + 60);
        assert_eq!(check(&token, purpose, &u, T0), Ok(()));
        assert_eq!(check(&token, purpose, &u, T0 + 59), Ok(()));
        assert_eq!(
            check(&token, purpose, &u, T0 + 60),
            Err(ActionRejection::Expired)
        );
    }
    let token = key().issue(Purpose::EmailChange, &u, Some("new@example.org"), T0 + 60);
    let presented = read(&token).unwrap();
    assert_eq!(presented.new_email.as_deref(), Some("new@example.org"));
    assert_eq!(presented.user_id, u.id);
    assert_eq!(check(&token, Purpose::EmailChange, &u, T0), Ok(()));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_reset_token_dies_when_the_password_or_sessions_or_email_change() {
    let u = user();
    let token = key().issue(Purpose::PasswordReset, &u, None, T0 + 1800);
    let changed = [
        UserRecord {
            password_hash: "$argon2id$other".into(),
            ..u.clone()
        },
        UserRecord {
            sessions_ended_at: T0 + 1,
            ..u.clone()
        },
        UserRecord {
            email: "sam@example.org".into(),
            ..u.clone()
        },
    ];
    for (i, later) in changed.iter().enumerate() {
        assert_eq!(
            check(&token, Purpose::PasswordReset, later, T0),
            Err(ActionRejection::Mismatch),
            "change {i}"
        );
    }
    // What a reset does not care about leaves it working.
    let promoted = UserRecord {
        role: "admin".into(),
        updated_at: T0 + 5,
        ..u.clone()
    };
    assert_eq!(check(&token, Purpose::PasswordReset, &promoted, T0), Ok(()));
}

#[wasm_bindgen_test(unsupported = test)]
fn email_tokens_die_when_the_address_changes() {
    let u = user();
    let moved = UserRecord {
        email: "sam@example.org".into(),
        ..u.clone()
    };
    let verify = key().issue(Purpose::EmailVerification, &u, None, T0 + 60);
    assert_eq!(
        check(&verify, Purpose::EmailVerification, &moved, T0),
        Err(ActionRejection::Mismatch)
    );
    let change = key().issue(Purpose::EmailChange, &u, Some("x@example.net"), T0 + 60);
    assert_eq!(
        check(&change, Purpose::EmailChange, &moved, T0),
        Err(ActionRejection::Mismatch)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_token_opens_nothing_else() {
    let u = user();
    let other = UserRecord {
        id: Id::from_bytes([9; 16]),
        ..u.clone()
    };
    let reset = key().issue(Purpose::PasswordReset, &u, None, T0 + 60);
    // Another purpose, another user, another deployment's key.
    assert_eq!(
        check(&reset, Purpose::EmailVerification, &u, T0),
        Err(ActionRejection::WrongPurpose)
    );
    assert_eq!(
        check(&reset, Purpose::PasswordReset, &other, T0),
        Err(ActionRejection::UnknownUser)
    );
    assert_eq!(
        key().check(&read(&reset).unwrap(), Purpose::PasswordReset, None, T0),
        Err(ActionRejection::UnknownUser)
    );
    let foreign = ActionKey::derive(
        &RefreshKey::derive_from_jwt_secret("Vb7Kp2Qx9Lm4Tz8Rw1Hn6Jc3Fd5Gs0Ya").unwrap(),
    );
    assert_eq!(
        foreign.check(&read(&reset).unwrap(), Purpose::PasswordReset, Some(&u), T0),
        Err(ActionRejection::Mismatch)
    );
    // The refresh key is not the action key: a MAC under one is never valid under the other.
    assert_ne!(format!("{:?}", key()), "");
    assert!(!format!("{:?}", key()).contains('0'));
}

#[wasm_bindgen_test(unsupported = test)]
fn every_tampered_byte_is_refused() {
    let u = user();
    let token = key().issue(Purpose::EmailChange, &u, Some("new@example.org"), T0 + 60);
    let bytes = decode_base64url(&token).unwrap();
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let result = read(&encode_base64url(&tampered))
            .and_then(|p| key().check(&p, Purpose::EmailChange, Some(&u), T0));
        assert!(result.is_err(), "byte {i} flipped was accepted");
    }
    // Later expiry written into a reset token: the MAC covers it.
    let reset = key().issue(Purpose::PasswordReset, &u, None, T0 + 60);
    let mut bytes = decode_base64url(&reset).unwrap();
    bytes[18..26].copy_from_slice(&(T0 + 100_000).to_be_bytes());
    assert_eq!(
        check(
            &encode_base64url(&bytes),
            Purpose::PasswordReset,
            &u,
            T0 + 61
        ),
        Err(ActionRejection::Mismatch)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn what_is_not_a_token_is_malformed() {
    let long = "A".repeat(MAX_ACTION_TOKEN_CHARS + 1);
    let short = encode_base64url(&[1u8; FIXED_BYTES + TAG_BYTES - 1]);
    let mut trailing =
        decode_base64url(&key().issue(Purpose::PasswordReset, &user(), None, T0)).unwrap();
    trailing.insert(FIXED_BYTES, b'x');
    let mut version =
        decode_base64url(&key().issue(Purpose::PasswordReset, &user(), None, T0)).unwrap();
    version[0] = 2;
    let mut purpose = version.clone();
    purpose[0] = VERSION;
    purpose[1] = 7;
    for bad in [
        String::new(),
        "not base64!".to_string(),
        long,
        short,
        encode_base64url(&trailing),
        encode_base64url(&version),
        encode_base64url(&purpose),
    ] {
        assert_eq!(
            read(&bad).err(),
            Some(ActionRejection::Malformed),
            "{bad:?}"
        );
    }
    // The longest address still makes a token that reads back.
    let longest = format!("{}@{}.com", "l".repeat(64), "d".repeat(185));
    assert_eq!(longest.len(), MAX_EMAIL_BYTES);
    let token = key().issue(Purpose::EmailChange, &user(), Some(&longest), T0 + 1);
    assert!(token.len() <= MAX_ACTION_TOKEN_CHARS);
    assert_eq!(
        read(&token).unwrap().new_email.as_deref(),
        Some(longest.as_str())
    );
}
