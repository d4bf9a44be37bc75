//! `tollgate user add`: one account as a bulk file, which is how the first admin is made
//! (Tollgate has no default accounts).

use std::path::Path;

use tollgate_core::email::normalize_email;
use tollgate_core::password::{Argon2Params, PasswordHasher, check_policy};
use tollgate_core::roles::Roles;
use tollgate_core::store::UserRecord;

use crate::bulk::{new_user_record, now, write_bulk};
use crate::error::{CliError, core_message};
use crate::existing::ExistingEmails;
use crate::os_random::OsRandom;
use crate::output::Output;
use crate::password_input::{Confirm, read_password};

/// How a new account starts (`--disabled`, `--email-verified`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Initially {
    /// Disabled: nobody can log in until an admin enables it.
    pub disabled: bool,
    /// Its address counts as verified from the start.
    pub email_verified: bool,
}

/// Runs `tollgate user add`: checks the email and the role against `roles` (and, with `existing`, that the email
/// has no account yet), reads and policy-checks the password, hashes it with argon2id at
/// `params` and writes the user's two bulk entries (the account `disabled`, the address
/// `email_verified`, if asked).
///
/// # Errors
/// [`CliError::InvalidArgument`] for a bad email or unknown role, or an `existing` file that
/// is not a key listing; [`CliError::EmailExists`] when the listing has the email; [`CliError::PasswordInput`]
/// when the password cannot be read or fails the policy; [`CliError::TerminalOutput`] or
/// [`CliError::Io`] for the output; [`CliError::Hashing`] if argon2 fails.
pub fn run(
    email: &str,
    role: &str,
    roles: &Roles,
    initially: Initially,
    params: Argon2Params,
    out: Option<&Path>,
    existing: Option<&Path>,
) -> Result<(), CliError> {
    let email = normalize_email(email).map_err(|_| {
        CliError::invalid_argument(
            format!("{email:?} is not a valid email address"),
            "give the address the user will log in with, such as admin@example.com",
        )
    })?;
    let role = roles.parse(role).map_err(|_| {
        let known: Vec<&str> = roles.names().collect();
        CliError::invalid_argument(
            format!("unknown role {role:?}"),
            format!("use one of: {}", known.join(", ")),
        )
    })?;
    // Before the password is asked for: a refusal must not come after the typing.
    if let Some(path) = existing
        && ExistingEmails::read(path)?.contains(&email)
    {
        return Err(CliError::EmailExists { email });
    }
    let mut output = Output::open(out)?;
    let password = read_password(Confirm::Twice)?;
    check_policy(&password).map_err(|e| CliError::PasswordInput {
        message: format!("the password is not acceptable: {}", core_message(&e)),
        hint: "choose at least 8 characters that are not a common password".into(),
    })?;
    let mut rng = OsRandom::new()?;
    let hash = PasswordHasher::new(params).hash(&password, &mut rng)?;
    let at = now();
    let record = UserRecord {
        disabled: initially.disabled,
        email_verified_at: initially.email_verified.then_some(at),
        ..new_user_record(email, hash, role, at, &mut rng)
    };
    if let Err(e) = write_bulk(output.writer(), [&record]) {
        return Err(output.write_error(&e));
    }
    let target = output.describe();
    output.finish()?;
    eprintln!(
        "wrote user {} ({}, role {}{}) to {target}; load it with:\n  \
         npx wrangler kv bulk put --binding USERS --remote {target}   (production)\n  \
         npx wrangler kv bulk put --binding USERS --local --persist-to <dir> {target}   \
         (wrangler dev)",
        record.id,
        record.email,
        record.role,
        if record.disabled { ", disabled" } else { "" }
    );
    Ok(())
}
