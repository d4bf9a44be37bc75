//! Security events as one structured JSON line each, on the Worker's log.
//!
//! The core names what happened (by ids only: never passwords, hashes, tokens or secrets);
//! this adds when, the client's address and the request's `CF-Ray`, and writes the line with
//! `console.log`, which `wrangler tail`, Workers Logs and `wrangler dev` all show.

use serde_json::{Value, json};
use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::time::{UnixSeconds, format_rfc3339};

/// Logs events for one request.
pub struct LogSink {
    /// When the request arrived.
    pub now: UnixSeconds,
    /// The client's address (`CF-Connecting-IP`).
    pub ip: String,
    /// Cloudflare's request id, when present.
    pub ray: Option<String>,
}

impl LogSink {
    /// The log line for `event`.
    pub fn line(&self, event: &SecurityEvent) -> Value {
        let mut line =
            json!({ "ts": format_rfc3339(self.now), "level": level(event), "ip": self.ip });
        if let Some(ray) = &self.ray {
            line["ray"] = json!(ray);
        }
        if let (Some(out), Ok(Value::Object(fields))) =
            (line.as_object_mut(), serde_json::to_value(event))
        {
            out.extend(fields);
        }
        line
    }
}

/// Warnings are what a security reviewer wants to be paged about.
fn level(event: &SecurityEvent) -> &'static str {
    match event {
        SecurityEvent::RefreshTokenReused { .. }
        | SecurityEvent::LoginThrottled { .. }
        | SecurityEvent::RehashFailed { .. } => "warn",
        _ => "info",
    }
}

impl EventSink for LogSink {
    fn record(&self, event: SecurityEvent) {
        worker::console_log!("{}", self.line(&event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::id::Id;

    #[test]
    fn lines_carry_time_address_and_the_event_fields() {
        let sink = LogSink {
            now: 1_700_000_000,
            ip: "192.0.2.1".into(),
            ray: Some("abc".into()),
        };
        let id = Id::from_bytes([1; 16]);
        let line = sink.line(&SecurityEvent::RefreshTokenReused {
            user_id: id,
            session_id: id,
            presented_generation: 0,
            current_generation: 2,
        });
        assert_eq!(line["event"], "refresh_token_reused");
        assert_eq!(line["level"], "warn");
        assert_eq!(line["ts"], "2023-11-14T22:13:20Z");
        assert_eq!(line["ip"], "192.0.2.1");
        assert_eq!(line["ray"], "abc");
        assert_eq!(line["current_generation"], 2);
    }
}
