//! `tollgate import`: users exported from another app, one JSON object per line, checked line
//! by line and turned into a bulk file for `wrangler kv bulk put --binding USERS`.
//!
//! Each line is `{"email": ..., "password_hash": ..., "role": ...?, "is_active": ...?}`. Nothing
//! is hashed here:
//! a stored hash is only inspected ([`inspect_stored_hash`], the same parser and bounds a login
//! applies), so a line is accepted exactly when its user could log in, and the Worker upgrades
//! the hash to argon2id at that first login.
//!
//! Decisions, also stated in `tollgate import --help`:
//! - Line numbers count every physical line from 1, blank ones included, as editors do.
//! - Blank (whitespace-only) lines are skipped and counted in the summary, never rejected.
//! - Fields other than `email`, `password_hash`, `role`, `is_active` and `email_verified` are
//!   ignored; their names
//!   are listed in the summary with how many lines had them, so an operator sees what was left
//!   behind.
//! - `is_active` is optional: `false` imports the account disabled (as Django and FastAPI-Users
//!   export a deactivated user), `true`, `null` or no field an active one; any other value is
//!   rejected, since guessing would either lock a user out or let a deactivated one in.
//! - `email_verified` is optional: `true` imports the address as verified (its
//!   `email_verified_at` is the import time), `false`, `null` or no field unverified; any other
//!   value is rejected.
//! - `identities` is optional: an array of `{"provider": ..., "subject": ..., "email": ...?}`,
//!   the user's logins at identity providers (`provider` a name of `OAUTH_PROVIDERS`,
//!   `subject` the provider's `sub` for the user, at most 255 bytes; one per provider), so
//!   migrated users keep signing in with them. With identities, `password_hash` may be absent
//!   or `null`: the account then has no password, as one a provider created. An identity on
//!   two lines rejects both.
//! - `role` is optional (absent or `null` means `user`) and must be a role of the table, spelled
//!   exactly: [`Roles::default`] (`user`, `admin`), or the deployment's `ROLES` given with
//!   `--roles`.
//! - Emails are compared as the Worker compares them: by key ([`fold_email`] of
//!   [`normalize_email`]), so `Sam@example.com` and `sam@EXAMPLE.com` are one address. When two
//!   or more lines share one, all of them are rejected, each naming the others by line number
//!   (and spelling, when it differs only by case): which account should own the address (and
//!   whose password should open it) is the operator's call, not a silent first-wins. The
//!   bulk file keeps each address as typed in the record and indexes it under its key.
//! - With `--existing <keys.json>` (a `wrangler kv key list` of the `USERS` namespace), a line
//!   whose email already has an account is rejected: loading it would re-point the address at
//!   the new record and lock the existing account out (see [`crate::existing`]). Without it
//!   nothing here can know, and a note on stderr says so.
//! - Without `--strict`, rejected lines are reported and the valid ones are written; the exit
//!   code is 0 when the bulk file was written, so `import && wrangler kv bulk put` loads what
//!   could be imported. `--strict` writes nothing and exits 1 if any line is rejected. A run
//!   that finds no user to import exits 1 either way.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use tollgate_core::email::{fold_email, normalize_email};
use tollgate_core::oidc::LinkedIdentity;
use tollgate_core::oidc::id_token::MAX_SUBJECT_BYTES;
use tollgate_core::oidc::provider::valid_provider_name;
use tollgate_core::password::{
    MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM, MAX_ARGON2_WORK_KIB,
    MAX_BCRYPT_COST, StoredHashError, StoredHashInfo, inspect_stored_hash,
};
use tollgate_core::roles::{ROLE_USER, Roles};
use tollgate_core::store::UserRecord;

use crate::bulk::{new_user_record, now, write_bulk};
use crate::error::CliError;
use crate::existing::{ExistingEmails, LIST_COMMAND};
use crate::os_random::OsRandom;
use crate::output::Output;

/// The fields an import line may carry; anything else is ignored and listed in the summary.
const KNOWN_FIELDS: [&str; 6] = [
    "email",
    "password_hash",
    "role",
    "is_active",
    "email_verified",
    "identities",
];

/// How many characters of a rejected value are echoed back in a report line.
const ECHO_CHARS: usize = 80;

/// Lines between progress-bar updates: often enough to move, rare enough to cost nothing.
const PROGRESS_EVERY_LINES: u64 = 4096;

