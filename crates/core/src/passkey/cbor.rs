//! A minimal CBOR reader (RFC 8949) for what WebAuthn sends: the attestation object and COSE
//! keys.
//!
//! Only definite lengths, no tags, no floats: WebAuthn's CTAP2 canonical encoding never needs
//! them, and refusing them keeps the reader small. Every length is checked against the bytes
//! left before anything is allocated, nesting is bounded, and every failure is a
//! [`CborError`]: hostile input can never panic or allocate more than it sent.

use alloc::vec::Vec;

/// How deep arrays and maps may nest (a COSE key is one map; an attestation object two).
const MAX_DEPTH: usize = 8;

/// Why bytes were not read as CBOR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CborError {
    /// When the input ends inside an item.
    Truncated,
    /// When an item uses what this reader refuses (indefinite length, tags, floats,
    /// reserved additional information).
    Unsupported,
    /// When arrays or maps nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// When a text string is not UTF-8.
    Utf8,
}

/// One CBOR data item, borrowing its strings from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// An integer (major types 0 and 1), widened so both signs fit.
    Int(i128),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A text string.
    Text(&'a str),
    /// An array.
    Array(Vec<Value<'a>>),
    /// A map, its pairs in the order sent.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `false` or `true`.
    Bool(bool),
    /// `null` or `undefined`.
    Null,
}

impl<'a> Value<'a> {
    /// The value under integer key `key` of a map (COSE keys use integer labels).
    pub fn get_int(&self, key: i128) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    /// The value under text key `key` of a map (the attestation object uses text keys).
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }

    fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads one item from the start of `input`: the item and the bytes after it.
///
/// # Errors
/// [`CborError`] for anything truncated, unsupported, too deep or not UTF-8.
pub fn read(input: &[u8]) -> Result<(Value<'_>, &[u8]), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, &input[reader.pos..]))
}

/// Reads exactly one item that fills `input`.
///
/// # Errors
/// As [`read`], and [`CborError::Unsupported`] when bytes follow the item.
pub fn read_exact(input: &[u8]) -> Result<Value<'_>, CborError> {
    match read(input)? {
        (value, []) => Ok(value),
        _ => Err(CborError::Unsupported),
    }
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// The argument of a head whose additional information is `info`.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            // 28-30 are reserved; 31 is an indefinite length.
            _ => return Err(CborError::Unsupported),
        };
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A count of items that must each take at least one byte of what is left: a lie about
    /// the length fails here, before anything is allocated for it.
    fn count(&mut self, n: u64) -> Result<usize, CborError> {
        let left = (self.input.len() - self.pos) as u64;
        if n > left {
            return Err(CborError::Truncated);
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        if major == 7 {
            return match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 | 23 => Ok(Value::Null),
                _ => Err(CborError::Unsupported),
            };
        }
        let arg = self.argument(info)?;
        match major {
            0 => Ok(Value::Int(i128::from(arg))),
            1 => Ok(Value::Int(-1 - i128::from(arg))),
            2 => {
                let n = self.count(arg)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.count(arg)?;
                let bytes = self.take(n)?;
                core::str::from_utf8(bytes)
                    .map(Value::Text)
                    .map_err(|_| CborError::Utf8)
            }
            4 | 5 => {
                if depth >= MAX_DEPTH {
                    return Err(CborError::TooDeep);
                }
                let n = self.count(arg)?;
                if major == 4 {
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.item(depth + 1)?);
                    }
                    Ok(Value::Array(items))
                } else {
                    let mut pairs = Vec::with_capacity(n);
                    for _ in 0..n {
                        let key = self.item(depth + 1)?;
                        pairs.push((key, self.item(depth + 1)?));
                    }
                    Ok(Value::Map(pairs))
                }
            }
            // Major type 6: tags.
            _ => Err(CborError::Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_the_items_of_rfc_8949_appendix_a() {
        // Examples from RFC 8949 Appendix A.
        let cases: &[(&[u8], Value<'_>)] = &[
            (&[0x00], Value::Int(0)),
            (&[0x17], Value::Int(23)),
            (&[0x18, 0x18], Value::Int(24)),
            (&[0x19, 0x03, 0xe8], Value::Int(1000)),
            (
                &[0x1b, 0, 0, 0, 0xe8, 0xd4, 0xa5, 0x10, 0],
                Value::Int(1_000_000_000_000),
            ),
            (&[0x20], Value::Int(-1)),
            (&[0x38, 0x63], Value::Int(-100)),
            (
                &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Value::Int(-18446744073709551616),
            ),
            (&[0x44, 1, 2, 3, 4], Value::Bytes(&[1, 2, 3, 4])),
            (&[0x64, 0x49, 0x45, 0x54, 0x46], Value::Text("IETF")),
            (&[0xf4], Value::Bool(false)),
            (&[0xf5], Value::Bool(true)),
            (&[0xf6], Value::Null),
            (
                &[0x83, 1, 2, 3],
                Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            ),
            (
                &[0xa2, 0x01, 0x02, 0x03, 0x04],
                Value::Map(vec![
                    (Value::Int(1), Value::Int(2)),
                    (Value::Int(3), Value::Int(4)),
                ]),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(read_exact(bytes).as_ref(), Ok(want), "{bytes:02x?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_hostile_and_unsupported_input_without_panicking() {
        let cases: &[(&[u8], CborError)] = &[
            (&[], CborError::Truncated),
            (&[0x18], CborError::Truncated),
            (&[0x44, 1, 2], CborError::Truncated),
            // A byte string claiming 2^64-1 bytes: refused before any allocation.
            (
                &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                CborError::Truncated,
            ),
            // An array claiming a billion items in five bytes.
            (&[0x9a, 0x3b, 0x9a, 0xca, 0x00], CborError::Truncated),
            (&[0x5f, 0xff], CborError::Unsupported), // indefinite-length bytes
            (&[0xc1, 0x00], CborError::Unsupported), // a tag
            (&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], CborError::Unsupported), // a float
            (&[0x1c], CborError::Unsupported),       // reserved additional information
            (&[0x62, 0xff, 0xfe], CborError::Utf8),
            (&[0x00, 0x00], CborError::Unsupported), // trailing bytes
        ];
        for (bytes, want) in cases {
            assert_eq!(read_exact(bytes), Err(*want), "{bytes:02x?}");
        }
        let deep = [0x81u8; 64];
        assert_eq!(read_exact(&deep), Err(CborError::TooDeep));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn any_prefix_of_a_valid_item_is_refused_not_panicked_on() {
        let item = [0xa2, 0x61, 0x61, 0x82, 0x01, 0x42, 0xaa, 0xbb, 0x20, 0xf5];
        assert!(read_exact(&item).is_ok());
        for n in 0..item.len() {
            assert_eq!(
                read_exact(&item[..n]),
                Err(CborError::Truncated),
                "prefix {n}"
            );
        }
    }
}
