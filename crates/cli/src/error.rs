//! The CLI's error: a stable code, a message that says what happened, a hint that says what to
//! do, and the exit code scripts branch on.
//!
//! Exit codes: 0 success, 1 the command ran but could not do what was asked (a file could not
//! be read, `--strict` found a bad line, a password did not match), 2 the command line itself
//! is wrong (clap's own usage errors also exit 2).

use std::fmt;
use std::io;
use std::path::Path;

/// Why a `tollgate` command failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    // --- The command line is wrong (exit 2) ---
    /// When an argument parses but is not acceptable (weak argon2 parameters, an unknown role,
    /// a hash `verify` cannot read, a URL that is not `http://`).
    InvalidArgument {
        /// What is wrong, naming the argument.
        message: String,
        /// What to pass instead.
        hint: String,
    },

    // --- The command could not do its job (exit 1) ---
    /// When a file or stream cannot be read or written.
    Io {
        /// What was being done, with the path (`reading users.jsonl`).
        action: String,
        /// The operating system's reason.
        reason: String,
    },
    /// When output would print password hashes or keys to a terminal.
    TerminalOutput,
    /// When `import --strict` met a bad line, or no line at all could be imported.
    ImportRejected {
        /// How many lines were rejected and why, already reported line by line.
        message: String,
        /// What to do.
        hint: String,
    },
    /// When no password could be read, the two prompts differ, or it fails the policy.
    PasswordInput {
        /// What was wrong with the password (never the password).
        message: String,
        /// What to do.
        hint: String,
    },
    /// When `verify` finds the password does not match the hash.
    PasswordMismatch,
    /// When `user add` is given an email that the `--existing` listing says has an account.
    EmailExists {
        /// The normalised email.
        email: String,
    },
    /// When `fold-emails --strict` met a collision or a record it cannot read.
    FoldRefused {
        /// How many, already reported one by one.
        message: String,
        /// What to do.
        hint: String,
    },
    /// When hashing failed (argon2 could not allocate its memory, for example).
    Hashing {
        /// The core's description.
        message: String,
    },
    /// When calibration could not measure or no OWASP row fits the budget.
    Calibration {
        /// What failed.
        message: String,
        /// What to do.
        hint: String,
    },
}

impl CliError {
    /// The stable snake_case code printed as `error[code]`, for scripts and support.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::InvalidArgument { .. } => "invalid_argument",
            CliError::Io { .. } => "io_error",
            CliError::TerminalOutput => "terminal_output",
            CliError::ImportRejected { .. } => "import_rejected",
            CliError::FoldRefused { .. } => "fold_refused",
            CliError::PasswordInput { .. } => "password_input",
            CliError::PasswordMismatch => "password_mismatch",
            CliError::EmailExists { .. } => "email_exists",
            CliError::Hashing { .. } => "hashing_failed",
            CliError::Calibration { .. } => "calibration_failed",
        }
    }

    /// The process exit code: 2 for a wrong command line, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::InvalidArgument { .. } => 2,
            _ => 1,
        }
    }

    /// What to do about it, if there is more to say than the message.
    pub fn hint(&self) -> Option<&str> {
        match self {
            CliError::InvalidArgument { hint, .. }
            | CliError::PasswordInput { hint, .. }
            | CliError::Calibration { hint, .. }
            | CliError::ImportRejected { hint, .. }
            | CliError::FoldRefused { hint, .. } => Some(hint),
            CliError::TerminalOutput => Some(
                "pass --out <file> (it is created with mode 0600), or redirect stdout to a file",
            ),
            CliError::EmailExists { .. } => Some(
                "loading it would point the address at a new account and lock the existing one \
                 out; choose another email, or change the existing account instead",
            ),
            CliError::Io { .. } | CliError::PasswordMismatch | CliError::Hashing { .. } => None,
        }
    }

    /// An [`CliError::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError::InvalidArgument {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// An [`CliError::Io`] for `action` ("reading", "writing") on `path`.
    pub fn io(action: &str, path: &Path, err: &io::Error) -> CliError {
        CliError::Io {
            action: format!("{action} {}", path.display()),
            reason: err.to_string(),
        }
    }

    /// An [`CliError::Io`] on a standard stream or other unnamed target.
    pub fn io_on(what: &str, err: &io::Error) -> CliError {
        CliError::Io {
            action: what.to_string(),
            reason: err.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::InvalidArgument { message, .. }
            | CliError::ImportRejected { message, .. }
            | CliError::FoldRefused { message, .. }
            | CliError::PasswordInput { message, .. }
            | CliError::Hashing { message }
            | CliError::Calibration { message, .. } => f.write_str(message),
            CliError::Io { action, reason } => write!(f, "failed {action}: {reason}"),
            CliError::TerminalOutput => {
                f.write_str("refusing to print password hashes to a terminal")
            }
            CliError::PasswordMismatch => f.write_str("the password does not match the hash"),
            CliError::EmailExists { email } => write!(
                f,
                "{email} already has an account (it is in the --existing listing); nothing was written"
            ),
        }
    }
}

impl std::error::Error for CliError {}

/// The core's error as a CLI error: only hashing reaches here (configuration and input are
/// checked first and reported as [`CliError::InvalidArgument`] or [`CliError::PasswordInput`]).
impl From<tollgate_core::Error> for CliError {
    fn from(err: tollgate_core::Error) -> CliError {
        CliError::Hashing {
            message: format!("{} ({})", core_message(&err), err.code()),
        }
    }
}

/// The most specific human text the core's error carries.
pub fn core_message(err: &tollgate_core::Error) -> String {
    match err {
        tollgate_core::Error::Misconfigured(why) | tollgate_core::Error::Internal(why) => {
            why.clone()
        }
        tollgate_core::Error::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.code.detail()))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.code().detail().to_string(),
    }
}
