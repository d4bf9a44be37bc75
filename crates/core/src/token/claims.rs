//! Access-token claims (RFC 9068 §2.2 plus Tollgate's `sid`, `role`, `scope`), the settings
//! they are checked against, and their strict parsing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::strict_json::{self, AnyValue, Members, Reason, Text, TextSeed, UintSeed};
use crate::error::TokenRejection;
use crate::roles::Principal;
use crate::time::UnixSeconds;

/// Default clock-skew allowance for `exp`, `nbf` and `iat`, in seconds: enough for hosts whose
/// clocks drift a little, short next to a lifetime of minutes.
pub const DEFAULT_LEEWAY_S: u64 = 30;

/// Largest accepted numeric date: 9999-12-31T23:59:59Z, the last second RFC 3339's four-digit
/// years can write, and far below 2⁵³ so JavaScript clients read every accepted value exactly.
pub const MAX_NUMERIC_DATE: UnixSeconds = 253_402_300_799;

/// RFC 9068-style access-token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessClaims {
    /// Issuer: exactly the configured issuer.
    pub iss: String,
    /// Audience: exactly the configured audience.
    pub aud: String,
    /// Subject: the user's id.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: UnixSeconds,
    /// Issue time, seconds since the Unix epoch.
    pub iat: UnixSeconds,
    /// Not-before time, seconds since the Unix epoch (Tollgate sets it to `iat`).
    pub nbf: UnixSeconds,
    /// Unique token id: 128 random bits, base64url.
    pub jti: String,
    /// The session (refresh-token family) this token belongs to.
    pub sid: String,
    /// The user's role when the token was issued.
    pub role: String,
    /// Space-separated scopes (RFC 8693 §4.2).
    pub scope: String,
    /// Whether the user's address was verified when the token was issued (OpenID Connect
    /// Core §5.1's `email_verified`). Tollgate always sets it; tokens minted elsewhere (or
    /// before it existed) may leave it out, which reads as `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// How the user authenticated (RFC 8176 `amr`: `pwd`, and `otp` and `mfa` after a second
    /// factor). Absent from tokens issued before it existed, which reads as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

impl AccessClaims {
    /// The scopes, split on spaces (empty entries from repeated spaces are skipped).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` is one of the token's scopes (exact, case-sensitive).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

/// Who a verified token speaks for: its subject, session, role and scopes, and its times.
impl From<AccessClaims> for Principal {
    fn from(claims: AccessClaims) -> Principal {
        Principal {
            user_id: claims.sub,
            session_id: claims.sid,
            role: claims.role,
            scope: claims.scope,
            token_id: claims.jti,
            expires_at: claims.exp,
            issued_at: claims.iat,
        }
    }
}

/// Issuer, audience, lifetime and leeway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    /// The `iss` tokens are issued with and must carry.
    pub issuer: String,
    /// The `aud` tokens are issued with and must carry.
    pub audience: String,
    /// Access-token lifetime in seconds.
    pub ttl_s: u64,
    /// Clock-skew allowance in seconds for `exp`, `nbf` and `iat`.
    pub leeway_s: u64,
}

impl TokenConfig {
    /// A configuration with the default leeway ([`DEFAULT_LEEWAY_S`]).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, ttl_s: u64) -> TokenConfig {
        TokenConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            ttl_s,
            leeway_s: DEFAULT_LEEWAY_S,
        }
    }
}

/// What the caller decides about a new token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewAccessToken<'a> {
    /// The user's id (`sub`).
    pub subject: &'a str,
    /// The session id (`sid`).
    pub session_id: &'a str,
    /// The user's role (`role`).
    pub role: &'a str,
    /// Space-separated scopes (`scope`).
    pub scope: &'a str,
    /// Whether the user's address is verified (`email_verified`).
    pub email_verified: bool,
    /// How the user authenticated (`amr`, RFC 8176); left out of the token when empty.
    pub amr: &'a [String],
}

