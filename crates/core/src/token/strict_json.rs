//! JSON objects read strictly, in one pass: no key repeated at any depth, nothing after the
//! closing brace, and a precise [`TokenRejection`] when a member has the wrong type.
//!
//! RFC 7515 §4 lets a JWS parser either reject duplicate header names or keep the last one;
//! RFC 7519 §4 says the same of claims. We reject: two parsers that resolve a duplicate
//! differently (first wins, last wins) read two different tokens from the same bytes, and that
//! disagreement is the whole of some attacks. Nested objects are checked too, so no part of an
//! accepted token can mean two things.
//!
//! The parse streams members to a [`Members`] implementation instead of building a tree, so the
//! verifier reads each header and claim exactly once and allocates only for values it keeps.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::string::String;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::TokenRejection;

/// The precise reason a strict parse failed: serde's errors carry only text, so the visitors
/// record the reason here as they fail and the caller reads it back.
#[derive(Debug, Default)]
pub(crate) struct Reason(Cell<Option<TokenRejection>>);

impl Reason {
    /// Records `why` (the first reason recorded wins) and returns an error that aborts the parse.
    pub(crate) fn fail<E: de::Error>(&self, why: TokenRejection) -> E {
        if self.0.get().is_none() {
            self.0.set(Some(why));
        }
        E::custom(why.as_str())
    }

    /// The recorded reason, or [`TokenRejection::Json`] when the JSON itself was malformed.
    fn rejection(&self) -> TokenRejection {
        self.0.get().unwrap_or(TokenRejection::Json)
    }
}

/// Receives the members of a strictly parsed object, each distinct key once, in order.
pub(crate) trait Members<'de> {
    /// Reads the value of member `key`; it must consume the value with one `next_value*` call
    /// (use [`AnyValue`] to check and skip a member it does not need).
    fn member<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        reason: &Reason,
    ) -> Result<(), A::Error>;
}

/// Parses `json` as exactly one JSON object, handing each member to `members`.
///
/// # Errors
/// [`TokenRejection::DuplicateKey`] when a key repeats at any depth; the reason a [`Members`]
/// implementation recorded; otherwise [`TokenRejection::Json`] (not JSON, not an object, not
/// UTF-8, or trailing bytes).
pub(crate) fn parse_object<'de, M: Members<'de>>(
    json: &'de [u8],
    members: &mut M,
) -> Result<(), TokenRejection> {
    let reason = Reason::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = ObjectSeed {
        members,
        reason: &reason,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    parsed.map_err(|_| reason.rejection())
}

/// Parses `json` into a [`serde_json::Value`], refusing duplicate keys at any depth.
///
/// For configuration read once at startup (a JWKS document), where a tree is convenient and
/// speed does not matter. Tokens use [`parse_object`].
pub(crate) fn parse_value(json: &[u8]) -> Result<serde_json::Value, TokenRejection> {
    let reason = Reason::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = ValueSeed(&reason)
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|_| reason.rejection())
}

/// Parses one JSON object with a [`Members`] implementation (usable for nested objects too).
pub(crate) struct ObjectSeed<'r, M> {
    /// Where the members go.
    pub(crate) members: &'r mut M,
    /// Where a failure's reason is recorded.
    pub(crate) reason: &'r Reason,
}

impl<'de, M: Members<'de>> DeserializeSeed<'de> for ObjectSeed<'_, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, M: Members<'de>> Visitor<'de> for ObjectSeed<'_, M> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = SeenKeys::default();
        while let Some(Text(key)) = map.next_key_seed(TextSeed {
            reason: self.reason,
            wrong_type: TokenRejection::Json,
        })? {
            if seen.contains(&key) {
                return Err(self.reason.fail(TokenRejection::DuplicateKey));
            }
            self.members.member(&key, &mut map, self.reason)?;
            seen.insert(key);
        }
        Ok(())
    }
}

