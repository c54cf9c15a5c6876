//! riskgate started in-process in front of a non-Binance mock (OKX, Kraken):
//! the same harness as `Gateway::start`, with the venue section swapped.
//!
//! Owns nothing riskgate runs in production.

use riskgate::app;
use riskgate::clock::ManualClock;
use riskgate::config::{self, Env};

use super::gateway::{config_text, Gateway, GatewayOptions};
use super::mock_binance::MOCK_START_MS;

/// Live mode, one venue `name` of `kind` in front of `upstream`; waits until
/// the first ticker poll has priced `wait_symbol`.
pub fn live_venue(
    kind: &str,
    name: &str,
    upstream: &str,
    rules: &str,
    wait_symbol: &str,
) -> Gateway {
    start_venue("live", kind, name, Some(upstream), rules, wait_symbol)
}

/// Live mode with the proxy-URL listener on as well (Coinbase: the JWT
/// names the upstream's host, so orders go through it); returns the
/// gateway and the proxy-URL listener's address.
pub fn live_venue_with_proxy_url(
    kind: &str,
    name: &str,
    upstream: &str,
    rules: &str,
    wait_symbol: &str,
) -> (Gateway, std::net::SocketAddr) {
    let g = start_venue_with(
        "live",
        kind,
        name,
        Some(upstream),
        rules,
        wait_symbol,
        "[proxy_url]\nlisten = \"127.0.0.1:0\"\n",
    );
    let addr = g.app().venue_addr("proxy_url").expect("proxy-URL listener");
    (g, addr)
}

/// Paper mode (the built-in paper exchange for `kind`), one venue `name`.
pub fn paper_venue(kind: &str, name: &str, rules: &str, wait_symbol: &str) -> Gateway {
    start_venue("paper", kind, name, None, rules, wait_symbol)
}

fn start_venue(
    mode: &'static str,
    kind: &str,
    name: &str,
    upstream: Option<&str>,
    rules: &str,
    wait_symbol: &str,
) -> Gateway {
    start_venue_with(mode, kind, name, upstream, rules, wait_symbol, "")
}

fn start_venue_with(
    mode: &'static str,
    kind: &str,
    name: &str,
    upstream: Option<&str>,
    rules: &str,
    wait_symbol: &str,
    config_tail: &str,
) -> Gateway {
    let opts = GatewayOptions {
        mode,
        upstream: upstream.map(str::to_string),
        rules: vec![("limits.toml".into(), rules.into())],
        config_tail: config_tail.into(),
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir_all(&rules_dir).expect("rules dir");
    for (file, text) in &opts.rules {
        std::fs::write(rules_dir.join(file), text).expect("write rules");
    }
    let state_dir = dir.path().join("state");
    let text = config_text(&opts, &rules_dir, &state_dir, 0, 0).replace(
        "name = \"binance\"\nkind = \"binance-spot\"",
        &format!("name = \"{name}\"\nkind = \"{kind}\""),
    );
    assert!(
        text.contains(&format!("kind = \"{kind}\"")),
        "venue section swapped"
    );
    let path = dir.path().join("riskgate.toml");
    std::fs::write(&path, &text).expect("write config");
    let env = [("RISKGATE_ADMIN_TOKEN", "test-admin-token")];
    let cfg = config::parse(&path, &text, &Env::from_pairs(&env))
        .unwrap_or_else(|e| panic!("config: {e}"));
    let clock = ManualClock::new(MOCK_START_MS);
    let app = app::start(cfg, clock.clone(), None).unwrap_or_else(|e| panic!("start: {e}"));
    let addr = app.venue_addr(name).expect("venue addr");
    let admin = app.admin_addr;
    let g = Gateway {
        app: Some(app),
        addr,
        admin,
        clock,
        dir,
        rules_dir,
        state_dir,
    };
    g.wait_for_price(wait_symbol);
    g
}
