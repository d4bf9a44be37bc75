//! Login throttling state in a Durable Object, one object per key.
//!
//! Why not KV: a throttle writes on every failed attempt, and KV accepts about one write per
//! second per key and propagates in up to 60 s, so counts would be lost and a lockout would
//! not be seen elsewhere. The rate-limiting binding counts requests, not failures, and only
//! over 10 or 60 s. A Durable Object is a single, strongly consistent instance per key
//! (`account:<email>` or `address:<ip>`) wherever the request lands: each failure is counted
//! exactly once and every location sees the lockout at once. The decision itself is the
//! core's ([`tollgate_core::throttle`]); the object only stores its small state.
//!
//! The Worker and the object speak plain text: `POST https://throttle/<op>?max=N&window=S&now=T`
//! (`op` is `admit`, `failure` or `success`), answered `allowed`, `refused <seconds>` or 204.
//! Three numbers need no JSON, and every byte of code here ships in the size-limited Worker.

use tollgate_core::store::{StoreError, ThrottleStore};
use tollgate_core::throttle::{Admission, ThrottlePolicy};
use tollgate_core::time::UnixSeconds;
use worker::{Method, Request};

use crate::faults::StorageOp;
use crate::kv::WorkerStores;

/// The Durable Object binding's name in `wrangler.toml`.
pub const BINDING: &str = "THROTTLE";

impl WorkerStores {
    /// One round trip to the throttle object for `key`, under the storage timeout and any
    /// injected fault (`admit:account=fail` and the like, see [`crate::faults`]).
    async fn ask_throttle(
        &self,
        key: &str,
        op: StorageOp,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<worker::Response, StoreError> {
        let name = op.as_str();
        let unavailable =
            |e: worker::Error| StoreError::Unavailable(format!("throttle {name}: {e}"));
        let namespace = self.env.durable_object(BINDING).map_err(unavailable)?;
        let stub = namespace
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(unavailable)?;
        let url = format!(
            "https://throttle/{name}?max={}&window={}&now={now}",
            policy.max_failures, policy.window_s
        );
        let request = Request::new(&url, Method::Post).map_err(unavailable)?;
        let response = self.call(op, key, stub.fetch_with_request(request)).await?;
        if response.status_code() < 300 {
            Ok(response)
        } else {
            Err(StoreError::Unavailable(format!(
                "throttle {name}: status {}",
                response.status_code()
            )))
        }
    }
}

/// Reads an `admit` answer: `allowed`, or `refused <seconds>`.
/// Reads the object's answer to `/admit`: `allowed <failures in the window>` or `refused
/// <retry after, in seconds>`. A bare `allowed` (as an object running the previous version
/// answers, for the moment a deploy takes) says nothing of failures, so one is assumed.
fn parse_admission(answer: &str) -> Option<Admission> {
    match answer.trim().split_once(' ') {
        None if answer.trim() == "allowed" => Some(Admission::Allowed {
            failures_on_record: true,
        }),
        Some(("allowed", failures)) => failures.parse::<u32>().ok().map(|n| Admission::Allowed {
            failures_on_record: n > 0,
        }),
        Some(("refused", seconds)) => seconds
            .parse()
            .ok()
            .map(|retry_after_s| Admission::Refused { retry_after_s }),
        _ => None,
    }
}

impl ThrottleStore for WorkerStores {
    async fn admit(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<Admission, StoreError> {
        if policy.max_failures == 0 {
            // Throttling disabled: no round trip, and nothing is recorded to reset. (Failures
            // recorded before it was disabled stay; they count again only if it is enabled
            // again within their window.)
            return Ok(Admission::Allowed {
                failures_on_record: false,
            });
        }
        let mut response = self
            .ask_throttle(key, StorageOp::Admit, policy, now)
            .await?;
        let answer = response
            .text()
            .await
            .map_err(|e| StoreError::Unavailable(format!("throttle admit: {e}")))?;
        parse_admission(&answer).ok_or_else(|| StoreError::Corrupt("throttle admit answer".into()))
    }

    async fn record_failure(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<(), StoreError> {
        if policy.max_failures == 0 {
            return Ok(());
        }
        self.ask_throttle(key, StorageOp::Failure, policy, now)
            .await
            .map(drop)
    }

    async fn record_success(&self, key: &str) -> Result<(), StoreError> {
        let policy = ThrottlePolicy {
            max_failures: 1,
            window_s: 1,
        };
        self.ask_throttle(key, StorageOp::Success, policy, 0)
            .await
            .map(drop)
    }
}

#[cfg(feature = "entry")]
pub use object::LoginThrottle;

#[cfg(feature = "entry")]
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
mod object {
    use tollgate_core::throttle::{Admission, ThrottlePolicy, ThrottleState};
    use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

    use crate::http::query_param;

    /// Storage key of the object's one value.
    const STATE: &str = "failures";

    /// One throttle key's recent failures. Requests to one object are serialised by the
    /// runtime, and storage calls hold its input gate, so read-modify-write here is atomic.
    #[durable_object(fetch)]
    pub struct LoginThrottle {
        state: State,
    }

    impl DurableObject for LoginThrottle {
        fn new(state: State, _env: Env) -> Self {
            LoginThrottle { state }
        }

        async fn fetch(&self, req: Request) -> Result<Response> {
            let url = req.inner().url();
            let number = |name: &str| query_param(&url, name).and_then(|v| v.parse::<u64>().ok());
            let (Some(max), Some(window_s), Some(now)) =
                (number("max"), number("window"), number("now"))
            else {
                return Response::error("bad throttle request", 400);
            };
            let policy = ThrottlePolicy {
                max_failures: u32::try_from(max).unwrap_or(u32::MAX),
                window_s,
            };
            let storage = self.state.storage();
            let current: ThrottleState = storage
                .get::<Vec<u64>>(STATE)
                .await?
                .map(|failures| ThrottleState { failures })
                .unwrap_or_default();
            match req.path().as_str() {
                "/admit" => Response::ok(match current.admit(policy, now) {
                    Admission::Allowed { failures_on_record } => {
                        format!("allowed {}", u8::from(failures_on_record))
                    }
                    Admission::Refused { retry_after_s } => format!("refused {retry_after_s}"),
                }),
                "/failure" => {
                    storage
                        .put(STATE, current.record_failure(policy, now).failures)
                        .await?;
                    Ok(Response::empty()?.with_status(204))
                }
                "/success" => {
                    storage.delete(STATE).await?;
                    Ok(Response::empty()?.with_status(204))
                }
                _ => Response::error("unknown throttle operation", 404),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admit_answers_parse_strictly() {
        let allowed = |failures_on_record| Some(Admission::Allowed { failures_on_record });
        assert_eq!(parse_admission("allowed 0"), allowed(false));
        assert_eq!(parse_admission("allowed 3"), allowed(true));
        assert_eq!(parse_admission("allowed"), allowed(true));
        assert_eq!(
            parse_admission("refused 42"),
            Some(Admission::Refused { retry_after_s: 42 })
        );
        for bad in [
            "",
            "refused",
            "refused x",
            "allowed x",
            "allowed -1",
            "maybe",
            "refused -1",
        ] {
            assert_eq!(parse_admission(bad), None, "{bad:?}");
        }
    }
}
