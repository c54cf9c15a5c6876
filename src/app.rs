//! Wiring: config → rules, state, market, venues → worker threads, admin and
//! background tasks. `start` returns a handle that knows the bound addresses
//! (tests bind port 0) and shuts everything down in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::admin::{self, AdminState};
use crate::clock::SharedClock;
use crate::config::{Config, Mode, SourceErrors};
use crate::market::history::History;
use crate::market::sim::SharedMarket;
use crate::market::PriceBook;
use crate::paper;
use crate::proxy::{self, InProcessVenue, Shared, UpstreamTarget, VenueListener};
use crate::risk::task::RiskTask;
use crate::rules::{file as rule_file, RuleSet};
use crate::state::{Engine, EngineConfig, JournalError};
use crate::telemetry;
use crate::venue::{self, Action, Observation, RequestView};

/// Live and shadow mode: how often the venues' instrument lists (exchange
/// filters) are fetched again once loaded; they change rarely (listings, tick
/// size changes announced days ahead).
const FILTERS_REFRESH: Duration = Duration::from_secs(30 * 60);
/// Until a venue's instrument list has loaded, retry this often.
const FILTERS_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("rules:\n{0}")]
    Rules(SourceErrors),
    #[error("state: {0}")]
    State(#[from] JournalError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// A running gateway.
pub struct RunningApp {
    /// Bound address of each venue listener, by venue name.
    pub venue_addrs: Vec<(String, SocketAddr)>,
    pub admin_addr: SocketAddr,
    pub engine: Arc<Engine>,
    pub shared: Arc<Shared>,
    /// Ask for a rule reload (what SIGHUP and `POST /v1/rules/reload` do).
    pub reload: admin::ReloadRequest,
    workers: Vec<JoinHandle<()>>,
    background: Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>,
    risk_thread: Option<JoinHandle<()>>,
}

impl RunningApp {
    pub fn venue_addr(&self, name: &str) -> Option<SocketAddr> {
        self.venue_addrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
    }

    /// Stops accepting, lets in-flight requests finish (bounded by the grace
    /// period), then stops the admin listener and background tasks.
    pub fn shutdown(mut self) {
        self.shared.begin_shutdown();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        if let Some((stop, handle)) = self.background.take() {
            let _ = stop.send(());
            let _ = handle.join();
        }
        self.engine.risk_wake.stop();
        if let Some(t) = self.risk_thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts riskgate. `metrics` is the installed Prometheus handle (None in tests
/// that do not install a global recorder).
pub fn start(
    config: Config,
    clock: SharedClock,
    metrics: Option<PrometheusHandle>,
) -> Result<RunningApp, StartError> {
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let rules = rule_file::load_dir(&config.rules_dir, &config.account_aliases(), &config.env, 1)
        .map_err(StartError::Rules)?;
    telemetry::rules_reload(true, rules.version);
    let rules: Arc<ArcSwap<RuleSet>> = Arc::new(ArcSwap::from_pointee(rules));
    let prices = Arc::new(PriceBook::new());
    let engine = Arc::new(Engine::open(
        EngineConfig {
            venues: config
                .venues
                .iter()
                .map(|v| crate::state::VenueTag::new(&v.name, v.kind.exchange()))
                .collect(),
            state_dir: config.state_dir.clone(),
            durability: config.durability,
            max_accounts: config.max_accounts,
            known_accounts: config.accounts.clone(),
        },
        clock.clone(),
        rules.clone(),
        prices,
    )?);
    let shared = Shared::new(engine.clone(), config.limits.clone(), config.mode);
    // Paper mode: one simulated market feeds every paper venue and the reference prices.
    let market = (config.mode == Mode::Paper).then(|| paper::market_for(&config, &clock));
    let history = Arc::new(History::new());
    if let Some(dir) = &config.risk.history_dir {
        let (loaded, errors) = history.load_csv_dir(dir);
        for e in errors {
            tracing::error!("price history: {e}");
        }
        tracing::info!(assets = loaded.len(), dir = %dir.display(), "price history loaded from CSV");
    }
    // With 3 or more CPUs the risk thread gets one of its own (see RiskCpu);
    // the workers keep off it only when they are fewer than the CPUs, so no
    // worker loses a core to a thread that is idle most of the time.
    let allowed_cpus = crate::risk::task::allowed_cpus();
    let risk_cpu = config.risk.cpu.choose(&allowed_cpus);
    let worker_cpus: Option<Arc<Vec<usize>>> = match (config.risk.cpu, risk_cpu) {
        (crate::risk::task::RiskCpu::Auto, Some(c)) if config.workers < allowed_cpus.len() => Some(
            Arc::new(allowed_cpus.iter().copied().filter(|&x| x != c).collect()),
        ),
        _ => None,
    };
    if let Some(c) = risk_cpu {
        tracing::info!(
            cpu = c,
            workers_keep_off = worker_cpus.is_some(),
            "risk thread pinned"
        );
    }
    let risk_thread = spawn_risk_task(
        engine.clone(),
        history.clone(),
        config.risk.clone(),
        market.clone(),
        risk_cpu,
    )?;

    // Listeners: the first bind fixes the port (0 in tests); other workers reuse it.
    let mut venue_listeners = Vec::new();
    let mut venue_addrs = Vec::new();
    let mut upstream_targets = Vec::new();
    let mut filter_targets = Vec::new();
    for v in &config.venues {
        let adapter = venue::adapter(v.kind, config.allow_withdrawals);
        let paper_venue = match &market {
            Some(m) => Some(
                paper::venue_with_limits(
                    v.kind,
                    m.clone(),
                    clock.clone(),
                    config.paper_starting_balances.clone(),
                    config.max_accounts,
                )
                .ok_or_else(|| {
                    StartError::Other(format!("no paper venue for {}", v.kind.as_str()))
                })?,
            ),
            None => None,
        };
        if let Some(paper) = &paper_venue {
            load_paper_filters(&engine, &v.name, adapter.as_ref(), paper.as_ref());
        }
        let upstream = match (&v.upstream, config.mode) {
            (Some(u), Mode::Live | Mode::Shadow) => Some(Arc::new(
                UpstreamTarget::new(
                    u.clone(),
                    config.limits.upstream_connect_timeout,
                    config.limits.upstream_response_timeout,
                )
                .map_err(StartError::Other)?,
            )),
            _ => None,
        };
        if let Some(u) = &upstream {
            upstream_targets.push((adapter.clone(), u.clone()));
            filter_targets.push((
                Arc::<str>::from(v.name.as_str()),
                adapter.clone(),
                u.clone(),
            ));
        }
        let first = proxy::bind_reuseport(v.listen).map_err(|source| StartError::Bind {
            addr: v.listen,
            source,
        })?;
        let addr = first.local_addr().map_err(|source| StartError::Bind {
            addr: v.listen,
            source,
        })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, venue = v.name, "listening on a non-loopback address: anyone who can reach it can send orders through riskgate");
        }
        // Venue names live for the whole process; leaking a handful of short strings
        // lets metric labels be `&'static str` on the order path.
        let name: &'static str = Box::leak(v.name.clone().into_boxed_str());
        venue_addrs.push((v.name.clone(), addr));
        venue_listeners.push((
            VenueListener {
                name,
                venue: adapter,
                addr,
                paper: paper_venue,
                upstream,
                origin: v.upstream.clone(),
            },
            first,
        ));
    }

    let mut per_worker: Vec<Vec<(VenueListener, std::net::TcpListener)>> =
        (0..config.workers).map(|_| Vec::new()).collect();
    for (vl, first) in venue_listeners {
        for (i, slot) in per_worker.iter_mut().enumerate() {
            let l = if i == 0 {
                first.try_clone().map_err(|source| StartError::Bind {
                    addr: vl.addr,
                    source,
                })?
            } else {
                proxy::bind_reuseport(vl.addr).map_err(|source| StartError::Bind {
                    addr: vl.addr,
                    source,
                })?
            };
            slot.push((vl.clone(), l));
        }
    }
    // ccxt's proxy-URL mode: one more listener per worker, routed by target host.
    let mut proxy_url_per_worker: Vec<Option<std::net::TcpListener>> =
        (0..config.workers).map(|_| None).collect();
    if let Some(listen) = config.proxy_url_listen {
        let bind_err = |source| StartError::Bind {
            addr: listen,
            source,
        };
        let first = proxy::bind_reuseport(listen).map_err(bind_err)?;
        let addr = first.local_addr().map_err(bind_err)?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "proxy-URL listener on a non-loopback address: anyone who can reach it can send orders through riskgate");
        }
        for (i, slot) in proxy_url_per_worker.iter_mut().enumerate() {
            *slot = Some(if i == 0 {
                first.try_clone().map_err(bind_err)?
            } else {
                proxy::bind_reuseport(addr).map_err(bind_err)?
            });
        }
        venue_addrs.push((proxy::proxy_url::LISTENER_NAME.to_string(), addr));
    }
    let mut workers = Vec::new();
    for (i, (listeners, proxy_url_listener)) in
        per_worker.into_iter().zip(proxy_url_per_worker).enumerate()
    {
        let shared = shared.clone();
        let cpus = worker_cpus.clone();
        let handle = spawn_runtime_thread(format!("riskgate-worker-{i}"), move || {
            if let Some(cpus) = &cpus {
                crate::risk::task::pin_this_thread(cpus);
            }
            proxy::run_worker(shared, listeners, proxy_url_listener)
        })?;
        workers.push(handle);
    }

    // Admin listener and background tasks share one thread.
    let admin_listener =
        std::net::TcpListener::bind(config.admin_listen).map_err(|source| StartError::Bind {
            addr: config.admin_listen,
            source,
        })?;
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            addr: config.admin_listen,
            source,
        })?;
    admin_listener
        .set_nonblocking(true)
        .map_err(|e| StartError::Other(e.to_string()))?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(8);
    let admin_state = AdminState {
        engine: engine.clone(),
        shared: shared.clone(),
        rules: rules.clone(),
        metrics,
        token: config.admin_token.clone(),
        mode: config.mode,
        venues: config
            .venues
            .iter()
            .map(|v| (v.name.clone(), v.kind.as_str().to_string()))
            .collect(),
        reload: reload_tx.clone(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bg_config = config.clone();
    let bg_engine = engine.clone();
    let bg_history = history.clone();
    let background = spawn_runtime_thread("riskgate-admin".into(), move || async move {
        let listener = match tokio::net::TcpListener::from_std(admin_listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot register admin listener");
                return;
            }
        };
        tokio::task::spawn_local(reloader(bg_config.clone(), rules.clone(), reload_rx));
        if let Some(market) = market {
            tokio::task::spawn_local(tick_market(
                market,
                bg_engine.clone(),
                bg_config.sim_tick_ms,
            ));
        }
        for (adapter, target) in &upstream_targets {
            tokio::task::spawn_local(poll_history(
                adapter.clone(),
                target.clone(),
                bg_engine.clone(),
                bg_history.clone(),
                bg_config.risk.clone(),
            ));
        }
        for (name, adapter, target) in filter_targets {
            tokio::task::spawn_local(poll_filters(name, adapter, target, bg_engine.clone()));
        }
        for (adapter, target) in upstream_targets {
            tokio::task::spawn_local(poll_prices(
                adapter,
                target,
                bg_engine.clone(),
                bg_config.poll_interval,
            ));
        }
        let server =
            axum::serve(listener, admin::router(admin_state)).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "admin server failed");
        }
    })?;

    for (name, addr) in &venue_addrs {
        tracing::info!(venue = %name, %addr, mode = config.mode.as_str(), workers = config.workers, "listening");
    }
    tracing::info!(%admin_addr, "admin listening");
    Ok(RunningApp {
        venue_addrs,
        admin_addr,
        engine,
        shared,
        reload: reload_tx,
        workers,
        background: Some((stop_tx, background)),
        risk_thread: Some(risk_thread),
    })
}

