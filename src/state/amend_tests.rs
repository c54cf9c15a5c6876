//! Amends by reference (`Engine::submit_amend`): the order is resolved among
//! the tracked open orders, the order it makes is checked with the old one
//! left out, size-downs pass like reducing orders, and the venue's answer
//! (or a later listing) releases exactly one of old and new.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::*;
use crate::clock::ManualClock;
use crate::model::{AmendMode, AmendRequest, Contract, OrderRef, OrderReport, OrderStatus, Side};

const T0: i64 = 1_700_000_000_000;

fn fx(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

struct Fx {
    engine: Engine,
    bybit: VenueTag,
    kraken: VenueTag,
    _dir: tempfile::TempDir,
}

const RULES: &str = r#"
[account."*"]
capital_usd = 1000000.0
max_order_notional_usd = 500000.0
max_single_position_pct = 100.0
max_open_orders = 50
max_daily_trades = 1000
rate_limit_orders_per_s = 0
[account."*".symbol."*"]
price_band_pct = 5.0
[account."*".symbol.BTCUSDT]
max_position_qty = 0.5
"#;

fn engine() -> Fx {
    engine_at(tempfile::tempdir().unwrap())
}

/// Opens a second engine on the first one's state directory (a restart).
fn engine_reopen(f: Fx, path: &std::path::Path) -> Fx {
    let Fx { engine, _dir, .. } = f;
    drop(engine);
    assert_eq!(_dir.path(), path);
    engine_at(_dir)
}

fn engine_at(dir: tempfile::TempDir) -> Fx {
    let rules = crate::rules::file::build(
        &[(PathBuf::from("rules/r.toml"), RULES.to_string())],
        &[],
        &Default::default(),
        1,
    )
    .unwrap();
    let prices = Arc::new(PriceBook::new());
    prices.update(&Symbol::new("BTCUSDT"), fx("60000"), T0);
    let bybit = VenueTag::new("bybit", "bybit");
    let kraken = VenueTag::new("kraken", "kraken");
    let engine = Engine::open(
        EngineConfig {
            venues: vec![bybit.clone(), kraken.clone()],
            state_dir: dir.path().to_path_buf(),
            durability: Durability::Process,
            max_accounts: 8,
            known_accounts: vec![],
        },
        ManualClock::new(T0),
        Arc::new(ArcSwap::from_pointee(rules)),
        prices,
    )
    .unwrap();
    Fx {
        engine,
        bybit,
        kraken,
        _dir: dir,
    }
}

fn limit_buy(qty: &str, price: &str, cid: &str) -> NewOrder {
    NewOrder {
        symbol: Symbol::new("BTCUSDT"),
        side: Side::Buy,
        kind: OrderKind::Limit,
        qty: Some(fx(qty)),
        quote_qty: None,
        price: Some(fx(price)),
        stop_price: None,
        time_in_force: None,
        client_order_id: Some(cid.into()),
        reduce_only: false,
        contract: Contract::Linear,
        test_only: false,
    }
}

fn amend(cid: &str, qty: Option<&str>, price: Option<&str>) -> AmendRequest {
    AmendRequest {
        target: OrderRef::ClientId(cid.into()),
        target_label: cid.into(),
        symbol: Some(Symbol::new("BTCUSDT")),
        contract: None,
        new_qty: qty.map(fx),
        new_price: price.map(fx),
        new_trigger_price: None,
        positional_prices: None,
        mode: AmendMode::InPlace,
    }
}

fn report(id: i64, cid: &str, orig: Option<&str>, executed: &str) -> OrderReport {
    OrderReport {
        symbol: Symbol::new("BTCUSDT"),
        exchange_order_id: Some(id),
        client_order_id: Some(cid.into()),
        side: Some(Side::Buy),
        status: OrderStatus::Open,
        orig_qty: orig.map(fx),
        executed_qty: fx(executed),
        avg_price: None,
        contract: Contract::Linear,
    }
}

fn answered(r: OrderReport) -> Learned {
    Learned {
        reports: vec![r],
        ..Default::default()
    }
}

impl Fx {
    /// Places a resting limit buy on Bybit and learns its ack (exchange id 77).
    fn resting(&self, a: &Account, qty: &str, cid: &str) -> u64 {
        let o = limit_buy(qty, "59000", cid);
        let res = self.engine.submit(a, &self.bybit, &o).unwrap().reservation;
        self.engine.learn(
            &self.bybit,
            Some(a),
            &Action::NewOrder(o),
            res,
            &answered(report(77, cid, Some(qty), "0")),
            T0,
        );
        res.unwrap()
    }
}

fn open_qtys(a: &Account) -> Vec<(Fixed, Fixed)> {
    a.snapshot()
        .open_orders
        .iter()
        .map(|o| (o.orig_qty, o.executed_qty))
        .collect()
}

#[test]
fn an_amend_resolves_the_tracked_order_and_replaces_it_once_answered() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    let req = amend("c1", Some("0.4"), None);
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    assert!(!s.accepted.reducing);
    // Until the venue answers, the old and the new order both count.
    assert_eq!(
        open_qtys(&a),
        vec![(fx("0.3"), Fixed::ZERO), (fx("0.4"), Fixed::ZERO)]
    );
    let new = a.snapshot().open_orders[1].clone();
    assert_eq!(new.side, Side::Buy);
    assert_eq!(new.kind, Some(OrderKind::Limit));
    assert_eq!(
        new.exchange_order_id,
        Some(77),
        "takes over the order's ids"
    );
    // An amend is not a new trade.
    assert_eq!(a.snapshot().daily_trades, 1);
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &answered(report(77, "c1", None, "0")),
        T0,
    );
    assert_eq!(open_qtys(&a), vec![(fx("0.4"), Fixed::ZERO)]);
    // The amended order is found again by its client id and by its exchange id.
    let again = AmendRequest {
        target: OrderRef::ExchangeId(77),
        ..amend("c1", Some("0.2"), None)
    };
    assert!(f.engine.submit_amend(&a, &f.bybit, &again).is_ok());
}

