//! One Workers KV namespace binding, called directly: the four calls [`crate::kv`] makes
//! (`get`, `put`, `delete`, `list`), each one imported method call.
//!
//! Why not workers-rs's `KvStore`: binding one reads the namespace off `env` and then looks up
//! its five methods, and every call converts its options (and a listing its answer) field by
//! field with `serde-wasm-bindgen`; each of those steps is a call out of the wasm. Here a read
//! passes the value type as a string (`get(key, "text")`, which the KV API accepts beside an
//! options object), and options and listings cross as one JSON text each (`JSON.parse`,
//! `JSON.stringify`). `make bench` counts the calls out of the wasm per route (BENCHMARKS.md
//! section 7). It also keeps `serde-wasm-bindgen`'s number formatting, some 14 KB, out of the
//! upload.

use js_sys::{JSON, Promise};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The runtime's `KVNamespace` object.
    type KvNamespace;

    /// `namespace.get(key, type)`: the value as `type` ("text" here), or null.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_as(this: &KvNamespace, key: &str, value_type: &str) -> Result<Promise, JsValue>;

    /// `namespace.put(key, value, options)`.
    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_with(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;

    /// `namespace.delete(key)`.
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_key(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    /// `namespace.list(options)`.
    #[wasm_bindgen(method, catch, js_name = list)]
    fn list_with(this: &KvNamespace, options: &JsValue) -> Result<Promise, JsValue>;
}

/// A bound KV namespace.
pub(crate) struct Namespace(KvNamespace);

/// One key of a listing.
#[derive(Debug, Deserialize)]
pub(crate) struct ListedKey {
    /// The key.
    pub name: String,
    /// The metadata written with it, if any.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// One page of a listing.
#[derive(Debug, Deserialize)]
pub(crate) struct ListPage {
    /// The keys of this page, in key order.
    pub keys: Vec<ListedKey>,
    /// Whether this is the last page.
    pub list_complete: bool,
    /// Where the next page starts, when there is one.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Serialize)]
struct PutOptions<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct ListOptions<'a> {
    prefix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
}

impl Namespace {
    /// The namespace bound as `name` in `env`.
    ///
    /// # Errors
    /// A sentence naming the binding when `env` has none by that name.
    pub(crate) fn bind(env: &Env, name: &str) -> Result<Namespace, String> {
        let raw = js_sys::Reflect::get(env, &JsValue::from_str(name))
            .map_err(|_| format!("KV binding {name}: cannot be read"))?;
        if raw.is_undefined() {
            return Err(format!("KV binding {name}: not bound"));
        }
        Ok(Namespace(raw.unchecked_into()))
    }

    /// The value of `key` as text, or `None` if there is none. (The caller bounds every wait.)
    ///
    /// # Errors
    /// The runtime's message when the call fails.
    pub(crate) async fn get_text(&self, key: &str) -> Result<Option<String>, String> {
        let value = settle(self.0.get_as(key, "text")).await?;
        Ok(value.as_string())
    }

    /// Writes `value` under `key`, with `metadata` and an absolute `expiration` (seconds).
    ///
    /// # Errors
    /// The runtime's message when the call fails.
    pub(crate) async fn put(
        &self,
        key: &str,
        value: &str,
        metadata: Option<&serde_json::Value>,
        expiration: Option<u64>,
    ) -> Result<(), String> {
        let options = options(&PutOptions {
            expiration,
            metadata,
        })?;
        settle(self.0.put_with(key, value, &options)).await?;
        Ok(())
    }

    /// Deletes `key` (nothing happens if it is absent).
    ///
    /// # Errors
    /// The runtime's message when the call fails.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), String> {
        settle(self.0.delete_key(key)).await?;
        Ok(())
    }

    /// One page of the keys under `prefix`: at most `limit` (KV's default, 1,000, if `None`),
    /// from `cursor` on.
    ///
    /// # Errors
    /// The runtime's message when the call fails, or what is wrong with its answer.
    pub(crate) async fn list(
        &self,
        prefix: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<ListPage, String> {
        let options = options(&ListOptions {
            prefix,
            limit,
            cursor,
        })?;
        let page = settle(self.0.list_with(&options)).await?;
        let text = JSON::stringify(&page)
            .map_err(describe)?
            .as_string()
            .ok_or("the KV listing is not JSON")?;
        serde_json::from_str(&text).map_err(|e| format!("the KV listing: {e}"))
    }
}

/// `options` as a JavaScript object: one JSON text, parsed in one call.
fn options<T: Serialize>(options: &T) -> Result<JsValue, String> {
    let text = serde_json::to_string(options).map_err(|e| e.to_string())?;
    JSON::parse(&text).map_err(describe)
}

/// The value a call's promise settles with.
async fn settle(call: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(call.map_err(describe)?)
        .await
        .map_err(describe)
}

/// A JavaScript error as text, by workers-rs's own conversion (its message, or the value).
fn describe(error: JsValue) -> String {
    worker::Error::from(error).to_string()
}
