//! Reading an Ed25519 private key from PKCS#8 PEM, without a general ASN.1 decoder.
//!
//! An Ed25519 PKCS#8 key (RFC 8410 §7) is a fixed structure: the DER bytes are always the
//! same 16-byte prefix followed by the 32-byte seed, optionally (version 2, RFC 5958) followed by
//! the public key. OpenSSL (`genpkey -algorithm ed25519`), Node's `crypto`, `ring` and
//! `tollgate keygen` write version 1. Matching the fixed encoding exactly refuses everything else
//! (other algorithms, attributes, BER variants) and keeps a general DER/PKCS#8 stack, some 25 KB
//! of code, out of the Worker.

use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }`,
/// everything before the seed in a version-1 key (RFC 8410 §10.3).
const V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The same for a version-2 key carrying its public key (RFC 5958 `OneAsymmetricKey`): a
/// longer outer length and version 1.
const V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// `[1] IMPLICIT BIT STRING` of 33 bytes (no unused bits, then the 32-byte public key).
const V2_PUBLIC_KEY_TAG: [u8; 3] = [0x81, 0x21, 0x00];

const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const END: &str = "-----END PRIVATE KEY-----";

/// The 32-byte seed and, for a version-2 key, the public key it claims.
pub(crate) struct Ed25519Pkcs8 {
    pub seed: [u8; 32],
    pub public: Option<[u8; 32]>,
}

/// Parses an Ed25519 private key in PKCS#8 PEM; `None` for anything else.
pub(crate) fn parse(pem: &str) -> Option<Ed25519Pkcs8> {
    let body = pem.trim().strip_prefix(BEGIN)?.strip_suffix(END)?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(b64).ok()?;
    let mut seed = [0u8; 32];
    match der.len() {
        48 if der[..16] == V1_PREFIX => {
            seed.copy_from_slice(&der[16..]);
            Some(Ed25519Pkcs8 { seed, public: None })
        }
        83 if der[..16] == V2_PREFIX && der[48..51] == V2_PUBLIC_KEY_TAG => {
            seed.copy_from_slice(&der[16..48]);
            let mut public = [0u8; 32];
            public.copy_from_slice(&der[51..]);
            Some(Ed25519Pkcs8 {
                seed,
                public: Some(public),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// RFC 8410 §10.3: the example Ed25519 private key, version 1.
    const RFC8410_V1: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----";

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_the_rfc_8410_example_key() {
        let key = parse(RFC8410_V1).unwrap();
        assert_eq!(key.seed[..4], [0xd4, 0xee, 0x72, 0xdb]);
        assert!(key.public.is_none());
        // Line breaks and surrounding whitespace do not matter.
        let relaid = RFC8410_V1
            .replace('\n', "\r\n")
            .replace("MC4CAQAw", "MC4C\nAQAw");
        assert_eq!(parse(&format!("\n  {relaid}\n")).unwrap().seed, key.seed);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_a_version_2_key_with_its_public_key() {
        let seed = [7u8; 32];
        let public = [9u8; 32];
        let mut der = V2_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        der.extend_from_slice(&V2_PUBLIC_KEY_TAG);
        der.extend_from_slice(&public);
        let pem = format!("{BEGIN}\n{}\n{END}\n", STANDARD.encode(&der));
        let key = parse(&pem).unwrap();
        assert_eq!((key.seed, key.public), (seed, Some(public)));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_everything_else() {
        let der = |prefix: &[u8], seed_len: usize| {
            let mut d = prefix.to_vec();
            d.extend(core::iter::repeat_n(1u8, seed_len));
            format!("{BEGIN}\n{}\n{END}", STANDARD.encode(d))
        };
        let mut x25519 = V1_PREFIX;
        x25519[11] = 0x6e; // OID 1.3.101.110 (X25519), not Ed25519
        for bad in [
            String::new(),
            RFC8410_V1.replace("PRIVATE KEY", "EC PRIVATE KEY"),
            RFC8410_V1.replace("PRIVATE KEY", "PUBLIC KEY"),
            RFC8410_V1.replace("MC4C", "MC4*"),
            RFC8410_V1.replace("-----END PRIVATE KEY-----", ""),
            der(&V1_PREFIX, 31),
            der(&V1_PREFIX, 33),
            der(&x25519, 32),
            der(&V2_PREFIX, 32),
        ] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }
}
