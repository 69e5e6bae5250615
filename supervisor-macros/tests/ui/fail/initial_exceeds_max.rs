use supervisor_runtime::{TaskContext, supervised};

#[supervised(backoff(initial = "5s", max = "1s"))]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
