//! TCP relays in front of PostgreSQL and Redis: cut, stall and restore them to play an outage,
//! or read what a PostgreSQL client asks the server to execute, to hold statement budgets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A TCP relay in front of Redis or PostgreSQL that a test can cut, stall and restore, to play
/// an outage: `cut` closes every connection and refuses new ones (a server that is down),
/// `stall` keeps connections open but forwards nothing (a server that hangs), `restore` brings
/// it back on the same port.
pub struct TcpRelay {
    pub port: u16,
    upstream: String,
    /// false: serving; true: cut.
    cut: tokio::sync::watch::Sender<bool>,
    stalled: Arc<AtomicBool>,
    /// When set, the client side is read as PostgreSQL's protocol and every statement the
    /// server is asked to execute is written here.
    statements: Option<Arc<StatementLog>>,
}

/// The relay for `TEST_REDIS_URL`, with the URL that goes through it.
pub struct RedisRelay {
    pub url: String,
    relay: TcpRelay,
}

impl RedisRelay {
    /// Relays a local port to the Redis of `TEST_REDIS_URL`; `None` without it, and for a
    /// cluster (its client talks to every node directly, past any one relay).
    pub async fn start() -> Option<Self> {
        let url = std::env::var("TEST_REDIS_URL").ok()?;
        if url.contains(',') {
            return None;
        }
        let target = url::Url::parse(&url).ok()?;
        let relay = TcpRelay::start(&target).await;
        Some(Self {
            url: relay.url_for(&target),
            relay,
        })
    }

    /// A relay for `TEST_REDIS_URL` that starts cut (Redis is down from the beginning).
    pub async fn start_cut() -> Option<Self> {
        let relay = Self::start().await?;
        relay.cut();
        Some(relay)
    }

    pub fn cut(&self) {
        self.relay.cut();
    }

    pub fn stall(&self) {
        self.relay.stall();
    }

    pub async fn restore(&self) {
        self.relay.restore().await;
    }
}

impl TcpRelay {
    /// Relays a free local port to `target`'s host and port.
    pub async fn start(target: &url::Url) -> Self {
        Self::start_with(target, None).await
    }

    /// A relay to PostgreSQL at `target` that logs every statement executed through it. The
    /// client must not ask for TLS (`sslmode=disable`), or the log stays empty.
    pub async fn start_logging_statements(target: &url::Url) -> (Self, Arc<StatementLog>) {
        let log = Arc::new(StatementLog::default());
        (Self::start_with(target, Some(Arc::clone(&log))).await, log)
    }

    async fn start_with(target: &url::Url, statements: Option<Arc<StatementLog>>) -> Self {
        let upstream = format!(
            "{}:{}",
            target.host_str().unwrap_or("127.0.0.1"),
            target.port_or_known_default().unwrap_or(0)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a relay port");
        let port = listener.local_addr().expect("relay address").port();
        let (cut, _) = tokio::sync::watch::channel(false);
        let relay = Self {
            port,
            upstream,
            cut,
            stalled: Arc::default(),
            statements,
        };
        relay.serve(listener);
        relay
    }

    /// `target` with its port replaced by the relay's.
    pub fn url_for(&self, target: &url::Url) -> String {
        let mut relayed = target.clone();
        relayed
            .set_port(Some(self.port))
            .expect("a URL with a port");
        relayed.to_string()
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        let cut = self.cut.subscribe();
        let stalled = Arc::clone(&self.stalled);
        let statements = self.statements.clone();
        tokio::spawn(async move {
            let mut stop = cut.clone();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { break };
                        let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                            continue;
                        };
                        let mut stop = cut.clone();
                        let stalled = Arc::clone(&stalled);
                        let reader = statements.clone().map(FrontendReader::new);
                        tokio::spawn(async move {
                            let (client_read, client_write) = client.into_split();
                            let (server_read, server_write) = server.into_split();
                            tokio::select! {
                                _ = stop.changed() => {}
                                () = forward(client_read, server_write, Arc::clone(&stalled), reader) => {}
                                () = forward(server_read, client_write, stalled, None) => {}
                            }
                        });
                    }
                }
            }
        });
    }

    /// Closes every connection and stops listening.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Keeps connections open but forwards nothing until `restore`.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Serves again on the same port, forwarding.
    pub async fn restore(&self) {
        self.stalled.store(false, Ordering::SeqCst);
        if *self.cut.borrow() {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
                .await
                .expect("bind the relay port again");
            self.cut.send_replace(false);
            self.serve(listener);
        }
    }
}

