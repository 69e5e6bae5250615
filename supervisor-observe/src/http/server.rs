//! [`HttpServer`]: listens, routes, serves each connection on a task of its
//! own, and on shutdown ends every one of them.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use supervisor_runtime::SupervisorHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::config::HttpConfig;
use super::control::Command;
use super::state::{AppState, Shared};
use super::{api, control, dashboard, events, probes, prometheus, reply};

/// How long shutdown waits for requests in flight before cutting them off.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 256;

/// Serves a tree's probes, JSON API, event stream, dashboard, `/metrics`
/// and (with a token) control endpoints over HTTP/1.1.
///
/// | path | what |
/// | --- | --- |
/// | `GET /` | the dashboard |
/// | `GET /livez` | 200 unless the root supervisor gave up |
/// | `GET /readyz`, `/readyz/<path>` | 200 while the root (or that node) is ready |
/// | `GET /startupz` | 200 once the tree finished its initial start |
/// | `GET /metrics` | Prometheus text, with [`HttpConfig::prometheus`] |
/// | `GET /api/tree` | the tree as JSON ([`json::snapshot`](crate::json::snapshot)) |
/// | `GET /api/events` | server-sent events: recent history, then live |
/// | `POST /api/{restart,terminate,quarantine,release}/<path>` | commands, with [`HttpConfig::token`] |
///
/// `/api/events` sends messages typed `history` (the journal's last 200
/// events, with [`HttpConfig::journal`]), then `live`, each with a
/// [`json::event`](crate::json::event) as data; `lagged` (`{"missed": n}`)
/// when the client fell behind; and `end` (`{"end", "reason", "report"}`)
/// when the tree has ended, after which it closes. Control requests carry
/// `Authorization: Bearer <secret>` and an optional body
/// `{"reason": "..."}`, and answer with the child's snapshot; the command's
/// event names the token's label and the reason.
///
/// Errors are JSON `{"error": "..."}` with a 4xx status saying what was
/// wrong: 404 for an unknown path or child, 405 for a wrong method, 400 for
/// a malformed child path, 401 for a missing or wrong token (checked
/// before any of the body is read), 413 for a body over the limit, 408 for
/// a body that does not arrive within 10 s of the headers, 503 past 64 open
/// event streams (they never end by themselves: the cap keeps connections
/// free for the probes). A panic while serving a request ends that
/// connection only; the server and the tree go on.
///
/// # Examples
///
/// ```
/// use supervisor_observe::http::{HttpConfig, HttpServer};
/// use supervisor_runtime::{Supervisor, TaskContext};
/// use supervisor_spec::{ChildSpec, SupervisorSpec};
///
/// async fn api(ctx: TaskContext) -> Result<(), std::io::Error> {
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Listen first: probes answer "starting" while the tree starts.
/// let server = HttpServer::bind(HttpConfig::default()).await?;
/// let tree = Supervisor::new(SupervisorSpec::new("root")?)
///     .child(ChildSpec::worker("api")?, api)
///     .start()
///     .await?;
/// server.attach(tree.handle());
/// println!("dashboard: http://{}/", server.local_addr());
/// // ... tree.run_until_signal().await ...
/// tree.shutdown().await;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    tree: watch::Sender<Option<SupervisorHandle>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Listens and serves `handle`'s tree.
    ///
    /// # Errors
    ///
    /// The address cannot be bound, or the configuration is invalid (an
    /// empty token label or secret, a secret no client could send (spaces
    /// around it, control characters), one secret for two labels, a zero
    /// body limit): [`io::ErrorKind::InvalidInput`].
    pub async fn start(config: HttpConfig, handle: SupervisorHandle) -> io::Result<Self> {
        let server = Self::bind(config).await?;
        server.attach(handle);
        Ok(server)
    }

    /// Listens before the tree exists, so the probes can answer while it
    /// starts: `/livez` 200, `/readyz` and `/startupz` 503, the API 503,
    /// until [`attach`](Self::attach).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub async fn bind(config: HttpConfig) -> io::Result<Self> {
        config.validate()?;
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let (tree_tx, tree_rx) = watch::channel(None);
        let (stop_tx, stop_rx) = watch::channel(false);
        let control = config.has_control();
        let state = AppState {
            inner: Arc::new(Shared {
                tree: tree_rx,
                stop: stop_rx.clone(),
                journal: config.journal,
                prometheus: config.prometheus,
                tokens: config.tokens,
                body_limit: config.body_limit,
                streams: Arc::new(tokio::sync::Semaphore::new(events::MAX_STREAMS)),
                page: dashboard::page(control),
            }),
        };
        let app = router(state, control);
        let task = tokio::spawn(accept_loop(listener, app, stop_rx));
        tracing::info!(target: "supervisor", %addr, control, "http server listening");
        Ok(Self {
            addr,
            tree: tree_tx,
            stop: stop_tx,
            task: Some(task),
        })
    }

    /// Serves `handle`'s tree from now on (replacing any tree attached
    /// before).
    pub fn attach(&self, handle: SupervisorHandle) {
        self.tree.send_replace(Some(handle));
    }

    /// The address it listens on (with the port the system picked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening, ends open event streams, lets requests in flight
    /// finish for up to [`SHUTDOWN_GRACE`], then cuts off the rest; returns
    /// when no task of the server is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the shutdown goes on in the background if the future is
    /// dropped.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            // The loop never panics; a join error can only be a runtime
            // shutting down, when there is nothing left to wait for.
            let _ = task.await;
        }
    }
}

impl Drop for HttpServer {
    /// Starts the shutdown in the background, as [`shutdown`](Self::shutdown)
    /// does, without waiting for it.
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

fn router(state: AppState, control: bool) -> Router {
    let mut app = Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/livez", get(probes::livez))
        .route("/readyz", get(probes::readyz))
        .route("/readyz/{*path}", get(probes::readyz_path))
        .route("/startupz", get(probes::startupz))
        .route("/metrics", get(prometheus::metrics))
        .route("/api/tree", get(api::tree))
        .route("/api/events", get(events::events));
    if control {
        for command in Command::ALL {
            app = app.route(
                command.route(),
                post(move |state, headers, path, body| {
                    control::run(command, state, headers, path, body)
                }),
            );
        }
    }
    app.fallback(reply::not_found)
        .method_not_allowed_fallback(reply::method_not_allowed)
        .with_state(state)
}

async fn accept_loop(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            // Reap finished connections; at the limit, wait for one.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(serve(stream, app.clone(), stop.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off rather than
                // spin.
                tracing::warn!(target: "supervisor", error = %e, "http accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            target: "supervisor",
            open = connections.len(),
            "http connections still open after the shutdown grace; closing them"
        );
    }
    connections.shutdown().await;
}

async fn serve(stream: TcpStream, app: Router, mut stop: watch::Receiver<bool>) {
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let stopped = tokio::select! {
        served = conn.as_mut() => Some(served),
        _ = stop.wait_for(|stop| *stop) => None,
    };
    let served = match stopped {
        Some(served) => served,
        None => {
            // Finish the request in flight, then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(target: "supervisor", error = %e, "http connection ended with an error");
    }
}
