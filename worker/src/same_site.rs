//! The guard in front of every route that sets or clears the refresh cookie (login, refresh,
//! logout, logout-all; `routes::Route::sets_refresh_cookie` says which): a request a browser
//! made for another site is refused before the handler runs, with 403 `cross_site_refused`
//! and no `Set-Cookie` (ASVS 5.0 V3.5.1).
//!
//! `SameSite=Strict` keeps the cookie off cross-site requests, but it does not stop a
//! cross-site request from *receiving* a cookie: a hostile page can post a login form (no
//! CORS preflight for a form) and so sign the victim's browser into the attacker's account
//! (login CSRF), replacing their session; or post a logout and end it. Browsers mark such
//! requests with `Sec-Fetch-Site: cross-site`, and with an `Origin` naming the other site.
//!
//! With `CROSS_SITE_COOKIES` the cookie is `SameSite=None` (an app on another site needs it
//! on its cross-site requests), so a hostile page's requests would carry it too. Cross-site
//! requests are then taken only with an `Origin` in `ALLOWED_ORIGINS` *and* the
//! [`CSRF_HEADER`]: no form can send that header, and a script on another origin cannot send
//! it without a CORS preflight, which the Worker grants to `ALLOWED_ORIGINS` only. Two checks,
//! each enough alone in a browser that behaves.

use crate::error::AuthError;
use crate::incoming::Incoming;

/// The header `@tollgate/client` sends with every request, which a cross-site request needs
/// under `CROSS_SITE_COOKIES`. Its value does not matter: its presence proves the browser ran
/// (and the Worker granted) a CORS preflight, since it is not a CORS-safelisted header.
pub const CSRF_HEADER: &str = "Tollgate-CSRF";

/// Why a request was refused. Each reason has its own fix, which the `detail` of the answer
/// names, so an operator who set up a frontend on another site learns what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `Origin` is neither this Worker's nor in `ALLOWED_ORIGINS`.
    ForeignOrigin(String),
    /// `Sec-Fetch-Site: cross-site` while `CROSS_SITE_COOKIES` is off.
    CrossSite,
    /// `Sec-Fetch-Site: cross-site` without an `ALLOWED_ORIGINS` origin (no `Origin`, or this
    /// Worker's own, which no browser sends with a cross-site request).
    NoAllowedOrigin,
    /// Under `CROSS_SITE_COOKIES`, a request from an `ALLOWED_ORIGINS` origin without the
    /// [`CSRF_HEADER`] (a form, or a client too old to send it).
    NoCsrfHeader,
}

impl Refusal {
    /// The sentence the client sees: what is wrong and what fixes it.
    pub fn detail(&self) -> &'static str {
        match self {
            Refusal::ForeignOrigin(_) => {
                "This page's origin is not in the server's ALLOWED_ORIGINS: if it is your app, add it there (README, \"Where the frontend lives\")."
            }
            Refusal::CrossSite => {
                "This page is on another site than the Tollgate server, whose session cookie is first-party only: set CROSS_SITE_COOKIES=true on the server, or serve Tollgate on the app's site or through the app's own origin (README, \"Where the frontend lives\")."
            }
            Refusal::NoAllowedOrigin => {
                "A request from another site must carry an Origin listed in the server's ALLOWED_ORIGINS."
            }
            Refusal::NoCsrfHeader => {
                "A request from another site must carry the Tollgate-CSRF header, which @tollgate/client sends, so that the browser checks CORS before sending it."
            }
        }
    }

    /// What the security log records as the requirement that was not met.
    pub fn log_reason(&self) -> String {
        match self {
            Refusal::ForeignOrigin(origin) => format!("origin {origin}"),
            Refusal::CrossSite => "sec-fetch-site cross-site".into(),
            Refusal::NoAllowedOrigin => {
                "sec-fetch-site cross-site without an allowed origin".into()
            }
            Refusal::NoCsrfHeader => "tollgate-csrf header".into(),
        }
    }
}

/// What the guard knows about a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `Sec-Fetch-Site`, if sent.
    pub sec_fetch_site: Option<&'a str>,
    /// `Origin`, if sent.
    pub origin: Option<&'a str>,
    /// Whether [`CSRF_HEADER`] was sent.
    pub csrf_header: bool,
}

/// Why `req` must be refused, or `None` when it may go on.
///
/// An `Origin` must be this Worker's own or one of `allowed` (`ALLOWED_ORIGINS`).
/// `Sec-Fetch-Site: cross-site` is refused on its own unless `cross_site_cookies` (browsers
/// omit `Origin` from some requests but send `Sec-Fetch-Site` with every request to a secure
/// origin, and a cross-site request carries no `SameSite=Strict` cookie, so no legitimate
/// caller is refused). With `cross_site_cookies`, a cross-site request needs an allowed
/// `Origin`, and any request from an allowed origin other than this Worker's needs the
/// [`CSRF_HEADER`] (also from browsers that send no `Sec-Fetch-Site`). A request with
/// neither header (curl, native apps, server-side clients) is no browser's cross-site request
/// and passes.
pub fn refusal(
    req: Request<'_>,
    own_origin: &str,
    allowed: &[String],
    cross_site_cookies: bool,
) -> Option<Refusal> {
    let foreign = req.origin.filter(|origin| *origin != own_origin);
    if let Some(origin) = foreign
        && !allowed.iter().any(|a| a == origin)
    {
        return Some(Refusal::ForeignOrigin(origin.to_string()));
    }
    let cross_site = req
        .sec_fetch_site
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"));
    if cross_site && !cross_site_cookies {
        return Some(Refusal::CrossSite);
    }
    if cross_site && foreign.is_none() {
        return Some(Refusal::NoAllowedOrigin);
    }
    if cross_site_cookies && foreign.is_some() && !req.csrf_header {
        return Some(Refusal::NoCsrfHeader);
    }
    None
}