/// Why a line was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// When the line is not valid UTF-8.
    InvalidUtf8,
    /// When the line is not JSON.
    InvalidJson,
    /// When the line is JSON but not an object.
    NotAnObject,
    /// When `email` or `password_hash` is absent.
    MissingField(&'static str),
    /// When a field has the wrong JSON type (`email` a number, `role` an array...).
    WrongType(&'static str),
    /// When the email is not an address [`normalize_email`] accepts.
    InvalidEmail(String),
    /// When the stored hash would be refused at login: unknown format, malformed, or cost
    /// outside the core's bounds.
    PasswordHash(StoredHashError, Option<&'static str>),
    /// When the role is not one of the table's (`--roles`, or [`Roles::default`]).
    InvalidRole {
        /// The role as written.
        role: String,
        /// The table's roles, comma-separated, for the report.
        known: String,
    },
    /// When the email, in any case, is also on other lines (all of them are rejected).
    DuplicateEmail {
        /// The normalised email of this line.
        email: String,
        /// The other lines with it, each with its spelling there.
        others: Vec<(usize, String)>,
    },
    /// When the normalised email already has an account, per the `--existing` listing.
    EmailExists(String),
    /// When `identities` is not a list of `{"provider", "subject", "email"?}` objects with
    /// valid names, one per provider, or lists an identity another line lists too.
    InvalidIdentities(String),
}

impl Rejection {
    /// A stable snake_case code (reused from the core's field codes where one exists).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::InvalidUtf8 => "invalid_utf8",
            Rejection::InvalidJson => "invalid_json",
            Rejection::NotAnObject => "not_an_object",
            Rejection::MissingField(_) => "missing_field",
            Rejection::WrongType(_) => "wrong_type",
            Rejection::InvalidEmail(_) => "invalid_email",
            Rejection::PasswordHash(..) => "invalid_password_hash",
            Rejection::InvalidRole { .. } => "invalid_role",
            Rejection::DuplicateEmail { .. } => "duplicate_email",
            Rejection::EmailExists(_) => "email_exists",
            Rejection::InvalidIdentities(_) => "invalid_identities",
        }
    }

    /// The summary's grouping: the code, plus the hash problem for hashes.
    pub fn reason(&self) -> String {
        match self {
            Rejection::PasswordHash(err, _) => format!("{} ({})", self.code(), err.as_str()),
            Rejection::MissingField(field) | Rejection::WrongType(field) => {
                format!("{} ({field})", self.code())
            }
            _ => self.code().to_string(),
        }
    }

    /// What is wrong with this line, for the per-line report.
    pub fn detail(&self) -> String {
        match self {
            Rejection::InvalidUtf8 => "the line is not valid UTF-8".into(),
            Rejection::InvalidJson => "the line is not JSON".into(),
            Rejection::NotAnObject => {
                "the line is not a JSON object like {\"email\": ..., \"password_hash\": ...}".into()
            }
            Rejection::MissingField(field) => format!("no \"{field}\" field"),
            Rejection::WrongType(field) => match *field {
                "role" => "\"role\" must be a string or null".into(),
                "is_active" => "\"is_active\" must be true, false or null".into(),
                "email_verified" => "\"email_verified\" must be true, false or null".into(),
                _ => format!("\"{field}\" must be a string"),
            },
            Rejection::InvalidEmail(email) => {
                format!("{} is not a valid email address", echo(email))
            }
            Rejection::PasswordHash(err, hint) => match hint {
                Some(hint) => format!("{}: {hint}", err.as_str()),
                None => format!("{}: {}", err.as_str(), hash_advice(*err)),
            },
            Rejection::InvalidRole { role, known } => {
                format!("role {} is not one of {known}", echo(role))
            }
            Rejection::DuplicateEmail { email, others } => {
                // A spelling is shown only where it differs (then only by case).
                let lines: Vec<String> = others
                    .iter()
                    .map(|(line, other)| match other == email {
                        true => line.to_string(),
                        false => format!("{line} (as {})", echo(other)),
                    })
                    .collect();
                let by_case = others.iter().any(|(_, other)| other != email);
                format!(
                    "{} is also on line{} {}{}; none of them was imported",
                    echo(email),
                    if others.len() == 1 { "" } else { "s" },
                    lines.join(", "),
                    if by_case {
                        " (emails are compared in any case: these are one address)"
                    } else {
                        ""
                    }
                )
            }
            Rejection::InvalidIdentities(why) => format!("\"identities\": {why}"),
            Rejection::EmailExists(email) => format!(
                "{} already has an account (it is in the --existing listing); loading this line \
                 would point the address at a new account and lock the existing one out",
                echo(email)
            ),
        }
    }
}

/// A value from the input, quoted and escaped, cut to [`ECHO_CHARS`] characters.
fn echo(value: &str) -> String {
    if value.chars().count() <= ECHO_CHARS {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(ECHO_CHARS).collect();
        format!("{cut:?}...")
    }
}

