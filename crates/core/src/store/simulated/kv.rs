//! A simulation of Workers KV at several edge locations, for property tests of the flows.
//!
//! Not for serving. It models what Cloudflare documents about KV ("How KV works", "Limits"),
//! which is what every design choice in [`crate::flows`] has to survive:
//!
//! - Each location has its own view of every key. A write is visible at once at the location
//!   that made it and reaches every other location after a delay of its own, up to
//!   [`MAX_PROPAGATION_MS`].
//! - Concurrent writes to one key are resolved last-write-wins by the writer's timestamp, taken
//!   from the writer location's clock. A delete is a write. Values expire at their absolute
//!   expiration, by the reading location's clock.
//! - About one write per second per key is accepted ([`MIN_WRITE_SPACING_MS`]); a faster write
//!   to the same key is refused the way the Worker sees it (a failed call, as KV's 429).
//! - Clocks of the locations may differ by a few seconds ([`SimulatedKv::new`] draws offsets
//!   up to [`MAX_CLOCK_SKEW_MS`]).
//!
//! Durable Objects are strongly consistent by construction: one instance per name wherever
//! the request comes from. They are modelled as state every location shares
//! ([`SimulatedKv`]'s throttle map and, for the Worker's sequencer objects, see below).
//!
//! Time is the simulation's own: [`SimulatedKv::advance`] moves the real clock, and each
//! location reads it through its offset. Every storage call also *yields once* before it
//! acts, so a test executor that polls several flows in turn interleaves them at every
//! storage call, the way concurrent requests interleave in a real deployment.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::random::{Random, SeededRandom};
use crate::time::UnixSeconds;

/// Longest time a write takes to reach another location, in milliseconds: Workers KV makes a
/// write visible everywhere "within 60 seconds or less".
pub const MAX_PROPAGATION_MS: u64 = 60_000;
/// Shortest spacing between accepted writes to one key, in milliseconds: KV accepts "one
/// write per second to the same key".
pub const MIN_WRITE_SPACING_MS: u64 = 1_000;
/// Largest difference between a location's clock and the real time, in milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 3_000;

/// A value as one location holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// `None` for a delete (a tombstone: deletes are writes and win or lose like them).
    value: Option<Stored>,
    /// Last-write-wins order: the writer's clock in milliseconds, then the writer's location,
    /// then a global sequence number, so that no two writes tie.
    stamp: (u64, usize, u64),
}

/// A stored value with its metadata and absolute expiration (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The value, as the Worker stores it (JSON or plain text).
    pub value: String,
    /// The listing metadata, if any (JSON).
    pub metadata: Option<String>,
    /// When the value expires, by the reading location's clock.
    pub expires_at: Option<UnixSeconds>,
}

/// A write on its way to a location.
#[derive(Clone, Debug)]
struct InFlight {
    key: String,
    entry: Entry,
    to: usize,
    arrives_ms: u64,
}

/// One edge location.
#[derive(Clone, Debug)]
struct Location {
    /// How far this location's clock is from the real time, in milliseconds.
    offset_ms: i64,
    view: BTreeMap<String, Entry>,
}

/// The simulated KV namespace and the shared state of Durable Objects. See the module docs.
pub struct SimulatedKv {
    inner: RefCell<Inner>,
}

struct Inner {
    real_ms: u64,
    seq: u64,
    locations: Vec<Location>,
    in_flight: Vec<InFlight>,
    /// The real time of the last accepted write to each key (for the one-per-second limit).
    last_write_ms: BTreeMap<String, u64>,
    rng: SeededRandom,
    /// Writes refused by the one-per-second limit so far.
    refused_writes: u64,
    /// Fixed propagation delays to chosen locations, in milliseconds (named scenarios);
    /// every other delay is drawn at random up to [`MAX_PROPAGATION_MS`].
    fixed_delay_ms: BTreeMap<usize, u64>,
}

