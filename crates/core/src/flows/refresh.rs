//! Refresh and logout: the two flows that start from a refresh token.

use super::{Flows, Tokens};
use crate::error::{Error, RefreshRejection};
use crate::events::SecurityEvent;
use crate::join::join2;
use crate::random::Random;
use crate::refresh::family::PROPAGATION_WINDOW_S;
use crate::refresh::{Family, RevokeReason, Rotation, decode_token, rotate};
use crate::store::{Put, StoredFamily, Stores, UserRecord};
use crate::time::UnixSeconds;

impl<S: Stores> Flows<'_, S> {
    /// Rotates a refresh token: three reads at once (the family, its revocation marker, the
    /// user) and one write (the family), plus one more read when that write fails.
    ///
    /// Two requests presenting the same token get the same new token (see
    /// [`crate::refresh::family`]); an old token after the grace window revokes the family.
    /// When the family write fails or loses a compare-and-set, the family is read again:
    /// Workers KV refuses a second write to one key within about a second (429), which is
    /// exactly what two concurrent refreshes of one session cause, and if the record now holds
    /// the generation this request was writing, the other request rotated identically
    /// (rotation is deterministic), so this one answers with the same token instead of failing.
    ///
    /// # Errors
    /// [`Error::InvalidRefreshToken`]; [`Error::RefreshTokenReused`] (the family is now
    /// revoked); [`Error::StorageUnavailable`] (nothing was handed out, so the client may retry
    /// with the same token), also when the session was created so recently that its records
    /// have not reached this location yet ([`RefreshRejection::NotYetVisible`]).
    pub async fn refresh<R: Random + ?Sized>(
        &self,
        presented: Option<&str>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Tokens, Error> {
        let result = self.try_refresh(presented, now, rng).await;
        if let Err(Error::InvalidRefreshToken(reason)) = &result {
            self.events.record(SecurityEvent::RefreshRejected {
                reason: reason.as_str(),
            });
        }
        result
    }

    async fn try_refresh<R: Random + ?Sized>(
        &self,
        presented: Option<&str>,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<Tokens, Error> {
        let policy = &self.auth.config.refresh;
        let presented = presented.ok_or(Error::InvalidRefreshToken(RefreshRejection::Missing))?;
        let token = decode_token(&self.auth.refresh_key, presented)?;
        let (family, user) = join2(
            self.store.get_family(&token.user_id, &token.family_id),
            self.store.get_user(&token.user_id),
        )
        .await;
        let (stored, user) = (family?, user?);
        let sessions = user.as_ref().map(UserRecord::sessions);
        let decide = |stored: &StoredFamily| {
            rotate(
                &self.auth.refresh_key,
                &token,
                stored.record.as_ref(),
                stored.revoked,
                sessions.as_ref(),
                now,
                policy,
            )
        };
        let (family, refresh_token, replayed) = match decide(&stored) {
            Rotation::Advanced {
                family: advanced,
                token: successor,
            } => {
                let replacing = stored.record.as_ref().map(|f| f.generation);
                let written = self
                    .store
                    .put_family(
                        &advanced,
                        advanced.storage_expiration(policy, now),
                        replacing,
                    )
                    .await;
                if matches!(written, Ok(Put::Stored)) {
                    (advanced, successor, false)
                } else {
                    // The write failed (KV's 429 when a concurrent refresh wrote the key this
                    // second) or lost a compare-and-set: read the family again. The same
                    // generation means the same successor token, so hand it out. A record that
                    // moved further on, or died meanwhile, is not ours to answer for: the
                    // client keeps its token (and any newer cookie) and retries. (The record
                    // alone: the marker was absent a moment ago, and a revocation since then
                    // is as concurrent as the rotation it races.)
                    let again = self
                        .store
                        .get_family_record(&token.user_id, &token.family_id)
                        .await;
                    match (written, again) {
                        (_, Ok(Some(current)))
                            if current.generation == advanced.generation
                                && sessions.as_ref().is_some_and(|s| {
                                    current.dead_reason(policy, s, now).is_none()
                                }) =>
                        {
                            (current, successor, true)
                        }
                        (Err(write_failed), _) => return Err(write_failed.into()),
                        _ => {
                            return Err(Error::StorageUnavailable(
                                "the session was refreshed concurrently; retry".into(),
                            ));
                        }
                    }
                }
            }
            Rotation::Replayed { token } => {
                let family = stored
                    .record
                    .ok_or(Error::InvalidRefreshToken(RefreshRejection::UnknownFamily))?;
                (family, token, true)
            }
            Rotation::ReuseDetected { family: revoked } => {
                self.events.record(SecurityEvent::RefreshTokenReused {
                    user_id: revoked.user_id,
                    session_id: revoked.id,
                    presented_generation: token.generation,
                    current_generation: revoked.generation,
                });
                // The marker, never the family record: a location rotating a stale copy could
                // write the record back alive. Refuse even if the marker cannot be stored: the
                // token is still old.
                let until = Family::revocation_expiration(revoked.created_at, policy, now);
                let _ = self
                    .revoke_access_tokens(&revoked.user_id, &revoked.id, now)
                    .await;
                let _ = self
                    .store
                    .revoke_family(&revoked.user_id, &revoked.id, RevokeReason::Reuse, until)
                    .await;
                return Err(Error::RefreshTokenReused);
            }
            Rotation::Refused {
                reason: RefreshRejection::NotYetVisible,
                ..
            } => {
                // Not a sign-out: the session may exist and simply not have arrived here yet.
                return Err(Error::StorageUnavailable(alloc::format!(
                    "the session's records are not visible at this location yet (KV makes \
                     writes visible within {PROPAGATION_WINDOW_S} s); retry"
                )));
            }
            Rotation::Refused { reason, forget } => {
                if forget {
                    let _ = self
                        .store
                        .delete_family(&token.user_id, &token.family_id)
                        .await;
                }
                return Err(Error::InvalidRefreshToken(reason));
            }
        };
        // `rotate` only hands out a token when the user exists (it refuses otherwise).
        let user = user.ok_or(Error::InvalidRefreshToken(RefreshRejection::UnknownUser))?;
        self.events.record(SecurityEvent::TokenRefreshed {
            user_id: user.id,
            session_id: family.id,
            generation: family.generation,
            replayed,
        });
        self.auth.tokens(&user, &family, refresh_token, now, rng)
    }

    /// Ends the session a refresh token belongs to, with one write and no read: its
    /// revocation marker (see [`crate::refresh::family`], "Ending a session"). Succeeds
    /// without a token, or with one that is malformed or already dead: logging out is
    /// idempotent.
    ///
    /// # Errors
    /// [`Error::StorageUnavailable`] when the marker could not be written.
    pub async fn logout(&self, presented: Option<&str>, now: UnixSeconds) -> Result<(), Error> {
        let Some(token) = presented.and_then(|p| decode_token(&self.auth.refresh_key, p).ok())
        else {
            return Ok(());
        };
        let created_at = token.created_at;
        self.end_session(&token.user_id, &token.family_id, created_at, now)
            .await?;
        self.events.record(SecurityEvent::LoggedOut {
            user_id: token.user_id,
            session_id: token.family_id,
        });
        Ok(())
    }
}
