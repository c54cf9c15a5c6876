//! Accuracy of `riskgate::risk` against the independent Python reference
//! (numpy / scipy / arch / empyrical) in `tests/fixtures/risk/reference.json`,
//! produced by `tests/reference/make_fixtures.py` from the committed CSVs.
//!
//! Tolerances: closed-form and sample statistics 1e-9 relative; MLE fits
//! 1e-3 on parameters and ~1e-8 relative on the optimum log-likelihood (the
//! optimisers differ, the optimum must not); Monte Carlo within 4 standard
//! errors of the analytic value.

use nalgebra::DMatrix;
use riskgate::risk::covariance::{correlation_from_covariance, ewma_covariance, sample_covariance};
use riskgate::risk::returns::{log_returns, simple_returns, ReturnKind, ReturnsMatrix};
use riskgate::risk::{garch, student_t, var, volatility};
use serde_json::Value;

const REL: f64 = 1e-9;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/risk/reference.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

fn prices() -> (Vec<String>, Vec<Vec<f64>>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/risk/prices.csv"
    );
    read_csv(path)
}

fn equity() -> Vec<f64> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/risk/equity.csv"
    );
    read_csv(path).1.remove(0)
}

/// Column-wise CSV reader (first column is the day index and is dropped).
fn read_csv(path: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).expect("csv present");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let mut cols = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        for (c, v) in cols.iter_mut().zip(line.split(',').skip(1)) {
            c.push(v.parse::<f64>().unwrap());
        }
    }
    (header, cols)
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn vecf(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn matf(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(vecf).collect()
}

#[track_caller]
fn close_rel(got: f64, want: f64, rel: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= rel,
        "{what}: got {got}, want {want}, rel err {err:e} > {rel:e}"
    );
}

#[track_caller]
fn close_abs(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want}, abs err {:e} > {tol:e}",
        (got - want).abs()
    );
}

fn matrix_close(got: &DMatrix<f64>, want: &[Vec<f64>], rel: f64, what: &str) {
    let scale = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, row) in want.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            // entries near zero are compared relative to the matrix's scale
            let err = (got[(i, j)] - w).abs() / w.abs().max(scale * 1e-3);
            assert!(
                err <= rel,
                "{what}[{i},{j}]: got {} want {w} rel {err:e}",
                got[(i, j)]
            );
        }
    }
}

struct Data {
    fx: Value,
    names: Vec<String>,
    returns: ReturnsMatrix,
    positions: Vec<f64>,
}

fn data() -> Data {
    let fx = fixture();
    let (names, closes) = prices();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let returns = ReturnsMatrix::from_closes(&refs, &closes, ReturnKind::Log).unwrap();
    let positions = vecf(&fx["positions_usd"]);
    Data {
        fx,
        names,
        returns,
        positions,
    }
}

#[test]
fn returns_match_numpy() {
    let d = data();
    let (_, closes) = prices();
    let want_log = matf(&d.fx["log_returns"]);
    let want_simple = matf(&d.fx["simple_returns"]);
    for (i, c) in closes.iter().enumerate() {
        let lr = log_returns(c).unwrap();
        let sr = simple_returns(c).unwrap();
        assert_eq!(lr.len(), want_log[i].len());
        for t in 0..lr.len() {
            close_abs(lr[t], want_log[i][t], 1e-15, "log return");
            close_abs(sr[t], want_simple[i][t], 1e-15, "simple return");
            assert_eq!(d.returns.row(t)[i], lr[t]);
        }
    }
}

#[test]
fn volatility_matches_numpy() {
    let d = data();
    let lb = d.fx["cov_lookback"].as_u64().unwrap() as usize;
    let lambda = f(&d.fx["ewma_lambda"]);
    let v = &d.fx["vol"];
    for i in 0..d.names.len() {
        let col = d.returns.column(i);
        close_rel(
            volatility::sample_vol_daily(&col).unwrap(),
            f(&v["sample_daily_full"][i]),
            REL,
            "sample vol full",
        );
        let tail = &col[col.len() - lb..];
        let s = volatility::sample_vol_daily(tail).unwrap();
        close_rel(
            s,
            f(&v["sample_daily_lookback"][i]),
            REL,
            "sample vol lookback",
        );
        close_rel(
            volatility::annualise_vol(s),
            f(&v["sample_annualised_lookback"][i]),
            REL,
            "annualised vol",
        );
        close_rel(
            volatility::ewma_vol_daily(&col, lambda).unwrap(),
            f(&v["ewma_daily"][i]),
            REL,
            "ewma vol",
        );
    }
}

