#!/usr/bin/env python3
"""Independent Python reference for `riskgate::risk` (see docs/risk-analytics.md).

Reads the committed synthetic price series `tests/fixtures/risk/prices.csv` and
equity curve `tests/fixtures/risk/equity.csv`, and writes
`tests/fixtures/risk/reference.json`, which `tests/risk_accuracy.rs` checks the
Rust implementation against. CI runs no Python: the JSON is committed.

Libraries used as the reference (not re-derivations of the Rust code):
  * numpy            returns, sample/EWMA covariance, quantiles (method="linear")
  * scipy.stats      norm/t quantiles and densities, skew/kurtosis, t.fit (MLE)
  * scipy.integrate  numerical cross-checks of the closed-form ES formulas
  * arch             GARCH(1,1) maximum likelihood (mean="Zero", dist="normal")
  * empyrical        max drawdown, Sharpe, Sortino, Calmar, beta (annualisation=365)

Usage (from the repository root):
  pip install numpy scipy arch pandas empyrical-reloaded
  python3 tests/reference/make_fixtures.py                    # rewrite reference.json
  python3 tests/reference/make_fixtures.py --generate-prices  # ALSO regenerate the CSVs
The CSVs were generated once with --generate-prices (seed 20240601) and committed.
"""

import argparse
import json
import math
import pathlib
import sys
import warnings

import numpy as np
from scipy import integrate, optimize, stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "risk"
PRICES_CSV = FIX / "prices.csv"
EQUITY_CSV = FIX / "equity.csv"
OUT_JSON = FIX / "reference.json"

ASSETS = ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX"]
GROUPS = {
    "BTC": "store-of-value",
    "ETH": "layer1",
    "SOL": "layer1",
    "BNB": "exchange",
    "XRP": "payments",
    "DOGE": "meme",
    "ADA": "layer1",
    "AVAX": "layer1",
}
# Signed USD notionals (two shorts) used by every VaR fixture.
POSITIONS_USD = [5.0e6, 3.0e6, -1.0e6, 1.5e6, 0.8e6, -0.5e6, 0.6e6, 1.0e6]
CONFIDENCES = [0.95, 0.99, 0.999]
HORIZONS = [1, 5, 30]
COV_LOOKBACK = 60
EWMA_LAMBDA = 0.94
ANN = 365


# ---------------------------------------------------------------- generation
def generate_prices(seed: int = 20240601, n_closes: int = 400) -> None:
    """Fat-tailed, volatility-clustered, correlated crypto-like daily closes."""
    rng = np.random.default_rng(seed)
    n = len(ASSETS)
    start = np.array([42000.0, 2300.0, 95.0, 310.0, 0.62, 0.085, 0.55, 35.0])
    ann_vol = np.array([0.55, 0.70, 1.05, 0.65, 0.85, 1.10, 0.90, 1.00])
    daily_var = (ann_vol / math.sqrt(ANN)) ** 2
    alpha = rng.uniform(0.06, 0.12, n)
    beta = rng.uniform(0.83, 0.90, n)
    omega = daily_var * (1 - alpha - beta)
    # one-factor correlation (crypto beta to BTC) + idiosyncratic
    load = np.array([1.0, 0.85, 0.75, 0.7, 0.6, 0.65, 0.7, 0.75])
    corr = np.outer(load, load)
    np.fill_diagonal(corr, 1.0)
    chol = np.linalg.cholesky(corr)
    nu = 5.0
    h = daily_var.copy()
    logp = np.log(start)
    closes = [start.copy()]
    for _ in range(n_closes - 1):
        z = chol @ rng.standard_normal(n)
        w = rng.chisquare(nu)
        eps = z / math.sqrt(w / nu) * math.sqrt((nu - 2) / nu)
        r = 0.0004 + np.sqrt(h) * eps
        h = omega + alpha * (r - 0.0004) ** 2 + beta * h
        logp = logp + r
        closes.append(np.exp(logp))
    closes = np.array(closes)
    with open(PRICES_CSV, "w") as f:
        f.write("day," + ",".join(ASSETS) + "\n")
        for d, row in enumerate(closes):
            f.write(f"{d}," + ",".join(repr(float(x)) for x in row) + "\n")

    # equity curve of a leveraged long-biased book, with its own noise
    eq = [10_000_000.0]
    rets = np.diff(np.log(closes), axis=0)
    for t in range(len(rets)):
        r = 0.6 * rets[t, 0] + 0.3 * rets[t, 1] + 0.004 * rng.standard_t(5)
        eq.append(eq[-1] * math.exp(r))
    with open(EQUITY_CSV, "w") as f:
        f.write("day,equity_usd\n")
        for d, e in enumerate(eq):
            f.write(f"{d},{e!r}\n")


