//! Order-path micro-benchmarks: parsing a Binance order, the pure rule check,
//! the engine's full check (lock, gather, check) and a reserve + journal +
//! release cycle, against a realistic rule set (100 symbols, 10 accounts);
//! one order's whole life in the engine (parse, check and reserve, learn the
//! exchange's `NEW` answer, learn its cancel); and one journal append with
//! each journal I/O (`write(2)` vs mapped).
//!
//! Run: `cargo bench --bench check -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;

use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::Method;
use riskgate::clock::SystemClock;
use riskgate::market::PriceBook;
use riskgate::model::{Fixed, OrderRef, Symbol};
use riskgate::rules::{file, EnvOverrides, OrderContext, PriceView, TradingState};
use riskgate::state::{Durability, Engine, EngineConfig, Event, Journal, JournalIo};
use riskgate::venue::binance::{learn, parse_new_order, BinanceSpot, Params};
use riskgate::venue::{Action, Headers, Learned, RequestView, Venue};

const SYMBOLS: usize = 100;
const ACCOUNTS: usize = 10;

fn symbol(i: usize) -> String {
    format!("C{i:03}USDT")
}

/// Rule files as an operator would write them: defaults plus a section per symbol.
fn rules_text() -> String {
    let mut t = String::from(
        "[account.\"*\"]\ncapital_usd = 1000000000.0\nmax_order_notional_usd = 1000000.0\nmax_single_position_pct = 100.0\n\
         max_open_orders = 100000\nmax_daily_trades = 10000000\nrate_limit_orders_per_s = 0\n\
         [account.\"*\".symbol.\"*\"]\nprice_band_pct = 5.0\n[market_data]\nmax_price_age_s = 3600.0\n[duplicates]\nwindow_s = 0.001\n",
    );
    for i in 0..SYMBOLS {
        t.push_str(&format!(
            "[account.\"*\".symbol.{}]\nmax_order_qty = 1000.0\nmax_position_qty = 100000.0\nmax_position_notional_usd = 100000000.0\n",
            symbol(i)
        ));
    }
    t
}

fn order_body(i: usize) -> String {
    format!("symbol={}&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000&price=100.00&newClientOrderId=bench{i}&recvWindow=5000&timestamp=1700000000000&signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", symbol(i % SYMBOLS))
}

