use supervisor_runtime::{TaskContext, supervised};

#[supervised(backoff(initial = "100ms", jitter = 2.0))]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
