//! Signing in with an identity provider: OpenID Connect and plain OAuth2, as a relying party
//! (authorization code with PKCE), with every decision here and none of the I/O.
//!
//! - [`provider`]: `OAUTH_PROVIDERS` (issuer or explicit endpoints, presets) and discovery
//!   documents.
//! - [`authorize`]: the authorization request (`state`, `nonce`, PKCE S256, from randomness the
//!   host passes in), the pending sign-in the host keeps, and the callback's checks (state
//!   bound to the browser, single use, `iss` against mix-up).
//! - [`id_token`]: ID-token verification: the algorithm allowlist, key selection from the
//!   provider's JWKS, the signature (RSA and ECDSA arithmetic delegated through
//!   [`SignatureBackend`]), and the claims.
//! - [`identity`]: token and userinfo responses, the linking decision, and how many ways an
//!   account can sign in.
//!
//! The flows that act on these (find-or-create, link, unlink) are in [`crate::flows`]. Time is
//! always an argument; the host fetches discovery, keys, tokens and userinfo, and hands the
//! bodies in.

pub mod authorize;
pub mod id_token;
pub mod identity;
pub mod provider;

pub use authorize::{CallbackParams, ExpectedProvider, PENDING_TTL_S, Pending, Started};
pub use id_token::{
    IdTokenAlgorithm, IdTokenClaims, IdTokenExpectations, KeyMaterial, ProviderKeys,
    SignatureBackend,
};
pub use identity::{Asserted, LinkedIdentity, SignInDecision, identity_key};
pub use provider::{Discovery, Endpoints, Protocol, ProviderConfig, parse_providers, secret_name};