#[test]
fn an_order_riskgate_does_not_track_is_refused() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("nope", Some("0.1"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownOrder);
    assert!(
        r.message
            .contains("order nope is not among the open orders riskgate tracks on bybit"),
        "{}",
        r.message
    );
    // An order on another venue is not this venue's order.
    f.resting(&a, "0.1", "c1");
    let r = f
        .engine
        .submit_amend(&a, &f.kraken, &amend("c1", Some("0.2"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownOrder);
    // Nor is a spot order the linear order of the same name.
    let spot = AmendRequest {
        contract: Some(Contract::Spot),
        ..amend("c1", Some("0.2"), None)
    };
    let r = f.engine.submit_amend(&a, &f.bybit, &spot).unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownOrder);
    // A filled order is no longer open.
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OrderStatus),
        None,
        &answered(OrderReport {
            status: OrderStatus::Filled,
            avg_price: Some(fx("59000")),
            ..report(77, "c1", Some("0.1"), "0.1")
        }),
        T0,
    );
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.2"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownOrder);
}

#[test]
fn an_increase_is_checked_as_the_new_order_without_the_old_one() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    // 0.6 > max_position_qty 0.5: refused, nothing reserved.
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.6"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::MaxPositionQty, "{}", r.message);
    assert!(
        r.message.contains("worst-case position 0.6"),
        "{}",
        r.message
    );
    assert_eq!(open_qtys(&a).len(), 1);
    // 0.5 fits: the venue changes the order, so the worst case is 0.5, not 0.8.
    assert!(f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.5"), None))
        .is_ok());
    // A fat-finger price is refused like on a new order.
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", None, Some("99000")))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::PriceBand);
}

#[test]
fn a_size_down_passes_in_reduce_only_and_only_a_halt_stops_it() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    f.engine
        .set_trading_state(Some(&a), TradingState::ReduceOnly, "test", "drill")
        .unwrap();
    // Smaller, same price: can only lower the worst case.
    let s = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.1"), Some("59000")))
        .unwrap();
    assert!(s.accepted.reducing);
    // Larger: a buy with no short to close does not reduce.
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.35"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::ReduceOnly);
    // A new price is not a size-down: checked, and refused in reduce-only.
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.05"), Some("58000")))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::ReduceOnly);
    f.engine
        .set_trading_state(Some(&a), TradingState::Halted, "test", "drill")
        .unwrap();
    let r = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.05"), None))
        .unwrap_err();
    assert_eq!(r.reason, RejectReason::TradingHalted);
}

#[test]
fn a_refused_amend_keeps_the_old_order_and_its_ids() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    let old = f.resting(&a, "0.3", "c1");
    let req = amend("c1", Some("0.4"), None);
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &Learned {
            venue_rejected: true,
            ..Default::default()
        },
        T0,
    );
    let snap = a.snapshot();
    assert_eq!(snap.open_orders.len(), 1);
    assert_eq!(snap.open_orders[0].reservation, old);
    // Its ids name it again: a status answer and a next amend find it.
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OrderStatus),
        None,
        &answered(report(77, "c1", Some("0.3"), "0.1")),
        T0,
    );
    assert_eq!(open_qtys(&a), vec![(fx("0.3"), fx("0.1"))]);
}

#[test]
fn fills_count_toward_the_new_total() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.4", "c1");
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OrderStatus),
        None,
        &answered(OrderReport {
            avg_price: Some(fx("59000")),
            ..report(77, "c1", Some("0.4"), "0.25")
        }),
        T0,
    );
    // New total 0.3 with 0.25 filled: 0.05 remains, a size-down.
    let req = amend("c1", Some("0.3"), None);
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    assert!(s.accepted.reducing);
    assert_eq!(s.accepted.qty, fx("0.05"));
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &answered(report(77, "c1", None, "0")),
        T0,
    );
    assert_eq!(open_qtys(&a), vec![(fx("0.3"), fx("0.25"))]);
    // The fill learned before the amend is not counted twice.
    let pos = a.snapshot().positions;
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0].qty, fx("0.25"));
}