#[test]
fn covariance_and_correlation_match_numpy() {
    let d = data();
    let lb = d.fx["cov_lookback"].as_u64().unwrap() as usize;
    let lambda = f(&d.fx["ewma_lambda"]);
    let refs: Vec<&str> = d.names.iter().map(String::as_str).collect();
    let c = &d.fx["cov"];
    let cov = sample_covariance(&d.returns.last(lb).unwrap()).unwrap();
    matrix_close(&cov, &matf(&c["sample_lookback"]), REL, "sample cov");
    let (corr, repaired) = correlation_from_covariance(&cov, &refs).unwrap();
    assert!(!repaired);
    matrix_close(&corr, &matf(&c["corr_sample_lookback"]), REL, "sample corr");
    let ew = ewma_covariance(&d.returns, lambda).unwrap();
    matrix_close(&ew, &matf(&c["ewma"]), REL, "ewma cov");
    let (corr, _) = correlation_from_covariance(&ew, &refs).unwrap();
    matrix_close(&corr, &matf(&c["corr_ewma"]), REL, "ewma corr");
}

fn var_rows(fx: &Value, method: &str) -> Vec<(f64, usize, f64, f64)> {
    fx["var"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == method)
        .map(|r| {
            (
                f(&r["confidence"]),
                r["horizon_days"].as_u64().unwrap() as usize,
                f(&r["var_usd"]),
                f(&r["es_usd"]),
            )
        })
        .collect()
}

#[test]
fn historical_var_es_match_numpy() {
    let d = data();
    let rows = var_rows(&d.fx, "historical");
    assert_eq!(rows.len(), 9);
    for (c, h, v, e) in rows {
        let got = var::historical_var_es(&d.returns, &d.positions, c, h).unwrap();
        close_rel(got.var_usd, v, REL, &format!("HS VaR c={c} h={h}"));
        close_rel(got.es_usd, e, REL, &format!("HS ES c={c} h={h}"));
    }
}

#[test]
fn parametric_normal_var_es_match_scipy() {
    let d = data();
    let lb = d.fx["cov_lookback"].as_u64().unwrap() as usize;
    let lambda = f(&d.fx["ewma_lambda"]);
    let cov = sample_covariance(&d.returns.last(lb).unwrap()).unwrap();
    let sigma = var::portfolio_sigma_usd(&cov, &d.positions).unwrap();
    close_rel(
        sigma,
        f(&d.fx["portfolio"]["sigma_daily_usd"]),
        REL,
        "portfolio sigma",
    );
    for (c, h, v, e) in var_rows(&d.fx, "normal") {
        let got = var::normal_var_es(sigma, c, h).unwrap();
        close_rel(got.var_usd, v, REL, &format!("normal VaR c={c} h={h}"));
        close_rel(got.es_usd, e, REL, &format!("normal ES c={c} h={h}"));
    }
    let ew = ewma_covariance(&d.returns, lambda).unwrap();
    let sigma = var::portfolio_sigma_usd(&ew, &d.positions).unwrap();
    for (c, h, v, e) in var_rows(&d.fx, "normal_ewma") {
        let got = var::normal_var_es(sigma, c, h).unwrap();
        close_rel(got.var_usd, v, REL, &format!("normal-EWMA VaR c={c} h={h}"));
        close_rel(got.es_usd, e, REL, &format!("normal-EWMA ES c={c} h={h}"));
    }
}

#[test]
fn cornish_fisher_var_es_match_scipy() {
    let d = data();
    let lb = d.fx["cov_lookback"].as_u64().unwrap() as usize;
    let cov = sample_covariance(&d.returns.last(lb).unwrap()).unwrap();
    let sigma = var::portfolio_sigma_usd(&cov, &d.positions).unwrap();
    let pnl = d.returns.portfolio_pnl(&d.positions);
    let (s, k) = riskgate::risk::stats::skew_excess_kurtosis(&pnl);
    close_rel(s, f(&d.fx["portfolio"]["pnl_skew"]), REL, "skew");
    close_rel(
        k,
        f(&d.fx["portfolio"]["pnl_excess_kurtosis"]),
        REL,
        "kurtosis",
    );
    for (c, h, v, e) in var_rows(&d.fx, "cornish_fisher") {
        let got = var::cornish_fisher_var_es(sigma, s, k, c, h).unwrap();
        close_rel(got.var_usd, v, REL, &format!("CF VaR c={c} h={h}"));
        // the reference integrates the CF quantile numerically (scipy quad)
        close_rel(got.es_usd, e, REL, &format!("CF ES c={c} h={h}"));
    }
}

