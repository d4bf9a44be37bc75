//! Tollgate's `jsonwebtoken` crypto provider: HS256 and EdDSA, nothing else.
//!
//! `jsonwebtoken` signs and verifies through a [`CryptoProvider`]. Its own pure-Rust provider
//! (`rust_crypto`) dispatches over every JWS algorithm, so RSA, P-256 and P-384 code (about a
//! quarter of the Worker's wasm, measured) would ship in a Worker that never uses them. This
//! provider implements the two algorithms Tollgate supports with the same RustCrypto crates
//! (`hmac` + `sha2`, `ed25519-dalek`), and refuses every other algorithm with an error.
//!
//! Key encoding inside `jsonwebtoken`'s key types, private to this module and [`super::jws`]:
//! an HS256 key holds the secret bytes; an EdDSA signing key holds the 32-byte Ed25519 seed (not
//! PKCS#8, so signing does not re-parse ASN.1 each time); an EdDSA verifying key holds the
//! 32-byte public key.

use alloc::boxed::Box;
use alloc::vec::Vec;

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind, Result as JwtResult};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The provider [`super::jws`] signs and verifies with.
pub(crate) static TOLLGATE_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: unsupported_components,
        rsa_pub_components_from_public_key: unsupported_components,
        ec_pub_components_from_private_key: unsupported_ec_components,
        ed_pub_components_from_private_key: unsupported_ed_components,
        compute_digest: unsupported_digest,
    },
};

fn unsupported() -> JwtError {
    JwtError::from(ErrorKind::InvalidAlgorithm)
}

// Tollgate builds its JWKS itself (see `super::jwks`); jsonwebtoken's JWK helpers are never
// called with this provider, and answer with an error rather than a panic if they were.
fn unsupported_components(_: &[u8]) -> JwtResult<(Vec<u8>, Vec<u8>)> {
    Err(unsupported())
}
fn unsupported_ec_components(
    _: &[u8],
    _: Algorithm,
) -> JwtResult<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    Err(unsupported())
}
fn unsupported_ed_components(_: &[u8], _: &EllipticCurve) -> JwtResult<Vec<u8>> {
    Err(unsupported())
}
fn unsupported_digest(_: &[u8], _: ThumbprintHash) -> JwtResult<Vec<u8>> {
    Err(unsupported())
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> JwtResult<Box<dyn JwtSigner>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256(hmac(key.as_bytes())?))),
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            let seed: &[u8; 32] = key
                .as_bytes()
                .try_into()
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdDsaSigner(
                ed25519_dalek::SigningKey::from_bytes(seed),
            )))
        }
        _ => Err(unsupported()),
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> JwtResult<Box<dyn JwtVerifier>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => {
            Ok(Box::new(Hs256(hmac(key.try_get_as_bytes()?)?)))
        }
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            let public: &[u8; 32] = key
                .try_get_as_bytes()?
                .try_into()
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            let public = ed25519_dalek::VerifyingKey::from_bytes(public)
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdDsaVerifier(public)))
        }
        _ => Err(unsupported()),
    }
}

fn hmac(secret: &[u8]) -> JwtResult<HmacSha256> {
    HmacSha256::new_from_slice(secret).map_err(|_| JwtError::from(ErrorKind::InvalidKeyFormat))
}

/// HMAC-SHA-256 (RFC 7518 §3.2); one keyed state signs and verifies.
struct Hs256(HmacSha256);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), SignatureError> {
        let mut mac = self.0.clone();
        mac.update(message);
        // `verify_slice` compares the tags in constant time (`subtle`).
        mac.verify_slice(signature)
            .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

/// Ed25519 signing (RFC 8032 §5.1.6; deterministic).
struct EdDsaSigner(ed25519_dalek::SigningKey);

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// Ed25519 verification, as `jsonwebtoken`'s own backend does it (`VerifyingKey::verify`).
struct EdDsaVerifier(ed25519_dalek::VerifyingKey);

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), SignatureError> {
        let signature = ed25519_dalek::Signature::from_slice(signature)?;
        self.0.verify(message, &signature)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}
