//! The controller's small HTTP endpoint: `/metrics` (Prometheus),
//! `/healthz` (the process runs) and `/readyz` (it reached the Kubernetes
//! API and started), served by hyper: enough for probes and scrapers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::metrics::Metrics;

/// What the endpoint reports.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

/// The status, content type and body of the answer to `method path`.
pub fn respond(health: &Health, method: &Method, path: &str) -> (StatusCode, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n".into());
    }
    match path {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            health.metrics.encode(),
        ),
        "/healthz" => (StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" if health.ready.load(Ordering::Relaxed) => {
            (StatusCode::OK, TEXT, "ready\n".into())
        }
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, TEXT, "starting\n".into()),
        _ => (StatusCode::NOT_FOUND, TEXT, "not found\n".into()),
    }
}

/// Binds `address`.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// Serves connections from `listener` forever, one request per connection,
/// each connection given at most ten seconds.
pub async fn serve(listener: TcpListener, health: Health) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: do not spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = answer(&health, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(10), connection).await;
        });
    }
}

/// The response to `request`; hyper leaves the body out for `HEAD`.
fn answer(health: &Health, request: &Request<Incoming>) -> Response<String> {
    let (status, content_type, body) = respond(health, request.method(), request.uri().path());
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    fn health(ready: bool) -> Health {
        Health {
            metrics: Arc::new(Metrics::new()),
            ready: Arc::new(AtomicBool::new(ready)),
        }
    }

    #[test]
    fn probes_and_metrics_answer() {
        let get = &Method::GET;
        assert_eq!(respond(&health(false), get, "/healthz").0, StatusCode::OK);
        assert_eq!(
            respond(&health(false), get, "/readyz").0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(respond(&health(true), get, "/readyz").0, StatusCode::OK);
        let (status, _, body) = respond(&health(true), get, "/metrics");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("jetsync_leader"), "{body}");
        assert_eq!(
            respond(&health(true), get, "/nope").0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            respond(&health(true), &Method::POST, "/healthz").0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn the_endpoint_serves_http_on_a_socket() {
        let (address, server) = serving(health(true)).await;

        let answer = exchange(address, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        server.abort();

        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("content-length: 6\r\n"), "{answer}");
        assert!(
            answer.contains("content-type: text/plain; charset=utf-8\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("ready\n"), "{answer}");
    }

    /// The endpoint on a free loopback port, and the task serving it.
    async fn serving(health: Health) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let address = listener.local_addr().unwrap();
        (address, tokio::spawn(serve(listener, health)))
    }

    /// Sends `request` on a new connection and reads the answer to its end.
    async fn exchange(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn head_answers_without_a_body_and_other_paths_and_methods_are_refused() {
        let (address, server) = serving(health(false)).await;

        let head = exchange(address, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let starting = exchange(address, b"GET /readyz?verbose HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let missing = exchange(address, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let post = exchange(
            address,
            b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        server.abort();

        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        assert!(
            starting.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{starting}"
        );
        assert!(starting.ends_with("starting\n"), "{starting}");
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        assert!(
            post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{post}"
        );
    }
}
