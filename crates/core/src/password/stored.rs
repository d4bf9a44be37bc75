//! Reading a stored hash without a password: which format it is, what it would cost, and
//! why it is refused. [`super::PasswordHasher::verify`] and the CLI importer share this, so an
//! imported line is accepted exactly when a login could verify against it.

use core::fmt;

use base64::{DecodeError, DecodeSliceError};

use super::argon2_phc::{self, Argon2Hash};
use super::bcrypt::{self, BcryptHash};
use super::bounds::MAX_STORED_HASH_BYTES;

/// The algorithm a stored hash names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashFormat {
    /// `$argon2id$`: what Tollgate writes.
    Argon2id,
    /// `$argon2i$`: accepted for verification, re-hashed on the next login.
    Argon2i,
    /// `$argon2d$`: accepted for verification, re-hashed on the next login.
    Argon2d,
    /// `$2a$`, `$2b$` or `$2y$` bcrypt: accepted for verification, re-hashed on the next login.
    Bcrypt,
}

impl HashFormat {
    /// The format's name as in the hash prefix (`argon2id`, `argon2i`, `argon2d`, `bcrypt`).
    pub const fn as_str(self) -> &'static str {
        match self {
            HashFormat::Argon2id => "argon2id",
            HashFormat::Argon2i => "argon2i",
            HashFormat::Argon2d => "argon2d",
            HashFormat::Bcrypt => "bcrypt",
        }
    }
}

/// What verifying against a stored hash would cost, as the hash itself states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredCost {
    /// An argon2 hash's parameters.
    Argon2 {
        /// Argon2 version: `0x10` (no `v=`, or `v=16`) or `0x13` (`v=19`).
        version: u32,
        /// Memory, in KiB (`m`).
        memory_kib: u32,
        /// Passes (`t`).
        iterations: u32,
        /// Lanes (`p`).
        parallelism: u32,
        /// Decoded salt length, in bytes.
        salt_bytes: usize,
        /// Decoded hash output length, in bytes.
        output_bytes: usize,
    },
    /// A bcrypt hash's cost: 2^cost rounds of the key schedule.
    Bcrypt {
        /// The two-digit cost field.
        cost: u32,
    },
}

/// A stored hash that parsed and is within bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredHashInfo {
    /// Which algorithm.
    pub format: HashFormat,
    /// Its cost parameters.
    pub cost: StoredCost,
}

impl fmt::Display for StoredHashInfo {
    /// `argon2id v=19 m=19456 t=2 p=1` or `bcrypt cost=12`: for import reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cost {
            StoredCost::Argon2 {
                version,
                memory_kib,
                iterations,
                parallelism,
                ..
            } => write!(
                f,
                "{} v={version} m={memory_kib} t={iterations} p={parallelism}",
                self.format.as_str()
            ),
            StoredCost::Bcrypt { cost } => write!(f, "bcrypt cost={cost}"),
        }
    }
}

/// Why a stored hash was refused. Each is decided before any hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoredHashError {
    /// When the string is longer than [`super::MAX_STORED_HASH_BYTES`].
    TooLong,
    /// When the prefix is none of `$argon2id$`, `$argon2i$`, `$argon2d$`, `$2a$`, `$2b$`, `$2y$`
    /// (among others `$2x$` and `$2$`, whose bugs or age Tollgate does not reproduce).
    UnknownFormat,
    /// When the known prefix is followed by something that is not that format's grammar.
    Malformed,
    /// When an argon2 hash carries `keyid` or `data`, which the reference decoder refuses.
    UnsupportedParameter,
    /// When an argon2 version is neither 16 (0x10) nor 19 (0x13).
    UnsupportedVersion,
    /// When a salt or hash has characters outside its base64 alphabet or an impossible length.
    Base64,
    /// When a salt or hash's last character sets bits the encoding leaves unused: reference
    /// bcrypt (OpenBSD) never verifies such a hash, pyca/bcrypt rejects such a salt, and the
    /// argon2 reference decoder rejects either.
    NonCanonicalBase64,
    /// When an argon2 salt is outside [`super::MIN_ARGON2_SALT_BYTES`]..=
    /// [`super::MAX_ARGON2_SALT_BYTES`].
    SaltLength,
    /// When an argon2 output is outside [`super::MIN_ARGON2_OUTPUT_BYTES`]..=
    /// [`super::MAX_ARGON2_OUTPUT_BYTES`].
    OutputLength,
    /// When the cost is below what the algorithm can compute: argon2 `t` or `p` of 0 or
    /// `m < 8p`, or bcrypt cost under [`super::MIN_BCRYPT_COST`].
    CostTooLow,
    /// When the cost is above [`super::bounds`]: argon2 `m`, `t`, `p` or the work `m × t`, or
    /// the bcrypt cost.
    CostTooHigh,
}

