//! [`HttpConfig`]: where the server listens, who may send commands, and
//! what it serves besides the probes.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::Journal;

/// The default largest request body: control requests carry a short JSON
/// reason, nothing more.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// How an [`HttpServer`](super::HttpServer) is set up.
///
/// The default listens on `127.0.0.1` on a port the system picks, without
/// control endpoints, journal history or `/metrics`, and refuses request
/// bodies over [`DEFAULT_BODY_LIMIT`].
///
/// # Examples
///
/// ```
/// use supervisor_observe::Journal;
/// use supervisor_observe::http::HttpConfig;
///
/// let journal = Journal::new(1024);
/// let config = HttpConfig::default()
///     .bind(([127, 0, 0, 1], 9090).into())
///     .token("ops", "a long random secret")
///     .journal(journal.clone());
/// assert_eq!(config.bind_addr().port(), 9090);
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) tokens: Vec<Token>,
    pub(crate) journal: Option<Journal>,
    pub(crate) prometheus: Option<PrometheusHandle>,
    pub(crate) body_limit: usize,
}

/// A bearer token: the secret a client sends and the label that names it
/// in events.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) label: String,
    pub(crate) secret: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tokens: Vec::new(),
            journal: None,
            prometheus: None,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl fmt::Debug for HttpConfig {
    /// Shows token labels, never secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&str> = self.tokens.iter().map(|t| t.label.as_str()).collect();
        f.debug_struct("HttpConfig")
            .field("bind", &self.bind)
            .field("tokens", &labels)
            .field("journal", &self.journal.is_some())
            .field("prometheus", &self.prometheus.is_some())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl HttpConfig {
    /// Listens on `addr` (port 0: a free port, see
    /// [`HttpServer::local_addr`](super::HttpServer::local_addr)). Anything
    /// but a loopback address exposes the tree's state to the network.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Enables the control endpoints for clients sending
    /// `Authorization: Bearer <secret>`; their commands' events name
    /// `label` as the requester. Call it again to accept several tokens.
    /// Without any token the control endpoints do not exist.
    pub fn token(mut self, label: &str, secret: &str) -> Self {
        self.tokens.push(Token {
            label: label.to_owned(),
            secret: secret.to_owned(),
        });
        self
    }

    /// Serves the journal's recent events first on `/api/events`. Register
    /// the same journal as an observer of the tree.
    pub fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Serves `/metrics` from this Prometheus recorder (see
    /// [`install_prometheus_recorder`](super::install_prometheus_recorder)).
    pub fn prometheus(mut self, handle: PrometheusHandle) -> Self {
        self.prometheus = Some(handle);
        self
    }

    /// Refuses control request bodies over `bytes` with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The address it is set to listen on.
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
    }

    /// Whether the control endpoints are enabled (a token is set).
    pub fn has_control(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Rejects tokens that could not work as meant.
    pub(crate) fn validate(&self) -> io::Result<()> {
        let invalid = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        for (i, t) in self.tokens.iter().enumerate() {
            if t.label.trim().is_empty() {
                return invalid(format!("http token {i}: the label is empty"));
            }
            if t.label.chars().any(char::is_control) {
                return invalid(format!("http token {i}: the label has control characters"));
            }
            if t.secret.is_empty() {
                return invalid(format!("http token `{}`: the secret is empty", t.label));
            }
            // HTTP trims the spaces around a header's value and allows no
            // control characters in it: such a secret could never be sent.
            if t.secret.trim() != t.secret || t.secret.chars().any(char::is_control) {
                return invalid(format!(
                    "http token `{}`: the secret starts or ends with spaces, or has control characters: no client could send it",
                    t.label
                ));
            }
            if self.tokens[..i].iter().any(|o| o.secret == t.secret) {
                return invalid(format!(
                    "http token `{}`: the same secret is already given to another label",
                    t.label
                ));
            }
        }
        if self.body_limit == 0 {
            return invalid("http body limit: must be at least one byte".to_owned());
        }
        Ok(())
    }
}
