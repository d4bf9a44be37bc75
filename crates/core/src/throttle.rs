//! Login throttling as a pure decision over a small state value.
//!
//! Each key (an account's normalised email, or a client address) keeps the times of its most
//! recent failures within the window. An attempt is refused while `max_failures` failures lie
//! within the last `window_s` seconds, with a retry-after that says when the oldest of them
//! leaves the window. A success clears an account's failures (addresses are not cleared by
//! one success, or an attacker could reset their own limit with one account they own).
//!
//! Keys are derived from what the caller typed, never from whether the account exists, and
//! the refusal is the same either way: lockout reveals nothing about which emails exist.
//!
//! Hosts keep [`ThrottleState`] wherever they can update it atomically per key (the Worker
//! uses one Durable Object per key), and call these functions to decide.

use alloc::vec::Vec;

use crate::time::UnixSeconds;

/// Default failures allowed per account within the window (OWASP ASVS 5.0 V6.3.1 asks for
/// anti-automation; 5 per 15 minutes is the common setting).
pub const DEFAULT_MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// Default failures allowed per client address within the window.
pub const DEFAULT_MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// Default window, in seconds (15 minutes).
pub const DEFAULT_WINDOW_S: u64 = 15 * 60;

/// How many failures a key may have within how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed within the window; the next attempt is refused.
    pub max_failures: u32,
    /// The window, in seconds.
    pub window_s: u64,
}

impl ThrottlePolicy {
    /// The default per-account policy: 5 failures per 15 minutes.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        max_failures: DEFAULT_MAX_FAILURES_PER_ACCOUNT,
        window_s: DEFAULT_WINDOW_S,
    };
    /// The default per-address policy: 20 failures per 15 minutes.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        max_failures: DEFAULT_MAX_FAILURES_PER_ADDRESS,
        window_s: DEFAULT_WINDOW_S,
    };
}

/// The recent failures of one key, oldest first; never longer than the policy's maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "server", derive(serde::Serialize, serde::Deserialize))]
pub struct ThrottleState {
    /// Failure times, in seconds since the Unix epoch, oldest first.
    pub failures: Vec<UnixSeconds>,
}

/// The decision for one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may proceed.
    Allowed {
        /// Whether the key has failures on record in the window, which a success should
        /// reset. A store that cannot tell says `true`: a needless reset costs a round trip,
        /// a missed one leaves failures counting against the account.
        failures_on_record: bool,
    },
    /// The attempt is refused; the caller may retry after this many seconds (at least 1).
    Refused {
        /// Seconds until the oldest counted failure leaves the window.
        retry_after_s: u64,
    },
}

impl ThrottleState {
    /// Whether an attempt at `now` may proceed under `policy`.
    pub fn admit(&self, policy: ThrottlePolicy, now: UnixSeconds) -> Admission {
        let recent: Vec<UnixSeconds> = self.in_window(policy, now).collect();
        if policy.max_failures == 0 || (recent.len() as u64) < u64::from(policy.max_failures) {
            return Admission::Allowed {
                failures_on_record: !recent.is_empty(),
            };
        }
        // The attempt is admitted again once enough failures age out that fewer than
        // `max_failures` remain: that is when the one at index len - max leaves the window.
        let pivot = recent[recent.len() - policy.max_failures as usize];
        let retry_after_s = pivot
            .saturating_add(policy.window_s)
            .saturating_sub(now)
            .max(1);
        Admission::Refused { retry_after_s }
    }

    /// The state after a failure at `now`: expired failures dropped, at most `max_failures` kept.
    pub fn record_failure(&self, policy: ThrottlePolicy, now: UnixSeconds) -> ThrottleState {
        let mut failures: Vec<UnixSeconds> = self.in_window(policy, now).collect();
        failures.push(now);
        let keep = (policy.max_failures as usize).max(1);
        if failures.len() > keep {
            failures.drain(..failures.len() - keep);
        }
        ThrottleState { failures }
    }

    /// The state after a success: no failures.
    pub fn record_success(&self) -> ThrottleState {
        ThrottleState::default()
    }

