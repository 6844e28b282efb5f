//! Real processes for fault tests: nats-server nodes (one, or a three-node cluster with
//! routes on loopback ports) and the service binaries (`cargo build --bins` puts them
//! next to the test executable's directory), each started with its own settings and
//! killable with real signals (SIGKILL, SIGSTOP, SIGCONT). The harness's [`Stack`] is
//! attached to them, so every client-side helper (users, sessions, HTTP) works as usual.
//!
//! Everything here is this test's own: its NATS servers, its subject prefix, its
//! processes. The shared PostgreSQL is reached directly or through a [`TcpProxy`] the test
//! can "restart"; the shared NATS server is never used.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use uuid::Uuid;

use crate::proxy::TcpProxy;
use crate::{Stack, TEST_JWT_SECRET, test_database_url, with_database_name};

/// `<logs>-<name>.log`
fn log_path(logs: &Path, name: &str) -> PathBuf {
    PathBuf::from(format!("{}-{name}.log", logs.display()))
}

/// A free loopback port (bound and released; good enough on a test machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The directory holding the service binaries: `target/<profile>/`, the parent of the
/// test executable's `deps/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let deps = exe.parent().expect("deps dir");
    deps.parent().unwrap_or(deps).to_path_buf()
}

fn service_binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: fault tests run the real binaries, build them first with `cargo build --bins` (scripts/test and scripts/faults do)",
        path.display()
    );
    path
}

