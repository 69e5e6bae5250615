//! Bad input gets a clear 4xx and never hurts the server or the tree; the
//! JSON shape of `/api/tree`.

#![cfg(feature = "http")]

mod http_support;

use http_support::tree;

use http_support::{get, raw, request};
use supervisor_observe::http::{HttpConfig, HttpServer};

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_404_and_405() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();

    let unknown = get(addr, "/nope/../etc").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("content-type"), Some("application/json"));
    assert!(
        unknown.error().starts_with("nothing at /"),
        "{}",
        unknown.body
    );

    let post = request(addr, "POST", "/api/tree", &[], b"").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.error(), "/api/tree does not accept POST");
    assert!(
        post.header("allow").is_some_and(|a| a.contains("GET")),
        "{:?}",
        post.headers
    );
    assert_eq!(
        request(addr, "DELETE", "/livez", &[], b"").await.status,
        405
    );

    assert_eq!(
        get(addr, "/metrics").await.status,
        404,
        "no recorder configured"
    );
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret").body_limit(64);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let addr = server.local_addr();
    let auth = [("Authorization", "Bearer secret")];
    let body = format!("{{\"reason\": \"{}\"}}", "x".repeat(100));
    let res = request(
        addr,
        "POST",
        "/api/restart/root/flaky",
        &auth,
        body.as_bytes(),
    )
    .await;
    assert_eq!(res.status, 413);
    let small = request(
        addr,
        "POST",
        "/api/restart/root/flaky",
        &auth,
        br#"{"reason": "ok"}"#,
    )
    .await;
    assert_eq!(small.status, 200, "{}", small.body);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_requests_are_refused_and_the_server_goes_on() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    for bytes in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET /livez HTTP/9.9\r\n\r\n",
        b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
    ] {
        let answer = raw(addr, bytes).await;
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 4")
                || answer.starts_with("HTTP/1.1 5"),
            "{answer:?}"
        );
    }
    let bad_utf8 = get(addr, "/readyz/root/%ff").await;
    assert_eq!(bad_utf8.status, 400);
    assert_eq!(get(addr, "/livez").await.status, 200, "still serving");
    assert!(tree.handle().is_ready(), "the tree is untouched");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn api_tree_is_the_snapshot_as_json() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let res = get(server.local_addr(), "/api/tree").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let root = res.json();
    assert_eq!(root["path"], "root");
    assert_eq!(root["id"], "root");
    assert_eq!(root["kind"], "supervisor");
    assert_eq!(root["state"], "ready");
    let children = root["children"].as_array().unwrap();
    let ids: Vec<&str> = children.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["steady", "flaky", "jobs"]);
    let steady = &children[0];
    for key in [
        "path",
        "id",
        "kind",
        "state",
        "backoff_remaining",
        "generation",
        "restarts",
        "last_exit",
        "last_error",
        "uptime",
        "children",
    ] {
        assert!(steady.get(key).is_some(), "{key} in {steady}");
    }
    assert_eq!(steady["kind"], "worker");
    assert!(steady["generation"].is_u64());
    assert_eq!(steady["restarts"], 0);
    assert!(steady["uptime"].is_f64());
    assert!(steady["last_exit"].is_null());
    assert_eq!(children[2]["children"][0]["path"], "root/jobs/scheduler");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_dashboard_is_one_self_contained_page() {
    let server = HttpServer::bind(HttpConfig::default().token("ops", "secret"))
        .await
        .unwrap();
    let res = get(server.local_addr(), "/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        res.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );
    assert!(res.body.contains("data-control=\"true\""));
    assert!(res.body.contains("new EventSource(\"api/events\")"));
    assert!(
        !res.body.contains("secret"),
        "the token is never in the page"
    );
    server.shutdown().await;
}
