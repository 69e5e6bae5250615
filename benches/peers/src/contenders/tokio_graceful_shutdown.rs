//! tokio-graceful-shutdown: no restart policy of its own, so every child is
//! the crate's documented keep-alive loop (`examples/12_subsystem_auto_restart.rs`):
//! a subsystem that starts the real child as a nested subsystem with
//! `ErrorAction::CatchAndLocalShutdown` for failures and panics, joins it,
//! and starts it again unless it ended cleanly or a shutdown was
//! requested. Each supervised child is therefore two subsystems. Shutdown
//! is the `Toplevel`'s: cancel its token, await `handle_shutdown_requests`.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_graceful_shutdown::errors::GracefulShutdownError;
use tokio_graceful_shutdown::{
    AsyncSubsysFn, ErrorAction, SubsystemBuilder, SubsystemHandle, Toplevel,
};
use tokio_util::sync::CancellationToken;

use super::{Contender, Tree};
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

pub struct TokioGracefulShutdown;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The keep-alive loop of the crate's example, with the logging left out.
async fn keep_alive<S>(subsys: &mut SubsystemHandle, make: impl Fn() -> S) -> Result<(), BoxError>
where
    S: 'static + for<'a> AsyncSubsysFn<&'a mut SubsystemHandle, Result<(), BoxError>>,
{
    loop {
        let nested = subsys.start(
            SubsystemBuilder::new("child", make())
                .on_failure(ErrorAction::CatchAndLocalShutdown)
                .on_panic(ErrorAction::CatchAndLocalShutdown),
        );
        if nested.join().await.is_ok() {
            break;
        }
        if subsys.is_shutdown_requested() {
            break;
        }
    }
    Ok(())
}

fn start_idle_child(s: &SubsystemHandle, name: String, entered: Arc<Countdown>) {
    s.start(SubsystemBuilder::new(
        name,
        async move |h: &mut SubsystemHandle| -> Result<(), BoxError> {
            keep_alive(h, || {
                let entered = entered.clone();
                async move |c: &mut SubsystemHandle| -> Result<(), BoxError> {
                    entered.arrive();
                    c.on_shutdown_requested().await;
                    Ok(())
                }
            })
            .await
        },
    ));
}

fn start_victim(s: &SubsystemHandle, v: Arc<Victim>) {
    s.start(SubsystemBuilder::new(
        "victim",
        async move |h: &mut SubsystemHandle| -> Result<(), BoxError> {
            keep_alive(h, || {
                let v = v.clone();
                async move |c: &mut SubsystemHandle| -> Result<(), BoxError> {
                    if v.on_start() {
                        tokio::select! {
                            () = c.on_shutdown_requested() => return Ok(()),
                            () = v.quit.cancelled() => return Ok(()),
                            () = v.go.notified() => {}
                        }
                    }
                    Ok(v.fail()?)
                }
            })
            .await
        },
    ));
}

struct Running {
    token: CancellationToken,
    join: JoinHandle<Result<(), GracefulShutdownError>>,
}

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            self.token.cancel();
            match self.join.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("shutdown failed: {e}")),
                Err(e) => Err(format!("join failed: {e}")),
            }
        })
    }
}

fn start(idle: usize, entered: Arc<Countdown>, victim: Option<Arc<Victim>>) -> Box<dyn Tree> {
    let token = CancellationToken::new();
    let toplevel = Toplevel::new_with_shutdown_token(
        async move |s: &mut SubsystemHandle| {
            for i in 0..idle {
                start_idle_child(s, format!("w{i}"), entered.clone());
            }
            if let Some(v) = victim {
                start_victim(s, v);
            }
        },
        token.clone(),
    );
    let join = tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(60)));
    Box::new(Running { token, join })
}

impl Contender for TokioGracefulShutdown {
    fn key(&self) -> &'static str {
        "tokio-graceful-shutdown"
    }

    fn version(&self) -> &'static str {
        "tokio-graceful-shutdown 0.20.0"
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move { Ok(start(n, entered, None)) })
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move { Ok(start(siblings, entered, Some(v))) })
    }
}
