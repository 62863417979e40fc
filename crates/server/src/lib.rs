//! `telltale-server`: the HTTP scoring API (DESIGN §4).
//!
//! [`app`] builds the router from an [`AppState`] (tests drive it with `oneshot`); [`run`] loads
//! ONNX Runtime and the model, connects to Postgres, runs migrations and serves until SIGTERM or
//! Ctrl-C, then drains the inference queue and closes the pool.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod features;
pub mod inference;
pub mod routes;
pub mod schema;
pub mod serving;
pub mod state;
pub mod telemetry;
pub mod validate;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{Method, header};
use axum::middleware;
use telltale_scorer::{RuntimeOptions, Scorer};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use config::{Cli, Command, Config};
pub use error::ApiError;
pub use state::{AppState, Limits};

use crate::auth::Auth;
use crate::serving::LoadOptions;

use crate::inference::{BatchConfig, Infer};

/// The full application: API routes, `/openapi.json`, Swagger UI at `/docs`, problem-body
/// fallbacks, body limit, metrics and tracing.
pub fn app(state: AppState) -> Router {
    let (api, mut openapi) = routes::api_router().split_for_parts();
    error::document_problem_media_type(&mut openapi);
    let body_limit = state.limits.body_limit;
    let cors = cors_layer(&state.auth.cors_origins);
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.models.arrivals(),
            inference::track_scoring_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .layer(cors)
        .layer(middleware::from_fn(telemetry::track_http))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str);
                tracing::info_span!(
                    "http",
                    method = %request.method(),
                    route = route.unwrap_or("unmatched"),
                    uri = %request.uri(),
                )
            }),
        )
        .with_state(state)
}

/// CORS for the allowed browser origins; with none, no CORS headers are sent (same-origin only).
fn cors_layer(origins: &[axum::http::HeaderValue]) -> CorsLayer {
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The OpenAPI document the routes declare (what `telltale-server openapi` prints).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = routes::api_router().into_openapi();
    error::document_problem_media_type(&mut openapi);
    openapi
}

/// The OpenAPI document as pretty JSON with a final newline (the committed file's format).
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// Serve `app` on `listener` until `signal` completes, then stop accepting and let in-flight
/// requests finish (for at most `grace`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    signal: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            signal.await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            let _ = fired_tx.send(());
        })
        .into_future();
    let deadline = async move {
        if fired_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Start everything from `config` and serve until a shutdown signal. Any start-up problem is an
/// error whose message names what to fix.
pub async fn run(config: Config) -> anyhow::Result<()> {
    telltale_scorer::init_runtime(config.ort_dylib.clone())?;

    let options = RuntimeOptions {
        provider: config.execution_provider,
        intra_threads: config.intra_threads,
    };
    let batch = BatchConfig {
        max_batch: config.max_batch as usize,
        max_wait: config.max_wait(),
        queue_capacity: config.queue_capacity as usize,
    };
    let auth = access_control(&config)?;
    let dir = config.model.clone();
    let runtime = options.clone();
    let (infer, worker) = tokio::task::spawn_blocking(move || {
        Infer::spawn(
            move || {
                Scorer::open(&dir, &runtime)
                    .with_context(|| format!("cannot load the model in {}", dir.display()))
            },
            batch,
        )
    })
    .await
    .context("the model loading task failed")??;
    tracing::info!(
        model = %infer.manifest().model_id,
        provider = %config.execution_provider,
        max_batch = batch.max_batch,
        max_wait_us = config.max_wait_us,
        "model loaded"
    );

    let started = start_database_and_listener(&config).await;
    let (pool, listener) = match started {
        Ok(parts) => parts,
        Err(err) => {
            infer.close();
            return Err(err);
        }
    };
    let state = AppState::with_worker(
        pool.clone(),
        infer,
        Some(worker),
        &config.model,
        Limits::from(&config),
        LoadOptions {
            runtime: options,
            batch,
        },
    )
    .with_auth(auth);
    let upkeep = spawn_metrics_upkeep(state.metrics.clone());
    let hangups = spawn_reload_on_hangup(state.clone());
    tracing::info!(
        address = %config.bind,
        api_keys = state.auth.key_count(),
        protect_reads = state.auth.protect_reads,
        "listening; Swagger UI at /docs"
    );

    let grace = Duration::from_secs(config.shutdown_timeout_secs);
    let models = state.models.clone();
    let drain = Duration::from_millis(config.shutdown_drain_ms);
    let draining = Arc::clone(&state.draining);
    let signal = async move {
        shutdown_signal().await;
        // Keep accepting for a moment: connections the kernel already accepted (requests sent
        // before the signal) are answered instead of reset; /ready tells balancers to stop.
        draining.store(true, Ordering::Release);
        tracing::info!(
            drain_ms = drain.as_millis() as u64,
            "shutdown requested; draining"
        );
        tokio::time::sleep(drain).await;
    };
    let served = serve(listener, app(state), signal, grace).await;
    hangups.abort();
    models.shut_down().await;
    pool.close().await;
    upkeep.abort();
    tracing::info!("stopped");
    served.context("the HTTP server failed")
}

/// API keys and CORS origins from the configuration (a bad key file or origin stops start-up).
fn access_control(config: &Config) -> anyhow::Result<Auth> {
    let mut auth = match &config.api_key_file {
        Some(path) => Auth::from_key_file(path)?,
        None => Auth::default(),
    };
    auth.protect_reads = config.protect_reads;
    for origin in &config.cors_allow_origin {
        let origin = origin.trim();
        let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
            && !origin.ends_with('/');
        let value = axum::http::HeaderValue::from_str(origin)
            .ok()
            .filter(|_| valid);
        let Some(value) = value else {
            anyhow::bail!(
                "--cors-allow-origin `{origin}` is not an origin; give scheme://host[:port] \
                 without a path, e.g. https://ops.example.com"
            );
        };
        auth.cors_origins.push(value);
    }
    Ok(auth)
}

/// Reload the model (from its directory) on every SIGHUP; failures are logged, the old model
/// keeps serving.
fn spawn_reload_on_hangup(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP; reload with POST /admin/models/reload");
                return;
            };
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the model");
                if let Err(err) = state.models.reload(None).await {
                    tracing::error!(error = %err, "model reload refused; the previous model keeps serving");
                }
            }
        }
        #[cfg(not(unix))]
        drop(state);
    })
}

async fn start_database_and_listener(
    config: &Config,
) -> anyhow::Result<(sqlx::PgPool, TcpListener)> {
    let shown = config::redact_url(&config.database_url);
    let pool = db::connect(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| format!("cannot connect to the database at {shown}"))?;
    db::migrate(&pool)
        .await
        .context("database migrations failed")?;
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    Ok((pool, listener))
}

fn spawn_metrics_upkeep(
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// An error and its causes on one line, skipping causes whose text the line already contains.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
