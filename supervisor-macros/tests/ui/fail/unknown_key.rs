use supervisor_runtime::{Supervisor, TaskContext, supervised};
use supervisor_spec::SupervisorSpec;

#[supervised(restart = "transient", restrat = "temporary")]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

// The item is still emitted: its uses are not errors too.
fn main() {
    let _ = Supervisor::new(SupervisorSpec::new("root").unwrap()).supervised(ingest);
}