/// A line that can be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidLine {
    /// The normalised email.
    pub email: String,
    /// The stored hash, unchanged.
    pub password_hash: String,
    /// The role.
    pub role: String,
    /// Whether the account arrives disabled (`is_active: false`).
    pub disabled: bool,
    /// Whether the address arrives verified (`email_verified: true`).
    pub email_verified: bool,
    /// What the hash is, for the summary (`None`: no password, identities only).
    pub hash_info: Option<StoredHashInfo>,
    /// The identities at providers, as `(provider, subject, email)`.
    pub identities: Vec<(String, String, Option<String>)>,
}

/// Checks one line (without its line ending). `Ok(None)` for a blank line; `ignored` counts
/// the names of unknown fields.
///
/// # Errors
/// The first [`Rejection`] that applies, in field order `email`, `password_hash`, `role`,
/// `is_active`, `email_verified`.
/// (Duplicates are found across lines, by [`ImportCheck`].)
pub fn check_line(
    line: &[u8],
    roles: &Roles,
    ignored: &mut BTreeMap<String, usize>,
) -> Result<Option<ValidLine>, Rejection> {
    let text = std::str::from_utf8(line).map_err(|_| Rejection::InvalidUtf8)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text).map_err(|_| Rejection::InvalidJson)?;
    let Value::Object(object) = value else {
        return Err(Rejection::NotAnObject);
    };
    for name in object.keys() {
        if !KNOWN_FIELDS.contains(&name.as_str()) {
            *ignored.entry(name.clone()).or_default() += 1;
        }
    }
    let email = required_string(&object, "email")?;
    let email = normalize_email(email).map_err(|_| Rejection::InvalidEmail(email.to_string()))?;
    let identities = identities(&object)?;
    let (password_hash, hash_info) = match object.get("password_hash") {
        None | Some(Value::Null) if !identities.is_empty() => ("", None),
        _ => {
            let password_hash = required_string(&object, "password_hash")?;
            let info = inspect_stored_hash(password_hash)
                .map_err(|err| Rejection::PasswordHash(err, foreign_hash_hint(password_hash)))?;
            (password_hash, Some(info))
        }
    };
    let role = match object.get("role") {
        None | Some(Value::Null) => ROLE_USER.to_string(),
        Some(Value::String(role)) => roles.parse(role).map_err(|_| Rejection::InvalidRole {
            role: role.clone(),
            known: roles.names().collect::<Vec<_>>().join(", "),
        })?,
        Some(_) => return Err(Rejection::WrongType("role")),
    };
    let disabled = match object.get("is_active") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(active)) => !active,
        Some(_) => return Err(Rejection::WrongType("is_active")),
    };
    let email_verified = match object.get("email_verified") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(verified)) => *verified,
        Some(_) => return Err(Rejection::WrongType("email_verified")),
    };
    Ok(Some(ValidLine {
        email,
        password_hash: password_hash.to_string(),
        role,
        disabled,
        email_verified,
        hash_info,
        identities,
    }))
}

/// The `identities` field: absent, `null`, or a list of `{"provider", "subject", "email"?}`.
fn identities(
    object: &Map<String, Value>,
) -> Result<Vec<(String, String, Option<String>)>, Rejection> {
    let refuse = |why: &str| Rejection::InvalidIdentities(why.to_string());
    let list = match object.get("identities") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(refuse("must be a list")),
    };
    let mut out: Vec<(String, String, Option<String>)> = Vec::with_capacity(list.len());
    for entry in list {
        let Value::Object(entry) = entry else {
            return Err(refuse("each entry must be an object"));
        };
        let text = |name: &str| entry.get(name).and_then(Value::as_str);
        let provider = text("provider")
            .filter(|p| valid_provider_name(p))
            .ok_or_else(|| refuse("each entry needs a \"provider\" of a-z, 0-9, _ and -"))?;
        let subject = text("subject")
            .filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT_BYTES)
            .ok_or_else(|| refuse("each entry needs a \"subject\" of 1 to 255 bytes"))?;
        let email = match entry.get("email") {
            None | Some(Value::Null) => None,
            Some(Value::String(e)) => Some(e.clone()),
            Some(_) => return Err(refuse("\"email\" must be a string")),
        };
        if out.iter().any(|(p, _, _)| p == provider) {
            return Err(refuse(
                "lists one provider twice (one identity per provider)",
            ));
        }
        out.push((provider.to_string(), subject.to_string(), email));
    }
    Ok(out)
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, Rejection> {
    match object.get(field) {
        None | Some(Value::Null) => Err(Rejection::MissingField(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Rejection::WrongType(field)),
    }
}

/// What to do about hash formats other frameworks write that Tollgate cannot take as they are.
fn foreign_hash_hint(hash: &str) -> Option<&'static str> {
    const HINTS: &[(&str, &str)] = &[
        (
            "argon2$argon2",
            "a Django Argon2PasswordHasher hash: remove the leading \"argon2\" so it starts with \"$argon2\"",
        ),
        (
            "bcrypt$$2",
            "a Django BCryptPasswordHasher hash: remove the leading \"bcrypt$\" so it starts with \"$2\"",
        ),
        (
            "bcrypt_sha256$",
            "Django's bcrypt_sha256 hashes the password with SHA-256 first, which Tollgate does \
             not; these users must reset their password",
        ),
        (
            "pbkdf2_",
            "PBKDF2 (Django's default) cannot be verified by Tollgate; these users must reset \
             their password",
        ),
        (
            "$pbkdf2",
            "PBKDF2 cannot be verified by Tollgate; these users must reset their password",
        ),
        (
            "$2x$",
            "$2x$ is crypt_blowfish's buggy variant, which Tollgate does not reproduce; these \
             users must reset their password",
        ),
    ];
    HINTS
        .iter()
        .find(|(prefix, _)| hash.starts_with(prefix))
        .map(|(_, hint)| *hint)
}

