//! ractor: a supervisor actor spawns its children linked in `pre_start`
//! and re-spawns a failed child in `handle_supervisor_evt` at once (ractor
//! has no restart policy of its own: supervision is user code). A child's
//! code is its `post_start`, which runs on the child's own task; an idle
//! child then waits in its message loop, and stops on a stop message.

use std::collections::HashMap;
use std::sync::Arc;

use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::{Contender, Tree};
use crate::support::{BoxFuture, Countdown, Outcome, Victim};

pub struct Ractor;

#[derive(Clone)]
enum Kind {
    Idle(Arc<Countdown>),
    Victim(Arc<Victim>),
}

struct Supervisor;

struct SupervisorArgs {
    idle: usize,
    entered: Arc<Countdown>,
    victim: Option<Arc<Victim>>,
}

/// What to re-spawn for each linked child.
struct SupervisorState {
    children: HashMap<ActorId, Kind>,
}

async fn spawn_child(
    kind: Kind,
    supervisor: &ActorRef<()>,
    children: &mut HashMap<ActorId, Kind>,
) -> Result<(), ActorProcessingErr> {
    let cell = supervisor.get_cell();
    let id = match &kind {
        Kind::Idle(entered) => Actor::spawn_linked(None, IdleActor, entered.clone(), cell)
            .await?
            .0
            .get_id(),
        Kind::Victim(v) => Actor::spawn_linked(None, VictimActor, v.clone(), cell)
            .await?
            .0
            .get_id(),
    };
    children.insert(id, kind);
    Ok(())
}

impl Actor for Supervisor {
    type Msg = ();
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let mut children = HashMap::with_capacity(args.idle + 1);
        for _ in 0..args.idle {
            spawn_child(Kind::Idle(args.entered.clone()), &myself, &mut children).await?;
        }
        if let Some(v) = args.victim {
            spawn_child(Kind::Victim(v), &myself, &mut children).await?;
        }
        Ok(SupervisorState { children })
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, _error) => {
                if let Some(kind) = state.children.remove(&cell.get_id()) {
                    spawn_child(kind, &myself, &mut state.children).await?;
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.children.remove(&cell.get_id());
            }
            _ => {}
        }
        Ok(())
    }
}

struct IdleActor;

impl Actor for IdleActor {
    type Msg = ();
    type State = Arc<Countdown>;
    type Arguments = Arc<Countdown>;

    async fn pre_start(
        &self,
        _myself: ActorRef<()>,
        entered: Arc<Countdown>,
    ) -> Result<Arc<Countdown>, ActorProcessingErr> {
        Ok(entered)
    }

    async fn post_start(
        &self,
        _myself: ActorRef<()>,
        entered: &mut Arc<Countdown>,
    ) -> Result<(), ActorProcessingErr> {
        entered.arrive();
        Ok(())
    }
}

struct VictimActor;

impl Actor for VictimActor {
    type Msg = ();
    type State = Arc<Victim>;
    type Arguments = Arc<Victim>;

    async fn pre_start(
        &self,
        _myself: ActorRef<()>,
        v: Arc<Victim>,
    ) -> Result<Arc<Victim>, ActorProcessingErr> {
        Ok(v)
    }

    async fn post_start(
        &self,
        _myself: ActorRef<()>,
        v: &mut Arc<Victim>,
    ) -> Result<(), ActorProcessingErr> {
        if v.on_start() {
            tokio::select! {
                () = v.quit.cancelled() => return Ok(()),
                () = v.go.notified() => {}
            }
        }
        Ok(v.fail()?)
    }
}

struct Running {
    supervisor: ActorRef<()>,
    join: JoinHandle<()>,
}

impl Tree for Running {
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Outcome<()>> {
        Box::pin(async move {
            // Stop the children gracefully (each processes a stop message
            // and runs `post_stop`), then the supervisor itself; stopping
            // the supervisor alone would kill its children.
            self.supervisor.stop_children_and_wait(None, None).await;
            self.supervisor
                .stop_and_wait(None, None)
                .await
                .map_err(|e| format!("stop failed: {e}"))?;
            self.join.await.map_err(|e| format!("join failed: {e}"))
        })
    }
}

async fn start(args: SupervisorArgs) -> Outcome<Box<dyn Tree>> {
    let (supervisor, join) = Actor::spawn(None, Supervisor, args)
        .await
        .map_err(|e| format!("spawn failed: {e}"))?;
    Ok(Box::new(Running { supervisor, join }))
}

impl Contender for Ractor {
    fn key(&self) -> &'static str {
        "ractor"
    }

    fn version(&self) -> &'static str {
        "ractor 0.16.5"
    }

    fn start_idle(
        &self,
        n: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(start(SupervisorArgs {
            idle: n,
            entered,
            victim: None,
        }))
    }

    fn start_restarting(
        &self,
        v: Arc<Victim>,
        siblings: usize,
        entered: Arc<Countdown>,
    ) -> BoxFuture<'_, Outcome<Box<dyn Tree>>> {
        Box::pin(start(SupervisorArgs {
            idle: siblings,
            entered,
            victim: Some(v),
        }))
    }
}
