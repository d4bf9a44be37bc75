//! Login and registration throttling as a pure decision over a small state value.
//!
//! Each key (an account's normalised email, a client address, a client address registering)
//! keeps the times of its recent attempts within the window that have not been shown to be
//! successes. An attempt is refused while `max_failures` of them lie within the last
//! `window_s` seconds, with a retry-after that says when the oldest leaves the window.
//!
//! Admission *reserves* the attempt: it is counted, atomically with the decision, before the
//! password is looked at ([`ThrottleState::reserve`]). A failure then needs no second write
//! (its reservation already counts), and however many attempts arrive at once, at most
//! `max_failures` per window get past admission to a verdict. Reading the count first and
//! recording the failure after the verdict would let N parallel guesses all pass a check that
//! none of them had updated yet. A success takes its reservation back: an account's success
//! clears all its attempts ([`ThrottleState::record_success`]); an address's success releases
//! only its own ([`ThrottleState::release`]), or an attacker could reset their address's limit
//! with one account they own.
//!
//! Keys are derived from what the caller typed, never from whether the account exists, and
//! the refusal is the same either way: lockout reveals nothing about which emails exist.
//! Client addresses are grouped by [`address_bucket`]: IPv4 by address, IPv6 by /64.
//!
//! Hosts keep [`ThrottleState`] wherever they can update it atomically per key (the Worker
//! uses one Durable Object per key), call these functions to decide, and forget a state once
//! [`ThrottleState::forget_at`] has passed, so that keys nobody uses again cost no storage.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::time::UnixSeconds;

/// Default failures allowed per account within the window (OWASP ASVS 5.0 V6.3.1 asks for
/// anti-automation; 5 per 15 minutes is the common setting).
pub const DEFAULT_MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// Default failures allowed per client address within the window.
pub const DEFAULT_MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// Default window, in seconds (15 minutes).
pub const DEFAULT_WINDOW_S: u64 = 15 * 60;
/// Default registrations allowed per client address within the registration window: every
/// registration costs an argon2 hash and two KV writes, and `email_taken` answers tell a
/// script which emails have accounts.
pub const DEFAULT_MAX_REGISTRATIONS_PER_ADDRESS: u32 = 10;
/// Default registration window, in seconds (one hour).
pub const DEFAULT_REGISTER_WINDOW_S: u64 = 60 * 60;

/// The address bucket of clients whose address is unknown or not an IP address.
pub const UNKNOWN_ADDRESS: &str = "unknown";

/// How many attempts a key may have within how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts allowed within the window that are not known successes; the next one is
    /// refused. 0 disables the throttle.
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
    /// The default per-address registration policy: 10 registrations per hour.
    pub const REGISTER: ThrottlePolicy = ThrottlePolicy {
        max_failures: DEFAULT_MAX_REGISTRATIONS_PER_ADDRESS,
        window_s: DEFAULT_REGISTER_WINDOW_S,
    };

    /// Whether the policy limits anything (a limit of 0 turns it off).
    pub fn is_enabled(self) -> bool {
        self.max_failures > 0
    }
}

/// The recent attempts of one key, oldest first; never longer than the policy's maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "server", derive(serde::Serialize, serde::Deserialize))]
pub struct ThrottleState {
    /// Times of the attempts that count (failures, and reservations whose outcome is not
    /// known yet), in seconds since the Unix epoch, oldest first.
    pub failures: Vec<UnixSeconds>,
}

/// The decision for one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may proceed (and, from [`ThrottleState::reserve`], is counted).
    Allowed,
    /// The attempt is refused; the caller may retry after this many seconds (at least 1).
    Refused {
        /// Seconds until the oldest counted attempt leaves the window.
        retry_after_s: u64,
    },
}

impl ThrottleState {
    /// Whether an attempt at `now` may proceed under `policy`, without counting it.
    pub fn admit(&self, policy: ThrottlePolicy, now: UnixSeconds) -> Admission {
        let recent: Vec<UnixSeconds> = self.in_window(policy, now).collect();
        if !policy.is_enabled() || (recent.len() as u64) < u64::from(policy.max_failures) {
            return Admission::Allowed;
        }
        // The attempt is admitted again once enough attempts age out that fewer than
        // `max_failures` remain: that is when the one at index len - max leaves the window.
        let pivot = recent[recent.len() - policy.max_failures as usize];
        let retry_after_s = pivot
            .saturating_add(policy.window_s)
            .saturating_sub(now)
            .max(1);
        Admission::Refused { retry_after_s }
    }

