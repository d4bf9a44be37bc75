//! Awaiting two independent futures at once, without an executor or a dependency.
//!
//! The flows use it where two storage calls do not depend on each other (the account and
//! address throttle checks, a refresh's family and user reads), so a host whose calls go over
//! the network pays one round trip instead of two.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

/// Polls `a` and `b` concurrently and returns both outputs.
pub async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    poll_fn(|cx| {
        if out_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        match (out_a.take(), out_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                out_a = x;
                out_b = y;
                Poll::Pending
            }
        }
    })
    .await
}
