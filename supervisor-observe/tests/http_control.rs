//! Control endpoints: present only with a token, refused without the right
//! one, and every command an event naming who asked and why.

#![cfg(feature = "http")]

mod http_support;

use http_support::tree;

use http_support::{get, is, request, snapshot_state, wait_event};
use supervisor_observe::http::{HttpConfig, HttpServer};
use supervisor_runtime::EventKind;

const SECRET: &str = "correct horse battery staple";

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

#[tokio::test]
async fn without_a_token_there_are_no_control_endpoints() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let auth = bearer(SECRET);
    let res = request(
        server.local_addr(),
        "POST",
        "/api/restart/root/flaky",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(res.status, 404);
    let body = get(server.local_addr(), "/").await.body;
    assert!(
        body.contains("data-control=\"false\""),
        "the page shows no buttons"
    );
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn missing_and_wrong_tokens_are_refused_and_change_nothing() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", SECRET);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let addr = server.local_addr();
    let mut events = tree.subscribe();

    let missing = request(addr, "POST", "/api/terminate/root/flaky", &[], b"").await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"supervisor\"")
    );
    assert!(
        missing.error().contains("Authorization: Bearer"),
        "{}",
        missing.body
    );

    let wrong_auth = bearer("correct horse battery stapler");
    let wrong = request(
        addr,
        "POST",
        "/api/terminate/root/flaky",
        &[("Authorization", &wrong_auth)],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error(), "wrong token");

    let basic = request(
        addr,
        "POST",
        "/api/terminate/root/flaky",
        &[("Authorization", SECRET)],
        b"",
    )
    .await;
    assert_eq!(basic.status, 401);

    assert_eq!(snapshot_state(&tree.handle(), "root/flaky").await, "ready");
    assert!(events.try_recv().is_err(), "no event: nothing happened");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_right_token_runs_the_command_and_its_event_names_the_label_and_reason() {
    let tree = tree().await;
    let config = HttpConfig::default()
        .token("ci", "another secret")
        .token("ops", SECRET);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let addr = server.local_addr();
    let mut events = tree.subscribe();
    let auth = bearer(SECRET);
    let auth = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];

    let res = request(
        addr,
        "POST",
        "/api/restart/root/flaky",
        &auth,
        br#"{"reason": "stuck on a lock"}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let node = res.json();
    assert_eq!(node["path"], "root/flaky");
    assert!(
        matches!(node["state"].as_str(), Some("ready" | "running_not_ready")),
        "{node}"
    );
    let command = wait_event(&mut events, |e| is(e, "command", "root/flaky")).await;
    let EventKind::Command {
        command,
        reason,
        by,
    } = &command.kind
    else {
        unreachable!()
    };
    assert_eq!(*command, "restart");
    assert_eq!(by.as_deref(), Some("ops"));
    assert_eq!(reason.as_deref(), Some("stuck on a lock"));

    let res = request(addr, "POST", "/api/quarantine/root/flaky", &auth, b"").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["state"], "quarantined");
    let quarantined = wait_event(&mut events, |e| is(e, "command", "root/flaky")).await;
    assert!(
        quarantined
            .to_string()
            .ends_with("quarantine command by ops"),
        "{quarantined}"
    );

    let res = request(
        addr,
        "POST",
        "/api/release/root/flaky",
        &auth,
        br#"{"reason": "fixed"}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_ne!(res.json()["state"], "quarantined");

    let res = request(
        addr,
        "POST",
        "/api/terminate/root/jobs/scheduler",
        &auth,
        br#"{"reason": "maintenance"}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["state"], "stopped");
    let terminated = wait_event(&mut events, |e| is(e, "command", "root/jobs/scheduler")).await;
    assert!(
        terminated
            .to_string()
            .ends_with("terminate command by ops: maintenance"),
        "{terminated}"
    );
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn commands_on_bad_targets_get_clear_errors() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default().token("ops", SECRET), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    let auth = bearer(SECRET);
    let auth = [("Authorization", auth.as_str())];

    let unknown = request(addr, "POST", "/api/restart/root/nope", &auth, b"").await;
    assert_eq!(
        (unknown.status, unknown.error().as_str()),
        (404, "no node at root/nope")
    );
    let malformed = request(addr, "POST", "/api/restart/root/fl%20aky", &auth, b"").await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.error().starts_with("malformed child path"),
        "{}",
        malformed.body
    );
    let root = request(addr, "POST", "/api/restart/root", &auth, b"").await;
    assert_eq!(root.status, 409, "{}", root.body);
    let bad_body = request(addr, "POST", "/api/restart/root/flaky", &auth, b"please").await;
    assert_eq!(bad_body.status, 400);
    assert!(
        bad_body.error().contains("{\"reason\""),
        "{}",
        bad_body.body
    );
    let release = request(addr, "POST", "/api/release/root/flaky", &auth, b"").await;
    assert_eq!(
        release.status, 409,
        "releasing a child that is not quarantined: {}",
        release.body
    );
    let get = request(addr, "GET", "/api/restart/root/flaky", &auth, b"").await;
    assert_eq!(get.status, 405);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_token_settings_are_rejected_at_start() {
    for config in [
        HttpConfig::default().token("ops", ""),
        HttpConfig::default().token(" ", "secret"),
        HttpConfig::default().token("a", "same").token("b", "same"),
        HttpConfig::default().body_limit(0),
    ] {
        let err = HttpServer::bind(config).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
    let debug = format!("{:?}", HttpConfig::default().token("ops", SECRET));
    assert!(debug.contains("ops") && !debug.contains(SECRET), "{debug}");
}
