//! Shared helpers of the HTTP tests: a minimal HTTP/1.1 client over a
//! loopback socket, a server-sent-events reader, and small trees whose
//! children fail when the test says so.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use supervisor_runtime::{Event, SupervisorHandle, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, SupervisorSpec};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast};

/// Every wait in these tests is bounded by this, so a bug fails the test
/// instead of hanging it.
pub const LIMIT: Duration = Duration::from_secs(10);

pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// Sends one request on a new connection (`Connection: close`) and reads
/// the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("write head");
        // The server may answer (413) and close before reading it all.
        let _ = stream.write_all(body).await;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read response");
        parse_response(&raw)
    })
    .await
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"").await
}

/// Sends raw bytes and returns the raw answer.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    within("raw request", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(bytes).await.expect("write");
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: String,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.data))
    }
}

/// Reads `/api/events` as it streams.
pub struct SseReader {
    reader: BufReader<TcpStream>,
    text: String,
}

impl SseReader {
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        within("open the event stream", async {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let head =
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
            stream.write_all(head.as_bytes()).await.expect("write");
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("status line");
            assert!(
                line.starts_with("HTTP/1.1 200"),
                "event stream answered {line:?}"
            );
            let mut chunked = false;
            let mut content_type = String::new();
            loop {
                line.clear();
                reader.read_line(&mut line).await.expect("header");
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                chunked |= l == "transfer-encoding: chunked";
                if let Some(v) = l.strip_prefix("content-type:") {
                    content_type = v.trim().to_owned();
                }
            }
            assert!(chunked, "the stream is chunked");
            assert_eq!(content_type, "text/event-stream");
            Self {
                reader,
                text: String::new(),
            }
        })
        .await
    }

    /// The next event (comments skipped); `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Sse> {
        within("the next server-sent event", async {
            loop {
                if let Some(end) = self.text.find("\n\n") {
                    let block: String = self.text.drain(..end + 2).collect();
                    let mut event = String::from("message");
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                        }
                    }
                    if data.is_empty() {
                        continue; // a comment or a retry hint
                    }
                    return Some(Sse {
                        event,
                        data: data.join("\n"),
                    });
                }
                let mut size_line = String::new();
                if self.reader.read_line(&mut size_line).await.ok()? == 0 {
                    return None;
                }
                let size = usize::from_str_radix(size_line.trim(), 16).ok()?;
                if size == 0 {
                    return None;
                }
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await.ok()?;
                chunk.truncate(size);
                self.text.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
    }

    /// Events until one matches `pred`, which is returned with those before it.
    pub async fn until(&mut self, pred: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut seen = Vec::new();
        loop {
            let Some(e) = self.next().await else {
                panic!("the stream ended before the awaited event; saw {seen:#?}");
            };
            let done = pred(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
}

/// A child that runs until stopped, or fails when its switch is flipped.
#[derive(Clone, Default)]
pub struct Switch(pub Arc<Notify>);

impl Switch {
    /// Makes the running incarnation (or the next one) fail once.
    pub fn fail(&self) {
        self.0.notify_one();
    }

    pub fn task(
        &self,
    ) -> impl Fn(
        TaskContext,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), std::io::Error>> + Send>,
    > + Send
    + Sync
    + 'static {
        let notify = self.0.clone();
        move |ctx| {
            let notify = notify.clone();
            Box::pin(async move {
                tokio::select! {
                    _ = ctx.cancelled() => Ok(()),
                    _ = notify.notified() => Err(std::io::Error::other("told to fail")),
                }
            })
        }
    }
}

/// A tree of `steady` and `flaky` (backoff `backoff`), and a nested
/// `jobs` supervisor with `scheduler`.
pub fn spec(backoff: Backoff) -> SupervisorSpec {
    let jobs = SupervisorSpec::new("jobs").unwrap().with_child(
        ChildSpec::worker("scheduler")
            .unwrap()
            .with_task("steady")
            .unwrap(),
    );
    SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(100, Duration::from_secs(60))
        .with_child(ChildSpec::worker("steady").unwrap())
        .with_child(ChildSpec::worker("flaky").unwrap().with_backoff(backoff))
        .with_child(ChildSpec::supervisor(jobs))
}

/// Waits for the first event matching `pred`.
pub async fn wait_event(
    rx: &mut broadcast::Receiver<Event>,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    within("a tree event", async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event bus: {e}"),
            }
        }
    })
    .await
}

/// Whether `e` is of `kind` and about `path`.
pub fn is(e: &Event, kind: &str, path: &str) -> bool {
    e.kind.name() == kind && e.path.to_string() == path
}

pub async fn snapshot_state(tree: &SupervisorHandle, path: &str) -> String {
    tree.child(path)
        .await
        .expect("child")
        .state
        .as_str()
        .to_owned()
}

/// A tree of `spec`'s two children, neither failing until told, without
/// backoff.
pub async fn tree() -> supervisor_runtime::RunningTree {
    supervisor_runtime::Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", Switch::default().task())
        .start()
        .await
        .unwrap()
}
