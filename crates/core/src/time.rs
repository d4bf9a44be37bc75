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

/// Formats `t` as an RFC 3339 UTC timestamp with seconds (`2024-02-29T13:05:09Z`).
///
/// For API responses (`created_at`, `last_used_at`); storage keeps plain seconds.
pub fn format_rfc3339(t: UnixSeconds) -> alloc::string::String {
    let days = t / 86_400;
    let secs = t % 86_400;
    let (year, month, day) = civil_from_days(days);
    alloc::format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Formats `t` as an HTTP date (RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`),
/// for the `Date` header clients estimate their clock skew from.
pub fn format_http_date(t: UnixSeconds) -> alloc::string::String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t / 86_400;
    let secs = t % 86_400;
    let (year, month, day) = civil_from_days(days);
    alloc::format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn formats_known_instants() {
        for (t, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), // a leap day in a century leap year
            (1_300_819_380, "2011-03-22T18:43:00Z"), // RFC 7515 A.1's exp
            (1_709_211_909, "2024-02-29T13:05:09Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"), // the largest date a token may carry
        ] {
            assert_eq!(format_rfc3339(t), want, "{t}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn formats_http_dates() {
        // RFC 9110 §5.6.7's example, and the epoch.
        assert_eq!(
            format_http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(951_782_400),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }
}
