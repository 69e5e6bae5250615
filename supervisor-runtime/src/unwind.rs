//! Panics caught by the runtime: in a task's own code, in a thread of a
//! blocking worker, and in the runtime's own tasks (a supervisor's loop),
//! turned into the message a report carries.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

/// Runs `fut`, catching a panic in any of its polls, as tokio does for a
/// task (the future's locals are dropped as the panic unwinds), but
/// keeping the message.
pub(crate) async fn caught<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(poll) => poll.map(Ok),
            Err(payload) => Poll::Ready(Err(message_of(payload))),
        },
    )
    .await
}

/// The text of a caught panic; the payload is dropped without letting a
/// panicking `Drop` of its own escape.
pub(crate) fn message_of(payload: Box<dyn Any + Send>) -> String {
    let message = panic_message(&*payload);
    crate::error::drop_quietly(payload);
    message
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
