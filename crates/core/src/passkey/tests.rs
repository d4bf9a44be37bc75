//! Known-answer assertions from a maintained library's fixtures, and hostile ones from a
//! synthetic authenticator.

use alloc::string::String;
use alloc::vec::Vec;

use ed25519_dalek::Signer;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wasm_bindgen_test::wasm_bindgen_test;

use super::*;
use crate::id::Id;

mod flows;
use crate::random::SeededRandom;
use crate::unverified::{decode_base64url, encode_base64url};

/// ES256 through the `p256` crate, standing in for the Worker's WebCrypto.
struct P256;

impl Es256Verifier for P256 {
    async fn verify_es256(&self, key: &[u8; 65], message: &[u8], signature: &[u8; 64]) -> bool {
        use p256::ecdsa::signature::Verifier;
        let (Ok(key), Ok(sig)) = (
            p256::ecdsa::VerifyingKey::from_sec1_bytes(key),
            p256::ecdsa::Signature::from_slice(signature),
        ) else {
            return false;
        };
        key.verify(message, &sig).is_ok()
    }
}

fn block_on<F: core::future::Future>(f: F) -> F::Output {
    // Every future here is ready at once (the verifier is synchronous underneath).
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(v) => v,
        core::task::Poll::Pending => panic!("future not ready"),
    }
}

fn localhost_5000() -> RelyingParty {
    RelyingParty {
        id: "localhost".into(),
        origins: alloc::vec!["https://foo.bar".into(), "http://localhost:5000".into()],
    }
}

fn stored(id: &str, public_key: &str, sign_count: u32) -> StoredPasskey {
    let key = cose::parse_key(&decode_base64url(public_key).unwrap()).unwrap();
    StoredPasskey {
        id: id.into(),
        public_key: public_key.into(),
        alg: key.alg(),
        sign_count,
        backup_eligible: false,
        transports: Vec::new(),
        created_at: 0,
        last_used_at: None,
    }
}

/// py_webauthn (duo-labs/py_webauthn, tests/test_verify_authentication_response.py,
/// `test_supports_multiple_expected_origins`): an ES256 assertion with UP and UV from a real
/// authenticator, RP ID `localhost`, origin `http://localhost:5000`, stored counter
/// 1625263263.
const ES256_UV: (&str, &str, &str, &str, &str, &str) = (
    "AXmOjWWZH67pgl5_gAbKVBqoL2dyHHGEWZLspIsCwULG0hZ3HyuGgvkaRcSOLq9W72XtegcvFYXIdlafrilbtVnx2Q14gNbfSQQP2sgNEAif4MjHtGpeVB0BfFawCs85Y3XY_j4sxthVnyTY_Q",
    "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFYN-Mog",
    "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiNnpyU1JYOEN4d1BTWEVBclh5WEwydHBiNnJCN1N0YXIwckxWSWo1cnZmNzRtWktGNWlyNzE1WG1nejV0QV9HeUhleE40b1hmclE4ODlBclZDTGFSZEEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
    "MEUCIQDBqeI274exaKWGQz37g7yo1--TVcZSCcYVftZ1AnEJkQIgNw-nlx-_U9rVfFfER8oX6BlYZTuPFyGaL_wCDY23s0E",
    "pQECAyYgASFYIFm1Py-FzzFOuwXbRbTr95SiDxuB1BkZsEEJxFhquzqkIlggL1U1T713Jo_2muzhXvpbwRNdoAs8CYK6PflvY1MBdCI",
    "6zrSRX8CxwPSXEArXyXL2tpb6rB7Star0rLVIj5rvf74mZKF5ir715Xmgz5tA_GyHexN4oXfrQ889ArVCLaRdA",
);

/// py_webauthn, same file, `test_verify_authentication_response_with_OKP_public_key`: an
/// EdDSA assertion (UP only), stored counter 3, new counter 7.
const EDDSA_UP: (&str, &str, &str, &str, &str) = (
    "fq9Nj0nS24B5y6Pkw_h3-9GEAEA3-0LBPxE2zvTdLjDqtSeCSNYFe9VMRueSpAZxT3YDc6L1lWXdQNwI-sVNYrefEcRR1Nsb_0jpHE955WEtFud2xxZg3MvoLMxHLet63i5tajd1fHtP7I-00D6cehM8ZWlLp2T3s9lfZgVIFcA",
    "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAABw",
    "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiZVo0ZWVBM080ank1Rkl6cURhU0o2SkROR3UwYkJjNXpJMURqUV9rTHNvMVdOcWtHNms1bUNZZjFkdFFoVlVpQldaV2xaa3pSNU1GZWVXQ3BKUlVOWHciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
    "RRWV8mYDRvK7YdQgdtZD4pJ2dh1D_IWZ_D6jsZo6FHJBoenbj0CVT5nA20vUzlRhN4R6dOEUHmUwP1F8eRBhBg",
    "pAEBAycgBiFYIMz6_SUFLiDid2Yhlq0YboyJ-CDrIrNpkPUGmJp4D3Dp",
);

