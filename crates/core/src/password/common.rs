//! The list of common passwords that registration refuses.
//!
//! `common_passwords.txt` holds 3,395 lowercase entries: every password of at least 8
//! characters among the 10,000 most common of the `passwords` frequency list shipped in the
//! npm package zxcvbn 4.4.2 (`lib/frequency_lists.js`; zxcvbn is MIT-licensed, Copyright (c)
//! 2012-2016 Dan Wheeler and Dropbox, Inc., and credits the list to Mark Burnett's 10M password
//! corpus). Shorter entries are left out because the length rule refuses them already; the
//! file is about 32 KB, which the Worker's wasm carries.
//!
//! To regenerate it: `npm pack zxcvbn@4.4.2`, extract, then take
//! `require("./package/lib/frequency_lists.js").passwords.slice(0, 10000)`, keep entries of
//! 8 or more characters, sort with `LC_ALL=C sort -u`, and put the `# ` header lines back on
//! top. A test checks that the body is sorted, unique and lowercase.
//!
//! Matching is case-insensitive: `Password1` and `PASSWORD1` are as guessable as `password1`,
//! and crackers try case variants first. The list is ASCII, so folding ASCII letters finds
//! every match Unicode lower-casing would, but for the one non-ASCII character whose lowercase
//! is an ASCII letter, U+212A KELVIN SIGN, folded to `k` here too; Unicode's case tables are
//! not linked for this. Only the comparison uses the folded form; the password that is
//! hashed is never altered.

use alloc::string::String;
use core::cmp::Ordering;

/// The shipped file: `# ` header lines, then one entry per line, sorted by byte value.
const LIST: &str = include_str!("common_passwords.txt");

/// Whether `password`, case-folded, is on the list.
pub(crate) fn is_common(password: &str) -> bool {
    /// U+212A KELVIN SIGN, whose Unicode lowercase is ASCII `k`.
    const KELVIN_SIGN: char = '\u{212A}';
    let folded: String = password
        .chars()
        .map(|c| {
            if c == KELVIN_SIGN {
                'k'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    contains_line(entries(), &folded)
}

/// The list without its header: every line after the leading `# ` lines.
pub(crate) fn entries() -> &'static str {
    let mut rest = LIST;
    while rest.starts_with("# ") {
        rest = match rest.find('\n') {
            Some(end) => rest.get(end + 1..).unwrap_or_default(),
            None => "",
        };
    }
    rest
}

/// Binary search for the line `needle` in `sorted`, newline-separated lines in byte order.
///
/// Works on byte offsets so the list needs no index built at startup: each step takes the
/// line around the midpoint of the remaining range and halves the range around it.
pub(crate) fn contains_line(sorted: &str, needle: &str) -> bool {
    let bytes = sorted.as_bytes();
    let needle = needle.as_bytes();
    // Invariant: `lo` and `hi` are line starts (or the end), and the needle, if present, is a
    // line in `lo..hi`.
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let before = bytes.get(lo..mid).unwrap_or_default();
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let after = bytes.get(start..hi).unwrap_or_default();
        let end = after
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |i| start + i);
        let line = bytes.get(start..end).unwrap_or_default();
        match line.cmp(needle) {
            Ordering::Equal => return true,
            Ordering::Less => lo = end + 1,
            Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn list_is_sorted_unique_lowercase_and_long_enough_to_matter() {
        let lines: alloc::vec::Vec<&str> = entries().lines().collect();
        assert_eq!(lines.len(), 3_395);
        assert!(entries().ends_with('\n'));
        for pair in lines.windows(2) {
            assert!(pair[0] < pair[1], "not sorted or repeated: {pair:?}");
        }
        for line in &lines {
            assert!(line.chars().count() >= 8, "{line:?} is shorter than 8");
            assert_eq!(*line, line.to_lowercase(), "{line:?} is not lowercase");
            // `is_common` folds ASCII letters only, which finds every entry only while the
            // list is ASCII.
            assert!(line.is_ascii(), "{line:?} is not ASCII");
            assert!(!line.starts_with('#') && !line.contains(char::is_whitespace));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn matching_ignores_case_as_unicode_lowercasing_would() {
        assert!(is_common("password1"));
        assert!(is_common("PassWord1"));
        assert!(is_common("PASSWORD1"));
        // U+212A KELVIN SIGN lower-cases to ASCII `k` in Unicode, so it is folded too.
        assert!(is_common("\u{212A}ILLER123"));
        assert!(is_common("dar\u{212A}ness"));
        assert!(!is_common("passwörd1"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn binary_search_finds_every_entry_and_nothing_else() {
        let list = entries();
        // The oracle: the standard library's binary search over the collected lines.
        let lines: alloc::vec::Vec<&str> = list.lines().collect();
        for line in &lines {
            assert!(contains_line(list, line), "{line:?} not found");
            // Neighbours of an entry: a prefix and an extension, usually but not always absent.
            let prefix = &line[..line.len() - 1];
            let extended = alloc::format!("{line}~");
            for near in [prefix, extended.as_str()] {
                let expected = lines.binary_search(&near).is_ok();
                assert_eq!(contains_line(list, near), expected, "{near:?}");
            }
        }
        for absent in [
            "",
            "\n",
            "a",
            "~~~~~~~~",
            "!",
            "correct horse battery staple",
        ] {
            assert!(!contains_line(list, absent), "{absent:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn binary_search_handles_tiny_lists() {
        assert!(!contains_line("", "a"));
        assert!(contains_line("a\n", "a"));
        assert!(contains_line("a\nb\nc\n", "c"));
        assert!(contains_line("a\nb\nc", "c"));
        assert!(!contains_line("a\nb\nc\n", "bb"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn header_names_source_and_licence() {
        let header = &LIST[..LIST.len() - entries().len()];
        assert!(header.contains("zxcvbn 4.4.2") && header.contains("MIT"));
        assert!(header.lines().all(|l| l.starts_with("# ")));
    }
}
