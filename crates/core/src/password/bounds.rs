//! What a stored hash may cost, checked before any hashing.
//!
//! Stored hashes are untrusted input: a record imported from another system, or written by an
//! attacker who reached the store, could name parameters that make one login burn seconds of
//! CPU or gigabytes of memory. Every bound here is checked while parsing, so a poisoned record
//! is refused in microseconds. The same bounds cap what [`super::Argon2Params::new`] accepts, so
//! Tollgate never writes a hash it would later refuse to verify.

/// Longest stored hash string accepted, in bytes. The longest hash these bounds allow (argon2
/// with a 48-byte salt and 64-byte output) is about 190 bytes; anything longer is refused
/// before it is even split.
pub const MAX_STORED_HASH_BYTES: usize = 256;

/// Most memory an argon2 hash may ask for, in KiB (256 MiB).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 262_144;

/// Most passes (argon2 `t`) a stored hash may ask for.
pub const MAX_ARGON2_ITERATIONS: u32 = 10;

/// Most lanes (argon2 `p`) a stored hash may ask for. Lanes run one after another here (no
/// threads in a Worker), so this bounds bookkeeping, not speed.
pub const MAX_ARGON2_PARALLELISM: u32 = 16;

/// Shortest argon2 salt accepted, in bytes: the argon2 crate's `MIN_SALT_LEN` (the reference
/// implementation refuses shorter salts too).
pub const MIN_ARGON2_SALT_BYTES: usize = 8;

/// Longest argon2 salt accepted, in bytes: the PHC string format's bound (the `phc` crate's
/// `Salt::MAX_LENGTH`), 64 base64 characters.
pub const MAX_ARGON2_SALT_BYTES: usize = 48;

/// Shortest argon2 output accepted, in bytes: the PHC string format's bound (the `phc` crate's
/// `Output::MIN_LENGTH`). Shorter tags would make a wrong password match too often.
pub const MIN_ARGON2_OUTPUT_BYTES: usize = 10;

/// Longest argon2 output accepted, in bytes: the PHC string format's bound (the `phc` crate's
/// `Output::MAX_LENGTH`), 86 base64 characters.
pub const MAX_ARGON2_OUTPUT_BYTES: usize = 64;

/// Lowest bcrypt cost accepted (log2 of the rounds): the minimum of OpenBSD's bcrypt and of
/// pyca/bcrypt, which refuse anything lower.
pub const MIN_BCRYPT_COST: u32 = 4;

/// Highest bcrypt cost accepted (log2 of the rounds): 2^15 rounds take on the order of a
/// second natively, already far above the cost 10–12 that applications store.
pub const MAX_BCRYPT_COST: u32 = 15;
