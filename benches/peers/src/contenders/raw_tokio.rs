//! Raw tokio, the lower bound: plain `tokio::spawn`, one shared
//! cancellation token, and a hand-written restart loop for the failing
//! child (the same code as `supervisor-runtime/benches/runtime/main.rs`).

use std::hint::black_box;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::{Contender, Tree};
use crate::support::{BoxFuture, Countdown, Outcome, Token, Victim};

pub struct RawTokio;

struct Running {
    token: Token,
    handles: Vec<JoinHandle<()>>,
}

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            self.token.cancel();
            for h in self.handles {
                h.await.map_err(|e| format!("a task failed: {e}"))?;
            }
            Ok(())
        })
    }
}

async fn idle(token: Token, entered: Arc<Countdown>) {
    entered.arrive();
    token.cancelled().await;
}

fn spawn_idle(n: usize, token: &Token, entered: &Arc<Countdown>) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|_| tokio::spawn(idle(token.clone(), entered.clone())))
        .collect()
}

async fn victim(v: Arc<Victim>, token: Token) -> Result<(), std::io::Error> {
    if v.on_start() {
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = v.quit.cancelled() => return Ok(()),
            () = v.go.notified() => {}
        }
    }
    v.fail()
}

/// The hand-written restart loop: spawn, wait for the end, restart at once
/// on an error or a panic (keeping its message), stop on a clean end.
async fn supervise(v: Arc<Victim>, token: Token) {
    loop {
        let incarnation = tokio::spawn(victim(v.clone(), token.clone()));
        match incarnation.await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => drop(black_box(e)),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                drop(black_box(message));
            }
            Err(_) => return,
        }
        if token.is_cancelled() {
            return;
        }
    }
}

impl Contender for RawTokio {
    fn key(&self) -> &'static str {
        "raw tokio"
    }

    fn version(&self) -> &'static str {
        "tokio 1.54.1"
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let token = Token::default();
            let handles = spawn_idle(n, &token, &entered);
            Ok(Box::new(Running { token, handles }) as Box<dyn Tree>)
        })
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(async move {
            let token = Token::default();
            let mut handles = spawn_idle(siblings, &token, &entered);
            handles.push(tokio::spawn(supervise(v, token.clone())));
            Ok(Box::new(Running { token, handles }) as Box<dyn Tree>)
        })
    }
}
