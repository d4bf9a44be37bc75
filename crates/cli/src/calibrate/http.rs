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
    read_response(&mut stream).map_err(|why| format!("{method} {}{path}: {why}", base.as_string()))
}

/// Reads one response, stopping as soon as its body is complete: servers may keep the
/// connection open despite `Connection: close` (wrangler's proxy does), and waiting for them
/// to close it would add seconds to every timed request.
fn read_response(stream: &mut impl Read) -> Result<Response, String> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        raw.extend_from_slice(&buffer[..read]);
        let at_eof = read == 0;
        match parse_response(&raw, at_eof) {
            Parsed::Complete(response) => return Ok(response),
            Parsed::Invalid => return Err("the answer is not an HTTP response".into()),
            Parsed::Incomplete if raw.len() as u64 > MAX_RESPONSE_BYTES => {
                return Err("the answer is too large".into());
            }
            Parsed::Incomplete => {}
        }
    }
}

/// How much of a response the bytes so far hold.
enum Parsed {
    Complete(Response),
    Incomplete,
    Invalid,
}

/// Parses `raw`, framed by `Content-Length`, chunked encoding, or (with neither) the end of
/// the connection, which `at_eof` says has come.
fn parse_response(raw: &[u8], at_eof: bool) -> Parsed {
    let unless_eof = || {
        if at_eof {
            Parsed::Invalid
        } else {
            Parsed::Incomplete
        }
    };
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return unless_eof();
    };
    let Some((status, framing)) = parse_head(&raw[..split]) else {
        return Parsed::Invalid;
    };
    let body = &raw[split + 4..];
    let complete = |body: &[u8]| {
        Parsed::Complete(Response {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        })
    };
    match framing {
        Framing::Chunked => match dechunk(body) {
            Some(decoded) => complete(&decoded),
            None => unless_eof(),
        },
        Framing::Length(length) if body.len() >= length => complete(&body[..length]),
        Framing::Length(_) => unless_eof(),
        Framing::UntilClose if at_eof => complete(body),
        Framing::UntilClose => Parsed::Incomplete,
    }
}

/// How a response body ends (RFC 9112 §6.3).
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

/// The status code and body framing of a response head.
fn parse_head(head: &[u8]) -> Option<(u16, Framing)> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse::<u16>().ok()?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            framing = Framing::Chunked;
        } else if name == "content-length" && !matches!(framing, Framing::Chunked) {
            framing = Framing::Length(value.parse().ok()?);
        }
    }
    Some((status, framing))
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

    /// A connection that sends its bytes a few at a time and then stays open: reading past
    /// them means the client waited for a close that a keep-alive server never sends.
    struct KeptOpen<'a>(&'a [u8]);

    impl Read for KeptOpen<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("read past the end of the response"));
            }
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn stops_reading_when_the_body_is_complete() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"count\":3}";
        let got = read_response(&mut KeptOpen(sized)).map(|r| (r.status, r.body));
        assert_eq!(got, Ok((200, "{\"count\":3}".into())));
        let chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        let got = read_response(&mut KeptOpen(chunked)).map(|r| (r.status, r.body));
        assert_eq!(got, Ok((404, "{\"a\":1}".into())));
    }

    #[test]
    fn a_body_without_length_ends_with_the_connection() {
        let until_close = b"HTTP/1.1 200 OK\r\n\r\nhello";
        let got = read_response(&mut &until_close[..]).map(|r| r.body);
        assert_eq!(got, Ok("hello".into()));
    }

    #[test]
    fn refuses_what_is_not_a_whole_response() {
        for raw in [
            &b"garbage"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 abc OK\r\n\r\n",
        ] {
            assert!(read_response(&mut &raw[..]).is_err(), "{raw:?}");
        }
    }
}
