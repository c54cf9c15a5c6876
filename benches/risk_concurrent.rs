//! Does the order path slow down while the risk task recomputes? `Engine::submit`
//! (check + reserve + journal, then release, as `engine_reserve_journal_release`
//! in benches/check.rs) with portfolio limits priced against a published risk
//! snapshot, measured twice: with the machine otherwise idle, and while another
//! thread recomputes the full snapshot (50 assets × 365 daily closes, every
//! method, 10,000 Monte Carlo simulations) in a loop and publishes each result
//! to the engine's risk board, as the risk task does.
//!
//! Run: `cargo bench --bench risk_concurrent -- --warm-up-time 1 --measurement-time 5`
//!
//! Both runs share the machine with whatever else runs on it: compare the two
//! figures from one invocation, not across machines. With fewer than two cores
//! the recompute thread competes with the order path for the CPU and the
//! comparison measures the scheduler, not riskgate.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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

fn bench(c: &mut Criterion) {
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
    let inp = Arc::new(inputs());
    let p = Arc::new(params());
    recompute_and_publish(&engine, &accounts, &inp, &p);

    let rejected = Learned {
        venue_rejected: true,
        ..Default::default()
    };
    let mut i = 0usize;
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

    c.bench_function("submit_portfolio_risk_idle", |b| {
        b.iter(|| submit_release(black_box(&engine)))
    });

    let stop = Arc::new(AtomicBool::new(false));
    let passes = Arc::new(AtomicU64::new(0));
    let worker = {
        let (engine, accounts, inp, p) = (engine.clone(), accounts.clone(), inp.clone(), p.clone());
        let (stop, passes) = (stop.clone(), passes.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                recompute_and_publish(&engine, &accounts, &inp, &p);
                passes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    c.bench_function("submit_portfolio_risk_while_recomputing", |b| {
        b.iter(|| submit_release(black_box(&engine)))
    });
    stop.store(true, Ordering::Relaxed);
    worker
        .join()
        .unwrap_or_else(|_| panic!("recompute thread panicked"));
    println!(
        "risk recompute passes published during the second run: {}",
        passes.load(Ordering::Relaxed)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
