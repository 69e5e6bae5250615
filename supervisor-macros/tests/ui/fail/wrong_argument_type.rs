use supervisor_runtime::supervised;

#[supervised]
async fn ingest(batch: usize) -> Result<(), std::io::Error> {
    let _ = batch;
    Ok(())
}

fn main() {}
