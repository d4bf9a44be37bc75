//! Refresh and logout: the two flows that start from a refresh token.

use super::{Flows, Tokens};
use crate::error::{Error, RefreshRejection};
use crate::events::SecurityEvent;
use crate::join::join2;
use crate::random::Random;
use crate::refresh::family::PROPAGATION_WINDOW_S;
use crate::refresh::{Family, Rotation, decode_token, rotate};
use crate::store::Stores;
use crate::time::UnixSeconds;

impl<S: Stores> Flows<'_, S> {
    /// Rotates a refresh token: two reads (family, user) and one write (the family), plus one
    /// more read when that write fails.
    ///
    /// Two requests presenting the same token get the same new token (see
    /// [`crate::refresh::family`]); an old token after the grace window revokes the family.
    /// When the family write fails, the family is read again: Workers KV refuses a second
    /// write to one key within about a second (429), which is exactly what two concurrent
    /// refreshes of one session cause, and if the record now holds the generation this request
    /// was writing, the other request rotated identically (rotation is deterministic), so this
    /// one answers with the same token instead of failing.
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
        let (family, user) = (family?, user?);
        let epoch = user.as_ref().map(|u| u.session_epoch);
        let (family, refresh_token, replayed) = match rotate(
            &self.auth.refresh_key,
            &token,
            family.as_ref(),
            epoch,
            now,
            policy,
        ) {
            Rotation::Advanced {
                family: advanced,
                token: successor,
            } => match self
                .store
                .put_family(&advanced, advanced.storage_expiration(policy, now))
                .await
            {
                Ok(()) => (advanced, successor, false),
                Err(write_failed) => {
                    match self
                        .store
                        .get_family(&token.user_id, &token.family_id)
                        .await
                    {
                        // Another request wrote the very record this one was writing: the same
                        // generation means the same successor token, so hand it out. A record
                        // that moved further on, or died meanwhile, is not ours to answer for:
                        // the client keeps its token (and any newer cookie) and retries.
                        Ok(Some(current))
                            if current.generation == advanced.generation
                                && epoch.is_some_and(|e| {
                                    current.dead_reason(policy, e, now).is_none()
                                }) =>
                        {
                            (current, successor, true)
                        }
                        _ => return Err(write_failed.into()),
                    }
                }
            },
            Rotation::Replayed { token } => {
                let family =
                    family.ok_or(Error::InvalidRefreshToken(RefreshRejection::UnknownFamily))?;
                (family, token, true)
            }
            Rotation::ReuseDetected { family: revoked } => {
                self.events.record(SecurityEvent::RefreshTokenReused {
                    user_id: revoked.user_id,
                    session_id: revoked.id,
                    presented_generation: token.generation,
                    current_generation: revoked.generation,
                });
                // Refuse even if the revocation cannot be stored: the token is still old.
                let _ = self
                    .store
                    .put_family(&revoked, revoked.storage_expiration(policy, now))
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

    /// Ends the session a refresh token belongs to, with one write and no read: a young
    /// session (within [`PROPAGATION_WINDOW_S`] of its login) is overwritten with a revoked
    /// record that expires once that window has closed, an older one is deleted (see
    /// [`crate::refresh::family`] on why a young record must not vanish). Succeeds without a
    /// token, or with one that is malformed or already dead: logging out is idempotent.
    ///
    /// # Errors
    /// [`Error::StorageUnavailable`] when the family could not be ended.
    pub async fn logout(&self, presented: Option<&str>, now: UnixSeconds) -> Result<(), Error> {
        let Some(token) = presented.and_then(|p| decode_token(&self.auth.refresh_key, p).ok())
        else {
            return Ok(());
        };
        self.end_session(
            &token.user_id,
            &token.family_id,
            Some(Family::ended_from_token(&token, now)),
            now,
        )
        .await?;
        self.events.record(SecurityEvent::LoggedOut {
            user_id: token.user_id,
            session_id: token.family_id,
        });
        Ok(())
    }
}
