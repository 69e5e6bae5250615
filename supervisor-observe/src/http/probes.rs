//! Kubernetes-style probes: `/livez`, `/readyz` (and `/readyz/<path>` for
//! one subtree), `/startupz`. 200 with a short text when the check passes,
//! 503 saying why when it does not.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use supervisor_runtime::{EndReason, NodeSnapshot, NodeState, SupervisorHandle};

use super::reply::{HttpError, parse_path};
use super::state::AppState;

/// How long `/readyz` waits for a snapshot to explain a failure.
const EXPLAIN_DEADLINE: Duration = Duration::from_secs(1);

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body + "\n").into_response()
}

/// Live unless the root supervisor gave up: a tree that is still starting,
/// or that shut down as asked, is not helped by killing the process.
pub(crate) async fn livez(State(state): State<AppState>) -> Response {
    let Some(tree) = state.maybe_tree() else {
        return text(StatusCode::OK, "ok: starting".into());
    };
    match tree.end().as_deref().map(|end| &end.end) {
        Some(EndReason::GaveUp { reason }) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not live: the root supervisor gave up: {reason}"),
        ),
        Some(_) => text(StatusCode::OK, "ok: the tree has shut down".into()),
        None => text(StatusCode::OK, "ok".into()),
    }
}

/// Ready while the root is ready (every child that is not temporary is
/// ready, rolled up through nested supervisors).
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let Some(tree) = state.maybe_tree() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: starting".into(),
        );
    };
    root_readiness(&tree).await
}

/// Started once the tree finished its initial start (its root was ready
/// at least once); stays started.
pub(crate) async fn startupz(State(state): State<AppState>) -> Response {
    match state.maybe_tree() {
        Some(tree) if tree.is_started() => text(StatusCode::OK, "started".into()),
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not started: starting".into(),
        ),
    }
}

/// Readiness of one node: `/readyz/root/jobs`.
pub(crate) async fn readyz_path(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, HttpError> {
    let Path(raw) = path.map_err(HttpError::from_rejection)?;
    let path = parse_path(&raw)?;
    let tree = state.tree()?;
    if path.len() == 1 && path.leaf() == tree.root().leaf() {
        return Ok(root_readiness(&tree).await);
    }
    if tree.end().is_some() {
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the tree has ended".into(),
        ));
    }
    let node = tree.with_deadline(EXPLAIN_DEADLINE).child(&raw).await?;
    Ok(match node.state {
        NodeState::Ready => text(StatusCode::OK, "ready".into()),
        other => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {path} is {}", other.as_str()),
        ),
    })
}

async fn root_readiness(tree: &SupervisorHandle) -> Response {
    if tree.is_ready() {
        return text(StatusCode::OK, "ready".into());
    }
    if let Some(end) = tree.end() {
        let why = match &end.end {
            EndReason::GaveUp { reason } => format!("the root supervisor gave up: {reason}"),
            EndReason::AutoShutdown => "the tree shut down by itself".to_owned(),
            _ => "the tree has shut down".to_owned(),
        };
        return text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}"));
    }
    // Name the nodes that hold readiness back, when a snapshot comes quickly.
    let mut body = "not ready".to_owned();
    if let Ok(root) = tree.with_deadline(EXPLAIN_DEADLINE).tree().await {
        let mut lagging = Vec::new();
        collect_not_ready(&root.children, &mut lagging);
        if !lagging.is_empty() {
            body.push_str(": ");
            body.push_str(&lagging.join(", "));
        }
    }
    text(StatusCode::SERVICE_UNAVAILABLE, body)
}

/// Workers that are not ready (a supervisor is explained by its children).
fn collect_not_ready(nodes: &[NodeSnapshot], out: &mut Vec<String>) {
    for n in nodes {
        if n.kind == "supervisor" && !n.children.is_empty() {
            collect_not_ready(&n.children, out);
        } else if n.state != NodeState::Ready {
            out.push(format!("{} {}", n.path, n.state.as_str()));
        }
    }
}