impl StoredHashError {
    /// A short, stable description for logs and import reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoredHashError::TooLong => "hash string too long",
            StoredHashError::UnknownFormat => "unknown hash format",
            StoredHashError::Malformed => "malformed hash string",
            StoredHashError::UnsupportedParameter => "unsupported argon2 parameter",
            StoredHashError::UnsupportedVersion => "unsupported argon2 version",
            StoredHashError::Base64 => "invalid base64",
            StoredHashError::NonCanonicalBase64 => "non-canonical base64 (unused bits set)",
            StoredHashError::SaltLength => "salt length out of bounds",
            StoredHashError::OutputLength => "hash output length out of bounds",
            StoredHashError::CostTooLow => "cost below the algorithm's minimum",
            StoredHashError::CostTooHigh => "cost above the allowed maximum",
        }
    }
}

impl fmt::Display for StoredHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for StoredHashError {}

/// A stored hash parsed and bounded, ready to verify against.
#[derive(Clone, Debug)]
pub(crate) enum ParsedHash {
    Argon2(Argon2Hash),
    Bcrypt(BcryptHash),
}

impl ParsedHash {
    pub(crate) fn info(&self) -> StoredHashInfo {
        match self {
            ParsedHash::Argon2(h) => StoredHashInfo {
                format: h.format,
                cost: StoredCost::Argon2 {
                    version: h.version,
                    memory_kib: h.memory_kib,
                    iterations: h.iterations,
                    parallelism: h.parallelism,
                    salt_bytes: h.salt().len(),
                    output_bytes: h.output().len(),
                },
            },
            ParsedHash::Bcrypt(h) => StoredHashInfo {
                format: HashFormat::Bcrypt,
                cost: StoredCost::Bcrypt { cost: h.cost },
            },
        }
    }
}

/// Parses `stored`, refusing anything over [`MAX_STORED_HASH_BYTES`] before looking inside.
pub(crate) fn parse(stored: &str) -> Result<ParsedHash, StoredHashError> {
    if stored.len() > MAX_STORED_HASH_BYTES {
        return Err(StoredHashError::TooLong);
    }
    if stored.starts_with("$argon2") {
        argon2_phc::parse(stored).map(ParsedHash::Argon2)
    } else if stored.starts_with("$2") {
        bcrypt::parse(stored).map(ParsedHash::Bcrypt)
    } else {
        Err(StoredHashError::UnknownFormat)
    }
}

/// What a stored hash is, without a password: for the CLI importer to validate lines.
///
/// Applies exactly the bounds [`super::PasswordHasher::verify`] applies, and does no hashing.
///
/// # Errors
/// The [`StoredHashError`] that `verify` would report (as [`crate::Error::Internal`]).
pub fn inspect_stored_hash(stored: &str) -> Result<StoredHashInfo, StoredHashError> {
    parse(stored).map(|parsed| parsed.info())
}

/// The decoded length of `encoded` unpadded base64 characters, or [`StoredHashError::Base64`]
/// for a length no encoding produces (one character past a multiple of four).
pub(crate) fn decoded_len(encoded: &str) -> Result<usize, StoredHashError> {
    let chars = encoded.len();
    match chars % 4 {
        1 => Err(StoredHashError::Base64),
        rem => Ok(chars / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Sorts the base64 crate's errors into ours: unused bits set is its own case (see
/// [`StoredHashError::NonCanonicalBase64`]).
pub(crate) fn map_base64_error(err: DecodeSliceError) -> StoredHashError {
    match err {
        DecodeSliceError::DecodeError(DecodeError::InvalidLastSymbol(..)) => {
            StoredHashError::NonCanonicalBase64
        }
        _ => StoredHashError::Base64,
    }
}
