//! The portfolio-risk background task: off the order path, on its own thread.
//!
//! Every `interval` (and soon after fills) it marks each account's live book
//! (filled position plus open orders) at reference prices, builds the order-path
//! snapshot (parametric covariance state for O(1) incremental VaR) and the full
//! report (every VaR/ES method, ratios, attribution), publishes them at once,
//! enforces the drawdown limit (the account goes reduce-only, journaled, until an
//! admin resumes it) and logs limit utilisation crossing the alert levels.
//! Missing prices or history mean no snapshot: orders under portfolio limits
//! then fail closed.
//!
//! Also owns how much of a core the task may use ([`Pacing`]: the least idle
//! time after each pass, on the pass's CPU time) and where its thread runs
//! ([`RiskCpu`], [`place_risk_thread`]: nice 19, pinned with 3 or more CPUs).
//! It must not touch the order path: the order path only reads what it
//! publishes to the risk board.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::alert::{self, AlertState};
use super::board::FlatBook;
use super::covariance::sample_covariance;
use super::returns::{ReturnKind, ReturnsMatrix};
use super::snapshot::{compute_snapshot, AssetInput, RiskInputs, RiskParams};
use super::volatility::{annualise_vol, ewma_vol_daily};
use super::{AccountRisk, IncrementalVar};
use crate::config::RiskConfig;
use crate::market::history::History;
use crate::model::{AccountId, Side, USD_STABLE_ASSETS};
use crate::rules::{RuleSet, TradingState};
use crate::state::{Account, BookSnapshot, Engine};
use crate::telemetry;

/// Confidence and horizon of the order-path (parametric) snapshot.
pub const SNAPSHOT_CONFIDENCE: f64 = 0.99;
/// Days of returns in the order-path covariance.
pub const COV_LOOKBACK_DAYS: usize = 60;
/// How the reason of a drawdown switch to reduce-only starts (recognised after a restart).
const DRAWDOWN_WHY_PREFIX: &str = "drawdown ";
/// EWMA decay of the per-asset volatility used by volatility scaling (RiskMetrics daily).
pub const VOL_SCALING_EWMA_LAMBDA: f64 = 0.94;
/// Equity samples kept per account.
const MAX_EQUITY_SAMPLES: usize = 2000;

/// Wakes the task early (after fills) and stops it.
#[derive(Default)]
pub struct Wake {
    pending: Mutex<bool>,
    cv: Condvar,
    stop: AtomicBool,
}