/// Copies one direction of a relayed connection, holding the bytes while stalled, and reading
/// them as a PostgreSQL client's when asked to.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
    mut reader: Option<FrontendReader>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        while stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let bytes = buffer.get(..read).unwrap_or_default();
        if let Some(reader) = &mut reader {
            reader.feed(bytes);
        }
        if to.write_all(bytes).await.is_err() {
            return;
        }
    }
}

/// The statements PostgreSQL was asked to execute through a logging relay, in order: simple
/// queries (`BEGIN`, `COMMIT`) and executions of prepared statements alike, each once.
#[derive(Default)]
pub struct StatementLog {
    executed: Mutex<Vec<String>>,
}

impl StatementLog {
    /// Forgets what was logged so far.
    pub fn clear(&self) {
        if let Ok(mut executed) = self.executed.lock() {
            executed.clear();
        }
    }

    /// What was executed since the last `clear`, oldest first.
    pub fn executed(&self) -> Vec<String> {
        self.executed
            .lock()
            .map(|executed| executed.clone())
            .unwrap_or_default()
    }

    fn push(&self, sql: String) {
        if let Ok(mut executed) = self.executed.lock() {
            executed.push(sql);
        }
    }
}

/// Reads one connection's frontend messages (PostgreSQL protocol 3): the untyped start-up
/// messages, then `type byte, length, body`. A `Query` is one execution; so is an `Execute`,
/// whose SQL is found through the portal its `Bind` made from a `Parse`d statement.
struct FrontendReader {
    log: Arc<StatementLog>,
    pending: Vec<u8>,
    started: bool,
    statements: HashMap<String, String>,
    portals: HashMap<String, String>,
}

/// The request codes of the start-up messages that the server answers with one byte and that
/// the real start-up message follows.
const SSL_REQUEST: u32 = 80_877_103;
const GSS_ENCRYPTION_REQUEST: u32 = 80_877_104;

impl FrontendReader {
    fn new(log: Arc<StatementLog>) -> Self {
        Self {
            log,
            pending: Vec::new(),
            started: false,
            statements: HashMap::new(),
            portals: HashMap::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        loop {
            let header = if self.started { 5 } else { 4 };
            let Some(length) = self.pending.get(header - 4..header).map(be_u32) else {
                return;
            };
            let Some(total) = usize::try_from(length)
                .ok()
                .and_then(|length| length.checked_add(header - 4))
            else {
                return;
            };
            if self.pending.len() < total {
                return;
            }
            let message: Vec<u8> = self.pending.drain(..total).collect();
            if self.started {
                let kind = message.first().copied().unwrap_or_default();
                self.read_message(kind, message.get(5..).unwrap_or_default());
            } else {
                let code = message.get(4..8).map(be_u32).unwrap_or_default();
                self.started = code != SSL_REQUEST && code != GSS_ENCRYPTION_REQUEST;
            }
        }
    }

    fn read_message(&mut self, kind: u8, body: &[u8]) {
        let mut fields = body.split(|byte| *byte == 0).map(String::from_utf8_lossy);
        let mut next = || {
            fields
                .next()
                .map(|field| field.into_owned())
                .unwrap_or_default()
        };
        match kind {
            b'Q' => self.log.push(next()),
            b'P' => {
                let (name, sql) = (next(), next());
                self.statements.insert(name, sql);
            }
            b'B' => {
                let (portal, statement) = (next(), next());
                self.portals.insert(portal, statement);
            }
            b'E' => {
                let portal = next();
                let sql = self
                    .portals
                    .get(&portal)
                    .and_then(|statement| self.statements.get(statement))
                    .cloned()
                    .unwrap_or_else(|| format!("<unknown portal {portal:?}>"));
                self.log.push(sql);
            }
            _ => {}
        }
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    bytes.try_into().map(u32::from_be_bytes).unwrap_or_default()
}
