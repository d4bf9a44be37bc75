//! The incoming request as the Worker reads it: its method, URL and headers, each taken from
//! the runtime's `Request` once, and its body on demand.
//!
//! workers-rs' `worker::Request` would do the same, but when it wraps the runtime's request it
//! also reads `request.cf`, Cloudflare's connection metadata, which workerd builds anew as a
//! JavaScript object on every read. Tollgate never uses it, and that one read was the largest
//! single JavaScript cost of serving a request (BENCHMARKS.md, "What dominates"). The fetch
//! handler therefore takes the runtime's request as it is and wraps it here.

use worker::worker_sys::web_sys;
use worker::{ByteStream, Headers, Method};

/// An incoming HTTP request.
pub struct Incoming {
    raw: web_sys::Request,
    method: Method,
    url: String,
    headers: Headers,
    body_used: bool,
}

impl Incoming {
    /// Wraps the runtime's request, reading its method, URL and headers.
    pub fn new(raw: web_sys::Request) -> Self {
        Self {
            method: Method::from(raw.method()),
            url: raw.url(),
            headers: Headers(raw.headers()),
            body_used: false,
            raw,
        }
    }

    /// The request method.
    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// The full URL, serialized by the runtime by the WHATWG URL rules.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL's path, without query or fragment (`/auth/login`).
    pub fn path(&self) -> &str {
        path_of(&self.url)
    }

    /// The request headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// The body as a stream of chunks; `None` when there is no body, or it was taken already.
    pub fn take_body(&mut self) -> Option<ByteStream> {
        if self.body_used {
            return None;
        }
        self.body_used = true;
        self.raw.body().map(ByteStream::from)
    }
}

/// The path of an already-serialized WHATWG URL (`https://host/a/b?q` → `/a/b`). A special
/// scheme's serialization always has a path, starting at the first `/` after the host, and
/// within it `?` and `#` only ever start the query and the fragment.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let Some(start) = url[after_scheme..].find('/').map(|i| after_scheme + i) else {
        return "/";
    };
    let path = &url[start..];
    &path[..path.find(['?', '#']).unwrap_or(path.len())]
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn paths_come_from_serialized_urls() {
        assert_eq!(path_of("http://127.0.0.1:8787/auth/login"), "/auth/login");
        assert_eq!(path_of("https://a.example/me?x=1#f"), "/me");
        assert_eq!(
            path_of("https://a.example/admin/users?cursor=/x"),
            "/admin/users"
        );
        assert_eq!(path_of("https://a.example/"), "/");
        assert_eq!(path_of("https://a.example"), "/");
        assert_eq!(path_of("https://a.example/a%3Fb"), "/a%3Fb");
    }
}
