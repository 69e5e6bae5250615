use supervisor_runtime::{TaskContext, supervised};

#[supervised]
async fn ingest(ctx: TaskContext, batch: usize, name: &'static str) -> Result<(), std::io::Error> {
    let _ = (ctx, batch, name);
    Ok(())
}

fn main() {}
