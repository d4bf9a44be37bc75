//! Argon2 in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): strict parsing
//! within [`super::bounds`], and the argon2 computation itself.
//!
//! The grammar is the reference implementation's (`decode_string` in P-H-C/phc-winner-argon2
//! `src/encoding.c`): `v=` optional and meaning version 0x10 when absent, then exactly
//! `m=`, `t=`, `p=` in that order, decimals without sign or leading zeros, salt and hash in
//! unpadded standard base64 whose unused trailing bits are zero. The `keyid` and `data`
//! parameters of the PHC format are refused: the reference decoder accepts nothing after
//! `p=` (and passlib's tests record older versions parsing `data` only to drop it), so a hash
//! carrying them cannot be checked the way it was made.

use alloc::format;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use subtle::ConstantTimeEq;

use super::bounds::{
    MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_OUTPUT_BYTES, MAX_ARGON2_PARALLELISM,
    MAX_ARGON2_SALT_BYTES, MAX_ARGON2_WORK_KIB, MIN_ARGON2_OUTPUT_BYTES, MIN_ARGON2_SALT_BYTES,
};
use super::stored::{HashFormat, StoredHashError, decoded_len, map_base64_error};
use crate::error::Error;

/// Argon2 version 1.0, what a PHC string without `v=` means.
pub(crate) const VERSION_10: u32 = 0x10;
/// Argon2 version 1.3 (RFC 9106), the only one Tollgate writes.
pub(crate) const VERSION_13: u32 = 0x13;

/// A stored argon2 hash whose every field is within bounds.
#[derive(Clone, Debug)]
pub(crate) struct Argon2Hash {
    pub(crate) format: HashFormat,
    pub(crate) version: u32,
    pub(crate) memory_kib: u32,
    pub(crate) iterations: u32,
    pub(crate) parallelism: u32,
    salt: [u8; MAX_ARGON2_SALT_BYTES],
    salt_len: usize,
    output: [u8; MAX_ARGON2_OUTPUT_BYTES],
    output_len: usize,
}

impl Argon2Hash {
    /// The decoded salt.
    pub(crate) fn salt(&self) -> &[u8] {
        self.salt.get(..self.salt_len).unwrap_or_default()
    }

    /// The decoded hash output (the tag).
    pub(crate) fn output(&self) -> &[u8] {
        self.output.get(..self.output_len).unwrap_or_default()
    }

    /// Recomputes the tag for `password` with this hash's own parameters and compares it in
    /// constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, Error> {
        let expected = self.output();
        let mut buffer = [0u8; MAX_ARGON2_OUTPUT_BYTES];
        let computed = buffer
            .get_mut(..expected.len())
            .ok_or_else(|| Error::Internal("argon2 output length out of range".into()))?;
        compute(
            self.format,
            self.version,
            self.memory_kib,
            self.iterations,
            self.parallelism,
            password,
            self.salt(),
            computed,
        )?;
        Ok(bool::from(computed.ct_eq(expected)))
    }
}

