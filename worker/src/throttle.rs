//! Throttle state in a Durable Object, one object per key.
//!
//! Why not KV: a throttle writes on every attempt, and KV accepts about one write per second
//! per key and propagates in up to 60 s, so counts would be lost and a lockout would not be
//! seen elsewhere. The rate-limiting binding counts requests, not failures, and only over 10
//! or 60 s. A Durable Object is a single, strongly consistent instance per key
//! (`account:<email>`, `address:<bucket>`, `register:<bucket>`) wherever the request lands,
//! and it handles one request at a time: deciding and counting an attempt is one atomic step
//! (the core's [`ThrottleState::reserve`]), so parallel attempts never all pass. The decisions
//! are the core's ([`tollgate_core::throttle`]); the object only stores its small state.
//!
//! The object forgets its state once nothing in it counts: a success that clears it, or the
//! last attempt released, deletes it at once; otherwise an alarm set for
//! [`ThrottleState::forget_at`] deletes it when its newest attempt leaves the window. So a
//! stream of invented usernames costs no storage after one window ([`object_step`] and
//! [`alarm_step`] decide; their tests show it).
//!
//! The Worker and the object speak plain text: `POST https://throttle/<op>?max=N&window=S&now=T`
//! (`op` is `reserve`, `release` or `clear`; `now` is the reserved attempt's time for
//! `release`), answered `allowed` or `refused <seconds>` (reserve) or 204. Three numbers need
//! no JSON, and every byte of code here ships in the size-limited Worker.

use tollgate_core::store::{StoreError, ThrottleStore};
use tollgate_core::throttle::{Admission, ThrottlePolicy, ThrottleState};
use tollgate_core::time::UnixSeconds;
use worker::{Method, Request};

use crate::faults::StorageOp;
use crate::kv::WorkerStores;

/// The Durable Object binding's name in `wrangler.toml`.
pub const BINDING: &str = "THROTTLE";

impl WorkerStores {
    /// One round trip to the throttle object for `key`, under the storage timeout and any
    /// injected fault (`reserve:account=fail` and the like, see [`crate::faults`]): the
    /// answer's text. Every operation goes through this one function, so its code ships once.
    async fn ask_throttle(
        &self,
        key: &str,
        op: StorageOp,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<String, StoreError> {
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
        let exchange = async {
            let mut response = stub.fetch_with_request(request).await?;
            match response.status_code() {
                status if status < 300 => response.text().await,
                status => Err(worker::Error::RustError(format!("status {status}"))),
            }
        };
        self.call(op, key, exchange).await
    }
}

/// Reads the object's answer to `/reserve`: `allowed` or `refused <retry after, in seconds>`.
fn parse_admission(answer: &str) -> Option<Admission> {
    match answer.trim().split_once(' ') {
        None if answer.trim() == "allowed" => Some(Admission::Allowed),
        Some(("refused", seconds)) => seconds
            .parse()
            .ok()
            .map(|retry_after_s| Admission::Refused { retry_after_s }),
        _ => None,
    }
}

/// The answer the object gives to `/reserve`.
fn format_admission(admission: Admission) -> String {
    match admission {
        Admission::Allowed => "allowed".into(),
        Admission::Refused { retry_after_s } => format!("refused {retry_after_s}"),
    }
}

impl ThrottleStore for WorkerStores {
    async fn reserve(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> Result<Admission, StoreError> {
        let answer = self
            .ask_throttle(key, StorageOp::Reserve, policy, now)
            .await?;
        parse_admission(&answer)
            .ok_or_else(|| StoreError::Corrupt("throttle reserve answer".into()))
    }

    async fn release(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        reserved_at: UnixSeconds,
    ) -> Result<(), StoreError> {
        self.ask_throttle(key, StorageOp::Release, policy, reserved_at)
            .await
            .map(drop)
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let policy = ThrottlePolicy {
            max_failures: 1,
            window_s: 1,
        };
        self.ask_throttle(key, StorageOp::Clear, policy, 0)
            .await
            .map(drop)
    }
}

/// One call to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectOp {
    /// Decide an attempt at `now` and count it if allowed.
    Reserve,
    /// Take back the attempt reserved at `now`.
    Release,
    /// Forget every attempt.
    Clear,
}

impl ObjectOp {
    fn from_path(path: &str) -> Option<ObjectOp> {
        match path {
            "/reserve" => Some(ObjectOp::Reserve),
            "/release" => Some(ObjectOp::Release),
            "/clear" => Some(ObjectOp::Clear),
            _ => None,
        }
    }
}

/// What becomes of the object's storage after a call or an alarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Nothing to write.
    Unchanged,
    /// Store these attempts, and have the alarm delete them at `forget_at` (seconds).
    Store {
        /// The attempts that count, oldest first.
        failures: Vec<UnixSeconds>,
        /// When the newest of them leaves the window.
        forget_at: UnixSeconds,
    },
    /// Nothing counts any more: delete everything (the alarm too).
    Forget,
    /// Not yet: the alarm fired early (clocks differ), so set it again for this time.
    Rearm(UnixSeconds),
}