/// The keys of one object seen so far. Small objects (every real header and claim set) stay
/// on the stack; a hostile header with hundreds of keys moves to a set, so the duplicate check
/// stays O(n log n) instead of O(n²) on input read before the signature is checked.
#[derive(Default)]
struct SeenKeys<'de> {
    few: [Option<Cow<'de, str>>; FEW_KEYS],
    len: usize,
    many: BTreeSet<Cow<'de, str>>,
}

/// How many keys an object may have before [`SeenKeys`] switches to a set: more than any
/// header or claim set Tollgate issues (3 and 10).
const FEW_KEYS: usize = 16;

impl<'de> SeenKeys<'de> {
    fn contains(&self, key: &str) -> bool {
        self.few
            .iter()
            .take(self.len)
            .any(|k| k.as_deref() == Some(key))
            || self.many.contains(key)
    }

    fn insert(&mut self, key: Cow<'de, str>) {
        if let Some(slot) = self.few.get_mut(self.len) {
            *slot = Some(key);
            self.len += 1;
        } else {
            self.many.insert(key);
        }
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
pub(crate) struct Text<'de>(pub(crate) Cow<'de, str>);

/// Reads a JSON string; any other JSON type fails with `wrong_type`.
pub(crate) struct TextSeed<'r> {
    /// Where a failure's reason is recorded.
    pub(crate) reason: &'r Reason,
    /// The rejection for a value that is not a string.
    pub(crate) wrong_type: TokenRejection,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(String::from(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'de>, E> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'de>, E> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'de>, E> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'de>, E> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Text<'de>, E> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Text<'de>, A::Error> {
        Err(self.reason.fail(self.wrong_type))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Text<'de>, A::Error> {
        Err(self.reason.fail(self.wrong_type))
    }
}

/// Reads a non-negative JSON integer no larger than `max`; anything else (a string, a float,
/// a negative number, `null`) fails with [`TokenRejection::ClaimType`].
pub(crate) struct UintSeed<'r> {
    /// Where a failure's reason is recorded.
    pub(crate) reason: &'r Reason,
    /// The largest value accepted.
    pub(crate) max: u64,
}

impl<'de> DeserializeSeed<'de> for UintSeed<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UintSeed<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v <= self.max {
            Ok(v)
        } else {
            Err(self.reason.fail(TokenRejection::ClaimType))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        // serde_json reports non-negative integers through visit_u64; this is a negative one.
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.reason.fail(TokenRejection::ClaimType)),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<u64, E> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<u64, E> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<u64, E> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<u64, A::Error> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<u64, A::Error> {
        Err(self.reason.fail(TokenRejection::ClaimType))
    }
}

/// Checks and discards any JSON value, refusing duplicate keys in the objects inside it.
pub(crate) struct AnyValue<'r>(pub(crate) &'r Reason);

impl<'de> DeserializeSeed<'de> for AnyValue<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyValue<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(AnyValue(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        ObjectSeed {
            members: &mut Skip(PhantomData),
            reason: self.0,
        }
        .visit_map(map)
    }
}

/// Members that are only checked, never kept.
struct Skip<'de>(PhantomData<&'de ()>);

impl<'de> Members<'de> for Skip<'de> {
    fn member<A: MapAccess<'de>>(
        &mut self,
        _: &str,
        map: &mut A,
        reason: &Reason,
    ) -> Result<(), A::Error> {
        map.next_value_seed(AnyValue(reason))
    }
}

