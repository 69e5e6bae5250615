//! `/api/events`: the journal's history first, then live events, each
//! once; the stream ends with the tree and with the server.

#![cfg(feature = "http")]

mod http_support;

use http_support::{SseReader, Switch, get, spec, within};
use supervisor_observe::Journal;
use supervisor_observe::http::{HttpConfig, HttpServer};
use supervisor_runtime::Supervisor;
use supervisor_spec::Backoff;

#[tokio::test]
async fn history_comes_first_then_live_events_each_once() {
    let journal = Journal::new(64);
    let flaky = Switch::default();
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", flaky.task())
        .observer(journal.clone())
        .start()
        .await
        .unwrap();
    let config = HttpConfig::default().journal(journal.clone());
    let server = HttpServer::start(config, tree.handle()).await.unwrap();
    let addr = server.local_addr();

    let recorded: Vec<String> = journal
        .recent(1000)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(!recorded.is_empty());
    let mut stream = SseReader::connect(addr, "/api/events").await;
    let mut history = Vec::new();
    for _ in 0..recorded.len() {
        let e = stream.next().await.expect("a history event");
        assert_eq!(e.event, "history");
        history.push(e.json()["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(history, recorded, "the journal, oldest first");

    flaky.fail();
    let live = stream.until(|e| e.json()["kind"] == "ready").await;
    let texts: Vec<String> = live
        .iter()
        .map(|e| {
            assert_eq!(e.event, "live");
            assert_eq!(e.json()["path"], "root/flaky");
            e.json()["text"].as_str().unwrap().to_owned()
        })
        .collect();
    let journal_after: Vec<String> = journal.recent(1000)[recorded.len()..]
        .iter()
        .map(ToString::to_string)
        .take(texts.len())
        .collect();
    assert_eq!(texts, journal_after, "the same events, in the same order");
    let kinds: Vec<String> = live
        .iter()
        .map(|e| e.json()["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["exited", "restart_scheduled", "started", "ready"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let exited = live[0].json();
    assert_eq!(exited["exit"], "failed");
    assert_eq!(exited["error"], "task returned an error: told to fail");
    let new_generation = live.last().unwrap().json()["generation"].as_u64().unwrap();
    assert!(
        exited["generation"].as_u64().unwrap() < new_generation,
        "a new incarnation"
    );

    tree.shutdown().await;
    let rest = stream.until(|e| e.event == "end").await;
    let end = rest.last().unwrap().json();
    assert_eq!(end["end"], "shutdown");
    assert_eq!(end["report"]["path"], "root");
    let before_end = &rest[rest.len() - 2].json();
    assert_eq!(
        before_end["kind"], "shutdown_completed",
        "every event before the end"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream closes after `end`"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_journal_the_stream_is_live_only() {
    let flaky = Switch::default();
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", flaky.task())
        .start()
        .await
        .unwrap();
    let server = HttpServer::start(HttpConfig::default(), tree.handle())
        .await
        .unwrap();
    let mut stream = SseReader::connect(server.local_addr(), "/api/events").await;
    flaky.fail();
    let first = stream.next().await.unwrap();
    assert_eq!(first.event, "live");
    assert_eq!(first.json()["kind"], "exited");
    tree.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_stream_opened_after_the_tree_ended_replays_history_and_ends() {
    let journal = Journal::new(16);
    let tree = Supervisor::new(spec(Backoff::none()))
        .task("steady", Switch::default().task())
        .task("flaky", Switch::default().task())
        .observer(journal.clone())
        .start()
        .await
        .unwrap();
    let handle = tree.handle();
    tree.shutdown().await;
    let server = HttpServer::start(HttpConfig::default().journal(journal.clone()), handle)
        .await
        .unwrap();
    let mut stream = SseReader::connect(server.local_addr(), "/api/events").await;
    let all = stream.until(|e| e.event == "end").await;
    assert_eq!(all.len(), journal.len() + 1);
    assert!(all[..all.len() - 1].iter().all(|e| e.event == "history"));
    assert!(stream.next().await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn shutting_the_server_down_closes_open_streams_and_leaves_nothing_running() {
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
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(SseReader::connect(addr, "/api/events").await);
    }
    // An idle keep-alive connection, too.
    let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(get(addr, "/livez").await.status, 200);

    within("the server shuts down", server.shutdown()).await;
    for mut s in streams {
        assert!(s.next().await.is_none(), "the stream ended");
    }
    drop(idle);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
    assert!(tree.handle().is_ready(), "the tree is not affected");
    tree.shutdown().await;
}