/// The outcome of checking a whole input: what can be imported and what was rejected.
#[derive(Default)]
pub struct ImportCheck {
    /// Lines read, blank ones included.
    pub lines: usize,
    /// Blank lines skipped.
    pub blank: usize,
    /// Accepted lines with their line numbers, in input order.
    pub accepted: Vec<(usize, ValidLine)>,
    /// Rejected lines, sorted by line number.
    pub rejected: Vec<(usize, Rejection)>,
    /// Unknown field names and how many lines had each.
    pub ignored_fields: BTreeMap<String, usize>,
}

impl ImportCheck {
    /// Reads and checks every line of `input`; `progress` is told how many bytes were read.
    ///
    /// # Errors
    /// The reader's error.
    pub fn read(
        input: impl BufRead,
        progress: &ProgressBar,
        roles: &Roles,
    ) -> io::Result<ImportCheck> {
        let mut check = ImportCheck::default();
        let mut input = input;
        let mut line = Vec::with_capacity(512);
        let mut bytes_since_update = 0u64;
        loop {
            line.clear();
            let read = input.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            check.lines += 1;
            bytes_since_update += read as u64;
            if (check.lines as u64).is_multiple_of(PROGRESS_EVERY_LINES) {
                progress.inc(std::mem::take(&mut bytes_since_update));
            }
            let mut content = line.as_slice();
            if check.lines == 1 {
                // A UTF-8 byte-order mark, as some Windows tools write, is not part of the JSON.
                content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
            }
            let content = content.strip_suffix(b"\n").unwrap_or(content);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            match check_line(content, roles, &mut check.ignored_fields) {
                Ok(Some(valid)) => check.accepted.push((check.lines, valid)),
                Ok(None) => check.blank += 1,
                Err(rejection) => check.rejected.push((check.lines, rejection)),
            }
        }
        progress.inc(bytes_since_update);
        check.reject_duplicates();
        check.reject_duplicate_identities();
        Ok(check)
    }

    /// Moves every line listing an identity another accepted line lists to `rejected`: the
    /// index could point at only one of them.
    fn reject_duplicate_identities(&mut self) {
        let mut lines: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (line, valid) in &self.accepted {
            for (provider, subject, _) in &valid.identities {
                lines
                    .entry((provider.clone(), subject.clone()))
                    .or_default()
                    .push(*line);
            }
        }
        let shared: HashMap<usize, String> = lines
            .into_iter()
            .filter(|(_, l)| l.len() > 1)
            .flat_map(|((provider, _), l)| {
                let all = l.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
                l.into_iter().map(move |line| {
                    (line, format!("an identity at {provider:?} is on lines {all}; none of them was imported"))
                })
            })
            .collect();
        if shared.is_empty() {
            return;
        }
        let accepted = std::mem::take(&mut self.accepted);
        for (line, valid) in accepted {
            match shared.get(&line) {
                Some(why) => self
                    .rejected
                    .push((line, Rejection::InvalidIdentities(why.clone()))),
                None => self.accepted.push((line, valid)),
            }
        }
        self.rejected.sort_by_key(|(line, _)| *line);
    }

