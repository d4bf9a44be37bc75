//! Expiry arithmetic shared by the server and the browser client: how long a token has left,
//! whether it counts as expired, when to refresh it, and how far the local clock is from the
//! server's.
//!
//! Like the rest of the core it reads no clock and draws no randomness: `now` and the jitter
//! are arguments. Claims carry whole seconds (`exp`, `iat`, RFC 7519 §2 NumericDate), while
//! decisions are made in milliseconds, because tests run tokens that live four seconds and a
//! browser timer needs sub-second precision. Every `now_ms` here is **server time**: a client
//! adds its [`ClockSkew::offset_ms`] to its own clock first (see [`ClockSkew::server_now`]).
//!
//! Nothing in this module is behind the `server` feature: the browser client compiles it.

/// Milliseconds since the Unix epoch (UTC). Signed, because clock offsets and time left can be
/// negative.
pub type UnixMillis = i64;

/// Refresh once this share of the lifetime has passed, in thousandths (80 %): late enough not
/// to waste requests, early enough that a refresh can be retried a few times before `exp`.
pub const REFRESH_AT_PERMILLE: i64 = 800;

/// Refresh at least this long before `exp`, in milliseconds, when the lifetime allows it: a
/// 2-minute token refreshed at 80 % would leave 24 s, too little for one backoff round on a
/// flaky network. Lifetimes under a minute refresh at half-life instead (see [`refresh_lead_ms`]).
pub const MIN_REFRESH_LEAD_MS: i64 = 30_000;

/// Width of the jitter window as a share of the lifetime, in thousandths (10 %).
pub const JITTER_PERMILLE: i64 = 100;

/// Upper bound of the jitter window, in milliseconds: a 15-minute token spreads its refreshes
/// over the minute before the refresh moment, which is enough to break lock-step.
pub const MAX_JITTER_MS: i64 = 60_000;

/// Seconds to milliseconds, saturating (claims are at most `u64` seconds; no panic on input).
pub const fn seconds_to_ms(s: u64) -> UnixMillis {
    if s > (i64::MAX / 1000) as u64 {
        i64::MAX
    } else {
        s as i64 * 1000
    }
}

/// Milliseconds left before `exp` at server time `now_ms`; negative once expired.
pub const fn ms_left(exp_s: u64, now_ms: UnixMillis) -> i64 {
    seconds_to_ms(exp_s).saturating_sub(now_ms)
}

/// Whole seconds left before `exp` at server time `now_ms`, rounded down; negative once expired
/// (a token that expired 0.2 s ago has -1 s left).
pub const fn seconds_left(exp_s: u64, now_ms: UnixMillis) -> i64 {
    ms_left(exp_s, now_ms).div_euclid(1000)
}

/// Whether a token with this `exp` counts as expired at server time `now_ms`.
///
/// RFC 7519 §4.1.4: the current time must be before `exp`. `leeway_ms` moves the line: the
/// server's verifier passes a positive leeway (tolerating a little skew between issuers and
/// verifiers), a client passes a negative one to treat a token as expired slightly early so
/// that it never sends one that lapses in flight.
pub const fn is_expired(exp_s: u64, now_ms: UnixMillis, leeway_ms: i64) -> bool {
    now_ms >= seconds_to_ms(exp_s).saturating_add(leeway_ms)
}

/// How long before `exp` to refresh a token of `lifetime_ms`, in milliseconds.
///
/// 20 % of the lifetime (refresh at [`REFRESH_AT_PERMILLE`]), but at least
/// [`MIN_REFRESH_LEAD_MS`], and never more than half the lifetime: a 15-minute token refreshes
/// 3 minutes before `exp`, a 2-minute token 30 s before, a 4-second token 2 s before.
/// A lifetime of zero or less gives zero.
pub const fn refresh_lead_ms(lifetime_ms: i64) -> i64 {
    if lifetime_ms <= 0 {
        return 0;
    }
    let proportional = lifetime_ms / 1000 * (1000 - REFRESH_AT_PERMILLE)
        + lifetime_ms % 1000 * (1000 - REFRESH_AT_PERMILLE) / 1000;
    let lead = if proportional > MIN_REFRESH_LEAD_MS {
        proportional
    } else {
        MIN_REFRESH_LEAD_MS
    };
    let half = lifetime_ms / 2;
    if lead < half { lead } else { half }
}

