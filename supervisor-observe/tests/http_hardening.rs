//! The server against hostile or odd clients (found by a review): a body
//! that never comes, a request without a token, case in the auth scheme,
//! extractor errors, secrets no client can send, and event streams that
//! would take every connection.

#![cfg(feature = "http")]

mod http_support;

use http_support::tree;

use std::time::Duration;

use http_support::{SseReader, get, request, within};
use supervisor_observe::http::{HttpConfig, HttpServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends the headers of a control request announcing a 100-byte body,
/// and no body; returns what the server answers, once it closes or after
/// the first bytes.
async fn stalled_post(addr: std::net::SocketAddr, auth: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let head = format!(
        "POST /api/restart/root/flaky HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 100\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn a_request_without_a_token_is_refused_before_its_body_comes() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret");
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let answer = within("an answer", stalled_post(server.local_addr(), None)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    tree.shutdown().await;
    server.shutdown().await;
}

// The paused clock runs ahead while the server waits for the body.
#[tokio::test(start_paused = true)]
async fn a_body_that_does_not_come_is_cut_off() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret");
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        stalled_post(server.local_addr(), Some("Bearer secret")),
    )
    .await
    .expect("the server answers");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_without_a_token_gets_401_whatever_its_body() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret").body_limit(64);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let body = "x".repeat(100);
    let res = request(
        server.local_addr(),
        "POST",
        "/api/restart/root/flaky",
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.body);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn extractor_rejections_are_json_errors_too() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret").body_limit(64);
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let addr = server.local_addr();
    let big = format!("{{\"reason\": \"{}\"}}", "x".repeat(100));
    let too_big = request(
        addr,
        "POST",
        "/api/restart/root/flaky",
        &[("Authorization", "Bearer secret")],
        big.as_bytes(),
    )
    .await;
    assert_eq!(too_big.status, 413);
    assert!(too_big.error().contains("64 bytes"), "{}", too_big.body);
    let bad_utf8 = get(addr, "/readyz/root/%ff").await;
    assert_eq!(bad_utf8.status, 400);
    assert!(!bad_utf8.error().is_empty(), "{}", bad_utf8.body);
    let bad_control = request(
        addr,
        "POST",
        "/api/restart/root/%ff",
        &[("Authorization", "Bearer secret")],
        b"",
    )
    .await;
    assert_eq!(bad_control.status, 400);
    assert!(!bad_control.error().is_empty(), "{}", bad_control.body);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let tree = tree().await;
    let config = HttpConfig::default().token("ops", "secret");
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    for auth in ["bearer secret", "BEARER secret", "Bearer  secret"] {
        let res = request(
            server.local_addr(),
            "POST",
            "/api/restart/root/flaky",
            &[("Authorization", auth)],
            b"",
        )
        .await;
        assert_eq!(res.status, 200, "{auth}: {}", res.body);
    }
    let res = request(
        server.local_addr(),
        "POST",
        "/api/restart/root/flaky",
        &[("Authorization", "Basic secret")],
        b"",
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.body);
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_secret_no_client_can_send_is_refused() {
    for secret in ["secret ", " secret", "sec\nret", "sec\u{7f}ret"] {
        let refused = HttpServer::bind(HttpConfig::default().token("ops", secret)).await;
        let e = refused.expect_err(secret);
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("`ops`"), "{e}");
    }
    // Spaces inside are sent as they are.
    let server = HttpServer::bind(HttpConfig::default().token("ops", "a long secret"))
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn event_streams_past_the_cap_are_refused_and_probes_still_answer() {
    let tree = tree().await;
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut streams = Vec::new();
    for _ in 0..64 {
        streams.push(SseReader::connect(addr, "/api/events").await);
    }
    let refused = get(addr, "/api/events").await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.error().contains("64"), "{}", refused.body);
    assert_eq!(get(addr, "/livez").await.status, 200);
    drop(streams);
    tree.shutdown().await;
    server.shutdown().await;
}