/// py_webauthn, same file, `test_verify_authentication_response_with_EC2_public_key`: an
/// ES256 assertion with UP but not UV.
const ES256_UP: (&str, &str, &str, &str, &str) = (
    "EDx9FfAbp4obx6oll2oC4-CZuDidRVV4gZhxC529ytlnqHyqCStDUwfNdm1SNHAe3X5KvueWQdAX3x9R1a2b9Q",
    "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg",
    "eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ",
    "MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo",
    "pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI",
);

fn assertion_json(id: &str, auth_data: &str, client_data: &str, signature: &str) -> Value {
    json!({
        "id": id, "rawId": id, "type": "public-key", "clientExtensionResults": {},
        "response": { "authenticatorData": auth_data, "clientDataJSON": client_data, "signature": signature },
    })
}

fn message(auth_data: &str, client_data: &str) -> Vec<u8> {
    let mut m = decode_base64url(auth_data).unwrap();
    m.extend_from_slice(&Sha256::digest(decode_base64url(client_data).unwrap()));
    m
}

#[wasm_bindgen_test(unsupported = test)]
fn a_real_es256_assertion_with_user_verification_verifies() {
    let (id, ad, cd, sig, key, challenge) = ES256_UV;
    let assertion = read_assertion(&assertion_json(id, ad, cd, sig)).unwrap();
    let verified = block_on(verify_assertion(
        &localhost_5000(),
        &assertion,
        &stored(id, key, 1_625_263_263),
        &P256,
    ))
    .unwrap();
    assert_eq!(verified.sign_count, 0x60df_8ca2);
    assert!(verified.user_verified);
    assert_eq!(verified.challenge, decode_base64url(challenge).unwrap());
}

