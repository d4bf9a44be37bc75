//! Throttled attempts: counted before they are judged, settled after a success.
//!
//! A flow that judges a secret (login, password change) or does costly work on behalf of an
//! anonymous client (registration) first reserves the attempt under each of its limits
//! ([`crate::store::ThrottleStore::reserve`]): the throttle object decides and counts in one
//! atomic step, so parallel attempts cannot all slip past a check that none of them has
//! updated yet. A refused attempt takes back what it reserved under its other limits and
//! counts nowhere. A failed one needs nothing more (its reservation is the failure). A
//! successful one settles: an account's count is cleared, an address's own reservation is
//! released.

use alloc::string::String;

use super::Flows;
use crate::error::Error;
use crate::events::SecurityEvent;
use crate::join::join2;
use crate::store::{StoreError, Stores};
use crate::throttle::{Admission, ThrottlePolicy, address_bucket};
use crate::time::UnixSeconds;

/// What a success does to a limit's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OnSuccess {
    /// Clears every attempt of the key: the account's owner proved who they are.
    Clear,
    /// Takes back this attempt only: one success from an address says nothing of the others
    /// (an attacker could otherwise reset their address with an account of their own).
    Release,
    /// Nothing: every attempt counts (registrations).
    Keep,
}

/// One limit an attempt is counted under.
#[derive(Clone, Debug)]
pub(super) struct Limit {
    /// The throttle key: `account:<email>`, `address:<bucket>` or `register:<bucket>`.
    pub key: String,
    /// How many attempts within how long.
    pub policy: ThrottlePolicy,
    /// What a success does to the count.
    pub on_success: OnSuccess,
    /// The scope the security event names when this limit refuses.
    pub scope: &'static str,
}

impl Limit {
    /// The per-address limit of login attempts for a client address (see [`address_bucket`]).
    pub fn login_address(client_address: &str, policy: ThrottlePolicy) -> Limit {
        Limit {
            key: alloc::format!("address:{}", address_bucket(client_address)),
            policy,
            on_success: OnSuccess::Release,
            scope: "address",
        }
    }

    /// The per-address limit of registrations for a client address.
    pub fn registration_address(client_address: &str, policy: ThrottlePolicy) -> Limit {
        Limit {
            key: alloc::format!("register:{}", address_bucket(client_address)),
            policy,
            on_success: OnSuccess::Keep,
            scope: "address",
        }
    }
}

/// The attempts one request reserved (its enabled limits, at most two), to settle after a
/// success.
#[derive(Debug)]
pub(super) struct Reservation {
    limits: [Option<Limit>; 2],
    at: UnixSeconds,
}

impl<S: Stores> Flows<'_, S> {
    /// Reserves an attempt at `now` under `first` and `second` at once (disabled limits are
    /// skipped without a round trip).
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`] when a limit refuses, with the longer wait of the refusing
    /// limits, after recording `throttled(scope, retry_after_s)` for that limit;
    /// [`Error::StorageUnavailable`] when a reservation cannot be made. Either way what the
    /// other limit reserved is taken back (best effort), and nothing has been judged.
    pub(super) async fn reserve_attempt(
        &self,
        first: Limit,
        second: Option<Limit>,
        now: UnixSeconds,
        throttled: fn(&'static str, u64) -> SecurityEvent,
    ) -> Result<Reservation, Error> {
        let enabled = |l: Option<Limit>| l.filter(|l| l.policy.is_enabled());
        let limits = [enabled(Some(first)), enabled(second)];
        let (a, b) = join2(
            self.reserve_one(limits[0].as_ref(), now),
            self.reserve_one(limits[1].as_ref(), now),
        )
        .await;
        let outcomes = [a, b];
        let mut refusal: Option<(&'static str, u64)> = None;
        let mut failure: Option<StoreError> = None;
        for (limit, outcome) in limits.iter().zip(&outcomes) {
            match (limit, outcome) {
                // The longer wait is the one after which both limits allow again.
                (Some(limit), Ok(Some(Admission::Refused { retry_after_s })))
                    if refusal.is_none_or(|(_, longest)| *retry_after_s > longest) =>
                {
                    refusal = Some((limit.scope, *retry_after_s));
                }
                (_, Err(e)) => failure = Some(e.clone()),
                _ => {}
            }
        }
        let refused = match (failure, refusal) {
            (None, None) => return Ok(Reservation { limits, at: now }),
            (Some(e), _) => Error::from(e),
            (None, Some((scope, retry_after_s))) => {
                self.events.record(throttled(scope, retry_after_s));
                Error::TooManyAttempts { retry_after_s }
            }
        };
        // Refused or broken: the attempt goes no further, so what it did reserve must not
        // count against the other limit (a locked address must not lock the accounts it
        // tries, nor the reverse). Best effort: an over-count only errs on the safe side.
        for (limit, outcome) in limits.iter().zip(&outcomes) {
            if let (Some(limit), Ok(Some(Admission::Allowed))) = (limit, outcome) {
                let _ = self.store.release(&limit.key, limit.policy, now).await;
            }
        }
        Err(refused)
    }

    /// The reserved attempt succeeded: clears or releases each limit's count, as the limit
    /// says, all at once.
    ///
    /// # Errors
    /// [`Error::StorageUnavailable`] when a count cannot be settled (the caller fails closed).
    pub(super) async fn attempt_succeeded(&self, reservation: &Reservation) -> Result<(), Error> {
        let [first, second] = &reservation.limits;
        let (a, b) = join2(
            self.settle_one(first.as_ref(), reservation.at),
            self.settle_one(second.as_ref(), reservation.at),
        )
        .await;
        a?;
        b?;
        Ok(())
    }

    /// The reserved attempt passed a first step only (a right password, with a second factor
    /// to come): takes back this attempt under each limit, and clears nothing.
    ///
    /// # Errors
    /// [`Error::StorageUnavailable`] when a count cannot be settled (the caller fails closed).
    pub(super) async fn attempt_released(&self, reservation: &Reservation) -> Result<(), Error> {
        let [first, second] = &reservation.limits;
        let (a, b) = join2(
            self.release_one(first.as_ref(), reservation.at),
            self.release_one(second.as_ref(), reservation.at),
        )
        .await;
        a?;
        b?;
        Ok(())
    }

    async fn release_one(&self, limit: Option<&Limit>, at: UnixSeconds) -> Result<(), StoreError> {
        match limit.filter(|l| l.on_success != OnSuccess::Keep) {
            Some(l) => self.store.release(&l.key, l.policy, at).await,
            None => Ok(()),
        }
    }

    async fn reserve_one(
        &self,
        limit: Option<&Limit>,
        now: UnixSeconds,
    ) -> Result<Option<Admission>, StoreError> {
        match limit {
            Some(limit) => self
                .store
                .reserve(&limit.key, limit.policy, now)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn settle_one(&self, limit: Option<&Limit>, at: UnixSeconds) -> Result<(), StoreError> {
        match limit.map(|l| (l, l.on_success)) {
            Some((limit, OnSuccess::Clear)) => self.store.clear(&limit.key).await,
            Some((limit, OnSuccess::Release)) => {
                self.store.release(&limit.key, limit.policy, at).await
            }
            Some((_, OnSuccess::Keep)) | None => Ok(()),
        }
    }
}
