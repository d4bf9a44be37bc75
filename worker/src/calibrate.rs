//! `POST /__tollgate/calibrate`: hashes a fixed password a given number of times, so that
//! `tollgate calibrate` can time argon2id inside workerd, the same wasm the Worker runs.
//!
//! Served only when the var `TOLLGATE_CALIBRATION` is `enabled` (404 otherwise): it lets
//! anyone spend the Worker's CPU, so it must never be enabled in production. It stays in the
//! build `wrangler deploy` ships because `tollgate calibrate` runs that very build under a
//! local `wrangler dev`; what one request may ask for is capped ([`MAX_MEMORY_KIB`] and the
//! rest) so that no request can exhaust the isolate, whoever sends it. The caps are the
//! bounds a stored hash must meet ([`tollgate_core::password::bounds`]), so calibration
//! measures exactly what the Worker may be configured to run.

use serde_json::{Map, Value, json};
use tollgate_core::password::bounds::{
    MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM,
};
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::{Error, ErrorCode, FieldError};

use crate::error::AuthError;
use crate::handlers::HostRandom;
use crate::http::{Reply, json_object, read_body, require_media_type};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// Most hashes one calibration request may ask for.
pub const MAX_COUNT: u64 = 20;

/// Most argon2 memory one calibration hash may use, in KiB (64 MiB). A Worker isolate has
/// 128 MB for everything: the argon2 blocks come on top of the wasm module's own heap and the
/// JavaScript heap, and wasm memory never shrinks once grown. The largest OWASP row,
/// m = 47,104 KiB, fits with room to spare.
pub const MAX_MEMORY_KIB: u64 = MAX_ARGON2_MEMORY_KIB as u64;

/// A Worker isolate's memory limit, in bytes (Cloudflare's Workers limits: 128 MB).
const ISOLATE_MEMORY_BYTES: u64 = 128_000_000;

// The cap leaves the isolate nearly half its memory for everything else, at compile time.
const _: () = assert!(MAX_MEMORY_KIB * 1024 <= ISOLATE_MEMORY_BYTES * 55 / 100);

/// Most argon2 passes one calibration hash may make (the OWASP rows go up to 5).
pub const MAX_ITERATIONS: u64 = MAX_ARGON2_ITERATIONS as u64;

/// Most argon2 lanes one calibration hash may use (the OWASP rows use 1; the Worker has one
/// thread, so lanes only change the memory layout).
pub const MAX_PARALLELISM: u64 = MAX_ARGON2_PARALLELISM as u64;

/// Handles a calibration request (see the module docs).
pub async fn calibrate(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    if !cx.settings.calibration {
        return Err(AuthError::NotFound);
    }
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let (params, count) = calibration_request(&body)?;
    let hasher = PasswordHasher::new(params);
    for _ in 0..count {
        hasher.hash("calibration password", &mut HostRandom)?;
    }
    Ok(Reply::json(200, &json!({ "count": count })))
}

