//! Login throttling state in a Durable Object, one object per key.
//!
//! Why not KV: a throttle writes on every failed attempt, and KV accepts about one write per
//! second per key and propagates in up to 60 s, so counts would be lost and a lockout would
//! not be seen elsewhere. The rate-limiting binding counts requests, not failures, and only
//! over 10 or 60 s. A Durable Object is a single, strongly consistent instance per key
//! (`account:<email>` or `address:<ip>`) wherever the request lands: each failure is counted
//! exactly once and every location sees the lockout at once. The decision itself is the
//! core's ([`tollgate_core::throttle`]); the object only stores its small state.

use serde::{Deserialize, Serialize};
use tollgate_core::store::{StoreError, ThrottleStore};
use tollgate_core::throttle::{Admission, ThrottlePolicy};
use tollgate_core::time::UnixSeconds;
use wasm_bindgen::JsValue;
use worker::{Method, Request, RequestInit};

use crate::kv::{WorkerStores, timeout};

/// The Durable Object binding's name in `wrangler.toml`.
pub const BINDING: &str = "THROTTLE";

/// What the Worker asks the object.
#[derive(Serialize, Deserialize)]
struct Ask {
    max_failures: u32,
    window_s: u64,
    now: UnixSeconds,
}

/// What `admit` answers.
#[derive(Serialize, Deserialize)]
struct Admit {
    allowed: bool,
    retry_after_s: u64,
}

impl WorkerStores {
    async fn ask_throttle(
        &self,
        key: &str,
        op: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<worker::Response, StoreError> {
        let unavailable = |e: worker::Error| StoreError::Unavailable(format!("throttle {op}: {e}"));
        let namespace = self.env.durable_object(BINDING).map_err(unavailable)?;
        let stub = namespace
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(unavailable)?;
        let body = serde_json::to_string(&Ask {
            max_failures: policy.max_failures,
            window_s: policy.window_s,
            now,
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&body)));
        let request = Request::new_with_init(&format!("https://throttle/{op}"), &init)
            .map_err(unavailable)?;
        match timeout(self.timeout_ms, stub.fetch_with_request(request)).await {
            Some(Ok(response)) if response.status_code() < 300 => Ok(response),
            Some(Ok(response)) => Err(StoreError::Unavailable(format!(
                "throttle {op}: status {}",
                response.status_code()
            ))),
            Some(Err(e)) => Err(unavailable(e)),
            None => Err(StoreError::Unavailable(format!(
                "throttle {op} timed out after {} ms",
                self.timeout_ms
            ))),
        }
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
            return Ok(Admission::Allowed); // throttling disabled: no round trip
        }
        let mut response = self.ask_throttle(key, "admit", policy, now).await?;
        let answer: Admit = response
            .json()
            .await
            .map_err(|e| StoreError::Corrupt(format!("throttle admit answer: {e}")))?;
        Ok(if answer.allowed {
            Admission::Allowed
        } else {
            Admission::Refused {
                retry_after_s: answer.retry_after_s,
            }
        })
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
        self.ask_throttle(key, "failure", policy, now)
            .await
            .map(drop)
    }

    async fn record_success(&self, key: &str) -> Result<(), StoreError> {
        let policy = ThrottlePolicy {
            max_failures: 1,
            window_s: 1,
        };
        self.ask_throttle(key, "success", policy, 0).await.map(drop)
    }
}

#[cfg(feature = "entry")]
pub use object::LoginThrottle;

#[cfg(feature = "entry")]
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
mod object {
    use tollgate_core::throttle::{Admission, ThrottlePolicy, ThrottleState};
    use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

    use super::{Admit, Ask};

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

        async fn fetch(&self, mut req: Request) -> Result<Response> {
            let ask: Ask = req.json().await?;
            let policy = ThrottlePolicy {
                max_failures: ask.max_failures,
                window_s: ask.window_s,
            };
            let storage = self.state.storage();
            let current: ThrottleState = storage
                .get::<Vec<u64>>(STATE)
                .await?
                .map(|failures| ThrottleState { failures })
                .unwrap_or_default();
            match req.path().as_str() {
                "/admit" => Response::from_json(&match current.admit(policy, ask.now) {
                    Admission::Allowed => Admit {
                        allowed: true,
                        retry_after_s: 0,
                    },
                    Admission::Refused { retry_after_s } => Admit {
                        allowed: false,
                        retry_after_s,
                    },
                }),
                "/failure" => {
                    storage
                        .put(STATE, current.record_failure(policy, ask.now).failures)
                        .await?;
                    Ok(Response::empty()?.with_status(204))
                }
                "/success" => {
                    storage.delete(STATE).await?;
                    Ok(Response::empty()?.with_status(204))
                }
                _ => Ok(Response::error("unknown throttle operation", 404)?),
            }
        }
    }
}
