//! The guard in front of every route that sets or clears the refresh cookie (login, refresh,
//! logout, logout-all; `routes::Route::sets_refresh_cookie` says which): a request a browser
//! made for another site is refused before the handler runs, with 403 `forbidden` and no
//! `Set-Cookie` (ASVS 5.0 V3.5.1).
//!
//! `SameSite=Strict` keeps the cookie off cross-site requests, but it does not stop a
//! cross-site request from *receiving* a cookie: a hostile page can post a login form (no
//! CORS preflight for a form) and so sign the victim's browser into the attacker's account
//! (login CSRF), replacing their session; or post a logout and end it. Browsers mark such
//! requests with `Sec-Fetch-Site: cross-site`, and with an `Origin` naming the other site.

use tollgate_core::Error;

use crate::error::AuthError;
use crate::http;
use crate::incoming::Incoming;

/// Why a request must be refused, or `None` when it may go on. `Sec-Fetch-Site: cross-site`
/// is refused on its own, whatever the `Origin` (browsers omit `Origin` from some requests but
/// send `Sec-Fetch-Site` with every request to a secure origin, and a cross-site request
/// carries no `SameSite=Strict` cookie, so no legitimate caller is refused); otherwise an
/// `Origin` must be this Worker's own or one of `allowed` (`ALLOWED_ORIGINS`). A request with
/// neither header (curl, native apps, server-side clients) is no browser's cross-site request
/// and passes.
pub fn refusal(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    own_origin: &str,
    allowed: &[String],
) -> Option<String> {
    if sec_fetch_site.is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return Some("sec-fetch-site cross-site".into());
    }
    let origin = origin?;
    if origin == own_origin || allowed.iter().any(|a| a == origin) {
        None
    } else {
        Some(format!("origin {origin}"))
    }
}

/// Applies [`refusal`] to `req`.
///
/// # Errors
/// [`AuthError`] with code `forbidden` (403; logged as `access_denied` with the reason).
pub fn require(req: &Incoming, allowed: &[String]) -> Result<(), AuthError> {
    let site = req.header("Sec-Fetch-Site");
    let origin = req.header("Origin");
    match refusal(
        site.as_deref(),
        origin.as_deref(),
        &http::own_origin(req),
        allowed,
    ) {
        None => Ok(()),
        Some(reason) => Err(Error::Forbidden(reason).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://auth.example";

    fn decide(site: Option<&str>, origin: Option<&str>) -> Option<String> {
        refusal(site, origin, OWN, &["https://app.example".to_string()])
    }

    #[test]
    fn cross_site_requests_are_refused_whatever_their_origin() {
        for origin in [None, Some(OWN), Some("https://app.example")] {
            for site in ["cross-site", "Cross-Site"] {
                assert_eq!(
                    decide(Some(site), origin).as_deref(),
                    Some("sec-fetch-site cross-site"),
                    "{site} {origin:?}"
                );
            }
        }
    }

    #[test]
    fn foreign_and_opaque_origins_are_refused() {
        for origin in [
            "https://evil.example",
            "null",
            "http://auth.example",
            "https://auth.example:8443",
            "https://app.example.evil",
        ] {
            assert_eq!(
                decide(Some("same-site"), Some(origin)),
                Some(format!("origin {origin}"))
            );
            assert_eq!(decide(None, Some(origin)), Some(format!("origin {origin}")));
        }
    }

    #[test]
    fn own_allowed_and_headerless_requests_pass() {
        for (site, origin) in [
            (None, None),
            (Some("same-origin"), Some(OWN)),
            (Some("same-site"), None),
            (Some("none"), None),
            (None, Some(OWN)),
            (Some("same-site"), Some("https://app.example")),
        ] {
            assert_eq!(decide(site, origin), None, "{site:?} {origin:?}");
        }
    }
}
