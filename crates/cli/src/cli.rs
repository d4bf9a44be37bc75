//! The command line as clap sees it: every command, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tollgate_core::password::Argon2Params;
use tollgate_core::roles::Roles;

use crate::error::{CliError, core_message};

const EXIT_CODES: &str = "\
Exit codes: 0 done; 1 the command ran but could not do what was asked (see the error[code] \
line); 2 the command line is wrong.";

/// Set up Tollgate and move users into it.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a new JWT_SECRET, or with --ed25519 a JWT_PRIVATE_KEY and its public JWK, or with
    /// --webhook an EMAIL_WEBHOOK_SECRET.
    #[command(after_help = "\
The secret or PEM alone goes to stdout, so it can be piped straight into wrangler:
  tollgate keygen | npx wrangler secret put JWT_SECRET
  (umask 077; tollgate keygen --ed25519 > key.pem)
  npx wrangler secret put JWT_PRIVATE_KEY < key.pem
  tollgate keygen --webhook | npx wrangler secret put EMAIL_WEBHOOK_SECRET
(the umask makes key.pem readable by you alone; keep it somewhere safe or delete it.)
The key id (kid) and, for Ed25519, the public JWK go to stderr. The secret is printed without \
a trailing newline unless stdout is a terminal, because `wrangler secret put` would keep it.")]
    Keygen {
        /// An Ed25519 private key (PKCS#8 PEM) for EdDSA tokens instead of an HS256 secret.
        #[arg(long, conflicts_with = "webhook")]
        ed25519: bool,
        /// A Standard Webhooks signing secret (`whsec_<base64>`) for EMAIL_WEBHOOK_SECRET; give
        /// the same value to the mailer that receives the messages.
        #[arg(long)]
        webhook: bool,
    },

    /// Turn users exported from another app (JSON lines) into a bulk file for `wrangler kv bulk put`.
    #[command(after_long_help = IMPORT_HELP, after_help = "See --help for the line format, \
        the rules and the exit codes.")]
    Import {
        /// The export: one JSON object per line, or `-` for stdin.
        input: PathBuf,
        /// Where to write the bulk file (created 0600; `-` or omitted: stdout, unless a terminal).
        #[arg(long, value_name = "BULK_JSON")]
        out: Option<PathBuf>,
        /// Write nothing and exit 1 if any line is rejected.
        #[arg(long)]
        strict: bool,
        /// The USERS namespace's keys, as `npx wrangler kv key list --binding USERS --remote
        /// --prefix email:` prints them: lines whose email already has an account are rejected
        /// (email_exists) instead of taking the address over.
        #[arg(long, value_name = "KEYS_JSON")]
        existing: Option<PathBuf>,
        /// The deployment's `ROLES` var, when it sets one (JSON, as in `wrangler.toml`): roles
        /// are checked against that table, as the Worker checks them. Default: `user` and
        /// `admin`.
        #[arg(long, value_name = "ROLES_JSON")]
        roles: Option<String>,
    },

    /// After upgrading to case-insensitive emails: index every account under its folded email.
    #[command(after_help = FOLD_HELP)]
    FoldEmails {
        /// The USERS namespace's keys, with metadata, as `npx wrangler kv key list --binding
        /// USERS --remote` prints them (no --prefix).
        #[arg(value_name = "KEYS_JSON")]
        listing: PathBuf,
        /// Where to write the bulk file (created 0600; `-` or omitted: stdout, unless a terminal).
        #[arg(long, value_name = "BULK_JSON")]
        out: Option<PathBuf>,
        /// Write nothing and exit 1 if any key collides or any record cannot be read.
        #[arg(long)]
        strict: bool,
    },

    /// Create accounts.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },

    /// Measure argon2id cost here and in workerd, and recommend the ARGON2_* vars for a budget.
    #[command(after_help = CALIBRATE_HELP)]
    Calibrate {
        /// CPU time one login may spend hashing, in milliseconds.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        budget_ms: u32,
        /// Measure natively only; do not start or contact wrangler dev.
        #[arg(long, conflicts_with = "url")]
        native_only: bool,
        /// Measure an already running `wrangler dev` (started with --var TOLLGATE_CALIBRATION:enabled).
        #[arg(long, value_name = "BASE_URL")]
        url: Option<String>,
        /// The Tollgate checkout whose node_modules/.bin/wrangler to start (default: the
        /// nearest directory with a wrangler.toml, from the working directory up).
        #[arg(long, value_name = "DIR")]
        project_dir: Option<PathBuf>,
        /// Timed hashes per row and runtime; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
        samples: u32,
    },

    /// Hash a password read from stdin (or a prompt) with argon2id, as the Worker would.
    #[command(
        after_help = "Prints the PHC string on stdout. The password is never taken \
        from the command line: type it at the prompt or pipe it on stdin."
    )]
    Hash {
        /// The cost to hash at.
        #[command(flatten)]
        argon2: Argon2Args,
    },

    /// Check a password from stdin (or a prompt) against a stored hash, as a login would.
    #[command(
        after_help = "Prints `match` and exits 0, or exits 1 on a wrong password; a \
        hash a login would refuse is a usage error (exit 2). Says on stderr whether a login \
        at the given cost would re-hash it. Quote the hash: it contains `$`."
    )]
    Verify {
        /// The stored hash: an argon2 PHC string or a $2a$/$2b$/$2y$ bcrypt hash.
        hash: String,
        /// The cost the Worker is configured with (decides whether a login re-hashes).
        #[command(flatten)]
        argon2: Argon2Args,
    },
}

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Write a bulk file with one new user (how the first admin is created).
    #[command(after_help = "\
