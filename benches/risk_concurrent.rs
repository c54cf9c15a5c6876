//! Does the order path slow down while the risk task recomputes?
//!
//! Measures `Engine::submit` followed by a release (check + reserve + journal,
//! as `engine_reserve_journal_release` in benches/check.rs) with portfolio
//! limits priced against a published risk snapshot (10 accounts, 50 assets),
//! under three loads:
//!
//! * `idle`: no recompute running;
//! * `paced`: the task's worst realistic cadence, sustained fills: a pass, then
//!   the least idle time `Pacing::DEFAULT` allows after it (200 ms debounce,
//!   at most 20 % of a core by the pass's CPU time), then the next pass;
//! * `back_to_back`: passes with no pause at all (the worst case, which the
//!   pacing now rules out).
//!
//! A pass recomputes the full snapshot (50 assets × 365 daily closes, every
//! method, 10,000 Monte Carlo Student-t simulations) and publishes it to the
//! engine's risk board, as the risk task does. The recompute thread is set up
//! with the same call as the real risk thread (`place_risk_thread`: nice 19,
//! pinned only with 3 or more CPUs) unless overridden:
//!
//! * `RISKLAT_PIN=real|split|same|none`: `real` (default) as riskgate would on
//!   this machine; `split` puts the bench thread on the first allowed CPU and
//!   the recompute on the last; `same` puts both on the first;
//! * `RISKLAT_NICE=real|0|idle`: the recompute thread's priority: `real`
//!   (default) nice 19 as riskgate, `0` normal (as this bench did before),
//!   `idle` nice 19 then `SCHED_IDLE` (an experiment);
//! * `RISKLAT_LOADS=idle,paced,back_to_back`: which loads to run.
//!
//! Besides criterion's wall-clock figures it prints, per load, the medians
//! over samples of the bench thread's own CPU time and run-queue wait per
//! order (`/proc/thread-self/schedstat`): CPU time that rises means
//! interference inside the core or the process (caches, memory, allocator,
//! shared cache lines); wait that rises means time-sharing a core. Then
//! 3,000 orders each after a 300 µs sleep, as a worker woken by a request
//! sees them: percentiles of the time from the end of the sleep to the
//! order's completion (wake-up delay included, timer slack set to 1 ns).
//!
//! Run: `cargo bench --bench risk_concurrent -- --warm-up-time 1 --measurement-time 5`
//!
//! Compare figures from one invocation, not across machines or runs: other
//! processes on the machine change them.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use riskgate::clock::SystemClock;
use riskgate::market::PriceBook;
use riskgate::model::{Contract, Fixed, NewOrder, OrderKind, Side, Symbol, TimeInForce};
use riskgate::risk::board::FlatBook;
use riskgate::risk::snapshot::{AssetInput, McShocks};
use riskgate::risk::task::{allowed_cpus, pin_this_thread, place_risk_thread, Pacing, RiskCpu};
use riskgate::risk::{compute_snapshot, AccountRisk, RiskInputs, RiskParams};
use riskgate::rules::{file, EnvOverrides};
use riskgate::state::{Account, Durability, Engine, EngineConfig};
use riskgate::venue::{Action, Learned};

const N_ASSETS: usize = 50;
const N_CLOSES: usize = 365;
const SIMS: usize = 10_000;
const ACCOUNTS: usize = 10;

fn asset(i: usize) -> String {
    format!("C{i:03}")
}

/// Per-symbol position limits, and portfolio limits loose enough to pass
/// (every order is priced; none is refused).
fn rules_text() -> String {
    let mut t = String::from(
        "[account.\"*\"]\ncapital_usd = 1000000000.0\nmax_order_notional_usd = 1000000.0\nmax_single_position_pct = 100.0\n\
         max_open_orders = 100000\nmax_daily_trades = 10000000\nrate_limit_orders_per_s = 0\n\
         [account.\"*\".symbol.\"*\"]\nprice_band_pct = 5.0\n[market_data]\nmax_price_age_s = 3600.0\n[duplicates]\nwindow_s = 0.001\n\
         [portfolio.\"*\"]\ndaily_var_limit_usd = 1000000000000.0\ndaily_var_99_pct = 100.0\nmax_portfolio_volatility_pct = 1000.0\n\
         correlation_limit_pct = 100.0\nmax_leverage = 1000.0\nmax_snapshot_age_s = 86400.0\n",
    );
    for i in 0..N_ASSETS {
        t.push_str(&format!(
            "[account.\"*\".symbol.{}USDT]\nmax_order_qty = 1000.0\nmax_position_qty = 100000.0\nmax_position_notional_usd = 100000000.0\n",
            asset(i)
        ));
    }
    t
}

