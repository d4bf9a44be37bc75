//! Signing in with an identity provider once the host has verified who the provider says the
//! user is ([`Asserted`]): find the linked account, link by a verified email, or create a
//! password-less account; then start a session exactly as a password login does. Also the
//! user's own identities: list, link from a session, unlink.
//!
//! Ordering, as everywhere in the flows: a record before the index entry that points at it
//! (the user lists the identity, then `identity:{provider}:{subject}` is written), and the
//! entry removed after the record stopped listing it. An index entry whose record does not
//! list the identity (a half-finished unlink) is ignored.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{Flows, LoginOutcome};
use crate::email::parse_email;
use crate::error::{Error, ErrorCode};
use crate::events::SecurityEvent;
use crate::id::Id;
use crate::oidc::authorize::{LinkTarget, LinkTicket};
use crate::oidc::identity::{SignInDecision, decide_sign_in};
use crate::oidc::{Asserted, LinkedIdentity, identity_key};
use crate::random::Random;
use crate::roles::{Principal, ROLE_USER, SCOPE_PROFILE};
use crate::store::{ChangeRequest, Stores, UserChange, UserRecord};
use crate::time::UnixSeconds;

/// A successful sign-in through a provider.
#[derive(Debug)]
pub struct IdentitySignInOutcome {
    /// The session, as a password login gives it.
    pub login: LoginOutcome,
    /// Whether the sign-in created the account.
    pub created: bool,
}

