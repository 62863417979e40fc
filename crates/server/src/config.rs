//! Server configuration: one clap struct, every option also readable from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};
use telltale_scorer::ExecutionProvider;

/// Command line of the `telltale-server` binary. Without a subcommand it serves, so
/// `telltale-server --model DIR --database-url URL` works as is.
#[derive(Debug, Parser)]
#[command(
    name = "telltale-server",
    version,
    about = "Telltale scoring API: anomaly scores for sensor windows over ONNX Runtime"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What the binary does.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up; boxing buys nothing
pub enum Command {
    /// Serve the API (the default when no subcommand is given).
    Serve(Config),
    /// Print the OpenAPI document (JSON) to stdout; `openapi/openapi.json` is this output.
    Openapi,
    /// Make a new random API key: prints the key (give it to the client) and the line to append
    /// to the `--api-key-file` (the file holds only the key's hash).
    NewApiKey {
        /// Who the key is for (written before the hash in the key file).
        #[arg(long, default_value = "client")]
        name: String,
    },
    /// Read an existing API key from stdin and print its `--api-key-file` line.
    HashApiKey {
        /// Who the key is for (written before the hash in the key file).
        #[arg(long, default_value = "client")]
        name: String,
    },
}

impl Cli {
    /// Parse `args` (program name first), serving when no subcommand is named.
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = args.get(1).and_then(|a| a.to_str());
        let named = matches!(
            first,
            Some(
                "serve"
                    | "openapi"
                    | "new-api-key"
                    | "hash-api-key"
                    | "help"
                    | "-h"
                    | "--help"
                    | "-V"
                    | "--version"
            )
        );
        if !named {
            args.insert(args.len().min(1), "serve".into());
        }
        Self::try_parse_from(args)
    }

    /// Parse the process arguments; usage errors print and exit with status 2.
    pub fn parse_args() -> Self {
        Self::try_parse_args(std::env::args_os()).unwrap_or_else(|err| err.exit())
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `telltale-server` needs to serve. `Debug` hides the database password.
#[derive(Clone, Args)]
pub struct Config {
    /// Model directory written by `telltale-trainer train` (manifest.json + ONNX graphs).
    #[arg(long, env = "TELLTALE_MODEL")]
    pub model: PathBuf,

    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "TELLTALE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// ONNX Runtime execution provider: `cpu` or `cuda` (no silent fallback to CPU).
    #[arg(long, env = "TELLTALE_EXECUTION_PROVIDER", default_value = "cpu")]
    pub execution_provider: ExecutionProvider,

    /// ONNX Runtime shared library (default: `ORT_DYLIB_PATH`, then the project's `.venv` wheel).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_dylib: Option<PathBuf>,

    /// Intra-op threads per ONNX Runtime session (0 = ONNX Runtime's default: one per core).
    /// ONNX Runtime's idle workers spin and take CPU from request handling; on a 2-core machine
    /// one thread served more windows at every load tried. Raise it on machines with many cores.
    #[arg(long, env = "TELLTALE_INTRA_THREADS", default_value_t = 1)]
    pub intra_threads: usize,

    /// Most windows scored in one ONNX Runtime call.
    #[arg(long, env = "TELLTALE_MAX_BATCH", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_batch: u32,

    /// Longest time (µs) the batcher waits for more requests after the first one of a batch.
    #[arg(long, env = "TELLTALE_MAX_WAIT_US", default_value_t = 1000)]
    pub max_wait_us: u64,

    /// Windows that may wait for inference at once; more are answered 429 at once.
    #[arg(long, env = "TELLTALE_QUEUE_CAPACITY", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_capacity: u32,

    /// Most events accepted in one window (stored windows: ten times this).
    #[arg(long, env = "TELLTALE_MAX_EVENTS", default_value_t = 10_000)]
    pub max_events: usize,

    /// Fewest events inside a window for it to be scored.
    #[arg(long, env = "TELLTALE_MIN_EVENTS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub min_events: u32,

    /// Most windows in one `POST /score/batch` request.
    #[arg(long, env = "TELLTALE_MAX_BATCH_WINDOWS", default_value_t = 256)]
    pub max_batch_windows: usize,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "TELLTALE_BODY_LIMIT", default_value_t = 16 * 1024 * 1024)]
    pub body_limit: usize,

    /// Most Postgres connections in the pool.
    #[arg(long, env = "TELLTALE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Seconds to let in-flight requests finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "TELLTALE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// Milliseconds the server keeps accepting connections after SIGTERM / Ctrl-C, with `/ready`
    /// answering 503, before it stops accepting and lets in-flight requests finish: requests sent
    /// just before the signal (even ones not yet accepted) are answered, not reset.
    #[arg(long, env = "TELLTALE_SHUTDOWN_DRAIN_MS", default_value_t = 500)]
    pub shutdown_drain_ms: u64,

    /// Log format.
    #[arg(long, env = "TELLTALE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// File of API key hashes, one `NAME sha256:HEX` per line (`new-api-key` makes them). When
    /// set, writes and `/admin/…` need `Authorization: Bearer KEY` or `X-API-Key: KEY`; without
    /// it `/admin/…` is refused.
    #[arg(long, env = "TELLTALE_API_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,

    /// With `--api-key-file`: also require a key to score and read (all but /health, /ready,
    /// /docs and /openapi.json).
    #[arg(long, env = "TELLTALE_PROTECT_READS", requires = "api_key_file")]
    pub protect_reads: bool,

    /// Browser origins allowed to call the API (CORS), e.g. `https://ops.example.com`;
    /// repeat or separate with commas. None by default: browsers may only call same-origin.
    #[arg(long, env = "TELLTALE_CORS_ALLOW_ORIGIN", value_delimiter = ',')]
    pub cors_allow_origin: Vec<String>,
}

