//! `GET /openapi.json`: the OpenAPI document, with the OAuth2 password flow's `scopes` map
//! generated from the deployment's role table (`ROLES`), so Swagger UI's Authorize dialog
//! offers exactly the scopes this deployment grants.
//!
//! The document itself stays a static asset (`worker/openapi.json`, copied into
//! `worker/public` by `scripts/build-worker.sh`): it is 75 KB that the Worker's size-limited
//! upload need not carry. The Worker reads it through the `ASSETS` binding and replaces only
//! the `scopes` object of the flow, as text, so everything else is served byte for byte.

use serde_json::{Map, Value};
use tollgate_core::Error;
use tollgate_core::roles::{
    Roles, SCOPE_PROFILE, SCOPE_SESSIONS, SCOPE_USERS_READ, SCOPE_USERS_WRITE,
};

use crate::error::AuthError;
use crate::http::{self, Reply};
use crate::incoming::Incoming;
use crate::routes::Cx;

/// `GET /openapi.json`.
///
/// # Errors
/// 503 `storage_unavailable` when the static document cannot be read.
pub async fn openapi(req: &Incoming, cx: &Cx<'_>) -> Result<Reply, AuthError> {
    let unavailable =
        |why: &str| AuthError::Core(Error::StorageUnavailable(format!("openapi.json: {why}")));
    let assets = cx
        .env
        .assets("ASSETS")
        .map_err(|_| unavailable("no ASSETS binding"))?;
    let url = format!("{}/openapi.json", http::own_origin(req));
    let mut response = assets
        .fetch(url, None)
        .await
        .map_err(|_| unavailable("the static assets did not answer"))?;
    if response.status_code() != 200 {
        return Err(unavailable("not among the static assets"));
    }
    let text = response
        .text()
        .await
        .map_err(|_| unavailable("unreadable"))?;
    let document = with_scopes(&text, &cx.settings.auth.config.roles)
        .ok_or_else(|| unavailable("it has no OAuth2 password flow scopes to fill in"))?;
    Ok(Reply::json_text(200, document).with("Cache-Control", "public, max-age=300"))
}

/// What a scope lets a token do, for the scopes Tollgate's own routes check, and which
/// roles grant it (every scope a table names, so a resource server's own scopes are listed
/// too).
fn describe(scope: &str, roles: &[&str]) -> String {
    let meaning = match scope {
        SCOPE_PROFILE => "Read your profile. ",
        SCOPE_SESSIONS => "Manage your sessions and password. ",
        SCOPE_USERS_READ => "List users. ",
        SCOPE_USERS_WRITE => "Change roles, disable, sign out and delete users. ",
        _ => "",
    };
    format!("{meaning}Granted to: {}.", roles.join(", "))
}

/// The OAuth2 password flow's `scopes` map for `roles`: every scope some role grants, in the
/// order the table first names it.
pub(crate) fn scopes_object(roles: &Roles) -> Value {
    let map: Map<String, Value> = roles
        .scopes()
        .into_iter()
        .map(|(scope, granted_by)| (scope.to_string(), Value::from(describe(scope, &granted_by))))
        .collect();
    Value::Object(map)
}

/// `document` with the `scopes` object after `"securitySchemes"` replaced by the one for
/// `roles`; `None` if the document has no such object.
fn with_scopes(document: &str, roles: &Roles) -> Option<String> {
    let schemes = document.find("\"securitySchemes\"")?;
    let key = schemes + document[schemes..].find("\"scopes\"")?;
    let open = key + document[key..].find('{')?;
    let close = open + object_len(&document[open..])?;
    let scopes = serde_json::to_string(&scopes_object(roles)).ok()?;
    Some([&document[..open], &scopes, &document[close..]].concat())
}

/// The length of the JSON object `text` starts with, braces inside strings ignored.
fn object_len(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, byte) in text.bytes().enumerate() {
        match (in_string, byte) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'{') => depth += 1,
            (false, b'}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = include_str!("../../openapi.json");

    fn flow_scopes(document: &str) -> Value {
        let doc: Value = serde_json::from_str(document).unwrap();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        let oauth2 = schemes.values().find(|s| s["type"] == "oauth2").unwrap();
        oauth2["flows"]["password"]["scopes"].clone()
    }

    /// The checked-in document is what the Worker serves with the default table: its scopes
    /// are the default roles' scopes, described as the Worker describes them.
    #[test]
    fn the_static_document_lists_the_default_tables_scopes() {
        assert_eq!(flow_scopes(DOCUMENT), scopes_object(&Roles::default()));
        let served = with_scopes(DOCUMENT, &Roles::default()).unwrap();
        let parsed: Value = serde_json::from_str(&served).unwrap();
        assert_eq!(parsed, serde_json::from_str::<Value>(DOCUMENT).unwrap());
    }

    #[test]
    fn a_configured_table_replaces_the_flows_scopes_and_nothing_else() {
        let roles = Roles::from_json(
            r#"{"user": ["profile"], "editor": ["profile", "notes:write"],
                "admin": ["users:read", "users:write"]}"#,
        )
        .unwrap();
        let served = with_scopes(DOCUMENT, &roles).unwrap();
        let scopes = flow_scopes(&served);
        let keys: Vec<&String> = scopes.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["notes:write", "profile", "users:read", "users:write"],
            "serde_json's map is sorted; the set is what matters"
        );
        assert_eq!(scopes["notes:write"], "Granted to: editor.");
        assert_eq!(
            scopes["profile"],
            "Read your profile. Granted to: user, editor."
        );
        let mut expected: Value = serde_json::from_str(DOCUMENT).unwrap();
        let mut got: Value = serde_json::from_str(&served).unwrap();
        for doc in [&mut expected, &mut got] {
            let schemes = doc["components"]["securitySchemes"]
                .as_object_mut()
                .unwrap();
            for scheme in schemes.values_mut() {
                if let Some(flow) = scheme.pointer_mut("/flows/password") {
                    flow["scopes"] = Value::Null;
                }
            }
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn objects_are_measured_with_braces_in_strings_ignored() {
        assert_eq!(object_len(r#"{"a": "}{\"}"} tail"#), Some(14));
        assert_eq!(object_len(r#"{"a": {"b": 1}}, "c""#), Some(15));
        assert_eq!(object_len("{ unclosed"), None);
    }
}