impl<S: Stores> Flows<'_, S> {
    /// Signs in the user a provider vouched for: the account linked to the identity; else the
    /// account with the same email, linked now if both sides vouch for the address (see
    /// [`decide_sign_in`]); else a new account with no password (its password login fails as
    /// a wrong password does, in the same time: an empty hash is refused before hashing, and a
    /// dummy verify of the same cost runs). Then a session starts, as at a login.
    ///
    /// # Errors
    /// [`Error::AccountExists`] for an email match that may not be linked (or an address
    /// taken meanwhile); `mfa_required` ([`Error::SignInRefused`]) for an account with a
    /// second factor, which signs in with it instead; [`Error::AccountDisabled`]; [`Error::EmailNotVerified`] with
    /// `REQUIRE_VERIFIED_EMAIL` and an unverified address; `provider_error` without an email
    /// to create an account with, or with one that is not a valid address;
    /// [`Error::StorageUnavailable`].
    pub async fn sign_in_with_identity<R: Random + ?Sized>(
        &self,
        asserted: &Asserted,
        trusted_email: bool,
        user_agent: &str,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<IdentitySignInOutcome, Error> {
        let linked = self.linked_user(asserted).await?;
        let by_email = match (&linked, &asserted.email) {
            (None, Some(email)) => self.find_by_email(email).await?.map(|(user, _)| user),
            _ => None,
        };
        let decision = decide_sign_in(asserted, trusted_email, linked.as_ref(), by_email.as_ref())?;
        // A provider's sign-in proves nothing about the account's second factor, and there is
        // no second step on this path yet: an account that has one (TOTP or a passkey) signs in
        // with it, not through a provider. Checked before anything is linked.
        let existing = match &decision {
            SignInDecision::SignIn(_) => linked.as_ref(),
            SignInDecision::LinkByEmail(_) => by_email.as_ref(),
            SignInDecision::Create => None,
        };
        if existing.is_some_and(UserRecord::has_second_factor) {
            return Err(Error::SignInRefused(
                ErrorCode::MfaRequired,
                String::from("the account has a second factor: sign in with it"),
            ));
        }
        let (user, created) = match decision {
            SignInDecision::SignIn(_) => (linked.ok_or(Error::NotFound)?, false),
            SignInDecision::LinkByEmail(id) => {
                (self.link(&id, asserted, "email", None, now).await?, false)
            }
            SignInDecision::Create => (self.create_for_identity(asserted, now, rng).await?, true),
        };
        if user.disabled {
            return Err(Error::AccountDisabled);
        }
        if self.auth.config.recovery.require_verified_email && user.email_verified_at.is_none() {
            return Err(Error::EmailNotVerified);
        }
        // No `amr`: how the provider authenticated the user is not Tollgate's to assert.
        let tokens = self
            .start_session(
                &user,
                user_agent,
                None,
                alloc::vec::Vec::new(),
                async { Ok(()) },
                now,
                rng,
            )
            .await?;
        self.events.record(SecurityEvent::IdentitySignIn {
            user_id: user.id,
            session_id: tokens.session_id,
            provider: asserted.provider.clone(),
            created,
        });
        Ok(IdentitySignInOutcome {
            login: LoginOutcome { tokens, user },
            created,
        })
    }

    /// The permission to link an identity at `provider` to the caller's account
    /// (`POST /auth/identities/{provider}/link`): only for a live session of an account that
    /// may sign in, like every route that reads the caller's record.
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `profile` scope; [`Error::InvalidToken`] when the
    /// account is gone or disabled, or its sessions were ended after the token was issued;
    /// [`Error::StorageUnavailable`].
    pub async fn start_link(
        &self,
        principal: &Principal,
        provider: &str,
        now: UnixSeconds,
    ) -> Result<LinkTicket, Error> {
        principal.require_scope(SCOPE_PROFILE)?;
        let user = self.principal_user(principal).await?;
        Ok(LinkTicket {
            provider: provider.to_string(),
            target: LinkTarget {
                user_id: user.id,
                issued_at: principal.issued_at,
            },
            created_at: now,
        })
    }

    /// Links the identity a provider vouched for to the account of `target`, whose session
    /// asked for it ([`Flows::start_link`]); the user's sequencer refuses it if that session
    /// was ended, or the account disabled, while the user was at the provider.
    ///
    /// # Errors
    /// [`Error::AccountExists`] when the identity is linked to another account, or the account
    /// has another identity at this provider; [`Error::InvalidToken`] when the asking session
    /// has ended or the account is disabled; [`Error::NotFound`] when the account is gone;
    /// [`Error::StorageUnavailable`].
    pub async fn link_identity(
        &self,
        target: &LinkTarget,
        asserted: &Asserted,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        if let Some(other) = self.linked_user(asserted).await?
            && other.id != target.user_id
        {
            return Err(Error::AccountExists);
        }
        self.link(
            &target.user_id,
            asserted,
            "explicit",
            Some(target.issued_at),
            now,
        )
        .await
    }

    /// The caller's linked identities.
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `profile` scope; [`Error::InvalidToken`] when the
    /// account no longer exists.
    pub async fn identities(&self, principal: &Principal) -> Result<Vec<LinkedIdentity>, Error> {
        principal.require_scope(SCOPE_PROFILE)?;
        Ok(self.principal_user(principal).await?.identities)
    }

    /// Unlinks the caller's identity at `provider`, unless it is their last way to sign in.
    ///
    /// # Errors
    /// [`Error::Forbidden`] without the `profile` scope; [`Error::NotFound`] when no identity
    /// at `provider` is linked; [`Error::LastLoginMethod`] (decided by the sequencer on the
    /// current record); [`Error::InvalidToken`]; [`Error::StorageUnavailable`].
    pub async fn unlink_identity(
        &self,
        principal: &Principal,
        provider: &str,
        now: UnixSeconds,
    ) -> Result<(), Error> {
        principal.require_scope(SCOPE_PROFILE)?;
        let user = self.principal_user(principal).await?;
        let Some(identity) = user.identities.iter().find(|i| i.provider == provider) else {
            return Err(Error::NotFound);
        };
        let request = ChangeRequest {
            change: UserChange::UnlinkIdentity {
                provider: provider.to_string(),
            },
            now,
            caller_issued_at: Some(principal.issued_at),
        };
        self.store
            .change_user(&user.id, &request)
            .await?
            .ok_or(Error::NotFound)?;
        // After the record stopped listing it; a failure leaves an entry that no sign-in
        // follows (the record must list the identity), so it is only untidy.
        let _ = self
            .store
            .release_identity(&identity_key(provider, &identity.subject), &user.id)
            .await;
        self.events.record(SecurityEvent::IdentityUnlinked {
            user_id: user.id,
            provider: provider.to_string(),
        });
        Ok(())
    }

    /// The account the identity index names for `asserted`, if its record lists the identity.
    async fn linked_user(&self, asserted: &Asserted) -> Result<Option<UserRecord>, Error> {
        let key = identity_key(&asserted.provider, &asserted.subject);
        let Some(id) = self.store.find_identity(&key).await? else {
            return Ok(None);
        };
        Ok(self.store.get_user(&id).await?.filter(|user| {
            user.identities
                .iter()
                .any(|i| i.provider == asserted.provider && i.subject == asserted.subject)
        }))
    }

    /// Adds the identity to `user_id`'s record at its sequencer, then the index entry.
    async fn link(
        &self,
        user_id: &Id,
        asserted: &Asserted,
        how: &'static str,
        caller_issued_at: Option<UnixSeconds>,
        now: UnixSeconds,
    ) -> Result<UserRecord, Error> {
        let request = ChangeRequest {
            change: UserChange::LinkIdentity {
                identity: linked_identity(asserted, now),
            },
            now,
            caller_issued_at,
        };
        let user = self
            .store
            .change_user(user_id, &request)
            .await?
            .ok_or(Error::NotFound)?;
        self.store
            .bind_identity(
                &identity_key(&asserted.provider, &asserted.subject),
                user_id,
            )
            .await?;
        self.events.record(SecurityEvent::IdentityLinked {
            user_id: *user_id,
            provider: asserted.provider.clone(),
            how,
        });
        Ok(user)
    }

    /// Creates a password-less account for a provider's identity: the address claimed as at
    /// registration, the record (listing the identity, verified if the provider said so), the
    /// email index entry, then the identity index entry. A failure after the claim releases it
    /// and removes what was written, so nothing half-made stays reachable.
    async fn create_for_identity<R: Random + ?Sized>(
        &self,
        asserted: &Asserted,
        now: UnixSeconds,
        rng: &mut R,
    ) -> Result<UserRecord, Error> {
        let typed = asserted.email.as_deref().unwrap_or("");
        let email = parse_email(typed).map_err(|_| {
            Error::SignInRefused(
                ErrorCode::ProviderError,
                String::from("the provider's email is not a valid address"),
            )
        })?;
        let id = Id::generate(rng);
        // An address taken between the lookup and here is someone else's account now.
        self.claim(&email.key, &id, now)
            .await
            .map_err(|e| match e {
                Error::EmailTaken => Error::AccountExists,
                other => other,
            })?;
        // No password: the empty hash, which the hasher refuses before any hashing.
        let mut user =
            UserRecord::new(id, email.address, String::new(), ROLE_USER.to_string(), now);
        user.email_verified_at = asserted.email_verified.then_some(now);
        user.identities.push(linked_identity(asserted, now));
        let created = async {
            self.store.create_user(&user).await?;
            if let Err(e) = self.store.bind_email(&email.key, &id).await {
                let _ = self.store.remove_user(&id).await;
                return Err(Error::from(e));
            }
            let key = identity_key(&asserted.provider, &asserted.subject);
            if let Err(e) = self.store.bind_identity(&key, &id).await {
                let _ = self.store.remove_user(&id).await;
                return Err(Error::from(e));
            }
            Ok(())
        }
        .await;
        if let Err(e) = created {
            let _ = self.store.release_email(&email.key, &id).await;
            return Err(e);
        }
        self.events
            .record(SecurityEvent::UserRegistered { user_id: user.id });
        Ok(user)
    }
}

fn linked_identity(asserted: &Asserted, now: UnixSeconds) -> LinkedIdentity {
    LinkedIdentity {
        provider: asserted.provider.clone(),
        subject: asserted.subject.clone(),
        email: asserted.email.clone(),
        linked_at: now,
    }
}
