//! The dashboard in a real browser: Debian's Chromium, driven through
//! chromedriver's W3C WebDriver HTTP API, shows a demo-like tree, follows a
//! child's restart, sends a command from its buttons, and leaves a
//! screenshot at `target/dashboard.png`.
//!
//! Without chromedriver the test is skipped with a notice, except in CI
//! (`CI=true`), where that is a failure (`.ci/run` installs `chromium` and
//! `chromium-driver`).

#![cfg(all(feature = "http", unix))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use supervisor_observe::Journal;
use supervisor_observe::http::{HttpConfig, HttpServer};
use supervisor_runtime::{BlockingContext, RunningTree, Supervisor, TaskContext};
use supervisor_spec::{Backoff, ChildSpec, Readiness, Strategy, SupervisorSpec};
use tokio::sync::Notify;

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const TOKEN: &str = "browser-test-secret";
/// How long the page may take to show a change.
const PAGE_WAIT_MS: u64 = 10_000;

#[test]
fn the_dashboard_shows_the_tree_and_follows_a_restart_in_chromium() {
    let Some(driver) = ChromeDriver::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fail = Arc::new(Notify::new());
    let (tree, server) = rt.block_on(start_demo(fail.clone()));
    let url = format!("http://{}/", server.local_addr());

    let browser = Session::new(driver.addr);
    browser.navigate(&url);
    browser.wait_until(
        "the tree is shown",
        r##"document.querySelectorAll("tr.node").length === 8
           && document.querySelector('tr[data-path="root/ingest"]').dataset.state === "ready""##,
    );
    let cell = |path: &str, class: &str| {
        browser.script(&format!(
            r##"return document.querySelector('tr[data-path="{path}"] td.{class}').textContent"##
        ))
    };
    assert_eq!(cell("root/ingest", "restarts"), "0");
    assert_eq!(cell("root/jobs/reporter", "exit"), "—");
    assert_eq!(
        browser.script("return document.getElementById('conn').textContent"),
        "live"
    );

    // A failure: the page follows the restart from the event stream.
    fail.notify_one();
    browser.wait_until(
        "the restart is shown",
        r##"document.querySelector('tr[data-path="root/ingest"] td.restarts').textContent === "1""##,
    );
    assert_eq!(cell("root/ingest", "exit"), "failed");
    browser.wait_until(
        "the failure is in the events pane",
        r##"[...document.querySelectorAll("#events li")].some(li => li.textContent.includes("root/ingest") && li.textContent.includes("exited failed: task returned an error: upstream connection reset"))"##,
    );

    // A command from the page's buttons, named by the token's label.
    let token_input = browser.find("#token");
    browser.send_keys(&token_input, TOKEN);
    browser.click(&browser.find(r##"tr[data-path="root/api"] button.cmd-restart"##));
    browser.wait_until(
        "the command event is shown",
        r##"[...document.querySelectorAll("#events li")].some(li => li.textContent.includes("root/api") && li.textContent.includes("restart command by browser-test: from the dashboard"))"##,
    );

    // A second failure backs off for a long time: the failing child stands out.
    fail.notify_one();
    browser.wait_until(
        "the failing child stands out",
        r##"document.querySelector('tr[data-path="root/ingest"]').classList.contains("failing")
           && !document.getElementById("alert").hidden
           && document.querySelector('.probe#probe-readyz').classList.contains("bad")"##,
    );
    let alert = browser.script("return document.getElementById('alert').textContent");
    assert!(
        alert
            .as_str()
            .is_some_and(|a| a.contains("root/ingest backing off")),
        "{alert}"
    );

    let png = browser.screenshot();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../dashboard.png");
    std::fs::write(&path, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    eprintln!("dashboard screenshot: {}", path.display());

    drop(browser);
    rt.block_on(async {
        tree.shutdown().await;
        server.shutdown().await;
    });
}

// ---- a demo-like tree ----

async fn start_demo(fail: Arc<Notify>) -> (RunningTree, HttpServer) {
    let jobs = SupervisorSpec::new("jobs")
        .unwrap()
        .with_strategy(Strategy::OneForAll)
        .with_child(
            ChildSpec::worker("scheduler")
                .unwrap()
                .with_task("idle")
                .unwrap(),
        )
        .with_child(
            ChildSpec::worker("reporter")
                .unwrap()
                .with_task("idle")
                .unwrap()
                .with_depends_on(["scheduler"])
                .unwrap(),
        );
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(10, Duration::from_secs(10))
        .with_child(
            ChildSpec::worker("db")
                .unwrap()
                .with_readiness(Readiness::explicit(Duration::from_secs(5))),
        )
        .with_child(
            ChildSpec::worker("api")
                .unwrap()
                .with_task("idle")
                .unwrap()
                .with_depends_on(["db"])
                .unwrap(),
        )
        .with_child(
            ChildSpec::worker("ingest")
                .unwrap()
                .with_depends_on(["db"])
                .unwrap()
                // The first restart comes quickly, the second after a minute.
                .with_backoff(
                    Backoff::exponential(Duration::from_millis(100), Duration::from_secs(60))
                        .with_multiplier(600.0),
                ),
        )
        .with_child(ChildSpec::blocking("writer").unwrap())
        .with_child(ChildSpec::supervisor(jobs));
    let journal = Journal::new(512);
    let tree = Supervisor::new(spec)
        .task("db", db)
        .task("idle", idle)
        .task("ingest", move |ctx: TaskContext| {
            let fail = fail.clone();
            async move {
                ctx.ready();
                tokio::select! {
                    _ = ctx.cancelled() => Ok(()),
                    _ = fail.notified() => Err(std::io::Error::other("upstream connection reset")),
                }
            }
        })
        .blocking_task("writer", writer)
        .observer(journal.clone())
        .start()
        .await
        .unwrap();
    let config = HttpConfig::default()
        .token("browser-test", TOKEN)
        .journal(journal);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    (tree, server)
}

async fn db(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

async fn idle(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn writer(ctx: BlockingContext) -> Result<(), std::io::Error> {
    ctx.ready();
    while !ctx.wait_cancelled(Duration::from_millis(100)) {}
    Ok(())
}

// ---- chromedriver ----

/// A chromedriver process, killed when dropped.
struct ChromeDriver {
    process: Child,
    addr: SocketAddr,
}

impl ChromeDriver {
    /// Starts chromedriver on a free loopback port and waits for it to say
    /// it is ready; `None` (with a notice) when it is not installed,
    /// outside CI.
    fn start() -> Option<Self> {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let spawned = Command::new(CHROMEDRIVER)
            .args([
                format!("--port={port}"),
                "--allowed-ips=127.0.0.1".to_owned(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, with the browsers it starts, so that
            // all of them can be ended together however the test ends.
            .process_group(0)
            .spawn();
        let mut process = match spawned {
            Ok(p) => p,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!(
                    "chromedriver is required in CI (Debian packages chromium, chromium-driver): {e}"
                )
            }
            Err(e) => {
                eprintln!(
                    "notice: skipping the browser test: chromedriver not found ({e}); \
                     apt-get install chromium chromium-driver"
                );
                return None;
            }
        };
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let started = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("started successfully"));
        assert!(started, "chromedriver did not start");
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Some(Self {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's own pid.
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A WebDriver session, deleted (closing the browser) when dropped.
struct Session {
    driver: SocketAddr,
    id: String,
}

impl Session {
    fn new(driver: SocketAddr) -> Self {
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--no-first-run", "--window-size=1400,900",
                        ],
                    },
                },
            },
        });
        let value = webdriver(driver, "POST", "/session", Some(&caps));
        let id = value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        let session = Self { driver, id };
        session.call(
            "POST",
            "timeouts",
            Some(&json!({ "script": PAGE_WAIT_MS + 5_000 })),
        );
        session
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        webdriver(
            self.driver,
            method,
            &format!("/session/{}/{path}", self.id),
            body,
        )
    }

    fn navigate(&self, url: &str) {
        self.call("POST", "url", Some(&json!({ "url": url })));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "execute/sync",
            Some(&json!({ "script": script, "args": [] })),
        )
    }

    /// Waits in the page until `condition` (a JS expression) holds.
    fn wait_until(&self, what: &str, condition: &str) {
        let script = format!(
            r##"const done = arguments[arguments.length - 1];
               const start = Date.now();
               const check = () => {{ try {{ return Boolean({condition}); }} catch (_) {{ return false; }} }};
               (function poll() {{
                 if (check()) return done(true);
                 if (Date.now() - start > {PAGE_WAIT_MS}) return done(false);
                 setTimeout(poll, 50);
               }})();"##
        );
        let ok = self.call(
            "POST",
            "execute/async",
            Some(&json!({ "script": script, "args": [] })),
        );
        if ok != Value::Bool(true) {
            let rows = self.script(
                r##"return [...document.querySelectorAll("tr.node")].map(r => r.textContent).join("\n")
                   + "\n--- events\n" + [...document.querySelectorAll("#events li")].slice(0, 15).map(li => li.textContent).join("\n")"##,
            );
            panic!(
                "the page did not show that {what}; it shows:\n{}",
                rows.as_str().unwrap_or_default()
            );
        }
    }

    fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "element",
            Some(&json!({ "using": "css selector", "value": css })),
        );
        found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    fn click(&self, element: &str) {
        self.call(
            "POST",
            &format!("element/{element}/click"),
            Some(&json!({})),
        );
    }

    fn send_keys(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &format!("element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call("GET", "screenshot", None);
        base64_decode(encoded.as_str().expect("base64 text"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = try_webdriver(
            self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

fn webdriver(driver: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    try_webdriver(driver, method, path, body)
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
}

/// One WebDriver command over HTTP/1.1: the response's `value`.
fn try_webdriver(
    driver: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(driver).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_millis(PAGE_WAIT_MS + 20_000)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {driver}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: read by Content-Length.
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let payload = match length {
        Some(n) => {
            let mut payload = vec![0; n];
            reader.read_exact(&mut payload).map_err(|e| e.to_string())?;
            payload
        }
        None => {
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).map_err(|e| e.to_string())?;
            if head.contains("transfer-encoding: chunked") {
                dechunk(&rest)
            } else {
                rest
            }
        }
    };
    let status_ok = head.starts_with("http/1.1 200");
    let value: Value = serde_json::from_slice(&payload).map_err(|e| format!("{e}: {head}"))?;
    let value = value.get("value").cloned().unwrap_or(Value::Null);
    if status_ok {
        Ok(value)
    } else {
        Err(format!("{}: {}", value["error"], value["message"]))
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

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !matches!(c, b'=' | b'\n' | b'\r'))
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | (u32::from(d) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

#[test]
fn base64_decodes_what_webdriver_sends() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
