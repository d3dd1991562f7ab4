//! A faulty network for the sync tests: an HTTP proxy on loopback between the devices and
//! the server that, while its faults are on, drops requests, drops answers (the server did
//! the work, the device never hears of it), sends requests twice, delays them, and replays
//! old requests later (so they reach the server after newer ones: reordering). Its choices
//! come from a seeded generator; timing still varies from run to run.
//!
//! Also a server that can be stopped and started again on the same port and database, to
//! restart it under the devices' feet.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hms_server::AppState;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy did, for the test's report.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub forwarded: AtomicU64,
    pub dropped_requests: AtomicU64,
    pub dropped_answers: AtomicU64,
    pub duplicated: AtomicU64,
    pub replayed_late: AtomicU64,
    pub delayed: AtomicU64,
}

struct ProxyState {
    upstream: String,
    faults_on: AtomicBool,
    rng: Mutex<fastrand::Rng>,
    http: reqwest::Client,
    counts: Arc<FaultCounts>,
}

enum Plan {
    Pass,
    DropRequest,
    DropAnswer,
    Duplicate,
    ReplayLate(u64),
    Delay(u64),
}

pub struct FaultyProxy {
    pub base: String,
    state: Arc<ProxyState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FaultyProxy {
    /// A proxy to `upstream` (`http://host:port`), faults off.
    pub async fn start(upstream: &str, seed: u64) -> FaultyProxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_string(),
            faults_on: AtomicBool::new(false),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            http: super::http(),
            counts: Arc::default(),
        });
        let app = axum::Router::new().fallback(forward).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        FaultyProxy { base: format!("http://{addr}"), state, _stop: stop }
    }

    pub fn set_faults(&self, on: bool) {
        self.state.faults_on.store(on, Ordering::SeqCst);
    }

    /// Re-seeds the fault choices (one seed per property case).
    pub fn reseed(&self, seed: u64) {
        *self.state.rng.lock().unwrap() = fastrand::Rng::with_seed(seed);
    }

    pub fn counts(&self) -> Arc<FaultCounts> {
        self.state.counts.clone()
    }
}

impl ProxyState {
    fn plan(&self) -> Plan {
        if !self.faults_on.load(Ordering::SeqCst) {
            return Plan::Pass;
        }
        let mut rng = self.rng.lock().unwrap();
        match rng.u32(0..100) {
            0..=9 => Plan::DropRequest,
            10..=21 => Plan::DropAnswer,
            22..=31 => Plan::Duplicate,
            32..=41 => Plan::ReplayLate(rng.u64(5..150)),
            42..=61 => Plan::Delay(rng.u64(1..40)),
            _ => Plan::Pass,
        }
    }
}

struct Forward {
    method: reqwest::Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

async fn send(http: &reqwest::Client, f: &Forward) -> Result<Response, String> {
    let mut req = http.request(f.method.clone(), &f.url).body(f.body.clone());
    for name in ["authorization", "content-type"] {
        if let Some(v) = f.headers.get(name) {
            req = req.header(name, v.as_bytes());
        }
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.as_bytes().to_vec());
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    let mut out = Response::builder().status(status);
    if let Some(ct) = content_type {
        out = out.header("content-type", ct);
    }
    out.body(Body::from(body)).map_err(|e| e.to_string())
}

fn unavailable() -> Response {
    let mut r = Response::new(Body::from("proxy: injected fault"));
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    r
}

async fn forward(State(s): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, 64 << 20).await else {
        return unavailable();
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let f = Arc::new(Forward {
        method: reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap(),
        url: format!("{}{path}", s.upstream),
        headers: parts.headers,
        body,
    });
    let counts = &s.counts;
    counts.forwarded.fetch_add(1, Ordering::Relaxed);
    let answer = match s.plan() {
        Plan::Pass => send(&s.http, &f).await,
        Plan::DropRequest => {
            counts.dropped_requests.fetch_add(1, Ordering::Relaxed);
            return unavailable();
        }
        Plan::DropAnswer => {
            counts.dropped_answers.fetch_add(1, Ordering::Relaxed);
            let _ = send(&s.http, &f).await;
            return unavailable();
        }
        Plan::Duplicate => {
            counts.duplicated.fetch_add(1, Ordering::Relaxed);
            let (a, _b) = tokio::join!(send(&s.http, &f), send(&s.http, &f));
            a
        }
        Plan::ReplayLate(ms) => {
            counts.replayed_late.fetch_add(1, Ordering::Relaxed);
            let (http, again) = (s.http.clone(), f.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let _ = send(&http, &again).await;
            });
            send(&s.http, &f).await
        }
        Plan::Delay(ms) => {
            counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            send(&s.http, &f).await
        }
    };
    answer.unwrap_or_else(|_| {
        let mut r = Response::new(Body::from("proxy: upstream unreachable"));
        *r.status_mut() = StatusCode::BAD_GATEWAY;
        r
    })
}

/// hms-server on a fixed loopback port that can be stopped and started again (same port,
/// same database), as an operator restarting it would.
pub struct RestartableServer {
    pub addr: SocketAddr,
    pub state: AppState,
    running: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>)>,
    pub restarts: u64,
}

impl RestartableServer {
    pub async fn start(state: AppState) -> RestartableServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut s = RestartableServer { addr, state, running: None, restarts: 0 };
        s.serve(listener);
        s
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: std::net::TcpListener) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(hms_server::serve(listener, self.state.clone(), None, shutdown));
        self.running = Some((stop, task));
    }

    /// Stops serving (requests in flight finish; new connections are refused).
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }

    /// Stops, then serves again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut tries = 0;
        let listener = loop {
            match std::net::TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
        self.restarts += 1;
    }
}
