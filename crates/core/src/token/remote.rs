//! When a verify-only guard fetches the issuer's JWKS (`JWKS_URL`), decided without I/O.
//!
//! The host (the Worker's guard) fetches and caches; [`RemoteKeys`] holds what it fetched and
//! answers three questions, each from `now` alone:
//! - [`RemoteKeys::needs_load`]: are the keys missing, or older than [`JWKS_MAX_AGE_S`]? Keys
//!   past that age are not used at all, so a key removed from the document stops verifying
//!   within that time, even where the document can no longer be fetched.
//! - [`RemoteKeys::may_fetch`]: may a fetch start now to load them? Not within
//!   [`JWKS_REFETCH_COOLDOWN_S`] of a failed fetch, so an unreachable issuer is not asked on
//!   every request.
//! - [`RemoteKeys::should_refetch`]: a token named a kid the keys do not have. A rotation at
//!   the issuer looks exactly like that, so the document is fetched again at once, but at most
//!   once per [`JWKS_REFETCH_COOLDOWN_S`]: tokens with invented kids cost the issuer at most
//!   one fetch per cooldown per guard instance, however many arrive.

use alloc::format;

use super::claims::{AccessClaims, TokenConfig};
use super::public_keys::PublicKeySet;
use super::verify::verify;
use crate::error::{Error, TokenRejection};
use crate::time::UnixSeconds;

/// How long fetched keys are used, in seconds: the `max-age` the auth Worker serves its JWKS
/// with (`Cache-Control: public, max-age=300`), so a guard and a shared cache agree.
pub const JWKS_MAX_AGE_S: u64 = 300;

/// Least time between two fetches caused by unknown kids, or after a failed fetch, in seconds.
/// Short enough that a key rotation at the issuer is picked up within seconds by a guard that
/// had just fetched; long enough that invented kids cannot turn a guard into a load generator
/// against the issuer (one request per 10 s per guard instance at most).
pub const JWKS_REFETCH_COOLDOWN_S: u64 = 10;

/// The keys fetched from a JWKS URL, and the fetch history that decides the next fetch.
#[derive(Clone, Debug, Default)]
pub struct RemoteKeys {
    /// The keys of the newest good document, with when it was fetched.
    keys: Option<(PublicKeySet, UnixSeconds)>,
    /// When the last fetch from the network started, whatever its outcome.
    last_fetch: Option<UnixSeconds>,
    /// When the last fetch failed.
    last_failure: Option<UnixSeconds>,
}

impl RemoteKeys {
    /// No keys yet, and no fetch made.
    pub const fn new() -> RemoteKeys {
        RemoteKeys {
            keys: None,
            last_fetch: None,
            last_failure: None,
        }
    }

    /// Whether keys must be loaded (from a cache, or fetched) before a token can be verified:
    /// there are none, or they were fetched [`JWKS_MAX_AGE_S`] or more before `now`.
    pub fn needs_load(&self, now: UnixSeconds) -> bool {
        self.fresh_keys(now).is_none()
    }

    /// Whether a fetch may start at `now` to load missing or stale keys: always, except within
    /// [`JWKS_REFETCH_COOLDOWN_S`] of a failed fetch.
    pub fn may_fetch(&self, now: UnixSeconds) -> bool {
        !within_cooldown(self.last_failure, now)
    }

    /// Whether a token refused with `error` should make the host fetch the document again and
    /// retry: the token names a kid these keys lack, and no fetch started within
    /// [`JWKS_REFETCH_COOLDOWN_S`] of `now`.
    pub fn should_refetch(&self, error: &Error, now: UnixSeconds) -> bool {
        matches!(error, Error::InvalidToken(TokenRejection::UnknownKey))
            && !within_cooldown(self.last_fetch, now)
    }

    /// Records that a fetch from the network starts at `now` (before the host awaits it, so
    /// that requests arriving meanwhile do not start another for an unknown kid).
    pub fn fetch_started(&mut self, now: UnixSeconds) {
        self.last_fetch = Some(now);
    }

    /// Records that a fetch failed at `now`: the issuer did not answer, answered an error, or
    /// sent a document [`RemoteKeys::loaded`] refused. The keys held so far are kept (and
    /// used while they are fresh).
    pub fn fetch_failed(&mut self, now: UnixSeconds) {
        self.last_failure = Some(now);
    }

    /// Takes a JWKS document fetched at `fetched_at`, by this host or (through a shared cache)
    /// another; a time after `now` counts as `now`. A document older than what is held
    /// replaces nothing.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] naming `JWKS_URL` when the document is not a JWKS of Ed25519
    /// public keys ([`PublicKeySet::from_jwks`]); the keys held so far are kept.
    pub fn loaded(
        &mut self,
        jwks_json: &str,
        fetched_at: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        let fetched_at = fetched_at.min(now);
        let keys = PublicKeySet::from_jwks("the JWKS at JWKS_URL", jwks_json)?;
        if self
            .keys
            .as_ref()
            .is_none_or(|(_, held)| *held <= fetched_at)
        {
            self.keys = Some((keys, fetched_at));
        }
        Ok(())
    }

    /// Verifies an access token with the fresh keys ([`verify`]'s rules).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] as [`verify`] returns it; [`Error::StorageUnavailable`] when
    /// there are no fresh keys (none could be fetched yet, or the last good document is older
    /// than [`JWKS_MAX_AGE_S`]): the guard cannot tell a good token from a bad one, so it
    /// answers "try again" rather than "invalid".
    pub fn verify(
        &self,
        config: &TokenConfig,
        token: &str,
        now: UnixSeconds,
    ) -> Result<AccessClaims, Error> {
        let keys = self.fresh_keys(now).ok_or_else(|| {
            Error::StorageUnavailable(format!(
                "no usable keys from JWKS_URL: {}",
                match self.keys {
                    None => "none could be fetched yet",
                    Some(_) => "the last good document is too old",
                }
            ))
        })?;
        verify(keys, config, token, now)
    }

    fn fresh_keys(&self, now: UnixSeconds) -> Option<&PublicKeySet> {
        self.keys
            .as_ref()
            .filter(|(_, fetched_at)| now < fetched_at.saturating_add(JWKS_MAX_AGE_S))
            .map(|(keys, _)| keys)
    }
}

/// Whether `since` is less than [`JWKS_REFETCH_COOLDOWN_S`] before `now`.
fn within_cooldown(since: Option<UnixSeconds>, now: UnixSeconds) -> bool {
    since.is_some_and(|t| now < t.saturating_add(JWKS_REFETCH_COOLDOWN_S))
}
