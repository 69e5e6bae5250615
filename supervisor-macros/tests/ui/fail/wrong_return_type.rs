use supervisor_runtime::{TaskContext, supervised};

#[supervised]
async fn ingest(ctx: TaskContext) -> Option<()> {
    ctx.cancelled().await;
    Some(())
}

fn main() {}
