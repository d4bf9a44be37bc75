//! `POST /__tollgate/calibrate`: hashes a fixed password a given number of times, so that
//! `tollgate calibrate` can time argon2id inside workerd, the same wasm the Worker runs.
//!
//! Served only when the var `TOLLGATE_CALIBRATION` is `enabled` (404 otherwise): it lets
//! anyone spend the Worker's CPU, so it must never be enabled in production.

use serde_json::json;
use tollgate_core::password::{Argon2Params, PasswordHasher};
use tollgate_core::{Error, ErrorCode};

use crate::error::AuthError;
use crate::handlers::HostRandom;
use crate::http::{Reply, json_object, read_body, require_media_type};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// Most hashes one calibration request may ask for.
pub const MAX_COUNT: u64 = 20;

/// Handles a calibration request (see the module docs).
pub async fn calibrate(req: &mut Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    if !cx.settings.calibration {
        return Err(AuthError::NotFound);
    }
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let field = |name: &str| body.get(name).and_then(serde_json::Value::as_u64);
    let (Some(m), Some(t), Some(p), Some(count)) = (
        field("memory_kib"),
        field("iterations"),
        field("parallelism"),
        field("count"),
    ) else {
        return Err(Error::field("body", ErrorCode::MissingField).into());
    };
    if count > MAX_COUNT {
        return Err(Error::field("count", ErrorCode::InvalidValue).into());
    }
    let narrow = |v: u64| {
        u32::try_from(v).map_err(|_| AuthError::from(Error::field("body", ErrorCode::InvalidValue)))
    };
    // Parameters below every OWASP row are a bad request here, not a server misconfiguration.
    let params = Argon2Params::new(narrow(m)?, narrow(t)?, narrow(p)?)
        .map_err(|_| AuthError::from(Error::field("body", ErrorCode::InvalidValue)))?;
    let hasher = PasswordHasher::new(params);
    for _ in 0..count {
        hasher.hash("calibration password", &mut HostRandom)?;
    }
    Ok(Reply::json(200, &json!({ "count": count })))
}