#[test]
fn a_cancel_replace_answer_moves_the_order_to_its_new_id() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    let req = AmendRequest {
        target: OrderRef::ExchangeId(77),
        mode: AmendMode::CancelReplace,
        ..amend("c1", Some("0.2"), None)
    };
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &answered(OrderReport {
            client_order_id: None,
            ..report(88, "", Some("0.2"), "0")
        }),
        T0,
    );
    let snap = a.snapshot();
    assert_eq!(snap.open_orders.len(), 1);
    assert_eq!(snap.open_orders[0].exchange_order_id, Some(88));
    assert_eq!(snap.open_orders[0].orig_qty, fx("0.2"));
    // The old id names nothing any more; the new one names the new order.
    let by_old = AmendRequest {
        target: OrderRef::ExchangeId(77),
        ..amend("c1", Some("0.1"), None)
    };
    assert_eq!(
        f.engine
            .submit_amend(&a, &f.bybit, &by_old)
            .unwrap_err()
            .reason,
        RejectReason::UnknownOrder
    );
    let by_new = AmendRequest {
        target: OrderRef::ExchangeId(88),
        ..by_old
    };
    assert!(f.engine.submit_amend(&a, &f.bybit, &by_new).is_ok());
}

#[test]
fn an_unanswered_amend_is_settled_by_the_next_listing() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    let old = f.resting(&a, "0.3", "c1");
    let req = amend("c1", Some("0.4"), None);
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    // No readable answer (a 5xx): both stay counted.
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req.clone()),
        s.reservation,
        &Learned::default(),
        T0,
    );
    assert_eq!(open_qtys(&a).len(), 2);
    // The venue lists the order with the old quantity: the amend did not take.
    let listing = |orig: &str| Learned {
        reports: vec![report(77, "c1", Some(orig), "0")],
        open_orders_complete: Some(None),
        ..Default::default()
    };
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OpenOrders { symbol: None }),
        None,
        &listing("0.3"),
        T0 + 1,
    );
    let snap = a.snapshot();
    assert_eq!(snap.open_orders.len(), 1);
    assert_eq!(snap.open_orders[0].reservation, old);
    // Again, and this time the venue lists the new quantity: the old goes.
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &Learned::default(),
        T0,
    );
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OpenOrders { symbol: None }),
        None,
        &listing("0.4"),
        T0 + 1,
    );
    let snap = a.snapshot();
    assert_eq!(snap.open_orders.len(), 1);
    assert_eq!(snap.open_orders[0].reservation, s.reservation.unwrap());
    assert_eq!(snap.open_orders[0].orig_qty, fx("0.4"));
}

#[test]
fn an_order_and_its_unanswered_amend_gone_from_a_listing_count_one_fill() {
    let f = engine();
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    let req = amend("c1", Some("0.4"), None);
    let s = f.engine.submit_amend(&a, &f.bybit, &req).unwrap();
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::AmendRef(req),
        s.reservation,
        &Learned::default(),
        T0,
    );
    f.engine.learn(
        &f.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OpenOrders { symbol: None }),
        None,
        &Learned {
            open_orders_complete: Some(None),
            ..Default::default()
        },
        T0 + 1,
    );
    // Gone unseen: taken as filled (the worse case), once, at the amended size.
    let snap = a.snapshot();
    assert!(snap.open_orders.is_empty());
    assert_eq!(snap.positions.len(), 1);
    assert_eq!(snap.positions[0].qty, fx("0.4"));
}

#[test]
fn the_amend_link_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let f = engine_at(dir);
    let a = f.engine.account_for_key(b"k").unwrap();
    f.resting(&a, "0.3", "c1");
    let s = f
        .engine
        .submit_amend(&a, &f.bybit, &amend("c1", Some("0.4"), None))
        .unwrap();
    let before = a.snapshot().open_orders;
    drop(a);
    let f2 = engine_reopen(f, &path);
    let a = f2.engine.account_for_key(b"k").unwrap();
    let after = a.snapshot().open_orders;
    assert_eq!(after.len(), 2);
    assert_eq!(after[1].amend_of, before[1].amend_of);
    assert_eq!(after[1].reservation, s.reservation.unwrap());
    assert_eq!(after[1].kind, Some(OrderKind::Limit));
    // After a restart the outcome is unknown: the listing still settles it.
    f2.engine.learn(
        &f2.bybit,
        Some(&a),
        &Action::Observe(crate::venue::Observation::OpenOrders { symbol: None }),
        None,
        &Learned {
            reports: vec![report(77, "c1", Some("0.4"), "0")],
            open_orders_complete: Some(None),
            ..Default::default()
        },
        T0 + 1,
    );
    assert_eq!(open_qtys(&a), vec![(fx("0.4"), Fixed::ZERO)]);
}
