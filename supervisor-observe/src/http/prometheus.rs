//! Prometheus: [`install_prometheus_recorder`] makes the `metrics` facade
//! record into a Prometheus registry, and `/metrics` renders it in the
//! text exposition format.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use parking_lot::Mutex;

use super::reply::HttpError;
use super::state::AppState;

/// Buckets of `supervisor_time_to_ready_seconds`: from a task ready at
/// once to a pool that takes a minute.
const READY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// The recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Another `metrics` recorder is installed already (only one can be,
    /// once per process).
    #[error("another metrics recorder is already installed")]
    OtherRecorder,
    /// The exporter refused its settings.
    #[error("prometheus recorder: {message}")]
    Build {
        /// What it said.
        message: String,
    },
}

/// Installs a Prometheus recorder as the process's `metrics` recorder and
/// returns the handle [`HttpConfig::prometheus`](super::HttpConfig::prometheus)
/// serves `/metrics` from. Describes the metrics of
/// [`MetricsObserver`](crate::MetricsObserver) to it, and renders
/// `supervisor_time_to_ready_seconds` as a histogram. Calling it again
/// returns the same handle.
///
/// # Errors
///
/// [`InstallError::OtherRecorder`] if another recorder was installed first.
///
/// # Examples
///
/// ```
/// use supervisor_observe::http::{HttpConfig, install_prometheus_recorder};
///
/// let handle = install_prometheus_recorder()?;
/// let config = HttpConfig::default().prometheus(handle);
/// # Ok::<(), supervisor_observe::http::InstallError>(())
/// ```
pub fn install_prometheus_recorder() -> Result<PrometheusHandle, InstallError> {
    static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut installed = INSTALLED.lock();
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("supervisor_time_to_ready_seconds".to_owned()),
            &READY_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| match e {
            BuildError::FailedToSetGlobalRecorder(_) => InstallError::OtherRecorder,
            other => InstallError::Build {
                message: other.to_string(),
            },
        })?;
    crate::metrics::describe();
    *installed = Some(handle.clone());
    Ok(handle)
}

/// The metrics in the Prometheus text format, version 0.0.4.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, HttpError> {
    let Some(handle) = state.inner.prometheus.as_ref() else {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "no Prometheus recorder is configured",
        ));
    };
    // Scrapes drive the recorder's upkeep (draining histogram samples), so
    // its memory stays bounded without a task of its own.
    handle.run_upkeep();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
        .into_response())
}
