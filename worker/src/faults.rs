//! Storage fault injection, for end-to-end tests of failure handling under real workerd.
//!
//! Off unless the var `TOLLGATE_FAULT_INJECTION` holds a plan; never set it in production.
//! A plan is a comma-separated list of `operation:prefix=fault`, where the operation is
//! `get`, `put`, `delete` or `list`, the prefix is the first segment of a KV key (`user`,
//! `email`, `family`), and the fault is `fail` (the call throws) or `timeout` (the call
//! stalls past `STORAGE_TIMEOUT_MS`, so the real timeout fires). Example:
//! `put:email=fail,get:family=timeout`.

/// A KV operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// A read of one key.
    Get,
    /// A write of one key.
    Put,
    /// A delete of one key.
    Delete,
    /// A listing by prefix.
    List,
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The call fails at once.
    Fail,
    /// The call never answers (until the storage timeout ends the wait).
    Timeout,
}

/// A parsed fault plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults(Vec<(KvOp, String, FaultKind)>);

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
            let bad = || format!("cannot read {entry:?}; expected operation:prefix=fail|timeout");
            let (target, kind) = entry.split_once('=').ok_or_else(bad)?;
            let (op, prefix) = target.split_once(':').ok_or_else(bad)?;
            let op = match op {
                "get" => KvOp::Get,
                "put" => KvOp::Put,
                "delete" => KvOp::Delete,
                "list" => KvOp::List,
                _ => return Err(bad()),
            };
            let kind = match kind {
                "fail" => FaultKind::Fail,
                "timeout" => FaultKind::Timeout,
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
    pub fn for_call(&self, op: KvOp, key: &str) -> Option<FaultKind> {
        let prefix = key.split(':').next().unwrap_or(key);
        self.0
            .iter()
            .find(|(o, p, _)| *o == op && p == prefix)
            .map(|(_, _, k)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plans_and_matches_by_key_prefix() {
        let f = Faults::parse("put:email=fail, get:family=timeout").unwrap();
        assert_eq!(
            f.for_call(KvOp::Put, "email:sam@example.com"),
            Some(FaultKind::Fail)
        );
        assert_eq!(
            f.for_call(KvOp::Get, "family:u:f"),
            Some(FaultKind::Timeout)
        );
        assert_eq!(f.for_call(KvOp::Get, "email:sam@example.com"), None);
        assert_eq!(f.for_call(KvOp::Put, "user:1"), None);
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
