//! Passwords: hashing new ones, verifying stored ones, and the policy for choosing them.
//!
//! - New passwords are hashed with argon2id v=19 at a configured cost ([`Argon2Params`],
//!   at least an OWASP row), a 16-byte salt from the host's [`crate::random::Random`] and a
//!   32-byte output, stored as a PHC string.
//! - Stored hashes are untrusted input. [`PasswordHasher::verify`] accepts argon2id, argon2i
//!   and argon2d PHC strings and legacy bcrypt (`$2a$`, `$2b$`, `$2y$`) so users can be
//!   imported from other systems, but parses every hash strictly and bounds its cost
//!   ([`bounds`]) before doing any work: a poisoned record cannot make a login burn CPU.
//!   A match on anything other than argon2id at the configured cost asks for a re-hash.
//! - [`PasswordHasher::dummy_verify`] spends the time of a real verify for logins with
//!   unknown emails, so response times do not reveal which accounts exist.
//! - [`check_policy`] is the registration rule: at least 8 characters, at most 1024 bytes,
//!   not a common password, no composition rules.
//!
//! Nothing here reads a clock or draws randomness of its own, and nothing panics on input.

pub mod bounds;

mod argon2_phc;
mod bcrypt;
mod common;
mod hasher;
mod params;
mod policy;
mod stored;

pub use bounds::{
    MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_OUTPUT_BYTES, MAX_ARGON2_PARALLELISM,
    MAX_ARGON2_SALT_BYTES, MAX_ARGON2_WORK_KIB, MAX_BCRYPT_COST, MAX_STORED_HASH_BYTES,
    MIN_ARGON2_OUTPUT_BYTES, MIN_ARGON2_SALT_BYTES, MIN_BCRYPT_COST,
};
pub use hasher::{PasswordHasher, Verified};
pub use params::Argon2Params;
pub use policy::check_policy;
pub use stored::{HashFormat, StoredCost, StoredHashError, StoredHashInfo, inspect_stored_hash};
