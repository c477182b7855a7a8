//! The membercard server, built inside the test package so integration tests can spawn it as
//! a child process (`CARGO_BIN_EXE_membercard-under-test`) to kill or restart it.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::run().await
}
