//! Durability across `kill -9`, with the real binary in live mode in front of
//! the signature-checking mock: daily counts, halts and orders in flight survive
//! a crash exactly; a torn journal tail is cut and the rest recovered; and every
//! order the exchange received is counted after restart (journal before forward).

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use riskgate::model::Fixed;
use support::*;

/// Open rules except for the daily trade limit.
fn rules_with_daily_limit(n: u32) -> String {
    OPEN_RULES.replace(
        "max_daily_trades = 1000000",
        &format!("max_daily_trades = {n}"),
    )
}

fn mock() -> MockBinance {
    MockBinance::start_with(MockOptions {
        system_clock: true,
        starting_balances: vec![("USDT".into(), Fixed::from_units(100_000_000))],
        ..Default::default()
    })
}

/// A resting LIMIT BUY 10 % under the market; `i` makes the quantity (and so
/// the duplicate-order fingerprint) unique.
fn order(mock: &MockBinance, i: usize) -> RawRequest {
    let px = mock.market.read().price("BTCUSDT").expect("price").to_f64();
    SignedRequest::new("POST", "/api/v3/order")
        .param("symbol", "BTCUSDT")
        .param("side", "BUY")
        .param("type", "LIMIT")
        .param("timeInForce", "GTC")
        .param("quantity", &format!("0.0{:04}", 1000 + i))
        .param("price", &format!("{:.2}", px * 0.9))
        .in_body()
        .build()
}

struct Setup {
    mock: MockBinance,
    dir: ProcessDir,
    /// Keeps the state directory alive across restarts.
    _state: tempfile::TempDir,
    starts: usize,
}

impl Setup {
    fn new(rules: &str, limits_extra: &str) -> Setup {
        Setup::with_top(rules, limits_extra, "")
    }

    fn with_top(rules: &str, limits_extra: &str, config_top: &str) -> Setup {
        let mock = mock();
        let state = tempfile::tempdir().expect("state tempdir");
        let dir = ProcessDir::new(&GatewayOptions {
            mode: "live",
            upstream: Some(mock.base_url()),
            rules: vec![("limits.toml".into(), rules.into())],
            limits_extra: limits_extra.into(),
            config_top: config_top.into(),
            state_dir: Some(state.path().join("state")),
            ..Default::default()
        });
        Setup {
            mock,
            dir,
            _state: state,
            starts: 0,
        }
    }

    fn start(&mut self) -> Riskgate {
        self.starts += 1;
        let mut cmd = self.dir.command();
        cmd.env("AM_I_SURE", "true");
        let log: PathBuf = self
            .dir
            .dir
            .path()
            .join(format!("stderr-{}.log", self.starts));
        let rg = Riskgate::spawn(cmd, &log);
        rg.wait_ready();
        rg
    }
}