/// Reloads the rules on request (admin API, SIGHUP) and when files in the rules
/// directory change. A bad rule set is refused and the old one stays.
async fn reloader(
    config: Config,
    rules: Arc<ArcSwap<RuleSet>>,
    mut requests: tokio::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<Result<u64, String>>>,
) {
    let (fs_tx, mut fs_rx) = tokio::sync::mpsc::channel::<()>(1);
    let watcher = {
        use notify::Watcher;
        let tx = fs_tx.clone();
        notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if ev.is_ok_and(|e| !e.kind.is_access()) {
                let _ = tx.try_send(());
            }
        })
        .and_then(|mut w| {
            w.watch(&config.rules_dir, notify::RecursiveMode::NonRecursive)
                .map(|_| w)
        })
    };
    if let Err(e) = &watcher {
        tracing::warn!(error = %e, dir = %config.rules_dir.display(), "cannot watch the rules directory; reload with POST /v1/rules/reload or SIGHUP");
    }
    let do_reload = |rules: &ArcSwap<RuleSet>| -> Result<u64, String> {
        let version = rules.load().version + 1;
        match rule_file::load_dir(
            &config.rules_dir,
            &config.account_aliases(),
            &config.env,
            version,
        ) {
            Ok(new) => {
                rules.store(Arc::new(new));
                telemetry::rules_reload(true, version);
                tracing::info!(version, "rules reloaded");
                Ok(version)
            }
            Err(errors) => {
                telemetry::rules_reload(false, version);
                for e in &errors.0 {
                    tracing::error!(
                        "rules refused, keeping version {}: {e}",
                        rules.load().version
                    );
                }
                Err(errors.to_string())
            }
        }
    };
    loop {
        tokio::select! {
            req = requests.recv() => match req {
                Some(reply) => { let _ = reply.send(do_reload(&rules)); }
                None => break,
            },
            Some(()) = fs_rx.recv() => {
                // Editors write in several steps; let them finish before reading.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while fs_rx.try_recv().is_ok() {}
                let _ = do_reload(&rules);
            }
        }
    }
    drop(watcher);
}

