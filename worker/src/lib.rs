//! Tollgate's auth API as a Cloudflare Worker.

use worker::{Context, Env, Request, Response, Result, event};

/// The Worker's entry point: every request starts here.
#[event(fetch)]
pub async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    match (req.method(), req.path().as_str()) {
        (worker::Method::Get, "/health") => Response::from_json(
            &serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
        ),
        _ => Ok(Response::from_json(
            &serde_json::json!({"detail": "Not found.", "code": "not_found"}),
        )?
        .with_status(404)),
    }
}
