//! Test harness: starts the whole Tether stack in-process (ws-edge plus every service,
//! several instances each) against the real NATS and PostgreSQL, and talks to it the way
//! a client does: HTTP and WebSockets on a real port.
//!
//! - [`Stack::shared`] is one stack per test process (its own subject prefix), shared by
//!   every test that needs no special settings. Tests create their own users, so they run
//!   in parallel and on a database that already holds data.
//! - [`Stack::start`] starts a stack with custom settings ([`StackOptions`]); with
//!   `own_database` it gets a fresh database, dropped by [`Stack::stop`].

pub mod app;
pub mod chat;
pub mod client;
pub mod events;
pub mod flows;
pub mod geo;
pub mod history;
pub mod hot_statements;
pub mod logs;
pub mod plans;
pub mod procs;
pub mod proxy;
pub mod push;
pub mod timing;

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use tether_platform::config::AdminListener;
use tether_platform::{CommonConfig, DbConfig, ServiceConfig};
use tether_proto::subjects::Subjects;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use client::WsClient;
pub use flows::OpenSession;
pub use tether_proto::Role;

/// The JWT secret every test stack uses.
pub const TEST_JWT_SECRET: &str = "tether-test-secret-0123456789abcdef";

/// A service of the stack, for stopping and starting instances mid-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// ws-edge.
    Edge,
    /// Session service.
    Session,
    /// Chat service.
    Chat,
    /// Location service.
    Location,
    /// Cleanup service.
    Cleanup,
}

/// Settings for [`Stack::start`]. Fields are the services' own configs: change what the
/// test needs before starting. Prefix, database, NATS URL and listen addresses are set by
/// the harness.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// ws-edge settings.
    pub edge: tether_ws_edge::Config,
    /// Session service settings.
    pub session: tether_session::Config,
    /// Chat service settings.
    pub chat: tether_chat::Config,
    /// Location service settings.
    pub location: tether_location::Config,
    /// Cleanup service settings.
    pub cleanup: tether_cleanup::Config,
    /// Instances of each service (ws-edge always 1).
    pub session_instances: usize,
    /// See `session_instances`.
    pub chat_instances: usize,
    /// See `session_instances`.
    pub location_instances: usize,
    /// See `session_instances`.
    pub cleanup_instances: usize,
    /// Give this stack a fresh database of its own (dropped by [`Stack::stop`]); needed
    /// by tests of database-wide jobs (ticks, cleanup) so other tests' rows stay out.
    pub own_database: bool,
    /// NATS URL for ws-edge only (e.g. through a proxy the test can cut); the services
    /// and the harness use the real server.
    pub edge_nats_url: Option<String>,
}

/// The location service's settings for tests: the environment's, with the v1.2
/// plausibility check off (`TETHER_MAX_SPEED_MPS=0`), because most tests teleport their
/// parties between fixes, as the contract lets a test client do. Tests of the check set
/// `location.max_speed_mps` themselves.
fn test_location_config() -> tether_location::Config {
    let mut location = tether_location::Config::from_env();
    location.max_speed_mps = 0.0;
    location
}

impl Default for StackOptions {
    fn default() -> Self {
        let mut edge = tether_ws_edge::Config::from_env();
        edge.jwt_secret = TEST_JWT_SECRET.to_string();
        edge.allowed_origins = vec!["https://app.tether.test".to_string()];
        Self {
            edge,
            session: tether_session::Config::from_env(),
            chat: tether_chat::Config::from_env(),
            location: test_location_config(),
            cleanup: tether_cleanup::Config::from_env(),
            // Two of each service by default: every test also proves that a second
            // instance changes nothing.
            session_instances: 2,
            chat_instances: 2,
            location_instances: 2,
            cleanup_instances: 2,
            own_database: false,
            edge_nats_url: None,
        }
    }
}

impl StackOptions {
    /// The edge and `session_instances` session services, nothing else (no chat,
    /// location or cleanup): for tests of the edge itself.
    pub fn sessions_only(session_instances: usize) -> Self {
        Self {
            session_instances,
            chat_instances: 0,
            location_instances: 0,
            cleanup_instances: 0,
            ..Self::default()
        }
    }

