//! `/admin/users`: listing users, changing roles, disabling and deleting users (role `admin`
//! only).

use serde_json::{Value, json};
use tollgate_core::store::UserRecord;
use tollgate_core::time::format_rfc3339;
use tollgate_core::{Error, ErrorCode};

use super::account::user_json;
use super::{principal, stores};
use crate::error::AuthError;
use crate::http::{self, Reply, json_object, read_body, require_media_type, string_fields};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// Longest `cursor` accepted, in characters. A KV cursor is opaque; those Cloudflare and
/// wrangler's local KV hand out are base64 of up to a key's 512 bytes (about 690 characters).
const MAX_CURSOR_CHARS: usize = 1024;

/// Whether `cursor` has the shape of a KV list cursor: base64 or base64url text of bounded
/// length. Anything else is refused before it reaches KV, whose answer to a garbage cursor
/// would be a storage error (a 5xx caused by input).
fn is_kv_cursor(cursor: &str) -> bool {
    cursor.len() <= MAX_CURSOR_CHARS
        && cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// `GET /admin/users?cursor=` → `{"users":[...], "cursor": <next page or null>}`.
///
/// # Errors
/// 422 `validation_error` (`cursor`: `invalid_value`) for a cursor not shaped like a KV one.
pub async fn list_users(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let cursor = http::query_param(req.url(), "cursor");
    if cursor.as_deref().is_some_and(|c| !is_kv_cursor(c)) {
        return Err(Error::field("cursor", ErrorCode::InvalidValue).into());
    }
    let stores = stores(cx);
    let page = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .list_users(&principal, cursor.as_deref())
        .await?;
    let users: Vec<Value> = page
        .users
        .iter()
        .map(|u| json!({ "id": u.id, "email": u.email, "role": u.role, "created_at": format_rfc3339(u.created_at), "disabled": u.disabled }))
        .collect();
    Ok(Reply::json(
        200,
        &json!({ "users": users, "cursor": page.cursor }),
    ))
}

/// `PUT /admin/users/{id}/role` JSON `{"role"}` → 200 with the updated user; their sessions end.
pub async fn set_role(req: &mut Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let [role] = string_fields(&body, ["role"])?;
    let stores = stores(cx);
    let user = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .set_role(&principal, id, role, cx.now)
        .await?;
    Ok(Reply::json(200, &admin_user_json(&user, cx)))
}

/// `PUT /admin/users/{id}/disabled` JSON `{"disabled": true|false}` → 200 with the updated
/// user. Disabling ends the user's sessions; while disabled, the user cannot log in or refresh.
///
/// # Errors
/// 422 `validation_error` (`disabled`: `missing_field`) when `disabled` is absent or not a
/// boolean.
pub async fn set_disabled(req: &mut Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    require_media_type(req, "application/json")?;
    let body = json_object(&read_body(req).await?)?;
    let Some(&Value::Bool(disabled)) = body.get("disabled") else {
        return Err(Error::field("disabled", ErrorCode::MissingField).into());
    };
    let stores = stores(cx);
    let user = cx
        .settings
        .auth
        .flows(&stores, &cx.events)
        .set_disabled(&principal, id, disabled, cx.now)
        .await?;
    Ok(Reply::json(200, &admin_user_json(&user, cx)))
}

/// A user as the admin routes show it: as `/me` does, plus whether the account is disabled.
fn admin_user_json(user: &UserRecord, cx: &Cx<'_>) -> Value {
    let mut json = user_json(user, cx);
    json["disabled"] = Value::Bool(user.disabled);
    json
}

/// `DELETE /admin/users/{id}/sessions` → 204; every session of the user ends.
pub async fn end_sessions(req: &Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .end_user_sessions(&principal, id, cx.now)
        .await?;
    Ok(Reply::empty(204))
}

/// `DELETE /admin/users/{id}` → 204; the user's sessions end.
pub async fn delete_user(req: &Incoming, cx: &Cx<'_>, id: &str) -> Result<Reply, AuthError> {
    let principal = principal(req, cx)?;
    let stores = stores(cx);
    cx.settings
        .auth
        .flows(&stores, &cx.events)
        .delete_user_at(&principal, id, cx.now)
        .await?;
    Ok(Reply::empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cursor_shaped_text_reaches_kv() {
        for good in [
            "",
            "dXNlcjowYjVkMWUwYy0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA=",
            "6Ck1la0VxJ0djhidm1MdX2FyDGxLKVeeHZZmORS_8XeSuhz9SjIJRaSa2lnsF01tQOHrfTGAP3R5X1Kv5iVUuMbNKhWNAXHOl6ePB0TUL8nw",
        ] {
            assert!(is_kv_cursor(good), "{good}");
        }
        let long = "A".repeat(MAX_CURSOR_CHARS + 1);
        for bad in ["not a cursor", "abc\0", "%zz", "ü", "a.b", long.as_str()] {
            assert!(!is_kv_cursor(bad), "{bad}");
        }
    }
}
