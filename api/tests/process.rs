//! The `membercard` binary as operations run it, spawned as a child process: JSON logs that
//! carry the request id, the admin commands against a running server, and SIGTERM draining
//! (`/readyz` 503 at once, requests still served, WebSockets closed with 1001, exit 0).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test scaffolding: a failed step should fail the test loudly"
)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const BINARY: &str = env!("CARGO_BIN_EXE_membercard");
const PASSWORD: &str = "correct horse battery staple";

/// A server process with its own SQLite file, and every line it printed.
struct Server {
    child: Child,
    address: String,
    lines: Arc<Mutex<Vec<String>>>,
    env: Vec<(String, String)>,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "membercard-process-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

impl Server {
    async fn start(extra: &[(&str, &str)]) -> Self {
        let dir = temp_dir();
        let mut env: Vec<(String, String)> = vec![
            (
                "DATABASE_URL".into(),
                format!("sqlite://{}/membercard.db?mode=rwc", dir.0.display()),
            ),
            ("MEMBERCARD_LISTEN".into(), "127.0.0.1:0".into()),
            ("MEMBERCARD_JOBS_INTERVAL_SECONDS".into(), "0".into()),
            ("MEMBERCARD_LOG_FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "info".into()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        // The admin exists before the server starts: `membercard admin create` reads stdin.
        run_cli(
            &env,
            &["admin", "create", "--username", "boss"],
            Some(PASSWORD),
        )
        .await;

        let mut child = Command::new(BINARY)
            .envs(env.iter().cloned())
            .env_remove("REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().unwrap(), Arc::clone(&lines));
        collect_lines(child.stderr.take().unwrap(), Arc::clone(&lines));
        let mut server = Self {
            child,
            address: String::new(),
            lines,
            env,
            _dir: dir,
        };
        server.address = server.wait_for_address().await;
        server
    }

    /// The address from the start-up line (`… GraphiQL playground at http://ADDR/graphql`).
    async fn wait_for_address(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let found = self.lines.lock().unwrap().iter().find_map(|line| {
                let message = serde_json::from_str::<Value>(line).ok()?["fields"]["message"]
                    .as_str()?
                    .to_owned();
                let start = message.find("http://")?;
                Some(message[start..].trim_end_matches("/graphql").to_owned())
            });
            if let Some(address) = found {
                return address;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start: {:?}", self.lines.lock().unwrap());
    }

    fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    async fn graphql(&self, token: Option<&str>, query: &str, request_id: Option<&str>) -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let echoed = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(
            echoed.is_some_and(|echoed| request_id.is_none_or(|sent| sent == echoed)),
            "the request id is echoed"
        );
        response.json().await.unwrap()
    }

    async fn readyz(&self) -> u16 {
        reqwest::get(format!("{}/readyz", self.address))
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn admin_token(&self) -> String {
        let login = self
            .graphql(
                None,
                &format!(
                    "mutation {{ adminLogin(username: \"boss\", password: \"{PASSWORD}\") {{ token }} }}"
                ),
                Some("login-1"),
            )
            .await;
        login["data"]["adminLogin"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Appends every line `stream` prints to `lines`, in the background.
fn collect_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.lock().unwrap().push(line);
        }
    });
}

/// Runs `membercard ARGS` with `env`, writing `stdin` when given; asserts success.
async fn run_cli(env: &[(String, String)], args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(BINARY)
        .args(args)
        .envs(env.iter().cloned())
        .env_remove("REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
    }
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "membercard {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_admin_commands_work_beside_the_server() {
    let server = Server::start(&[]).await;

    let token = server.admin_token().await;
    let members = "{ members(first: 1) { edges { cursor } } }";
    let before = server.graphql(Some(&token), members, None).await;
    // `membercard admin disable` writes while the server runs: neither fails.
    run_cli(
        &server.env,
        &["admin", "disable", "--username", "boss"],
        None,
    )
    .await;
    let after = server.graphql(Some(&token), members, None).await;

    assert!(before["errors"].is_null(), "{before}");
    assert_eq!(after["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let log = server.log();
    assert!(
        log.iter().all(|line| !line.contains('\u{1b}')),
        "no colour codes when stdout is not a terminal"
    );
    let login_line = log
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "admin logged in")
        .expect("the login was logged");
    assert_eq!(
        login_line["spans"][0]["request_id"], "login-1",
        "{login_line}"
    );
    assert!(
        log.iter()
            .all(|line| serde_json::from_str::<Value>(line).is_ok()),
        "every line is JSON: {log:?}"
    );
}

#[tokio::test]
async fn sigterm_turns_readyz_503_serves_through_the_drain_then_closes_sockets_and_exits() {
    let mut server = Server::start(&[("MEMBERCARD_SHUTDOWN_DRAIN_MS", "2000")]).await;
    let ws_url = format!("{}/graphql/ws", server.address.replacen("http", "ws", 1));
    let mut request = ws_url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": {} })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_string().contains("connection_ack"), "{ack}");
    assert_eq!(server.readyz().await, 200);

    let pid = server.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = server.readyz().await;
    let served = server
        .graphql(None, "{ serverTime { timeZone } }", None)
        .await;
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .expect("the socket was closed");
    let status = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("the process exited")
        .unwrap();

    assert_eq!(draining, 503, "/readyz turns 503 at once");
    assert_eq!(served["data"]["serverTime"]["timeZone"], "Asia/Shanghai");
    assert_eq!(close, Some(1001));
    assert!(status.success(), "{status:?}");
}
