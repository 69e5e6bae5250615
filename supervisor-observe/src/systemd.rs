//! systemd's notification protocol (`sd_notify`), written directly: a
//! datagram per message on the socket named by `NOTIFY_SOCKET`.
//!
//! [`SystemdNotifier::run`] follows a tree: `READY=1` once the root is ready,
//! `STATUS=` lines as it changes, `WATCHDOG=1` at half of `WATCHDOG_USEC`
//! only while the root is healthy (so systemd restarts a service whose tree
//! is stuck or has given up), `STOPPING=1` when shutdown begins and
//! `EXTEND_TIMEOUT_USEC=` while a long shutdown still makes progress.
//! Without `NOTIFY_SOCKET` it does nothing.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use supervisor_runtime::{EventKind, SupervisorHandle};
use tokio::sync::broadcast::error::RecvError;

/// Sends `sd_notify` messages to one socket.
#[derive(Debug)]
pub struct SystemdNotifier {
    socket: UnixDatagram,
    target: Target,
    watchdog: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Target {
    Path(PathBuf),
    /// Linux abstract namespace (`@name` in `NOTIFY_SOCKET`).
    #[cfg(target_os = "linux")]
    Abstract(Vec<u8>),
}

impl SystemdNotifier {
    /// A notifier for the socket and watchdog interval systemd gave this
    /// process (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`), or `None`
    /// when the service was not started with `Type=notify`.
    ///
    /// # Errors
    ///
    /// When `NOTIFY_SOCKET` is set but no datagram socket can be made.
    pub fn from_env() -> io::Result<Option<Self>> {
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let watchdog = watchdog_from_env();
        let socket = socket.to_string_lossy().into_owned();
        Self::new(&socket, watchdog).map(Some)
    }

    /// A notifier for `socket` (a path, or `@name` for the abstract
    /// namespace), pinging the watchdog every half `watchdog` if given.
    ///
    /// # Errors
    ///
    /// When no datagram socket can be made, or `socket` is empty.
    pub fn new(socket: &str, watchdog: Option<Duration>) -> io::Result<Self> {
        let target = if let Some(name) = socket.strip_prefix('@') {
            #[cfg(target_os = "linux")]
            {
                Target::Abstract(name.as_bytes().to_vec())
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = name;
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "abstract sockets exist only on Linux",
                ));
            }
        } else if socket.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET is empty",
            ));
        } else {
            Target::Path(PathBuf::from(socket))
        };
        Ok(Self {
            socket: UnixDatagram::unbound()?,
            target,
            watchdog,
        })
    }

    /// Sends one message (`KEY=value` lines).
    ///
    /// # Errors
    ///
    /// When the datagram cannot be sent.
    pub fn notify(&self, message: &str) -> io::Result<()> {
        match &self.target {
            Target::Path(path) => self.socket.send_to(message.as_bytes(), path).map(drop),
            #[cfg(target_os = "linux")]
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                self.socket
                    .send_to_addr(message.as_bytes(), &addr)
                    .map(drop)
            }
        }
    }

    fn send(&self, message: &str) {
        if let Err(e) = self.notify(message) {
            tracing::warn!(error = %e, message, "sd_notify failed");
        }
    }

    /// Follows the tree until it ends, notifying systemd as it goes.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future stops the notifications.
    pub async fn run(self, tree: SupervisorHandle) {
        let mut events = tree.subscribe();
        let mut sent_ready = false;
        let mut stopping = false;
        let ping = self.watchdog.map(|w| w / 2);
        let mut watchdog = ping.map(|p| {
            let mut t = tokio::time::interval(p);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let extend = |stopping: bool| stopping.then(|| Duration::from_secs(10));
        loop {
            if !sent_ready && tree.is_ready() {
                sent_ready = true;
                self.send(&format!("READY=1\nSTATUS={}", status(&tree, "running")));
            }
            tokio::select! {
                // Events first: the tree's end is read from its last events.
                biased;
                event = events.recv() => match event {
                    Ok(event) => {
                        let root = event.path.len() == 1;
                        match &event.kind {
                            EventKind::ShutdownBegun { cause } if root => {
                                stopping = true;
                                self.send(&format!("STOPPING=1\nSTATUS=shutting down ({cause})"));
                            }
                            EventKind::Stopped { .. } if stopping => {
                                // Progress: each child stopped buys time.
                                if let Some(more) = extend(stopping) {
                                    self.send(&format!("EXTEND_TIMEOUT_USEC={}", more.as_micros()));
                                }
                            }
                            EventKind::Escalated { reason } if root => {
                                self.send(&format!("STATUS=gave up: {reason}"));
                            }
                            EventKind::ShutdownCompleted { .. } if root => {
                                self.send("STATUS=stopped");
                                return;
                            }
                            EventKind::Exited { .. } | EventKind::Ready | EventKind::Unready
                                if sent_ready && !stopping =>
                            {
                                let state = if tree.is_ready() { "running" } else { "degraded" };
                                self.send(&format!("STATUS={}", status(&tree, state)));
                            }
                            _ => {}
                        }
                    }
                    Err(RecvError::Lagged(n)) => crate::metrics::record_dropped("systemd", n),
                    Err(RecvError::Closed) => return,
                },
                _ = tick(&mut watchdog) => {
                    // Only a healthy tree keeps the watchdog fed: a stuck
                    // or failed tree lets systemd restart the service.
                    if tree.is_ready() && !stopping && tree.end().is_none() {
                        self.send("WATCHDOG=1");
                    }
                }
                _ = tree.join() => {
                    self.send("STATUS=stopped");
                    return;
                }
            }
        }
    }
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn status(tree: &SupervisorHandle, state: &str) -> String {
    format!("{state}; up {}s", tree.started_at().elapsed().as_secs())
}

fn watchdog_from_env() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        && pid != std::process::id()
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}
