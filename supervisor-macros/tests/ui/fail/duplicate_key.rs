use supervisor_runtime::{TaskContext, supervised};

#[supervised(restart = "transient", shutdown = "5s", restart = "temporary")]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
