//! Scalar forms, error types, visibility, attributes kept, and the ways a
//! `#[supervised]` value is used as a task.

#![deny(warnings)]

use std::time::Duration;

use supervisor_runtime::{BoxError, Supervised, Supervisor, TaskContext, supervised};
use supervisor_spec::{Backoff, ChildSpec, Readiness, Shutdown, SupervisorSpec};

mod jobs {
    use supervisor_runtime::{TaskContext, supervised};

    /// Visible in the crate, like the fn was.
    #[supervised(shutdown = "brutal_kill", backoff = "none", readiness = "immediate")]
    pub(crate) async fn r#loop(ctx: TaskContext) -> std::io::Result<()> {
        ctx.cancelled().await;
        Ok(())
    }
}

#[supervised(budget(max_restarts = 3, window = "10s"), readiness = "explicit")]
#[allow(unused_variables)]
async fn boxed(ctx: TaskContext) -> Result<(), BoxError> {
    let unused = 1;
    Err("failed".into())
}

#[supervised(restart = "temporary", shutdown = "1m 30s")]
async fn text(_: TaskContext) -> Result<(), String> {
    Err(String::from("failed"))
}

// `cfg` applies to everything the macro emits.
#[supervised]
#[cfg(any())]
async fn compiled_out(ctx: TaskContext) -> Result<(), std::io::Error> {
    not_defined_anywhere(ctx)
}

fn main() {
    let l = jobs::r#loop.child_spec();
    assert_eq!(l.id, "loop");
    assert_eq!(l.shutdown, Shutdown::brutal_kill());
    assert_eq!(l.backoff, Backoff::none());
    assert_eq!(l.readiness, Readiness::Immediate);
    assert_eq!(
        boxed.child_spec().readiness,
        Readiness::explicit(Readiness::DEFAULT_TIMEOUT)
    );
    assert_eq!(
        text.child_spec().shutdown,
        Shutdown::graceful(Duration::from_secs(90))
    );
    assert_eq!(format!("{text:?}"), "text");

    let nested = SupervisorSpec::new("jobs")
        .unwrap()
        .with_child(text.child_spec());
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_child(ChildSpec::supervisor(nested));
    let _tree = Supervisor::new(spec)
        .task("text", text)
        .child(ChildSpec::worker("b").unwrap(), boxed)
        .supervised(jobs::r#loop);
}