/// `nats-server` from PATH, else where Debian puts it.
pub fn nats_server_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nats-server"))
                .find(|p| p.exists())
        })
        .unwrap_or_default();
    on_path
        .or_else(|| {
            ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .expect("nats-server not found (scripts/test installs it)")
}

/// A child process with its settings and a log file; killed when dropped.
pub struct Proc {
    /// Name in logs and messages (`chat-1`, `nats-0`, ...).
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// stdout and stderr of every incarnation, appended.
    pub log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    fn new(
        name: &str,
        program: PathBuf,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Self {
        let mut proc = Self {
            name: name.to_string(),
            program,
            args,
            env,
            log,
            child: None,
        };
        proc.spawn();
        proc
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("process log");
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.name));
        self.child = Some(child);
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`, ...) with kill(1).
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("process running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// Starts it again with the same settings (after [`Proc::kill`]).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} still runs", self.name);
        self.spawn();
    }

    /// Whether the process has exited on its own (a crash).
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One nats-server.
pub struct NatsNode {
    /// Client port.
    pub port: u16,
    /// Monitoring port (`/routez`, `/healthz`).
    pub monitor_port: u16,
    /// The process.
    pub proc: Proc,
}

impl NatsNode {
    /// `nats://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts it again on the same ports and store, and waits until it serves.
    pub async fn restart(&mut self) {
        self.proc.start();
        assert!(
            wait_for_port(self.port, &mut self.proc).await,
            "{} did not restart on {}",
            self.proc.name,
            self.port
        );
    }
}

/// Starts `nodes` nats-servers; more than one form a cluster (full mesh of routes).
/// Their logs are `<logs>-nats-<n>.log`. A free port can be taken by another test between
/// [`free_port`] and the server's bind: then the whole set starts again on new ports.
pub async fn start_nats(logs: &Path, nodes: usize) -> Vec<NatsNode> {
    for _ in 0..3 {
        if let Some(started) = try_start_nats(logs, nodes).await {
            return started;
        }
    }
    panic!(
        "nats-server did not start (see {}-nats-*.log)",
        logs.display()
    );
}

async fn try_start_nats(logs: &Path, nodes: usize) -> Option<Vec<NatsNode>> {
    let ports: Vec<(u16, u16, u16)> = (0..nodes)
        .map(|_| (free_port(), free_port(), free_port()))
        .collect();
    let routes = ports
        .iter()
        .map(|(_, cluster, _)| format!("nats://127.0.0.1:{cluster}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut started = Vec::new();
    for (i, (port, cluster, monitor)) in ports.iter().enumerate() {
        let name = format!("nats-{i}");
        let mut args = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-m".into(),
            monitor.to_string(),
            "-n".into(),
            name.clone(),
        ];
        if nodes > 1 {
            args.extend([
                "--cluster_name".into(),
                "tether".into(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{cluster}"),
                "--routes".into(),
                routes.clone(),
            ]);
        }
        let proc = Proc::new(
            &name,
            nats_server_binary(),
            args,
            Vec::new(),
            log_path(logs, &name),
        );
        started.push(NatsNode {
            port: *port,
            monitor_port: *monitor,
            proc,
        });
    }
    for node in &mut started {
        if !wait_for_port(node.port, &mut node.proc).await {
            return None;
        }
    }
    if nodes > 1 {
        wait_for_routes(&started).await;
    }
    Some(started)
}

/// Until `proc` listens on `port`; false when it exited (its port was taken) first.
async fn wait_for_port(port: u16, proc: &mut Proc) -> bool {
    // Generous: the machine is shared with other engineers' builds.
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        if proc.exited() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} does not listen on {port}", proc.name);
}

/// Until every node has a route to every other.
pub async fn wait_for_routes(nodes: &[NatsNode]) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        let mut full = true;
        for node in nodes {
            let routes = http
                .get(format!("http://127.0.0.1:{}/routez", node.monitor_port))
                .send()
                .await
                .ok();
            let count = match routes {
                Some(response) => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["num_routes"].as_u64())
                    .unwrap_or(0),
                None => 0,
            };
            full &= count as usize >= nodes.len() - 1;
        }
        if full {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the NATS cluster did not form its routes");
}

/// What a [`ProcStack`] runs.
#[derive(Debug, Clone)]
pub struct ProcStackOptions {
    /// nats-servers (1, or 3 for a cluster).
    pub nats_nodes: usize,
    /// Session service processes.
    pub sessions: usize,
    /// Chat service processes.
    pub chats: usize,
    /// ws-edge processes (each on its own port; clients go round them).
    pub edges: usize,
    /// Put a [`TcpProxy`] between the services and PostgreSQL.
    pub db_proxy: bool,
    /// `TETHER_REQUEST_TIMEOUT_MS` of the edges.
    pub request_timeout_ms: u64,
    /// More settings for every process (NATS servers excepted).
    pub env: Vec<(String, String)>,
}

impl Default for ProcStackOptions {
    fn default() -> Self {
        Self {
            nats_nodes: 1,
            sessions: 2,
            chats: 2,
            edges: 1,
            db_proxy: false,
            request_timeout_ms: 1000,
            env: Vec::new(),
        }
    }
}

/// A stack of real processes on NATS servers of its own.
pub struct ProcStack {
    /// The harness attached to the first edge (users, sessions, HTTP, database pool).
    pub stack: Stack,
    /// The NATS nodes.
    pub nats: Vec<NatsNode>,
    /// ws-edge processes.
    pub edges: Vec<Proc>,
    /// `ws://127.0.0.1:<port>` of each edge, in `edges` order.
    pub edge_urls: Vec<String>,
    /// Session service processes.
    pub sessions: Vec<Proc>,
    /// Chat service processes.
    pub chats: Vec<Proc>,
    /// The proxy in front of PostgreSQL, when asked for.
    pub db_proxy: Option<TcpProxy>,
    /// Admin (readiness) port of each process by name.
    admin: Vec<(String, u16)>,
    /// Every log of this stack is `<logs>-<process>.log`.
    logs: PathBuf,
}

/// `host:port` of a URL such as `postgres://user@host:port/db`.
fn authority(url: &str) -> (&str, &str, &str) {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let host_start = scheme_end + rest.find('@').map_or(0, |i| i + 1);
    let host_end = url[host_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| host_start + i);
    (
        &url[..host_start],
        &url[host_start..host_end],
        &url[host_end..],
    )
}

impl ProcStack {
    /// Starts NATS, the edges and the services, and waits until each is ready.
    pub async fn start(options: ProcStackOptions) -> ProcStack {
        let id = Uuid::new_v4().simple().to_string();
        let prefix = format!("t{id}");
        // Logs go where scripts/test scans the suite's logs for private data, else to
        // the temporary directory.
        let dir = std::env::var_os("TETHER_TEST_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&dir).expect("log dir");
        let logs = dir.join(format!("faults-{}", &id[..12]));
        let nats = start_nats(&logs, options.nats_nodes).await;

        // A database of its own, migrated by the services at start-up: the shared test
        // database may hold migrations of other branches (engineers test in parallel).
        let database_url =
            with_database_name(&test_database_url(), &format!("tether_t_{}", &id[..12]));
        tether_platform::db::ensure_database(&database_url)
            .await
            .expect("test database");
        let (before, upstream, after) = authority(&database_url);
        let db_proxy = if options.db_proxy {
            Some(TcpProxy::start(upstream).await)
        } else {
            None
        };
        let service_db_url = match &db_proxy {
            Some(proxy) => format!("{before}{}{after}", proxy.addr),
            None => database_url.clone(),
        };

        let common = |node: usize| {
            vec![
                ("TETHER_NATS_URL".to_string(), nats[node % nats.len()].url()),
                ("TETHER_SUBJECT_PREFIX".into(), prefix.clone()),
                ("TETHER_LOG_FORMAT".into(), "json".into()),
                ("RUST_LOG".into(), "info,sqlx=warn".into()),
            ]
        };
        let mut admin = Vec::new();
        let spawn = |name: String, binary: &str, node: usize, extra: Vec<(String, String)>| {
            let mut env = common(node);
            env.extend(options.env.iter().cloned());
            env.extend(extra);
            Proc::new(
                &name,
                service_binary(binary),
                Vec::new(),
                env,
                log_path(&logs, &name),
            )
        };
        let mut edges = Vec::new();
        let mut edge_urls = Vec::new();
        for i in 0..options.edges {
            let port = free_port();
            admin.push((format!("edge-{i}"), port));
            edge_urls.push(format!("ws://127.0.0.1:{port}"));
            edges.push(spawn(
                format!("edge-{i}"),
                "tether-ws-edge",
                i,
                vec![
                    ("TETHER_HTTP_ADDR".into(), format!("127.0.0.1:{port}")),
                    ("TETHER_JWT_SECRET".into(), TEST_JWT_SECRET.into()),
                    (
                        "TETHER_REQUEST_TIMEOUT_MS".into(),
                        options.request_timeout_ms.to_string(),
                    ),
                    // The simulated apps send a receipt per message received on top of
                    // their own messages: far above the per-socket default.
                    ("TETHER_WS_RATE".into(), "2000".into()),
                    ("TETHER_WS_BURST".into(), "4000".into()),
                    ("TETHER_WS_USER_RATE".into(), "4000".into()),
                ],
            ));
        }
        let mut db_service = |name: String, binary: &str, admin_env: &str, node: usize| {
            let port = free_port();
            admin.push((name.clone(), port));
            spawn(
                name,
                binary,
                node,
                vec![
                    ("DATABASE_URL".into(), service_db_url.clone()),
                    ("TETHER_DB_MAX_CONNECTIONS".into(), "4".into()),
                    (admin_env.into(), format!("127.0.0.1:{port}")),
                ],
            )
        };
        // Spread over the nodes so that a cluster carries every kind of traffic between
        // nodes: the edge on node 0, the two instances of a service on two others.
        let sessions = (0..options.sessions)
            .map(|i| {
                db_service(
                    format!("session-{i}"),
                    "tether-session",
                    "TETHER_SESSION_ADMIN_ADDR",
                    i + 1,
                )
            })
            .collect();
        let chats = (0..options.chats)
            .map(|i| {
                db_service(
                    format!("chat-{i}"),
                    "tether-chat",
                    "TETHER_CHAT_ADMIN_ADDR",
                    i + 2,
                )
            })
            .collect();
        let stack = Stack::attach(
            &format!("http://127.0.0.1:{}", admin[0].1),
            &prefix,
            &nats[0].url(),
            &database_url,
            true,
        )
        .await;
        let started = ProcStack {
            stack,
            nats,
            edges,
            edge_urls,
            sessions,
            chats,
            db_proxy,
            admin,
            logs,
        };
        for (name, _) in started.admin.clone() {
            started.wait_ready(&name).await;
        }
        started
    }

    /// Waits until the process `name` answers `/readyz` with 200.
    pub async fn wait_ready(&self, name: &str) {
        let port = self
            .admin
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .expect("known process");
        let http = reqwest::Client::new();
        // Up to 30 s: start-up includes migrations, on a machine shared with builds.
        for _ in 0..1200 {
            if let Ok(response) = http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "{name} did not become ready (log: {})",
            log_path(&self.logs, name).display()
        );
    }

    /// Kills every process and drops the stack's database.
    pub async fn stop(mut self) {
        for proc in self
            .edges
            .iter_mut()
            .chain(self.sessions.iter_mut())
            .chain(self.chats.iter_mut())
        {
            proc.kill();
        }
        let stack = self.stack;
        stack.stop().await;
    }

    /// Every process log of this stack.
    pub fn logs(&self) -> Vec<PathBuf> {
        let prefix = self.logs.display().to_string();
        let dir = self.logs.parent().unwrap_or_else(|| Path::new("."));
        let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.display().to_string().starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        logs.sort();
        logs
    }

    /// Fails when a service log holds a panic, or a service exited on its own.
    pub fn assert_no_panics(&mut self) {
        for proc in self
            .edges
            .iter_mut()
            .chain(self.sessions.iter_mut())
            .chain(self.chats.iter_mut())
        {
            assert!(!proc.exited(), "{} exited on its own", proc.name);
        }
        for log in self.logs() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                !text.contains("panicked at"),
                "a panic in {}",
                log.display()
            );
        }
    }
}
