//! `#[supervised]`: an `async fn` as a supervised child, its policies
//! written next to it and checked when it compiles.
//!
//! Use it through `supervisor-runtime`, which re-exports it (default
//! feature `macros`): `use supervisor_runtime::supervised;`.
//!
//! ```
//! use std::time::Duration;
//! use supervisor_runtime::{Supervisor, TaskContext, supervised};
//! use supervisor_spec::SupervisorSpec;
//!
//! #[supervised(readiness = "explicit", tags = ["storage"])]
//! async fn db(ctx: TaskContext) -> Result<(), std::io::Error> {
//!     ctx.ready();
//!     ctx.cancelled().await;
//!     Ok(())
//! }
//!
//! #[supervised(
//!     restart = "transient",
//!     backoff(initial = "100ms", max = "30s"),
//!     budget(max_restarts = 10, window = "1m", on_exhausted = "quarantine"),
//!     depends_on = ["db"],
//! )]
//! async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
//!     loop {
//!         tokio::select! {
//!             _ = ctx.cancelled() => return Ok(()),
//!             _ = tokio::time::sleep(Duration::from_secs(1)) => { /* work */ }
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = Supervisor::new(SupervisorSpec::new("root")?)
//!     .supervised(db)
//!     .supervised(ingest)
//!     .start()
//!     .await?;
//! let report = tree.shutdown().await;
//! assert_eq!(report.children.len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # What it makes of the fn
//!
//! A fn cannot carry a child spec, and a value can: the attribute turns
//!
//! ```text
//! pub async fn ingest(ctx: TaskContext) -> Result<(), E> { body }
//! ```
//!
//! into a unit struct of the same name and visibility,
//! `pub struct ingest;`, whose value `ingest` is
//!
//! - a `supervisor_runtime::Task` that runs `body` in each incarnation, so
//!   `.task("ingest", ingest)` and `.child(spec, ingest)` work as they did;
//! - a `supervisor_runtime::Supervised` whose `child_spec()` is the child
//!   the attribute declares, so `Supervisor::supervised(ingest)` adds it and
//!   binds it in one step.
//!
//! The body stays a private `async fn` of the struct, as written, so its
//! errors point at the code written. The fn's docs go on the struct, its
//! `cfg`s on everything emitted, its `allow`s on the struct and the fn, and
//! its other attributes stay on the fn (put `#[supervised]` first, above
//! attributes such as `#[tracing::instrument]`, which then keep the fn's
//! name).
//!
//! # Keys
//!
#![doc = include_str!("keys.md")]
//!
//! # Errors
//!
//! The child is built and validated while the crate compiles, with the
//! spec's own types and checks, so a tree cannot fail to start over one of
//! its `#[supervised]` children's own settings. Each mistake is a compile
//! error at the token that caused it: an unknown key (the message lists
//! the valid ones), a key given twice, a value not in a form the key takes,
//! a duration that does not parse, a combination the spec rejects (`jitter`
//! outside `0..=1`, `initial` above `max`, a permanent significant child,
//! `"infinity"` for a worker, ...), a fn that is not `async`, is generic,
//! does not take exactly one argument or returns nothing. What only the
//! whole tree can tell (whether `depends_on` names a sibling, whether the
//! parent allows significant children) is checked when the tree starts.
//!
//! On an error, the item is still emitted (expanded as if the attribute had
//! no arguments, when only the arguments are wrong), so that editors and
//! the rest of the crate keep working.

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub, missing_debug_implementations)]

use proc_macro::TokenStream;

mod attr;
mod expand;
mod validate;

/// Makes an `async fn ingest(ctx: TaskContext) -> Result<(), E>` a
/// supervised child: a value `ingest` that is both the child's task and
/// its spec, with the policies written in the attribute.
///
/// The fn must be `async`, take one argument (its
/// `supervisor_runtime::TaskContext`) and return a `Result<(), E>` whose
/// error converts into a `BoxError`. The id defaults to the fn's name.
///
/// # Examples
///
/// ```
/// use supervisor_runtime::{Supervised, TaskContext, supervised};
/// use supervisor_spec::{Readiness, Restart, Shutdown};
/// use std::time::Duration;
///
/// /// Writes batches to the store.
/// #[supervised(restart = "transient", shutdown = "10s", readiness(explicit = "5s"))]
/// pub async fn writer(ctx: TaskContext) -> Result<(), std::io::Error> {
///     ctx.ready();
///     ctx.cancelled().await;
///     Ok(())
/// }
///
/// let spec = writer.child_spec();
/// assert_eq!(spec.id, "writer");
/// assert_eq!(spec.restart, Restart::Transient);
/// assert_eq!(spec.shutdown, Shutdown::graceful(Duration::from_secs(10)));
/// assert_eq!(spec.readiness, Readiness::explicit(Duration::from_secs(5)));
/// ```
///
/// # Keys
///
#[doc = include_str!("keys.md")]
#[proc_macro_attribute]
pub fn supervised(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::supervised(args.into(), item.into()).into()
}
