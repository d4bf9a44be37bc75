//! Reading a compact JWT **without verifying it**: shape checks and base64url decoding.
//!
//! The server's verifier runs these checks first, before any JSON or crypto work, and the
//! browser client uses [`decode_unverified`] to show claims. Nothing decoded here has been
//! authenticated: decoded claims are for display and scheduling, never for authorization.
//!
//! The base64url decoder is written out here rather than taken from a crate because it must
//! be strict (canonical, unpadded, RFC 7515 §2) and because the browser build counts bytes.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::TokenRejection;
use crate::limits::MAX_TOKEN_BYTES;

/// The three segments of a compact JWS, checked for shape but not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactParts<'a> {
    /// The base64url-encoded JOSE header.
    pub header: &'a str,
    /// The base64url-encoded payload.
    pub payload: &'a str,
    /// The base64url-encoded signature.
    pub signature: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
}

/// Splits `token` into its three segments.
///
/// Rejects, before any decoding: tokens over [`MAX_TOKEN_BYTES`]
/// ([`TokenRejection::Oversized`]), and anything not of the form
/// `[A-Za-z0-9_-]+.[A-Za-z0-9_-]+.[A-Za-z0-9_-]+` ([`TokenRejection::Shape`]): padding,
/// whitespace, a fourth segment and an empty signature (`alg: none`) all fail here.
pub fn split_compact(token: &str) -> Result<CompactParts<'_>, TokenRejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenRejection::Oversized);
    }
    let bytes = token.as_bytes();
    let mut dots = [0usize; 2];
    let mut found = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            if found == 2 {
                return Err(TokenRejection::Shape);
            }
            dots[found] = i;
            found += 1;
        } else if !is_base64url_byte(b) {
            return Err(TokenRejection::Shape);
        }
    }
    if found != 2 {
        return Err(TokenRejection::Shape);
    }
    let (d1, d2) = (dots[0], dots[1]);
    if d1 == 0 || d2 == d1 + 1 || d2 + 1 == bytes.len() {
        return Err(TokenRejection::Shape);
    }
    Ok(CompactParts {
        header: &token[..d1],
        payload: &token[d1 + 1..d2],
        signature: &token[d2 + 1..],
        signing_input: &token[..d2],
    })
}

/// Decodes the payload of `token` to its JSON text, **without verifying the signature**.
///
/// For display and refresh scheduling only. Returns the payload's UTF-8 text; checking that
/// it is a JSON object is the caller's job (the browser hands it to `JSON.parse`).
///
/// # Errors
/// [`TokenRejection::Oversized`], [`TokenRejection::Shape`], [`TokenRejection::Base64`], or
/// [`TokenRejection::Json`] when the payload is not UTF-8 or cannot start a JSON object.
pub fn decode_unverified(token: &str) -> Result<String, TokenRejection> {
    let parts = split_compact(token)?;
    let bytes = decode_base64url(parts.payload)?;
    let text = String::from_utf8(bytes).map_err(|_| TokenRejection::Json)?;
    if !text.trim_start().starts_with('{') {
        return Err(TokenRejection::Json);
    }
    Ok(text)
}

/// Decodes canonical, unpadded base64url (RFC 4648 §5, as RFC 7515 §2 requires).
///
/// Rejects padding, characters outside the URL-safe alphabet, impossible lengths (1 mod 4)
/// and non-canonical encodings whose unused trailing bits are not zero: two different strings
/// never decode to the same bytes.
pub fn decode_base64url(input: &str) -> Result<Vec<u8>, TokenRejection> {
    let bytes = input.as_bytes();
    if bytes.len() % 4 == 1 {
        return Err(TokenRejection::Base64);
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let mut chunks = bytes.chunks_exact(4);
    for chunk in &mut chunks {
        let n = (sextet(chunk[0])? << 18)
            | (sextet(chunk[1])? << 12)
            | (sextet(chunk[2])? << 6)
            | sextet(chunk[3])?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match *chunks.remainder() {
        [] => {}
        [a, b] => {
            let n = (sextet(a)? << 18) | (sextet(b)? << 12);
            if n & 0xFFFF != 0 {
                return Err(TokenRejection::Base64);
            }
            out.push((n >> 16) as u8);
        }
        [a, b, c] => {
            let n = (sextet(a)? << 18) | (sextet(b)? << 12) | (sextet(c)? << 6);
            if n & 0xFF != 0 {
                return Err(TokenRejection::Base64);
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => return Err(TokenRejection::Base64),
    }
    Ok(out)
}

/// Encodes `input` as unpadded base64url (RFC 4648 §5).
pub fn encode_base64url(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn is_base64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn sextet(b: u8) -> Result<u32, TokenRejection> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return Err(TokenRejection::Base64),
    };
    Ok(u32::from(v))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    // RFC 4648 §10 test vectors, in the URL-safe alphabet without padding.
    const RFC4648: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ];

    #[wasm_bindgen_test(unsupported = test)]
    fn base64url_round_trips_rfc4648_vectors() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(encode_base64url(plain.as_bytes()), *encoded);
            assert_eq!(decode_base64url(encoded).as_deref(), Ok(plain.as_bytes()));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64url_uses_the_url_safe_alphabet() {
        assert_eq!(encode_base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_base64url("-_8"), Ok(alloc::vec![0xfb, 0xff]));
        assert_eq!(decode_base64url("+/8"), Err(TokenRejection::Base64));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64url_rejects_padding_bad_lengths_and_noncanonical_bits() {
        // "Zh", "Zm9" and "Zm-" differ from the canonical "Zg" and "Zm8" only in unused low
        // bits: accepting them would let one token have several spellings.
        for bad in [
            "Zg==", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm-", " Zg", "Zg\n", "Zg.", "Z*",
        ] {
            assert_eq!(
                decode_base64url(bad),
                Err(TokenRejection::Base64),
                "{bad:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn split_compact_accepts_three_nonempty_segments() {
        let parts = split_compact("aaa.bbb.ccc").unwrap();
        assert_eq!(
            (parts.header, parts.payload, parts.signature),
            ("aaa", "bbb", "ccc")
        );
        assert_eq!(parts.signing_input, "aaa.bbb");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn split_compact_rejects_everything_else() {
        let oversized = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(split_compact(&oversized), Err(TokenRejection::Oversized));
        for bad in [
            "", "a", "a.b", "a.b.", ".b.c", "a..c", "a.b.c.d", "a.b.c=", "a.b .c", " a.b.c",
            "a.b.c\n", "a.b+.c", "a.b/.c", "a.b.c.", "a.é.c",
        ] {
            assert_eq!(split_compact(bad), Err(TokenRejection::Shape), "{bad:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decode_unverified_returns_the_payload_text() {
        // RFC 7515 Appendix A.1's token: its payload is a JSON object with iss, exp and a
        // private claim, written with CRLF line breaks.
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            decode_unverified(token).unwrap(),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decode_unverified_rejects_non_objects_and_non_utf8() {
        let seg = |s: &[u8]| encode_base64url(s);
        let token = |payload: &[u8]| alloc::format!("e30.{}.c2ln", seg(payload));
        assert_eq!(decode_unverified(&token(b"[1]")), Err(TokenRejection::Json));
        assert_eq!(
            decode_unverified(&token(b"\"s\"")),
            Err(TokenRejection::Json)
        );
        assert_eq!(
            decode_unverified(&token(&[0xff, b'{'])),
            Err(TokenRejection::Json)
        );
        assert_eq!(decode_unverified(&token(b" {}")).as_deref(), Ok(" {}"));
    }
}
