//! Timing argon2id on this machine, with the core's own hasher.

use std::time::Instant;

use indicatif::ProgressBar;
use tollgate_core::password::{Argon2Params, PasswordHasher};

use super::median;
use crate::error::CliError;
use crate::os_random::OsRandom;

/// The password hashed; its value does not change the cost.
const PASSWORD: &str = "calibration password";

/// Median milliseconds of one argon2id hash at `params`, over `samples` hashes after one
/// untimed warm-up (which pays for first-touch page faults on the memory).
///
/// # Errors
/// [`CliError::Hashing`] if argon2 fails (for example, it cannot allocate its memory).
pub fn time_row(
    params: Argon2Params,
    samples: usize,
    rng: &mut OsRandom,
    progress: &ProgressBar,
) -> Result<f64, CliError> {
    let hasher = PasswordHasher::new(params);
    hasher.hash(PASSWORD, rng)?;
    progress.inc(1);
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        hasher.hash(PASSWORD, rng)?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        progress.inc(1);
    }
    Ok(median(&mut times))
}