/// 50 seeded assets (one common factor, fat tails), as benches/risk.rs.
fn inputs() -> RiskInputs {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let vols: Vec<f64> = (0..N_ASSETS)
        .map(|_| rng.random_range(0.02..0.06))
        .collect();
    let loads: Vec<f64> = (0..N_ASSETS).map(|_| rng.random_range(0.4..0.9)).collect();
    let mut closes = vec![vec![100.0f64]; N_ASSETS];
    for _ in 1..N_CLOSES {
        let f: f64 = rng.sample(StandardNormal);
        let mix = if rng.random_bool(0.08) { 2.5 } else { 1.0 };
        for i in 0..N_ASSETS {
            let e: f64 = rng.sample(StandardNormal);
            let z = loads[i] * f + (1.0 - loads[i] * loads[i]).sqrt() * e;
            let last = closes[i].last().copied().unwrap_or(100.0);
            closes[i].push(last * (vols[i] * mix * z).exp());
        }
    }
    RiskInputs {
        assets: closes
            .iter()
            .enumerate()
            .map(|(i, c)| AssetInput {
                symbol: asset(i),
                exposure_usd: 1.0e5 + 2.0e3 * i as f64,
                closes: c.clone(),
            })
            .collect(),
        capital_usd: 1.0e9,
        benchmark_closes: None,
        equity_curve_usd: vec![1.0e9; N_CLOSES],
        groups: BTreeMap::new(),
    }
}

fn params() -> RiskParams {
    RiskParams {
        horizons_days: vec![1],
        mc_sims: SIMS,
        mc_shocks: McShocks::StudentTFitted,
        ..RiskParams::default()
    }
}

/// One full recompute, published for every account (what a risk pass does).
fn recompute_and_publish(
    engine: &Engine,
    accounts: &[Arc<Account>],
    inp: &RiskInputs,
    p: &RiskParams,
) {
    let report = compute_snapshot(inp, p).unwrap_or_else(|e| panic!("{e}"));
    let Some(incremental) = report.incremental.clone() else {
        panic!("no incremental state in the report")
    };
    let now = engine.now_ms();
    let exposures: Vec<f64> = inp.assets.iter().map(|a| a.exposure_usd).collect();
    let vols: Vec<f64> = report
        .per_asset
        .iter()
        .map(|a| a.ewma_vol_annualised)
        .collect();
    let risk = Arc::new(AccountRisk {
        computed_ms: now,
        capital_usd: inp.capital_usd,
        incremental: incremental.clone(),
        exposures_usd: exposures,
        asset_vol_annualised: vols.clone(),
        equity_usd: inp.capital_usd,
        peak_equity_usd: inp.capital_usd,
        drawdown_pct: 0.0,
        report: Some(Arc::new(report)),
        report_error: None,
    });
    let map: HashMap<_, _> = accounts.iter().map(|a| (a.id, risk.clone())).collect();
    engine.risk.publish(
        map,
        Some(Arc::new(FlatBook {
            computed_ms: now,
            incremental,
            asset_vol_annualised: vols,
        })),
    );
}

fn order(i: usize) -> NewOrder {
    NewOrder {
        symbol: Symbol::new(&format!("{}USDT", asset(i % N_ASSETS))),
        side: Side::Buy,
        kind: OrderKind::Limit,
        // A distinct quantity each time, so the duplicate-order rule stays quiet.
        qty: Some(Fixed(1_000_000 + (i % 100_000) as i64)),
        quote_qty: None,
        price: Some(Fixed::from_units(100)),
        stop_price: None,
        time_in_force: Some(TimeInForce::Gtc),
        client_order_id: None,
        reduce_only: false,
        test_only: false,
        contract: Contract::Spot,
    }
}

/// One engine with a fresh state directory, priced, its accounts created and
/// a first snapshot published. Each load gets its own: an engine's state
/// (journal size, page cache, bounded memories) grows as orders go through,
/// and measured that way the first load ran ~50 % faster than the third even
/// with the risk task idle in all three (`RISKLAT_LOADS=idle,idle,idle`).
struct Setup {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    accounts: Vec<Arc<Account>>,
    venue: riskgate::state::VenueTag,
}