/// Width of the jitter window for a token of `lifetime_ms`: 10 % of it, at most a minute.
pub const fn jitter_window_ms(lifetime_ms: i64) -> i64 {
    if lifetime_ms <= 0 {
        return 0;
    }
    let window = lifetime_ms / 1000 * JITTER_PERMILLE;
    if window < MAX_JITTER_MS {
        window + lifetime_ms % 1000 * JITTER_PERMILLE / 1000
    } else {
        MAX_JITTER_MS
    }
}

/// The server-time moment to refresh a token issued at `issued_ms` that expires at `exp_s`.
///
/// `exp - lead - jitter`, where the lead is [`refresh_lead_ms`] of the lifetime and the jitter
/// is `jitter / 2^32` of [`jitter_window_ms`]. Jitter only ever moves the moment *earlier*, so
/// the guarantees of the lead hold for every value; pass a uniformly random `u32` per token so
/// that many clients (or tabs) do not refresh in lock-step, or 0 for the latest moment.
///
/// `issued_ms` is the token's `iat` in milliseconds; a client that has no `iat`, or one later
/// than `exp`, passes the moment it received the token instead.
pub const fn refresh_at_ms(issued_ms: UnixMillis, exp_s: u64, jitter: u32) -> UnixMillis {
    let exp_ms = seconds_to_ms(exp_s);
    let lifetime = exp_ms.saturating_sub(issued_ms);
    let window = jitter_window_ms(lifetime);
    // window ≤ 60 000 and jitter < 2^32, so the product fits an i64 with room to spare.
    let jitter_ms = (window * jitter as i64) >> 32;
    exp_ms
        .saturating_sub(refresh_lead_ms(lifetime))
        .saturating_sub(jitter_ms)
}

/// Milliseconds from server time `now_ms` until the refresh moment ([`refresh_at_ms`]); zero
/// when the moment has passed, which means "refresh now".
pub const fn refresh_delay_ms(
    issued_ms: UnixMillis,
    exp_s: u64,
    now_ms: UnixMillis,
    jitter: u32,
) -> i64 {
    let delay = refresh_at_ms(issued_ms, exp_s, jitter).saturating_sub(now_ms);
    if delay > 0 { delay } else { 0 }
}

/// What a client knows about the server's clock: the offset `server time - local time` lies in
/// `[low_ms, high_ms]`.
///
/// Each response gives one sample (see [`ClockSkew::observe`]). Samples are intersected, so the
/// range narrows to the best round trip seen; when a new sample is disjoint from the range, the
/// local clock was changed (or the laptop slept through a request) and the range restarts from
/// that sample. With no sample yet the offset is taken as zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSkew {
    low_ms: i64,
    high_ms: i64,
    known: bool,
}

impl Default for ClockSkew {
    fn default() -> Self {
        Self::new()
    }
}

impl ClockSkew {
    /// Nothing observed yet: [`ClockSkew::offset_ms`] is zero.
    pub const fn new() -> ClockSkew {
        ClockSkew {
            low_ms: 0,
            high_ms: 0,
            known: false,
        }
    }

    /// Records one response: the server said its time was `server_ms`, truncated to
    /// `resolution_ms` (1 000 for an HTTP `Date` header, RFC 9110 §5.6.7, or a JWT `iat`), and
    /// the request left at local `sent_ms` and its answer arrived at local `received_ms`.
    ///
    /// The server's clock read some moment in `[server_ms, server_ms + resolution_ms)` while
    /// the local clock was somewhere in `[sent_ms, received_ms]`, which bounds the offset. A
    /// sample whose local clock ran backwards during the request is ignored.
    pub fn observe(
        &mut self,
        server_ms: UnixMillis,
        resolution_ms: i64,
        sent_ms: UnixMillis,
        received_ms: UnixMillis,
    ) {
        if received_ms < sent_ms || resolution_ms < 0 {
            return;
        }
        let low = server_ms.saturating_sub(received_ms);
        let high = server_ms
            .saturating_add(resolution_ms)
            .saturating_sub(sent_ms);
        self.observe_range(low, high);
    }

