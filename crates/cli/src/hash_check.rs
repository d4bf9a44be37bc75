//! `tollgate hash` and `tollgate verify`: the core's hashing, for operators checking a
//! migrated record by hand.

use std::io::Write;

use tollgate_core::password::{
    Argon2Params, PasswordHasher, Verified, check_policy, inspect_stored_hash,
};

use crate::error::{CliError, core_message};
use crate::os_random::OsRandom;
use crate::password_input::{Confirm, read_password};

/// Runs `tollgate hash`: prints the argon2id PHC string for the password read from stdin.
///
/// The policy is not enforced (this may re-create an existing password's hash) but a
/// password the Worker would refuse at registration is reported on stderr.
///
/// # Errors
/// [`CliError::PasswordInput`], [`CliError::Hashing`], or [`CliError::Io`] on stdout.
pub fn hash(params: Argon2Params) -> Result<(), CliError> {
    let password = read_password(Confirm::Twice)?;
    if let Err(e) = check_policy(&password) {
        eprintln!(
            "warning: the Worker would refuse this password at registration: {}",
            core_message(&e)
        );
    }
    let mut rng = OsRandom::new()?;
    let hash = PasswordHasher::new(params).hash(&password, &mut rng)?;
    writeln!(std::io::stdout(), "{hash}").map_err(|e| CliError::io_on("writing to stdout", &e))
}

/// Runs `tollgate verify <hash>`: checks the password from stdin against `stored`, as a login
/// with the Worker configured at `params` would, and says whether that login would re-hash.
///
/// # Errors
/// [`CliError::InvalidArgument`] when the hash is one a login would refuse (exit 2);
/// [`CliError::PasswordMismatch`] when the password is wrong (exit 1).
pub fn verify(stored: &str, params: Argon2Params) -> Result<(), CliError> {
    let info = inspect_stored_hash(stored).map_err(|e| {
        CliError::invalid_argument(
            format!("the hash would be refused at login: {}", e.as_str()),
            "pass a full argon2 PHC string ($argon2id$v=19$...) or bcrypt hash ($2b$...), \
             quoted so the shell leaves the $ alone",
        )
    })?;
    let password = read_password(Confirm::Once)?;
    let hasher = PasswordHasher::new(params);
    match hasher.verify(&password, stored)? {
        Verified::Match { needs_rehash } => {
            let mut stdout = std::io::stdout();
            writeln!(stdout, "match").map_err(|e| CliError::io_on("writing to stdout", &e))?;
            let p = hasher.params();
            if needs_rehash {
                eprintln!(
                    "{info}: a login re-hashes it to argon2id m={} t={} p={}",
                    p.memory_kib, p.iterations, p.parallelism
                );
            } else {
                eprintln!(
                    "{info}: kept as is at login (at least m={} t={})",
                    p.memory_kib, p.iterations
                );
            }
            Ok(())
        }
        Verified::Mismatch => Err(CliError::PasswordMismatch),
    }
}
