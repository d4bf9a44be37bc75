//! Access tokens: RFC 9068-style JWTs signed with HS256 or EdDSA, issued and verified strictly.
//!
//! - [`KeySet`] holds the signing key (HS256 from `JWT_SECRET`, or Ed25519 from
//!   `JWT_PRIVATE_KEY`) and verify-only previous Ed25519 keys, and renders the public JWKS.
//! - [`jws`] is the signature-level layer the test vectors drive; [`dangerous`] builds keys
//!   without Tollgate's checks, for those vectors only.
//!
//! The algorithm always comes from the key, never from the token: a header may only agree.
//! Signing and signature checks are `jsonwebtoken`'s pure-Rust backend; headers are parsed
//! here, once and strictly (duplicate keys refused at any depth).

pub mod dangerous;
mod header;
mod jwks;
pub mod jws;
mod keys;
pub mod secret_strength;
mod strict_json;

pub use keys::KeySet;
