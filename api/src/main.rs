//! The `membercard` binary: everything it does lives in `api::cli`.

/// mimalloc instead of the system allocator: a GraphQL request allocates many small, short-lived
/// values across worker threads, which glibc's malloc serves at a measurable cost (the benchmark's
/// profiles showed about an eighth of the server's time in it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::cli::run().await
}
