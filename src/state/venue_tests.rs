//! Engine behaviour across venues: batches, amends, derivative positions,
//! per-exchange exposure, accounts with several keys.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::*;
use crate::clock::ManualClock;
use crate::model::{Contract, OrderReport, OrderStatus, Side};
use crate::venue::PositionReport;

const T0: i64 = 1_700_000_000_000;

fn fx(s: &str) -> Fixed {
    match s.strip_prefix('-') {
        Some(p) => Fixed(-Fixed::parse(p).unwrap().0),
        None => Fixed::parse(s).unwrap(),
    }
}

struct Fx {
    engine: Engine,
    binance: VenueTag,
    usdm: VenueTag,
    bybit: VenueTag,
    _dir: tempfile::TempDir,
}

fn engine(rules: &str, known: Vec<KnownAccount>) -> Fx {
    engine_in(tempfile::tempdir().unwrap(), rules, known)
}

fn engine_in(dir: tempfile::TempDir, rules: &str, known: Vec<KnownAccount>) -> Fx {
    let rules = crate::rules::file::build(
        &[(PathBuf::from("rules/r.toml"), rules.to_string())],
        &known
            .iter()
            .map(|k| k.alias.to_string())
            .collect::<Vec<_>>(),
        &Default::default(),
        1,
    )
    .unwrap();
    let clock = ManualClock::new(T0);
    let prices = Arc::new(PriceBook::new());
    for (s, p) in [("BTCUSDT", "60000"), ("ETHUSDT", "3000")] {
        prices.update(&Symbol::new(s), fx(p), T0);
    }
    let binance = VenueTag::new("binance", "binance");
    let usdm = VenueTag::new("binance-usdm", "binance");
    let bybit = VenueTag::new("bybit", "bybit");
    let engine = Engine::open(
        EngineConfig {
            venues: vec![binance.clone(), usdm.clone(), bybit.clone()],
            state_dir: dir.path().to_path_buf(),
            durability: Durability::Process,
            max_accounts: 8,
            known_accounts: known,
        },
        clock,
        Arc::new(ArcSwap::from_pointee(rules)),
        prices,
    )
    .unwrap();
    Fx {
        engine,
        binance,
        usdm,
        bybit,
        _dir: dir,
    }
}

const OPEN: &str = r#"
[account."*"]
capital_usd = 100000.0
max_order_notional_usd = 50000.0
max_single_position_pct = 100.0
max_open_orders = 50
max_daily_trades = 1000
rate_limit_orders_per_s = 0
[account."*".symbol."*"]
price_band_pct = 5.0
"#;

fn order(symbol: &str, side: Side, qty: &str, contract: Contract, cid: &str) -> NewOrder {
    NewOrder {
        symbol: Symbol::new(symbol),
        side,
        kind: OrderKind::Market,
        qty: Some(fx(qty)),
        quote_qty: None,
        price: None,
        stop_price: None,
        time_in_force: None,
        client_order_id: Some(cid.into()),
        reduce_only: false,
        contract,
        test_only: false,
    }
}

fn filled(symbol: &str, cid: &str, qty: &str, price: &str) -> OrderReport {
    OrderReport {
        symbol: Symbol::new(symbol),
        exchange_order_id: None,
        client_order_id: Some(cid.into()),
        side: None,
        status: OrderStatus::Filled,
        orig_qty: Some(fx(qty)),
        executed_qty: fx(qty),
        avg_price: Some(fx(price)),
        contract: Contract::Linear,
    }
}

#[test]
fn a_batch_is_all_or_nothing_and_counts_its_own_orders() {
    let f = engine(
        &format!("{OPEN}\n[account.\"*\".symbol.BTCUSDT]\nmax_position_qty = 0.5\n"),
        vec![],
    );
    let a = f.engine.account_for_key(b"k").unwrap();
    // Each fits alone (0.3 <= 0.5) but not together: the second is refused,
    // and nothing of the batch stays reserved.
    let batch = [
        order("BTCUSDT", Side::Buy, "0.3", Contract::Linear, "a"),
        order("BTCUSDT", Side::Buy, "0.35", Contract::Linear, "b"),
    ];
    let (i, r) = f.engine.submit_batch(&a, &f.usdm, &batch).unwrap_err();
    assert_eq!((i, r.reason), (1, RejectReason::MaxPositionQty));
    let snap = a.snapshot();
    assert!(snap.open_orders.is_empty());
    assert_eq!(snap.daily_trades, 0);
    assert!(snap.client_order_ids.is_empty());
    // A batch that fits reserves every order; client ids are now taken.
    let ok = [
        order("BTCUSDT", Side::Buy, "0.2", Contract::Linear, "a"),
        order("BTCUSDT", Side::Buy, "0.25", Contract::Linear, "b"),
    ];
    let s = f.engine.submit_batch(&a, &f.usdm, &ok).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(a.snapshot().open_orders.len(), 2);
    let (i, r) = f
        .engine
        .submit_batch(
            &a,
            &f.usdm,
            &[order("BTCUSDT", Side::Buy, "0.01", Contract::Linear, "a")],
        )
        .unwrap_err();
    assert_eq!((i, r.reason), (0, RejectReason::DuplicateClientOrderId));
    // The venue takes one and refuses the other.
    let learned = Learned {
        batch: vec![Some(filled("BTCUSDT", "a", "0.2", "60000")), None],
        ..Default::default()
    };
    let res: Vec<Option<u64>> = s.iter().map(|s| s.reservation).collect();
    f.engine.learn_batch(&f.usdm, &a, &res, &learned, T0);
    let snap = a.snapshot();
    assert!(snap.open_orders.is_empty());
    assert_eq!(snap.positions.len(), 1);
    assert_eq!(snap.positions[0].qty, fx("0.2"));
    assert_eq!(&*snap.positions[0].venue, "binance-usdm");
}

