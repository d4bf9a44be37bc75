//! The JOSE header (RFC 7515 §4), read strictly and judged before any key is touched.
//!
//! Nothing in a header is trusted to choose how a token is checked: `alg` must match the key
//! the verifier already picked, `kid` only names one of the configured keys, and members that
//! point at keys (`jwk`, `jku`, `x5u`, `x5c`) or demand extensions (`crit`) reject the token
//! outright, because following them is how forged tokens get accepted.

use alloc::borrow::Cow;

use serde::de::MapAccess;

use super::jws::Algorithm;
use super::strict_json::{self, AnyValue, Members, Reason, TextSeed};
use crate::error::TokenRejection;

/// The header members the verifier acts on, borrowed from the decoded header when possible.
#[derive(Debug)]
pub(crate) struct Header<'h> {
    /// The algorithm the header claims (already known to be one Tollgate supports).
    pub(crate) alg: Algorithm,
    /// The `typ` member, if any.
    pub(crate) typ: Option<Cow<'h, str>>,
    /// The `kid` member, if any.
    pub(crate) kid: Option<Cow<'h, str>>,
}

/// Parses a decoded header and applies the checks that need no key.
///
/// # Errors
/// [`TokenRejection::Json`] or [`TokenRejection::DuplicateKey`] for a malformed header;
/// [`TokenRejection::Algorithm`] when `alg` is missing, not a string, or not exactly `HS256` or
/// `EdDSA` (so `none` in any casing); [`TokenRejection::Critical`] when `crit` is present;
/// [`TokenRejection::EmbeddedKey`] when `jwk`, `jku`, `x5u` or `x5c` is present;
/// [`TokenRejection::Type`] when `typ` is not a string; [`TokenRejection::UnknownKey`] when
/// `kid` is not a string.
pub(crate) fn parse(json: &[u8]) -> Result<Header<'_>, TokenRejection> {
    let mut raw = RawHeader::default();
    strict_json::parse_object(json, &mut raw)?;
    let alg = raw
        .alg
        .as_deref()
        .and_then(Algorithm::from_header)
        .ok_or(TokenRejection::Algorithm)?;
    if raw.crit {
        // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` lists an extension it
        // does not understand; Tollgate understands none, so any `crit` is refused.
        return Err(TokenRejection::Critical);
    }
    if raw.embedded_key {
        return Err(TokenRejection::EmbeddedKey);
    }
    Ok(Header {
        alg,
        typ: raw.typ,
        kid: raw.kid,
    })
}

#[derive(Default)]
struct RawHeader<'h> {
    alg: Option<Cow<'h, str>>,
    typ: Option<Cow<'h, str>>,
    kid: Option<Cow<'h, str>>,
    crit: bool,
    embedded_key: bool,
}

impl<'h> Members<'h> for RawHeader<'h> {
    fn member<A: MapAccess<'h>>(
        &mut self,
        key: &str,
        map: &mut A,
        reason: &Reason,
    ) -> Result<(), A::Error> {
        let text = |wrong_type| TextSeed { reason, wrong_type };
        match key {
            "alg" => self.alg = Some(map.next_value_seed(text(TokenRejection::Algorithm))?.0),
            "typ" => self.typ = Some(map.next_value_seed(text(TokenRejection::Type))?.0),
            "kid" => self.kid = Some(map.next_value_seed(text(TokenRejection::UnknownKey))?.0),
            "crit" => {
                self.crit = true;
                map.next_value_seed(AnyValue(reason))?;
            }
            // RFC 7515 §4.1.2-4.1.6: a key, a URL to fetch keys from, or a certificate chain.
            // Honouring any of them lets the token supply the key that verifies it.
            "jwk" | "jku" | "x5u" | "x5c" => {
                self.embedded_key = true;
                map.next_value_seed(AnyValue(reason))?;
            }
            _ => map.next_value_seed(AnyValue(reason))?,
        }
        Ok(())
    }
}

/// Whether `typ` names a JWT access token: `at+jwt` or `application/at+jwt` (RFC 9068 §4),
/// compared ignoring ASCII case because media types are case-insensitive (RFC 7515 §4.1.9,
/// RFC 2045 §5.1). Anything else, including `JWT`, is refused so that an ID token or another
/// JWT signed with the same key cannot be replayed as an access token (RFC 9068 §5).
pub(crate) fn is_access_token_type(typ: &str) -> bool {
    const PREFIX: &str = "application/";
    let subtype = match typ.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => typ.get(PREFIX.len()..).unwrap_or(""),
        _ => typ,
    };
    subtype.eq_ignore_ascii_case("at+jwt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn access_token_types() {
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "APPLICATION/at+Jwt",
        ] {
            assert!(is_access_token_type(typ), "{typ}");
        }
        for typ in [
            "",
            "JWT",
            "jwt",
            "at+jwt ",
            "application/",
            "application/jwt",
            "applicationat+jwt",
            "application/application/at+jwt",
            "text/at+jwt",
            "at+jwt;q=1",
            "é",
            "application/é",
        ] {
            assert!(!is_access_token_type(typ), "{typ}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn header_rules_that_need_no_key() {
        let parse = |json: &str| parse(json.as_bytes()).map(|h| h.alg);
        assert_eq!(parse(r#"{"alg":"HS256"}"#), Ok(Algorithm::Hs256));
        assert_eq!(parse(r#"{"alg":"EdDSA"}"#), Ok(Algorithm::EdDsa));
        // An escaped spelling of the same string is the same string.
        assert_eq!(
            parse(r#"{"alg":"HS\u0032\u0035\u0036"}"#),
            Ok(Algorithm::Hs256)
        );
        assert_eq!(
            parse(r#"{"alg":"Ed25519"}"#),
            Err(TokenRejection::Algorithm)
        );
        assert_eq!(parse(r#"{"typ":"at+jwt"}"#), Err(TokenRejection::Algorithm));
        assert_eq!(
            parse(r#"{"alg":"HS256","crit":[]}"#),
            Err(TokenRejection::Critical)
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","jwk":{}}"#),
            Err(TokenRejection::EmbeddedKey)
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","typ":{}}"#),
            Err(TokenRejection::Type)
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","kid":[]}"#),
            Err(TokenRejection::UnknownKey)
        );
        // x5t is a thumbprint hint, not a key: harmless, ignored.
        assert_eq!(
            parse(r#"{"alg":"HS256","x5t":"abc"}"#),
            Ok(Algorithm::Hs256)
        );
    }
}