    /// Whether the state holds nothing worth storing at `now` (the host may delete it).
    pub fn is_idle(&self, policy: ThrottlePolicy, now: UnixSeconds) -> bool {
        self.in_window(policy, now).next().is_none()
    }

    fn in_window(
        &self,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> impl Iterator<Item = UnixSeconds> + '_ {
        // A failure at t counts while now < t + window. Times from the future (a host clock
        // that stepped back) still count: forgetting them would reopen the door early.
        self.failures
            .iter()
            .copied()
            .filter(move |&t| now < t.saturating_add(policy.window_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window_s: 900,
    };

    fn fail_at(times: &[UnixSeconds]) -> ThrottleState {
        times.iter().fold(ThrottleState::default(), |s, &t| {
            s.record_failure(POLICY, t)
        })
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn defaults_are_5_per_account_and_20_per_address_per_15_minutes() {
        assert_eq!(
            ThrottlePolicy::ACCOUNT,
            ThrottlePolicy {
                max_failures: 5,
                window_s: 900,
            }
        );
        assert_eq!(
            ThrottlePolicy::ADDRESS,
            ThrottlePolicy {
                max_failures: 20,
                window_s: 900,
            }
        );
        assert_eq!(
            (
                DEFAULT_MAX_FAILURES_PER_ACCOUNT,
                DEFAULT_MAX_FAILURES_PER_ADDRESS,
                DEFAULT_WINDOW_S
            ),
            (5, 20, 900)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn allows_until_the_limit_then_refuses_with_retry_after() {
        let state = fail_at(&[1000, 1001, 1002, 1003]);
        assert_eq!(
            state.admit(POLICY, 1004),
            Admission::Allowed {
                failures_on_record: true
            }
        );
        let state = state.record_failure(POLICY, 1004);
        assert_eq!(
            state.admit(POLICY, 1005),
            Admission::Refused { retry_after_s: 895 }
        );
        // Once the oldest failure leaves the window, one more attempt is allowed.
        assert_eq!(
            state.admit(POLICY, 1899),
            Admission::Refused { retry_after_s: 1 }
        );
        assert_eq!(
            state.admit(POLICY, 1900),
            Admission::Allowed {
                failures_on_record: true
            }
        );
    }

    /// A success resets the account's failures only when there are some to reset; with
    /// none on record (the usual login) the round trip to the throttle is skipped.
    #[wasm_bindgen_test(unsupported = test)]
    fn says_whether_there_is_anything_to_reset() {
        let clean = Admission::Allowed {
            failures_on_record: false,
        };
        assert_eq!(ThrottleState::default().admit(POLICY, 1000), clean);
        // Failures that left the window count for nothing and need no reset.
        assert_eq!(fail_at(&[10, 20]).admit(POLICY, 2000), clean);
        assert_eq!(
            fail_at(&[1990]).admit(POLICY, 2000),
            Admission::Allowed {
                failures_on_record: true
            }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_even_before_the_password_is_checked() {
        // The decision does not depend on the outcome of the attempt it guards.
        let state = fail_at(&[10, 20, 30, 40, 50]);
        assert!(matches!(state.admit(POLICY, 60), Admission::Refused { .. }));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn success_clears_the_failures() {
        let state = fail_at(&[10, 20, 30]).record_success();
        assert_eq!(state, ThrottleState::default());
        assert!(state.is_idle(POLICY, 40));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_what_the_decision_needs() {
        let state = fail_at(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(state.failures, [4, 5, 6, 7, 8]);
        let state = state.record_failure(POLICY, 2000);
        assert_eq!(
            state.failures,
            [2000],
            "failures outside the window are dropped"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_clock_that_stepped_back_does_not_unlock() {
        let state = fail_at(&[5000, 5001, 5002, 5003, 5004]);
        assert!(matches!(
            state.admit(POLICY, 4000),
            Admission::Refused { .. }
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn zero_limit_disables_throttling() {
        let off = ThrottlePolicy {
            max_failures: 0,
            window_s: 900,
        };
        let state = ThrottleState::default()
            .record_failure(off, 1)
            .record_failure(off, 2);
        assert!(matches!(state.admit(off, 3), Admission::Allowed { .. }));
    }
}
