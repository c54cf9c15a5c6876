//! Heap allocations per order on the order path, counted by a counting global
//! allocator (this file is its own test binary, so the allocator counts only
//! what these tests do).
//!
//! The load is the e2e bench's (benches/e2e): a signed Binance spot
//! `BUY LIMIT GTC` with a unique `newClientOrderId`, every rule on and the
//! journal on, answered `NEW` by the exchange (so every order stays open).
//! One order is: parse its parameters, `Engine::submit` (check, reserve,
//! journal), read the exchange's answer (`learn::learn`), `Engine::learn`
//! (journal the progress, index the exchange id). The HTTP layer
//! (`src/proxy/`) is not part of it.
//!
//! Counting allocations is deterministic (no timing), so the test asserts an
//! upper bound per order and per step: a change that brings allocations back
//! onto the order path fails here. Amortised growth (a map doubling, a
//! B-tree node) is spread over the orders measured. Run with `--nocapture`
//! to see the counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use riskgate::clock::ManualClock;
use riskgate::market::PriceBook;
use riskgate::model::{Fixed, Symbol};
use riskgate::rules::{file, EnvOverrides};
use riskgate::state::{Durability, Engine, EngineConfig, VenueTag};
use riskgate::venue::binance::{learn, parse_new_order, Params};
use riskgate::venue::Action;

/// Counts allocations (and reallocations) made by the current thread, so
/// other tests running in parallel threads do not disturb the count.
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator may run while the thread-local is gone (at
    // thread exit); those allocations are not ours to count.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; counting
// touches only a const-initialised thread-local `Cell` (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

const T0: i64 = 1_764_000_000_000;

/// benches/e2e/rules.toml: every rule on, limits no bench load reaches.
const RULES: &str = include_str!("../benches/e2e/rules.toml");

/// The e2e load generator's order (benches/e2e/loadgen.rs), signature included.
fn order_body(seq: u64) -> String {
    let cents = 5_900_000 - 1 - seq % 150_000;
    format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price={}.{:02}\
         &newClientOrderId=bench-0-{seq}&recvWindow=5000&timestamp={}\
         &signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        cents / 100,
        cents % 100,
        T0 + seq as i64
    )
}

/// The e2e mock exchange's answer to it (benches/e2e/mock.rs): resting, `NEW`.
fn answer_body(seq: u64, order_id: u64) -> String {
    let cents = 5_900_000 - 1 - seq % 150_000;
    format!(
        r#"{{"symbol":"BTCUSDT","orderId":{order_id},"orderListId":-1,"clientOrderId":"bench-0-{seq}","transactTime":{t},"price":"{}.{:02}","origQty":"0.001","executedQty":"0.00000000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","workingTime":{t},"selfTradePreventionMode":"EXPIRE_MAKER","fills":[]}}"#,
        cents / 100,
        cents % 100,
        t = T0 + seq as i64
    )
}

/// Allocations per order in each step, averaged over the measured orders.
#[derive(Debug, Default)]
struct PerOrder {
    parse: f64,
    submit: f64,
    venue_learn: f64,
    engine_learn: f64,
}

impl PerOrder {
    fn total(&self) -> f64 {
        self.parse + self.submit + self.venue_learn + self.engine_learn
    }
}

/// Runs `warm_up` orders, then measures `measured` more.
fn measure(warm_up: u64, measured: u64) -> PerOrder {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = file::build(
        &[(PathBuf::from("bench.toml"), RULES.to_string())],
        &[],
        &EnvOverrides::default(),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let clock = ManualClock::new(T0);
    let prices = Arc::new(PriceBook::new());
    prices.update(&Symbol::new("BTCUSDT"), Fixed::from_units(60_000), T0);
    let venue = VenueTag::new("binance", "binance");
    let engine = Engine::open(
        EngineConfig {
            venues: vec![venue.clone()],
            state_dir: dir.path().to_path_buf(),
            durability: Durability::Process,
            max_accounts: 8,
            known_accounts: vec![],
        },
        clock.clone(),
        Arc::new(ArcSwap::from_pointee(rules)),
        prices,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let account = engine
        .account_for_key(b"bench-api-key")
        .unwrap_or_else(|e| panic!("{e:?}"));

    let mut steps = [0u64; 4];
    for seq in 0..warm_up + measured {
        // Built outside the counted steps: the request and the answer are
        // the HTTP layer's buffers.
        let body = order_body(seq);
        let answer = answer_body(seq, 1_000_000 + seq);
        // 1 ms apart: the duplicate-order window (1 s) sees ~1000 orders.
        clock.advance_ms(1);

        let a0 = allocs();
        let params = Params::parse(None, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let order = parse_new_order(&params, false).unwrap_or_else(|e| panic!("{e:?}"));
        let a1 = allocs();
        let submitted = engine
            .submit(&account, &venue, &order)
            .unwrap_or_else(|e| panic!("order {seq} refused: {e:?}"));
        let a2 = allocs();
        let action = Action::NewOrder(order);
        let learned = learn::learn(&action, 200, answer.as_bytes());
        let a3 = allocs();
        engine.learn(
            &venue,
            Some(&account),
            &action,
            submitted.reservation,
            &learned,
            T0,
        );
        let a4 = allocs();
        assert_eq!(learned.reports.len(), 1);
        drop((learned, action, params));
        if seq >= warm_up {
            for (s, d) in steps.iter_mut().zip([a1 - a0, a2 - a1, a3 - a2, a4 - a3]) {
                *s += d;
            }
        }
    }
    let snapshot = account.snapshot();
    assert_eq!(
        snapshot.open_orders.len() as u64,
        warm_up + measured,
        "every order rests"
    );
    assert!(
        snapshot
            .open_orders
            .iter()
            .all(|o| o.exchange_order_id.is_some() && o.client_order_id.is_some()),
        "every answer was learned"
    );
    let per = |n: u64| n as f64 / measured as f64;
    PerOrder {
        parse: per(steps[0]),
        submit: per(steps[1]),
        venue_learn: per(steps[2]),
        engine_learn: per(steps[3]),
    }
}

#[test]
fn allocations_per_resting_order() {
    let per_order = measure(2_000, 5_000);
    println!(
        "allocations per order: {:.2} (parse {:.2}, submit {:.2}, venue learn {:.2}, engine learn {:.2})",
        per_order.total(),
        per_order.parse,
        per_order.submit,
        per_order.venue_learn,
        per_order.engine_learn
    );
    // Before the order path was made allocation-free (2026-12-04): 15.33 per
    // order (parse 3, submit 5.17, venue learn 3, engine learn 4.17).
    // What remains: the answer's one-report `Vec` (`Learned::reports`, a
    // type of `venue/mod.rs`), a new B-tree leaf for the open orders about
    // every sixth order, and the indexes' amortised growth.
    assert_eq!(per_order.parse, 0.0, "{per_order:?}");
    assert!(per_order.submit <= 0.25, "{per_order:?}");
    assert!(per_order.venue_learn <= 1.0, "{per_order:?}");
    // Only amortised growth of the exchange-id index (a doubling now and then).
    assert!(per_order.engine_learn <= 0.01, "{per_order:?}");
    assert!(per_order.total() <= 1.25, "{per_order:?}");
}