/// Applies [`refusal`] to `req`.
///
/// # Errors
/// [`AuthError::CrossSiteRefused`] (403 `cross_site_refused`; logged as `access_denied` with
/// the reason).
pub fn require(
    req: &Incoming,
    own_origin: &str,
    allowed: &[String],
    cross_site_cookies: bool,
) -> Result<(), AuthError> {
    let site = req.header("Sec-Fetch-Site");
    let origin = req.header("Origin");
    let seen = Request {
        sec_fetch_site: site.as_deref(),
        origin: origin.as_deref(),
        csrf_header: req.header(CSRF_HEADER).is_some(),
    };
    match refusal(seen, own_origin, allowed, cross_site_cookies) {
        None => Ok(()),
        Some(refusal) => Err(AuthError::CrossSiteRefused(refusal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://auth.example";
    const APP: &str = "https://app.example";

    fn decide(
        cross_site_cookies: bool,
        site: Option<&str>,
        origin: Option<&str>,
        csrf_header: bool,
    ) -> Option<Refusal> {
        let req = Request {
            sec_fetch_site: site,
            origin,
            csrf_header,
        };
        refusal(req, OWN, &[APP.to_string()], cross_site_cookies)
    }

    #[test]
    fn by_default_cross_site_requests_are_refused_whatever_their_origin_and_headers() {
        for origin in [None, Some(OWN), Some(APP)] {
            for site in ["cross-site", "Cross-Site"] {
                for header in [false, true] {
                    assert_eq!(
                        decide(false, Some(site), origin, header),
                        Some(Refusal::CrossSite),
                        "{site} {origin:?} {header}"
                    );
                }
            }
        }
        assert!(
            Refusal::CrossSite
                .detail()
                .contains("CROSS_SITE_COOKIES=true")
        );
    }

    #[test]
    fn foreign_and_opaque_origins_are_refused_in_both_modes() {
        for cross_site_cookies in [false, true] {
            for origin in [
                "https://evil.example",
                "null",
                "http://auth.example",
                "https://auth.example:8443",
                "https://app.example.evil",
            ] {
                for site in [None, Some("same-site"), Some("cross-site")] {
                    assert_eq!(
                        decide(cross_site_cookies, site, Some(origin), true),
                        Some(Refusal::ForeignOrigin(origin.into())),
                        "{origin} {site:?}"
                    );
                }
            }
        }
        assert!(
            Refusal::ForeignOrigin("x".into())
                .detail()
                .contains("ALLOWED_ORIGINS")
        );
    }

    #[test]
    fn own_allowed_and_headerless_requests_pass_in_both_modes() {
        for cross_site_cookies in [false, true] {
            for (site, origin) in [
                (None, None),
                (Some("same-origin"), Some(OWN)),
                (Some("same-site"), None),
                (Some("none"), None),
                (None, Some(OWN)),
            ] {
                assert_eq!(
                    decide(cross_site_cookies, site, origin, false),
                    None,
                    "{site:?} {origin:?}"
                );
            }
        }
        // A same-site app in ALLOWED_ORIGINS (auth.example.com and app.example.com), by
        // default with or without the header.
        assert_eq!(decide(false, Some("same-site"), Some(APP), false), None);
        assert_eq!(decide(false, None, Some(APP), false), None);
    }

    #[test]
    fn with_cross_site_cookies_a_cross_site_request_needs_an_allowed_origin_and_the_header() {
        assert_eq!(decide(true, Some("cross-site"), Some(APP), true), None);
        assert_eq!(
            decide(true, Some("cross-site"), Some(APP), false),
            Some(Refusal::NoCsrfHeader)
        );
        for origin in [None, Some(OWN)] {
            assert_eq!(
                decide(true, Some("cross-site"), origin, true),
                Some(Refusal::NoAllowedOrigin),
                "{origin:?}"
            );
        }
        // Browsers without Sec-Fetch-Site, and same-site apps: the header all the same.
        for site in [None, Some("same-site")] {
            assert_eq!(
                decide(true, site, Some(APP), false),
                Some(Refusal::NoCsrfHeader)
            );
            assert_eq!(decide(true, site, Some(APP), true), None);
        }
        assert!(Refusal::NoCsrfHeader.detail().contains(CSRF_HEADER));
    }
}