#[test]
fn student_t_fit_and_var_match_scipy() {
    let d = data();
    let st = &d.fx["student_t"];
    // portfolio P&L fit with location fixed at 0 (scipy t.fit(floc=0)), in $mm
    let pnl: Vec<f64> = d
        .returns
        .portfolio_pnl(&d.positions)
        .iter()
        .map(|x| x / 1e6)
        .collect();
    let want = &st["portfolio_pnl_musd_zero_loc"];
    let fit = student_t::fit_student_t_fixed_loc(&pnl, 0.0).unwrap();
    close_rel(fit.df, f(&want["df"]), 1e-3, "t df (floc=0)");
    close_rel(fit.scale, f(&want["scale"]), 1e-3, "t scale (floc=0)");
    // the likelihood optimum itself must agree closely and not be worse
    close_rel(fit.loglik, f(&want["loglik"]), 1e-9, "t loglik (floc=0)");
    assert!(fit.loglik >= f(&want["loglik"]) - 1e-9);
    // full three-parameter fit on BTC log returns
    let btc = d.returns.column(0);
    let want = &st["btc_log_returns_full"];
    let fit3 = student_t::fit_student_t(&btc).unwrap();
    close_rel(fit3.df, f(&want["df"]), 1e-3, "t df");
    close_rel(fit3.scale, f(&want["scale"]), 1e-3, "t scale");
    close_abs(fit3.loc, f(&want["loc"]), 1e-3 * f(&want["scale"]), "t loc");
    close_rel(fit3.loglik, f(&want["loglik"]), 1e-9, "t loglik");
    assert!(fit3.loglik >= f(&want["loglik"]) - 1e-9);
    // VaR/ES: from the reference's fitted parameters the closed forms agree to
    // 1e-9; from our own fit they agree to the fit tolerance
    let df_ref = f(&st["portfolio_pnl_musd_zero_loc"]["df"]);
    let scale_ref = f(&st["portfolio_pnl_musd_zero_loc"]["scale"]) * 1e6;
    for (c, h, v, e) in var_rows(&d.fx, "student_t") {
        let got = var::student_t_var_es(df_ref, scale_ref, c, h).unwrap();
        close_rel(got.var_usd, v, REL, &format!("t VaR c={c} h={h}"));
        close_rel(got.es_usd, e, REL, &format!("t ES c={c} h={h}"));
        let ours = var::student_t_var_es(fit.df, fit.scale * 1e6, c, h).unwrap();
        close_rel(
            ours.var_usd,
            v,
            1e-3,
            &format!("t VaR (own fit) c={c} h={h}"),
        );
        close_rel(ours.es_usd, e, 1e-3, &format!("t ES (own fit) c={c} h={h}"));
    }
}

#[test]
fn garch_matches_arch() {
    let d = data();
    for (i, want) in d.fx["garch"].as_array().unwrap().iter().enumerate() {
        let r = d.returns.column(i);
        let name = &d.names[i];
        close_rel(garch::backcast(&r), f(&want["backcast"]), REL, "backcast");
        // identical likelihood function: evaluate ours at arch's optimum
        let (ll_at_arch, _) = garch::garch_loglik(
            &r,
            f(&want["omega"]),
            f(&want["alpha"]),
            f(&want["beta"]),
            garch::backcast(&r),
        );
        close_rel(
            ll_at_arch,
            f(&want["loglik"]),
            1e-10,
            &format!("{name} loglik at arch params"),
        );
        let fit = garch::fit_garch11(&r).unwrap();
        // optimum: same value, and ours not materially worse
        close_rel(
            fit.loglik,
            f(&want["loglik"]),
            1e-8,
            &format!("{name} GARCH loglik"),
        );
        assert!(
            fit.loglik >= f(&want["loglik"]) - 1e-8 * f(&want["loglik"]).abs(),
            "{name}: our optimum is worse"
        );
        close_abs(fit.alpha, f(&want["alpha"]), 1e-3, &format!("{name} alpha"));
        close_abs(fit.beta, f(&want["beta"]), 1e-3, &format!("{name} beta"));
        close_rel(fit.omega, f(&want["omega"]), 1e-2, &format!("{name} omega"));
        // forecasts: same recursion; the residual difference is the parameters'
        for (k, wv) in vecf(&want["forecast_var_daily"]).iter().enumerate() {
            close_rel(
                fit.forecast_variance(30)[k],
                *wv,
                1e-3,
                &format!("{name} forecast h={}", k + 1),
            );
        }
    }
}