/// The argon2id parameters and hash count a request body asks for, within the caps.
///
/// # Errors
/// [`Error::Validation`]: `missing_field` for `body` when a field is absent or not a whole
/// number; `invalid_value` for each field over its cap; `invalid_value` for `body` when the
/// parameters are below every OWASP row or their memory × passes is over what a stored hash
/// may cost (a bad request here, not a server misconfiguration).
fn calibration_request(body: &Map<String, Value>) -> Result<(Argon2Params, u64), Error> {
    let field = |name: &str| body.get(name).and_then(Value::as_u64);
    let (Some(m), Some(t), Some(p), Some(count)) = (
        field("memory_kib"),
        field("iterations"),
        field("parallelism"),
        field("count"),
    ) else {
        return Err(Error::field("body", ErrorCode::MissingField));
    };
    let over: Vec<FieldError> = [
        ("memory_kib", m, MAX_MEMORY_KIB),
        ("iterations", t, MAX_ITERATIONS),
        ("parallelism", p, MAX_PARALLELISM),
        ("count", count, MAX_COUNT),
    ]
    .into_iter()
    .filter(|(_, value, cap)| value > cap)
    .map(|(name, _, _)| FieldError::new(name, ErrorCode::InvalidValue))
    .collect();
    if !over.is_empty() {
        return Err(Error::Validation(over));
    }
    let invalid = || Error::field("body", ErrorCode::InvalidValue);
    // Each is at most its cap, so it fits a u32.
    let narrow = |v: u64| u32::try_from(v).map_err(|_| invalid());
    let params = Argon2Params::new(narrow(m)?, narrow(t)?, narrow(p)?).map_err(|_| invalid())?;
    Ok((params, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::password::bounds::MAX_ARGON2_WORK_KIB;

    fn request(m: u64, t: u64, p: u64, count: u64) -> Result<(Argon2Params, u64), Error> {
        let body = json!({ "memory_kib": m, "iterations": t, "parallelism": p, "count": count });
        calibration_request(body.as_object().unwrap())
    }

    fn refused_fields(got: Result<(Argon2Params, u64), Error>) -> Vec<(String, ErrorCode)> {
        match got {
            Err(Error::Validation(fields)) => {
                fields.into_iter().map(|f| (f.field, f.code)).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_owasp_row_and_the_caps_themselves_are_accepted() {
        for row in Argon2Params::OWASP_ROWS {
            let (params, count) = request(
                u64::from(row.memory_kib),
                u64::from(row.iterations),
                u64::from(row.parallelism),
                4,
            )
            .unwrap();
            assert_eq!((params, count), (row, 4));
        }
        let most_passes_at_most_memory = u64::from(MAX_ARGON2_WORK_KIB) / MAX_MEMORY_KIB;
        assert!(request(MAX_MEMORY_KIB, most_passes_at_most_memory, 1, MAX_COUNT).is_ok());
        assert!(request(19_456, MAX_ITERATIONS, 1, MAX_COUNT).is_ok());
        assert!(request(MAX_MEMORY_KIB, 2, MAX_PARALLELISM, 0).is_ok());
        // Each within its cap, but more work than a stored hash may cost: the whole body.
        assert_eq!(
            refused_fields(request(MAX_MEMORY_KIB, MAX_ITERATIONS, 1, 1)),
            [("body".to_string(), ErrorCode::InvalidValue)]
        );
    }

    #[test]
    fn the_memory_cap_leaves_every_owasp_row_measurable() {
        // (That the cap fits the isolate is checked at compile time, beside the constant.)
        let largest_row = Argon2Params::OWASP_ROWS
            .iter()
            .map(|r| u64::from(r.memory_kib))
            .max()
            .unwrap();
        assert!(largest_row <= MAX_MEMORY_KIB);
    }

    #[test]
    fn anything_over_a_cap_is_refused_by_field_before_any_hashing() {
        let row = (19_456, 2, 1, 1);
        for (got, field) in [
            (
                request(MAX_MEMORY_KIB + 1, row.1, row.2, row.3),
                "memory_kib",
            ),
            (request(262_144, row.1, row.2, row.3), "memory_kib"),
            (request(u64::MAX, row.1, row.2, row.3), "memory_kib"),
            (
                request(row.0, MAX_ITERATIONS + 1, row.2, row.3),
                "iterations",
            ),
            (
                request(row.0, row.1, MAX_PARALLELISM + 1, row.3),
                "parallelism",
            ),
            (request(row.0, row.1, row.2, MAX_COUNT + 1), "count"),
        ] {
            assert_eq!(
                refused_fields(got),
                [(field.to_string(), ErrorCode::InvalidValue)]
            );
        }
        assert_eq!(
            refused_fields(request(1 << 40, 11, row.2, 21)),
            [
                ("memory_kib".to_string(), ErrorCode::InvalidValue),
                ("iterations".to_string(), ErrorCode::InvalidValue),
                ("count".to_string(), ErrorCode::InvalidValue),
            ]
        );
    }

    #[test]
    fn missing_fields_and_rows_below_owasp_are_refused() {
        let body = json!({ "memory_kib": 19456, "iterations": 2, "parallelism": 1 });
        assert_eq!(
            refused_fields(calibration_request(body.as_object().unwrap())),
            [("body".to_string(), ErrorCode::MissingField)]
        );
        assert_eq!(
            refused_fields(request(1024, 1, 1, 1)),
            [("body".to_string(), ErrorCode::InvalidValue)]
        );
    }
}
