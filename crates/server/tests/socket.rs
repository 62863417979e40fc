//! One test over a real socket on port 0: requests are answered, and a shutdown signal lets
//! in-flight requests finish before the server stops accepting connections.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;

use common::*;
use serde_json::json;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let state = telltale_server::AppState::new(
        unreachable_pool(),
        start_infer(batch_config()).0,
        model_dir(),
        LIMITS,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Count requests as they reach the router, to signal only once all are in flight.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let app = telltale_server::app(state).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(request)
        },
    ));
    let server = tokio::spawn(telltale_server::serve(
        listener,
        app,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(30),
    ));

    let client = reqwest::Client::new();
    let url = format!("http://{address}/score");
    let body = json!({"events": events_json(24, end_time())});
    let health = client
        .get(format!("http://{address}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // 16 scoring requests in flight (17 with /health), then the signal: every one is answered.
    let requests: Vec<_> = (0..16)
        .map(|_| {
            let request = client.post(&url).json(&body).send();
            tokio::spawn(async move { request.await.map(|r| r.status().as_u16()) })
        })
        .collect();
    while seen.load(Ordering::SeqCst) < 17 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop_tx.send(()).unwrap();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap(), 200);
    }
    server.await.unwrap().unwrap();

    // Stopped: new connections are refused.
    let after = reqwest::Client::new()
        .get(format!("http://{address}/health"))
        .send()
        .await;
    assert!(after.is_err(), "the server still answered after shutdown");
}
