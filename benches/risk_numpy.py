#!/usr/bin/env python3
"""numpy/scipy/arch counterpart of benches/risk.rs: the same computations on
the same shape of data (50 assets x 365 daily closes, 10,000 simulations),
timed on this machine, with the ratio numpy_time / rust_time for each.

Run (after the Rust benches, whose medians it reads from target/criterion):
  cargo bench --bench risk -- --warm-up-time 1 --measurement-time 3
  pip install numpy scipy arch
  python3 benches/risk_numpy.py            # single-threaded BLAS, like the Rust code
  python3 benches/risk_numpy.py --threads 2

Ratio > 1 means Rust is faster. Timings are medians of repeated runs.
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time
import warnings

ap = argparse.ArgumentParser()
ap.add_argument("--threads", default="1")
ap.add_argument("--repeats", type=int, default=7)
args = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = args.threads

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
N, T, SIMS = 50, 365, 10_000
CONFS = [0.95, 0.99, 0.999]


def make_data(seed=7):
    rng = np.random.default_rng(seed)
    vols = rng.uniform(0.02, 0.06, N)
    loads = rng.uniform(0.4, 0.9, N)
    f = rng.standard_normal(T - 1)
    mix = np.where(rng.random(T - 1) < 0.08, 2.5, 1.0)
    e = rng.standard_normal((T - 1, N))
    z = loads * f[:, None] + np.sqrt(1 - loads**2) * e
    r = vols * mix[:, None] * z
    closes = 100.0 * np.exp(np.vstack([np.zeros(N), np.cumsum(r, axis=0)]))
    eq = 1e7 * np.exp(np.concatenate([[0.0], np.cumsum(0.5 * r[:, 0] + 0.002 * rng.standard_normal(T - 1))]))
    w = np.array([-4e5 if i % 7 == 3 else 1e6 + 2e4 * i for i in range(N)])
    return closes, eq, w


def median_time(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def garch_fits(r):
    from arch import arch_model

    out = []
    for i in range(r.shape[1]):
        am = arch_model(r[:, i] * 100, mean="Zero", vol="GARCH", p=1, q=1, rescale=False)
        res = am.fit(disp="off")
        out.append(res.params.values)
    return out


def mc_1d(cov, w, df, rng):
    a = np.linalg.cholesky(cov)
    v = a.T @ w
    z = rng.standard_normal((SIMS, N))
    m = np.sqrt((df - 2) / rng.chisquare(df, SIMS))
    return (z @ v) * m


def mc_30d(cov, w, df, rng, h=30):
    v = np.linalg.cholesky(cov).T @ w
    total = np.zeros(SIMS)
    for _ in range(h):
        z = rng.standard_normal((SIMS, N))
        total += (z @ v) * np.sqrt((df - 2) / rng.chisquare(df, SIMS))
    return total


def mc_30d_garch(cov, w, df, rng, params, h0, h=30):
    sd = np.sqrt(np.diag(cov))
    lr = np.linalg.cholesky(cov / np.outer(sd, sd))
    om, al, be = params
    var = np.tile(h0, (SIMS, 1))
    total = np.zeros(SIMS)
    for _ in range(h):
        z = rng.standard_normal((SIMS, N))
        m = np.sqrt((df - 2) / rng.chisquare(df, SIMS))
        r = np.sqrt(var) * (z @ lr.T) * m[:, None]
        total += r @ w
        var = om + al * r * r + be * var
    return total


def hs_var_es(pnl):
    out = []
    for c in CONFS:
        q = np.quantile(pnl, 1 - c)
        out.append((-q, -pnl[pnl <= q].mean()))
    return out


def snapshot(closes, eq, w, with_garch=True):
    rng = np.random.default_rng(1)
    r = np.diff(np.log(closes), axis=0)
    r60 = r[-60:]
    cov = np.cov(r60, rowvar=False)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.linalg.eigvalsh(corr)  # PSD check
    vol = np.std(r60, axis=0, ddof=1) * math.sqrt(365)
    lam = 0.94
    wts = (1 - lam) * lam ** np.arange(len(r))[::-1]
    ewma_vol = np.sqrt((wts[:, None] * r * r).sum(axis=0) / wts.sum()) * math.sqrt(365)
    sigma = math.sqrt(w @ cov @ w)
    pnl = r @ w
    hs = hs_var_es(pnl)
    s, k = stats.skew(pnl), stats.kurtosis(pnl)
    df, _, scale = stats.t.fit(pnl / 1e6, floc=0)
    res = []
    for c in CONFS:
        z = stats.norm.ppf(1 - c)
        res.append((-sigma * z, sigma * stats.norm.pdf(z) / (1 - c)))
        zc = z + (z * z - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s * s / 36
        res.append(-sigma * zc)
        q = stats.t.ppf(c, df)
        res.append((scale * 1e6 * q, scale * 1e6 * stats.t.pdf(q, df) / (1 - c) * (df + q * q) / (df - 1)))
    sim = mc_1d(cov, w, max(df, 3.0), rng)
    mc = hs_var_es(sim)
    sw = cov @ w
    zz = -stats.norm.ppf(0.01)
    marginal = zz * sw / sigma
    component = w * marginal
    groups = np.bincount(np.arange(N) % 5, weights=component)
    er = eq[1:] / eq[:-1] - 1
    peak = np.maximum.accumulate(eq)
    mdd = np.max(1 - eq / peak)
    sharpe = er.mean() / er.std(ddof=1) * math.sqrt(365)
    sortino = er.mean() * 365 / (math.sqrt(np.mean(np.minimum(er, 0) ** 2)) * math.sqrt(365))
    g = garch_fits(r) if with_garch else None
    return hs, res, mc, groups, mdd, sharpe, sortino, vol, ewma_vol, g


def rust_median_s(name):
    p = ROOT / "target" / "criterion" / name / "new" / "estimates.json"
    if not p.exists():
        return None
    return json.loads(p.read_text())["median"]["point_estimate"] * 1e-9


def main():
    warnings.simplefilter("ignore")
    closes, eq, w = make_data()
    r = np.diff(np.log(closes), axis=0)
    cov = np.cov(r[-60:], rowvar=False)
    rng = np.random.default_rng(1)
    from arch import arch_model

    gp = []
    h0 = []
    for i in range(N):
        res = arch_model(r[:, i] * 100, mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
        o, a, b = res.params.values
        gp.append((o / 1e4, a, b))
        h0.append(res.forecast(horizon=1, reindex=False).variance.values[-1, 0] / 1e4)
    gp = tuple(np.array(x) for x in zip(*gp))
    h0 = np.array(h0)
    sigma2 = w @ cov @ w
    sw = cov @ w
    sd = np.diag(cov).copy()
    kk = -stats.norm.ppf(0.01)
    sw_list, sd_list = sw.tolist(), sd.tolist()

    def incremental():
        # same O(1) arithmetic as IncrementalVar::exact_var_usd, in Python
        i, d = 17, 25_000.0
        return kk * math.sqrt(max(0.0, sigma2 + d * (2 * sw_list[i] + d * sd_list[i])))

    cases = [
        ("snapshot_1d_all_methods_50x365_10k_t", lambda: snapshot(closes, eq, w, True), max(3, args.repeats // 2)),
        ("snapshot_1d_no_garch_50x365_10k_t", lambda: snapshot(closes, eq, w, False), args.repeats),
        ("garch_fit_50_assets_364d", lambda: garch_fits(r), max(3, args.repeats // 2)),
        ("mc_1d_10k_t_50", lambda: mc_1d(cov, w, 4.0, rng), args.repeats),
        ("mc_30d/mc_30d_paths_10k_t_50", lambda: mc_30d(cov, w, 4.0, rng), args.repeats),
        ("mc_30d/mc_30d_paths_10k_t_garch_50", lambda: mc_30d_garch(cov, w, 4.0, rng, gp, h0), args.repeats),
    ]
    print(f"numpy {np.__version__}, BLAS threads={args.threads}")
    print(f"{'computation':40s} {'numpy':>12s} {'rust':>12s} {'numpy/rust':>11s}")
    for name, fn, reps in cases:
        t = median_time(fn, reps)
        rs = rust_median_s(name)
        ratio = f"{t / rs:10.1f}x" if rs else "    (no rust)"
        rtxt = f"{rs * 1e3:9.3f} ms" if rs else "        -"
        print(f"{name:40s} {t * 1e3:9.3f} ms {rtxt} {ratio}")
    # micro: per-call cost of the incremental check
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        incremental()
    t_inc = (time.perf_counter() - t0) / n
    rs = rust_median_s("incremental_exact_check_50")
    ratio = f"{t_inc / rs:10.1f}x" if rs else "    (no rust)"
    rtxt = f"{rs * 1e9:9.1f} ns" if rs else "        -"
    print(f"{'incremental_exact_check_50':40s} {t_inc * 1e9:9.1f} ns {rtxt} {ratio}")


if __name__ == "__main__":
    sys.exit(main())