impl SimulatedKv {
    /// A namespace at `locations` locations (at least one), starting at real time `start`
    /// (Unix seconds), with clock offsets and propagation delays drawn from `seed`.
    pub fn new(locations: usize, start: UnixSeconds, seed: u64) -> SimulatedKv {
        let mut rng = SeededRandom::new(seed);
        let skew = 2 * MAX_CLOCK_SKEW_MS + 1;
        let locations = (0..locations.max(1))
            .map(|_| Location {
                offset_ms: (draw(&mut rng, skew) as i64) - MAX_CLOCK_SKEW_MS as i64,
                view: BTreeMap::new(),
            })
            .collect();
        SimulatedKv {
            inner: RefCell::new(Inner {
                real_ms: start.saturating_mul(1000),
                seq: 0,
                locations,
                in_flight: Vec::new(),
                last_write_ms: BTreeMap::new(),
                rng,
                refused_writes: 0,
                fixed_delay_ms: BTreeMap::new(),
            }),
        }
    }

    /// How many locations there are.
    pub fn location_count(&self) -> usize {
        self.inner.borrow().locations.len()
    }

    /// Sets location `at`'s clock offset from the real time, in milliseconds (for named
    /// scenarios that need a particular skew).
    pub fn set_clock_offset(&self, at: usize, offset_ms: i64) {
        self.inner.borrow_mut().locations[at].offset_ms = offset_ms;
    }

    /// Makes every write from now on take exactly `ms` (at most [`MAX_PROPAGATION_MS`]) to
    /// reach location `to`, for named scenarios that need one location to lag.
    pub fn set_delay_to(&self, to: usize, ms: u64) {
        self.inner
            .borrow_mut()
            .fixed_delay_ms
            .insert(to, ms.min(MAX_PROPAGATION_MS));
    }

    /// The real time, in milliseconds since the Unix epoch.
    pub fn real_ms(&self) -> u64 {
        self.inner.borrow().real_ms
    }

    /// Location `at`'s clock, in whole seconds (what a request there reads as `now`).
    pub fn now_at(&self, at: usize) -> UnixSeconds {
        let inner = self.inner.borrow();
        inner.clock_ms(at) / 1000
    }

    /// Moves the real clock on by `ms` and delivers every write due by then.
    pub fn advance(&self, ms: u64) {
        let mut inner = self.inner.borrow_mut();
        inner.real_ms = inner.real_ms.saturating_add(ms);
        inner.deliver();
    }

    /// Delivers every write still in flight, as if [`MAX_PROPAGATION_MS`] had passed, without
    /// moving the clock (for checks "once everything has propagated").
    pub fn settle(&self) {
        let mut inner = self.inner.borrow_mut();
        let pending = core::mem::take(&mut inner.in_flight);
        for w in pending {
            inner.apply(w.to, &w.key, w.entry);
        }
    }

    /// Whether any write is still on its way somewhere.
    pub fn quiet(&self) -> bool {
        self.inner.borrow().in_flight.is_empty()
    }

    /// How many writes the one-per-second limit refused so far.
    pub fn refused_writes(&self) -> u64 {
        self.inner.borrow().refused_writes
    }

    /// The value of `key` as location `at` sees it now (expired values are absent).
    pub fn get(&self, at: usize, key: &str) -> Option<Stored> {
        let inner = self.inner.borrow();
        inner.visible(at, key)
    }

