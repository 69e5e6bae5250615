use supervisor_runtime::{TaskContext, supervised};

#[supervised(restart = "transient")]
fn ingest(ctx: TaskContext) -> Result<(), std::io::Error> {
    let _ = ctx;
    Ok(())
}

fn main() {}