def load_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [[float(x) for x in line.strip().split(",")] for line in f if line.strip()]
    a = np.array(rows)
    return header[1:], a[:, 1:]


# ---------------------------------------------------------------- helpers
def q_linear(x, p):
    # numpy default quantile: linear interpolation between order statistics,
    # position p*(n-1) (Hyndman & Fan type 7).
    return float(np.quantile(x, p, method="linear"))


def hs_var_es(pnl):
    out = {}
    for c in CONFIDENCES:
        q = q_linear(pnl, 1 - c)
        tail = pnl[pnl <= q]
        out[c] = (-q, -float(tail.mean()))
    return out


def normal_var_es(sigma, c, h):
    z = stats.norm.ppf(c)
    s = sigma * math.sqrt(h)
    return s * z, s * stats.norm.pdf(z) / (1 - c)


def cf_z(z, s, k):
    return (
        z
        + (z * z - 1) * s / 6
        + (z**3 - 3 * z) * k / 24
        - (2 * z**3 - 5 * z) * s * s / 36
    )


def cf_var_es(sigma, skew, exkurt, c, h):
    a = 1 - c
    za = stats.norm.ppf(a)
    var = -math.sqrt(h) * sigma * cf_z(za, skew, exkurt)
    # ES = -(sigma sqrt(h)/a) * integral_0^a z_cf(Phi^-1(u)) du, done numerically here
    # (the Rust side uses the closed form via truncated-normal moments).
    integral, _ = integrate.quad(
        lambda u: cf_z(stats.norm.ppf(u), skew, exkurt), 0, a, epsabs=1e-14, epsrel=1e-13, limit=200
    )
    es = -math.sqrt(h) * sigma * integral / a
    return var, es


def t_var_es(df, scale, c, h):
    q = stats.t.ppf(c, df)
    var = math.sqrt(h) * scale * q
    es_closed = math.sqrt(h) * scale * stats.t.pdf(q, df) / (1 - c) * (df + q * q) / (df - 1)
    # numerical cross-check of the closed form
    num, _ = integrate.quad(lambda u: stats.t.ppf(u, df), c, 1, epsabs=1e-12, epsrel=1e-10, limit=500)
    es_num = math.sqrt(h) * scale * num / (1 - c)
    assert abs(es_num - es_closed) <= 1e-7 * abs(es_closed), (es_num, es_closed)
    return var, es_closed


def tight_fmin(func, x0, args=(), disp=0):
    return optimize.fmin(func, x0, args=args, disp=0, xtol=1e-12, ftol=1e-14, maxiter=20000, maxfun=40000)


def t_fit(x, floc=None):
    """scipy.stats.t.fit MLE, refined with a tight Nelder-Mead (scipy's default
    tolerance leaves ~1e-4 relative error in df)."""
    kw = {} if floc is None else {"floc": floc}
    default = stats.t.fit(x, **kw)
    tight = stats.t.fit(x, optimizer=tight_fmin, **kw)
    ll_d = float(np.sum(stats.t.logpdf(x, *default)))
    ll_t = float(np.sum(stats.t.logpdf(x, *tight)))
    best = tight if ll_t >= ll_d else default
    return {
        "df": float(best[0]),
        "loc": float(best[1]),
        "scale": float(best[2]),
        "loglik": max(ll_t, ll_d),
        "scipy_default": {"df": float(default[0]), "loc": float(default[1]), "scale": float(default[2]), "loglik": ll_d},
    }


