//! Email addresses as identities: one normalised form per account.
//!
//! The normalised form is the identity key (the `email:` index in storage), so two spellings
//! that reach the same mailbox for every mail system must normalise alike, and nothing that
//! some systems treat as distinct may be merged. Hence: surrounding whitespace is trimmed and
//! the domain's ASCII letters are lower-cased (domains are case-insensitive, RFC 5321 §2.4, and
//! DNS compares names case-insensitively in ASCII only, RFC 4343 §3); the local part is kept
//! exactly as typed (it is case-sensitive by the same section, and providers disagree on dots
//! and `+tags`).
//!
//! Non-ASCII letters of an internationalised domain are kept as typed, like the local part:
//! folding them correctly is IDNA's mapping (UTS #46), not Unicode lower-casing, and Unicode's
//! case tables alone were a thirtieth of the Worker's upload. So `sam@BÜCHER.de` normalises
//! to `sam@bÜcher.de`, an identity apart from `sam@bücher.de`, as `Sam@` and `sam@` are.

use alloc::string::String;

use crate::error::{Error, ErrorCode};
use crate::limits::MAX_EMAIL_BYTES;

/// Longest local part, in bytes (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_BYTES: usize = 64;

/// Longest domain label, in bytes (RFC 1035 §2.3.4).
pub const MAX_LABEL_BYTES: usize = 63;

/// Normalises an email address for use as an account identity.
///
/// Accepts `local@domain` where the local part is a dot-atom of printable characters
/// (RFC 5322 `atext`, plus non-ASCII for internationalised addresses) and the domain has at
/// least two labels of letters, digits and inner hyphens (or non-ASCII), with a non-numeric
/// top-level label. Quoted local parts and address literals (`[192.0.2.1]`) are refused:
/// no sign-up form needs them, and each is a source of confusion.
///
/// The address (trimmed) must fit in [`MAX_EMAIL_BYTES`]; ASCII lower-casing keeps every
/// byte count, so the normalised form, which is what gets stored and used as a key, fits too.
///
/// # Errors
/// [`Error::Validation`] with field `email` and code [`ErrorCode::InvalidEmail`].
pub fn normalize_email(input: &str) -> Result<String, Error> {
    let invalid = || Error::field("email", ErrorCode::InvalidEmail);
    let trimmed = input.trim();
    // Checked before any work too, so a megabyte of input is refused without lower-casing it.
    if trimmed.is_empty() || trimmed.len() > MAX_EMAIL_BYTES {
        return Err(invalid());
    }
    let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
    if domain.contains('@') || !is_dot_atom(local, MAX_LOCAL_PART_BYTES, is_local_char) {
        return Err(invalid());
    }
    let domain = domain.to_ascii_lowercase();
    if local.len() + 1 + domain.len() > MAX_EMAIL_BYTES || !is_domain(&domain) {
        return Err(invalid());
    }
    let mut out = String::with_capacity(local.len() + 1 + domain.len());
    out.push_str(local);
    out.push('@');
    out.push_str(&domain);
    Ok(out)
}

/// `atom *("." atom)`, at most `max` bytes, each atom made of `allowed` characters.
fn is_dot_atom(s: &str, max: usize, allowed: fn(char) -> bool) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(allowed))
}

/// RFC 5322 `atext`, plus any non-ASCII, non-control character (RFC 6531 internationalised
/// local parts).
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
}

fn is_domain(domain: &str) -> bool {
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        let bytes = label.as_bytes();
        let ok_chars = label.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
        });
        if label.is_empty()
            || label.len() > MAX_LABEL_BYTES
            || !ok_chars
            || bytes[0] == b'-'
            || bytes[bytes.len() - 1] == b'-'
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    // `user@localhost` and `user@123` are not addresses a public sign-up should take.
    labels >= 2 && !last.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn normalises_by_trimming_and_lowercasing_only_the_domain() {
        for (input, want) in [
            ("sam@example.com", "sam@example.com"),
            ("  Sam@Example.COM \n", "Sam@example.com"),
            (
                "first.last+tag@sub.example.co.uk",
                "first.last+tag@sub.example.co.uk",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
            ("josé@EXAMPLE.com", "josé@example.com"),
            ("user@Bücher.Example", "user@bücher.example"),
            ("a@b.io", "a@b.io"),
        ] {
            assert_eq!(normalize_email(input).as_deref(), Ok(want), "{input:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_what_is_not_an_address() {
        let long_local = alloc::format!("{}@example.com", "a".repeat(65));
        let long_total = alloc::format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        let long_label = alloc::format!("a@{}.com", "b".repeat(64));
        for input in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "sam@",
            "sam@@example.com",
            "a@b@example.com",
            "sam@localhost",
            "sam@example",
            "sam@123.456",
            "sam@-example.com",
            "sam@example-.com",
            "sam@exa_mple.com",
            "sam@.example.com",
            "sam@example..com",
            "sam@example.com.",
            ".sam@example.com",
            "sam.@example.com",
            "sa..m@example.com",
            "\"sam\"@example.com",
            "sam@[192.0.2.1]",
            "sa m@example.com",
            "sam@exa mple.com",
            "sam\u{0}@example.com",
            "sam(comment)@example.com",
            "sam@example.com\u{7f}",
            &long_local,
            &long_total,
            &long_label,
        ] {
            assert_eq!(
                normalize_email(input),
                Err(Error::field("email", ErrorCode::InvalidEmail)),
                "{input:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn only_ascii_letters_of_the_domain_are_folded() {
        assert_eq!(
            normalize_email("Sam@BÜCHER.EXAMPLE").as_deref(),
            Ok("Sam@bÜcher.example")
        );
        assert_eq!(
            normalize_email("sam@bücher.example").as_deref(),
            Ok("sam@bücher.example")
        );
        // Folding never changes the length, so the limit on the input is the limit on the key.
        let address = alloc::format!(
            "{}@{}.{}.{}.ȺȺ.COM",
            "l".repeat(64),
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(52)
        );
        assert_eq!(address.len(), 254);
        assert_eq!(normalize_email(&address).map(|e| e.len()), Ok(254));
        let longer = alloc::format!("{address}x");
        assert!(normalize_email(&longer).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn accepts_the_longest_legal_address() {
        // 64-byte local part and a 254-byte total, the RFC 5321 limits.
        let local = "l".repeat(64);
        let domain = alloc::format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(57)
        );
        let email = alloc::format!("{local}@{domain}");
        assert_eq!(email.len(), 254);
        assert_eq!(normalize_email(&email).as_deref(), Ok(email.as_str()));
        assert!(normalize_email(&alloc::format!("{email}m")).is_err());
    }
}