/// Runs argon2 into `out` (whose length is the tag length).
///
/// # Errors
/// [`Error::Internal`] when argon2 refuses the inputs or cannot allocate its memory.
#[allow(clippy::too_many_arguments)] // Argon2's own inputs, one each; a struct would only rename them.
pub(crate) fn compute(
    format: HashFormat,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let algorithm = match format {
        HashFormat::Argon2id => Algorithm::Argon2id,
        HashFormat::Argon2i => Algorithm::Argon2i,
        HashFormat::Argon2d => Algorithm::Argon2d,
        HashFormat::Bcrypt => {
            return Err(Error::Internal("bcrypt is not an argon2 variant".into()));
        }
    };
    let version =
        Version::try_from(version).map_err(|e| Error::Internal(format!("argon2 version: {e}")))?;
    let params = Params::new(memory_kib, iterations, parallelism, Some(out.len()))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Argon2::new(algorithm, version, params)
        .hash_password_into(password, salt, out)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

/// Parses an argon2 PHC string, refusing anything out of bounds before decoding the salt.
pub(crate) fn parse(stored: &str) -> Result<Argon2Hash, StoredHashError> {
    let mut fields = stored
        .strip_prefix('$')
        .ok_or(StoredHashError::UnknownFormat)?
        .split('$');
    let format = match fields.next() {
        Some("argon2id") => HashFormat::Argon2id,
        Some("argon2i") => HashFormat::Argon2i,
        Some("argon2d") => HashFormat::Argon2d,
        _ => return Err(StoredHashError::UnknownFormat),
    };

    let mut field = fields.next().ok_or(StoredHashError::Malformed)?;
    let version = match field.strip_prefix("v=") {
        Some(digits) => {
            field = fields.next().ok_or(StoredHashError::Malformed)?;
            match decimal(digits)? {
                Some(VERSION_10) => VERSION_10,
                Some(VERSION_13) => VERSION_13,
                _ => return Err(StoredHashError::UnsupportedVersion),
            }
        }
        // The reference decoder reads a string without `v=` as version 1.0; argon2-cffi and
        // passlib wrote such strings before version 1.3 existed.
        None => VERSION_10,
    };
    let (m, t, p) = parse_params(field)?;
    let salt_b64 = fields.next().ok_or(StoredHashError::Malformed)?;
    let output_b64 = fields.next().ok_or(StoredHashError::Malformed)?;
    if fields.next().is_some() {
        return Err(StoredHashError::Malformed);
    }

    let (Some(memory_kib), Some(iterations), Some(parallelism)) = (m, t, p) else {
        return Err(StoredHashError::CostTooHigh);
    };
    if !within_cost_bounds(memory_kib, iterations, parallelism) {
        return Err(StoredHashError::CostTooHigh);
    }
    // What argon2 itself cannot compute (RFC 9106 §3.1: t >= 1, p >= 1, m >= 8p).
    if iterations == 0 || parallelism == 0 || u64::from(memory_kib) < 8 * u64::from(parallelism) {
        return Err(StoredHashError::CostTooLow);
    }

    let salt_len = decoded_len(salt_b64)?;
    if !(MIN_ARGON2_SALT_BYTES..=MAX_ARGON2_SALT_BYTES).contains(&salt_len) {
        return Err(StoredHashError::SaltLength);
    }
    let output_len = decoded_len(output_b64)?;
    if !(MIN_ARGON2_OUTPUT_BYTES..=MAX_ARGON2_OUTPUT_BYTES).contains(&output_len) {
        return Err(StoredHashError::OutputLength);
    }
    let mut salt = [0u8; MAX_ARGON2_SALT_BYTES];
    let mut output = [0u8; MAX_ARGON2_OUTPUT_BYTES];
    let salt_len = STANDARD_NO_PAD
        .decode_slice(salt_b64, &mut salt)
        .map_err(map_base64_error)?;
    let output_len = STANDARD_NO_PAD
        .decode_slice(output_b64, &mut output)
        .map_err(map_base64_error)?;

    Ok(Argon2Hash {
        format,
        version,
        memory_kib,
        iterations,
        parallelism,
        salt,
        salt_len,
        output,
        output_len,
    })
}

/// Whether `m`, `t` and `p` are within every upper bound of [`super::bounds`], the work
/// `m × t` included. Shared by stored hashes and configured parameters.
pub(crate) fn within_cost_bounds(memory_kib: u32, iterations: u32, parallelism: u32) -> bool {
    memory_kib <= MAX_ARGON2_MEMORY_KIB
        && iterations <= MAX_ARGON2_ITERATIONS
        && parallelism <= MAX_ARGON2_PARALLELISM
        && u64::from(memory_kib) * u64::from(iterations) <= u64::from(MAX_ARGON2_WORK_KIB)
}

/// `m=<d>,t=<d>,p=<d>`, each `None` when the number does not fit in 32 bits.
type CostTriple = (Option<u32>, Option<u32>, Option<u32>);

fn parse_params(field: &str) -> Result<CostTriple, StoredHashError> {
    let mut pairs = field.split(',');
    let mut named = |name: &str| -> Result<Option<u32>, StoredHashError> {
        let value = pairs
            .next()
            .and_then(|pair| pair.strip_prefix(name))
            .ok_or(StoredHashError::Malformed)?;
        decimal(value)
    };
    let costs = (named("m=")?, named("t=")?, named("p=")?);
    match pairs.next() {
        None => Ok(costs),
        Some(extra) if extra.starts_with("keyid=") || extra.starts_with("data=") => {
            Err(StoredHashError::UnsupportedParameter)
        }
        Some(_) => Err(StoredHashError::Malformed),
    }
}

/// A PHC decimal: ASCII digits, no sign, no leading zero. `None` when above `u32::MAX`.
fn decimal(digits: &str) -> Result<Option<u32>, StoredHashError> {
    let bytes = digits.as_bytes();
    if bytes.is_empty()
        || !bytes.iter().all(u8::is_ascii_digit)
        || (bytes.len() > 1 && bytes.first() == Some(&b'0'))
    {
        return Err(StoredHashError::Malformed);
    }
    let mut value: u64 = 0;
    for &digit in bytes {
        value = value * 10 + u64::from(digit - b'0');
        if value > u64::from(u32::MAX) {
            return Ok(None);
        }
    }
    Ok(u32::try_from(value).ok())
}
