//! RS256 and ES256 signature checks of provider ID tokens with the runtime's WebCrypto
//! (`crypto.subtle`), so that no RSA or P-256 code ships in the Worker's wasm.
//!
//! The core has already decided everything (the algorithm is allowed, the key was selected
//! for it, the signature has the right length); this only imports the public key and asks
//! `crypto.subtle.verify`. Any failure (a key the runtime refuses, a rejected promise) is a
//! signature that does not verify.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use tollgate_core::oidc::{IdTokenAlgorithm, KeyMaterial, SignatureBackend};
use tollgate_core::unverified::encode_base64url;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// `crypto.subtle` of the Workers runtime.
pub(crate) struct WebCrypto;

impl SignatureBackend for WebCrypto {
    async fn verify(
        &self,
        alg: IdTokenAlgorithm,
        key: &KeyMaterial,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        verify(alg, key, message, signature).await.unwrap_or(false)
    }
}

fn object(members: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (name, value) in members {
        Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object)
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

async fn call(subtle: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(subtle, &text(method))?.dyn_into()?;
    let promise: Promise = function
        .apply(subtle, &args.iter().collect::<Array>())?
        .dyn_into()?;
    JsFuture::from(promise).await
}

async fn verify(
    alg: IdTokenAlgorithm,
    key: &KeyMaterial,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, JsValue> {
    let (jwk, import, params) = match (alg, key) {
        (IdTokenAlgorithm::Rs256, KeyMaterial::Rsa { n, e }) => (
            object(&[
                ("kty", text("RSA")),
                ("n", text(&encode_base64url(n))),
                ("e", text(&encode_base64url(e))),
            ])?,
            object(&[
                ("name", text("RSASSA-PKCS1-v1_5")),
                ("hash", text("SHA-256")),
            ])?,
            object(&[("name", text("RSASSA-PKCS1-v1_5"))])?,
        ),
        (IdTokenAlgorithm::Es256, KeyMaterial::P256 { x, y }) => (
            object(&[
                ("kty", text("EC")),
                ("crv", text("P-256")),
                ("x", text(&encode_base64url(x))),
                ("y", text(&encode_base64url(y))),
            ])?,
            object(&[("name", text("ECDSA")), ("namedCurve", text("P-256"))])?,
            // WebCrypto's ECDSA signature is `r || s`, exactly the JWS form (RFC 7518 §3.4).
            object(&[("name", text("ECDSA")), ("hash", text("SHA-256"))])?,
        ),
        // EdDSA is checked in the core; nothing else reaches a backend.
        _ => return Ok(false),
    };
    let crypto = Reflect::get(&js_sys::global(), &text("crypto"))?;
    let subtle = Reflect::get(&crypto, &text("subtle"))?;
    let usages: Array = std::iter::once(text("verify")).collect();
    let key = call(
        &subtle,
        "importKey",
        &[
            text("jwk"),
            jwk.into(),
            import.into(),
            JsValue::FALSE,
            usages.into(),
        ],
    )
    .await?;
    let verified = call(
        &subtle,
        "verify",
        &[
            params.into(),
            key,
            Uint8Array::from(signature).into(),
            Uint8Array::from(message).into(),
        ],
    )
    .await?;
    Ok(verified.as_bool() == Some(true))
}