    /// Turns push on: the chat and session services enqueue events for `url`, the cleanup
    /// service sends them signed with `secret`. Take `own_database` with it: senders claim
    /// every due event of their database, whichever stack enqueued it.
    pub fn with_push(mut self, url: &str, secret: &str) -> Self {
        self.chat.push.webhook_url = url.to_string();
        self.session.push.webhook_url = url.to_string();
        self.cleanup.push.switch.webhook_url = url.to_string();
        self.cleanup.push.secret = secret.to_string().into();
        self
    }
}

struct Instance {
    service: Service,
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

/// A running stack.
pub struct Stack {
    /// `http://127.0.0.1:<port>`
    pub http_base: String,
    /// `ws://127.0.0.1:<port>`
    pub ws_base: String,
    /// Subjects of this stack.
    pub subjects: Subjects,
    /// A NATS client for tests (triggering jobs, watching subjects).
    pub nats: async_nats::Client,
    /// A pool on the stack's database, for asserting rows.
    pub db: PgPool,
    /// The options it was started with.
    pub options: StackOptions,
    database_url: String,
    own_database: bool,
    http: reqwest::Client,
    instances: tokio::sync::Mutex<Vec<Instance>>,
}

/// A chat instance on a runtime of its own, so that [`Killable::kill`] can stop it the way
/// SIGKILL stops a process: every task dropped at once, mid-statement or mid-publish,
/// nothing drained, its NATS and PostgreSQL connections simply closed.
pub struct Killable {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    /// Runs `service` on a one-thread runtime of its own and waits for what it sends on
    /// its `ready` channel once built (the caller's handle on it, e.g. its address).
    async fn spawn<T, F, Fut>(service: F) -> (Killable, T)
    where
        T: Send + 'static,
        F: FnOnce(tokio::sync::oneshot::Sender<T>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (ready, built) = tokio::sync::oneshot::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("killable runtime");
            runtime.spawn(service(ready));
            let _ = stopped.recv();
            runtime.shutdown_background();
        });
        let value = built.await.expect("killable instance started");
        let killable = Killable {
            stop,
            thread: Some(thread),
        };
        (killable, value)
    }

    /// Drops the instance's runtime with everything on it.
    pub fn kill(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

impl Stack {
    /// Starts one more chat instance that the test can kill ([`Killable`]).
    pub async fn start_killable_chat(&self) -> Killable {
        self.start_killable_chat_with(self.options.chat.clone())
            .await
    }

    /// [`Stack::start_killable_chat`] with settings of its own (e.g. failpoints).
    pub async fn start_killable_chat_with(&self, config: tether_chat::Config) -> Killable {
        let (killable, ()) = Killable::spawn(|ready| async move {
            let app = tether_chat::App::build(config)
                .await
                .expect("killable chat build");
            let _ = ready.send(());
            let _ = app.run(CancellationToken::new()).await;
        })
        .await;
        let _ = self.nats.flush().await;
        killable
    }

    /// Starts one more ws-edge on this stack's subjects that the test can kill
    /// ([`Killable`]) or stop with `shutdown`; returns it with its `ws://` base address and
    /// a signal sent once a stop has finished (when a process would exit).
    pub async fn start_killable_edge(
        &self,
        shutdown: CancellationToken,
    ) -> (Killable, String, tokio::sync::oneshot::Receiver<()>) {
        let mut config = self.options.edge.clone();
        config.http_addr = "127.0.0.1:0".parse().expect("addr");
        let (ran, stopped) = tokio::sync::oneshot::channel();
        let (killable, addr) = Killable::spawn(|ready| async move {
            let app = tether_ws_edge::App::build(config)
                .await
                .expect("killable edge build");
            let _ = ready.send(app.http_addr());
            let _ = app.run(shutdown).await;
            let _ = ran.send(());
        })
        .await;
        (killable, format!("ws://{addr}"), stopped)
    }

    /// Waits ([`timing::eventually`]) until presence (`user_presence`, kept by the location
    /// service from the edges' events, which arrive asynchronously) has `user_id` in `role`
    /// online or not; a user never seen counts as offline.
    pub async fn wait_presence(&self, user_id: Uuid, role: Role, online: bool) {
        timing::eventually(format!("presence online={online}"), async || {
            let stored: Option<bool> = sqlx::query_scalar(
                "SELECT online FROM user_presence WHERE user_id = $1 AND role = $2",
            )
            .bind(user_id)
            .bind(role.as_str())
            .fetch_optional(&self.db)
            .await
            .expect("presence");
            stored.unwrap_or(false) == online
        })
        .await;
    }

    /// Connects `user` as `role` to the ws-edge at `ws_base`.
    pub async fn connect_to(&self, ws_base: &str, user: &TestUser, role: Role) -> WsClient {
        WsClient::connect(
            &format!("{ws_base}{}?token={}", ws_path(role), user.token),
            &[],
        )
        .await
        .unwrap_or_else(|status| panic!("websocket refused with {status}"))
    }
}

/// The database URL tests use: `TETHER_TEST_DATABASE_URL`, else `DATABASE_URL` (or the
/// default) with the database renamed `tether_test`, so tests never write into the
/// database `scripts/up` serves.
pub fn test_database_url() -> String {
    if let Ok(url) = std::env::var("TETHER_TEST_DATABASE_URL") {
        return url;
    }
    with_database_name(&DbConfig::from_env().database_url, "tether_test")
}

pub(crate) fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl Stack {
    /// The process-wide default stack, started on first use on its own runtime thread
    /// (so it outlives each test's runtime).
    pub async fn shared() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        if let Some(stack) = STACK.get() {
            return stack;
        }
        tokio::task::spawn_blocking(|| {
            let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
            if STACK.get().is_none() {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("test runtime");
                    runtime.block_on(async move {
                        let stack = Stack::start(StackOptions::default()).await;
                        let _ = tx.send(stack);
                        // Keep the runtime (and the services on it) alive for the process.
                        std::future::pending::<()>().await;
                    });
                });
                let stack = rx.recv().expect("shared stack failed to start");
                let _ = STACK.set(stack);
            }
        })
        .await
        .expect("shared stack start");
        STACK.get().expect("shared stack")
    }

    /// Starts a stack with `options` on the current runtime.
    pub async fn start(mut options: StackOptions) -> Stack {
        logs::install();
        let prefix = format!("t{}", Uuid::new_v4().simple());
        let nats_url = CommonConfig::from_env().nats_url;
        let mut database_url = test_database_url();
        if options.own_database {
            database_url =
                with_database_name(&database_url, &format!("tether_t_{}", &prefix[1..13]));
        }
        let common = CommonConfig {
            nats_url: nats_url.clone(),
            subject_prefix: prefix.clone(),
            ..CommonConfig::from_env()
        };
        let db = DbConfig {
            database_url: database_url.clone(),
            db_max_connections: 8,
        };
        let local = "127.0.0.1:0".parse().expect("addr");
        options.edge.common = CommonConfig {
            nats_url: options
                .edge_nats_url
                .clone()
                .unwrap_or_else(|| nats_url.clone()),
            ..common.clone()
        };
        options.edge.http_addr = local;
        // Every service: this stack's NATS and prefix and database, admin on any free port;
        // the rest of its common settings (concurrency, admission) as the test set them.
        fn place<A: AdminListener>(
            service: &mut ServiceConfig<A>,
            common: &CommonConfig,
            db: &DbConfig,
            admin_addr: std::net::SocketAddr,
        ) {
            service.common.nats_url = common.nats_url.clone();
            service.common.subject_prefix = common.subject_prefix.clone();
            service.db = db.clone();
            service.admin_addr = admin_addr;
        }
        place(&mut options.session.service, &common, &db, local);
        place(&mut options.chat.service, &common, &db, local);
        place(&mut options.location.service, &common, &db, local);
        place(&mut options.cleanup.service, &common, &db, local);

        tether_platform::db::ensure_database(&database_url)
            .await
            .expect("test database");
        // Migrate once through the services' own path, then assert through a pool that
        // never keeps a connection: tests on the shared stack each run their own runtime,
        // and a pooled connection dies with the runtime that opened it.
        tether_platform::db::connect(&db)
            .await
            .expect("test database pool")
            .close()
            .await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(db.db_max_connections)
            .after_release(|_, _| Box::pin(async { Ok(false) }))
            .connect_lazy(&database_url)
            .expect("test database pool");
        let nats = tether_platform::nats::connect(&nats_url, "tether-tests")
            .await
            .expect("nats");

        let edge = tether_ws_edge::App::build(options.edge.clone())
            .await
            .expect("ws-edge build");
        let addr = edge.http_addr();
        let mut stack = Stack {
            http_base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            subjects: Subjects::new(prefix),
            nats,
            db: pool,
            options: options.clone(),
            database_url,
            own_database: options.own_database,
            // No idle pooling: tests on the shared stack each run their own runtime, and a
            // pooled connection dies with the runtime that opened it ("dispatch gone").
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("http client"),
            instances: tokio::sync::Mutex::new(Vec::new()),
        };
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(edge.run(shutdown.clone()));
        stack.instances.get_mut().push(Instance {
            service: Service::Edge,
            shutdown,
            handle,
        });
        for (service, count) in [
            (Service::Session, options.session_instances),
            (Service::Chat, options.chat_instances),
            (Service::Location, options.location_instances),
            (Service::Cleanup, options.cleanup_instances),
        ] {
            stack.start_service(service, count).await;
        }
        stack.wait_ready().await;
        stack
    }

    /// A stack whose services run elsewhere (real processes, see [`procs`]): the harness's
    /// helpers talk to the edge at `http_base`, assert through the test database, and
    /// watch `prefix`'s subjects on `nats_url`. [`Stack::stop`] stops nothing of theirs;
    /// with `own_database` it drops `database_url`.
    pub async fn attach(
        http_base: &str,
        prefix: &str,
        nats_url: &str,
        database_url: &str,
        own_database: bool,
    ) -> Stack {
        logs::install();
        let database_url = database_url.to_string();
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .after_release(|_, _| Box::pin(async { Ok(false) }))
            .connect_lazy(&database_url)
            .expect("test database pool");
        let nats = tether_platform::nats::connect(nats_url, "tether-tests")
            .await
            .expect("nats");
        Stack {
            http_base: http_base.to_string(),
            ws_base: http_base.replacen("http://", "ws://", 1),
            subjects: Subjects::new(prefix),
            nats,
            db,
            // The processes of an attached stack are the caller's; it runs no location
            // service (so no presence), which `open_session` must know.
            options: StackOptions {
                location_instances: 0,
                ..StackOptions::default()
            },
            database_url,
            own_database,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("http client"),
            instances: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// Starts `count` more instances of `service`.
    pub async fn start_service(&self, service: Service, count: usize) {
        for _ in 0..count {
            let shutdown = CancellationToken::new();
            let token = shutdown.clone();
            let handle = match service {
                Service::Edge => panic!("the edge is started once per stack"),
                Service::Session => {
                    let app = tether_session::App::build(self.options.session.clone())
                        .await
                        .expect("session build");
                    tokio::spawn(app.run(token))
                }
                Service::Chat => {
                    let app = tether_chat::App::build(self.options.chat.clone())
                        .await
                        .expect("chat build");
                    tokio::spawn(app.run(token))
                }
                Service::Location => {
                    let app = tether_location::App::build(self.options.location.clone())
                        .await
                        .expect("location build");
                    tokio::spawn(app.run(token))
                }
                Service::Cleanup => {
                    let app = tether_cleanup::App::build(self.options.cleanup.clone())
                        .await
                        .expect("cleanup build");
                    tokio::spawn(app.run(token))
                }
            };
            self.instances.lock().await.push(Instance {
                service,
                shutdown,
                handle,
            });
        }
        // Subscriptions are sent before `build` returns; a flush makes sure the server
        // has them before the test publishes.
        let _ = self.nats.flush().await;
    }

    /// Stops every instance of `service` (graceful: in-flight work finishes).
    pub async fn stop_service(&self, service: Service) {
        let mut instances = self.instances.lock().await;
        let (stopping, keep): (Vec<_>, Vec<_>) =
            instances.drain(..).partition(|i| i.service == service);
        *instances = keep;
        drop(instances);
        for instance in stopping {
            instance.shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(10), instance.handle).await;
        }
    }

    /// Stops the oldest running instance of `service` (graceful), leaving the others
    /// serving; returns how many instances of it still run.
    pub async fn stop_one_instance(&self, service: Service) -> usize {
        let mut instances = self.instances.lock().await;
        let Some(index) = instances.iter().position(|i| i.service == service) else {
            return 0;
        };
        let stopping = instances.remove(index);
        let left = instances.iter().filter(|i| i.service == service).count();
        drop(instances);
        stopping.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), stopping.handle).await;
        left
    }

    /// Stops everything; drops the database when the stack had its own.
    pub async fn stop(self) {
        for service in [
            Service::Edge,
            Service::Session,
            Service::Chat,
            Service::Location,
            Service::Cleanup,
        ] {
            self.stop_service(service).await;
        }
        self.db.close().await;
        if self.own_database {
            use sqlx::migrate::MigrateDatabase;
            let _ = sqlx::Postgres::force_drop_database(&self.database_url).await;
        }
    }

    async fn wait_ready(&self) {
        timing::eventually("the stack's /readyz answering 2xx", async || {
            let response = self
                .http
                .get(format!("{}/readyz", self.http_base))
                .send()
                .await;
            response.is_ok_and(|response| response.status().is_success())
        })
        .await;
    }

    /// A new user with a valid token (`name` claim set).
    pub fn user(&self) -> TestUser {
        let id = Uuid::new_v4();
        let name = format!("User {}", &id.simple().to_string()[..8]);
        let token = mint_token(id, Some(&name), 3600);
        TestUser { id, name, token }
    }

    /// Sends an HTTP request as `user` (None: no token). Returns status and JSON body
    /// (Null when the body is not JSON).
    pub async fn http(
        &self,
        user: Option<&TestUser>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{}", self.http_base, path));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("http request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("http body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `GET` as `user`.
    pub async fn get(&self, user: &TestUser, path: &str) -> (u16, Value) {
        self.http(Some(user), "GET", path, None).await
    }

    /// `PUT` of the JSON `body` as `user`.
    pub async fn put(&self, user: &TestUser, path: &str, body: Value) -> (u16, Value) {
        self.http(Some(user), "PUT", path, Some(body)).await
    }

    /// The raw HTTP client, for unusual requests.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// What the edge's `/metrics` shows now (the process-wide recorder: every service of an
    /// in-process stack).
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.http_base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Opens a WebSocket as `user` on `role`'s endpoint; panics unless it connects.
    pub async fn connect(&self, user: &TestUser, role: Role) -> WsClient {
        self.connect_to(&self.ws_base, user, role).await
    }

    /// The one row `sql` selects with `$1 = key`, as PostgreSQL has it now (for asserting
    /// what was stored).
    pub async fn row<T, K>(&self, sql: &'static str, key: K) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
        K: 'static + for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        sqlx::query_as(sql)
            .bind(key)
            .fetch_one(&self.db)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    /// Chat messages stored for `session_id`, as PostgreSQL has them now.
    pub async fn count_messages(&self, session_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM chat_messages WHERE session_id = $1")
            .bind(session_id)
            .fetch_one(&self.db)
            .await
            .expect("count chat messages")
    }

    /// Runs a cleanup job now over NATS and returns its JSON answer.
    pub async fn run_cleanup_job(&self, job: &str) -> Value {
        let reply = self
            .nats
            .request(self.subjects.cleanup_trigger(job), "{}".into())
            .await
            .expect("cleanup trigger");
        serde_json::from_slice(&reply.payload).expect("cleanup reply json")
    }
}

/// `/ws/work/<role>/`
pub fn ws_path(role: Role) -> &'static str {
    match role {
        Role::Seeker => "/ws/work/seeker/",
        Role::Provider => "/ws/work/provider/",
    }
}

/// A user the test made up.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id (`sub`).
    pub id: Uuid,
    /// The `name` claim.
    pub name: String,
    /// A valid HS256 token.
    pub token: String,
}

/// Mints an HS256 token with the test secret; `ttl_s` may be negative (expired).
pub fn mint_token(user_id: Uuid, name: Option<&str>, ttl_s: i64) -> String {
    let mut claims = serde_json::json!({
        "sub": user_id.to_string(),
        "exp": chrono::Utc::now().timestamp() + ttl_s,
    });
    if let Some(name) = name {
        claims["name"] = Value::String(name.to_string());
    }
    sign_claims(&claims, TEST_JWT_SECRET)
}

/// Signs arbitrary claims with HS256 and `secret`.
pub fn sign_claims(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}