The password is read from a prompt (asked twice) or from stdin, never from the command line, \
checked against the registration policy and hashed with argon2id. Load the file with
  npx wrangler kv bulk put --binding USERS --remote <file>
Loading it for an email that already has an account points the email at the new account; \
the old record stays in KV but can no longer be logged into. To be refused instead, pass \
--existing with the namespace's key listing:
  npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json
  tollgate user add admin@example.com --role admin --existing existing-keys.json --out admin.json")]
    Add {
        /// The email the user logs in with.
        email: String,
        /// The user's role.
        #[arg(long, default_value = "user")]
        role: String,
        /// The deployment's `ROLES` var, when it sets one (JSON, as in `wrangler.toml`): roles
        /// are checked against that table, as the Worker checks them. Default: `user` and
        /// `admin`.
        #[arg(long, value_name = "ROLES_JSON")]
        roles: Option<String>,
        /// Write the account disabled: nobody can log in to it until an admin enables it
        /// (`PUT /admin/users/{id}/disabled`).
        #[arg(long)]
        disabled: bool,
        /// Write the address as verified (`email_verified_at` set to now), for an operator who
        /// knows it reaches the user; otherwise the user verifies it by link.
        #[arg(long)]
        email_verified: bool,
        /// Where to write the bulk file (created 0600; `-` or omitted: stdout, unless a terminal).
        #[arg(long, value_name = "BULK_JSON")]
        out: Option<PathBuf>,
        /// The USERS namespace's keys (`wrangler kv key list`): refuse an email that already
        /// has an account (exit 1, email_exists) instead of taking the address over.
        #[arg(long, value_name = "KEYS_JSON")]
        existing: Option<PathBuf>,
        /// The cost to hash at.
        #[command(flatten)]
        argon2: Argon2Args,
    },
}

/// Argon2id cost flags, defaulting to the Worker's defaults (an OWASP row).
#[derive(Debug, Args)]
pub struct Argon2Args {
    /// Argon2id memory in KiB (ARGON2_MEMORY_KIB).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.memory_kib)]
    pub memory_kib: u32,
    /// Argon2id passes (ARGON2_ITERATIONS).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.iterations)]
    pub iterations: u32,
    /// Argon2id lanes (ARGON2_PARALLELISM).
    #[arg(long, default_value_t = Argon2Params::DEFAULT.parallelism)]
    pub parallelism: u32,
}

