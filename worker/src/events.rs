//! Security events as one structured JSON line each, on the Worker's log.
//!
//! The core names what happened (by ids only: never passwords, hashes, tokens or secrets);
//! this adds when, the client's address and the request's `CF-Ray`, and writes the line with
//! `console.log`, which `wrangler tail`, Workers Logs and `wrangler dev` all show.

use serde_json::{Value, json};
use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::time::{UnixSeconds, format_rfc3339};
use worker::Headers;

/// Logs events for one request. The request's headers are read only when an event is
/// recorded: most requests record none, and every header read crosses into JavaScript.
pub struct LogSink {
    /// When the request arrived.
    pub now: UnixSeconds,
    /// The request's headers, for `CF-Connecting-IP` and `CF-Ray`.
    pub headers: Headers,
}

/// The client's address as Cloudflare reports it (`CF-Connecting-IP`, which the edge sets and
/// clients cannot forge); `unknown` when absent (a direct call to a dev server).
pub fn client_address(headers: &Headers) -> String {
    headers
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .map(|ip| ip.trim().to_string())
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The log line for `event` at `now`, from `ip`, with Cloudflare's request id `ray`.
pub fn line(now: UnixSeconds, ip: &str, ray: Option<&str>, event: &SecurityEvent) -> Value {
    let mut line = json!({ "ts": format_rfc3339(now), "level": level(event), "ip": ip });
    if let Some(ray) = ray {
        line["ray"] = json!(ray);
    }
    if let (Some(out), Ok(Value::Object(fields))) =
        (line.as_object_mut(), serde_json::to_value(event))
    {
        out.extend(fields);
    }
    line
}

/// Warnings are what a security reviewer wants to be paged about.
fn level(event: &SecurityEvent) -> &'static str {
    match event {
        SecurityEvent::RefreshTokenReused { .. }
        | SecurityEvent::LoginThrottled { .. }
        | SecurityEvent::RegistrationThrottled { .. }
        | SecurityEvent::RehashFailed { .. }
        | SecurityEvent::RecoveryThrottled { .. }
        | SecurityEvent::EmailDeliveryFailed { .. }
        | SecurityEvent::RecoveryCodeUsed { .. }
        | SecurityEvent::MfaReset { .. }
        // A counter that did not grow: the key may have been cloned.
        | SecurityEvent::PasskeyRejected {
            reason: "counter_not_increased",
            ..
        } => "warn",
        _ => "info",
    }
}

impl EventSink for LogSink {
    fn record(&self, event: SecurityEvent) {
        let ray = self.headers.get("CF-Ray").ok().flatten();
        worker::console_log!(
            "{}",
            line(
                self.now,
                &client_address(&self.headers),
                ray.as_deref(),
                &event
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::id::Id;

    #[test]
    fn lines_carry_time_address_and_the_event_fields() {
        let id = Id::from_bytes([1; 16]);
        let event = SecurityEvent::RefreshTokenReused {
            user_id: id,
            session_id: id,
            presented_generation: 0,
            current_generation: 2,
        };
        let line = line(1_700_000_000, "192.0.2.1", Some("abc"), &event);
        assert_eq!(line["event"], "refresh_token_reused");
        assert_eq!(line["level"], "warn");
        assert_eq!(line["ts"], "2023-11-14T22:13:20Z");
        assert_eq!(line["ip"], "192.0.2.1");
        assert_eq!(line["ray"], "abc");
        assert_eq!(line["current_generation"], 2);
    }
}
