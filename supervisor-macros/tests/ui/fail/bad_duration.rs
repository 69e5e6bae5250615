use supervisor_runtime::{TaskContext, supervised};

#[supervised(backoff(initial = "100ms", max = "30 parsecs"))]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