/// The role table of `--roles` (the deployment's `ROLES` JSON), checked as the Worker checks
/// it; the default table without one.
///
/// # Errors
/// [`CliError::InvalidArgument`] naming what the Worker would refuse in the table.
pub fn roles(json: Option<&str>) -> Result<Roles, CliError> {
    match json {
        None => Ok(Roles::default()),
        Some(json) => Roles::from_json(json).map_err(|e| {
            CliError::invalid_argument(
                core_message(&e),
                "pass the deployment's ROLES var exactly as the Worker has it",
            )
        }),
    }
}

impl Argon2Args {
    /// The parameters, validated as the Worker validates its vars.
    ///
    /// # Errors
    /// [`CliError::InvalidArgument`] when weaker than every OWASP row or out of bounds.
    pub fn params(&self) -> Result<Argon2Params, CliError> {
        Argon2Params::new(self.memory_kib, self.iterations, self.parallelism).map_err(|e| {
            CliError::invalid_argument(
                core_message(&e),
                "use an OWASP row such as --memory-kib 19456 --iterations 2 (the default), \
                 or see `tollgate calibrate`",
            )
        })
    }
}

const IMPORT_HELP: &str = "\
Each line is a JSON object:
  {\"email\": \"sam@example.com\", \"password_hash\": \"$2b$12$...\", \"role\": \"admin\"}
password_hash may be any hash a Tollgate login verifies: argon2id, argon2i or argon2d PHC \
strings, or $2a$/$2b$/$2y$ bcrypt (passlib, pyca/bcrypt, argon2-cffi, Node's bcrypt). Users log \
in with their old passwords; the Worker re-hashes each to argon2id at that first login. \
Nothing is hashed during the import: each hash is only parsed and its cost checked, exactly as \
a login would.

Rules:
  - Line numbers count every line from 1, blank lines included.
  - Blank lines are skipped (counted in the summary, not rejected).
  - Other fields (id, username...) are ignored; the summary lists their names.
  - is_active is optional: false imports the account disabled (no login until an admin \
enables it: PUT /admin/users/<id>/disabled); true, null or absent: active.
  - email_verified is optional: true imports the address as verified (email_verified_at is \
the import time); false, null or absent: unverified.
  - identities is optional: a list of {\"provider\": ..., \"subject\": ..., \"email\": ...}, \
the user's logins at identity providers (provider: a name of OAUTH_PROVIDERS; subject: the \
provider's id for the user; one per provider). With identities, password_hash may be absent \
or null (an account with no password). An identity on two lines rejects both.
  - role is optional (absent or null: user) and must be a role of the table: exactly `user` \
or `admin`, or one of the deployment's ROLES passed with --roles.
  - Emails are compared in any case, as the Worker compares them (the record keeps the \
address as typed, trimmed with its domain lower-cased; the index key is the whole address \
lower-cased). If two or more lines share an email, in any case, all of them are rejected, \
each naming the others by line number (and spelling, when it differs): decide which account \
keeps the address, then import it again.
  - Rejected: invalid JSON or UTF-8, a missing or non-string email/password_hash, an invalid \
email, an unknown or malformed hash, a hash whose cost exceeds what a login in a Worker may \
spend (allowed: bcrypt cost <= 12; argon2 m <= 65536 KiB, t <= 10, p <= 16, m x t <= 262144 \
KiB), an unknown role, a duplicate email, an \
email that already has an account (with --existing, see below). Each rejected line is reported on stderr with its number and reason, then a summary by reason.

Output: a JSON array of {\"key\",\"value\",\"metadata\"} entries, per user `user:<id>` (the \
record, with its listing summary as metadata) then `email:<email lower-cased>` (the user's id). Load it \
with `npx wrangler kv bulk put --binding USERS --remote <file>`. Every run draws new ids, so \
import each export once.

Accounts already in KV: `wrangler kv bulk put` overwrites, and KV cannot refuse a key that \
exists. A line whose email already has an account in the namespace would point the address \
at the new record: the existing account stays in KV but nobody can log into it any more, \
and its owner's password stops working. Nothing in the export shows this, so pass the \
namespace's email index and such lines are rejected (email_exists) like any other bad line:
  npx wrangler kv key list --binding USERS --remote --prefix email: > existing-keys.json
  tollgate import users.jsonl --existing existing-keys.json --out bulk.json
(`wrangler kv key list --local` returns at most 1000 keys; --remote lists them all.) \
Without --existing the run ends with a note that nothing was checked.

Exit codes: 0 the bulk file was written, even if some lines were rejected (they are listed \
as warnings), so `tollgate import ... && wrangler kv bulk put ...` loads what could be \
imported; 1 nothing was written: --strict and a line was rejected, no line could be imported, \
or a file could not be read or written; 2 the command line is wrong.";

const FOLD_HELP: &str = "\
Emails are compared in any case: the email index key is the whole address lower-cased \
(ASCII letters). Index entries written before that rule keep the local part as typed \
(email:Sam@example.com); the Worker finds them only when the address is typed exactly so, and \
adds the folded key at that login. Run this once after upgrading so that every account is \
found in any case and no case variant of its address can register:
  npx wrangler kv key list --binding USERS --remote > users-keys.json
  tollgate fold-emails users-keys.json --out folded.json
  npx wrangler kv bulk put --binding USERS --remote folded.json
The listing must be of the whole namespace (no --prefix): each user:<id> key carries the \
account's email as metadata. The bulk file holds only email:<key> -> id entries, for accounts \
reachable by an old entry whose folded key is not in the listing; nothing is overwritten or \
deleted (old entries stay and keep working).

Collisions: accounts whose emails differ only by case are reported with their ids and emails, \
and nothing is written for their key: keep one (delete the others with DELETE \
/admin/users/<id>), then list and run again. Records without listing metadata (written by \
hand) are reported by key.

Load the file at once: a registration of a case variant made between the listing and the load \
would be overwritten. Then list and run again: it should write nothing and report nothing new.

Exit codes: 0 the bulk file was written (collisions, if any, are reported as warnings); 1 \
--strict and a collision or unreadable record (nothing written), or a file could not be read \
or written; 2 the command line is wrong.";

const CALIBRATE_HELP: &str = "\
Times each OWASP argon2id row (m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4, m=7168 t=5; \
p=1) natively and inside workerd, and recommends the row with the most memory whose time fits \
--budget-ms (workerd's time when measured, since that is what a login pays).

For workerd it starts `node_modules/.bin/wrangler dev --local` on free loopback ports with \
--var TOLLGATE_CALIBRATION:enabled, a temporary persist dir and a random JWT_SECRET, measures \
through POST /__tollgate/calibrate, and stops it. Never enable TOLLGATE_CALIBRATION in \
production: the endpoint lets anyone make the Worker hash at will (a denial-of-service risk). \
If wrangler is missing it says so and measures natively only.

Every run ends with a warning that no OWASP row fits the 10 ms CPU per request of the Workers \
Free plan, citing the fastest row's time here: a login also parses the request, signs its \
tokens and reads and writes KV within those 10 ms, on Cloudflare's CPUs rather than this machine's, so even a row \
measured under 10 ms here leaves no margin. Deploy on the Paid plan.

Exit codes: 0 a row fits; 1 no row fits the budget (the table is still printed), or --url \
could not be measured; 2 the command line is wrong.";

#[cfg(test)]
mod tests {
    use super::*;

    /// The help states the bounds in words; they must be the core's (`cost_bounds`), which a
    /// login in the Worker applies.
    #[test]
    fn import_help_states_the_cost_bounds_the_worker_applies() {
        let help = IMPORT_HELP.split_whitespace().collect::<Vec<_>>().join(" ");
        let bounds = crate::import::cost_bounds();
        assert!(help.contains(&bounds), "the help must say: {bounds}");
    }
}
