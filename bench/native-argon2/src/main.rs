//! Times argon2id natively at the given parameters, two ways, and prints one JSON object:
//! - `argon2_crate`: the RustCrypto `argon2` crate directly (`hash_password_into`, 16-byte
//!   salt, 32-byte output): the native peer of the Worker's wasm hashing;
//! - `tollgate_core`: `tollgate_core::password::PasswordHasher::hash` (PHC string included),
//!   the same code the Worker runs, compiled natively.
//!
//! Usage: tollgate-bench-argon2 MEMORY_KIB ITERATIONS PARALLELISM COUNT
//! Each figure is COUNT timed hashes after one untimed warm-up, in milliseconds per hash.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, Version};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::random::SeededRandom;

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or_else(|_| usage()))
        .collect();
    let [m, t, p, count] = args[..] else { usage() };

    let params = Params::new(m, t, p, Some(32)).unwrap_or_else(|e| fail(&e.to_string()));
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = *b"tollgate-bench!!";
    let mut out = [0u8; 32];
    let crate_ms = time(count, || {
        argon2
            .hash_password_into(b"calibration password", &salt, &mut out)
            .unwrap_or_else(|e| fail(&e.to_string()));
        std::hint::black_box(&out);
    });

    let hasher = PasswordHasher::new(
        Argon2Params::new(m, t, p).unwrap_or_else(|e| fail(&e.to_string())),
    );
    let mut rng = SeededRandom::new(1);
    let core_ms = time(count, || {
        let phc = hasher
            .hash("calibration password", &mut rng)
            .unwrap_or_else(|e| fail(&e.to_string()));
        std::hint::black_box(phc);
    });

    println!(
        "{{\"memory_kib\":{m},\"iterations\":{t},\"parallelism\":{p},\"count\":{count},\
         \"argon2_crate_ms\":{},\"tollgate_core_ms\":{}}}",
        list(&crate_ms),
        list(&core_ms)
    );
}

/// One warm-up call, then `count` timed calls, in milliseconds each.
fn time(count: u32, mut f: impl FnMut()) -> Vec<f64> {
    f();
    (0..count)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
    format!("[{}]", items.join(","))
}

fn usage() -> ! {
    fail("usage: tollgate-bench-argon2 MEMORY_KIB ITERATIONS PARALLELISM COUNT")
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