    /// Moves every line whose email, in any case, is on another accepted line to `rejected`.
    fn reject_duplicates(&mut self) {
        let mut lines_by_key: HashMap<String, Vec<(usize, &str)>> = HashMap::new();
        for (line, valid) in &self.accepted {
            lines_by_key
                .entry(fold_email(&valid.email))
                .or_default()
                .push((*line, &valid.email));
        }
        let duplicated: HashMap<String, Vec<(usize, String)>> = lines_by_key
            .into_iter()
            .filter(|(_, lines)| lines.len() > 1)
            .map(|(key, lines)| {
                let lines = lines.into_iter().map(|(l, e)| (l, e.to_string()));
                (key, lines.collect())
            })
            .collect();
        if duplicated.is_empty() {
            return;
        }
        let accepted = std::mem::take(&mut self.accepted);
        for (line, valid) in accepted {
            match duplicated.get(&fold_email(&valid.email)) {
                Some(lines) => {
                    let others = lines.iter().filter(|(l, _)| *l != line).cloned().collect();
                    self.rejected.push((
                        line,
                        Rejection::DuplicateEmail {
                            email: valid.email,
                            others,
                        },
                    ));
                }
                None => self.accepted.push((line, valid)),
            }
        }
        self.rejected.sort_by_key(|(line, _)| *line);
    }

    /// Moves every accepted line whose email already has an account to `rejected`.
    pub fn reject_existing(&mut self, existing: &ExistingEmails) {
        let accepted = std::mem::take(&mut self.accepted);
        let (taken, free): (Vec<_>, Vec<_>) = accepted
            .into_iter()
            .partition(|(_, valid)| existing.contains(&valid.email));
        self.accepted = free;
        if taken.is_empty() {
            return;
        }
        self.rejected.extend(
            taken
                .into_iter()
                .map(|(line, valid)| (line, Rejection::EmailExists(valid.email))),
        );
        self.rejected.sort_by_key(|(line, _)| *line);
    }