    /// Writes `key` at location `at`: visible there at once, elsewhere after each location's
    /// delay. `None` deletes.
    ///
    /// # Errors
    /// A message like KV's 429 when `key` was written less than [`MIN_WRITE_SPACING_MS`] ago.
    pub fn put(&self, at: usize, key: &str, value: Option<Stored>) -> Result<(), String> {
        let mut inner = self.inner.borrow_mut();
        inner.deliver();
        let now = inner.real_ms;
        if let Some(last) = inner.last_write_ms.get(key)
            && now < last.saturating_add(MIN_WRITE_SPACING_MS)
        {
            inner.refused_writes += 1;
            return Err(alloc::format!(
                "429: {} was written less than a second ago",
                key.split(':').next().unwrap_or("key")
            ));
        }
        inner.last_write_ms.insert(key.to_string(), now);
        inner.seq += 1;
        let entry = Entry {
            value,
            stamp: (inner.clock_ms(at), at, inner.seq),
        };
        inner.apply(at, key, entry.clone());
        for to in 0..inner.locations.len() {
            if to != at {
                let delay = match inner.fixed_delay_ms.get(&to) {
                    Some(ms) => *ms,
                    None => draw(&mut inner.rng, MAX_PROPAGATION_MS + 1),
                };
                inner.in_flight.push(InFlight {
                    key: key.to_string(),
                    entry: entry.clone(),
                    to,
                    arrives_ms: now.saturating_add(delay),
                });
            }
        }
        Ok(())
    }

    /// Waits (moves the real clock on) until `key` may be written again: what a Durable Object
    /// that writes a key does, serialising its requests, rather than have its write refused.
    pub fn wait_for_write_slot(&self, key: &str) {
        let wait = {
            let inner = self.inner.borrow();
            inner.last_write_ms.get(key).map_or(0, |last| {
                last.saturating_add(MIN_WRITE_SPACING_MS)
                    .saturating_sub(inner.real_ms)
            })
        };
        if wait > 0 {
            self.advance(wait);
        }
    }

    /// The keys under `prefix` at location `at`, in key order, after `cursor` (exclusive), at
    /// most `limit`, with whether more follow.
    pub fn list(
        &self,
        at: usize,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> (Vec<(String, Stored)>, bool) {
        let inner = self.inner.borrow();
        let mut out = Vec::new();
        for key in inner.locations[at].view.keys() {
            if !key.starts_with(prefix) || cursor.is_some_and(|c| key.as_str() <= c) {
                continue;
            }
            if let Some(stored) = inner.visible(at, key) {
                if out.len() == limit {
                    return (out, true);
                }
                out.push((key.clone(), stored));
            }
        }
        (out, false)
    }

    /// Draws a number below `bound` from the simulation's generator (for tests that want
    /// their randomness from the same seed).
    pub fn draw(&self, bound: u64) -> u64 {
        draw(&mut self.inner.borrow_mut().rng, bound)
    }
}

impl Inner {
    fn clock_ms(&self, at: usize) -> u64 {
        self.real_ms
            .saturating_add_signed(self.locations[at].offset_ms)
    }

    fn visible(&self, at: usize, key: &str) -> Option<Stored> {
        let now = self.clock_ms(at) / 1000;
        let stored = self.locations[at].view.get(key)?.value.clone()?;
        match stored.expires_at {
            Some(t) if t <= now => None,
            _ => Some(stored),
        }
    }

    /// Last-write-wins: an arriving write replaces what a location holds only if its stamp
    /// is later.
    fn apply(&mut self, at: usize, key: &str, entry: Entry) {
        let view = &mut self.locations[at].view;
        match view.get(key) {
            Some(held) if held.stamp >= entry.stamp => {}
            _ => {
                view.insert(key.to_string(), entry);
            }
        }
    }

    fn deliver(&mut self) {
        let now = self.real_ms;
        let (due, later): (Vec<InFlight>, Vec<InFlight>) = core::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|w| w.arrives_ms <= now);
        self.in_flight = later;
        for w in due {
            self.apply(w.to, &w.key, w.entry);
        }
    }
}

/// A number below `bound` (at least 1) from `rng`.
fn draw(rng: &mut SeededRandom, bound: u64) -> u64 {
    u64::from_le_bytes(rng.bytes::<8>()) % bound.max(1)
}

