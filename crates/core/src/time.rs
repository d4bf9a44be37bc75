//! Time as the core sees it: a number the caller passes in.
//!
//! The core never reads a clock. Hosts read theirs (`Date.now()` in a Worker or browser,
//! `SystemTime` natively) and pass seconds since the Unix epoch; tests pass fixed values.

/// Seconds since the Unix epoch (1970-01-01T00:00:00Z), UTC.
pub type UnixSeconds = u64;

/// A source of the current time, for hosts that prefer passing a clock to passing a number.
pub trait Clock {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixSeconds;
}

/// A clock that always says the same time: for tests and for replaying decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub UnixSeconds);

impl Clock for FixedClock {
    fn now(&self) -> UnixSeconds {
        self.0
    }
}