    /// Decides an attempt at `now` and, when it is allowed, counts it: the decision and the
    /// state to store in one step, which the host applies atomically per key. The attempt
    /// counts as a failure until [`ThrottleState::release`] or
    /// [`ThrottleState::record_success`] takes it back. Attempts that left the window are
    /// dropped either way; a disabled policy counts nothing.
    pub fn reserve(&self, policy: ThrottlePolicy, now: UnixSeconds) -> (Admission, ThrottleState) {
        let mut failures: Vec<UnixSeconds> = self.in_window(policy, now).collect();
        let admission = self.admit(policy, now);
        // Allowed means fewer than `max_failures` count, so the state stays within its bound.
        if admission == Admission::Allowed && policy.is_enabled() {
            failures.push(now);
        }
        (admission, ThrottleState { failures })
    }

    /// The state after the attempt reserved at `reserved_at` turned out a success, for keys a
    /// success does not clear (a client address): that one attempt no longer counts. Nothing
    /// changes when it is no longer on record (it left the window).
    pub fn release(&self, reserved_at: UnixSeconds) -> ThrottleState {
        let mut failures = self.failures.clone();
        if let Some(i) = failures.iter().rposition(|&t| t == reserved_at) {
            failures.remove(i);
        }
        ThrottleState { failures }
    }

    /// The state after a success that clears the key (an account's right password): nothing.
    pub fn record_success(&self) -> ThrottleState {
        ThrottleState::default()
    }

    /// Whether the state holds nothing worth storing at `now` (the host may delete it).
    pub fn is_idle(&self, policy: ThrottlePolicy, now: UnixSeconds) -> bool {
        self.in_window(policy, now).next().is_none()
    }

    /// When the state stops mattering: the moment its newest attempt leaves the window, after
    /// which it holds nothing that counts and the host should delete it (the Worker's object
    /// sets an alarm for then). `None` for an empty state, which needs no storage at all.
    pub fn forget_at(&self, policy: ThrottlePolicy) -> Option<UnixSeconds> {
        self.failures
            .iter()
            .max()
            .map(|&t| t.saturating_add(policy.window_s))
    }

    fn in_window(
        &self,
        policy: ThrottlePolicy,
        now: UnixSeconds,
    ) -> impl Iterator<Item = UnixSeconds> + '_ {
        // An attempt at t counts while now < t + window. Times from the future (a host clock
        // that stepped back) still count: forgetting them would reopen the door early.
        self.failures
            .iter()
            .copied()
            .filter(move |&t| now < t.saturating_add(policy.window_s))
    }
}

