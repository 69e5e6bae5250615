use supervisor_runtime::{TaskContext, supervised};

#[supervised]
async fn ingest(ctx: TaskContext) {
    ctx.cancelled().await;
}

fn main() {}
