//! The `tollgate` command line: keys, user import, first admin, folding the email index,
//! hashing cost calibration.
//!
//! Every command is a thin layer over `tollgate-core`, so what it writes is exactly what the
//! Worker reads and checks: the same record format, email normalisation, hash parser and
//! bounds, password policy and key checks. Errors print as `error[code]: message` with a
//! hint; exit codes are 0 (done), 1 (could not do it) and 2 (wrong command line).

mod bulk;
mod calibrate;
mod cli;
mod error;
mod existing;
mod fold;
mod hash_check;
mod import;
mod keygen;
mod os_random;
mod output;
mod password_input;
mod private_fs;
mod user_add;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, UserCommand};
use error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error[{}]: {err}", err.code());
            if let Some(hint) = err.hint() {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Keygen { webhook: true, .. } => keygen::run_webhook(),
        Command::Keygen { ed25519, .. } => keygen::run(ed25519),
        Command::Import {
            input,
            out,
            strict,
            existing,
            roles,
        } => import::run(
            &input,
            out.as_deref(),
            strict,
            existing.as_deref(),
            &cli::roles(roles.as_deref())?,
        ),
        Command::FoldEmails {
            listing,
            out,
            strict,
        } => fold::run(&listing, out.as_deref(), strict),
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    role,
                    disabled,
                    email_verified,
                    out,
                    existing,
                    roles,
                    argon2,
                },
        } => user_add::run(
            &email,
            &role,
            &cli::roles(roles.as_deref())?,
            user_add::Initially {
                disabled,
                email_verified,
            },
            argon2.params()?,
            out.as_deref(),
            existing.as_deref(),
        ),
        Command::Calibrate {
            budget_ms,
            native_only,
            url,
            project_dir,
            samples,
        } => calibrate::run(&calibrate::CalibrateOptions {
            budget_ms,
            native_only,
            url,
            project_dir,
            samples: samples as usize,
        }),
        Command::Hash { argon2 } => hash_check::hash(argon2.params()?),
        Command::Verify { hash, argon2 } => hash_check::verify(&hash, argon2.params()?),
    }
}
