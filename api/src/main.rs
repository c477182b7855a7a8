//! The `membercard` binary: everything it does lives in `api::cli`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::run().await
}