/// Runs the future `make` builds on a new thread, in a current-thread tokio
/// runtime with a `LocalSet` (so tasks may be `!Send` and never change threads).
fn spawn_runtime_thread<F, Fut>(name: String, make: F) -> Result<JoinHandle<()>, StartError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let thread_name = name.clone();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, thread = thread_name, "cannot start runtime");
                    return;
                }
            };
            tokio::task::LocalSet::new().block_on(&rt, make());
        })
        .map_err(|e| StartError::Other(format!("cannot spawn {name}: {e}")))
}

/// Starts the risk task on its own thread. In paper mode it copies the
/// simulator's daily closes into the history before each pass.
fn spawn_risk_task(
    engine: Arc<Engine>,
    history: Arc<History>,
    config: crate::config::RiskConfig,
    market: Option<SharedMarket>,
    cpu: Option<usize>,
) -> Result<JoinHandle<()>, StartError> {
    let wake = engine.risk_wake.clone();
    let task = RiskTask::new(engine, history.clone(), config);
    std::thread::Builder::new()
        .name("riskgate-risk".into())
        .spawn(move || {
            crate::risk::task::place_risk_thread(cpu);
            task.run(wake, || {
                if let Some(m) = &market {
                    let series: Vec<(String, Vec<f64>)> = {
                        let m = m.read();
                        m.symbols()
                            .map(|s| (s.base.to_string(), m.daily_closes(s.symbol.as_str())))
                            .collect()
                    };
                    for (asset, closes) in series {
                        history.set(&asset, closes);
                    }
                }
            })
        })
        .map_err(|e| StartError::Other(format!("cannot spawn risk thread: {e}")))
}

