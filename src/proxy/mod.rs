//! The hot path: listeners, connection handling and the per-request pipeline.
//!
//! Each worker is one OS thread running a current-thread tokio runtime with its
//! own `SO_REUSEPORT` listener per venue and its own upstream connection pool,
//! so a request is read, checked, forwarded and answered without crossing
//! threads (a cross-core wake-up costs more than the whole check on small VMs).
//! Shared state (the engine) is lock-per-account. The optional proxy-URL
//! listener (`proxy_url.rs`) only routes: it hands each request to the same
//! worker's pipeline of the venue its target URL names.

mod chunked;
pub mod pipeline;
pub mod proxy_url;
pub mod server;
pub mod upstream;

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::{Limits, Mode};
use crate::rules::{RejectReason, Rejection};
use crate::state::Engine;
use crate::telemetry;
use crate::venue::Venue;

pub use pipeline::{Forward, WorkerVenue, DECISION_HEADER, RULE_HEADER};
pub use upstream::{InProcessVenue, Pool, UpstreamTarget};

/// What every worker shares.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub limits: Limits,
    pub mode: Mode,
    shutting_down: AtomicBool,
    connections: AtomicUsize,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    pub fn new(engine: Arc<Engine>, limits: Limits, mode: Mode) -> Arc<Shared> {
        let (shutdown_tx, _) = tokio::sync::watch::channel(false);
        Arc::new(Shared {
            engine,
            limits,
            mode,
            shutting_down: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            shutdown_tx,
        })
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Stops accepting; open connections finish their in-flight request and close.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _ = self.shutdown_tx.send(true);
    }

    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }
}

/// A venue's listener as configured for all workers.
#[derive(Clone)]
pub struct VenueListener {
    pub name: &'static str,
    pub venue: Arc<dyn Venue>,
    pub addr: SocketAddr,
    pub paper: Option<Arc<dyn InProcessVenue>>,
    pub upstream: Option<Arc<UpstreamTarget>>,
    /// The configured exchange origin (also in paper mode): what a proxy URL
    /// must name to reach this venue.
    pub origin: Option<crate::config::Upstream>,
}

/// What a listener serves: one venue, or ccxt's proxy-URL mode over all of them.
#[derive(Clone)]
enum Front {
    Venue(Rc<WorkerVenue>),
    ProxyUrl(Rc<proxy_url::Router>),
}

impl Front {
    fn name(&self) -> &'static str {
        match self {
            Front::Venue(v) => v.name,
            Front::ProxyUrl(_) => proxy_url::LISTENER_NAME,
        }
    }

    /// The 503 sent when connections are over the cap, in the listener's format.
    fn overload_answer(&self) -> server::Answer {
        let r = Rejection::new(RejectReason::Overloaded, "too many client connections");
        let mut answer = server::Handler::refuse(self, &r);
        // The proxy-URL listener's own refusals are 403s (not an exchange it
        // fronts); this one is about riskgate's capacity.
        answer.status = 503;
        answer
    }
}

impl server::Handler for Front {
    async fn handle(&self, req: &server::Request) -> server::Answer {
        match self {
            Front::Venue(v) => v.handle(req, req.target()).await,
            Front::ProxyUrl(r) => r.route(req).await,
        }
    }

    fn refuse(&self, r: &Rejection) -> server::Answer {
        match self {
            Front::Venue(v) => v.reject(r),
            Front::ProxyUrl(_) => proxy_url::refuse(r),
        }
    }
}

/// Binds a listening socket with `SO_REUSEPORT`, so every worker can bind the same address.
pub fn bind_reuseport(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Runs one worker's accept loops until shutdown, then drains its connections.
pub async fn run_worker(
    shared: Arc<Shared>,
    listeners: Vec<(VenueListener, std::net::TcpListener)>,
    proxy_url_listener: Option<std::net::TcpListener>,
) {
    let mut loops = Vec::new();
    let mut routes = Vec::new();
    for (cfg, std_listener) in listeners {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, venue = cfg.name, "cannot register listener");
                continue;
            }
        };
        let forward = match (&cfg.paper, &cfg.upstream) {
            (Some(p), _) => Forward::Paper(p.clone()),
            (None, Some(u)) => Forward::Upstream(Pool::new(u.clone())),
            (None, None) => {
                tracing::error!(venue = cfg.name, "venue has neither paper nor upstream");
                continue;
            }
        };
        let venue = Rc::new(WorkerVenue {
            name: cfg.name,
            tag: crate::state::VenueTag::new(cfg.name, cfg.venue.kind().exchange()),
            venue: cfg.venue.clone(),
            forward,
            shared: shared.clone(),
            metrics: telemetry::VenueMetrics::new(cfg.name),
        });
        if let Some(origin) = &cfg.origin {
            routes.push((origin.clone(), venue.clone()));
        }
        loops.push(tokio::task::spawn_local(accept_loop(
            shared.clone(),
            Front::Venue(venue),
            listener,
        )));
    }
    if let Some(std_listener) = proxy_url_listener {
        match TcpListener::from_std(std_listener) {
            Ok(listener) => loops.push(tokio::task::spawn_local(accept_loop(
                shared.clone(),
                Front::ProxyUrl(Rc::new(proxy_url::Router::new(routes))),
                listener,
            ))),
            Err(e) => tracing::error!(error = %e, "cannot register the proxy-URL listener"),
        }
    }
    for l in loops {
        let _ = l.await;
    }
    // The accept loops have stopped. Connection tasks are detached, and they die
    // with this worker's runtime when this function returns: wait for them to
    // finish their in-flight requests (each is bounded by the grace period).
    let deadline = tokio::time::Instant::now()
        + shared.limits.shutdown_grace
        + std::time::Duration::from_secs(1);
    while shared.open_connections() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn accept_loop(shared: Arc<Shared>, front: Front, listener: TcpListener) {
    let mut shutdown = shared.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= shared.limits.max_connections {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            telemetry::connection_rejected(front.name());
            let answer = front.overload_answer();
            tokio::task::spawn_local(
                async move { server::refuse_connection(stream, &answer).await },
            );
            continue;
        }
        let v = front.clone();
        let s = shared.clone();
        tokio::task::spawn_local(async move {
            server::serve(&v, &s, stream).await;
            s.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
}