/// Builds a [`serde_json::Value`], refusing duplicate keys at any depth.
struct ValueSeed<'r>(&'r Reason);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = alloc::vec::Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed(self.0))? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(Text(key)) = map.next_key_seed(TextSeed {
            reason: self.0,
            wrong_type: TokenRejection::Json,
        })? {
            let value = map.next_value_seed(ValueSeed(self.0))?;
            if object.insert(key.into_owned(), value).is_some() {
                return Err(self.0.fail(TokenRejection::DuplicateKey));
            }
        }
        Ok(serde_json::Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Records the top-level keys it is handed, checking every value.
    #[derive(Default)]
    struct Keys(Vec<String>);

    impl<'de> Members<'de> for Keys {
        fn member<A: MapAccess<'de>>(
            &mut self,
            key: &str,
            map: &mut A,
            reason: &Reason,
        ) -> Result<(), A::Error> {
            self.0.push(key.to_string());
            map.next_value_seed(AnyValue(reason))
        }
    }

    fn keys(json: &str) -> Result<Vec<String>, TokenRejection> {
        let mut k = Keys::default();
        parse_object(json.as_bytes(), &mut k).map(|()| k.0)
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn objects_are_read_once_in_order() {
        assert_eq!(
            keys(r#" {"b":1, "a":[{"x":null}], "c":{"d":"e"}} "#).unwrap(),
            ["b", "a", "c"]
        );
        assert_eq!(keys("{}").unwrap(), Vec::<String>::new());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn duplicates_are_found_at_any_depth_and_through_escapes() {
        for json in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"o":{"k":1,"k":2}}"#,
            r#"{"o":[1,[{"k":1},{"k":1,"k":2}]]}"#,
            r#"{"o":{"p":{"q":{"k":1,"k":2}}}}"#,
        ] {
            assert_eq!(keys(json), Err(TokenRejection::DuplicateKey), "{json}");
        }
        // The same key in sibling objects is not a duplicate.
        assert!(keys(r#"{"o":[{"k":1},{"k":2}],"p":{"k":3}}"#).is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn duplicates_are_found_past_the_small_key_buffer() {
        // 40 distinct keys, then a repeat of the first and of the last: both must be caught
        // (the first lives in the stack buffer, the last in the overflow set).
        let many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let body = many.join(",");
        assert_eq!(keys(&format!("{{{body}}}")).unwrap().len(), 40);
        for repeat in ["k0", "k39", "k16"] {
            let json = format!(r#"{{{body},"{repeat}":0}}"#);
            assert_eq!(keys(&json), Err(TokenRejection::DuplicateKey), "{repeat}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn anything_but_one_object_is_malformed() {
        for json in [
            "",
            " ",
            "[]",
            "null",
            "\"{}\"",
            "{} {}",
            "{},",
            "{\"a\":1,}",
            "{'a':1}",
            "{\"a\":01}",
            "{\"a\":NaN}",
            "{\"a\":\"\\ud800\"}",
            "\u{feff}{}",
            "{\"a\":1e999}",
        ] {
            assert_eq!(keys(json), Err(TokenRejection::Json), "{json:?}");
        }
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}", &mut Keys::default()),
            Err(TokenRejection::Json)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        // serde_json stops at 128 levels; a header of brackets must fail, not crash.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(4000), "]".repeat(4000));
        assert_eq!(keys(&deep), Err(TokenRejection::Json));
        let objects = format!("{}1{}", "{\"a\":".repeat(2000), "}".repeat(2000));
        assert_eq!(keys(&objects), Err(TokenRejection::Json));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn integers_are_read_only_as_non_negative_integers() {
        let read = |json: &str| {
            let reason = Reason::default();
            let mut de = serde_json::Deserializer::from_str(json);
            UintSeed {
                reason: &reason,
                max: 100,
            }
            .deserialize(&mut de)
            .map_err(|_| reason.rejection())
        };
        assert_eq!(read("0"), Ok(0));
        assert_eq!(read("100"), Ok(100));
        for bad in [
            "101", "-1", "1.0", "1e2", "\"1\"", "true", "null", "[1]", "{}",
        ] {
            assert_eq!(read(bad), Err(TokenRejection::ClaimType), "{bad}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn values_for_configuration_refuse_duplicates_too() {
        assert!(parse_value(br#"{"keys":[{"a":1}]}"#).is_ok());
        assert_eq!(
            parse_value(br#"{"keys":[{"a":1,"a":1}]}"#),
            Err(TokenRejection::DuplicateKey)
        );
        assert_eq!(parse_value(b"{} x"), Err(TokenRejection::Json));
    }
}