#[wasm_bindgen_test(unsupported = test)]
fn real_signatures_verify_and_altered_ones_do_not() {
    for (ad, cd, sig, key) in [
        (EDDSA_UP.1, EDDSA_UP.2, EDDSA_UP.3, EDDSA_UP.4),
        (ES256_UP.1, ES256_UP.2, ES256_UP.3, ES256_UP.4),
        (ES256_UV.1, ES256_UV.2, ES256_UV.3, ES256_UV.4),
    ] {
        let key = cose::parse_key(&decode_base64url(key).unwrap()).unwrap();
        let sig = decode_base64url(sig).unwrap();
        let mut m = message(ad, cd);
        assert_eq!(block_on(verify_signature(&key, &m, &sig, &P256)), Ok(()));
        m[40] ^= 1;
        assert_eq!(
            block_on(verify_signature(&key, &m, &sig, &P256)),
            Err(Rejection::BadSignature)
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn real_assertions_without_user_verification_are_refused() {
    for (id, ad, cd, sig, key) in [EDDSA_UP, ES256_UP] {
        let assertion = read_assertion(&assertion_json(id, ad, cd, sig)).unwrap();
        let result = block_on(verify_assertion(
            &localhost_5000(),
            &assertion,
            &stored(id, key, 0),
            &P256,
        ));
        assert_eq!(result, Err(Rejection::UserNotVerified));
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_real_assertion_is_refused_for_another_origin_or_rp_id_or_a_higher_counter() {
    let (id, ad, cd, sig, key, _) = ES256_UV;
    let assertion = read_assertion(&assertion_json(id, ad, cd, sig)).unwrap();
    let run = |rp: &RelyingParty, count: u32| {
        let verified = block_on(verify_assertion(
            rp,
            &assertion,
            &stored(id, key, count),
            &P256,
        ))?;
        counter_grew(count, verified.sign_count).map(|()| verified)
    };
    let mut other_origin = localhost_5000();
    other_origin.origins = alloc::vec!["http://localhost:5001".into()];
    assert_eq!(run(&other_origin, 0), Err(Rejection::WrongOrigin));
    let mut other_rp = localhost_5000();
    other_rp.id = "example.com".into();
    assert_eq!(run(&other_rp, 0), Err(Rejection::WrongRpId));
    // The counter it carries, and one above it: the credential was used since (a clone).
    assert_eq!(
        run(&localhost_5000(), 0x60df_8ca2),
        Err(Rejection::CounterNotIncreased)
    );
    assert_eq!(
        run(&localhost_5000(), 0x60df_8ca3),
        Err(Rejection::CounterNotIncreased)
    );
}

// --- A synthetic authenticator (Ed25519), for the cases no fixture has ---------------------

const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:8787";

fn rp() -> RelyingParty {
    RelyingParty {
        id: RP_ID.into(),
        origins: alloc::vec![ORIGIN.into()],
    }
}

/// A minimal CBOR writer for the test authenticator's attestation objects and keys.
enum C {
    I(i64),
    B(Vec<u8>),
    T(&'static str),
    M(Vec<(C, C)>),
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn enc(c: &C, out: &mut Vec<u8>) {
    match c {
        C::I(i) if *i >= 0 => head(out, 0, *i as u64),
        C::I(i) => head(out, 1, (-1 - *i) as u64),
        C::B(b) => {
            head(out, 2, b.len() as u64);
            out.extend(b);
        }
        C::T(t) => {
            head(out, 3, t.len() as u64);
            out.extend(t.as_bytes());
        }
        C::M(pairs) => {
            head(out, 5, pairs.len() as u64);
            for (k, v) in pairs {
                enc(k, out);
                enc(v, out);
            }
        }
    }
}

fn cbor(c: &C) -> Vec<u8> {
    let mut out = Vec::new();
    enc(c, &mut out);
    out
}

struct Authenticator {
    key: ed25519_dalek::SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
    user_handle: [u8; 16],
}

impl Authenticator {
    fn new(seed: u8) -> Authenticator {
        Authenticator {
            key: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
            credential_id: alloc::vec![seed; 16],
            counter: 0,
            user_handle: [7; 16],
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        cbor(&C::M(alloc::vec![
            (C::I(1), C::I(1)),
            (C::I(3), C::I(-8)),
            (C::I(-1), C::I(6)),
            (C::I(-2), C::B(self.key.verifying_key().to_bytes().to_vec())),
        ]))
    }

    fn auth_data(&self, rp_id: &str, flags: u8, attested: bool) -> Vec<u8> {
        let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
        out.push(flags | if attested { 0x40 } else { 0 });
        out.extend(self.counter.to_be_bytes());
        if attested {
            out.extend([0u8; 16]);
            out.extend((self.credential_id.len() as u16).to_be_bytes());
            out.extend(&self.credential_id);
            out.extend(self.cose_key());
        }
        out
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": encode_base64url(challenge), "origin": origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    fn id(&self) -> String {
        encode_base64url(&self.credential_id)
    }

    fn register(&self, challenge: &[u8]) -> Value {
        self.register_at(challenge, ORIGIN)
    }

    fn register_at(&self, challenge: &[u8], origin: &str) -> Value {
        let auth_data = self.auth_data(RP_ID, 0x05, true);
        let object = cbor(&C::M(alloc::vec![
            (C::T("fmt"), C::T("none")),
            (C::T("attStmt"), C::M(Vec::new())),
            (C::T("authData"), C::B(auth_data)),
        ]));
        json!({
            "id": self.id(), "rawId": self.id(), "type": "public-key",
            "response": {
                "clientDataJSON": encode_base64url(&Self::client_data("webauthn.create", challenge, origin)),
                "attestationObject": encode_base64url(&object),
                "transports": ["internal"],
            },
        })
    }

    fn assert_with(&mut self, client_data: &[u8], auth_data: Vec<u8>) -> Value {
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data));
        let signature = self.key.sign(&signed).to_bytes();
        json!({
            "id": self.id(), "rawId": self.id(), "type": "public-key",
            "response": {
                "clientDataJSON": encode_base64url(client_data),
                "authenticatorData": encode_base64url(&auth_data),
                "signature": encode_base64url(&signature),
                "userHandle": encode_base64url(&self.user_handle),
            },
        })
    }

    fn assert(&mut self, challenge: &[u8]) -> Value {
        self.counter += 1;
        let cd = Self::client_data("webauthn.get", challenge, ORIGIN);
        let ad = self.auth_data(RP_ID, 0x05, false);
        self.assert_with(&cd, ad)
    }
}

fn registered(auth: &Authenticator) -> StoredPasskey {
    verify_registration(&rp(), &auth.register(b"challenge"), 100)
        .unwrap()
        .passkey
}

fn verify(json: &Value, stored: &StoredPasskey) -> Result<VerifiedAssertion, Rejection> {
    let assertion = read_assertion(json)?;
    let verified = block_on(verify_assertion(&rp(), &assertion, stored, &P256))?;
    // As the flow does, after the challenge: the counter against the stored one.
    counter_grew(stored.sign_count, verified.sign_count).map(|()| verified)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_registered_passkey_signs_in_and_its_counter_must_grow() {
    let mut auth = Authenticator::new(1);
    let new = verify_registration(&rp(), &auth.register(b"the challenge"), 100).unwrap();
    assert_eq!(new.challenge, b"the challenge");
    assert_eq!(new.passkey.alg, cose::ALG_EDDSA);
    assert_eq!(new.passkey.transports, ["internal"]);
    assert_eq!(new.passkey.amr(), "hwk");
    let mut stored = new.passkey;
    let first = auth.assert(b"c1");
    let verified = verify(&first, &stored).unwrap();
    assert_eq!(
        (verified.sign_count, verified.challenge.as_slice()),
        (1, &b"c1"[..])
    );
    stored.sign_count = verified.sign_count;
    // The same assertion again: its counter did not grow (the flow's single-use challenge
    // refuses it first; this is the second line).
    assert_eq!(verify(&first, &stored), Err(Rejection::CounterNotIncreased));
    // A counter going backwards.
    stored.sign_count = 5;
    assert_eq!(
        verify(&auth.assert(b"c2"), &stored),
        Err(Rejection::CounterNotIncreased)
    );
    // An authenticator without a counter (always 0) against a stored 0 is fine.
    let mut counterless = Authenticator::new(2);
    let stored = registered(&counterless);
    let cd = Authenticator::client_data("webauthn.get", b"c", ORIGIN);
    let ad = counterless.auth_data(RP_ID, 0x05, false);
    assert!(verify(&counterless.assert_with(&cd, ad), &stored).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn hostile_assertions_are_refused() {
    let mut auth = Authenticator::new(3);
    let stored = registered(&auth);
    let good = |kind: &str, origin: &str| Authenticator::client_data(kind, b"c", origin);
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, Rejection)> = alloc::vec![
        (
            "UP unset",
            good("webauthn.get", ORIGIN),
            auth.auth_data(RP_ID, 0x04, false),
            Rejection::UserNotPresent
        ),
        (
            "UV unset",
            good("webauthn.get", ORIGIN),
            auth.auth_data(RP_ID, 0x01, false),
            Rejection::UserNotVerified
        ),
        (
            "wrong RP ID hash",
            good("webauthn.get", ORIGIN),
            auth.auth_data("evil.example", 0x05, false),
            Rejection::WrongRpId
        ),
        (
            "wrong origin",
            good("webauthn.get", "http://evil.example"),
            auth.auth_data(RP_ID, 0x05, false),
            Rejection::WrongOrigin
        ),
        (
            "registration type",
            good("webauthn.create", ORIGIN),
            auth.auth_data(RP_ID, 0x05, false),
            Rejection::WrongType
        ),
        (
            "cross-origin iframe",
            json!({"type":"webauthn.get","challenge":"Yw","origin":ORIGIN,"crossOrigin":true})
                .to_string()
                .into_bytes(),
            auth.auth_data(RP_ID, 0x05, false),
            Rejection::WrongOrigin,
        ),
        (
            "client data not JSON",
            b"{\"type\":".to_vec(),
            auth.auth_data(RP_ID, 0x05, false),
            Rejection::MalformedClientData
        ),
        (
            "client data without challenge",
            br#"{"type":"webauthn.get","origin":"x"}"#.to_vec(),
            auth.auth_data(RP_ID, 0x05, false),
            Rejection::MalformedClientData
        ),
        (
            "short authenticator data",
            good("webauthn.get", ORIGIN),
            alloc::vec![0; 36],
            Rejection::MalformedAuthenticatorData
        ),
        (
            "trailing bytes",
            good("webauthn.get", ORIGIN),
            [auth.auth_data(RP_ID, 0x05, false), alloc::vec![0]].concat(),
            Rejection::MalformedAuthenticatorData
        ),
        (
            "ED flag without extensions",
            good("webauthn.get", ORIGIN),
            auth.auth_data(RP_ID, 0x85, false),
            Rejection::MalformedAuthenticatorData
        ),
        (
            "BS without BE",
            good("webauthn.get", ORIGIN),
            auth.auth_data(RP_ID, 0x15, false),
            Rejection::MalformedAuthenticatorData
        ),
    ];
    for (name, cd, ad, want) in cases {
        auth.counter += 1;
        let json = auth.assert_with(&cd, ad);
        assert_eq!(verify(&json, &stored), Err(want), "{name}");
    }
    // A signature by another key, and a truncated one.
    let mut other = Authenticator::new(3);
    other.key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    other.counter = 100;
    assert_eq!(
        verify(&other.assert(b"c"), &stored),
        Err(Rejection::BadSignature)
    );
    let mut short = auth.assert(b"c");
    short["response"]["signature"] = json!("AAAA");
    assert_eq!(verify(&short, &stored), Err(Rejection::MalformedSignature));
    // A credential the account does not hold.
    let mut stranger = Authenticator::new(4);
    assert_eq!(
        verify(&stranger.assert(b"c"), &stored),
        Err(Rejection::UnknownCredential)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_responses_are_refused_with_a_reason_not_a_panic() {
    let mut auth = Authenticator::new(5);
    let good = auth.assert(b"c");
    type Mutation = fn(&mut Value);
    let mutations: Vec<(&str, Mutation)> = alloc::vec![
        ("not an object", |v| *v = json!([1, 2])),
        ("no response", |v| {
            v.as_object_mut().unwrap().remove("response");
        }),
        ("id and rawId differ", |v| v["id"] = json!("AAAA")),
        ("type", |v| v["type"] = json!("password")),
        ("empty id", |v| {
            v["id"] = json!("");
            v["rawId"] = json!("");
        }),
        ("padded base64", |v| v["response"]["signature"] =
            json!("AA==")),
        ("standard base64", |v| v["response"]["authenticatorData"] =
            json!("a+b/")),
        ("number for a string", |v| v["response"]["clientDataJSON"] =
            json!(7)),
    ];
    for (name, mutate) in mutations {
        let mut json = good.clone();
        mutate(&mut json);
        assert!(
            matches!(read_assertion(&json), Err(Rejection::MalformedResponse)),
            "{name}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn hostile_registrations_are_refused() {
    let auth = Authenticator::new(6);
    let reg = auth.register(b"c");
    let object = |c: C| encode_base64url(&cbor(&c));
    let rsa_key = cbor(&C::M(alloc::vec![
        (C::I(1), C::I(3)),
        (C::I(3), C::I(-257)),
        (C::I(-1), C::B(alloc::vec![1; 256])),
        (C::I(-2), C::B(alloc::vec![1, 0, 1]))
    ]));
    let mut rsa_data = Sha256::digest(RP_ID.as_bytes()).to_vec();
    rsa_data.extend([0x45, 0, 0, 0, 0]);
    rsa_data.extend([0u8; 16]);
    rsa_data.extend([0, 16]);
    rsa_data.extend([6u8; 16]);
    rsa_data.extend(rsa_key);
    let cases: Vec<(&str, Value, Rejection)> = alloc::vec![
        (
            "attestation not CBOR",
            {
                let mut r = reg.clone();
                r["response"]["attestationObject"] = json!("_w");
                r
            },
            Rejection::MalformedAttestation
        ),
        (
            "attestation without authData",
            {
                let mut r = reg.clone();
                r["response"]["attestationObject"] =
                    json!(object(C::M(alloc::vec![(C::T("fmt"), C::T("none"))])));
                r
            },
            Rejection::MalformedAttestation
        ),
        (
            "an RS256 key",
            {
                let mut r = reg.clone();
                r["response"]["attestationObject"] = json!(object(C::M(alloc::vec![
                    (C::T("fmt"), C::T("none")),
                    (C::T("attStmt"), C::M(Vec::new())),
                    (C::T("authData"), C::B(rsa_data))
                ])));
                r
            },
            Rejection::UnsupportedAlgorithm
        ),
        (
            "an assertion's type",
            {
                let mut r = reg.clone();
                r["response"]["clientDataJSON"] = json!(encode_base64url(
                    &Authenticator::client_data("webauthn.get", b"c", ORIGIN)
                ));
                r
            },
            Rejection::WrongType
        ),
        (
            "another origin",
            {
                let mut r = reg.clone();
                r["response"]["clientDataJSON"] = json!(encode_base64url(
                    &Authenticator::client_data("webauthn.create", b"c", "https://evil.example")
                ));
                r
            },
            Rejection::WrongOrigin
        ),
        (
            "id not the attested one",
            {
                let mut r = reg.clone();
                r["id"] = json!("AAAA");
                r["rawId"] = json!("AAAA");
                r
            },
            Rejection::MalformedResponse
        ),
    ];
    for (name, json, want) in cases {
        assert_eq!(
            verify_registration(&rp(), &json, 0).map(|_| ()),
            Err(want),
            "{name}"
        );
    }
    let mut other_rp = rp();
    other_rp.id = "example.com".into();
    assert_eq!(
        verify_registration(&other_rp, &reg, 0).map(|_| ()),
        Err(Rejection::WrongRpId)
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn challenges_are_bound_to_their_ceremony_user_key_and_lifetime() {
    let refresh =
        crate::refresh::RefreshKey::from_secret("Kq3vX9pLm2ZtR7wYb4NcH8sJd5FgA1eUo6iVyTzQxWk")
            .unwrap();
    let key = ChallengeKey::derive(&refresh);
    let user = Id::from_bytes([7; 16]);
    let other = Id::from_bytes([8; 16]);
    let mut rng = SeededRandom::new(1);
    let c = key.issue(Ceremony::Register, Some(&user), 1000, &mut rng);
    let checked = key
        .check(&c, Ceremony::Register, Some(&user), 1000)
        .unwrap();
    assert_eq!(checked.expires_at, 1000 + challenge::CHALLENGE_TTL_S);
    assert!(checked.use_key.starts_with("passkey-challenge:"));
    let wrong = Err(Rejection::WrongChallenge);
    assert_eq!(
        key.check(&c, Ceremony::Authenticate, Some(&user), 1000),
        wrong
    );
    assert_eq!(key.check(&c, Ceremony::Register, Some(&other), 1000), wrong);
    assert_eq!(key.check(&c, Ceremony::Register, None, 1000), wrong);
    assert_eq!(
        key.check(
            &c,
            Ceremony::Register,
            Some(&user),
            1000 + challenge::CHALLENGE_TTL_S
        ),
        Err(Rejection::ChallengeExpired)
    );
    let mut tampered = c.clone();
    tampered[5] ^= 1; // a later expiry
    assert_eq!(
        key.check(&tampered, Ceremony::Register, Some(&user), 1000),
        wrong
    );
    assert_eq!(
        key.check(&c[..40], Ceremony::Register, Some(&user), 1000),
        wrong
    );
    assert_eq!(
        key.check(
            b"random bytes a browser made up",
            Ceremony::Register,
            Some(&user),
            1000
        ),
        wrong
    );
    let foreign = ChallengeKey::derive(
        &crate::refresh::RefreshKey::from_secret("Jd5FgA1eUo6iVyTzQxWkKq3vX9pLm2ZtR7wYb4NcH8s")
            .unwrap(),
    );
    assert_eq!(
        foreign.check(&c, Ceremony::Register, Some(&user), 1000),
        wrong
    );
    // Two challenges never share a use key.
    let d = key.issue(Ceremony::Register, Some(&user), 1000, &mut rng);
    assert_ne!(
        key.check(&d, Ceremony::Register, Some(&user), 1000)
            .unwrap()
            .use_key,
        checked.use_key
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn options_are_the_level_3_json_forms() {
    let user = Id::from_bytes([7; 16]);
    let existing = registered(&Authenticator::new(1));
    let created = options::creation(
        &rp(),
        &user,
        "a@example.com",
        b"ch",
        core::slice::from_ref(&existing),
    );
    assert_eq!(created["rp"]["id"], RP_ID);
    assert_eq!(created["user"]["id"], encode_base64url(&[7; 16]));
    assert_eq!(created["challenge"], encode_base64url(b"ch"));
    assert_eq!(created["pubKeyCredParams"][0]["alg"], -8);
    assert_eq!(created["pubKeyCredParams"][1]["alg"], -7);
    assert_eq!(created["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(created["attestation"], "none");
    assert_eq!(created["excludeCredentials"][0]["id"], existing.id);
    let requested = options::request(&rp(), b"ch");
    assert_eq!(requested["allowCredentials"], json!([]));
    assert_eq!(requested["rpId"], RP_ID);
    assert_eq!(requested["userVerification"], "required");
}

// --- The sequencer's decisions on the user record ------------------------------------------

fn change(
    user: &crate::store::UserRecord,
    change: crate::store::UserChange,
) -> Result<Option<crate::store::UserRecord>, crate::Error> {
    user.apply(&crate::store::ChangeRequest {
        change,
        now: 200,
        caller_issued_at: None,
    })
}

#[wasm_bindgen_test(unsupported = test)]
fn the_last_way_to_sign_in_cannot_be_removed() {
    use crate::store::{UserChange, UserRecord};
    let passkey = registered(&Authenticator::new(1));
    let id = passkey.id.clone();
    let mut user = UserRecord::new(
        Id::from_bytes([7; 16]),
        "a@example.com".into(),
        String::new(),
        "user".into(),
        100,
    );
    assert_eq!(user.sign_in_methods(), 0);
    user = change(
        &user,
        UserChange::AddPasskey {
            passkey: passkey.clone(),
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(user.sign_in_methods(), 1);
    // The same credential twice: nothing happens.
    assert_eq!(
        change(&user, UserChange::AddPasskey { passkey }),
        Err(crate::Error::field(
            "credential",
            crate::ErrorCode::InvalidValue
        ))
    );
    // No password and one passkey: refused, and an unknown id changes nothing.
    assert_eq!(
        change(&user, UserChange::RemovePasskey { id: id.clone() }),
        Err(crate::Error::LastLoginMethod)
    );
    assert_eq!(
        crate::Error::LastLoginMethod.code().as_str(),
        "last_login_method"
    );
    assert_eq!(crate::Error::LastLoginMethod.http_status(), 409);
    assert_eq!(
        change(&user, UserChange::RemovePasskey { id: "AAAA".into() }),
        Err(crate::Error::NotFound)
    );
    // With a second passkey, or a password, it may go.
    let two = change(
        &user,
        UserChange::AddPasskey {
            passkey: registered(&Authenticator::new(2)),
        },
    )
    .unwrap()
    .unwrap();
    let after = change(&two, UserChange::RemovePasskey { id: id.clone() })
        .unwrap()
        .unwrap();
    assert_eq!(after.passkeys.len(), 1);
    let with_password = UserRecord {
        password_hash: "$argon2id$...".into(),
        ..user
    };
    assert!(
        change(&with_password, UserChange::RemovePasskey { id })
            .unwrap()
            .unwrap()
            .passkeys
            .is_empty()
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_sign_in_is_recorded_only_for_a_held_passkey_whose_counter_grows() {
    use crate::store::{UserChange, UserRecord};
    let passkey = registered(&Authenticator::new(1));
    let id = passkey.id.clone();
    let user = UserRecord {
        passkeys: alloc::vec![passkey],
        ..UserRecord::new(
            Id::from_bytes([7; 16]),
            "a@example.com".into(),
            "h".into(),
            "user".into(),
            100,
        )
    };
    let used = |u: &UserRecord, n: u32| {
        change(
            u,
            UserChange::PasskeyUsed {
                id: id.clone(),
                sign_count: n,
            },
        )
    };
    let after = used(&user, 3).unwrap().unwrap();
    assert_eq!(
        (after.passkeys[0].sign_count, after.passkeys[0].last_used_at),
        (3, Some(200))
    );
    // Two locations that both verified counter 3 against the old record: the second is refused.
    assert_eq!(used(&after, 3), Err(crate::Error::InvalidCredentials));
    assert_eq!(used(&after, 2), Err(crate::Error::InvalidCredentials));
    assert!(used(&after, 4).unwrap().is_some());
    // A removed passkey.
    let removed = UserRecord {
        passkeys: Vec::new(),
        ..after
    };
    assert_eq!(used(&removed, 9), Err(crate::Error::InvalidCredentials));
    // Old records, without the field, still read.
    let old = serde_json::to_value(&removed).unwrap();
    assert!(old.get("passkeys").is_none());
    let back: UserRecord = serde_json::from_value(old).unwrap();
    assert!(back.passkeys.is_empty());
}
