//! The argon2id cost Tollgate hashes new passwords with.

use alloc::format;

use super::argon2_phc::within_cost_bounds;
use super::bounds::{
    MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM, MAX_ARGON2_WORK_KIB,
};
use crate::error::Error;

/// Argon2id cost parameters for new hashes.
///
/// The fields are public so tests can build cheap parameters; configuration goes through
/// [`Argon2Params::new`], which refuses anything weaker than the OWASP floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory, in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Passes over memory (argon2 `t`).
    pub iterations: u32,
    /// Lanes (argon2 `p`).
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP/ASVS floor: m=19456 KiB, t=2, p=1.
    pub const DEFAULT: Argon2Params = Argon2Params {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// The OWASP Password Storage Cheat Sheet argon2id rows (m=47104 t=1, m=19456 t=2,
    /// m=12288 t=3, m=9216 t=4, m=7168 t=5; p=1).
    ///
    /// Each row is considered equally strong: less memory is paid for with more passes.
    pub const OWASP_ROWS: [Argon2Params; 5] = [
        Argon2Params::row(47_104, 1),
        Argon2Params::row(19_456, 2),
        Argon2Params::row(12_288, 3),
        Argon2Params::row(9_216, 4),
        Argon2Params::row(7_168, 5),
    ];

    const fn row(memory_kib: u32, iterations: u32) -> Argon2Params {
        Argon2Params {
            memory_kib,
            iterations,
            parallelism: 1,
        }
    }

    /// Validated constructor for configured parameters.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] when weaker than every OWASP row (a row is met when
    /// `memory_kib >= row.memory_kib` and `iterations >= row.iterations`), when `parallelism`
    /// is 0, or when any value is above the bounds stored hashes are held to
    /// ([`super::MAX_ARGON2_MEMORY_KIB`], [`super::MAX_ARGON2_ITERATIONS`],
    /// [`super::MAX_ARGON2_PARALLELISM`], [`super::MAX_ARGON2_WORK_KIB`]): a hash Tollgate
    /// wrote must always verify.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Argon2Params, Error> {
        let params = Argon2Params {
            memory_kib,
            iterations,
            parallelism,
        };
        if parallelism == 0 {
            return Err(Error::Misconfigured(
                "argon2 parallelism must be at least 1".into(),
            ));
        }
        params.check_within_bounds()?;
        let meets_a_row = Argon2Params::OWASP_ROWS
            .iter()
            .any(|row| memory_kib >= row.memory_kib && iterations >= row.iterations);
        if !meets_a_row {
            return Err(Error::Misconfigured(format!(
                "argon2 m={memory_kib} KiB, t={iterations} is weaker than every OWASP row \
                 (m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4, m=7168 t=5)"
            )));
        }
        Ok(params)
    }

    /// Refuses parameters a stored hash could not have (see [`super::bounds`]), or that
    /// argon2 itself cannot compute (t = 0, p = 0, m < 8·p).
    pub(crate) fn check_within_bounds(&self) -> Result<(), Error> {
        let Argon2Params {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        } = *self;
        if !within_cost_bounds(m, t, p) {
            return Err(Error::Misconfigured(format!(
                "argon2 m={m} KiB, t={t}, p={p} exceeds the stored-hash bounds \
                 (m <= {MAX_ARGON2_MEMORY_KIB}, t <= {MAX_ARGON2_ITERATIONS}, \
                 p <= {MAX_ARGON2_PARALLELISM}, m x t <= {MAX_ARGON2_WORK_KIB})"
            )));
        }
        if t == 0 || p == 0 || u64::from(m) < 8 * u64::from(p) {
            return Err(Error::Misconfigured(format!(
                "argon2 m={m} KiB, t={t}, p={p} cannot be computed (needs t >= 1, p >= 1, m >= 8p)"
            )));
        }
        Ok(())
    }
}

impl Default for Argon2Params {
    fn default() -> Argon2Params {
        Argon2Params::DEFAULT
    }
}
