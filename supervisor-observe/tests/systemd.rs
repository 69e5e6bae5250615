//! sd_notify against a real Unix datagram socket.

#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use supervisor_observe::SystemdNotifier;
use supervisor_runtime::{Supervisor, TaskContext};
use supervisor_spec::{ChildSpec, SupervisorSpec};

async fn idle(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn read_all(socket: &UnixDatagram) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_watchdog_stopping_and_status_reach_systemd() {
    let dir = std::env::temp_dir().join(format!("sv-notify-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixDatagram::bind(&path).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let tree = Supervisor::new(SupervisorSpec::new("root").unwrap())
        .child(ChildSpec::worker("a").unwrap(), idle)
        .start()
        .await
        .unwrap();
    let notifier =
        SystemdNotifier::new(path.to_str().unwrap(), Some(Duration::from_millis(100))).unwrap();
    let task = tokio::spawn(notifier.run(tree.handle()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    tree.shutdown().await;
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();

    let messages = read_all(&listener);
    assert!(
        messages[0].starts_with("READY=1\nSTATUS=running; up "),
        "{messages:?}"
    );
    let pings = messages.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(
        pings >= 2,
        "half-interval pings while healthy: {messages:?}"
    );
    let stopping = messages
        .iter()
        .position(|m| m.starts_with("STOPPING=1"))
        .expect("STOPPING=1");
    assert!(
        messages[stopping..].iter().all(|m| m != "WATCHDOG=1"),
        "no ping while stopping"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("EXTEND_TIMEOUT_USEC=")),
        "{messages:?}"
    );
    assert_eq!(messages.last().map(String::as_str), Some("STATUS=stopped"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nothing_happens_without_notify_socket() {
    // SAFETY-free: the test only reads the variable's absence in this process.
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        assert!(SystemdNotifier::from_env().unwrap().is_none());
    }
}

#[test]
fn an_empty_socket_name_is_an_error() {
    assert!(SystemdNotifier::new("", None).is_err());
}
