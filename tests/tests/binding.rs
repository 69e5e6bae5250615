//! Task bindings are checked before anything starts.

mod support;

use supervisor_runtime::{StartError, Supervisor};
use support::{Alive, idle, root, worker};

#[tokio::test(start_paused = true)]
async fn unbound_and_unused_names_are_listed() {
    let alive = Alive::default();
    let err = Supervisor::new(root([worker("a"), worker("b")]))
        .task("a", idle(&alive))
        .task("c", idle(&alive))
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "task bindings do not match the tree: unbound: root/b needs `b`; bound but unused: `c`"
    );
    assert!(matches!(err, StartError::Binding { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_blocking_worker_bound_to_an_async_task_is_unbound() {
    let alive = Alive::default();
    let err = Supervisor::new(root([supervisor_spec::ChildSpec::blocking("w").unwrap()]))
        .task("w", idle(&alive))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("root/w needs `w`"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_invalid_tree_is_refused_with_every_problem() {
    let alive = Alive::default();
    let err = Supervisor::new(root([worker("a"), worker("a")]))
        .task("a", idle(&alive))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Invalid(_)));
    assert!(
        err.to_string()
            .contains("root.children[1] (a).id: duplicate id `a`"),
        "{err}"
    );
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    let alive = Alive::default();
    let fut = Supervisor::new(root([worker("a")]))
        .task("a", idle(&alive))
        .start();
    // Poll it on a bare executor with no tokio runtime.
    let rt_less = futures_lite_block_on(fut);
    assert!(matches!(rt_less, Err(StartError::NoRuntime)));
}

fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
