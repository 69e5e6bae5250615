//! Listening for the signals services are stopped with.

/// SIGINT and SIGTERM (on Unix), or Ctrl-C elsewhere, listened for from
/// when it is made: a signal that comes while nobody waits in
/// [`recv`](Self::recv) is kept for the next call, so two signals that
/// come together, or the second between two waits, are both seen. (A
/// listener made per wait would subscribe afresh each time and miss a
/// signal delivered before it was made.)
pub(crate) struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    #[cfg(windows)]
    stream: Option<tokio::signal::windows::CtrlC>,
}

impl Signals {
    /// Installs the handlers. If they cannot be installed, `recv` never
    /// completes (the tree then runs until it ends by itself), and a log
    /// line says so.
    pub(crate) fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Some((int, term)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for signals");
                    None
                }
            };
            Self { streams }
        }
        #[cfg(windows)]
        {
            let stream = tokio::signal::windows::ctrl_c()
                .inspect_err(|e| tracing::error!(error = %e, "cannot listen for Ctrl-C"))
                .ok();
            Self { stream }
        }
    }

    /// Completes on the next signal (one that came since the last call
    /// included).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        #[cfg(windows)]
        if let Some(stream) = &mut self.stream {
            stream.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}