// ---------------------------------------------------------------- Monte Carlo

/// Standard error of the empirical `a`-quantile: sqrt(a(1−a)/n) / f(q).
fn quantile_se(a: f64, n: usize, density_at_q: f64) -> f64 {
    (a * (1.0 - a) / n as f64).sqrt() / density_at_q
}

/// Asymptotic s.e. of the ES estimator: sqrt([Var(L | L ≥ VaR) + c(ES − VaR)²] / (n a)).
fn es_se(a: f64, n: usize, tail_var: f64, es: f64, var: f64) -> f64 {
    ((tail_var + (1.0 - a) * (es - var).powi(2)) / (n as f64 * a)).sqrt()
}

fn sample_cov(d: &Data) -> DMatrix<f64> {
    let lb = d.fx["cov_lookback"].as_u64().unwrap() as usize;
    sample_covariance(&d.returns.last(lb).unwrap()).unwrap()
}

#[test]
fn monte_carlo_normal_within_sampling_error() {
    use riskgate::risk::montecarlo::{var_es_from_simulation, MonteCarloModel, Shocks};
    let d = data();
    let cov = sample_cov(&d);
    let sigma = var::portfolio_sigma_usd(&cov, &d.positions).unwrap();
    let model = MonteCarloModel::new(&cov, Shocks::Normal).unwrap();
    let n = 10_000;
    for h in [1usize, 5] {
        let mut pnl = model.simulate_pnl(&d.positions, h, n, 42).unwrap();
        let confs = [0.95, 0.99];
        let got = var_es_from_simulation(&mut pnl, &confs).unwrap();
        for (c, g) in confs.iter().zip(got) {
            let a = 1.0 - c;
            let s = sigma * (h as f64).sqrt();
            let want = var::normal_var_es(sigma, *c, h).unwrap();
            let t = want.var_usd / s; // standardised threshold
            let se_v = quantile_se(a, n, riskgate::risk::stats::norm_pdf(t) / s);
            let lam = want.es_usd / s;
            let tail_var = s * s * (1.0 + t * lam - lam * lam);
            let se_e = es_se(a, n, tail_var, want.es_usd, want.var_usd);
            assert!(
                (g.var_usd - want.var_usd).abs() <= 4.0 * se_v,
                "MC normal VaR c={c} h={h}: {} vs {} (se {se_v})",
                g.var_usd,
                want.var_usd
            );
            assert!(
                (g.es_usd - want.es_usd).abs() <= 4.0 * se_e,
                "MC normal ES c={c} h={h}: {} vs {} (se {se_e})",
                g.es_usd,
                want.es_usd
            );
        }
    }
}

#[test]
fn monte_carlo_student_t_within_sampling_error() {
    use riskgate::risk::montecarlo::{var_es_from_simulation, MonteCarloModel, Shocks};
    use riskgate::risk::stats::{t_pdf_std, t_ppf_std};
    let d = data();
    let cov = sample_cov(&d);
    let sigma = var::portfolio_sigma_usd(&cov, &d.positions).unwrap();
    let df: f64 = 4.0;
    // 1-day P&L of variance-matched multivariate t is exactly σ·sqrt((ν−2)/ν)·t_ν
    let scale = sigma * ((df - 2.0) / df).sqrt();
    let model = MonteCarloModel::new(&cov, Shocks::StudentT { df }).unwrap();
    let n = 10_000;
    let mut pnl = model.simulate_pnl(&d.positions, 1, n, 7).unwrap();
    for c in [0.95, 0.99] {
        let got = var_es_from_simulation(&mut pnl, &[c]).unwrap()[0];
        let want = var::student_t_var_es(df, scale, c, 1).unwrap();
        let q = t_ppf_std(c, df);
        let se_v = quantile_se(1.0 - c, n, t_pdf_std(q, df) / scale);
        assert!(
            (got.var_usd - want.var_usd).abs() <= 4.0 * se_v,
            "MC t VaR c={c}: {} vs {} (se {se_v})",
            got.var_usd,
            want.var_usd
        );
    }
}