fn bench(c: &mut Criterion) {
    let body = order_body(7);
    let headers = Headers::from_pairs(&[("x-mbx-apikey", "benchkey")]);
    let venue = BinanceSpot::new(false);
    c.bench_function("parse_binance_order", |b| {
        b.iter(|| {
            let req = RequestView {
                method: &Method::POST,
                path: "/api/v3/order",
                query: None,
                headers: &headers,
                body: black_box(body.as_bytes()),
            };
            black_box(venue.classify(&req).unwrap_or_else(|_| unreachable!()))
        })
    });

    let rules = file::build(
        &[("bench.toml".into(), rules_text())],
        &[],
        &EnvOverrides::default(),
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let params = Params::parse(None, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let order = parse_new_order(&params, false).unwrap_or_else(|e| panic!("{e:?}"));
    let account_rules = rules.account(None).clone();
    c.bench_function("rules_check_pure", |b| {
        b.iter(|| {
            let ctx = OrderContext {
                order: black_box(&order),
                account: &account_rules,
                symbol: account_rules.symbol(order.symbol.as_str()),
                trading_state: TradingState::Active,
                symbol_allowed: rules.symbol_allowed(order.symbol.as_str()),
                breaker_open_until_ms: None,
                reference_price: PriceView::Fresh(Fixed::from_units(100)),
                quote_usd: Some(1.0),
                position_qty: Fixed::from_units(3),
                instrument_position: None,
                exchange: None,
                open_buy_qty: Fixed::from_units(1),
                open_sell_qty: Fixed::ZERO,
                open_orders: 5,
                daily_trades: 10,
                client_order_id_seen: false,
                same_order_recently: false,
                capital_usd: Some(1e9),
                portfolio: None,
                filters: riskgate::rules::FiltersView::Off,
            };
            black_box(riskgate::rules::check(&ctx).is_ok())
        })
    });

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let prices = Arc::new(PriceBook::new());
    let clock = Arc::new(SystemClock);
    let venue = riskgate::state::VenueTag::new("binance", "binance");
    let engine = Engine::open(
        EngineConfig {
            venues: vec![venue.clone()],
            state_dir: dir.path().to_path_buf(),
            durability: Durability::Process,
            max_accounts: 64,
            known_accounts: vec![],
        },
        clock,
        Arc::new(ArcSwap::from_pointee(rules)),
        prices.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let now = engine.now_ms();
    for i in 0..SYMBOLS {
        prices.update(
            &Symbol::new(&symbol(i)),
            Fixed::from_units(100),
            now + 3_600_000,
        );
    }
    let accounts: Vec<_> = (0..ACCOUNTS)
        .map(|i| {
            engine
                .account_for_key(format!("key{i}").as_bytes())
                .unwrap_or_else(|e| panic!("{e:?}"))
        })
        .collect();
    // A realistic book: a few resting orders per account.
    for (i, a) in accounts.iter().enumerate() {
        for j in 0..5 {
            let body = order_body(i * 5 + j + 1000);
            let p = Params::parse(None, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            engine
                .submit(
                    a,
                    &venue,
                    &parse_new_order(&p, false).unwrap_or_else(|e| panic!("{e:?}")),
                )
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
    }
    let test_orders: Vec<_> = (0..SYMBOLS)
        .map(|i| {
            let body = order_body(i);
            let p = Params::parse(None, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            parse_new_order(&p, true).unwrap_or_else(|e| panic!("{e:?}"))
        })
        .collect();
    let mut i = 0usize;
    c.bench_function("engine_check_full_no_reserve", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(
                engine
                    .submit(&accounts[i % ACCOUNTS], &venue, &test_orders[i % SYMBOLS])
                    .is_ok(),
            )
        })
    });

    let live_orders: Vec<_> = test_orders
        .iter()
        .map(|o| riskgate::model::NewOrder {
            test_only: false,
            client_order_id: None,
            ..o.clone()
        })
        .collect();
    let rejected = Learned {
        venue_rejected: true,
        ..Default::default()
    };
    c.bench_function("engine_reserve_journal_release", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let a = &accounts[i % ACCOUNTS];
            // A distinct quantity each time, so the duplicate-order rule stays quiet.
            let mut o = live_orders[i % SYMBOLS].clone();
            o.qty = Some(Fixed(1_000_000 + (i % 100_000) as i64));
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
        })
    });

    // One order's whole life as live mode sees it (no HTTP): its parameters
    // parsed, checked and reserved (journaled), the exchange's `NEW` answer
    // read and learned (journaled), then the cancel's answer read and learned
    // (journaled; the order leaves the book, so the book stays the same size).
    // Every order has its own `newClientOrderId`, so the remembered-id set
    // fills up to its bound and then evicts one id per order. The request
    // and answer texts are built outside the measurement (criterion's setup).
    let mut seq = 0u64;
    c.bench_function("engine_order_new_ack_cancel", |b| {
        b.iter_batched(
            || {
                seq += 1;
                let symbol = symbol((seq % SYMBOLS as u64) as usize);
                let cid = format!("life-{seq}");
                let order_id = 1_000_000 + seq;
                let qty = format!("1.{:05}", seq % 100_000);
                let body = format!(
                    "symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price=100.00\
                     &newClientOrderId={cid}&recvWindow=5000&timestamp=1700000000000\
                     &signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                );
                let ack = format!(
                    r#"{{"symbol":"{symbol}","orderId":{order_id},"orderListId":-1,"clientOrderId":"{cid}","transactTime":1700000000000,"price":"100.00","origQty":"{qty}","executedQty":"0.00000000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","workingTime":1700000000000,"selfTradePreventionMode":"EXPIRE_MAKER","fills":[]}}"#
                );
                let cancelled = format!(
                    r#"{{"symbol":"{symbol}","origClientOrderId":"{cid}","orderId":{order_id},"orderListId":-1,"clientOrderId":"c{cid}","transactTime":1700000000001,"price":"100.00","origQty":"{qty}","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY","selfTradePreventionMode":"NONE"}}"#
                );
                let cancel = Action::Cancel {
                    symbol: Symbol::new(&symbol),
                    order: OrderRef::ExchangeId(order_id as i64),
                };
                (seq, body, ack, cancelled, cancel)
            },
            |(seq, body, ack, cancelled, cancel)| {
                let a = &accounts[seq as usize % ACCOUNTS];
                let params = Params::parse(None, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
                let order = parse_new_order(&params, false).unwrap_or_else(|e| panic!("{e:?}"));
                let s = engine
                    .submit(a, &venue, &order)
                    .unwrap_or_else(|e| panic!("{e:?}"));
                let action = Action::NewOrder(order);
                let learned = learn::learn(&action, 200, ack.as_bytes());
                engine.learn(&venue, Some(a), &action, s.reservation, &learned, 0);
                let learned = learn::learn(&cancel, 200, cancelled.as_bytes());
                engine.learn(&venue, Some(a), &cancel, None, &learned, 0);
                black_box(learned.reports.len())
            },
            BatchSize::SmallInput,
        )
    });
}

/// One order's reservation record appended to a journal, by each I/O kind.
fn bench_journal(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let event = Event::TradingState {
        account: None,
        state: TradingState::Active,
        who: "bench".into(),
        // About the size of an order's reservation record (~300 bytes).
        why: "x".repeat(240),
        ts_ms: 1_764_000_000_000,
    };
    for io in [JournalIo::Write, JournalIo::Mapped] {
        let path = dir.path().join(format!("journal-{}.log", io.as_str()));
        let journal = Journal::open_with(&path, Durability::Process, io).expect("journal");
        assert_eq!(journal.io(), io, "this file system must support {io:?}");
        c.bench_function(&format!("journal_append_{}", io.as_str()), |b| {
            b.iter(|| journal.append(black_box(&event)).expect("append"))
        });
    }
}

criterion_group!(benches, bench, bench_journal);
criterion_main!(benches);