/// The object's whole behaviour for one call, as a pure function: the answer to `/reserve`
/// (if that was the call) and what to do with storage, given the stored `state`.
pub(crate) fn object_step(
    op: ObjectOp,
    state: &ThrottleState,
    policy: ThrottlePolicy,
    now: UnixSeconds,
) -> (Option<Admission>, Storage) {
    let (admission, next) = match op {
        ObjectOp::Reserve => {
            let (admission, next) = state.reserve(policy, now);
            (Some(admission), next)
        }
        ObjectOp::Release => (None, state.release(now)),
        ObjectOp::Clear => (None, state.record_success()),
    };
    let storage = if next == *state {
        Storage::Unchanged
    } else {
        match next.forget_at(policy) {
            None => Storage::Forget,
            Some(forget_at) => Storage::Store {
                failures: next.failures,
                forget_at,
            },
        }
    };
    (admission, storage)
}

/// What the object's alarm does at `now`, given the stored deadline: deletes the state once
/// the deadline has passed (every attempt in it has left its window), else sets itself again.
pub(crate) fn alarm_step(forget_at: Option<UnixSeconds>, now: UnixSeconds) -> Storage {
    match forget_at {
        Some(at) if now < at => Storage::Rearm(at),
        _ => Storage::Forget,
    }
}

#[cfg(feature = "entry")]
pub use object::LoginThrottle;

#[cfg(feature = "entry")]
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
mod object {
    use tollgate_core::throttle::{ThrottlePolicy, ThrottleState};
    use tollgate_core::time::UnixSeconds;
    use worker::{
        DurableObject, Env, Request, Response, Result, ScheduledTime, State, Storage as DoStorage,
        durable_object,
    };

    use super::{ObjectOp, Storage, alarm_step, format_admission, object_step};
    use crate::http::query_param;

    /// Storage key of the object's one value: the deadline its alarm deletes everything at
    /// (seconds), then the times of the attempts that count, oldest first.
    const ATTEMPTS: &str = "attempts";
    /// Where objects written before alarms existed kept their attempts' times (no deadline);
    /// read until their next write, so that a deploy resets no count.
    const FAILURES: &str = "failures";

    /// One throttle key's recent attempts. Requests to one object are serialised by the
    /// runtime, and storage calls hold its input gate, so read-decide-write here is atomic.
    #[durable_object(alarm)]
    pub struct LoginThrottle {
        state: State,
    }

    /// The stored deadline (if any) and attempts.
    async fn load(storage: &DoStorage) -> Result<(Option<UnixSeconds>, ThrottleState)> {
        let (forget_at, failures) = match storage.get::<Vec<u64>>(ATTEMPTS).await? {
            Some(mut stored) if !stored.is_empty() => (Some(stored.remove(0)), stored),
            _ => (
                None,
                storage.get::<Vec<u64>>(FAILURES).await?.unwrap_or_default(),
            ),
        };
        Ok((forget_at, ThrottleState { failures }))
    }

