//! Email addresses as identities: one key per account, whatever the case it is typed in.
//!
//! An address has two forms here:
//! - the **address** ([`normalize_email`]): trimmed, with the domain's ASCII letters
//!   lower-cased (domains are case-insensitive, RFC 5321 §2.4, as DNS compares names, RFC 4343
//!   §3), the local part as typed. It is what the account stores (`UserRecord::email`), shows
//!   and is mailed at: RFC 5321 §2.4 lets a mail system treat `Sam@` and `sam@` as different
//!   mailboxes, so mail goes to the spelling its owner gave.
//! - the **key** ([`fold_email`]): the whole address with its ASCII letters lower-cased. It
//!   is the identity (the `email:` index, the address's claim object, the login throttle's
//!   account), so `SAM@example.com` and `sam@example.com` are one account. RFC 5321 lets a
//!   local part be case-sensitive, but the mailboxes people use are not, the auth services
//!   users compare Tollgate with match addresses case-insensitively, and people type their
//!   address in whatever case a keyboard or autocomplete gives: two accounts for one
//!   mailbox, or a login refused for a capital letter, are the harms that happen; two people
//!   whose mailboxes differ only by case are not. Dots and `+tags` are kept: providers
//!   disagree on them, so merging them would be wrong for some.
//!
//! Before this rule the key was the address itself (local part as typed). Index entries of
//! that rule keep working: [`Email::legacy_key`] is the key they were written under, which a
//! login looks up beside the folded one (see `crate::flows`).
//!
//! Only ASCII letters are folded. `JOSÉ@example.com` and `josé@example.com` stay two
//! identities, as do `sam@BÜCHER.example` and `sam@bücher.example`: a documented limitation,
//! chosen on cost. Unicode lower-casing (`str::to_lowercase`) brings Unicode's case tables
//! into the Worker: measured with `wrangler deploy --dry-run`, 17.6 KiB more upload (10.6 KiB
//! gzipped, 3.6 % of the Worker; 296.6 against 307.2 KiB). And it would still not make
//! non-ASCII addresses compare as their owners expect: that takes full case folding (`ß`,
//! final sigma) and Unicode normalisation (a composed `é` against `e` + combining accent),
//! and for domains IDNA's mapping (UTS #46), each more tables again. Internationalised local
//! parts are rare, and an address is refused nowhere for having one: it is only matched in
//! the case it was registered with.

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
/// byte count, so the normalised form, which is what gets stored, and its key
/// ([`fold_email`]) fit too.
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

/// An address as an account holds it and the key it is found by (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// Trimmed, domain lower-cased, local part as typed: stored, shown, mailed at.
    pub address: String,
    /// The whole address case-folded: the identity ([`fold_email`]).
    pub key: String,
}

impl Email {
    /// The key an index entry for this address had under the previous rule (the address
    /// itself), when that differs from [`Email::key`]; `None` when the two are one key.
    pub fn legacy_key(&self) -> Option<&str> {
        (self.address != self.key).then_some(self.address.as_str())
    }

    /// The address an account stores (`UserRecord::email`) with its key: no parsing, since
    /// it was checked when the account was made (and a record written by hand is taken as
    /// it is).
    pub fn of_stored(address: &str) -> Email {
        Email {
            address: address.into(),
            key: fold_email(address),
        }
    }
}

/// Parses an address typed by a user into its stored form and its key.
///
/// # Errors
/// As [`normalize_email`].
pub fn parse_email(input: &str) -> Result<Email, Error> {
    let address = normalize_email(input)?;
    let key = fold_email(&address);
    Ok(Email { address, key })
}

/// The identity key of an address [`normalize_email`] returned: its ASCII letters
/// lower-cased, nothing else changed (see the module docs for why not Unicode's). Any string
/// folds: the login throttle folds what was typed even when it is not an address.
pub fn fold_email(address: &str) -> String {
    address.to_ascii_lowercase()
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
    fn the_key_folds_the_whole_address_and_the_address_keeps_the_local_part() {
        for (input, address, key) in [
            ("sam@example.com", "sam@example.com", "sam@example.com"),
            ("  Sam@Example.COM \n", "Sam@example.com", "sam@example.com"),
            ("SAM@EXAMPLE.COM", "SAM@example.com", "sam@example.com"),
            (
                "Legacy.Admin+Tag@Example.COM",
                "Legacy.Admin+Tag@example.com",
                "legacy.admin+tag@example.com",
            ),
            // ASCII letters only: the non-ASCII ones are compared as typed.
            ("JOSÉ@example.com", "JOSÉ@example.com", "josÉ@example.com"),
            (
                "Sam@BÜCHER.example",
                "Sam@bÜcher.example",
                "sam@bÜcher.example",
            ),
        ] {
            let email = parse_email(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
            assert_eq!((email.address.as_str(), email.key.as_str()), (address, key));
            assert_eq!(fold_email(&email.address), email.key);
            assert_eq!(Email::of_stored(address), email);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_old_rules_key_is_named_only_where_it_differs() {
        let mixed = parse_email("Sam@Example.com").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(mixed.legacy_key(), Some("Sam@example.com"));
        let lower = parse_email("sam@EXAMPLE.com").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(lower.legacy_key(), None);
        assert_eq!(
            parse_email("not an email"),
            Err(Error::field("email", ErrorCode::InvalidEmail))
        );
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
