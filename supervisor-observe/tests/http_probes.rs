//! `/livez`, `/readyz`, `/startupz` through a tree's start, a failure, a
//! give-up and a shutdown.

#![cfg(feature = "http")]

mod http_support;

use std::time::Duration;

use http_support::{Switch, get, is, spec, wait_event, within};
use supervisor_observe::http::{HttpConfig, HttpServer};
use supervisor_runtime::Supervisor;
use supervisor_spec::{Backoff, ChildSpec, Restart, SupervisorSpec};

async fn probes(addr: std::net::SocketAddr) -> [u16; 3] {
    [
        get(addr, "/livez").await.status,
        get(addr, "/readyz").await.status,
        get(addr, "/startupz").await.status,
    ]
}

#[tokio::test]
async fn before_the_tree_is_attached_it_is_live_but_not_started_nor_ready() {
    let server = HttpServer::bind(HttpConfig::default()).await.unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback(), "binds to loopback by default");
    assert_eq!(probes(addr).await, [200, 503, 503]);
    assert_eq!(get(addr, "/startupz").await.body, "not started: starting\n");
    assert_eq!(get(addr, "/api/tree").await.status, 503);

    let switch = Switch::default();
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", switch.task())
        .task("flaky", switch.task())
        .start()
        .await
        .unwrap();
    server.attach(tree.handle());
    assert_eq!(probes(addr).await, [200, 200, 200]);
    assert_eq!(get(addr, "/readyz").await.body, "ready\n");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn readiness_fails_while_a_child_is_backing_off() {
    let flaky = Switch::default();
    let tree = Supervisor::new(spec(Backoff::exponential(
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    )))
    .task("steady", Switch::default().task())
    .task("flaky", flaky.task())
    .start()
    .await
    .unwrap();
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_eq!(probes(addr).await, [200, 200, 200]);
    assert_eq!(get(addr, "/readyz/root/flaky").await.status, 200);

    let mut events = tree.subscribe();
    flaky.fail();
    wait_event(&mut events, |e| is(e, "restart_scheduled", "root/flaky")).await;

    assert_eq!(probes(addr).await, [200, 503, 200]);
    let readyz = get(addr, "/readyz").await;
    assert_eq!(readyz.body, "not ready: root/flaky backing_off\n");
    let flaky_ready = get(addr, "/readyz/root/flaky").await;
    assert_eq!(flaky_ready.status, 503);
    assert_eq!(flaky_ready.body, "not ready: root/flaky is backing_off\n");
    assert_eq!(get(addr, "/readyz/root/steady").await.status, 200);
    assert_eq!(
        get(addr, "/readyz/root/jobs").await.status,
        200,
        "a subtree is ready on its own"
    );
    assert_eq!(get(addr, "/readyz/root/jobs/scheduler").await.status, 200);
    assert_eq!(
        get(addr, "/readyz/root").await.status,
        503,
        "the root path is the whole tree"
    );

    tree.handle()
        .restart_child("root/flaky", Some("skip the backoff"))
        .await
        .unwrap();
    assert_eq!(probes(addr).await, [200, 200, 200]);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn subtree_probes_reject_malformed_and_unknown_paths() {
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", Switch::default().task())
        .start()
        .await
        .unwrap();
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    let unknown = get(addr, "/readyz/root/nope").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error(), "no node at root/nope");
    assert_eq!(get(addr, "/readyz/other/steady").await.status, 404);
    let malformed = get(addr, "/readyz/root//steady").await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.error().starts_with("malformed child path"),
        "{}",
        malformed.body
    );
    assert_eq!(get(addr, "/readyz/root/bad%20id").await.status, 400);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn liveness_fails_after_the_root_gives_up() {
    let crash = Switch::default();
    let spec = SupervisorSpec::new("root")
        .unwrap()
        .with_intensity(1, Duration::from_secs(3600))
        .with_child(ChildSpec::worker("steady").unwrap())
        .with_child(
            ChildSpec::worker("crash")
                .unwrap()
                .with_restart(Restart::Permanent)
                .with_backoff(Backoff::none()),
        );
    let tree = Supervisor::new(spec)
        .task("steady", Switch::default().task())
        .task("crash", crash.task())
        .start()
        .await
        .unwrap();
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_eq!(probes(addr).await, [200, 200, 200]);

    let mut events = tree.subscribe();
    crash.fail();
    wait_event(&mut events, |e| is(e, "started", "root/crash")).await;
    assert_eq!(
        get(addr, "/livez").await.status,
        200,
        "one restart is within the intensity"
    );
    crash.fail();
    within("the tree gives up", tree.join()).await;

    assert_eq!(probes(addr).await, [503, 503, 200]);
    let livez = get(addr, "/livez").await;
    assert!(
        livez
            .body
            .starts_with("not live: the root supervisor gave up"),
        "{}",
        livez.body
    );
    assert!(get(addr, "/readyz").await.body.contains("gave up"));
    server.shutdown().await;
}

#[tokio::test]
async fn after_a_requested_shutdown_it_is_live_and_started_but_not_ready() {
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", Switch::default().task())
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    let server = HttpServer::start(HttpConfig::default(), handle.clone())
        .await
        .unwrap();
    let addr = server.local_addr();
    tree.shutdown().await;
    assert_eq!(probes(addr).await, [200, 503, 200]);
    assert_eq!(
        get(addr, "/livez").await.body,
        "ok: the tree has shut down\n"
    );
    assert_eq!(
        get(addr, "/readyz").await.body,
        "not ready: the tree has shut down\n"
    );
    assert_eq!(get(addr, "/readyz/root/steady").await.status, 503);
    assert_eq!(get(addr, "/api/tree").await.status, 503);
    server.shutdown().await;
}

#[tokio::test]
async fn probes_answer_head_requests_without_a_body() {
    let server = HttpServer::bind(HttpConfig::default()).await.unwrap();
    let res = http_support::request(server.local_addr(), "HEAD", "/livez", &[], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, "");
    server.shutdown().await;
}