/// Parses an authenticated payload into claims.
///
/// Required: `iss`, `aud`, `sub`, `exp`, `iat`, `nbf`, `jti`, `sid`, `role`, `scope`. Other
/// claims are allowed (RFC 9068 lists several) but must be valid JSON without duplicate keys.
///
/// # Errors
/// [`TokenRejection::Json`], [`TokenRejection::DuplicateKey`]; [`TokenRejection::ClaimType`]
/// for a string claim that is not a string or a date that is not an integer in
/// `0..=MAX_NUMERIC_DATE`; [`TokenRejection::MissingClaim`]; [`TokenRejection::Audience`] for an
/// `aud` array that does not hold exactly one audience.
pub(crate) fn parse(payload: &[u8]) -> Result<AccessClaims, TokenRejection> {
    let mut raw = RawClaims::default();
    strict_json::parse_object(payload, &mut raw)?;
    let RawClaims {
        iss: Some(iss),
        aud: Some(aud),
        sub: Some(sub),
        exp: Some(exp),
        iat: Some(iat),
        nbf: Some(nbf),
        jti: Some(jti),
        sid: Some(sid),
        role: Some(role),
        scope: Some(scope),
        email_verified,
        amr,
    } = raw
    else {
        return Err(TokenRejection::MissingClaim);
    };
    let Audience::One(aud) = aud else {
        return Err(TokenRejection::Audience);
    };
    Ok(AccessClaims {
        iss,
        aud,
        sub,
        exp,
        iat,
        nbf,
        jti,
        sid,
        role,
        scope,
        email_verified,
        amr,
    })
}

#[derive(Default)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<Audience>,
    sub: Option<String>,
    exp: Option<UnixSeconds>,
    iat: Option<UnixSeconds>,
    nbf: Option<UnixSeconds>,
    jti: Option<String>,
    sid: Option<String>,
    role: Option<String>,
    scope: Option<String>,
    email_verified: Option<bool>,
    amr: Vec<String>,
}

impl<'de> Members<'de> for RawClaims {
    fn member<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        reason: &Reason,
    ) -> Result<(), A::Error> {
        let text = || TextSeed {
            reason,
            wrong_type: TokenRejection::ClaimType,
        };
        let date = || UintSeed {
            reason,
            max: MAX_NUMERIC_DATE,
        };
        let slot = match key {
            "iss" => &mut self.iss,
            "sub" => &mut self.sub,
            "jti" => &mut self.jti,
            "sid" => &mut self.sid,
            "role" => &mut self.role,
            "scope" => &mut self.scope,
            "exp" => {
                self.exp = Some(map.next_value_seed(date())?);
                return Ok(());
            }
            "iat" => {
                self.iat = Some(map.next_value_seed(date())?);
                return Ok(());
            }
            "nbf" => {
                self.nbf = Some(map.next_value_seed(date())?);
                return Ok(());
            }
            "aud" => {
                self.aud = Some(map.next_value_seed(AudienceSeed(reason))?);
                return Ok(());
            }
            "email_verified" => {
                self.email_verified = Some(map.next_value_seed(BoolSeed)?);
                return Ok(());
            }
            "amr" => {
                self.amr = map.next_value_seed(StringsSeed(reason))?;
                return Ok(());
            }
            _ => return map.next_value_seed(AnyValue(reason)),
        };
        let Text(value) = map.next_value_seed(text())?;
        *slot = Some(value.into_owned());
        Ok(())
    }
}

/// `email_verified`: a JSON boolean, nothing else (serde refuses any other type).
struct BoolSeed;

impl<'de> DeserializeSeed<'de> for BoolSeed {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoolSeed {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
}

/// `amr`: an array of strings (RFC 8176 §1), nothing else.
struct StringsSeed<'r>(&'r Reason);

impl<'de> DeserializeSeed<'de> for StringsSeed<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StringsSeed<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(Text(value)) = seq.next_element_seed(TextSeed {
            reason: self.0,
            wrong_type: TokenRejection::ClaimType,
        })? {
            out.push(value.into_owned());
        }
        Ok(out)
    }
}

/// `aud` as sent: RFC 7519 §4.1.3 allows a string or an array of strings.
enum Audience {
    /// A string, or an array of exactly one string.
    One(String),
    /// An array of zero or several strings: never accepted, because a token valid for several
    /// audiences can be replayed by any of them against the others.
    NotOne,
}

struct AudienceSeed<'r>(&'r Reason);

impl<'de> DeserializeSeed<'de> for AudienceSeed<'_> {
    type Value = Audience;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Audience, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AudienceSeed<'_> {
    type Value = Audience;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
        Ok(Audience::One(String::from(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
        let item = || TextSeed {
            reason: self.0,
            wrong_type: TokenRejection::ClaimType,
        };
        let first = seq.next_element_seed(item())?;
        let mut more = false;
        while seq.next_element_seed(item())?.is_some() {
            more = true;
        }
        Ok(match (first, more) {
            (Some(Text(aud)), false) => Audience::One(aud.into_owned()),
            _ => Audience::NotOne,
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Audience, E> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Audience, E> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Audience, E> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Audience, E> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Audience, E> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Audience, A::Error> {
        Err(self.0.fail(TokenRejection::ClaimType))
    }
}