    /// Carries out `change` (see [`Storage`]), given the deadline stored before.
    async fn apply(
        storage: &DoStorage,
        change: Storage,
        stored_at: Option<UnixSeconds>,
    ) -> Result<()> {
        let alarm_at = match change {
            Storage::Unchanged => return Ok(()),
            // With a compatibility date from 2026-02-24 on, this deletes the alarm as well.
            Storage::Forget => return storage.delete_all().await,
            Storage::Store {
                mut failures,
                forget_at,
            } => {
                failures.insert(0, forget_at);
                storage.put(ATTEMPTS, failures).await?;
                if stored_at == Some(forget_at) {
                    return Ok(());
                }
                forget_at
            }
            Storage::Rearm(at) => at,
        };
        let ms = js_sys::Number::from(alarm_at.saturating_mul(1000) as f64);
        storage
            .set_alarm(ScheduledTime::new(js_sys::Date::new(&ms)))
            .await
    }

    impl DurableObject for LoginThrottle {
        fn new(state: State, _env: Env) -> Self {
            LoginThrottle { state }
        }

        async fn fetch(&self, req: Request) -> Result<Response> {
            let url = req.inner().url();
            let number = |name: &str| query_param(&url, name).and_then(|v| v.parse::<u64>().ok());
            let (Some(op), Some(max), Some(window_s), Some(now)) = (
                ObjectOp::from_path(&req.path()),
                number("max"),
                number("window"),
                number("now"),
            ) else {
                return Response::error("bad throttle request", 400);
            };
            let policy = ThrottlePolicy {
                max_failures: u32::try_from(max).unwrap_or(u32::MAX),
                window_s,
            };
            let storage = self.state.storage();
            let (stored_at, current) = load(&storage).await?;
            let (admission, change) = object_step(op, &current, policy, now);
            apply(&storage, change, stored_at).await?;
            match admission {
                Some(admission) => Response::ok(format_admission(admission)),
                None => Ok(Response::empty()?.with_status(204)),
            }
        }

        async fn alarm(&self) -> Result<Response> {
            let storage = self.state.storage();
            let now = worker::Date::now().as_millis() / 1000;
            let (stored_at, _) = load(&storage).await?;
            apply(&storage, alarm_step(stored_at, now), stored_at).await?;
            Response::empty()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window_s: 900,
    };

    #[test]
    fn admit_answers_parse_strictly_and_round_trip() {
        for admission in [Admission::Allowed, Admission::Refused { retry_after_s: 42 }] {
            assert_eq!(
                parse_admission(&format_admission(admission)),
                Some(admission)
            );
        }
        assert_eq!(
            parse_admission("refused 42"),
            Some(Admission::Refused { retry_after_s: 42 })
        );
        for bad in [
            "",
            "refused",
            "refused x",
            "allowed x",
            "allowed 0",
            "maybe",
            "refused -1",
        ] {
            assert_eq!(parse_admission(bad), None, "{bad:?}");
        }
    }

    /// One object as the runtime runs it: a stored state, a stored deadline and an alarm,
    /// driven through [`object_step`] and [`alarm_step`] exactly as `object::LoginThrottle`
    /// applies them.
    #[derive(Default, Debug)]
    struct FakeObject {
        failures: Option<Vec<UnixSeconds>>,
        forget_at: Option<UnixSeconds>,
        alarm: Option<UnixSeconds>,
    }

    impl FakeObject {
        fn apply(&mut self, change: Storage) {
            match change {
                Storage::Unchanged => {}
                Storage::Store {
                    failures,
                    forget_at,
                } => {
                    self.failures = Some(failures);
                    if self.forget_at != Some(forget_at) {
                        self.forget_at = Some(forget_at);
                        self.alarm = Some(forget_at);
                    }
                }
                Storage::Forget => *self = FakeObject::default(),
                Storage::Rearm(at) => self.alarm = Some(at),
            }
        }

        fn call(&mut self, op: ObjectOp, now: UnixSeconds) -> Option<Admission> {
            let state = ThrottleState {
                failures: self.failures.clone().unwrap_or_default(),
            };
            let (admission, change) = object_step(op, &state, POLICY, now);
            self.apply(change);
            admission
        }

        /// Fires the alarm at `now`, as the runtime would once its time has come.
        fn fire_alarm(&mut self, now: UnixSeconds) {
            if self.alarm.take().is_some() {
                self.apply(alarm_step(self.forget_at, now));
            }
        }

