//! Responses shared by the endpoints: JSON bodies, and errors as
//! `{"error": "..."}` with the status that says what was wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use supervisor_runtime::CommandError;
use supervisor_spec::ChildPath;

/// A request that could not be served: a status and a one-line message.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// An extractor's rejection (a path that is not UTF-8, say), as JSON
    /// like every other error.
    pub(crate) fn from_rejection(rejection: impl IntoResponse + std::fmt::Display) -> Self {
        let message = rejection.to_string();
        Self::new(rejection.into_response().status(), message)
    }

    pub(crate) fn not_attached() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the supervision tree has not started yet",
        )
    }
}

impl From<CommandError> for HttpError {
    fn from(e: CommandError) -> Self {
        let status = match &e {
            CommandError::UnknownPath { .. } => StatusCode::NOT_FOUND,
            CommandError::WrongKind { .. } | CommandError::Rejected { .. } => StatusCode::CONFLICT,
            CommandError::Invalid(_) => StatusCode::BAD_REQUEST,
            CommandError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut res = json_response(self.status, &json!({ "error": self.message }));
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"supervisor\""),
            );
        }
        res
    }
}

/// `value` as a JSON body.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        value.to_string(),
    )
        .into_response()
}

/// Parses a child path taken from a URL.
pub(crate) fn parse_path(raw: &str) -> Result<ChildPath, HttpError> {
    // The parse error names the path and what is wrong with it.
    raw.parse()
        .map_err(|e| HttpError::new(StatusCode::BAD_REQUEST, format!("malformed {e}")))
}

/// Any path nothing is served at.
pub(crate) async fn not_found(uri: axum::http::Uri) -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, format!("nothing at {}", uri.path()))
}

/// A known path asked with a method it does not take. The router adds the
/// `Allow` header.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}", uri.path()),
    )
}
