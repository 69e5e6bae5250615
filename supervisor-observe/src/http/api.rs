//! `/api/tree`: a JSON snapshot of the whole tree, in the shape of
//! [`json::snapshot`](crate::json::snapshot).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::reply::{HttpError, json_response};
use super::state::AppState;
use crate::json;

/// The tree as JSON; 503 once the tree has ended (the last snapshot is
/// gone with it; its shutdown report is in the event stream).
pub(crate) async fn tree(State(state): State<AppState>) -> Result<Response, HttpError> {
    let root = state.tree()?.tree().await?;
    Ok(json_response(StatusCode::OK, &json::snapshot(&root)))
}
