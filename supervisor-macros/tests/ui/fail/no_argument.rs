use supervisor_runtime::supervised;

#[supervised]
async fn ingest() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
