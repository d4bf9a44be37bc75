//! Times argon2id natively with the RustCrypto `argon2` crate (`hash_password_into`, 16-byte
//! salt, 32-byte output: what tollgate-core's PasswordHasher calls), and prints one JSON
//! object with the milliseconds of each hash.
//!
//! Usage: tollgate-bench-argon2 MEMORY_KIB ITERATIONS PARALLELISM COUNT
//! COUNT timed hashes follow one untimed warm-up.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, Version};

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
    let mut hash = || {
        argon2
            .hash_password_into(b"calibration password", &salt, &mut out)
            .unwrap_or_else(|e| fail(&e.to_string()));
        std::hint::black_box(&out);
    };
    hash();
    let times: Vec<String> = (0..count)
        .map(|_| {
            let start = Instant::now();
            hash();
            format!("{:.3}", start.elapsed().as_secs_f64() * 1000.0)
        })
        .collect();
    println!(
        "{{\"memory_kib\":{m},\"iterations\":{t},\"parallelism\":{p},\"count\":{count},\"argon2_crate_ms\":[{}]}}",
        times.join(",")
    );
}

fn usage() -> ! {
    fail("usage: tollgate-bench-argon2 MEMORY_KIB ITERATIONS PARALLELISM COUNT")
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