#[test]
fn shorts_are_signed_positions_and_closing_them_is_reducing() {
    let f = engine(
        &format!("{OPEN}\n[account.\"*\".symbol.BTCUSDT]\nmax_position_qty = 0.5\n"),
        vec![],
    );
    let a = f.engine.account_for_key(b"k").unwrap();
    let s = f
        .engine
        .submit(
            &a,
            &f.usdm,
            &order("BTCUSDT", Side::Sell, "0.5", Contract::Linear, "s"),
        )
        .unwrap();
    let learned = Learned {
        reports: vec![filled("BTCUSDT", "s", "0.5", "60000")],
        ..Default::default()
    };
    f.engine.learn(
        &f.usdm,
        Some(&a),
        &Action::NewOrder(order("BTCUSDT", Side::Sell, "0.5", Contract::Linear, "s")),
        s.reservation,
        &learned,
        T0,
    );
    let book = a.book.lock();
    assert_eq!(
        book.derivative_position("binance-usdm", &Symbol::new("BTCUSDT")),
        fx("-0.5")
    );
    // The short is BTC exposure: base -0.5, and the quote leg +30000.
    assert_eq!(book.position("BTC"), fx("-0.5"));
    assert_eq!(book.holdings.get("USDT").copied(), Some(fx("30000")));
    drop(book);
    // Selling more is refused by the position limit; buying back is reducing,
    // and passes even in reduce-only state.
    let r = f
        .engine
        .submit(
            &a,
            &f.usdm,
            &order("BTCUSDT", Side::Sell, "0.1", Contract::Linear, "x"),
        )
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::MaxPositionQty);
    f.engine
        .set_trading_state(Some(&a), TradingState::ReduceOnly, "test", "test")
        .unwrap();
    let ok = f
        .engine
        .submit(
            &a,
            &f.usdm,
            &order("BTCUSDT", Side::Buy, "0.5", Contract::Linear, "y"),
        )
        .unwrap();
    assert!(ok.accepted.reducing);
    // The same buy on another venue does not close this venue's short.
    let r = f
        .engine
        .submit(
            &a,
            &f.bybit,
            &order("BTCUSDT", Side::Buy, "0.1", Contract::Linear, "z"),
        )
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::ReduceOnly);
    // A reduce-only order with no quantity (closePosition) always passes but a halt.
    let mut close = order("BTCUSDT", Side::Buy, "1", Contract::Linear, "c");
    close.qty = None;
    close.reduce_only = true;
    assert!(
        f.engine
            .submit(&a, &f.bybit, &close)
            .unwrap()
            .accepted
            .reducing
    );
    f.engine
        .set_trading_state(Some(&a), TradingState::Halted, "test", "test")
        .unwrap();
    let r = f.engine.submit(&a, &f.bybit, &close).unwrap_err();
    assert_eq!(r.reason, RejectReason::TradingHalted);
}

#[test]
fn exposure_per_exchange_counts_every_venue_of_that_exchange() {
    let f = engine(
        &format!("{OPEN}\n[exchange_limits]\nbinance = 40.0\n\"*\" = 10.0\n"),
        vec![],
    );
    let a = f.engine.account_for_key(b"k").unwrap();
    // 0.5 BTC on Binance spot = 30000 USD = 30% of capital: fits under 40%.
    f.engine
        .submit(
            &a,
            &f.binance,
            &order("BTCUSDT", Side::Buy, "0.5", Contract::Spot, "1"),
        )
        .unwrap();
    // Another 0.2 BTC perp on Binance USD-M (12000 USD) would make 42%.
    let r = f
        .engine
        .submit(
            &a,
            &f.usdm,
            &order("BTCUSDT", Side::Buy, "0.2", Contract::Linear, "2"),
        )
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::MaxExchangeExposure);
    assert!(r.message.contains("binance"), "{}", r.message);
    // Bybit falls under "*" (10% = 10000 USD): 3 ETH (9000) fits, 4 (12000) does not.
    let r = f
        .engine
        .submit(
            &a,
            &f.bybit,
            &order("ETHUSDT", Side::Buy, "4", Contract::Linear, "3"),
        )
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::MaxExchangeExposure);
    f.engine
        .submit(
            &a,
            &f.bybit,
            &order("ETHUSDT", Side::Buy, "3", Contract::Linear, "4"),
        )
        .unwrap();
    assert_eq!(RejectReason::MaxExchangeExposure.code(), 506);
}