        fn is_empty(&self) -> bool {
            self.failures.is_none() && self.forget_at.is_none() && self.alarm.is_none()
        }
    }

    #[test]
    fn reservations_are_stored_with_an_alarm_for_when_the_newest_leaves_the_window() {
        let mut object = FakeObject::default();
        assert_eq!(
            object.call(ObjectOp::Reserve, 1000),
            Some(Admission::Allowed)
        );
        assert_eq!(object.failures, Some(vec![1000]));
        assert_eq!(object.alarm, Some(1900));
        object.call(ObjectOp::Reserve, 1100);
        assert_eq!(
            object.alarm,
            Some(2000),
            "a later attempt moves the deadline"
        );
        // Early (the object's clock behind the Worker's): the alarm sets itself again.
        object.fire_alarm(1999);
        assert_eq!(object.alarm, Some(2000));
        assert_eq!(object.failures, Some(vec![1000, 1100]));
        object.fire_alarm(2000);
        assert!(object.is_empty(), "{object:?}");
    }

    #[test]
    fn a_success_or_the_last_release_deletes_the_state_at_once() {
        let mut object = FakeObject::default();
        object.call(ObjectOp::Reserve, 1000);
        object.call(ObjectOp::Reserve, 1001);
        object.call(ObjectOp::Clear, 1002);
        assert!(object.is_empty(), "{object:?}");

        object.call(ObjectOp::Reserve, 1000);
        object.call(ObjectOp::Reserve, 1001);
        object.call(ObjectOp::Release, 1001);
        assert_eq!(object.failures, Some(vec![1000]));
        assert_eq!(
            object.alarm,
            Some(1900),
            "the deadline follows the newest attempt left"
        );
        object.call(ObjectOp::Release, 1000);
        assert!(object.is_empty(), "{object:?}");
    }

    #[test]
    fn refusals_and_calls_that_change_nothing_write_nothing() {
        let state = ThrottleState {
            failures: vec![1000, 1001, 1002, 1003, 1004],
        };
        let (admission, change) = object_step(ObjectOp::Reserve, &state, POLICY, 1005);
        assert_eq!(admission, Some(Admission::Refused { retry_after_s: 895 }));
        assert_eq!(change, Storage::Unchanged);
        let (_, change) = object_step(ObjectOp::Release, &state, POLICY, 7);
        assert_eq!(change, Storage::Unchanged);
        let (_, change) = object_step(ObjectOp::Clear, &ThrottleState::default(), POLICY, 7);
        assert_eq!(change, Storage::Unchanged, "an empty object stays empty");
    }

    #[test]
    fn an_expired_window_seen_at_the_next_call_is_dropped() {
        let state = ThrottleState {
            failures: vec![10, 20],
        };
        let (_, change) = object_step(ObjectOp::Reserve, &state, POLICY, 5000);
        assert_eq!(
            change,
            Storage::Store {
                failures: vec![5000],
                forget_at: 5900
            }
        );
    }

    /// The storage a stream of invented usernames costs: one object each while its attempt
    /// counts, none once every alarm has fired.
    #[test]
    fn a_stream_of_invented_usernames_costs_no_storage_after_a_window() {
        let mut objects: BTreeMap<String, FakeObject> = BTreeMap::new();
        for i in 0..1000u64 {
            let object = objects
                .entry(format!("account:ghost{i}@example.com"))
                .or_default();
            assert_eq!(
                object.call(ObjectOp::Reserve, 1000 + i),
                Some(Admission::Allowed)
            );
        }
        assert_eq!(objects.values().filter(|o| !o.is_empty()).count(), 1000);
        for object in objects.values_mut() {
            let due = object.alarm.unwrap();
            assert!(due <= 1000 + 999 + POLICY.window_s);
            object.fire_alarm(due);
        }
        assert!(objects.values().all(FakeObject::is_empty));
    }

    #[test]
    fn an_alarm_without_a_deadline_forgets_everything() {
        // An object written before alarms existed has attempts and no deadline.
        assert_eq!(alarm_step(None, 5), Storage::Forget);
        assert_eq!(alarm_step(Some(5), 5), Storage::Forget);
        assert_eq!(alarm_step(Some(6), 5), Storage::Rearm(6));
    }
}