def garch_fit(r):
    from arch import arch_model

    scale = 100.0
    y = r * scale
    am = arch_model(y, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    res_default = am.fit(disp="off")
    # The Gaussian GARCH likelihood can be multi-modal (e.g. an interior local
    # optimum next to a better one on the alpha = 0 boundary). arch's SLSQP
    # from its default start can stop at the local one, so the reference is
    # the best of arch fits from its default start and a grid of starts, all
    # at tight tolerance.
    v = float(np.mean(y**2))
    starts = [None] + [
        np.array([m * v * (1 - a - b), a, b])
        for a, b in [(0.0, 0.97), (0.02, 0.95), (0.05, 0.9), (0.1, 0.85), (0.2, 0.7), (0.3, 0.4)]
        for m in [0.05, 0.2, 1.0, 5.0]
    ]
    fits = [
        am.fit(disp="off", starting_values=sv, options={"ftol": 1e-14, "maxiter": 2000})
        for sv in starts
    ]
    res = max(fits, key=lambda f: f.loglikelihood)
    omega_s, alpha, beta = (float(v) for v in res.params[["omega", "alpha[1]", "beta[1]"]])
    n = len(r)
    # arch works on 100*r: omega scales by 1e-4 and the Gaussian log-likelihood
    # shifts by n*log(100) (Jacobian of the change of variable).
    ll_raw = float(res.loglikelihood) + n * math.log(scale)
    # re-evaluate the log-likelihood with arch's own recursion from the raw-data
    # backcast, as a check of the scale conversion
    tau = min(75, n)
    w = 0.94 ** np.arange(tau)
    w /= w.sum()
    backcast = float(np.sum(r[:tau] ** 2 * w))
    omega = omega_s / scale**2
    s2 = np.empty(n)
    for t in range(n):
        prev_e2 = backcast if t == 0 else r[t - 1] ** 2
        prev_s2 = backcast if t == 0 else s2[t - 1]
        s2[t] = omega + alpha * prev_e2 + beta * prev_s2
    ll_check = float(-0.5 * np.sum(np.log(2 * np.pi) + np.log(s2) + r**2 / s2))
    assert abs(ll_check - ll_raw) < 1e-8 * abs(ll_raw), (ll_check, ll_raw)
    fc = res.forecast(horizon=30, reindex=False).variance.values[-1] / scale**2
    return {
        "omega": omega,
        "alpha": alpha,
        "beta": beta,
        "loglik": ll_raw,
        "loglik_arch_default_fit": float(res_default.loglikelihood) + n * math.log(scale),
        "backcast": backcast,
        "forecast_var_daily": [float(v) for v in fc],
    }


def ewma_weights(n, lam):
    # weight of the return k days before the last one (k=0: most recent),
    # normalised to sum to one over the n available returns
    k = np.arange(n)
    w = (1 - lam) * lam**k
    return w / w.sum()


def ewma_cov(r, lam):
    n = r.shape[0]
    w = ewma_weights(n, lam)[::-1]  # oldest first, aligned with rows of r
    return (r * w[:, None]).T @ r


def cov_to_corr(c):
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--generate-prices", action="store_true")
    args = ap.parse_args()
    FIX.mkdir(parents=True, exist_ok=True)
    if args.generate_prices:
        generate_prices()

    names, closes = load_csv(PRICES_CSV)
    assert names == ASSETS, names
    _, eq = load_csv(EQUITY_CSV)
    equity = eq[:, 0]

    logr = np.diff(np.log(closes), axis=0)  # T x N, oldest first
    simple = closes[1:] / closes[:-1] - 1.0
    w = np.array(POSITIONS_USD)
    out = {
        "meta": {
            "generator": "tests/reference/make_fixtures.py",
            "numpy": np.__version__,
            "scipy": __import__("scipy").__version__,
            "arch": __import__("arch").__version__,
            "empyrical": __import__("empyrical").__version__,
        },
        "assets": ASSETS,
        "groups": GROUPS,
        "positions_usd": POSITIONS_USD,
        "confidences": CONFIDENCES,
        "horizons_days": HORIZONS,
        "cov_lookback": COV_LOOKBACK,
        "ewma_lambda": EWMA_LAMBDA,
        "log_returns": logr.T.tolist(),
        "simple_returns": simple.T.tolist(),
    }

    r60 = logr[-COV_LOOKBACK:]
    cov60 = np.cov(r60, rowvar=False, ddof=1)
    cov_ew = ewma_cov(logr, EWMA_LAMBDA)
    out["vol"] = {
        "sample_daily_full": np.std(logr, axis=0, ddof=1).tolist(),
        "sample_daily_lookback": np.std(r60, axis=0, ddof=1).tolist(),
        "sample_annualised_lookback": (np.std(r60, axis=0, ddof=1) * math.sqrt(ANN)).tolist(),
        "ewma_daily": np.sqrt(np.diag(cov_ew)).tolist(),
    }
    out["cov"] = {
        "sample_lookback": cov60.tolist(),
        "corr_sample_lookback": cov_to_corr(cov60).tolist(),
        "ewma": cov_ew.tolist(),
        "corr_ewma": cov_to_corr(cov_ew).tolist(),
    }

    # ---- VaR / ES
    var_rows = []
    sigma_p = math.sqrt(w @ cov60 @ w)
    sigma_p_ew = math.sqrt(w @ cov_ew @ w)
    pnl1 = logr @ w
    skew = float(stats.skew(pnl1, bias=True))
    exkurt = float(stats.kurtosis(pnl1, fisher=True, bias=True))
    tfit0 = t_fit(pnl1 / 1e6, floc=0.0)  # fit in $mm for conditioning; MLE is scale-equivariant
    tfit0_usd = {"df": tfit0["df"], "scale": tfit0["scale"] * 1e6}
    for h in HORIZONS:
        # overlapping h-day windows of summed log returns
        cs = np.vstack([np.zeros((1, logr.shape[1])), np.cumsum(logr, axis=0)])
        window = cs[h:] - cs[:-h]
        pnl_h = window @ w
        hs = hs_var_es(pnl_h)
        for c in CONFIDENCES:
            var_rows.append({"method": "historical", "confidence": c, "horizon_days": h, "var_usd": hs[c][0], "es_usd": hs[c][1]})
            v, e = normal_var_es(sigma_p, c, h)
            var_rows.append({"method": "normal", "confidence": c, "horizon_days": h, "var_usd": v, "es_usd": e})
            v, e = normal_var_es(sigma_p_ew, c, h)
            var_rows.append({"method": "normal_ewma", "confidence": c, "horizon_days": h, "var_usd": v, "es_usd": e})
            v, e = cf_var_es(sigma_p, skew, exkurt, c, h)
            var_rows.append({"method": "cornish_fisher", "confidence": c, "horizon_days": h, "var_usd": v, "es_usd": e})
            v, e = t_var_es(tfit0_usd["df"], tfit0_usd["scale"], c, h)
            var_rows.append({"method": "student_t", "confidence": c, "horizon_days": h, "var_usd": v, "es_usd": e})
    out["var"] = var_rows
    out["portfolio"] = {
        "sigma_daily_usd": sigma_p,
        "sigma_daily_usd_ewma": sigma_p_ew,
        "pnl_skew": skew,
        "pnl_excess_kurtosis": exkurt,
    }
    out["student_t"] = {
        "portfolio_pnl_musd_zero_loc": tfit0,
        "btc_log_returns_full": t_fit(logr[:, 0]),
    }

    # ---- GARCH(1,1) per asset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["garch"] = [dict(asset=a, **garch_fit(logr[:, i])) for i, a in enumerate(ASSETS)]

    # ---- Euler attribution (normal, sample cov over lookback), c=0.99, h=1
    z = stats.norm.ppf(0.99)
    sw = cov60 @ w
    marginal = z * sw / sigma_p
    component = w * marginal
    groups = {}
    for a, cvar in zip(ASSETS, component):
        groups[GROUPS[a]] = groups.get(GROUPS[a], 0.0) + float(cvar)
    out["attribution"] = {
        "confidence": 0.99,
        "horizon_days": 1,
        "var_usd": z * sigma_p,
        "marginal_var": marginal.tolist(),
        "component_var_usd": component.tolist(),
        "group_component_var_usd": groups,
    }
    # exact recompute after +250k USD of SOL (index 2)
    d = 250_000.0
    w2 = w.copy()
    w2[2] += d
    out["incremental"] = {"asset_index": 2, "delta_usd": d, "exact_var_usd": z * math.sqrt(w2 @ cov60 @ w2)}

    # ---- performance on the equity curve vs BTC
    import empyrical as ep
    import pandas as pd

    er = pd.Series(equity[1:] / equity[:-1] - 1.0)
    br = pd.Series(simple[:, 0])
    peak = np.maximum.accumulate(equity)
    out["performance"] = {
        "max_drawdown_frac": -float(ep.max_drawdown(er)),
        "current_drawdown_frac": float(1.0 - equity[-1] / peak[-1]),
        "sharpe": float(ep.sharpe_ratio(er, risk_free=0.0, annualization=ANN)),
        "sortino": float(ep.sortino_ratio(er, required_return=0.0, annualization=ANN)),
        "calmar": float(ep.calmar_ratio(er, annualization=ANN)),
        "beta": float(ep.beta(er, br)),
        "correlation": float(np.corrcoef(er, br)[0, 1]),
        "annual_return_frac": float(ep.annual_return(er, annualization=ANN)),
    }
    # explicit-formula cross-check of the library numbers
    assert abs(out["performance"]["max_drawdown_frac"] - float(np.max(1 - equity / peak))) < 1e-12

    with open(OUT_JSON, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {OUT_JSON.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