    /// Merges a known range for the offset, such as another tab's estimate on the same machine.
    /// An empty range (`low_ms > high_ms`) is ignored.
    pub fn observe_range(&mut self, low_ms: i64, high_ms: i64) {
        if low_ms > high_ms {
            return;
        }
        let (low, high) = (self.low_ms.max(low_ms), self.high_ms.min(high_ms));
        if self.known && low <= high {
            (self.low_ms, self.high_ms) = (low, high);
        } else {
            (self.low_ms, self.high_ms) = (low_ms, high_ms);
        }
        self.known = true;
    }

    /// The best estimate of `server time - local time`, in milliseconds: the middle of the range,
    /// or zero before any sample.
    pub const fn offset_ms(&self) -> i64 {
        if !self.known {
            return 0;
        }
        // The range comes from JavaScript numbers (through the browser client), so its width
        // can exceed i64: half of it always fits, and low + half lies within [low, high].
        let half = (self.high_ms as i128 - self.low_ms as i128) / 2;
        self.low_ms + half as i64
    }

    /// The lower end of the offset range (zero before any sample).
    pub const fn low_ms(&self) -> i64 {
        self.low_ms
    }

    /// The upper end of the offset range (zero before any sample).
    pub const fn high_ms(&self) -> i64 {
        self.high_ms
    }

    /// Whether any sample has been observed.
    pub const fn is_known(&self) -> bool {
        self.known
    }

