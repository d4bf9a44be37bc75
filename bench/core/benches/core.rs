//! tollgate-core natively, with criterion: the per-request costs the core decides.
//!
//! Password hashing runs at the default cost (argon2id m=19456 KiB, t=2, p=1, the OWASP row the
//! Worker ships with); tokens carry the claims the Worker issues.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate_core::id::Id;
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;
use tollgate_core::refresh::{Family, RefreshKey, RefreshPolicy, decode_token, rotate};
use tollgate_core::store::SessionState;
use tollgate_core::token::{self, KeySet, NewAccessToken, TokenConfig};

const SECRET: &str = "Jq8vN2xWc5tR7yB1mK4pL9sD3fG6hZ0a";
const NOW: u64 = 1_800_000_000;
/// RFC 8410 §10.3's example Ed25519 private key.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----";

fn passwords(c: &mut Criterion) {
    let hasher = PasswordHasher::new(Argon2Params::DEFAULT);
    let mut rng = SeededRandom::new(1);
    let stored = hasher
        .hash("correct horse battery staple", &mut rng)
        .unwrap();
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.iter(|| {
            hasher
                .hash(black_box("correct horse battery staple"), &mut rng)
                .unwrap()
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            hasher
                .verify(black_box("correct horse battery staple"), &stored)
                .unwrap()
        })
    });
    group.finish();
}

fn tokens(c: &mut Criterion) {
    let config = TokenConfig::new("tollgate", "tollgate", 900);
    let new = NewAccessToken {
        subject: "6d3cef5e-86f5-406b-bec9-ea7d1aa7339e",
        session_id: "cf1dcc80-9cdf-49fe-86e5-9ddb1cfd82db",
        role: "user",
        scope: "profile sessions",
        email_verified: false,
        amr: &[],
    };
    let mut rng = SeededRandom::new(2);
    let mut group = c.benchmark_group("token");
    for (name, keys) in [
        ("hs256", KeySet::hs256(SECRET).unwrap()),
        ("eddsa", KeySet::ed25519_pem(ED25519_PEM).unwrap()),
    ] {
        let (issued, _) = token::issue(&keys, &config, &new, NOW, &mut rng).unwrap();
        group.bench_function(format!("issue_{name}"), |b| {
            b.iter(|| token::issue(&keys, &config, black_box(&new), NOW, &mut rng).unwrap())
        });
        group.bench_function(format!("verify_{name}"), |b| {
            b.iter(|| token::verify(&keys, &config, black_box(&issued), NOW).unwrap())
        });
    }
    group.finish();
}

fn refresh(c: &mut Criterion) {
    let key = RefreshKey::derive_from_jwt_secret(SECRET).unwrap();
    let policy = RefreshPolicy::default();
    let mut rng = SeededRandom::new(3);
    let family = Family::start(Id::generate(&mut rng), 0, "bench", NOW, &policy, &mut rng);
    let presented = family.current_token(&key);
    let sessions = SessionState::default();
    // A group, not `bench_function("refresh/rotate")`: criterion turns a `/` in a function
    // name into `_` in its output folder, where bench/sections/core.mjs reads the estimates.
    let mut group = c.benchmark_group("refresh");
    group.bench_function("rotate", |b| {
        b.iter(|| {
            let token = decode_token(&key, black_box(&presented)).unwrap();
            // No revocation marker; the user's session state as a fresh account has it.
            rotate(&key, &token, Some(&family), None, Some(&sessions), NOW + 60, &policy)
        })
    });
    group.finish();
}

criterion_group!(benches, passwords, tokens, refresh);
criterion_main!(benches);