fn account(status: &serde_json::Value) -> &serde_json::Value {
    let accounts = status["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1, "one account expected: {status}");
    &accounts[0]
}

fn daily_used(status: &serde_json::Value) -> u64 {
    account(status)["limits"]["max_daily_trades"]["used"]
        .as_u64()
        .unwrap_or_else(|| panic!("no daily count in {status}"))
}

fn open_order_count(status: &serde_json::Value) -> u64 {
    account(status)["open_order_count"].as_u64().expect("count")
}

fn assert_refused_by(resp: &RawResponse, rule: &str) {
    assert_eq!(resp.status, 400, "{}", resp.body_text());
    assert_eq!(resp.header("x-riskgate-decision"), Some("reject"));
    assert_eq!(resp.header("x-riskgate-rule"), Some(rule));
    let j = resp.json();
    assert_eq!(j["code"], -2010);
    assert!(
        j["msg"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("riskgate: {rule}: ")),
        "{j}"
    );
}

fn place_accepted(rg: &Riskgate, mock: &MockBinance, from: usize, n: usize) {
    for i in from..from + n {
        let r = rg.send(&order(mock, i));
        assert_eq!(r.status, 200, "order {i}: {}", r.body_text());
        assert_eq!(r.header("x-riskgate-decision"), Some("accept"));
    }
}

#[test]
fn daily_count_and_halt_survive_kill_9_exactly() {
    daily_count_and_halt_survive_kill_9(Setup::new(&rules_with_daily_limit(3), ""));
}

#[test]
fn daily_count_and_halt_survive_kill_9_with_fsync_durability() {
    daily_count_and_halt_survive_kill_9(Setup::with_top(
        &rules_with_daily_limit(3),
        "",
        "durability = \"fsync\"",
    ));
}

fn daily_count_and_halt_survive_kill_9(mut s: Setup) {
    const N: usize = 3;
    let mut rg = s.start();
    place_accepted(&rg, &s.mock, 0, N);
    let before = rg.status();
    assert_eq!(daily_used(&before), N as u64);
    assert_eq!(open_order_count(&before), N as u64);
    let halt = rg.admin("POST", "/v1/halt?reason=restart-test");
    assert_eq!(halt.status, 200, "{}", halt.body_text());
    assert_eq!(rg.status()["global"]["state"], "halted");
    rg.kill9();

    let rg = s.start();
    let after = rg.status();
    assert_eq!(daily_used(&after), N as u64, "{after}");
    assert_eq!(open_order_count(&after), N as u64, "{after}");
    assert_eq!(after["global"]["state"], "halted", "{after}");
    assert_eq!(after["global"]["why"], "restart-test");
    // The orders resting on the exchange are the same ones, with their ids.
    let ids: Vec<_> = account(&after)["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["exchange_order_id"].as_i64().expect("exchange id kept"))
        .collect();
    assert_eq!(ids.len(), N);

    let sent_before = s.mock.requests_to("/api/v3/order").len();
    assert_refused_by(&rg.send(&order(&s.mock, 100)), "trading_halted");
    let resume = rg.admin("POST", "/v1/resume?reason=done");
    assert_eq!(resume.status, 200, "{}", resume.body_text());
    // The daily limit is N and N were accepted before the crash.
    assert_refused_by(&rg.send(&order(&s.mock, 101)), "max_daily_trades");
    assert_eq!(
        s.mock.requests_to("/api/v3/order").len(),
        sent_before,
        "refused orders must not reach the exchange"
    );
    assert_eq!(rg.status()["global"]["state"], "active");
}

#[test]
fn resume_survives_kill_9_too() {
    let mut s = Setup::new(OPEN_RULES, "");
    let mut rg = s.start();
    assert_eq!(rg.admin("POST", "/v1/halt").status, 200);
    assert_eq!(rg.admin("POST", "/v1/resume").status, 200);
    rg.kill9();
    let rg = s.start();
    assert_eq!(rg.status()["global"]["state"], "active");
    place_accepted(&rg, &s.mock, 0, 1);
}

#[test]
fn torn_journal_tail_is_cut_and_the_rest_recovered() {
    const N: usize = 2;
    let mut s = Setup::new(&rules_with_daily_limit(N as u32 + 1), "");
    let mut rg = s.start();
    place_accepted(&rg, &s.mock, 0, N);
    assert_eq!(rg.admin("POST", "/v1/halt?reason=torn").status, 200);
    rg.kill9();

    // A crash in mid-write: half a record, then garbage without a newline.
    let journal = s.dir.journal();
    let intact = std::fs::read(&journal).expect("journal");
    let mut torn = intact.clone();
    torn.extend_from_slice(b"0badc0de {\"reserved\":{\"account\":1,\"reserv");
    torn.extend_from_slice(&[0xff, 0x00, 0x17, b'\n', b'x', b'y']);
    std::fs::write(&journal, &torn).expect("write torn journal");

    let mut rg = s.start();
    let st = rg.status();
    assert_eq!(daily_used(&st), N as u64, "{st}");
    assert_eq!(open_order_count(&st), N as u64, "{st}");
    assert_eq!(st["global"]["state"], "halted");
    assert!(
        rg.logs().contains("torn tail"),
        "the cut is logged: {}",
        rg.logs()
    );
    let now = std::fs::read(&journal).expect("journal");
    assert!(
        !now.windows(8).any(|w| w == b"0badc0de"),
        "the torn tail is gone from the journal"
    );
    // The journal is appendable again: a change after recovery survives the next crash.
    assert_eq!(rg.admin("POST", "/v1/resume").status, 200);
    place_accepted(&rg, &s.mock, 10, 1);
    assert_refused_by(&rg.send(&order(&s.mock, 11)), "max_daily_trades");
    rg.kill9();
    let rg = s.start();
    let st = rg.status();
    assert_eq!(daily_used(&st), N as u64 + 1, "{st}");
    assert_eq!(st["global"]["state"], "active");
}

#[test]
fn a_corrupt_record_in_the_middle_keeps_everything_before_it() {
    let mut s = Setup::new(OPEN_RULES, "");
    let mut rg = s.start();
    place_accepted(&rg, &s.mock, 0, 2);
    rg.kill9();
    // Flip one byte in the last record: its checksum fails, so it and anything
    // after it are cut; everything before it is kept.
    let journal = s.dir.journal();
    let mut bytes = std::fs::read(&journal).expect("journal");
    let lines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    assert!(lines.len() >= 2, "journal has records");
    let last_start = lines[lines.len() - 2] + 1;
    bytes[last_start + 12] ^= 0x01;
    std::fs::write(&journal, &bytes).expect("write");
    let rg = s.start();
    let used = daily_used(&rg.status());
    assert!(
        (1..=2).contains(&used),
        "records before the corrupt one are kept (used {used})"
    );
}

#[test]
fn kill_9_while_orders_stream_in_loses_no_order_the_exchange_received() {
    let mut s = Setup::new(OPEN_RULES, "");
    let mut rg = s.start();
    let addr = rg.addr;
    let accepted = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let requests: Vec<RawRequest> = (0..3000).map(|i| order(&s.mock, i)).collect();
    let sender = {
        let (accepted, attempts, stop) = (accepted.clone(), attempts.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut other = Vec::new();
            for req in &requests {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                attempts.fetch_add(1, Ordering::SeqCst);
                match send(addr, req) {
                    Ok(r)
                        if r.header("x-riskgate-decision") == Some("accept") && r.status == 200 =>
                    {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => other.push(format!("{} {}", r.status, r.body_text())),
                    Err(_) => break, // the process is gone
                }
            }
            other
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "orders are not being accepted");
        std::thread::sleep(Duration::from_millis(2));
    }
    rg.kill9();
    stop.store(true, Ordering::SeqCst);
    let other = sender.join().expect("sender thread");
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    let answered = accepted.load(Ordering::SeqCst) as u64;
    let attempted = attempts.load(Ordering::SeqCst) as u64;
    let received = s.mock.requests_to("/api/v3/order").len() as u64;

    let rg = s.start();
    let st = rg.status();
    let used = daily_used(&st);
    // Journal before forward: every order the exchange received is counted.
    assert!(
        used >= received,
        "exchange received {received} orders but only {used} are counted after restart"
    );
    assert!(used >= answered, "{used} counted < {answered} answered");
    // One sender, so at most one order can be journaled and not yet forwarded.
    assert!(
        used <= received + 1,
        "{used} counted but the exchange received {received}"
    );
    assert!(used <= attempted, "{used} counted > {attempted} sent");
    // Every counted order is still counted as open (they rest on the book).
    assert_eq!(open_order_count(&st), used, "{st}");
}

#[test]
fn an_order_in_flight_at_kill_9_is_unknown_after_restart_and_settled_by_open_orders() {
    // A long response timeout, so the kill lands before riskgate gives up on the answer.
    let mut s = Setup::new(OPEN_RULES, "upstream_response_timeout_s = 120\n");
    let mut rg = s.start();
    s.mock
        .control
        .hang_next(Some("/api/v3/order"), FaultWhen::BeforeExecuting);
    let req = order(&s.mock, 0);
    let addr = rg.addr;
    let client = std::thread::spawn(move || send(addr, &req));
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.mock.requests_to("/api/v3/order").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the order never reached the mock"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    rg.kill9();
    assert!(
        client.join().unwrap().is_err(),
        "the bot got no answer: the process died"
    );

    let rg = s.start();
    let st = rg.status();
    assert_eq!(daily_used(&st), 1);
    assert_eq!(open_order_count(&st), 1, "{st}");
    // Nothing is in flight after a restart: the order's outcome is unknown.
    let o = &account(&st)["open_orders"][0];
    assert_eq!(o["phase"], "unknown", "{st}");
    assert_eq!(account(&st)["unknown_outcome_orders"], 1);

    // The exchange never executed it (the fault hit before executing); its
    // open-orders answer, read through riskgate, settles the order.
    let list = rg.send(
        &SignedRequest::new("GET", "/api/v3/openOrders")
            .param("symbol", "BTCUSDT")
            .build(),
    );
    assert_eq!(list.status, 200, "{}", list.body_text());
    assert_eq!(list.json(), serde_json::json!([]));
    let st = rg.status();
    assert_eq!(open_order_count(&st), 0, "settled: {st}");
    assert_eq!(daily_used(&st), 1, "the daily count never goes down");
}
