use supervisor_runtime::{TaskContext, supervised};

#[supervised(id = "Ingest")]
async fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

fn main() {}