impl Wake {
    pub fn notify(&self) {
        *self.pending.lock() = true;
        self.cv.notify_one();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Waits up to `timeout` for a notification; false once stopped.
    fn wait(&self, timeout: Duration) -> bool {
        let mut p = self.pending.lock();
        if !*p && !self.stop.load(Ordering::SeqCst) {
            self.cv.wait_for(&mut p, timeout);
        }
        *p = false;
        !self.stop.load(Ordering::SeqCst)
    }

    /// Stays idle for `d` whatever is notified (a notification stays pending
    /// for the next [`Wake::wait`]); returns early, false, once stopped.
    fn pause(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut p = self.pending.lock();
        while !self.stop.load(Ordering::SeqCst) {
            if self.cv.wait_until(&mut p, deadline).timed_out() {
                break;
            }
        }
        !self.stop.load(Ordering::SeqCst)
    }
}

/// CPU time the calling thread has used (Linux `/proc/thread-self/schedstat`;
/// None where unavailable). Pacing counts CPU, not wall time: on a busy
/// machine a nice-19 pass takes longer by the clock without using more of a
/// core, and must not be paced as if it did.
pub fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Which CPU the risk thread runs on (`[risk] cpu`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RiskCpu {
    /// With at least 3 CPUs available to the process, the last of them (and,
    /// when there are fewer workers than CPUs, the workers keep off it);
    /// with 1 or 2, not pinned: a pinned risk thread would then share its
    /// core with a worker anyway, and nice 19 already lets the worker preempt it.
    #[default]
    Auto,
    /// Not pinned.
    Off,
    /// This CPU (an index as in `taskset`).
    Cpu(usize),
}

impl RiskCpu {
    /// The CPU to pin the risk thread to, given the CPUs the process may use.
    pub fn choose(self, allowed: &[usize]) -> Option<usize> {
        match self {
            RiskCpu::Off => None,
            RiskCpu::Cpu(c) => Some(c),
            RiskCpu::Auto => (allowed.len() >= 3)
                .then(|| allowed.last().copied())
                .flatten(),
        }
    }
}

/// The CPUs this process may run on, ascending (empty if unknown or not Linux).
pub fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    if let Ok(set) = rustix::thread::sched_getaffinity(None) {
        return (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect();
    }
    Vec::new()
}

/// Restricts the calling thread to `cpus` (Linux; elsewhere nothing). A failure is logged, not fatal.
pub fn pin_this_thread(cpus: &[usize]) {
    #[cfg(target_os = "linux")]
    {
        let mut set = rustix::thread::CpuSet::new();
        for &c in cpus
            .iter()
            .filter(|&&c| c < rustix::thread::CpuSet::MAX_CPU)
        {
            set.set(c);
        }
        if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
            tracing::warn!(error = %e, ?cpus, "could not set this thread's CPU affinity");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpus;
}

/// Called on the risk thread before [`RiskTask::run`] (and by the bench on
/// its stand-in thread): nice 19, and pinned to `cpu` if given.
///
/// A pass is tens of ms of CPU and never urgent: at nice 19 the order-path
/// workers preempt it whenever they share a core, while it still makes
/// progress under sustained load (a snapshot that stopped updating would make
/// portfolio rules refuse orders).
pub fn place_risk_thread(cpu: Option<usize>) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::warn!(error = %e, "risk thread: could not lower its priority");
    }
    if let Some(c) = cpu {
        pin_this_thread(&[c]);
    }
}

/// How often the task may recompute: the bound on its share of a core.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pacing {
    /// Shortest idle time between the end of a pass and the start of a pass
    /// triggered by fills (`[risk] fill_debounce_s`): a burst of fills makes
    /// one pass, not one per fill.
    pub fill_debounce: Duration,
    /// Most of one core the passes may use (`[risk] max_duty_cycle_pct`): after a
    /// pass that used `t` of CPU, the task stays idle at least `t·(100 − p)/p`,
    /// so slow passes (many accounts, debug builds) space themselves out.
    pub max_duty_cycle_pct: f64,
}

impl Pacing {
    /// The shipped defaults: 200 ms debounce, at most 20 % of a core.
    pub const DEFAULT: Pacing = Pacing {
        fill_debounce: Duration::from_millis(200),
        max_duty_cycle_pct: 20.0,
    };

    /// Least idle time after a pass that used `pass` of CPU, before the next
    /// one starts (whether fills or the interval ask for it).
    pub fn min_idle_after(&self, pass: Duration) -> Duration {
        let duty = (self.max_duty_cycle_pct / 100.0).clamp(0.01, 1.0);
        self.fill_debounce.max(pass.mul_f64((1.0 - duty) / duty))
    }
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing::DEFAULT
    }
}

struct EquityTrack {
    samples: Vec<f64>,
    peak: f64,
    /// Which limits are over their alert level (alerts fire once per crossing).
    alerts: AlertState,
    /// This task switched the account to reduce-only for drawdown.
    tripped: bool,
}

pub struct RiskTask {
    engine: Arc<Engine>,
    history: Arc<History>,
    config: RiskConfig,
    equity: HashMap<AccountId, EquityTrack>,
}

impl RiskTask {
    pub fn new(engine: Arc<Engine>, history: Arc<History>, config: RiskConfig) -> RiskTask {
        RiskTask {
            engine,
            history,
            config,
            equity: HashMap::new(),
        }
    }