/// A future that is pending once, then ready: every simulated storage call awaits one, so
/// that a test executor can interleave several flows at their storage calls.
pub struct YieldOnce(bool);

impl YieldOnce {
    /// A yield point.
    pub fn new() -> YieldOnce {
        YieldOnce(false)
    }
}

impl Default for YieldOnce {
    fn default() -> YieldOnce {
        YieldOnce::new()
    }
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(v: &str) -> Option<Stored> {
        Some(Stored {
            value: v.into(),
            metadata: None,
            expires_at: None,
        })
    }

    #[test]
    fn a_write_is_seen_at_once_where_it_was_made_and_within_a_minute_elsewhere() {
        let kv = SimulatedKv::new(3, 1_700_000_000, 7);
        kv.put(0, "k", stored("a")).unwrap();
        assert_eq!(kv.get(0, "k").unwrap().value, "a");
        kv.advance(MAX_PROPAGATION_MS);
        for at in 0..3 {
            assert_eq!(kv.get(at, "k").unwrap().value, "a", "location {at}");
        }
        assert!(kv.quiet());
    }

    #[test]
    fn the_later_writer_timestamp_wins_everywhere_and_a_delete_is_a_write() {
        let kv = SimulatedKv::new(2, 1_700_000_000, 1);
        kv.set_clock_offset(0, 0);
        kv.set_clock_offset(1, -2_000);
        kv.put(0, "k", stored("first")).unwrap();
        kv.advance(1_500);
        // Location 1's clock is 2 s behind: its later write carries an earlier timestamp and
        // loses, even where it was made, once the first write arrives there.
        kv.put(1, "k", stored("second")).unwrap();
        kv.advance(MAX_PROPAGATION_MS);
        assert_eq!(kv.get(0, "k").unwrap().value, "first");
        assert_eq!(kv.get(1, "k").unwrap().value, "first");
        kv.advance(5_000);
        kv.put(1, "k", None).unwrap();
        kv.advance(MAX_PROPAGATION_MS);
        assert_eq!((kv.get(0, "k"), kv.get(1, "k")), (None, None));
    }

    #[test]
    fn a_second_write_to_a_key_within_a_second_is_refused() {
        let kv = SimulatedKv::new(2, 1_700_000_000, 2);
        kv.put(0, "k", stored("a")).unwrap();
        kv.advance(999);
        assert!(kv.put(1, "k", stored("b")).is_err());
        assert!(kv.put(0, "other", stored("c")).is_ok());
        kv.advance(1);
        assert!(kv.put(1, "k", stored("b")).is_ok());
        assert_eq!(kv.refused_writes(), 1);
    }

    #[test]
    fn values_expire_by_the_reading_location_clock() {
        let kv = SimulatedKv::new(2, 1_700_000_000, 3);
        kv.set_clock_offset(0, 0);
        kv.set_clock_offset(1, 2_000);
        kv.put(
            0,
            "k",
            Some(Stored {
                value: "v".into(),
                metadata: None,
                expires_at: Some(1_700_000_070),
            }),
        )
        .unwrap();
        kv.advance(68_500);
        assert!(kv.get(0, "k").is_some());
        assert!(kv.get(1, "k").is_none(), "location 1's clock is past 70");
    }

    #[test]
    fn listing_pages_in_key_order_and_skips_what_is_not_visible() {
        let kv = SimulatedKv::new(1, 1_700_000_000, 4);
        for k in ["p:c", "p:a", "q:z", "p:b"] {
            kv.put(0, k, stored(k)).unwrap();
        }
        kv.advance(1_000);
        kv.put(0, "p:b", None).unwrap();
        let (page, more) = kv.list(0, "p:", None, 1);
        assert_eq!((page[0].0.as_str(), more), ("p:a", true));
        let (page, more) = kv.list(0, "p:", Some("p:a"), 10);
        let keys: Vec<&str> = page.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!((keys, more), (alloc::vec!["p:c"], false));
    }
}