#[test]
fn a_venue_balance_answer_replaces_only_that_venue() {
    let f = engine(OPEN, vec![]);
    let a = f.engine.account_for_key(b"k").unwrap();
    let bal = |asset: &str, q: &str| crate::model::Balance {
        asset: asset.into(),
        total: fx(q),
    };
    let learn = |v: &VenueTag, balances| {
        f.engine.learn(
            v,
            Some(&a),
            &Action::Observe(crate::venue::Observation::Account),
            None,
            &Learned {
                balances,
                ..Default::default()
            },
            T0,
        )
    };
    learn(&f.binance, vec![bal("BTC", "1"), bal("USDT", "100")]);
    learn(&f.bybit, vec![bal("BTC", "0.5")]);
    assert_eq!(a.book.lock().position("BTC"), fx("1.5"));
    learn(&f.bybit, vec![bal("BTC", "0.25")]);
    assert_eq!(a.book.lock().position("BTC"), fx("1.25"));
    // Positions from a derivatives venue add to the base asset too.
    f.engine.learn(
        &f.usdm,
        Some(&a),
        &Action::Observe(crate::venue::Observation::Account),
        None,
        &Learned {
            positions: vec![PositionReport {
                symbol: Symbol::new("BTCUSDT"),
                qty: fx("-2"),
                entry_price: Some(fx("50000")),
            }],
            positions_complete: true,
            ..Default::default()
        },
        T0,
    );
    assert_eq!(a.book.lock().position("BTC"), fx("-0.75"));
    // Survives a snapshot round trip.
    let snap = a.snapshot();
    let mut b = Book::default();
    b.restore(&snap);
    assert_eq!(b.position("BTC"), fx("-0.75"));
    assert_eq!(
        b.derivative_position("binance-usdm", &Symbol::new("BTCUSDT")),
        fx("-2")
    );
}

#[test]
fn several_keys_share_one_account() {
    let k1 = account_id_of(b"binance-key");
    let k2 = account_id_of(b"bybit-key");
    let f = engine(
        OPEN,
        vec![KnownAccount {
            alias: Arc::from("main"),
            id: k1,
            other_ids: vec![k2],
            starting_holdings: vec![],
        }],
    );
    let a = f.engine.account_for_key(b"binance-key").unwrap();
    let b = f.engine.account_for_key(b"bybit-key").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(&*b.label, "main");
    let c = f.engine.account_for_key(b"other").unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
}

#[test]
fn derivative_positions_and_venue_balances_survive_a_restart() {
    let f = engine(OPEN, vec![]);
    let a = f.engine.account_for_key(b"k").unwrap();
    let o = order("BTCUSDT", Side::Sell, "0.3", Contract::Linear, "r1");
    let s = f.engine.submit(&a, &f.usdm, &o).unwrap();
    f.engine.learn(
        &f.usdm,
        Some(&a),
        &Action::NewOrder(o),
        s.reservation,
        &Learned {
            reports: vec![filled("BTCUSDT", "r1", "0.3", "60000")],
            ..Default::default()
        },
        T0,
    );
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::Account),
        None,
        &Learned {
            balances: vec![crate::model::Balance {
                asset: "ETH".into(),
                total: fx("2"),
            }],
            ..Default::default()
        },
        T0,
    );
    let id = a.id;
    drop(a);
    let Fx { engine, _dir, .. } = f;
    drop(engine);
    // Replays the journal written above (then compacts it into a snapshot).
    let f = engine_in(_dir, OPEN, vec![]);
    let a = f.engine.account(id).unwrap();
    let book = a.book.lock();
    assert_eq!(
        book.derivative_position("binance-usdm", &Symbol::new("BTCUSDT")),
        fx("-0.3")
    );
    assert_eq!(book.position("ETH"), fx("2"));
    assert_eq!(book.position("BTC"), fx("-0.3"));
    drop(book);
    // And once more from the compacted snapshot.
    let Fx { engine, _dir, .. } = f;
    drop(engine);
    let f = engine_in(_dir, OPEN, vec![]);
    let a = f.engine.account(id).unwrap();
    assert_eq!(a.book.lock().position("BTC"), fx("-0.3"));
}