fn setup(inp: &Arc<RiskInputs>, p: &Arc<RiskParams>) -> Setup {
    let rules = file::build(
        &[("bench.toml".into(), rules_text())],
        &[],
        &EnvOverrides::default(),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let prices = Arc::new(PriceBook::new());
    let venue = riskgate::state::VenueTag::new("binance", "binance");
    let engine = Arc::new(
        Engine::open(
            EngineConfig {
                venues: vec![venue.clone()],
                state_dir: dir.path().to_path_buf(),
                durability: Durability::Process,
                max_accounts: 64,
                known_accounts: vec![],
            },
            Arc::new(SystemClock),
            Arc::new(ArcSwap::from_pointee(rules)),
            prices.clone(),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let now = engine.now_ms();
    for i in 0..N_ASSETS {
        prices.update(
            &Symbol::new(&format!("{}USDT", asset(i))),
            Fixed::from_units(100),
            now + 3_600_000,
        );
    }
    let accounts: Vec<Arc<Account>> = (0..ACCOUNTS)
        .map(|i| {
            engine
                .account_for_key(format!("key{i}").as_bytes())
                .unwrap_or_else(|e| panic!("{e:?}"))
        })
        .collect();
    recompute_and_publish(&engine, &accounts, inp, p);
    Setup {
        _dir: dir,
        engine,
        accounts,
        venue,
    }
}

fn bench(c: &mut Criterion) {
    let inp = Arc::new(inputs());
    let p = Arc::new(params());
    let rejected = Learned {
        venue_rejected: true,
        ..Default::default()
    };
    let mut i = 0usize;

    let placement = Placement::from_env();
    println!("placement: {placement:?}");
    if let Some(cpus) = &placement.bench_cpus {
        pin_this_thread(cpus);
    }
    let loads = std::env::var("RISKLAT_LOADS").unwrap_or_else(|_| "idle,paced,back_to_back".into());
    for load in loads.split(',') {
        let pause: Option<fn(Duration) -> Duration> = match load {
            "idle" => None,
            "paced" => Some(|pass| Pacing::DEFAULT.min_idle_after(pass)),
            "back_to_back" => Some(|_| Duration::ZERO),
            other => panic!("RISKLAT_LOADS: unknown load {other}"),
        };
        let Setup {
            _dir,
            engine,
            accounts,
            venue,
        } = setup(&inp, &p);
        let mut submit_release = |engine: &Engine| {
            i = i.wrapping_add(1);
            let a = &accounts[i % ACCOUNTS];
            let o = order(i);
            let s = engine
                .submit(a, &venue, &o)
                .unwrap_or_else(|e| panic!("{e:?}"));
            engine.learn(
                &venue,
                Some(a),
                &Action::NewOrder(o),
                s.reservation,
                &rejected,
                0,
            );
        };
        let stop = Arc::new(AtomicBool::new(false));
        let passes = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let worker = pause.map(|pause| {
            let (engine, accounts, inp, p) =
                (engine.clone(), accounts.clone(), inp.clone(), p.clone());
            let (stop, passes) = (stop.clone(), passes.clone());
            let (cpu, nice) = (placement.risk_cpu, placement.risk_nice);
            std::thread::spawn(move || {
                match nice {
                    Priority::AsRiskgate => place_risk_thread(cpu),
                    Priority::Nice0 => {
                        if let Some(c) = cpu {
                            pin_this_thread(&[c]);
                        }
                    }
                    Priority::Idle => {
                        place_risk_thread(cpu);
                        set_this_thread_sched_idle().unwrap_or_else(|e| panic!("SCHED_IDLE: {e}"));
                    }
                }
                let cpu_before = schedstat().0;
                while !stop.load(Ordering::Relaxed) {
                    let t = schedstat().0;
                    recompute_and_publish(&engine, &accounts, &inp, &p);
                    passes.fetch_add(1, Ordering::Relaxed);
                    // A load generator's cadence, not synchronisation: sustained
                    // fills keep a wake pending, so the task starts again as soon
                    // as its pacing allows (on the pass's CPU time, as the task).
                    let idle = pause(Duration::from_nanos(schedstat().0 - t));
                    if !idle.is_zero() {
                        std::thread::sleep(idle);
                    }
                }
                schedstat().0 - cpu_before
            })
        });
        let samples = Mutex::new(Vec::<Sample>::new());
        c.bench_function(&format!("submit_release_risk_{load}"), |b| {
            b.iter_custom(|iters| {
                let (cpu0, wait0) = schedstat();
                let t = Instant::now();
                for _ in 0..iters {
                    submit_release(black_box(&engine));
                }
                let wall = t.elapsed();
                let (cpu1, wait1) = schedstat();
                if let Ok(mut v) = samples.lock() {
                    v.push(Sample {
                        iters,
                        wall_ns: wall.as_nanos() as u64,
                        cpu_ns: cpu1 - cpu0,
                        wait_ns: wait1 - wait0,
                    });
                }
                wall
            })
        });
        let response = response_times(&mut submit_release, &engine);
        stop.store(true, Ordering::Relaxed);
        let recompute_cpu_ns = worker.map(|w| {
            w.join()
                .unwrap_or_else(|_| panic!("recompute thread panicked"))
        });
        let elapsed = started.elapsed();
        let v = samples.into_inner().unwrap_or_default();
        let per = |f: fn(&Sample) -> u64| {
            median(
                v.iter()
                    .map(|s| f(s) as f64 / s.iters as f64 / 1000.0)
                    .collect(),
            )
        };
        println!(
            "{load}: per order (medians over {} samples) wall {:.2} µs, bench-thread CPU {:.2} µs, run-queue wait {:.2} µs; \
             {} passes, recompute thread CPU {}",
            v.len(),
            per(|s| s.wall_ns),
            per(|s| s.cpu_ns),
            per(|s| s.wait_ns),
            passes.load(Ordering::Relaxed),
            match recompute_cpu_ns {
                Some(ns) => format!("{:.1} % of one core", ns as f64 / elapsed.as_nanos() as f64 * 100.0),
                None => "-".into(),
            }
        );
        println!("{load}: {response}");
    }
}

/// Orders that arrive after an idle gap, as a worker sees them: the thread
/// sleeps `GAP`, then submits; the figure is the time from the order's due
/// instant (end of the gap) to its completion. A recompute sharing the core
/// delays the wake-up itself, which the criterion loop (never idle) cannot show.
fn response_times(submit_release: &mut impl FnMut(&Engine), engine: &Engine) -> String {
    const GAP: Duration = Duration::from_micros(300);
    const ORDERS: usize = 3000;
    // Timer slack (50 µs by default) would add its own jitter to every wake-up.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
    let mut us: Vec<f64> = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        let due = Instant::now() + GAP;
        std::thread::sleep(GAP);
        submit_release(black_box(engine));
        us.push(due.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    let q = |p: f64| us[((us.len() - 1) as f64 * p).round() as usize];
    format!(
        "after a {} µs idle gap, due→done: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs ({ORDERS} orders)",
        GAP.as_micros(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        q(1.0)
    )
}

/// Moves the calling thread to `SCHED_IDLE` (an experiment: riskgate's risk
/// thread uses nice 19, see README Performance).
fn set_this_thread_sched_idle() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is an initialised sched_param that outlives the call;
        // pid 0 names the calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    Err(std::io::Error::other("SCHED_IDLE is Linux only"))
}

/// The recompute thread's priority.
#[derive(Debug, Clone, Copy)]
enum Priority {
    /// `place_risk_thread`, as riskgate's risk thread.
    AsRiskgate,
    Nice0,
    /// `place_risk_thread`, then SCHED_IDLE.
    Idle,
}

/// Where the bench thread and the recompute thread run.
#[derive(Debug)]
struct Placement {
    /// The bench thread's CPUs (None: not pinned).
    bench_cpus: Option<Vec<usize>>,
    risk_cpu: Option<usize>,
    risk_nice: Priority,
}

impl Placement {
    fn from_env() -> Placement {
        let allowed = allowed_cpus();
        let first = allowed.first().copied().unwrap_or(0);
        let last = allowed.last().copied().unwrap_or(0);
        let risk_nice = match std::env::var("RISKLAT_NICE").as_deref() {
            Err(_) | Ok("real") => Priority::AsRiskgate,
            Ok("0") => Priority::Nice0,
            Ok("idle") => Priority::Idle,
            Ok(other) => panic!("RISKLAT_NICE: real, 0 or idle, not {other}"),
        };
        let (bench_cpus, risk_cpu) = match std::env::var("RISKLAT_PIN").as_deref() {
            // As app.rs: the risk thread on its own CPU with 3 or more, and the
            // order path (a worker) off it.
            Err(_) | Ok("real") => match RiskCpu::Auto.choose(&allowed) {
                Some(c) => (
                    Some(allowed.iter().copied().filter(|&x| x != c).collect()),
                    Some(c),
                ),
                None => (None, None),
            },
            Ok("split") => (Some(vec![first]), Some(last)),
            Ok("same") => (Some(vec![first]), Some(first)),
            Ok("none") => (None, None),
            Ok(other) => panic!("RISKLAT_PIN: real, split, same or none, not {other}"),
        };
        Placement {
            bench_cpus,
            risk_cpu,
            risk_nice,
        }
    }
}

struct Sample {
    iters: u64,
    wall_ns: u64,
    cpu_ns: u64,
    wait_ns: u64,
}

/// The calling thread's time on a CPU and waiting on a run queue, ns
/// (`/proc/thread-self/schedstat`; zeros where unavailable).
fn schedstat() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut f = text
        .split_whitespace()
        .map(|x| x.parse::<u64>().unwrap_or(0));
    (f.next().unwrap_or(0), f.next().unwrap_or(0))
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

criterion_group!(benches, bench);
criterion_main!(benches);
