//! Storage fault injection, for end-to-end tests of failure handling under real workerd.
//!
//! Compiled in only with the `fault-injection` cargo feature, which only the test build turns
//! on (`scripts/build-worker.sh --test`, into `worker/build-test/`). The Worker that
//! `wrangler deploy` ships is built without it: there [`Faults`] is empty by construction, no
//! plan can be read, and the configuration refuses a set `TOLLGATE_FAULT_INJECTION` (503
//! `misconfigured`), so one mistaken var cannot make storage fail on purpose in production.
//!
//! In the test build, faults are off unless the var `TOLLGATE_FAULT_INJECTION` holds a plan.
//! A plan is a comma-separated list of `operation:prefix=fault`. The operation is a KV call
//! (`get`, `put`, `delete`, `list`; the prefix is the first segment of the KV key: `user`,
//! `email`, `family`) or a call to the throttle Durable Object (`reserve`, `release`, `clear`;
//! the prefix is the first segment of the throttle key: `account`, `address`, `register`), or
//! `object`, a request to a user's sequencer or an email's claim object (prefix `user` or
//! `email`; the objects' own KV calls obey the same plan).
//! The fault is `fail` (the call throws), `timeout` (the call stalls past
//! `STORAGE_TIMEOUT_MS`, so the real timeout fires) or `trap` (the wasm aborts, as a panic
//! does, so the entry's recovery from a dead instance is tested). Example:
//! `put:email=fail,get:family=timeout,reserve:account=fail`.

/// A storage operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageOp {
    /// A KV read of one key.
    Get,
    /// A KV write of one key.
    Put,
    /// A KV delete of one key.
    Delete,
    /// A KV listing by prefix.
    List,
    /// Asking the throttle object to decide and count an attempt.
    Reserve,
    /// Taking back an attempt that succeeded (an address's count).
    Release,
    /// Clearing a throttle object after a success (an account's count).
    Clear,
    /// A request to a user's sequencer or an address's claim object (`worker/src/records.rs`;
    /// the prefix is the object's kind: `user` or `email`).
    Object,
}

impl StorageOp {
    /// The operation's name in a plan (and in log lines).
    pub fn as_str(self) -> &'static str {
        match self {
            StorageOp::Get => "get",
            StorageOp::Put => "put",
            StorageOp::Delete => "delete",
            StorageOp::List => "list",
            StorageOp::Reserve => "reserve",
            StorageOp::Release => "release",
            StorageOp::Clear => "clear",
            StorageOp::Object => "object",
        }
    }

    #[cfg(feature = "fault-injection")]
    const ALL: [StorageOp; 8] = [
        StorageOp::Get,
        StorageOp::Put,
        StorageOp::Delete,
        StorageOp::List,
        StorageOp::Reserve,
        StorageOp::Release,
        StorageOp::Clear,
        StorageOp::Object,
    ];
}

/// What an injected fault does.
// The storage adapters match on it in every build; only the test build ever makes one.
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The call fails at once.
    Fail,
    /// The call never answers (until the storage timeout ends the wait).
    Timeout,
    /// The wasm instance aborts at the call: the trap a panic becomes under `panic = "abort"`.
    Trap,
}

#[cfg(feature = "fault-injection")]
pub use plan::Faults;
#[cfg(not(feature = "fault-injection"))]
pub use without::Faults;

/// The test build's fault plans.
#[cfg(feature = "fault-injection")]
mod plan {
    use super::{FaultKind, StorageOp};

    /// A parsed fault plan.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Faults(Vec<(StorageOp, String, FaultKind)>);

    impl Faults {
        /// No faults (the default).
        pub fn none() -> Faults {
            Faults(Vec::new())
        }

        /// Parses a plan (see the module docs).
        ///
        /// # Errors
        /// A sentence naming the entry that does not parse.
        pub fn parse(plan: &str) -> Result<Faults, String> {
            let mut out = Vec::new();
            for entry in plan.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let bad = || {
                    format!("cannot read {entry:?}; expected operation:prefix=fail|timeout|trap")
                };
                let (target, kind) = entry.split_once('=').ok_or_else(bad)?;
                let (op, prefix) = target.split_once(':').ok_or_else(bad)?;
                let op = StorageOp::ALL
                    .into_iter()
                    .find(|o| o.as_str() == op)
                    .ok_or_else(bad)?;
                let kind = match kind {
                    "fail" => FaultKind::Fail,
                    "timeout" => FaultKind::Timeout,
                    "trap" => FaultKind::Trap,
                    _ => return Err(bad()),
                };
                if prefix.is_empty() {
                    return Err(bad());
                }
                out.push((op, prefix.to_string(), kind));
            }
            Ok(Faults(out))
        }

        /// Whether any fault is planned.
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// The fault planned for `op` on `key`, if any.
        pub fn for_call(&self, op: StorageOp, key: &str) -> Option<FaultKind> {
            let prefix = key.split(':').next().unwrap_or(key);
            self.0
                .iter()
                .find(|(o, p, _)| *o == op && p == prefix)
                .map(|(_, _, k)| *k)
        }
    }
}

/// The deployed build's stand-in: no plan, and no way to make one.
#[cfg(not(feature = "fault-injection"))]
mod without {
    use super::{FaultKind, StorageOp};

    /// No faults: this build cannot inject any (see the module docs). Not `Copy`, so that
    /// code handling it reads the same in both builds.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Faults;

    impl Faults {
        /// No faults (the only value).
        pub fn none() -> Faults {
            Faults
        }

        /// Always true.
        pub fn is_empty(&self) -> bool {
            true
        }

        /// Never a fault: storage calls run as they are.
        pub fn for_call(&self, _op: StorageOp, _key: &str) -> Option<FaultKind> {
            None
        }
    }
}

#[cfg(all(test, feature = "fault-injection"))]
mod tests {
    use super::*;

    #[test]
    fn parses_plans_and_matches_by_key_prefix() {
        let f = Faults::parse(
            "put:email=fail, get:family=timeout, reserve:account=fail, list:user=trap",
        )
        .unwrap();
        assert_eq!(f.for_call(StorageOp::List, "user:"), Some(FaultKind::Trap));
        assert_eq!(
            f.for_call(StorageOp::Put, "email:sam@example.com"),
            Some(FaultKind::Fail)
        );
        assert_eq!(
            f.for_call(StorageOp::Get, "family:u:f"),
            Some(FaultKind::Timeout)
        );
        assert_eq!(f.for_call(StorageOp::Get, "email:sam@example.com"), None);
        assert_eq!(f.for_call(StorageOp::Put, "user:1"), None);
        assert_eq!(
            f.for_call(StorageOp::Reserve, "account:sam@example.com"),
            Some(FaultKind::Fail)
        );
        assert_eq!(f.for_call(StorageOp::Reserve, "address:192.0.2.1"), None);
        assert_eq!(
            f.for_call(StorageOp::Release, "account:sam@example.com"),
            None
        );
        assert!(Faults::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_plans_it_cannot_read() {
        for bad in [
            "put",
            "put:email",
            "put:email=explode",
            "write:email=fail",
            "put:=fail",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }
}
