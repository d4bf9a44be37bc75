//! Reading a password: from a no-echo prompt on a terminal, or from piped stdin. Never from
//! argv, where `ps`, shell history and CI logs would keep it.

use std::io::{self, IsTerminal, Read};

use tollgate_core::limits::MAX_PASSWORD_BYTES;

use crate::error::CliError;

/// Whether a terminal prompt asks twice: for choosing a password, not for checking one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Ask twice and require the same answer.
    Twice,
    /// Ask once.
    Once,
}

/// Reads a password: a no-echo prompt when stdin is a terminal, otherwise all of stdin.
///
/// Piped input must be one line; a single trailing `\n` or `\r\n` is removed (what `echo` and
/// most files add) and nothing else is trimmed: spaces are part of the password.
///
/// # Errors
/// [`CliError::PasswordInput`] when the input is empty, has more than one line, is longer than
/// the core accepts, is not UTF-8, or the two prompts differ; [`CliError::Io`] when reading fails.
pub fn read_password(confirm: Confirm) -> Result<String, CliError> {
    let password = if io::stdin().is_terminal() {
        let first = prompt("Password: ")?;
        if confirm == Confirm::Twice && prompt("Repeat password: ")? != first {
            return Err(password_error(
                "the two passwords differ",
                "type the same password twice",
            ));
        }
        first
    } else {
        from_piped(io::stdin().lock())?
    };
    if password.is_empty() {
        return Err(password_error(
            "no password was given",
            "type it at the prompt, or pipe it on stdin: `printf '%s\\n' \"$PASSWORD\" | tollgate ...`",
        ));
    }
    Ok(password)
}

fn prompt(label: &str) -> Result<String, CliError> {
    rpassword::prompt_password(label).map_err(|e| CliError::io_on("reading the password", &e))
}

/// The password in `input`: one line, its line ending removed.
fn from_piped(input: impl Read) -> Result<String, CliError> {
    // One byte past the limit tells "too long" from "exactly at the limit" without reading
    // an unbounded stream into memory; the extra two allow for the line ending.
    let limit = MAX_PASSWORD_BYTES + 3;
    let mut bytes = Vec::new();
    input
        .take(limit as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io_on("reading the password from stdin", &e))?;
    let mut text = String::from_utf8(bytes).map_err(|_| {
        password_error(
            "the password on stdin is not UTF-8",
            "pipe it as UTF-8 text",
        )
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.contains('\n') {
        return Err(password_error(
            "stdin holds more than one line",
            "pipe exactly one line: the password",
        ));
    }
    if text.len() > MAX_PASSWORD_BYTES {
        return Err(password_error(
            format!("the password is longer than {MAX_PASSWORD_BYTES} bytes"),
            "use a shorter password",
        ));
    }
    Ok(text)
}

fn password_error(message: impl Into<String>, hint: impl Into<String>) -> CliError {
    CliError::PasswordInput {
        message: message.into(),
        hint: hint.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_passwords_lose_one_line_ending_and_nothing_else() {
        for (input, want) in [
            ("hunter22\n", "hunter22"),
            ("hunter22\r\n", "hunter22"),
            ("hunter22", "hunter22"),
            ("  spaced out  \n", "  spaced out  "),
            ("trailing blank\n\n", ""),
        ] {
            match from_piped(input.as_bytes()) {
                Ok(got) => assert_eq!(got, want, "{input:?}"),
                Err(e) => assert!(
                    want.is_empty() && e.code() == "password_input",
                    "{input:?}: {e}"
                ),
            }
        }
    }

    #[test]
    fn piped_input_must_be_one_short_utf8_line() {
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        for input in [b"two\nlines\n".as_slice(), b"\xff\xfe\n", long.as_bytes()] {
            let err = from_piped(input).err();
            assert_eq!(err.map(|e| e.code()), Some("password_input"), "{input:?}");
        }
        let at_limit = "x".repeat(MAX_PASSWORD_BYTES);
        assert_eq!(from_piped(at_limit.as_bytes()).ok(), Some(at_limit));
    }
}
