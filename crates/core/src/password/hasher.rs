//! Hashing new passwords with argon2id, and verifying them against whatever is stored.

use alloc::format;
use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::argon2_phc::{self, VERSION_13};
use super::params::Argon2Params;
use super::stored::{self, HashFormat, ParsedHash};
use crate::error::{Error, ErrorCode};
use crate::limits::MAX_PASSWORD_BYTES;
use crate::random::Random;

/// Salt length of new hashes, in bytes: RFC 9106 §3.1 recommends 16 for password hashing.
const SALT_BYTES: usize = 16;

/// Output (tag) length of new hashes, in bytes: RFC 9106 §4's recommended 256-bit tag.
const OUTPUT_BYTES: usize = 32;

/// The salt of [`PasswordHasher::dummy_hash`]. Any fixed 16-byte value does: the result is
/// thrown away, only the work matters.
const DUMMY_SALT: [u8; SALT_BYTES] = *b"tollgate-dummy!!";

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verified {
    /// The password is correct.
    Match {
        /// The stored hash is not argon2id v=19 at the configured parameters: hash the
        /// password again (with [`PasswordHasher::hash`]) and store the new hash.
        needs_rehash: bool,
    },
    /// The password is wrong.
    Mismatch,
}

/// Hashes and verifies passwords with one configured argon2id cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordHasher {
    params: Argon2Params,
}

impl PasswordHasher {
    /// A hasher that writes argon2id hashes at `params` (see [`Argon2Params::new`]).
    pub fn new(params: Argon2Params) -> PasswordHasher {
        PasswordHasher { params }
    }