#[test]
fn monte_carlo_is_reproducible_and_garch_reduces_to_constant() {
    use riskgate::risk::garch::GarchFit;
    use riskgate::risk::montecarlo::{MonteCarloModel, Shocks};
    let d = data();
    let cov = sample_cov(&d);
    let shocks = Shocks::StudentT { df: 5.0 };
    let m = MonteCarloModel::new(&cov, shocks).unwrap();
    let a = m.simulate_pnl(&d.positions, 5, 1000, 1).unwrap();
    assert_eq!(a, m.simulate_pnl(&d.positions, 5, 1000, 1).unwrap());
    assert_ne!(a, m.simulate_pnl(&d.positions, 5, 1000, 2).unwrap());
    // GARCH with α = β = 0 and ω = Σ_ii has constant variance Σ_ii, and
    // diag(σ)·chol(R) = chol(Σ): identical paths draw for draw.
    let fits: Vec<GarchFit> = (0..cov.nrows())
        .map(|i| GarchFit {
            omega: cov[(i, i)],
            alpha: 0.0,
            beta: 0.0,
            loglik: 0.0,
            n_obs: 0,
            last_variance: 0.0,
            last_return: 0.0,
        })
        .collect();
    let g = MonteCarloModel::with_garch(&cov, shocks, &fits).unwrap();
    let b = g.simulate_pnl(&d.positions, 5, 1000, 1).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}");
    }
}

// ---------------------------------------------------------------- performance, attribution

#[test]
fn performance_matches_empyrical() {
    use riskgate::risk::performance::performance;
    let d = data();
    let (_, closes) = prices();
    let p = performance(&equity(), Some(&closes[0])).unwrap();
    let w = &d.fx["performance"];
    close_rel(
        p.max_drawdown_frac,
        f(&w["max_drawdown_frac"]),
        REL,
        "max drawdown",
    );
    close_rel(
        p.current_drawdown_frac,
        f(&w["current_drawdown_frac"]),
        REL,
        "current drawdown",
    );
    close_rel(
        p.annual_return_frac,
        f(&w["annual_return_frac"]),
        REL,
        "annual return",
    );
    close_rel(p.sharpe_annualised.unwrap(), f(&w["sharpe"]), REL, "sharpe");
    close_rel(
        p.sortino_annualised.unwrap(),
        f(&w["sortino"]),
        REL,
        "sortino",
    );
    close_rel(p.calmar.unwrap(), f(&w["calmar"]), REL, "calmar");
    close_rel(p.beta.unwrap(), f(&w["beta"]), REL, "beta");
    close_rel(
        p.correlation.unwrap(),
        f(&w["correlation"]),
        REL,
        "correlation",
    );
}

