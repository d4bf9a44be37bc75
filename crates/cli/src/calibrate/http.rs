//! Just enough HTTP/1.1 to time requests to a local `wrangler dev`: one request per
//! connection, `http://` only. A client library would bring TLS and an async runtime for two
//! loopback endpoints.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest a calibration request may take: 20 hashes at the largest OWASP row in workerd on
/// a slow machine stay well under it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest response read, in bytes; the endpoints answer a few dozen.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// A base URL `http://host:port`, without a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    host: String,
    port: u16,
}

impl BaseUrl {
    /// Parses `http://host[:port][/]`.
    ///
    /// # Errors
    /// A sentence saying what is wrong: not `http://`, a path, or a bad port.
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?} is not an http:// URL"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains('/') {
            return Err(format!("{url:?} must be a base URL without a path"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("{url:?} has an invalid port"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() || host.contains([':', '[', ']', '@']) {
            return Err(format!(
                "{url:?}: give the host as a name or IPv4 address, such as http://127.0.0.1:8787"
            ));
        }
        Ok(BaseUrl {
            host: host.to_string(),
            port,
        })
    }

    /// `http://host:port`.
    pub fn as_string(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, decoded from chunked encoding if needed.
    pub body: String,
}

/// Sends one request and reads the whole response.
///
/// # Errors
/// A sentence for connection failures, timeouts and unparsable responses.
pub fn request(
    base: &BaseUrl,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Result<Response, String> {
    let addr = (base.host.as_str(), base.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", base.as_string()))?
        .next()
        .ok_or_else(|| format!("cannot resolve {}", base.as_string()))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {}: {e}", base.as_string()))?;
    let io_err = |e: std::io::Error| format!("{method} {}{path}: {e}", base.as_string());
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(REQUEST_TIMEOUT))
        .map_err(io_err)?;
    stream.set_nodelay(true).map_err(io_err)?;
    let body = json_body.unwrap_or("");
    let content_type = if json_body.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\n{content_type}Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        base.host,
        base.port,
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(io_err)?;
    stream.write_all(body.as_bytes()).map_err(io_err)?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .map_err(io_err)?;
    parse_response(&raw).ok_or_else(|| {
        format!(
            "{method} {}{path}: the answer is not an HTTP response",
            base.as_string()
        )
    })
}

/// Status and body of a raw HTTP/1.1 response read to the end of the connection.
fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse::<u16>().ok()?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Some(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Decodes a chunked body (RFC 9112 §7.1), ignoring extensions and trailers.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&body[..line_end]).ok()?;
        let size_hex = size_field.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8787/").map(|u| u.as_string()),
            Ok("http://127.0.0.1:8787".to_string())
        );
        assert_eq!(
            BaseUrl::parse("http://localhost").map(|u| u.as_string()),
            Ok("http://localhost:80".to_string())
        );
        for bad in [
            "https://x.example",
            "127.0.0.1:8787",
            "http://h:99999",
            "http://h:1/api",
            "http://",
            "http://[::1]:80",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_plain_and_chunked_responses() {
        let plain = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"count\":3}");
        assert_eq!(
            plain.map(|r| (r.status, r.body)),
            Some((200, "{\"count\":3}".into()))
        );
        let chunked = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        );
        assert_eq!(
            chunked.map(|r| (r.status, r.body)),
            Some((404, "{\"a\":1}".into()))
        );
        assert!(parse_response(b"garbage").is_none());
    }
}
