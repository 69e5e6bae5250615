//! [`AppState`]: what every endpoint reads — the tree (once attached), the
//! server's stop signal, and the configured extras.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use supervisor_runtime::SupervisorHandle;
use tokio::sync::watch;

use super::config::Token;
use super::reply::HttpError;
use crate::Journal;

/// Cheap to clone: one per request.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) inner: Arc<Shared>,
}

pub(crate) struct Shared {
    /// `None` until a tree is attached.
    pub(crate) tree: watch::Receiver<Option<SupervisorHandle>>,
    /// Becomes `true` when the server shuts down: open event streams end.
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) journal: Option<Journal>,
    pub(crate) prometheus: Option<PrometheusHandle>,
    pub(crate) tokens: Vec<Token>,
    /// The most bytes a control request's body may have.
    pub(crate) body_limit: usize,
    /// Event streams open at once are capped (see `events`): each holds a
    /// permit for as long as it runs.
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
    /// The dashboard page, assembled once.
    pub(crate) page: String,
}

impl AppState {
    /// The attached tree's handle.
    pub(crate) fn tree(&self) -> Result<SupervisorHandle, HttpError> {
        self.inner
            .tree
            .borrow()
            .clone()
            .ok_or_else(HttpError::not_attached)
    }

    /// The attached tree's handle, if any.
    pub(crate) fn maybe_tree(&self) -> Option<SupervisorHandle> {
        self.inner.tree.borrow().clone()
    }
}
