//! The real `telltale-server` binary as a child process, and Postgres databases and clusters of
//! its own, for tests that kill the server or take its database away.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Longest wait for a started server to answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The workspace root (for `scripts/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A free loopback port (free when this returns; the server binds it moments later).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `telltale-server` child process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Start the binary on `model` and `database_url` with `extra` arguments and wait until
    /// `/health` answers.
    pub async fn start(model: &Path, database_url: &str, extra: &[&str]) -> Self {
        Self::start_logging(model, database_url, extra, "info,sqlx=warn,tower_http=warn").await
    }

    /// [`ServerProcess::start`] with `RUST_LOG` set to `log_filter`.
    pub async fn start_logging(
        model: &Path,
        database_url: &str,
        extra: &[&str],
        log_filter: &str,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new(env!("CARGO_BIN_EXE_telltale-server"))
            .arg("--model")
            .arg(model)
            .args(["--database-url", database_url])
            .args(["--bind", &address.to_string()])
            .args(extra)
            .env("RUST_LOG", log_filter)
            .stdin(Stdio::null())
            .stdout(File::create(&log).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("the telltale-server binary must start");
        let mut server = Self {
            child,
            address,
            log,
            _dir: dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}:\n{}", self.log_text());
            }
            if let Ok(reply) = client.get(self.url("/health")).send().await
                && reply.status() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "the server did not answer /health within {START_DEADLINE:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://ADDRESS{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, and reap the process.
    pub fn kill_hard(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Send the signal `name` (`TERM`, `HUP`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait for the process to exit, at most `limit`; `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.log_text());
        }
    }
}

/// A database of its own in the cluster of `DATABASE_URL` (the server migrates it at start).
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create(prefix: &str) -> Self {
        let admin_url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must name a Postgres cluster the tests may create databases in");
        let name = format!("{prefix}_{}_{}", std::process::id(), rand_suffix());
        let mut conn = PgConnection::connect(&admin_url).await.unwrap();
        // The name is made here from a prefix, the process id and digits.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        }
    }

    /// Drop the database (connections still open are terminated).
    pub async fn drop_now(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin_url).await {
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
            let _ = conn.close().await;
        }
    }
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos % 1_000_000
}

/// `postgres://…/old?params` → `postgres://…/name?params`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A Postgres cluster of its own (scripts/lib/pg-cluster.sh) that can be stopped and started
/// again on the same port; stopped and removed when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub url: String,
}

impl Cluster {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("telltale-faults-pg-")
            .tempdir()
            .unwrap();
        let url = cluster_command("start", dir.path());
        Self { dir, url }
    }

    /// Fast shutdown: open connections are terminated.
    pub fn stop(&self) {
        cluster_command("stop", self.dir.path());
    }

    /// Start again on the same port.
    pub fn start_again(&self) {
        let url = cluster_command("start", self.dir.path());
        assert_eq!(url, self.url, "the cluster must come back on the same port");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join("scripts/lib/pg-cluster.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

fn cluster_command(action: &str, dir: &Path) -> String {
    let output = Command::new("bash")
        .arg(workspace_root().join("scripts/lib/pg-cluster.sh"))
        .arg(action)
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("bash must run scripts/lib/pg-cluster.sh");
    assert!(
        output.status.success(),
        "pg-cluster.sh {action} failed; log: {}",
        dir.join("server.log").display()
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse().ok())?
        })
}

#[test]
fn database_urls_are_rewritten() {
    assert_eq!(
        with_database("postgres://u@h:5/postgres", "x"),
        "postgres://u@h:5/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
        "postgres://u:p@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:5", "x"), "postgres://h:5/x");
}