#[test]
fn attribution_and_incremental_match_reference() {
    use riskgate::risk::attribution::{group_attribution, parametric_euler};
    use riskgate::risk::IncrementalVar;
    use std::collections::BTreeMap;
    let d = data();
    let cov = sample_cov(&d);
    let w = &d.fx["attribution"];
    let e = parametric_euler(&cov, &d.positions, f(&w["confidence"]), 1).unwrap();
    close_rel(e.var_usd, f(&w["var_usd"]), REL, "attribution VaR");
    for (i, (m, c)) in e.marginal_var.iter().zip(&e.component_var_usd).enumerate() {
        close_rel(*m, f(&w["marginal_var"][i]), REL, "marginal VaR");
        close_rel(*c, f(&w["component_var_usd"][i]), REL, "component VaR");
    }
    close_rel(
        e.component_var_usd.iter().sum::<f64>(),
        e.var_usd,
        1e-12,
        "components sum",
    );
    let groups: BTreeMap<String, String> = d.fx["groups"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let g = group_attribution(&d.names, &d.positions, &e.component_var_usd, &groups);
    for gr in &g {
        close_rel(
            gr.component_var_usd,
            f(&w["group_component_var_usd"][&gr.group]),
            REL,
            &gr.group,
        );
    }
    let inc = IncrementalVar::new(&d.names, &cov, &d.positions, 0.99, 1).unwrap();
    let iw = &d.fx["incremental"];
    let i = iw["asset_index"].as_u64().unwrap() as usize;
    let delta = f(&iw["delta_usd"]);
    close_rel(
        inc.exact_var_usd(i, delta).unwrap(),
        f(&iw["exact_var_usd"]),
        REL,
        "exact incremental",
    );
    close_rel(
        inc.exact_var_usd_multi(&[(i, delta)]).unwrap(),
        f(&iw["exact_var_usd"]),
        REL,
        "exact multi",
    );
    assert_eq!(inc.index_of("SOL"), Some(2));
    assert_eq!(inc.exact_var_usd(99, 1.0), None);
}

// ---------------------------------------------------------------- snapshot

fn inputs() -> riskgate::risk::RiskInputs {
    use riskgate::risk::snapshot::AssetInput;
    let d = data();
    let (names, closes) = prices();
    let eq = equity();
    riskgate::risk::RiskInputs {
        assets: names
            .iter()
            .zip(&closes)
            .zip(&d.positions)
            .map(|((s, c), w)| AssetInput {
                symbol: s.clone(),
                exposure_usd: *w,
                closes: c.clone(),
            })
            .collect(),
        capital_usd: 10_000_000.0,
        benchmark_closes: Some(closes[0].clone()),
        equity_curve_usd: eq,
        groups: d.fx["groups"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
    }
}

#[test]
fn snapshot_reproduces_reference_figures() {
    use riskgate::risk::var::VarMethod;
    use riskgate::risk::{compute_snapshot, RiskParams};
    let d = data();
    let params = RiskParams {
        mc_sims: 2_000,
        ..RiskParams::default()
    };
    let r = compute_snapshot(&inputs(), &params).unwrap();
    for (method, name) in [
        (VarMethod::Historical, "historical"),
        (VarMethod::Normal, "normal"),
        (VarMethod::CornishFisher, "cornish_fisher"),
    ] {
        for (c, h, v, e) in var_rows(&d.fx, name) {
            let got = r.var(method, c, h).unwrap();
            close_rel(
                got.var_usd,
                v,
                REL,
                &format!("snapshot {name} VaR c={c} h={h}"),
            );
            close_rel(
                got.es_usd,
                e,
                REL,
                &format!("snapshot {name} ES c={c} h={h}"),
            );
        }
    }
    for (c, h, v, _) in var_rows(&d.fx, "student_t") {
        close_rel(
            r.var(VarMethod::StudentT, c, h).unwrap().var_usd,
            v,
            1e-3,
            "snapshot t VaR",
        );
    }
    assert_eq!(r.var.len(), 5 * 9);
    close_rel(
        r.attribution_var_usd,
        f(&d.fx["attribution"]["var_usd"]),
        REL,
        "snapshot attribution",
    );
    let frac: f64 = r.per_asset.iter().map(|a| a.component_var_frac).sum();
    close_rel(frac, 1.0, 1e-12, "component fractions");
    close_rel(
        r.performance.sharpe_annualised.unwrap(),
        f(&d.fx["performance"]["sharpe"]),
        REL,
        "snapshot sharpe",
    );
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"monte_carlo\"") && json.contains("\"correlation\""));
    // same inputs ⇒ same report (seeded MC)
    assert_eq!(compute_snapshot(&inputs(), &params).unwrap(), r);
}

#[test]
fn snapshot_fails_closed_on_bad_history() {
    use riskgate::risk::{compute_snapshot, RiskError, RiskParams};
    let p = RiskParams::default();
    let mut short = inputs();
    for a in &mut short.assets {
        a.closes.drain(..300);
    }
    assert!(matches!(
        compute_snapshot(&short, &p),
        Err(RiskError::ShortHistory { .. })
    ));
    let mut misaligned = inputs();
    misaligned.assets[3].closes.pop();
    assert!(matches!(
        compute_snapshot(&misaligned, &p),
        Err(RiskError::DimensionMismatch { .. })
    ));
    let mut bad = inputs();
    bad.assets[1].closes[200] = f64::NAN;
    assert!(matches!(
        compute_snapshot(&bad, &p),
        Err(RiskError::BadPrice { .. })
    ));
    let mut dup = inputs();
    dup.assets[1].symbol = "BTC".into();
    assert!(matches!(
        compute_snapshot(&dup, &p),
        Err(RiskError::DuplicateAsset { .. })
    ));
    let mut none = inputs();
    none.assets.clear();
    assert!(matches!(
        compute_snapshot(&none, &p),
        Err(RiskError::NoAssets)
    ));
    let mut flat = inputs();
    for x in &mut flat.assets[4].closes {
        *x = 1.0;
    }
    assert!(matches!(
        compute_snapshot(&flat, &p),
        Err(RiskError::ZeroVariance { .. })
    ));
    let mut noeq = inputs();
    noeq.equity_curve_usd.truncate(1);
    assert!(matches!(
        compute_snapshot(&noeq, &p),
        Err(RiskError::ShortHistory { .. })
    ));
}