    /// Runs until `wake.stop()`. `before_each` refreshes inputs (e.g. paper history).
    pub fn run(mut self, wake: Arc<Wake>, before_each: impl Fn()) {
        loop {
            before_each();
            let started = Instant::now();
            let cpu_before = thread_cpu_time();
            self.compute_and_publish();
            telemetry::risk_compute_duration(started.elapsed().as_secs_f64());
            // Under sustained fills every pass would be followed at once by the
            // next: the pause bounds the task's share of a core (see Pacing).
            // Fills notified during it start the next pass right after it.
            let pass_cpu = match (cpu_before, thread_cpu_time()) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => started.elapsed(),
            };
            if !wake.pause(self.config.pacing.min_idle_after(pass_cpu)) {
                break;
            }
            if !wake.wait(self.config.interval.saturating_sub(started.elapsed())) {
                break;
            }
        }
    }

    /// One pass over every account.
    pub fn compute_and_publish(&mut self) {
        let rules = self.engine.rules.load();
        let now_ms = self.engine.now_ms();
        let mut published = HashMap::new();
        for account in self.engine.accounts() {
            match self.compute_account(&account, &rules, now_ms) {
                Ok(Some(risk)) => {
                    telemetry::account_risk(&account.label, &risk);
                    published.insert(account.id, Arc::new(risk));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(account = %account.label, error = %e, "no risk snapshot for account (orders under portfolio limits fail closed)")
                }
            }
        }
        // The flat book's state stands in for accounts riskgate has not marked
        // yet (a first order must not wait a whole interval).
        let flat = match self.mark(&BookSnapshot::default(), rules.max_price_age_ms, now_ms) {
            Ok(Some(m)) => Some(Arc::new(FlatBook {
                computed_ms: now_ms,
                incremental: m.incremental,
                asset_vol_annualised: m.asset_vol_annualised,
            })),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "no flat-book risk state");
                None
            }
        };
        self.engine.risk.publish(published, flat);
    }

    /// Marks a book at reference prices over every asset with history and
    /// builds the order-path VaR state. None: no asset has history.
    fn mark(
        &self,
        book: &BookSnapshot,
        max_age: i64,
        now_ms: i64,
    ) -> Result<Option<MarkedBook>, String> {
        let prices = &self.engine.prices;
        // The universe: configured assets plus everything held or on order, with history.
        let mut wanted: Vec<String> = self.config.universe.clone();
        for (asset, qty) in &book.holdings {
            if !qty.is_zero() && !USD_STABLE_ASSETS.contains(&&**asset) {
                wanted.push(asset.to_string());
            }
        }
        for o in &book.open_orders {
            wanted.push(o.base.to_string());
        }
        for a in self.history.assets() {
            wanted.push(a.to_string());
        }
        let mut seen = HashSet::new();
        wanted.retain(|a| seen.insert(a.clone()));
        wanted.sort();

        let mut names = Vec::new();
        let mut closes = Vec::new();
        let mut exposures = Vec::new();
        for asset in &wanted {
            let exposure_qty = net_exposure_qty(book, asset);
            let Some(history) = self.history.get(asset) else {
                if exposure_qty != 0.0 {
                    return Err(format!(
                        "no price history for {asset}, which the account holds or has on order"
                    ));
                }
                continue;
            };
            let exposure_usd = if exposure_qty == 0.0 {
                0.0
            } else {
                let rate = prices
                    .usd_rate(asset, now_ms, max_age)
                    .ok_or_else(|| format!("no fresh USD price for {asset}"))?;
                exposure_qty * rate
            };
            names.push(asset.clone());
            closes.push(history);
            exposures.push(exposure_usd);
        }
        if names.is_empty() {
            return Ok(None);
        }
        let days = closes.iter().map(|c| c.len()).min().unwrap_or(0);
        if days < COV_LOOKBACK_DAYS + 1 {
            return Err(format!(
                "only {days} days of aligned history (need {})",
                COV_LOOKBACK_DAYS + 1
            ));
        }
        let aligned: Vec<Vec<f64>> = closes
            .iter()
            .map(|c| c[c.len() - days..].to_vec())
            .collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let returns = ReturnsMatrix::from_closes(&name_refs, &aligned, ReturnKind::Log)
            .map_err(|e| e.to_string())?;
        let cov = sample_covariance(&returns.last(COV_LOOKBACK_DAYS).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let incremental = IncrementalVar::new(&names, &cov, &exposures, SNAPSHOT_CONFIDENCE, 1)
            .map_err(|e| e.to_string())?;
        // EWMA rather than the 60-day sample: volatility scaling should react to
        // a regime change within days. NaN marks an asset whose estimate failed;
        // the order path refuses to scale (fail closed) on it.
        let asset_vol_annualised = (0..names.len())
            .map(|i| {
                ewma_vol_daily(&returns.column(i), VOL_SCALING_EWMA_LAMBDA)
                    .map(annualise_vol)
                    .unwrap_or(f64::NAN)
            })
            .collect();
        Ok(Some(MarkedBook {
            names,
            aligned,
            exposures,
            incremental,
            asset_vol_annualised,
        }))
    }

    fn compute_account(
        &mut self,
        account: &Account,
        rules: &RuleSet,
        now_ms: i64,
    ) -> Result<Option<AccountRisk>, String> {
        let account_rules = rules.account(account.alias.as_deref());
        let book = account.snapshot();
        let max_age = rules.max_price_age_ms;
        let prices = &self.engine.prices;

        let Some(MarkedBook {
            names,
            aligned,
            exposures,
            incremental,
            asset_vol_annualised,
        }) = self.mark(&book, max_age, now_ms)?
        else {
            return Ok(None);
        };

        // Capital: configured, else equity from learned holdings.
        let learned_equity: Option<f64> =
            book.holdings.iter().try_fold(0.0, |sum, (asset, qty)| {
                Some(sum + qty.to_f64() * prices.usd_rate(asset, now_ms, max_age)?)
            });
        let Some(capital_usd) = account_rules
            .capital_usd
            .or(learned_equity.filter(|e| *e > 0.0))
        else {
            return Err(
                "capital unknown: set capital_usd or let riskgate see the account's balances"
                    .into(),
            );
        };
        // Equity: capital plus fills marked to market (P&L since riskgate first saw the account).
        let pnl_usd: f64 = book
            .fill_deltas
            .iter()
            .map(|(asset, qty)| {
                qty.to_f64() * prices.usd_rate(asset, now_ms, max_age).unwrap_or(0.0)
            })
            .sum();
        let equity_usd = if account_rules.capital_usd.is_some() {
            capital_usd + pnl_usd
        } else {
            capital_usd
        };
        let state = book.trading_state.unwrap_or(TradingState::Active);
        let track = self
            .equity
            .entry(account.id)
            .or_insert_with(|| EquityTrack {
                samples: Vec::new(),
                // The journaled peak survives a restart: drawdown does not
                // start again from zero.
                peak: book.equity_peak_usd.unwrap_or(equity_usd),
                alerts: AlertState::default(),
                // A drawdown switch from before a restart still re-bases the
                // peak when an admin resumes the account.
                tripped: state == TradingState::ReduceOnly
                    && book.trading_state_why.starts_with(DRAWDOWN_WHY_PREFIX),
            });
        if track.tripped && state == TradingState::Active {
            // An admin resumed the account after a drawdown switch: measure
            // drawdown from here, or the next pass would switch it straight back.
            track.tripped = false;
            track.peak = equity_usd;
        }
        track.peak = track.peak.max(equity_usd);
        if book.equity_peak_usd != Some(track.peak) && track.peak.is_finite() {
            if let Err(e) = self.engine.set_equity_peak(account, track.peak) {
                tracing::error!(error = %e, "could not journal the equity peak (a restart would reset drawdown)");
            }
        }
        track.samples.push(equity_usd);
        if track.samples.len() > MAX_EQUITY_SAMPLES {
            track.samples.remove(0);
        }
        let drawdown_pct = if track.peak > 0.0 {
            (1.0 - equity_usd / track.peak) * 100.0
        } else {
            0.0
        };

        let (report, report_error) = if exposures.iter().any(|e| *e != 0.0) {
            let inputs = RiskInputs {
                assets: names
                    .iter()
                    .zip(&aligned)
                    .zip(&exposures)
                    .map(|((symbol, closes), exposure_usd)| AssetInput {
                        symbol: symbol.clone(),
                        exposure_usd: *exposure_usd,
                        closes: closes.clone(),
                    })
                    .collect(),
                capital_usd,
                equity_curve_usd: if track.samples.len() >= 2 {
                    track.samples.clone()
                } else {
                    vec![equity_usd, equity_usd]
                },
                benchmark_closes: None,
                groups: names
                    .iter()
                    .filter_map(|n| rules.sector_of(n).map(|s| (n.clone(), s.to_string())))
                    .collect::<BTreeMap<_, _>>(),
            };
            let params = RiskParams {
                mc_sims: self.config.monte_carlo_sims,
                mc_seed: self.config.seed,
                min_history_days: aligned[0].len().saturating_sub(1).min(180),
                ..RiskParams::default()
            };
            match compute_snapshot(&inputs, &params) {
                Ok(r) => (Some(Arc::new(r)), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, Some("flat book: nothing to report".into()))
        };

        let risk = AccountRisk {
            computed_ms: now_ms,
            capital_usd,
            incremental,
            exposures_usd: exposures,
            asset_vol_annualised,
            equity_usd,
            peak_equity_usd: track.peak,
            drawdown_pct,
            report,
            report_error,
        };

        // Limits enforced here rather than per order.
        if let Some(p) = &account_rules.portfolio {
            if let Some(limit) = p.max_drawdown_pct {
                if drawdown_pct > limit && state == TradingState::Active {
                    let why = format!(
                        "{DRAWDOWN_WHY_PREFIX}{:.2}% from peak equity {:.2} USD exceeds max_drawdown_pct {}%",
                        drawdown_pct, track.peak, limit
                    );
                    match self.engine.set_trading_state(
                        Some(account),
                        TradingState::ReduceOnly,
                        "risk-engine",
                        &why,
                    ) {
                        Ok(()) => track.tripped = true,
                        Err(e) => {
                            tracing::error!(error = %e, "could not journal the drawdown switch to reduce-only")
                        }
                    }
                }
            }
        }
        for u in alert::utilisations(
            &risk,
            account_rules.portfolio.as_ref(),
            account_rules.max_single_position_pct,
            &rules.sectors,
        ) {
            // The admin API owns this gauge (filled positions, refreshed on
            // scrape); here it would flip between two definitions.
            if u.limit != "max_single_position_pct" {
                telemetry::limit_utilization(&account.label, u.limit, u.utilisation);
            }
            if track.alerts.crossed(&u) {
                tracing::warn!(
                    target: "riskgate::alert",
                    account = %account.label,
                    limit = u.limit,
                    utilisation = u.utilisation,
                    threshold = u.threshold,
                    "{} at {:.0}% of its limit (alert level {:.0}%)",
                    u.limit,
                    u.utilisation * 100.0,
                    u.threshold * 100.0
                );
                telemetry::alert(&account.label, u.limit);
            }
        }
        Ok(Some(risk))
    }
}

/// A book marked at reference prices, aligned with its price history.
struct MarkedBook {
    names: Vec<String>,
    aligned: Vec<Vec<f64>>,
    exposures: Vec<f64>,
    incremental: IncrementalVar,
    asset_vol_annualised: Vec<f64>,
}

/// Filled position plus open buys minus open sells, in base units.
fn net_exposure_qty(book: &BookSnapshot, asset: &str) -> f64 {
    let held = book
        .holdings
        .iter()
        .find(|(a, _)| &**a == asset)
        .map(|(_, q)| q.to_f64())
        .unwrap_or(0.0);
    let open: f64 = book
        .open_orders
        .iter()
        .filter(|o| &*o.base == asset)
        .map(|o| match o.side {
            Side::Buy => o.remaining().to_f64(),
            Side::Sell => -o.remaining().to_f64(),
        })
        .sum();
    held + open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_keeps_the_debounce_for_short_passes_and_the_duty_cycle_for_long_ones() {
        let p = Pacing::DEFAULT;
        // 40 ms pass: 20 % duty cycle asks for 160 ms idle, under the 200 ms debounce.
        assert_eq!(
            p.min_idle_after(Duration::from_millis(40)),
            Duration::from_millis(200)
        );
        // 500 ms pass (10 accounts): 2 s idle, so passes use at most 20 % of a core.
        assert_eq!(
            p.min_idle_after(Duration::from_millis(500)),
            Duration::from_secs(2)
        );
        let all = Pacing {
            fill_debounce: Duration::ZERO,
            max_duty_cycle_pct: 100.0,
        };
        assert_eq!(all.min_idle_after(Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn auto_pins_only_with_three_cpus_or_more() {
        assert_eq!(RiskCpu::Auto.choose(&[0, 1]), None);
        assert_eq!(RiskCpu::Auto.choose(&[0, 1, 2, 3]), Some(3));
        assert_eq!(RiskCpu::Auto.choose(&[]), None);
        assert_eq!(RiskCpu::Off.choose(&[0, 1, 2, 3]), None);
        assert_eq!(RiskCpu::Cpu(1).choose(&[0, 1]), Some(1));
    }

    #[test]
    fn pause_ends_at_once_when_stopped_and_keeps_notifications_pending() {
        let w = Wake::default();
        w.notify();
        // A zero pause returns; the notification is still there for wait().
        assert!(w.pause(Duration::ZERO));
        assert!(w.wait(Duration::from_secs(3600)));
        w.stop();
        assert!(!w.pause(Duration::from_secs(3600)));
        assert!(!w.wait(Duration::from_secs(3600)));
    }

    fn parse(risk: &str) -> Result<crate::config::Config, String> {
        crate::config::parse(
            std::path::Path::new("riskgate.toml"),
            &format!(
                "mode = \"paper\"\n[[venues]]\nname = \"b\"\nkind = \"binance-spot\"\nlisten = \"127.0.0.1:0\"\n[risk]\n{risk}"
            ),
            &crate::config::Env::from_pairs(&[]),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn config_reads_pacing_and_cpu_and_refuses_bad_values_with_their_position() {
        let c = parse("fill_debounce_s = 0.5\nmax_duty_cycle_pct = 10\ncpu = 3\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.risk.pacing.fill_debounce, Duration::from_millis(500));
        assert_eq!(c.risk.pacing.max_duty_cycle_pct, 10.0);
        assert_eq!(c.risk.cpu, RiskCpu::Cpu(3));
        let d = parse("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.risk.pacing, Pacing::DEFAULT);
        assert_eq!(d.risk.cpu, RiskCpu::Auto);
        assert_eq!(
            parse("cpu = \"off\"\n")
                .unwrap_or_else(|e| panic!("{e}"))
                .risk
                .cpu,
            RiskCpu::Off
        );
        let e = parse("cpu = \"fast\"\n").expect_err("refused");
        assert!(e.contains("riskgate.toml:7:7") && e.contains("cpu"), "{e}");
        let e = parse("max_duty_cycle_pct = 0\n").expect_err("refused");
        assert!(
            e.contains("riskgate.toml:7:") && e.contains("max_duty_cycle_pct"),
            "{e}"
        );
        let e = parse("fill_debounce_s = -1\n").expect_err("refused");
        assert!(e.contains("fill_debounce_s"), "{e}");
    }
}
