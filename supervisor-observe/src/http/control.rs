//! Control endpoints, present only when a token is configured:
//! `POST /api/{restart,terminate,quarantine,release}/<child path>` with
//! `Authorization: Bearer <secret>` and an optional JSON body
//! `{"reason": "..."}`. The command runs through a handle naming the
//! token's label as the requester, so its `command` event says who asked
//! and why; the answer is the child's snapshot after the command.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use supervisor_runtime::SupervisorHandle;

use super::config::Token;
use super::reply::{HttpError, json_response, parse_path};
use super::state::AppState;
use crate::json;

/// The commands, as they appear in URLs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    Restart,
    Terminate,
    Quarantine,
    Release,
}

impl Command {
    pub(crate) const ALL: [Command; 4] = [
        Command::Restart,
        Command::Terminate,
        Command::Quarantine,
        Command::Release,
    ];

    pub(crate) fn route(self) -> &'static str {
        match self {
            Self::Restart => "/api/restart/{*path}",
            Self::Terminate => "/api/terminate/{*path}",
            Self::Quarantine => "/api/quarantine/{*path}",
            Self::Release => "/api/release/{*path}",
        }
    }
}

/// The longest reason kept; the rest is cut.
const MAX_REASON_CHARS: usize = 500;

/// How long the body of a control request may take to arrive, once its
/// headers are in (they have a deadline of their own).
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn run(
    command: Command,
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, HttpError> {
    // The token first, from the headers alone: a request without one is
    // answered before anything of its body is read (a body that never
    // comes must not hold a connection).
    let label = authorize(&state.inner.tokens, &headers)?;
    let Path(raw) = path.map_err(HttpError::from_rejection)?;
    parse_path(&raw)?;
    let body = read_body(&headers, body, state.inner.body_limit).await?;
    let reason = reason(&body)?;
    let tree: SupervisorHandle = state.tree()?.with_requester(label);
    let reason = reason.as_deref();
    tracing::info!(target: "supervisor", by = label, path = %raw, ?command, reason, "http control command");
    let node = match command {
        Command::Restart => tree.restart_child(&raw, reason).await,
        Command::Terminate => tree.terminate_child(&raw, reason).await,
        Command::Quarantine => tree.quarantine_child(&raw, reason).await,
        Command::Release => tree.release_child(&raw, reason).await,
    }?;
    Ok(json_response(StatusCode::OK, &json::snapshot(&node)))
}

/// The label of the token the request carries.
fn authorize<'a>(tokens: &'a [Token], headers: &HeaderMap) -> Result<&'a str, HttpError> {
    let unauthorized = |msg: &str| HttpError::new(StatusCode::UNAUTHORIZED, msg);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "control needs an `Authorization: Bearer <token>` header",
        ));
    };
    // The scheme is case-insensitive (RFC 9110, 11.1).
    let presented = match value.as_bytes().split_first_chunk::<7>() {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => token.trim_ascii(),
        _ => {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
    };
    // Every token is compared, each in constant time, so the answer's
    // timing does not tell which one came close.
    let mut found = None;
    for t in tokens {
        if constant_time_eq(presented, t.secret.as_bytes()) && found.is_none() {
            found = Some(t.label.as_str());
        }
    }
    found.ok_or_else(|| {
        tracing::warn!(target: "supervisor", "http control request with a wrong token");
        unauthorized("wrong token")
    })
}

/// The body, up to `limit` bytes, within [`BODY_TIMEOUT`].
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        // Within its declared length, reading can only fail by breaking
        // off; without one, also by going over the limit.
        Ok(Err(_)) if declared.is_some() => Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "the body broke off",
        )),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {BODY_TIMEOUT:?}"),
        )),
    }
}

/// Compares without stopping at the first difference: the time taken
/// depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// The reason from an empty body or `{"reason": "..."}`; control
/// characters become spaces so the event stays one line.
fn reason(body: &[u8]) -> Result<Option<String>, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let bad = || {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            "the body must be empty or JSON like {\"reason\": \"...\"}",
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let Value::Object(map) = value else {
        return Err(bad());
    };
    if map.keys().any(|k| k != "reason") {
        return Err(bad());
    }
    match map.get("reason") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let clean: String = s
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(MAX_REASON_CHARS)
                .collect();
            let clean = clean.trim();
            Ok((!clean.is_empty()).then(|| clean.to_owned()))
        }
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_matches_only_equal_secrets() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn the_reason_is_optional_and_one_line() {
        assert_eq!(reason(b"").unwrap(), None);
        assert_eq!(reason(b"{}").unwrap(), None);
        assert_eq!(
            reason(br#"{"reason": "deploy\nnow"}"#).unwrap().as_deref(),
            Some("deploy now")
        );
        assert!(reason(b"restart please").is_err());
        assert!(reason(br#"{"reason": 3}"#).is_err());
        assert!(reason(br#"{"why": "x"}"#).is_err());
    }

    #[test]
    fn the_label_of_the_matching_token_is_returned() {
        let tokens = vec![
            Token {
                label: "ops".into(),
                secret: "s1".into(),
            },
            Token {
                label: "ci".into(),
                secret: "s2".into(),
            },
        ];
        let mut headers = HeaderMap::new();
        assert_eq!(
            authorize(&tokens, &headers).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        headers.insert(header::AUTHORIZATION, "Bearer s2".parse().unwrap());
        assert_eq!(authorize(&tokens, &headers).unwrap(), "ci");
        headers.insert(header::AUTHORIZATION, "Bearer s3".parse().unwrap());
        assert!(authorize(&tokens, &headers).is_err());
        headers.insert(header::AUTHORIZATION, "Basic s1".parse().unwrap());
        assert!(authorize(&tokens, &headers).is_err());
    }
}