impl Config {
    /// Batcher wait after the first request of a batch.
    pub fn max_wait(&self) -> Duration {
        Duration::from_micros(self.max_wait_us)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("execution_provider", &self.execution_provider)
            .field("ort_dylib", &self.ort_dylib)
            .field("intra_threads", &self.intra_threads)
            .field("max_batch", &self.max_batch)
            .field("max_wait_us", &self.max_wait_us)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_events", &self.max_events)
            .field("min_events", &self.min_events)
            .field("max_batch_windows", &self.max_batch_windows)
            .field("body_limit", &self.body_limit)
            .field("db_max_connections", &self.db_max_connections)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("shutdown_drain_ms", &self.shutdown_drain_ms)
            .field("log_format", &self.log_format)
            .field("api_key_file", &self.api_key_file)
            .field("protect_reads", &self.protect_reads)
            .field("cors_allow_origin", &self.cors_allow_origin)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<Config, clap::Error> {
        let all = std::iter::once("telltale-server").chain(args.iter().copied());
        match Cli::try_parse_args(all)?.command {
            Command::Serve(config) => Ok(config),
            _ => panic!("expected serve"),
        }
    }

    #[test]
    fn serving_is_the_default_and_hides_the_database_password() {
        let config = serve(&[
            "--model",
            "m",
            "--database-url",
            "postgres://me:hunter2@db:5432/telltale",
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://me:***@db:5432/telltale"),
            "{shown}"
        );
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        let explicit = serve(&["serve", "--model", "m", "--database-url", "postgres://x/y"]);
        assert_eq!(explicit.unwrap().model, PathBuf::from("m"));
    }

    #[test]
    fn openapi_subcommand_needs_no_serving_options() {
        let cli = Cli::try_parse_args(["telltale-server", "openapi"]).unwrap();
        assert!(matches!(cli.command, Command::Openapi));
    }

    #[test]
    fn serving_without_a_model_is_a_usage_error() {
        // Only meaningful when the environment does not provide the model.
        if std::env::var_os("TELLTALE_MODEL").is_some() {
            return;
        }
        let err = serve(&["--database-url", "postgres://x/y"]).unwrap_err();
        assert!(err.to_string().contains("--model"), "{err}");
    }

    #[test]
    fn unknown_execution_provider_is_rejected() {
        let err = serve(&[
            "--model",
            "m",
            "--database-url",
            "postgres://x/y",
            "--execution-provider",
            "tpu",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("tpu"), "{err}");
    }

    #[test]
    fn urls_without_passwords_are_unchanged() {
        assert_eq!(redact_url("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(
            redact_url("postgres:///x?host=/tmp"),
            "postgres:///x?host=/tmp"
        );
    }
}