/// Live and shadow mode: fetches daily bars for the assets the risk task needs.
async fn poll_history(
    adapter: Arc<dyn venue::Venue>,
    target: Arc<UpstreamTarget>,
    engine: Arc<Engine>,
    history: Arc<History>,
    config: crate::config::RiskConfig,
) {
    let mut fetched_at: std::collections::HashMap<String, std::time::Instant> =
        std::collections::HashMap::new();
    let mut interval = tokio::time::interval(Duration::from_secs(30));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let mut wanted: Vec<String> = config.universe.clone();
        for a in engine.accounts() {
            let book = a.snapshot();
            wanted.extend(
                book.holdings
                    .iter()
                    .filter(|(_, q)| !q.is_zero())
                    .map(|(asset, _)| asset.to_string()),
            );
            wanted.extend(book.open_orders.iter().map(|o| o.base.to_string()));
        }
        wanted.retain(|a| !crate::model::USD_STABLE_ASSETS.contains(&a.as_str()));
        wanted.sort();
        wanted.dedup();
        for asset in wanted.into_iter().take(crate::market::history::MAX_ASSETS) {
            if fetched_at
                .get(&asset)
                .is_some_and(|t| t.elapsed() < config.history_refresh)
            {
                continue;
            }
            let path = adapter.daily_bars_path(&format!("{asset}USDT"), 400);
            match proxy::upstream::get_once(&target, &path).await {
                Ok(answer) => {
                    let closes = adapter.parse_daily_closes(&answer.body);
                    if closes.len() < 2 {
                        tracing::warn!(
                            asset,
                            status = answer.status.as_u16(),
                            "no daily history from the venue"
                        );
                    } else {
                        history.set(&asset, closes);
                        fetched_at.insert(asset, std::time::Instant::now());
                        engine.risk_wake.notify();
                    }
                }
                Err(e) => tracing::warn!(asset, error = %e, "daily history fetch failed"),
            }
        }
    }
}

