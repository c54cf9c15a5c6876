//! Criterion benchmarks of `riskgate::risk` (see docs/risk-analytics.md for
//! the figures and `benches/risk_numpy.py` for the numpy counterpart).
//!
//! Run: `cargo bench --bench risk -- --warm-up-time 1 --measurement-time 3`
//!
//! Data: 50 synthetic assets × 365 daily closes (seeded, one common factor,
//! fat-tailed), the same generator shape as the numpy script.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use riskgate::risk::covariance::sample_covariance;
use riskgate::risk::garch::fit_garch11;
use riskgate::risk::montecarlo::{MonteCarloModel, Shocks};
use riskgate::risk::snapshot::{AssetInput, McShocks};
use riskgate::risk::{compute_snapshot, ReturnKind, ReturnsMatrix, RiskInputs, RiskParams};

const N_ASSETS: usize = 50;
const N_CLOSES: usize = 365;
const SIMS: usize = 10_000;

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
            let last = *closes[i].last().unwrap();
            closes[i].push(last * (vols[i] * mix * z).exp());
        }
    }
    let mut equity = vec![1.0e7];
    for t in 1..N_CLOSES {
        let r = 0.5 * (closes[0][t] / closes[0][t - 1]).ln()
            + 0.002 * rng.sample::<f64, _>(StandardNormal);
        let last = *equity.last().unwrap();
        equity.push(last * r.exp());
    }
    RiskInputs {
        assets: closes
            .iter()
            .enumerate()
            .map(|(i, c)| AssetInput {
                symbol: format!("A{i:02}"),
                exposure_usd: if i % 7 == 3 {
                    -4.0e5
                } else {
                    1.0e6 + 2.0e4 * i as f64
                },
                closes: c.clone(),
            })
            .collect(),
        capital_usd: 2.0e7,
        benchmark_closes: Some(closes[0].clone()),
        equity_curve_usd: equity,
        groups: (0..N_ASSETS)
            .map(|i| (format!("A{i:02}"), format!("G{}", i % 5)))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn params_1d() -> RiskParams {
    RiskParams {
        horizons_days: vec![1],
        mc_sims: SIMS,
        mc_shocks: McShocks::StudentTFitted,
        ..RiskParams::default()
    }
}

fn benches(c: &mut Criterion) {
    let inp = inputs();
    let names: Vec<&str> = inp.assets.iter().map(|a| a.symbol.as_str()).collect();
    let closes: Vec<&[f64]> = inp.assets.iter().map(|a| a.closes.as_slice()).collect();
    let w: Vec<f64> = inp.assets.iter().map(|a| a.exposure_usd).collect();
    let r = ReturnsMatrix::from_closes(&names, &closes, ReturnKind::Log).unwrap();
    let cov = sample_covariance(&r.last(60).unwrap()).unwrap();

    let p1 = params_1d();
    c.bench_function("snapshot_1d_all_methods_50x365_10k_t", |b| {
        b.iter(|| compute_snapshot(black_box(&inp), black_box(&p1)).unwrap())
    });
    let p_no_garch = RiskParams {
        fit_garch: false,
        ..params_1d()
    };
    c.bench_function("snapshot_1d_no_garch_50x365_10k_t", |b| {
        b.iter(|| compute_snapshot(black_box(&inp), black_box(&p_no_garch)).unwrap())
    });

    c.bench_function("garch_fit_50_assets_364d", |b| {
        let cols: Vec<Vec<f64>> = (0..N_ASSETS).map(|i| r.column(i)).collect();
        b.iter(|| {
            for col in &cols {
                black_box(fit_garch11(black_box(col)).unwrap());
            }
        })
    });

    let model_t = MonteCarloModel::new(&cov, Shocks::StudentT { df: 4.0 }).unwrap();
    c.bench_function("mc_1d_10k_t_50", |b| {
        b.iter(|| model_t.simulate_pnl(black_box(&w), 1, SIMS, 1).unwrap())
    });
    let mut g = c.benchmark_group("mc_30d");
    g.sample_size(10);
    g.bench_function("mc_30d_paths_10k_t_50", |b| {
        b.iter(|| model_t.simulate_pnl(black_box(&w), 30, SIMS, 1).unwrap())
    });
    let fits: Vec<_> = (0..N_ASSETS)
        .map(|i| fit_garch11(&r.column(i)).unwrap())
        .collect();
    let model_g = MonteCarloModel::with_garch(&cov, Shocks::StudentT { df: 4.0 }, &fits).unwrap();
    g.bench_function("mc_30d_paths_10k_t_garch_50", |b| {
        b.iter(|| model_g.simulate_pnl(black_box(&w), 30, SIMS, 1).unwrap())
    });
    g.finish();

    let report = compute_snapshot(
        &inp,
        &RiskParams {
            mc_sims: 1000,
            horizons_days: vec![1],
            ..RiskParams::default()
        },
    )
    .unwrap();
    let inc = report
        .incremental
        .expect("snapshot carries the incremental state");
    c.bench_function("incremental_exact_check_50", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 17) % N_ASSETS;
            black_box(inc.exact_var_usd(black_box(i), black_box(25_000.0)))
        })
    });
    c.bench_function("incremental_estimate_check_50", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 17) % N_ASSETS;
            black_box(inc.estimate_var_usd(black_box(i), black_box(25_000.0)))
        })
    });
}

criterion_group!(risk, benches);
criterion_main!(risk);
