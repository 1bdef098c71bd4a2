//! The accept loop: plain TCP or TLS, a cap on the connections served at
//! once, a deadline for slow clients' headers, and hyper serving the router
//! on each connection until a graceful shutdown.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// A connection over the limit gets this long to send the request it is refused.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// How connections are accepted and served.
pub(crate) struct Listening {
    /// Connections served at once; more get 429.
    pub max_connections: usize,
    /// Deadline for a request's headers (and for the TLS handshake).
    pub header_timeout: Duration,
    /// HTTPS when set.
    pub tls: Option<TlsAcceptor>,
    /// Where connection counts go.
    pub metrics: Arc<Metrics>,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish and closes every connection.
pub(crate) async fn serve(listener: TcpListener, app: Router, listening: Listening, mut shutdown: crate::Shutdown) {
    let listening = Arc::new(listening);
    let permits = Arc::new(Semaphore::new(listening.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = Arc::clone(&permits).try_acquire_owned().ok();
        tokio::spawn(serve_connection(stream, app.clone(), permit, Arc::clone(&listening), graceful.watcher()));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Per-connection errors (the peer reset it before we accepted) are not
/// worth a pause; running out of file descriptors is, or the loop would spin.
async fn wait_after_accept_error(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    permit: Option<OwnedSemaphorePermit>,
    listening: Arc<Listening>,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let metrics = &listening.metrics;
    if permit.is_some() {
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    } else {
        metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
    }
    let admitted = permit.is_some();
    match &listening.tls {
        None => serve_http1(stream, app, admitted, &listening, watcher).await,
        Some(acceptor) => match tokio::time::timeout(listening.header_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls)) if tls.get_ref().1.alpn_protocol() == Some(b"h2") => {
                serve_http2(tls, app, admitted, &listening, watcher).await;
            }
            Ok(Ok(tls)) => serve_http1(tls, app, admitted, &listening, watcher).await,
            Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        },
    }
    if permit.is_some() {
        metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
    drop(permit);
}

/// Serves the API on an admitted connection, or answers 429 and closes one
/// over the limit. The header deadline runs from the connection's start and
/// again after every answer, so it also closes idle keep-alive connections.
async fn serve_http1<I>(io: I, app: Router, admitted: bool, listening: &Listening, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    let service = if admitted {
        builder.header_read_timeout(listening.header_timeout);
        app
    } else {
        builder.keep_alive(false).header_read_timeout(listening.header_timeout.min(REFUSAL_TIMEOUT));
        refusal()
    };
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// HTTP/2 (only over TLS, chosen by ALPN): idle connections are found by
/// keep-alive pings rather than a header deadline.
async fn serve_http2<I>(io: I, app: Router, admitted: bool, listening: &Listening, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).keep_alive_interval(Some(listening.header_timeout));
    let service = if admitted { app } else { refusal() };
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Every request on a connection over the limit: 429, then close.
fn refusal() -> Router {
    Router::new().fallback(|| async {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "the server is at its connection limit",
        )
        .into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    })
}