    /// Rejected-line counts per [`Rejection::reason`], most frequent first.
    pub fn rejected_by_reason(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, rejection) in &self.rejected {
            *counts.entry(rejection.reason()).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// Accepted-line counts per hash format and cost (`bcrypt cost=12`), most frequent first.
    pub fn accepted_by_hash(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, valid) in &self.accepted {
            let kind = valid.hash_info.map_or_else(
                || String::from("no password (identities only)"),
                |info| info.to_string(),
            );
            *counts.entry(kind).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }
}

/// Runs `tollgate import`.
///
/// # Errors
/// [`CliError::Io`] when the input, the `--existing` listing or the output cannot be read or
/// written; [`CliError::InvalidArgument`] when the `--existing` file is not a key listing;
/// [`CliError::ImportRejected`] with `strict` and any rejected line, or when nothing could be
/// imported; [`CliError::TerminalOutput`] when the bulk file would go to a terminal.
pub fn run(
    input: &Path,
    out: Option<&Path>,
    strict: bool,
    existing: Option<&Path>,
    roles: &Roles,
) -> Result<(), CliError> {
    // Checked before reading, so a forgotten --out fails at once rather than after the work.
    let output = Output::open(out)?;
    let existing = existing
        .map(|path| ExistingEmails::read(path).map(|emails| (path, emails)))
        .transpose()?;
    let mut check = read_input(input, roles)?;
    if let Some((_, emails)) = &existing {
        check.reject_existing(emails);
    }
    report(&check);
    match &existing {
        Some((path, emails)) => {
            eprintln!(
                "checked against {} existing accounts listed in {}",
                emails.len(),
                path.display()
            );
            if let Some(warning) = emails.truncation_warning() {
                eprintln!("{warning}");
            }
        }
        None => eprintln!(
            "note: not checked against accounts already in KV: loading an email that has one \
             points it at the new record and locks the old account out. To refuse those lines, \
             pass --existing <keys.json> made with `{LIST_COMMAND}`"
        ),
    }

    if strict && !check.rejected.is_empty() {
        return Err(CliError::ImportRejected {
            message: format!(
                "--strict: {} of {} lines rejected; nothing was written",
                check.rejected.len(),
                check.lines
            ),
            hint: "fix the lines reported above, or run without --strict to import the valid ones"
                .into(),
        });
    }
    if check.accepted.is_empty() {
        return Err(CliError::ImportRejected {
            message: format!(
                "no user could be imported from {} ({} lines, {} rejected); nothing was written",
                input.display(),
                check.lines,
                check.rejected.len()
            ),
            hint: "each line must be a JSON object with \"email\" and \"password_hash\"; \
                   see `tollgate import --help`"
                .into(),
        });
    }

    let mut rng = OsRandom::new()?;
    let now = now();
    let records: Vec<UserRecord> = check
        .accepted
        .into_iter()
        .map(|(_, valid)| UserRecord {
            disabled: valid.disabled,
            email_verified_at: valid.email_verified.then_some(now),
            identities: valid
                .identities
                .into_iter()
                .map(|(provider, subject, email)| LinkedIdentity {
                    provider,
                    subject,
                    email,
                    linked_at: now,
                })
                .collect(),
            ..new_user_record(valid.email, valid.password_hash, valid.role, now, &mut rng)
        })
        .collect();
    let mut output = output;
    if let Err(e) = write_bulk(output.writer(), &records) {
        return Err(output.write_error(&e));
    }
    let target = output.describe();
    output.finish()?;
    eprintln!(
        "wrote {} entries for {} users to {target}; load them with:\n  \
         npx wrangler kv bulk put --binding USERS --remote {target}   (production)\n  \
         npx wrangler kv bulk put --binding USERS --local --persist-to <dir> {target}   \
         (wrangler dev)",
        records.len() * 2,
        records.len()
    );
    Ok(())
}

/// Reads `input` (`-` for stdin) with a progress bar over its bytes.
fn read_input(input: &Path, roles: &Roles) -> Result<ImportCheck, CliError> {
    let read_error = |e: io::Error| CliError::io("reading", input, &e);
    if input.as_os_str() == "-" {
        let progress = ProgressBar::new_spinner();
        let check = ImportCheck::read(io::stdin().lock(), &progress, roles).map_err(read_error)?;
        progress.finish_and_clear();
        return Ok(check);
    }
    let file = File::open(input).map_err(read_error)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("checking {bar:40} {bytes}/{total_bytes} ({eta} left)")
    {
        progress.set_style(style);
    }
    let reader = BufReader::with_capacity(1 << 20, file);
    let check = ImportCheck::read(reader, &progress, roles).map_err(read_error)?;
    progress.finish_and_clear();
    Ok(check)
}

/// Prints every rejected line, then the summary, on stderr.
fn report(check: &ImportCheck) {
    for (line, rejection) in &check.rejected {
        eprintln!("line {line}: {}: {}", rejection.code(), rejection.detail());
    }
    eprintln!(
        "import: {} lines: {} users to import, {} lines rejected, {} blank lines skipped",
        check.lines,
        check.accepted.len(),
        check.rejected.len(),
        check.blank
    );
    let disabled = check.accepted.iter().filter(|(_, v)| v.disabled).count();
    if disabled > 0 {
        eprintln!(
            "  {disabled} of them disabled (is_active: false): they cannot log in until an admin \
             enables them (PUT /admin/users/{{id}}/disabled)"
        );
    }
    let rejected = check.rejected_by_reason();
    if !rejected.is_empty() {
        eprintln!("rejected by reason:");
        for (reason, count) in rejected {
            eprintln!("  {count:>8}  {reason}");
        }
    }
    let hashes = check.accepted_by_hash();
    if !hashes.is_empty() {
        eprintln!("password hashes to import (each is upgraded to argon2id at its first login):");
        for (format, count) in hashes {
            eprintln!("  {count:>8}  {format}");
        }
    }
    if !check.ignored_fields.is_empty() {
        let fields: Vec<String> = check
            .ignored_fields
            .iter()
            .map(|(name, count)| format!("{name:?} ({count} lines)"))
            .collect();
        eprintln!(
            "ignored fields (not part of a Tollgate user): {}",
            fields.join(", ")
        );
    }
    if !check.rejected.is_empty() {
        eprintln!(
            "warning: {} lines were not imported (see above)",
            check.rejected.len()
        );
    }
}

/// What to do about a refused hash, for the per-line report. The cost bounds are the core's,
/// the very ones a login in the Worker applies.
fn hash_advice(err: StoredHashError) -> String {
    match err {
        StoredHashError::UnknownFormat => "supported are argon2id, argon2i and argon2d PHC \
                                           strings and $2a$, $2b$ and $2y$ bcrypt"
            .into(),
        StoredHashError::CostTooHigh => format!(
            "verifying it would cost more than a login in a Worker may ({}); these users must \
             reset their password",
            cost_bounds()
        ),
        _ => "the hash is damaged or truncated; export it again".into(),
    }
}

/// The stored-hash cost bounds in words: `bcrypt cost <= 12; argon2 m <= 65536 KiB, ...`.
pub fn cost_bounds() -> String {
    format!(
        "bcrypt cost <= {MAX_BCRYPT_COST}; argon2 m <= {MAX_ARGON2_MEMORY_KIB} KiB, \
         t <= {MAX_ARGON2_ITERATIONS}, p <= {MAX_ARGON2_PARALLELISM}, \
         m x t <= {MAX_ARGON2_WORK_KIB} KiB"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pyca/bcrypt 5.0.0 `hashpw(b"pyca.bcrypt.2b-legacy-pw", gensalt(rounds=10))`, from
    /// tests/fixtures/legacy_users.jsonl.
    const BCRYPT: &str = "$2b$10$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW";

    fn check(line: &str) -> Result<Option<ValidLine>, Rejection> {
        check_line(line.as_bytes(), &Roles::default(), &mut BTreeMap::new())
    }

    #[test]
    fn accepts_a_line_normalising_the_email_and_defaulting_the_role() {
        let line = format!(r#"{{"email": " Sam@Example.COM ", "password_hash": "{BCRYPT}"}}"#);
        let valid = check(&line).ok().flatten();
        assert_eq!(
            valid.as_ref().map(|v| v.email.as_str()),
            Some("Sam@example.com")
        );
        assert_eq!(valid.as_ref().map(|v| v.role.as_str()), Some("user"));
        assert_eq!(
            valid
                .and_then(|v| v.hash_info)
                .map(|h| h.to_string())
                .as_deref(),
            Some("bcrypt cost=10")
        );
    }

    #[test]
    fn identities_ride_along_and_may_replace_the_password() {
        let line = r#"{"email": "g@example.com", "identities": [{"provider": "google", "subject": "1234", "email": "g@example.com"}]}"#;
        let valid = check(line).ok().flatten().unwrap();
        assert_eq!(valid.hash_info, None);
        assert_eq!(valid.password_hash, "");
        assert_eq!(
            valid.identities,
            [("google".into(), "1234".into(), Some("g@example.com".into()))]
        );
        for bad in [
            r#"{"email": "g@example.com"}"#,
            r#"{"email": "g@example.com", "identities": []}"#,
            r#"{"email": "g@example.com", "identities": {"provider": "google"}}"#,
            r#"{"email": "g@example.com", "identities": [{"provider": "Google", "subject": "1"}]}"#,
            r#"{"email": "g@example.com", "identities": [{"provider": "google", "subject": ""}]}"#,
            r#"{"email": "g@example.com", "identities": [{"provider": "google", "subject": "1"}, {"provider": "google", "subject": "2"}]}"#,
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_identity_on_two_lines_rejects_both() -> io::Result<()> {
        let input = format!(
            "{}\n{}\n{}\n",
            r#"{"email": "a@example.com", "identities": [{"provider": "gh", "subject": "7"}]}"#,
            r#"{"email": "b@example.com", "identities": [{"provider": "gh", "subject": "7"}]}"#,
            r#"{"email": "c@example.com", "identities": [{"provider": "gh", "subject": "8"}]}"#,
        );
        let check = ImportCheck::read(input.as_bytes(), &ProgressBar::hidden(), &Roles::default())?;
        assert_eq!(check.accepted.len(), 1);
        let codes: Vec<_> = check.rejected.iter().map(|(l, r)| (*l, r.code())).collect();
        assert_eq!(
            codes,
            [(1, "invalid_identities"), (2, "invalid_identities")]
        );
        Ok(())
    }

    #[test]
    fn rejects_each_kind_of_bad_line_with_its_code() {
        let h = BCRYPT;
        for (line, code) in [
            ("{", "invalid_json"),
            ("[1, 2]", "not_an_object"),
            ("\"sam@example.com\"", "not_an_object"),
            (&format!(r#"{{"password_hash": "{h}"}}"#), "missing_field"),
            (r#"{"email": "sam@example.com"}"#, "missing_field"),
            (
                r#"{"email": "sam@example.com", "password_hash": null}"#,
                "missing_field",
            ),
            (
                &format!(r#"{{"email": 7, "password_hash": "{h}"}}"#),
                "wrong_type",
            ),
            (
                &format!(r#"{{"email": "a@b.io", "password_hash": "{h}", "role": 1}}"#),
                "wrong_type",
            ),
            (
                &format!(r#"{{"email": "not-an-email", "password_hash": "{h}"}}"#),
                "invalid_email",
            ),
            (
                r#"{"email": "a@b.io", "password_hash": "pbkdf2_sha256$1$a$b"}"#,
                "invalid_password_hash",
            ),
            (
                r#"{"email": "a@b.io", "password_hash": "$2b$16$oIlDkrAhXqG/3F7T/PYPvez9Xk0YV6M/kG/xMYDEF5lvfd8xQ2cbW"}"#,
                "invalid_password_hash",
            ),
            (
                r#"{"email": "a@b.io", "password_hash": "$2b$10$short"}"#,
                "invalid_password_hash",
            ),
            (
                &format!(r#"{{"email": "a@b.io", "password_hash": "{h}", "role": "Admin"}}"#),
                "invalid_role",
            ),
            (
                &format!(r#"{{"email": "a@b.io", "password_hash": "{h}", "role": "root"}}"#),
                "invalid_role",
            ),
        ] {
            assert_eq!(check(line).map_err(|r| r.code()), Err(code), "{line}");
        }
        assert_eq!(
            check_line(b"\xff{}", &Roles::default(), &mut BTreeMap::new()).map_err(|r| r.code()),
            Err("invalid_utf8")
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_unknown_fields_counted() {
        let mut ignored = BTreeMap::new();
        assert_eq!(
            check_line(b"   \t", &Roles::default(), &mut ignored),
            Ok(None)
        );
        let line = format!(
            r#"{{"email": "a@b.io", "password_hash": "{BCRYPT}", "id": 4, "is_active": true}}"#
        );
        assert!(matches!(
            check_line(line.as_bytes(), &Roles::default(), &mut ignored),
            Ok(Some(_))
        ));
        assert_eq!(ignored.keys().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn every_line_of_a_duplicated_email_is_rejected_naming_the_others() -> io::Result<()> {
        let input = format!(
            "{{\"email\":\"Dup@Example.com\",\"password_hash\":\"{h}\"}}\n\
             {{\"email\":\"solo@example.com\",\"password_hash\":\"{h}\"}}\n\
             \n\
             {{\"email\":\"Dup@example.com\",\"password_hash\":\"{h}\"}}\r\n\
             {{\"email\":\"Dup@EXAMPLE.com\",\"password_hash\":\"{h}\",\"role\":\"admin\"}}",
            h = BCRYPT
        );
        let check = ImportCheck::read(input.as_bytes(), &ProgressBar::hidden(), &Roles::default())?;
        assert_eq!((check.lines, check.blank), (5, 1));
        assert_eq!(
            check.accepted.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            [2]
        );
        let rejected: Vec<(usize, Vec<usize>)> = check
            .rejected
            .iter()
            .map(|(line, r)| match r {
                Rejection::DuplicateEmail { others, .. } => {
                    (*line, others.iter().map(|(l, _)| *l).collect())
                }
                _ => (*line, vec![]),
            })
            .collect();
        assert_eq!(
            rejected,
            [(1, vec![4, 5]), (4, vec![1, 5]), (5, vec![1, 4])]
        );
        Ok(())
    }

    /// The user report of issue 19: `SAM@example.com` and `sam@example.com` were two accounts.
    #[test]
    fn addresses_that_differ_only_by_case_are_one_address_reported_by_line() -> io::Result<()> {
        let input = format!(
            "{{\"email\":\"SAM@example.com\",\"password_hash\":\"{h}\"}}\n\
             {{\"email\":\"ann@example.com\",\"password_hash\":\"{h}\"}}\n\
             {{\"email\":\"sam@Example.COM\",\"password_hash\":\"{h}\"}}\n\
             {{\"email\":\"Legacy.Admin@Example.COM\",\"password_hash\":\"{h}\"}}\n",
            h = BCRYPT
        );
        let check = ImportCheck::read(input.as_bytes(), &ProgressBar::hidden(), &Roles::default())?;
        let accepted: Vec<(usize, &str)> = check
            .accepted
            .iter()
            .map(|(l, v)| (*l, v.email.as_str()))
            .collect();
        // Kept as typed (domain lower-cased): the bulk file indexes them under their keys.
        assert_eq!(
            accepted,
            [(2, "ann@example.com"), (4, "Legacy.Admin@example.com")]
        );
        let details: Vec<(usize, &str, String)> = check
            .rejected
            .iter()
            .map(|(l, r)| (*l, r.code(), r.detail()))
            .collect();
        assert_eq!(
            details,
            [
                (
                    1,
                    "duplicate_email",
                    "\"SAM@example.com\" is also on line 3 (as \"sam@example.com\") (emails are \
                     compared in any case: these are one address); none of them was imported"
                        .to_string()
                ),
                (
                    3,
                    "duplicate_email",
                    "\"sam@example.com\" is also on line 1 (as \"SAM@example.com\") (emails are \
                     compared in any case: these are one address); none of them was imported"
                        .to_string()
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn a_byte_order_mark_on_the_first_line_is_ignored() -> io::Result<()> {
        let input = format!("\u{feff}{{\"email\":\"a@b.io\",\"password_hash\":\"{BCRYPT}\"}}\n");
        let check = ImportCheck::read(input.as_bytes(), &ProgressBar::hidden(), &Roles::default())?;
        assert_eq!(check.accepted.len(), 1);
        Ok(())
    }

    #[test]
    fn foreign_formats_get_a_hint_saying_what_to_do() {
        let django = r#"{"email": "a@b.io", "password_hash": "argon2$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"}"#;
        let detail = check(django).err().map(|r| r.detail()).unwrap_or_default();
        assert!(detail.contains("remove the leading \"argon2\""), "{detail}");
    }
}
