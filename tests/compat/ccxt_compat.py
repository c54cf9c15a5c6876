"""Compatibility check with the real ccxt library (pinned in requirements.txt).

Starts riskgate in paper mode with the shipped config (in a temporary working
directory, so its state is fresh), points ccxt at each venue's listener, and
checks per venue that an order within the rules is accepted and one over
`max_order_qty` raises ccxt's non-retryable InvalidOrder or InsufficientFunds
(not a NetworkError). Coinbase runs through proxyUrl only (its JWT names the host).
On Bybit, OKX and Kraken it also edits a resting order (edit_order: an amend
that names only the order) within the limits, then over them.

Usage: python tests/compat/ccxt_compat.py path/to/riskgate [venue ...]
Exit status is non-zero if any checked venue fails.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import ccxt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_ready(url, deadline_s=60):
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"riskgate not ready at {url}")


def binance_family(cls, key, market_type, real_host, listener):
    """A Binance client with every URL on `real_host` pointed at `listener`."""
    ex = cls({
        "apiKey": key,
        "secret": "compat-secret",
        "options": {
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": [market_type]},
        },
    })
    for k, v in list(ex.urls["api"].items()):
        if isinstance(v, str) and v.startswith(real_host):
            ex.urls["api"][k] = v.replace(real_host, listener)
    return ex


def binance():
    return binance_family(ccxt.binance, "compat-key-binance", "spot",
                          "https://api.binance.com", "http://127.0.0.1:8081"), "BTC/USDT"


def binanceusdm():
    return binance_family(ccxt.binanceusdm, "compat-key-binanceusdm", "linear",
                          "https://fapi.binance.com", "http://127.0.0.1:8082"), "BTC/USDT:USDT"


def bybit():
    ex = ccxt.bybit({
        "apiKey": "compat-key-bybit",
        "secret": "compat-secret",
        "options": {"fetchMarkets": {"types": ["spot"]}},
    })
    for k in list(ex.urls["api"]):
        ex.urls["api"][k] = "http://127.0.0.1:8083"
    # Currencies come from a private asset endpoint the paper exchange does not serve.
    ex.has["fetchCurrencies"] = False
    return ex, "BTC/USDT"


def okx():
    ex = ccxt.okx({
        "apiKey": "compat-key-okx",
        "secret": "compat-secret",
        "password": "compat-pass",
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
    })
    ex.urls["api"]["rest"] = "http://127.0.0.1:8084"
    return ex, "BTC/USDT"


def kraken():
    ex = ccxt.kraken({"apiKey": "compat-key-kraken", "secret": "Y29tcGF0LXNlY3JldA=="})
    for k in list(ex.urls["api"]):
        ex.urls["api"][k] = "http://127.0.0.1:8085"
    return ex, "BTC/USDT"


PROXY_URL = "http://127.0.0.1:8090/"


def via_proxy_url(ex):
    """ccxt's proxyUrl mode: the exchange's real URLs, sent through riskgate."""
    ex.proxyUrl = PROXY_URL
    # ccxt 4.5.84-4.5.90 (Python): fetch() passes False for "no proxy agent" and
    # check_conflicting_proxies() treats False as set, so every proxyUrl request
    # raises InvalidProxySettings. No agent proxy is used here, so skip the check.
    ex.check_conflicting_proxies = lambda *args: None
    return ex


def binance_proxy_url():
    ex = ccxt.binance({
        "apiKey": "compat-key-binance-proxy",
        "secret": "compat-secret",
        "options": {
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": ["spot"]},
        },
    })
    return via_proxy_url(ex), "BTC/USDT"


def bybit_proxy_url():
    ex = ccxt.bybit({
        "apiKey": "compat-key-bybit-proxy",
        "secret": "compat-secret",
        "options": {"fetchMarkets": {"types": ["spot"]}},
    })
    ex.has["fetchCurrencies"] = False
    return via_proxy_url(ex), "BTC/USDT"


def coinbase_proxy_url():
    """Coinbase Advanced Trade: only through proxyUrl (its JWT names the host).

    A throwaway EC P-256 key (a CDP key's shape) so ccxt signs a real ES256
    JWT; paper mode does not verify it, riskgate reads the key name from it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    ex = ccxt.coinbase({
        "apiKey": "organizations/compat-org/apiKeys/compat-key-coinbase",
        "secret": pem,
    })
    return via_proxy_url(ex), "BTC/USDT"


VENUES = {"binance": binance, "binanceusdm": binanceusdm, "bybit": bybit, "okx": okx, "kraken": kraken,
          "binance-proxy-url": binance_proxy_url, "bybit-proxy-url": bybit_proxy_url,
          "coinbase-proxy-url": coinbase_proxy_url}


def check(name):
    ex, symbol = VENUES[name]()
    try:
        return place_orders(name, ex, symbol)
    except Exception as e:
        raise AssertionError(f"{e!r} (last request: {ex.last_request_url})") from e


# Venues whose edit_order sends an amend that names only the order (checked
# by riskgate against the order it tracks).
EDITS = {"bybit", "okx", "kraken", "bybit-proxy-url"}


def expect_refusal(name, what, call):
    try:
        call()
    except (ccxt.InvalidOrder, ccxt.InsufficientFunds) as e:
        # OKX's per-order code 51008 maps to InsufficientFunds: also non-retryable.
        assert "riskgate" in str(e) and "max_order_qty" in str(e), f"{name}: {e}"
        return type(e).__name__
    except ccxt.NetworkError as e:
        raise AssertionError(f"{name}: {what} refusal raised a retryable NetworkError: {e!r}")
    raise AssertionError(f"{name}: {what} over max_order_qty was not refused")


def place_orders(name, ex, symbol):
    ex.load_markets()
    if name.startswith("coinbase"):
        return place_coinbase_orders(name, ex, symbol)
    edit = edit_orders(name, ex, symbol) if name in EDITS else ""
    ok = ex.create_order(symbol, "market", "buy", 0.001)
    assert ok.get("id"), f"{name}: accepted order has no id: {ok}"
    refusal = expect_refusal(name, "order", lambda: ex.create_order(symbol, "market", "buy", 5))
    return refusal + edit


def edit_orders(name, ex, symbol):
    """A resting limit (3 % under the market: inside the 5 % price band),
    edited within the limits, then over them; then cancelled. Done first, on a
    flat account: once an order fills, orders under the shipped portfolio
    limits wait for the account's first risk snapshot."""
    low = ex.price_to_precision(symbol, ex.fetch_ticker(symbol)["last"] * 0.97)
    rest = ex.create_order(symbol, "limit", "buy", 0.001, low)
    edited = ex.edit_order(rest["id"], symbol, "limit", "buy", 0.002, low)
    assert edited is not None, f"{name}: edit_order returned nothing"
    refused = expect_refusal(
        name, "edit", lambda: ex.edit_order(rest["id"], symbol, "limit", "buy", 5, low))
    ex.cancel_order(rest["id"], symbol)
    if name == "kraken":
        # Kraken's cancel answer carries only a count: its status answer
        # (QueryOrders: canceled) settles it.
        assert ex.fetch_order(rest["id"], symbol)["status"] == "canceled"
    return f"; edit accepted, edit over the limit raised {refused}"


def place_coinbase_orders(name, ex, symbol):
    """A resting limit order, its cancel, a market buy sized in quote (ccxt
    wants a price or a cost for Coinbase market buys), then one refused.

    The cancel comes first so the account is flat again for the market buy:
    a second open position would wait for the next portfolio risk pass."""
    price = float(ex.markets[symbol]["info"]["price"])
    ok = ex.create_order(symbol, "limit", "buy", 0.001, round(price * 0.97, 2))
    assert ok.get("id"), f"{name}: accepted limit order has no id: {ok}"
    ex.cancel_order(ok["id"], symbol)
    ok = ex.create_order(symbol, "market", "buy", None, None, {"cost": 50})
    assert ok.get("id"), f"{name}: accepted market order has no id: {ok}"
    try:
        ex.create_order(symbol, "limit", "buy", 5, round(price, 2))
    except (ccxt.InvalidOrder, ccxt.InsufficientFunds) as e:
        # Coinbase's PREVIEW_INSUFFICIENT_FUND: the one non-retryable order error ccxt maps.
        assert "riskgate" in str(e) and "max_order_qty" in str(e), f"{name}: {e}"
        return type(e).__name__
    except ccxt.NetworkError as e:
        raise AssertionError(f"{name}: refusal raised a retryable NetworkError: {e!r}")
    raise AssertionError(f"{name}: order over max_order_qty was not refused")


def main():
    binary = os.path.abspath(sys.argv[1])
    venues = sys.argv[2:] or list(VENUES)
    work = tempfile.mkdtemp(prefix="riskgate-ccxt-")
    shutil.copytree(os.path.join(ROOT, "config"), os.path.join(work, "config"))
    shutil.copytree(os.path.join(ROOT, "rules"), os.path.join(work, "rules"))
    log = open(os.path.join(work, "riskgate.log"), "w")
    proc = subprocess.Popen([binary], cwd=work, stdout=log, stderr=subprocess.STDOUT)
    failed = []
    try:
        wait_ready("http://127.0.0.1:9464/healthz")
        for v in venues:
            try:
                refusal = check(v)
                print(f"ccxt {ccxt.__version__} {v}: ok (accepted; refusal raised {refusal})")
            except Exception as e:  # report every venue, then fail
                failed.append(v)
                print(f"ccxt {ccxt.__version__} {v}: FAILED: {e!r}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        if failed:
            print(open(os.path.join(work, "riskgate.log")).read()[-4000:])
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
