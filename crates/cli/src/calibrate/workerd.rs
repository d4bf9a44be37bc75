//! Timing argon2id inside workerd, the runtime and wasm the Worker really runs, through the
//! Worker's calibration endpoint.
//!
//! Contract (the Worker serves it only when started with `TOLLGATE_CALIBRATION=enabled`):
//! `POST /__tollgate/calibrate` with `{"memory_kib","iterations","parallelism","count"}`
//! (count 0..=20) hashes a fixed password `count` times and answers 200 `{"count": n}`; 404
//! when not enabled, 422 for bad parameters. A Worker cannot time itself reliably (its clock
//! only advances on I/O), so the time is taken from outside: the wall time of a request with
//! `count = n` minus one with `count = 0` is the cost of n hashes without the request's own.

use std::time::Instant;

use indicatif::ProgressBar;
use serde_json::json;
use tollgate_core::password::Argon2Params;

use super::http::{self, BaseUrl};
use super::median;

/// The calibration endpoint's path.
pub const ENDPOINT: &str = "/__tollgate/calibrate";

/// Hashes per timed request: enough that the hashing dominates the request's own noise
/// (a few milliseconds on loopback), few enough to keep a row under a few seconds.
pub const HASHES_PER_REQUEST: u32 = 4;

/// Why workerd could not be measured.
#[derive(Debug)]
pub enum WorkerdError {
    /// When the endpoint answers 404: calibration is not enabled, or the Worker predates it.
    NotEnabled,
    /// When a request fails or the answer is not the contract's.
    Failed(String),
    /// When the request did not get through or the server answered 5xx: worth retrying.
    Unavailable(String),
}

/// Tries per timed request. `wrangler dev` restarts the Worker when its file watcher fires,
/// which it does spuriously on a loaded machine, failing the request in flight.
const ATTEMPTS: u32 = 3;

/// Wait before retrying a failed request, for a restarting Worker to come back.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Median milliseconds of one argon2id hash at `params` inside the Worker at `base`: one
/// untimed warm-up request, then `samples` pairs of requests with `count = 0` and
/// `count = HASHES_PER_REQUEST`.
///
/// # Errors
/// [`WorkerdError::NotEnabled`] on 404; [`WorkerdError::Failed`] for anything else unexpected.
pub fn time_row(
    base: &BaseUrl,
    params: Argon2Params,
    samples: usize,
    progress: &ProgressBar,
) -> Result<f64, WorkerdError> {
    // The warm-up grows the isolate's wasm memory to this row's size, once.
    timed_request(base, params, 1)?;
    progress.inc(1);
    let mut per_hash = Vec::with_capacity(samples);
    for _ in 0..samples {
        let empty = timed_request(base, params, 0)?;
        let full = timed_request(base, params, HASHES_PER_REQUEST)?;
        per_hash.push(((full - empty) / f64::from(HASHES_PER_REQUEST)).max(0.0));
        progress.inc(1);
    }
    Ok(median(&mut per_hash))
}

/// Wall milliseconds of one calibration request hashing `count` times, retried while the
/// server is [`WorkerdError::Unavailable`].
fn timed_request(base: &BaseUrl, params: Argon2Params, count: u32) -> Result<f64, WorkerdError> {
    let mut attempt = 1;
    loop {
        match timed_request_once(base, params, count) {
            Err(WorkerdError::Unavailable(_)) if attempt < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(RETRY_AFTER);
            }
            Err(WorkerdError::Unavailable(why)) => return Err(WorkerdError::Failed(why)),
            done => return done,
        }
    }
}

fn timed_request_once(
    base: &BaseUrl,
    params: Argon2Params,
    count: u32,
) -> Result<f64, WorkerdError> {
    let body = json!({
        "memory_kib": params.memory_kib,
        "iterations": params.iterations,
        "parallelism": params.parallelism,
        "count": count,
    })
    .to_string();
    let start = Instant::now();
    let response =
        http::request(base, "POST", ENDPOINT, Some(&body)).map_err(WorkerdError::Unavailable)?;
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    match response.status {
        200 => {
            let answered: Option<u64> = serde_json::from_str::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("count").and_then(serde_json::Value::as_u64));
            if answered == Some(u64::from(count)) {
                Ok(elapsed)
            } else {
                Err(WorkerdError::Failed(format!(
                    "POST {ENDPOINT} answered 200 without {{\"count\": {count}}}: {}",
                    response.body.chars().take(200).collect::<String>()
                )))
            }
        }
        404 => Err(WorkerdError::NotEnabled),
        status @ 500.. => Err(WorkerdError::Unavailable(format!(
            "POST {ENDPOINT} answered {status}: {}",
            response.body.chars().take(200).collect::<String>()
        ))),
        status => Err(WorkerdError::Failed(format!(
            "POST {ENDPOINT} with m={} t={} p={} count={count} answered {status}: {}",
            params.memory_kib,
            params.iterations,
            params.parallelism,
            response.body.chars().take(200).collect::<String>()
        ))),
    }
}