    /// The parameters new hashes are written with.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes `password` to an argon2id v=19 PHC string with a random 16-byte salt from `rng`
    /// and a 32-byte output, for example
    /// `$argon2id$v=19$m=19456,t=2,p=1$<22 chars of salt>$<43 chars of hash>`.
    ///
    /// The password is hashed exactly as given (its UTF-8 bytes); run [`super::check_policy`]
    /// first when the password is being chosen.
    ///
    /// # Errors
    /// - [`Error::Validation`] with `password` / [`ErrorCode::PasswordTooLong`] when the
    ///   password is over [`MAX_PASSWORD_BYTES`], before any work.
    /// - [`Error::Misconfigured`] when the parameters could not be computed or exceed the
    ///   bounds stored hashes are held to (possible only when they were built without
    ///   [`Argon2Params::new`]): such a hash could never be verified.
    /// - [`Error::Internal`] when argon2 fails (for example, it cannot allocate its memory).
    pub fn hash<R: Random + ?Sized>(&self, password: &str, rng: &mut R) -> Result<String, Error> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::field("password", ErrorCode::PasswordTooLong));
        }
        self.params.check_within_bounds()?;
        let mut salt = [0u8; SALT_BYTES];
        rng.fill(&mut salt);
        let mut output = [0u8; OUTPUT_BYTES];
        let Argon2Params {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        } = self.params;
        argon2_phc::compute(
            HashFormat::Argon2id,
            VERSION_13,
            m,
            t,
            p,
            password.as_bytes(),
            &salt,
            &mut output,
        )?;
        Ok(format!(
            "$argon2id$v=19$m={m},t={t},p={p}${}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(output)
        ))
    }

    /// Verifies `password` against a stored argon2id, argon2i or argon2d PHC string, or a
    /// `$2a$`/`$2b$`/`$2y$` bcrypt hash (which uses only the password's first 72 bytes, as
    /// bcrypt always did; the argon2id re-hash that follows a match uses all of it).
    ///
    /// The stored hash is parsed and its cost bounded before any hashing (see
    /// [`super::inspect_stored_hash`]), and the computed hash is compared in constant time.
    /// A password over [`MAX_PASSWORD_BYTES`] is a [`Verified::Mismatch`] without hashing:
    /// [`PasswordHasher::hash`] never stored one, and answering as for any wrong password
    /// keeps a login from telling known accounts from unknown ones
    /// ([`PasswordHasher::dummy_verify`] skips such passwords too). Never panics.
    ///
    /// # Errors
    /// [`Error::Internal`] with the [`super::StoredHashError`]'s description when the stored
    /// hash is malformed, unknown or out of bounds; [`Error::Internal`] when argon2 fails.
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verified, Error> {
        let parsed = stored::parse(stored).map_err(|e| {
            Error::Internal(format!("stored password hash refused: {}", e.as_str()))
        })?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Verified::Mismatch);
        }
        let matched = match &parsed {
            ParsedHash::Argon2(hash) => hash.verify(password.as_bytes())?,
            ParsedHash::Bcrypt(hash) => hash.verify(password.as_bytes()),
        };
        Ok(if matched {
            Verified::Match {
                needs_rehash: self.parsed_needs_rehash(&parsed),
            }
        } else {
            Verified::Mismatch
        })
    }

    /// True for any non-argon2id hash, an argon2 version other than 0x13, or parameters
    /// weaker than configured: less memory, fewer passes, a salt shorter than 16 bytes or an
    /// output shorter than 32. Also true for anything [`PasswordHasher::verify`] would refuse.
    ///
    /// Parallelism is not compared: lanes split the same memory and passes, they do not add
    /// or remove work. Hashes stronger than configured are kept.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        stored::parse(stored).map_or(true, |parsed| self.parsed_needs_rehash(&parsed))
    }

    /// Costs the same as a real verify at the configured parameters, with the result
    /// discarded: call it for unknown users (and for users whose stored hash is refused) so
    /// that login time does not reveal which emails exist.
    ///
    /// It *is* a real verify: [`PasswordHasher::verify`] against [`PasswordHasher::dummy_hash`],
    /// a stored hash of exactly the shape [`PasswordHasher::hash`] writes at these parameters.
    /// So it does no work where a verify does none (a password over [`MAX_PASSWORD_BYTES`], or
    /// parameters outside the stored-hash bounds, which `hash` refuses too). Users still on
    /// bcrypt or other parameters take their own time until their next login re-hashes them.
    pub fn dummy_verify(&self, password: &str) {
        // black_box keeps the optimiser from dropping work whose result nobody reads.
        let _ = core::hint::black_box(self.verify(password, &self.dummy_hash()));
    }

    /// The stored hash [`PasswordHasher::dummy_verify`] verifies against: argon2id v=19 at the
    /// configured parameters, with a 16-byte salt and a 32-byte output, like every hash
    /// [`PasswordHasher::hash`] writes (so [`PasswordHasher::needs_rehash`] is false for it).
    /// Its output is all zeros, which no password is expected to produce (a 2⁻²⁵⁶ chance).
    pub fn dummy_hash(&self) -> String {
        let Argon2Params {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        } = self.params;
        format!(
            "$argon2id$v=19$m={m},t={t},p={p}${}${}",
            STANDARD_NO_PAD.encode(DUMMY_SALT),
            STANDARD_NO_PAD.encode([0u8; OUTPUT_BYTES])
        )
    }

    fn parsed_needs_rehash(&self, parsed: &ParsedHash) -> bool {
        match parsed {
            ParsedHash::Bcrypt(_) => true,
            ParsedHash::Argon2(hash) => {
                hash.format != HashFormat::Argon2id
                    || hash.version != VERSION_13
                    || hash.memory_kib < self.params.memory_kib
                    || hash.iterations < self.params.iterations
                    || hash.salt().len() < SALT_BYTES
                    || hash.output().len() < OUTPUT_BYTES
            }
        }
    }
}

impl Default for PasswordHasher {
    /// A hasher at [`Argon2Params::DEFAULT`].
    fn default() -> PasswordHasher {
        PasswordHasher::new(Argon2Params::DEFAULT)
    }
}