/// The throttle bucket of a client address: an IPv4 address as it is; an IPv6 address by its
/// /64 (`2001:db8:1:2::/64`, each of the four groups in lower-case hex without leading zeros,
/// zero groups written out, `2001:db8:0:0::/64`: one host usually holds a whole /64, so
/// counting single IPv6 addresses would give it 2^64 buckets); an IPv4-mapped IPv6 address as
/// its IPv4 address. Anything else (no `CF-Connecting-IP`, as through a service binding, or a
/// value that is not an IP address) is [`UNKNOWN_ADDRESS`]: all such requests share one
/// bucket, so a made-up value cannot open a fresh one.
pub fn address_bucket(address: &str) -> String {
    let address = address.trim();
    if parse_ipv4(address).is_some() {
        // The strict reading accepts one spelling per address: already canonical.
        return address.to_string();
    }
    match parse_ipv6(address) {
        Some([0, 0, 0, 0, 0, 0xffff, high, low]) => {
            let ([a, b], [c, d]) = (high.to_be_bytes(), low.to_be_bytes());
            alloc::format!("{a}.{b}.{c}.{d}")
        }
        Some([a, b, c, d, ..]) => alloc::format!("{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        None => UNKNOWN_ADDRESS.to_string(),
    }
}

// The two readers below accept exactly what `core::net`'s `Ipv4Addr` and `Ipv6Addr` parsers
// accept (a property test compares them), in a fraction of the code: the Worker's upload is
// size-limited, and those parsers (with their error types) cost it kilobytes.

/// An IPv4 address in dotted decimal: four numbers of 1 to 3 digits up to 255, without
/// leading zeros (which some readers take as octal).
fn parse_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?.as_bytes();
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(digit - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// An IPv6 address (RFC 4291 §2.2: hex groups, at most one `::`, an IPv4 tail) as its eight
/// groups.
fn parse_ipv6(s: &str) -> Option<[u16; 8]> {
    let mut groups = [0u16; 8];
    let Some((head, tail)) = s.split_once("::") else {
        return (read_groups(s, &mut groups)? == 8).then_some(groups);
    };
    // `::` stands for at least one zero group, and an IPv4 tail can only end the address.
    if tail.contains("::") || head.contains('.') {
        return None;
    }
    let mut rest = [0u16; 7];
    let h = read_groups(head, &mut groups[..7])?;
    let t = read_groups(tail, &mut rest)?;
    if h + t > 7 {
        return None;
    }
    groups[8 - t..].copy_from_slice(&rest[..t]);
    Some(groups)
}

/// Reads `:`-separated hex groups (1 to 4 digits; the last may be an IPv4 address, two
/// groups) into `out`, which bounds how many there may be; how many were read.
fn read_groups(part: &str, out: &mut [u16]) -> Option<usize> {
    if part.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut items = part.split(':').peekable();
    while let Some(item) = items.next() {
        if items.peek().is_none() && item.contains('.') {
            let [a, b, c, d] = parse_ipv4(item)?;
            *out.get_mut(n + 1)? = u16::from_be_bytes([c, d]);
            out[n] = u16::from_be_bytes([a, b]);
            return Some(n + 2);
        }
        if item.is_empty() || item.len() > 4 {
            return None;
        }
        let mut group: u16 = 0;
        for digit in item.chars() {
            group = (group << 4) | u16::try_from(digit.to_digit(16)?).ok()?;
        }
        *out.get_mut(n)? = group;
        n += 1;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        window_s: 900,
    };

    /// The state after attempts reserved at `times` that all failed.
    fn fail_at(times: &[UnixSeconds]) -> ThrottleState {
        times
            .iter()
            .fold(ThrottleState::default(), |s, &t| s.reserve(POLICY, t).1)
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn defaults_are_5_per_account_and_20_per_address_per_15_minutes_and_10_registrations_an_hour() {
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
            ThrottlePolicy::REGISTER,
            ThrottlePolicy {
                max_failures: 10,
                window_s: 3600,
            }
        );
        assert_eq!(
            (
                DEFAULT_MAX_FAILURES_PER_ACCOUNT,
                DEFAULT_MAX_FAILURES_PER_ADDRESS,
                DEFAULT_WINDOW_S,
                DEFAULT_MAX_REGISTRATIONS_PER_ADDRESS,
                DEFAULT_REGISTER_WINDOW_S,
            ),
            (5, 20, 900, 10, 3600)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn allows_until_the_limit_then_refuses_with_retry_after() {
        let state = fail_at(&[1000, 1001, 1002, 1003]);
        assert_eq!(state.admit(POLICY, 1004), Admission::Allowed);
        let state = fail_at(&[1000, 1001, 1002, 1003, 1004]);
        assert_eq!(
            state.admit(POLICY, 1005),
            Admission::Refused { retry_after_s: 895 }
        );
        // Once the oldest attempt leaves the window, one more is allowed.
        assert_eq!(
            state.admit(POLICY, 1899),
            Admission::Refused { retry_after_s: 1 }
        );
        assert_eq!(state.admit(POLICY, 1900), Admission::Allowed);
    }

    /// The heart of the atomic throttle: an attempt counts from the moment it is admitted,
    /// before anyone knows its outcome. Attempts that arrive together, none of them finished,
    /// still get no more than `max_failures` admissions between them.
    #[wasm_bindgen_test(unsupported = test)]
    fn a_reservation_counts_before_its_outcome_is_known() {
        let mut state = ThrottleState::default();
        let mut admitted = 0;
        for _ in 0..30 {
            let (admission, next) = state.reserve(POLICY, 1000);
            state = next;
            if admission == Admission::Allowed {
                admitted += 1;
            } else {
                assert_eq!(admission, Admission::Refused { retry_after_s: 900 });
            }
        }
        assert_eq!(admitted, 5);
        assert_eq!(state.failures, [1000; 5], "refusals are not counted");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_even_before_the_password_is_checked() {
        // The decision does not depend on the outcome of the attempt it guards.
        let state = fail_at(&[10, 20, 30, 40, 50]);
        assert!(matches!(state.admit(POLICY, 60), Admission::Refused { .. }));
        let (admission, next) = state.reserve(POLICY, 60);
        assert!(matches!(admission, Admission::Refused { .. }));
        assert_eq!(next, state, "a refused attempt changes nothing");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_account_success_clears_every_attempt() {
        let state = fail_at(&[10, 20, 30]).record_success();
        assert_eq!(state, ThrottleState::default());
        assert!(state.is_idle(POLICY, 40));
        assert_eq!(state.forget_at(POLICY), None);
    }

    /// An address's success takes back its own reservation only: the failures of others from
    /// that address keep counting.
    #[wasm_bindgen_test(unsupported = test)]
    fn a_released_reservation_stops_counting_and_only_it() {
        let state = fail_at(&[10, 20, 30, 40]);
        let (admission, state) = state.reserve(POLICY, 50);
        assert_eq!(admission, Admission::Allowed);
        assert!(matches!(state.admit(POLICY, 51), Admission::Refused { .. }));
        let state = state.release(50);
        assert_eq!(state.failures, [10, 20, 30, 40]);
        assert_eq!(state.admit(POLICY, 51), Admission::Allowed);
        // A reservation no longer on record (it aged out) releases nothing.
        assert_eq!(state.release(5), state);
        // Two attempts in the same second: one release takes back one of them.
        let (_, twice) = ThrottleState::default().reserve(POLICY, 7);
        let (_, twice) = twice.reserve(POLICY, 7);
        assert_eq!(twice.release(7).failures, [7]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_what_the_decision_needs() {
        let state = fail_at(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            state.failures,
            [1, 2, 3, 4, 5],
            "the refused ones were not counted"
        );
        let (_, state) = state.reserve(POLICY, 2000);
        assert_eq!(
            state.failures,
            [2000],
            "attempts outside the window are dropped"
        );
    }

    /// What the host needs to never keep a state for ever: the time after which nothing in it
    /// counts. A stream of invented usernames leaves one state per name, each forgettable one
    /// window after its attempt.
    #[wasm_bindgen_test(unsupported = test)]
    fn a_state_can_be_forgotten_once_its_newest_attempt_leaves_the_window() {
        assert_eq!(ThrottleState::default().forget_at(POLICY), None);
        let state = fail_at(&[100, 400, 250]);
        assert_eq!(state.forget_at(POLICY), Some(1300));
        assert!(!state.is_idle(POLICY, 1299));
        assert!(state.is_idle(POLICY, 1300));
        let (_, seen_late) = state.reserve(POLICY, 5000);
        assert_eq!(
            seen_late.failures,
            [5000],
            "an expired window is dropped when seen"
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
    fn zero_limit_disables_throttling_and_counts_nothing() {
        let off = ThrottlePolicy {
            max_failures: 0,
            window_s: 900,
        };
        assert!(!off.is_enabled());
        let (admission, state) = ThrottleState::default().reserve(off, 1);
        assert_eq!(admission, Admission::Allowed);
        assert_eq!(state, ThrottleState::default());
        assert_eq!(state.admit(off, 3), Admission::Allowed);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn addresses_are_bucketed_ipv4_by_address_ipv6_by_64() {
        for (address, bucket) in [
            ("203.0.113.5", "203.0.113.5"),
            (" 203.0.113.5 ", "203.0.113.5"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            (
                "2001:0db8:0001:0002:ffff:ffff:ffff:ffff",
                "2001:db8:1:2::/64",
            ),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("2001:db8::1", "2001:db8:0:0::/64"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8:0:0::/64"),
            ("::1", "0:0:0:0::/64"),
            // An IPv4 client seen through IPv6 is the IPv4 client.
            ("::ffff:203.0.113.5", "203.0.113.5"),
            // No header (wrangler dev, a service binding) and values that are not addresses
            // share one bucket: a made-up value cannot open a fresh one.
            ("", UNKNOWN_ADDRESS),
            ("unknown", UNKNOWN_ADDRESS),
            ("not-an-address", UNKNOWN_ADDRESS),
            ("203.0.113.5, 198.51.100.1", UNKNOWN_ADDRESS),
            ("[2001:db8::1]", UNKNOWN_ADDRESS),
            ("2001:db8::1%eth0", UNKNOWN_ADDRESS),
        ] {
            assert_eq!(address_bucket(address), bucket, "{address:?}");
        }
    }

    /// The readers accept exactly what `core::net` accepts, with the same value: for every
    /// address of random groups in its usual spellings (compressed, full, with an IPv4 tail),
    /// and for random strings of the characters an address is made of.
    mod same_as_core_net {
        use super::super::{parse_ipv4, parse_ipv6};
        use core::net::{Ipv4Addr, Ipv6Addr};
        use proptest::prelude::*;
        use wasm_bindgen_test::wasm_bindgen_test;

        fn agree(s: &str) -> Result<(), TestCaseError> {
            prop_assert_eq!(
                parse_ipv4(s),
                s.parse::<Ipv4Addr>().ok().map(|a| a.octets()),
                "{:?}",
                s
            );
            prop_assert_eq!(
                parse_ipv6(s),
                s.parse::<Ipv6Addr>().ok().map(|a| a.segments()),
                "{:?}",
                s
            );
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]
            #[wasm_bindgen_test(unsupported = test)]
            fn on_real_addresses(groups in prop::array::uniform8(prop_oneof![Just(0u16), Just(0xffff), any::<u16>()]), v4 in any::<[u8; 4]>()) {
                let ip = Ipv6Addr::from(groups);
                agree(&ip.to_string())?;
                agree(&format!("{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}", groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7]))?;
                agree(&format!("{:04X}:{:x}::{:x}", groups[0], groups[1], groups[7]))?;
                let [a, b, c, d] = v4;
                agree(&format!("{a}.{b}.{c}.{d}"))?;
                agree(&format!("::ffff:{a}.{b}.{c}.{d}"))?;
                agree(&format!("{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{a}.{b}.{c}.{d}", groups[0], groups[1], groups[2], groups[3], groups[4], groups[5]))?;
                agree(&format!("{:x}::{a}.{b}.{c}.{d}", groups[0]))?;
            }

            #[wasm_bindgen_test(unsupported = test)]
            fn on_random_strings(s in "[0-9a-fA-F:.]{0,24}|[0-9:.]{0,16}|[0-9a-f:]{0,40}|[0-9:.+ g-]{0,12}") {
                agree(&s)?;
            }
        }

        #[wasm_bindgen_test(unsupported = test)]
        fn on_edge_cases() {
            for s in [
                "",
                ":",
                "::",
                ":::",
                "::1",
                "1::",
                "1:2:3:4:5:6:7::",
                "1:2:3:4:5:6:7:8::",
                "::1:2:3:4:5:6:7",
                "::1:2:3:4:5:6:7:8",
                "1:2:3:4:5:6:7:8",
                "1:2:3:4:5:6:7",
                "1::2::3",
                "12345::",
                "+1::",
                "::1.2.3.4",
                "1.2.3.4::",
                "::1.2.3",
                "::1.2.3.4.5",
                "1:2:3:4:5:6:1.2.3.4",
                "1:2:3:4:5:6:7:1.2.3.4",
                "::ffff:1.2.3.4",
                "::01.2.3.4",
                "0.0.0.0",
                "255.255.255.255",
                "256.1.1.1",
                "1.2.3.04",
                "1.2.3",
                "1.2.3.4.",
                ".1.2.3",
                "1..2.3",
                "0000::",
                "00000::",
                "g::",
                "1:2:3:4:5:6:7:8:9",
                "1.2.3.4:5",
            ] {
                agree(s).unwrap();
            }
        }
    }
}