/// Paper mode: steps the simulated market and publishes its prices as reference prices.
async fn tick_market(market: SharedMarket, engine: Arc<Engine>, tick_ms: u64) {
    let mut interval = tokio::time::interval(Duration::from_millis(tick_ms));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prices = Vec::new();
    loop {
        interval.tick().await;
        let now = engine.now_ms();
        {
            let mut m = market.write();
            m.advance_to(now);
            prices.clear();
            prices.extend(m.prices().map(|(s, p)| (s.clone(), p)));
        }
        for (symbol, price) in &prices {
            engine.on_price(symbol, *price, now);
        }
    }
}

/// Live and shadow mode: polls the venue's public ticker for reference prices.
async fn poll_prices(
    adapter: Arc<dyn venue::Venue>,
    target: Arc<UpstreamTarget>,
    engine: Arc<Engine>,
    every: Duration,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let action = Action::Observe(Observation::Ticker);
    loop {
        interval.tick().await;
        match proxy::upstream::get_once(&target, adapter.ticker_path()).await {
            Ok(answer) => {
                let learned = adapter.learn(&action, answer.status.as_u16(), &answer.body);
                let now = engine.now_ms();
                for (symbol, price) in &learned.prices {
                    engine.on_price(symbol, *price, now);
                }
                if learned.prices.is_empty() {
                    tracing::warn!(
                        status = answer.status.as_u16(),
                        "ticker poll returned no prices"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "ticker poll failed; reference prices will go stale")
            }
        }
    }
}

/// Paper mode: the paper venue's own instrument list is the exchange filters,
/// read by the venue adapter exactly as a live answer would be (one source for
/// the numbers: the paper exchange's definitions).
fn load_paper_filters(
    engine: &Engine,
    venue_name: &str,
    adapter: &dyn venue::Venue,
    paper: &dyn InProcessVenue,
) {
    let headers = venue::Headers::new();
    let action = Action::Observe(Observation::Instruments);
    for path_and_query in adapter.instruments_paths() {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (*path_and_query, None),
        };
        let req = RequestView {
            method: &http::Method::GET,
            path,
            query,
            headers: &headers,
            body: b"",
        };
        let answer = paper.handle(&req);
        let learned = adapter.learn(&action, answer.status, &answer.body);
        let stored = engine.filters.learn(venue_name, &learned.filters);
        tracing::debug!(
            venue = venue_name,
            path = path_and_query,
            instruments = stored,
            "exchange filters loaded from the paper venue"
        );
    }
}

/// Live and shadow mode: fetches the venue's public instrument lists (its
/// exchange filters) at start, retries until they load, then refreshes them.
/// While no account has `exchange_filters` on (the default), nothing is
/// fetched: an exchange's full instrument list is heavy (Binance spot's is
/// megabytes and costs request weight); a reload that turns them on is seen
/// within `FILTERS_RETRY`.
async fn poll_filters(
    venue_name: Arc<str>,
    adapter: Arc<dyn venue::Venue>,
    target: Arc<UpstreamTarget>,
    engine: Arc<Engine>,
) {
    let paths = adapter.instruments_paths();
    if paths.is_empty() {
        return;
    }
    let action = Action::Observe(Observation::Instruments);
    loop {
        if !engine.rules.load().exchange_filters_on() {
            tokio::time::sleep(FILTERS_RETRY).await;
            continue;
        }
        let mut all_loaded = true;
        for path in paths {
            match proxy::upstream::get_once(&target, path).await {
                Ok(answer) => {
                    let learned = adapter.learn(&action, answer.status.as_u16(), &answer.body);
                    if learned.filters.is_empty() {
                        all_loaded = false;
                        tracing::warn!(venue = %venue_name, path, status = answer.status.as_u16(), "instrument list had no readable exchange filters");
                    } else {
                        let stored = engine.filters.learn(&venue_name, &learned.filters);
                        tracing::info!(venue = %venue_name, path, instruments = stored, "exchange filters loaded");
                    }
                }
                Err(e) => {
                    all_loaded = false;
                    tracing::warn!(venue = %venue_name, path, error = %e, "instrument list fetch failed; exchange filters not refreshed");
                }
            }
        }
        tokio::time::sleep(if all_loaded {
            FILTERS_REFRESH
        } else {
            FILTERS_RETRY
        })
        .await;
    }
}
