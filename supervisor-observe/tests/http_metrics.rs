//! `/metrics` serves the Prometheus text format, and `promtool check
//! metrics` (Debian package `prometheus`) accepts it. Without promtool the
//! check is skipped with a notice, except in CI (`CI=true`), where that is
//! a failure.
//!
//! One test in this file: it installs the process-wide recorder.

#![cfg(feature = "http")]

mod http_support;

use std::io::Write;
use std::process::{Command, Stdio};

use http_support::{Switch, get, is, spec, wait_event};
use supervisor_observe::MetricsObserver;
use supervisor_observe::http::{HttpConfig, HttpServer, install_prometheus_recorder};
use supervisor_runtime::Supervisor;
use supervisor_spec::Backoff;

#[tokio::test]
async fn metrics_are_prometheus_text_that_promtool_accepts() {
    let handle = install_prometheus_recorder().unwrap();
    let again = install_prometheus_recorder().unwrap();
    let flaky = Switch::default();
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", flaky.task())
        .observer(MetricsObserver::new())
        .start()
        .await
        .unwrap();
    let server = HttpServer::start(HttpConfig::default().prometheus(handle), tree.handle())
        .await
        .unwrap();
    let mut events = tree.subscribe();
    flaky.fail();
    wait_event(&mut events, |e| is(e, "ready", "root/flaky")).await;

    let res = get(server.local_addr(), "/metrics").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = res.body;
    for line in [
        "supervisor_starts_total{path=\"root/flaky\"} 2",
        "supervisor_restarts_total{path=\"root/flaky\"} 1",
        "supervisor_exits_total{path=\"root/flaky\",exit=\"failed\"} 1",
        "supervisor_child_state{path=\"root/steady\",state=\"ready\"} 1",
        "# TYPE supervisor_time_to_ready_seconds histogram",
        "# HELP supervisor_starts_total Incarnations started.",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
    assert!(
        again.render().contains("supervisor_starts_total"),
        "a second install returns the same recorder"
    );

    promtool_check(&text);
    tree.shutdown().await;
    server.shutdown().await;
}

fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("promtool is required in CI (Debian package `prometheus`): {e}")
        }
        Err(e) => {
            eprintln!(
                "notice: skipping `promtool check metrics`: promtool not found ({e}); apt-get install prometheus"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{report}\n---\n{text}"
    );
    assert!(
        report.trim().is_empty(),
        "promtool found problems:\n{report}"
    );
}
