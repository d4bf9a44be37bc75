//! COSE public keys (RFC 9052/9053) as WebAuthn stores them, and ECDSA signature encoding.
//!
//! Two algorithms are accepted: ES256 (EC2 key on P-256, alg -7) and EdDSA (OKP key on
//! Ed25519, alg -8). Anything else is refused at registration, so a stored credential always
//! names one of them.

use super::Rejection;
use super::cbor::{self, Value};

/// COSE algorithm ES256: ECDSA with SHA-256 on P-256 (RFC 9053 §2.1).
pub const ALG_ES256: i64 = -7;
/// COSE algorithm EdDSA, used by WebAuthn with Ed25519 (RFC 9053 §2.2).
pub const ALG_EDDSA: i64 = -8;

/// A credential's public key in a form the verifiers take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 point as SEC1 uncompressed bytes (`04 || x || y`), what WebCrypto's `raw`
    /// import takes.
    Es256([u8; 65]),
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// The COSE algorithm of this key.
    pub fn alg(&self) -> i64 {
        match self {
            PublicKey::Es256(_) => ALG_ES256,
            PublicKey::Ed25519(_) => ALG_EDDSA,
        }
    }
}

fn int(map: &Value<'_>, label: i128) -> Option<i128> {
    match map.get_int(label)? {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn bytes32(map: &Value<'_>, label: i128) -> Result<[u8; 32], Rejection> {
    match map.get_int(label) {
        Some(Value::Bytes(b)) => <[u8; 32]>::try_from(*b).map_err(|_| Rejection::MalformedKey),
        _ => Err(Rejection::MalformedKey),
    }
}

/// Reads a COSE_Key: the key, or why it is refused.
///
/// # Errors
/// [`Rejection::UnsupportedAlgorithm`] for any algorithm, key type or curve but ES256/P-256
/// and EdDSA/Ed25519; [`Rejection::MalformedKey`] for bad CBOR or coordinates.
pub fn parse_key(cose: &[u8]) -> Result<PublicKey, Rejection> {
    let map = cbor::read_exact(cose).map_err(|_| Rejection::MalformedKey)?;
    if !matches!(map, Value::Map(_)) {
        return Err(Rejection::MalformedKey);
    }
    // kty (1), alg (3), crv (-1), x (-2), y (-3).
    match (int(&map, 1), int(&map, 3), int(&map, -1)) {
        (Some(2), Some(-7), Some(1)) => {
            let (x, y) = (bytes32(&map, -2)?, bytes32(&map, -3)?);
            let mut point = [0u8; 65];
            point[0] = 0x04;
            point[1..33].copy_from_slice(&x);
            point[33..].copy_from_slice(&y);
            Ok(PublicKey::Es256(point))
        }
        (Some(1), Some(-8), Some(6)) => Ok(PublicKey::Ed25519(bytes32(&map, -2)?)),
        (None, _, _) | (_, None, _) => Err(Rejection::MalformedKey),
        _ => Err(Rejection::UnsupportedAlgorithm),
    }
}

/// An ECDSA signature's DER encoding (`SEQUENCE { INTEGER r, INTEGER s }`, what WebAuthn
/// sends for ES256) as the 64 bytes `r || s` that WebCrypto verifies.
///
/// Strict DER: minimal lengths, no negative or zero-padded integers beyond the one byte that
/// keeps a high bit positive, nothing after the sequence.
///
/// # Errors
/// [`Rejection::MalformedSignature`].
pub fn der_to_raw(der: &[u8]) -> Result<[u8; 64], Rejection> {
    let bad = Rejection::MalformedSignature;
    let [0x30, len, body @ ..] = der else {
        return Err(bad);
    };
    if usize::from(*len) != body.len() || *len > 0x7f {
        return Err(bad);
    }
    let (r, rest) = der_integer(body)?;
    let (s, rest) = der_integer(rest)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let mut raw = [0u8; 64];
    raw[32 - r.len()..32].copy_from_slice(r);
    raw[64 - s.len()..].copy_from_slice(s);
    Ok(raw)
}

/// One positive DER INTEGER of at most 32 significant bytes, without its sign padding.
fn der_integer(input: &[u8]) -> Result<(&[u8], &[u8]), Rejection> {
    let bad = Rejection::MalformedSignature;
    let [0x02, len, rest @ ..] = input else {
        return Err(bad);
    };
    let len = usize::from(*len);
    if len == 0 || len > 33 || rest.len() < len {
        return Err(bad);
    }
    let (value, rest) = rest.split_at(len);
    let value = match value {
        // A leading zero only where the next byte's high bit would make the number negative.
        [0x00, next, ..] if next & 0x80 != 0 => &value[1..],
        [0x00, ..] if len > 1 => return Err(bad),
        [first, ..] if first & 0x80 != 0 => return Err(bad),
        _ => value,
    };
    if value.len() > 32 {
        return Err(bad);
    }
    Ok((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn der_signatures_become_r_and_s_padded_to_32_bytes() {
        // r with a sign byte (33 bytes), s short (31 bytes).
        let mut der = alloc::vec![0x30, 0x44, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x1f]);
        der.extend([0x11; 31]);
        der[1] = (der.len() - 2) as u8;
        let raw = der_to_raw(&der).unwrap();
        assert_eq!(&raw[..32], &[0x80; 32]);
        assert_eq!(raw[32], 0);
        assert_eq!(&raw[33..], &[0x11; 31]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn malformed_der_is_refused() {
        for der in [
            &[][..],
            &[0x30, 0x00],
            &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01], // truncated
            &[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01], // negative r
            &[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01], // needless zero
            &[0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00], // trailing byte
            &[0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01], // not a SEQUENCE
        ] {
            assert_eq!(
                der_to_raw(der),
                Err(Rejection::MalformedSignature),
                "{der:02x?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn only_es256_and_eddsa_keys_are_accepted() {
        // RS256 (kty 3, alg -257) and ES384 (kty 2, alg -35, crv 2).
        let rsa = [0xa3, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20, 0x01];
        assert_eq!(parse_key(&rsa), Err(Rejection::UnsupportedAlgorithm));
        let es384 = [0xa3, 0x01, 0x02, 0x03, 0x38, 0x22, 0x20, 0x02];
        assert_eq!(parse_key(&es384), Err(Rejection::UnsupportedAlgorithm));
        // ES256 whose x is one byte short.
        let mut short = alloc::vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x1f];
        short.extend([1; 31]);
        short.extend([0x22, 0x58, 0x20]);
        short.extend([2; 32]);
        assert_eq!(parse_key(&short), Err(Rejection::MalformedKey));
        assert_eq!(parse_key(&[0x01]), Err(Rejection::MalformedKey));
    }
}
