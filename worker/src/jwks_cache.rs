//! Fetching the issuer's JWKS for a guard with `JWKS_URL`: memory, then the Cache API, then
//! the network. When to do which is decided by the core's [`RemoteKeys`]; this module only
//! carries it out.
//!
//! - Each isolate keeps the keys in memory while they are fresh ([`JWKS_MAX_AGE_S`]).
//! - An isolate without fresh keys reads the Cache API, which holds the document with the time
//!   it was fetched (so its age is known wherever it is read), and fetches from the network
//!   only when the cache has nothing fresh.
//! - A token whose kid the keys lack refetches from the network at once (the issuer may have
//!   rotated), at most once per [`JWKS_REFETCH_COOLDOWN_S`] per isolate; a failed fetch also
//!   waits that long before the next.

use std::cell::RefCell;

use serde_json::json;
use tollgate_core::Error;
use tollgate_core::time::UnixSeconds;
#[cfg(doc)]
use tollgate_core::token::JWKS_REFETCH_COOLDOWN_S;
use tollgate_core::token::{AccessClaims, JWKS_MAX_AGE_S, RemoteKeys, TokenConfig};
use worker::{Cache, Fetch, Headers, Response, Url};

use crate::kv::timeout;

/// The header that carries, in the Cache API's copy, when the document was fetched.
const FETCHED_AT: &str = "Tollgate-Fetched-At";

/// Largest JWKS accepted, in bytes: a document of a few keys is well under 1 KiB; anything
/// near this is not a key set.
const MAX_JWKS_BYTES: usize = 64 * 1024;

thread_local! {
    static REMOTE: RefCell<RemoteKeys> = const { RefCell::new(RemoteKeys::new()) };
}

/// Verifies `token` with the keys at `url`, loading or refetching them as [`RemoteKeys`]
/// decides. A fetch takes at most `timeout_ms`.
///
/// # Errors
/// [`Error::InvalidToken`] for a token the keys refuse; [`Error::StorageUnavailable`] when no
/// fresh keys can be had (the issuer does not answer); [`Error::Misconfigured`] when `url`
/// serves something that is not a JWKS of Ed25519 public keys (logged here, once per fetch).
pub(crate) async fn verify(
    url: &Url,
    config: &TokenConfig,
    token: &str,
    timeout_ms: u64,
) -> Result<AccessClaims, Error> {
    let now = crate::now();
    if REMOTE.with_borrow(|r| r.needs_load(now)) {
        if let Some((text, fetched_at)) = cached(url.as_str()).await {
            // A cached copy was a good document when it was stored; should it not parse now,
            // the network decides.
            let _ = REMOTE.with_borrow_mut(|r| r.loaded(&text, fetched_at, now));
        }
        if REMOTE.with_borrow(|r| r.needs_load(now) && r.may_fetch(now)) {
            fetch(url, now, timeout_ms).await?;
        }
    }
    let verified = REMOTE.with_borrow(|r| r.verify(config, token, now));
    match verified {
        Err(refused) if REMOTE.with_borrow(|r| r.should_refetch(&refused, now)) => {
            // A kid the keys lack: perhaps the issuer rotated. Fetch once, verify once more.
            match fetch(url, now, timeout_ms).await {
                Ok(()) => REMOTE.with_borrow(|r| r.verify(config, token, now)),
                Err(e) => {
                    // The token stays unknown; the failure is the operator's to see.
                    if let Error::StorageUnavailable(_) = e {
                        log_failure(&e);
                    }
                    Err(refused)
                }
            }
        }
        other => other,
    }
}

/// Fetches the document from the network into memory and the Cache API.
///
/// # Errors
/// [`Error::StorageUnavailable`] when the issuer does not answer 200 within `timeout_ms`;
/// [`Error::Misconfigured`] (logged here: the Worker's error rendering logs only unexpected
/// failures) when the answer is not a JWKS of Ed25519 public keys.
async fn fetch(url: &Url, now: UnixSeconds, timeout_ms: u64) -> Result<(), Error> {
    REMOTE.with_borrow_mut(|r| r.fetch_started(now));
    let outcome = match fetch_text(url, timeout_ms).await {
        Ok(text) => REMOTE
            .with_borrow_mut(|r| r.loaded(&text, now, now))
            .map(|()| text),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(text) => {
            store(url.as_str(), &text, now).await;
            Ok(())
        }
        Err(e) => {
            REMOTE.with_borrow_mut(|r| r.fetch_failed(now));
            if let Error::Misconfigured(_) = e {
                log_failure(&e);
            }
            Err(e)
        }
    }
}

async fn fetch_text(url: &Url, timeout_ms: u64) -> Result<String, Error> {
    let unavailable = |why: String| Error::StorageUnavailable(format!("JWKS_URL: {why}"));
    let request = async {
        let mut response = Fetch::Url(url.clone())
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if response.status_code() != 200 {
            return Err(unavailable(format!("answered {}", response.status_code())));
        }
        let declared = response
            .headers()
            .get("Content-Length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_JWKS_BYTES) {
            return Err(too_large());
        }
        let text = response
            .text()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if text.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        Ok(text)
    };
    timeout(timeout_ms, request)
        .await
        .unwrap_or_else(|| Err(unavailable(format!("no answer within {timeout_ms} ms"))))
}

fn too_large() -> Error {
    Error::Misconfigured(format!(
        "the JWKS at JWKS_URL is larger than {MAX_JWKS_BYTES} bytes; is it a key set?"
    ))
}

/// The Cache API's copy of the document at `url` and when it was fetched, if it holds one
/// (also the identity providers' discovery documents and key sets, see `crate::providers`).
pub(crate) async fn cached(url: &str) -> Option<(String, UnixSeconds)> {
    let mut response = Cache::default().get(url, false).await.ok()??;
    let fetched_at = response
        .headers()
        .get(FETCHED_AT)
        .ok()??
        .parse::<UnixSeconds>()
        .ok()?;
    Some((response.text().await.ok()?, fetched_at))
}

/// Puts the document in the Cache API for [`JWKS_MAX_AGE_S`], whatever the issuer's own
/// caching headers say, with the time it was fetched. A failure only costs other isolates a
/// fetch, so it is logged and otherwise ignored.
pub(crate) async fn store(url: &str, text: &str, fetched_at: UnixSeconds) {
    let put = async {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        headers.set("Cache-Control", &format!("max-age={JWKS_MAX_AGE_S}"))?;
        headers.set(FETCHED_AT, &fetched_at.to_string())?;
        let response = Response::ok(text)?.with_headers(headers);
        Cache::default().put(url, response).await
    };
    if let Err(e) = put.await {
        worker::console_warn!(
            "{}",
            json!({"level": "warn", "event": "jwks_cache_put_failed", "detail": e.to_string()})
        );
    }
}

/// One log line for a fetch that failed where no error response will log it.
fn log_failure(e: &Error) {
    worker::console_error!(
        "{}",
        json!({"level": "error", "event": e.code().as_str(), "detail": e.to_string()})
    );
}
