//! Access tokens: RFC 9068-style JWTs signed with HS256 or EdDSA, issued and verified strictly.
//!
//! - [`issue`] signs a token for a user's session; [`verify`] checks one and returns its
//!   [`AccessClaims`] or `Error::InvalidToken` with a precise, log-only reason.
//! - [`KeySet`] holds the signing key (HS256 from `JWT_SECRET`, or Ed25519 from
//!   `JWT_PRIVATE_KEY`) and verify-only previous keys (Ed25519 public keys from
//!   `JWT_PREVIOUS_PUBLIC_KEYS`, HS256 secrets from `JWT_PREVIOUS_SECRETS`), and renders the
//!   public JWKS.
//! - [`PublicKeySet`] is what a guarded Worker verifies with when it must not be able to sign:
//!   the Ed25519 public keys of that JWKS and nothing else; [`RemoteKeys`] decides when a guard
//!   fetches them from the issuer (`JWKS_URL`), from `now` alone.
//! - [`jws`] is the signature-level layer the test vectors drive; `dangerous` builds keys
//!   without Tollgate's checks, for those vectors only, and exists only with the
//!   `test-support` feature, so no production build can reach it.
//!
//! The algorithm always comes from the key, never from the token: a header may only agree.
//! Signing and signature checks go through `jsonwebtoken`'s provider interface with a pure-Rust
//! provider of our own ([`provider`]: HS256 and EdDSA over RustCrypto crates, so no unused
//! algorithm ships in the Worker); headers and claims are parsed here, once each and strictly
//! (duplicate keys refused at any depth), because `jsonwebtoken::decode` tolerates things an
//! access token must not (duplicate keys, any `typ`, string dates).

mod claims;
// Keys without strength checks: for published test vectors, never for serving.
#[cfg(feature = "test-support")]
pub mod dangerous;
mod ed25519_pem;
mod header;
mod issue;
mod jwks;
pub mod jws;
mod keys;
mod provider;
mod public_keys;
mod remote;
pub mod secret_strength;
pub(crate) mod strict_json;
mod verify;

pub use claims::{AccessClaims, DEFAULT_LEEWAY_S, MAX_NUMERIC_DATE, NewAccessToken, TokenConfig};
pub use issue::issue;
pub use keys::KeySet;
pub(crate) use keys::previous_secret_lines;
pub use public_keys::PublicKeySet;
pub use remote::{JWKS_MAX_AGE_S, JWKS_REFETCH_COOLDOWN_S, RemoteKeys};
pub use verify::{VerificationKeys, verify};
