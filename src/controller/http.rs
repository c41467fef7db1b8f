//! The controller's small HTTP endpoint: `/metrics` (Prometheus),
//! `/healthz` (the process runs) and `/readyz` (it reached the Kubernetes
//! API and started). Plain HTTP/1.0 GETs, enough for probes and scrapers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Metrics;

/// What the endpoint reports.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

/// The status line, content type and body of the answer to `GET path`.
pub fn respond(health: &Health, method: &str, path: &str) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != "GET" && method != "HEAD" {
        return ("405 Method Not Allowed", TEXT, "only GET\n".into());
    }
    match path.split('?').next().unwrap_or_default() {
        "/metrics" => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            health.metrics.encode(),
        ),
        "/healthz" => ("200 OK", TEXT, "ok\n".into()),
        "/readyz" if health.ready.load(Ordering::Relaxed) => ("200 OK", TEXT, "ready\n".into()),
        "/readyz" => ("503 Service Unavailable", TEXT, "starting\n".into()),
        _ => ("404 Not Found", TEXT, "not found\n".into()),
    }
}

/// Binds `address`.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// Serves connections from `listener` forever.
pub async fn serve(listener: TcpListener, health: Health) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: do not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let health = health.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &health)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, health: &Health) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&request);
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or_default();
    let path = words.next().unwrap_or_default();
    let (status, content_type, body) = respond(health, method, path);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(ready: bool) -> Health {
        Health {
            metrics: Arc::new(Metrics::new()),
            ready: Arc::new(AtomicBool::new(ready)),
        }
    }

    #[test]
    fn probes_and_metrics_answer() {
        assert_eq!(respond(&health(false), "GET", "/healthz").0, "200 OK");
        assert_eq!(
            respond(&health(false), "GET", "/readyz").0,
            "503 Service Unavailable"
        );
        assert_eq!(respond(&health(true), "GET", "/readyz").0, "200 OK");
        let (status, _, body) = respond(&health(true), "GET", "/metrics");
        assert_eq!(status, "200 OK");
        assert!(body.contains("jetsync_leader"), "{body}");
        assert_eq!(respond(&health(true), "GET", "/nope").0, "404 Not Found");
        assert_eq!(
            respond(&health(true), "POST", "/healthz").0,
            "405 Method Not Allowed"
        );
    }

    #[tokio::test]
    async fn the_endpoint_serves_http_on_a_socket() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, health(true)));

        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        server.abort();

        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("ready\n"), "{answer}");
    }
}
