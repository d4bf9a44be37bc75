//! Hands email messages to the operator's mailer: a signed POST to `EMAIL_WEBHOOK_URL`,
//! after the response, retried with backoff.
//!
//! The message, its body and its signature are the core's ([`tollgate_core::webhook`]); this
//! only does the I/O. Delivery runs in `waitUntil`, so a request's answer and its time are
//! the same whether a message is sent, retried or fails. Every attempt keeps the message's
//! `webhook-id` (receivers deduplicate on it) and is signed at its own time, as the Standard
//! Webhooks specification says. A failed attempt is a security event (`email_delivery_failed`,
//! with the status, never the body or the token); redirects are not followed, so the body
//! goes nowhere but the configured URL.

use std::time::Duration;

use tollgate_core::events::{EventSink, SecurityEvent};
use tollgate_core::webhook::{self, EmailMessage, RETRY_DELAYS_S};
use wasm_bindgen::JsValue;
use worker::{Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::config::EmailDelivery;
use crate::events::LogSink;
use crate::handlers::HostRandom;
use crate::kv::timeout;
use crate::routes::Cx;

/// How long one attempt may take before it counts as failed, in milliseconds: a mailer's
/// webhook that needs longer is broken, and the whole schedule must fit `waitUntil`'s 30 s.
const ATTEMPT_TIMEOUT_MS: u64 = 5_000;

/// Whether this deployment can send messages (`EMAIL_WEBHOOK_URL` is set).
pub(crate) fn configured(cx: &Cx<'_>) -> bool {
    cx.settings.email.is_some()
}

/// Sends `message` after the response, if delivery is configured (the routes that need it
/// answer 503 `misconfigured` before they get here when it is not).
pub(crate) fn send(cx: &Cx<'_>, message: EmailMessage) {
    let Some(delivery) = cx.settings.email.clone() else {
        return;
    };
    let id = webhook::message_id(&mut HostRandom);
    let body = message.body(delivery.app_url.as_deref());
    let headers = worker::Headers(cx.events.headers.0.clone());
    cx.ctx.wait_until(async move {
        // A timer, not a microtask: the first attempt starts only once the handler has handed
        // its response over, so building and sending the request cannot delay the answer (the
        // HTTP test compares the time of known and unknown addresses).
        Delay::from(Duration::from_millis(0)).await;
        let attempts = RETRY_DELAYS_S.len() + 1;
        for attempt in 1..=attempts {
            if let Some(delay_s) = RETRY_DELAYS_S.get(attempt.wrapping_sub(2)) {
                Delay::from(Duration::from_secs(*delay_s)).await;
            }
            let now = crate::now();
            let Err(detail) = post(&delivery, &id, now, &body).await else {
                return;
            };
            let events = LogSink {
                now,
                headers: worker::Headers(headers.0.clone()),
            };
            events.record(SecurityEvent::EmailDeliveryFailed {
                kind: message.kind.as_str(),
                user_id: message.user_id,
                attempt: attempt as u32,
                gave_up: attempt == attempts,
                detail,
            });
        }
    });
}

/// One signed POST; what went wrong, for the log.
async fn post(
    delivery: &EmailDelivery,
    id: &str,
    now: tollgate_core::time::UnixSeconds,
    body: &str,
) -> Result<(), String> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| {
        headers
            .set(name, value)
            .map_err(|_| format!("could not set {name}"))
    };
    set("Content-Type", "application/json")?;
    set("webhook-id", id)?;
    set("webhook-timestamp", &now.to_string())?;
    set("webhook-signature", &delivery.secret.sign(id, now, body))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(JsValue::from_str(body)));
    let request = Request::new_with_init(&delivery.url, &init)
        .map_err(|_| "could not build the request".to_string())?;
    // The error text is left out: it may quote the URL, and a webhook URL can hold a secret.
    match timeout(ATTEMPT_TIMEOUT_MS, Fetch::Request(request).send()).await {
        None => Err(format!("no answer within {ATTEMPT_TIMEOUT_MS} ms")),
        Some(Err(_)) => Err("network error".into()),
        Some(Ok(response)) if (200..300).contains(&response.status_code()) => Ok(()),
        Some(Ok(response)) => Err(format!("answered HTTP {}", response.status_code())),
    }
}
