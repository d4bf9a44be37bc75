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

/// Most memory an argon2 hash may ask for, in KiB (64 MiB). A Worker's isolate has 128 MB for
/// everything (the wasm memory, which never shrinks once grown, and the JavaScript heap), so
/// half of it is the most one hash may take. It is exactly what argon2-cffi and passlib use by
/// default (m=65536, RFC 9106's second recommendation), so their hashes import as they are.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 65_536;

/// Most passes (argon2 `t`) a stored hash may ask for. What bounds time is
/// [`MAX_ARGON2_WORK_KIB`]; this only keeps `t` itself sane. The OWASP rows use 1 to 5.
pub const MAX_ARGON2_ITERATIONS: u32 = 10;

/// Most argon2 work a stored hash may ask for, as memory × passes (`m × t`, in KiB of blocks
/// processed): four passes over 64 MiB. Argon2's time grows with `m × t` and not with `p`
/// (lanes run one after another in a Worker); measured natively (release build, one core of the
/// 2-core development machine, best of 3), m=65536 t=4 took 272 ms, argon2-cffi's default
/// m=65536 t=3 p=4 212 ms (p=1 and p=16: 209 and 213 ms), Tollgate's m=19456 t=2 37 ms. So no
/// stored argon2 hash costs a login more than about a quarter of a second of CPU natively
/// (workerd runs wasm some 1.3 times slower).
pub const MAX_ARGON2_WORK_KIB: u32 = 4 * MAX_ARGON2_MEMORY_KIB;

/// Most lanes (argon2 `p`) a stored hash may ask for. Lanes run one after another here (no
/// threads in a Worker), so this bounds bookkeeping, not speed (see [`MAX_ARGON2_WORK_KIB`]).
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

/// Highest bcrypt cost accepted (log2 of the rounds): 12, the default of passlib, pyca/bcrypt,
/// Rails and Laravel. Each step doubles the time: measured as for [`MAX_ARGON2_WORK_KIB`], cost
/// 12 took 234 ms, 13 472 ms and 14 935 ms, so 12 is the cost that fits the same quarter
/// second as argon2's bound.
pub const MAX_BCRYPT_COST: u32 = 12;