    /// The server's time when the local clock reads `local_ms`.
    pub const fn server_now(&self, local_ms: UnixMillis) -> UnixMillis {
        local_ms.saturating_add(self.offset_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const T: u64 = 1_700_000_000; // an arbitrary issue time, in seconds
    const T_MS: i64 = T as i64 * 1000;

    #[wasm_bindgen_test(unsupported = test)]
    fn time_left_counts_down_to_exp_and_goes_negative() {
        assert_eq!(ms_left(T + 900, T_MS), 900_000);
        assert_eq!(seconds_left(T + 900, T_MS + 500), 899);
        assert_eq!(seconds_left(T, T_MS), 0);
        assert_eq!(seconds_left(T, T_MS + 200), -1);
        assert_eq!(ms_left(T, T_MS + 200), -200);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn expired_means_now_at_or_after_exp_moved_by_the_leeway() {
        assert!(!is_expired(T, T_MS - 1, 0));
        assert!(is_expired(T, T_MS, 0)); // RFC 7519: now must be *before* exp
        // The server's 30 s leeway tolerates a token 29 s past exp.
        assert!(!is_expired(T, T_MS + 29_999, 30_000));
        assert!(is_expired(T, T_MS + 30_000, 30_000));
        // A client's negative leeway gives up on a token 1 s early.
        assert!(is_expired(T, T_MS - 1_000, -1_000));
        assert!(!is_expired(T, T_MS - 1_001, -1_000));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lead_is_a_fifth_of_the_lifetime_at_least_30s_at_most_half() {
        // (lifetime ms, lead ms)
        for (lifetime, lead) in [
            (900_000, 180_000), // 15 min: refresh at 80 %
            (3_600_000, 720_000),
            (150_000, 30_000), // where 20 % meets the 30 s floor
            (120_000, 30_000), // 2 min: the 30 s floor
            (60_000, 30_000),  // 1 min: floor and half-life agree
            (59_000, 29_500),  // under a minute: half-life
            (5_000, 2_500),
            (4_000, 2_000),
            (3_000, 1_500),
            (1, 0),
            (0, 0),
            (-5_000, 0),
        ] {
            assert_eq!(refresh_lead_ms(lifetime), lead, "lifetime {lifetime}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lead_is_continuous_and_never_past_half_life() {
        let mut previous = 0;
        for lifetime in (0..4_000_000).step_by(997) {
            let lead = refresh_lead_ms(lifetime);
            assert!(lead <= lifetime / 2, "lifetime {lifetime}");
            assert!(lead >= previous, "lead shrank at lifetime {lifetime}");
            assert!(lead - previous <= 997, "lead jumped at lifetime {lifetime}");
            previous = lead;
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refresh_moment_without_jitter() {
        assert_eq!(refresh_at_ms(T_MS, T + 900, 0), T_MS + 720_000);
        assert_eq!(refresh_at_ms(T_MS, T + 120, 0), T_MS + 90_000);
        assert_eq!(refresh_at_ms(T_MS, T + 4, 0), T_MS + 2_000);
        // No lifetime left to speak of: refresh at exp.
        assert_eq!(refresh_at_ms(T_MS + 10_000, T + 4, 0), T_MS + 4_000);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn jitter_only_moves_the_moment_earlier_within_the_window() {
        // (lifetime s, window ms)
        for (lifetime, window) in [(900, 60_000), (4, 400), (3, 300), (120, 12_000)] {
            let latest = refresh_at_ms(T_MS, T + lifetime, 0);
            let earliest = refresh_at_ms(T_MS, T + lifetime, u32::MAX);
            assert_eq!(jitter_window_ms(lifetime as i64 * 1000), window);
            assert!(earliest < latest);
            assert!(latest - earliest < window, "lifetime {lifetime}");
            assert!(latest - earliest >= window - 1, "lifetime {lifetime}");
            let middle = refresh_at_ms(T_MS, T + lifetime, 1 << 31);
            assert_eq!(latest - middle, window / 2, "lifetime {lifetime}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn different_jitter_values_spread_the_moments() {
        let moments: alloc::collections::BTreeSet<i64> =
            [0u32, 1 << 28, 1 << 30, 3 << 30, u32::MAX]
                .iter()
                .map(|&j| refresh_at_ms(T_MS, T + 900, j))
                .collect();
        assert_eq!(moments.len(), 5);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn delay_counts_down_to_the_moment_and_stops_at_zero() {
        assert_eq!(refresh_delay_ms(T_MS, T + 4, T_MS, 0), 2_000);
        assert_eq!(refresh_delay_ms(T_MS, T + 4, T_MS + 1_500, 0), 500);
        assert_eq!(refresh_delay_ms(T_MS, T + 4, T_MS + 2_000, 0), 0);
        assert_eq!(refresh_delay_ms(T_MS, T + 4, T_MS + 60_000, 0), 0);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hostile_claims_saturate_instead_of_overflowing() {
        assert_eq!(seconds_to_ms(u64::MAX), i64::MAX);
        assert!(!is_expired(u64::MAX, i64::MAX - 1, 0));
        assert_eq!(
            refresh_delay_ms(i64::MIN, u64::MAX, i64::MIN, u32::MAX),
            i64::MAX
        );
        assert_eq!(refresh_delay_ms(i64::MAX, 0, i64::MAX, u32::MAX), 0);
        assert_eq!(ms_left(0, i64::MAX), -i64::MAX);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skew_is_zero_until_observed() {
        let skew = ClockSkew::new();
        assert!(!skew.is_known());
        assert_eq!(skew.offset_ms(), 0);
        assert_eq!(skew.server_now(T_MS), T_MS);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skew_from_one_date_header_is_bounded_by_the_round_trip_and_resolution() {
        // The local clock is 10 minutes fast; the request took 200 ms and the server answered
        // at its 100th ms, so its Date header reads T.
        let fast = 600_000;
        let sent = T_MS - 100 + fast;
        let mut skew = ClockSkew::new();
        skew.observe(T_MS, 1_000, sent, sent + 200);
        assert_eq!(
            (skew.low_ms(), skew.high_ms()),
            (-fast - 200 + 100, -fast + 1_000 + 100)
        );
        assert!((skew.offset_ms() + fast).abs() <= 600);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skew_samples_narrow_the_range() {
        // Local clock 10 minutes slow: server = local + 600 000. Each request takes 40 ms and
        // the server reads its clock halfway; the sub-second phase of that reading differs
        // from sample to sample, so the truncated Date headers cut the range from both sides.
        let truth = 600_000;
        let mut skew = ClockSkew::new();
        for phase in [300, 950, 20, 610] {
            let server_exact = T_MS + 7_000 + phase;
            let sent_local = server_exact - truth - 20;
            let date = server_exact - server_exact.rem_euclid(1_000);
            skew.observe(date, 1_000, sent_local, sent_local + 40);
            assert!(
                skew.low_ms() <= truth && truth <= skew.high_ms(),
                "{skew:?}"
            );
            assert!(skew.high_ms() - skew.low_ms() <= 1_040, "{skew:?}");
        }
        // Best case: the latest phase (950) and earliest (20) leave the 40 ms round trip plus 70 ms.
        assert!(skew.high_ms() - skew.low_ms() <= 110, "{skew:?}");
        assert!((skew.offset_ms() - truth).abs() <= 50, "{skew:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_disjoint_sample_restarts_the_estimate() {
        let mut skew = ClockSkew::new();
        skew.observe(T_MS, 1_000, T_MS, T_MS + 100);
        assert!(skew.offset_ms().abs() < 1_000);
        // The user set the clock back an hour.
        let hour = 3_600_000;
        skew.observe(
            T_MS + 60_000,
            1_000,
            T_MS + 60_000 - hour,
            T_MS + 60_000 - hour + 100,
        );
        assert!((skew.offset_ms() - hour).abs() < 1_000, "{skew:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn samples_whose_clock_ran_backwards_are_ignored() {
        let mut skew = ClockSkew::new();
        skew.observe(T_MS, 1_000, T_MS + 100, T_MS);
        assert!(!skew.is_known());
        skew.observe_range(5, 4);
        assert!(!skew.is_known());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn extreme_ranges_give_their_midpoint_without_overflowing() {
        // The browser client passes JavaScript numbers straight through: any i64 can arrive.
        for (low, high, want) in [
            (i64::MIN, i64::MAX, -1), // width 2^64 - 1: half of it rounds toward `low`
            (i64::MIN, i64::MIN, i64::MIN),
            (i64::MAX, i64::MAX, i64::MAX),
            (i64::MIN, 0, i64::MIN / 2),
            (-1, i64::MAX, i64::MAX / 2),
            (i64::MAX - 1, i64::MAX, i64::MAX - 1),
        ] {
            let mut skew = ClockSkew::new();
            skew.observe_range(low, high);
            assert_eq!(skew.offset_ms(), want, "[{low}, {high}]");
            assert!((low..=high).contains(&skew.offset_ms()));
            // Everything downstream of the offset saturates too.
            let _ = skew.server_now(i64::MAX);
            let _ = skew.server_now(i64::MIN);
        }
        let mut skew = ClockSkew::new();
        skew.observe(i64::MAX, i64::MAX, i64::MIN, i64::MAX);
        assert!(skew.is_known());
        let _ = skew.offset_ms();
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skew_makes_refresh_decisions_independent_of_the_local_clock() {
        // A token issued at server time T for 900 s, received 40 ms after the request left.
        for local_offset in [-600_000i64, -1_000, 0, 1_000, 600_000] {
            let sent_local = T_MS - local_offset;
            let received_local = sent_local + 40;
            let mut skew = ClockSkew::new();
            skew.observe(T_MS, 1_000, sent_local, received_local);
            let delay = refresh_delay_ms(T_MS, T + 900, skew.server_now(received_local), 0);
            assert!(
                (719_000..=720_000).contains(&delay),
                "offset {local_offset}: {delay}"
            );
            assert!(!is_expired(
                T + 900,
                skew.server_now(received_local),
                -1_000
            ));
        }
    }
}
