//! End-to-end load benchmark: riskgate against plain nginx and haproxy reverse
//! proxies, in one run, on loopback (127.0.0.1 only).
//!
//! Run it with `benches/e2e.sh [--quick]` (or `cargo bench --bench e2e -- --help`).
//!
//! # What is measured
//! A closed-loop load of signed Binance orders (`POST /api/v3/order`, unique
//! `newClientOrderId`, HMAC-SHA256 `signature`, `X-MBX-APIKEY`) is sent over N
//! keep-alive connections to each target in turn:
//! - `direct`: the mock Binance upstream itself (the baseline);
//! - `riskgate`: `riskgate run` in live mode, one worker, in front of the mock;
//! - `nginx`: one worker, upstream keep-alive pool, no access log;
//! - `haproxy`: HTTP mode, one thread, keep-alive both sides.
//!
//! For every target and connection count: p50/p99 latency (HDR histogram of each
//! request's write-to-last-byte time), requests per second, and the CPU the proxy
//! process tree used (utime + stime from /proc) divided by the requests it served.
//! The mock's and the load generator's CPU per request are reported too, so the
//! share of "direct" that is the mock itself is visible.
//!
//! # Method (see also docs/perf-e2e.md and field notes §4)
//! - Interleaved, paired rounds: each round runs every target once per connection
//!   count, in an order rotated per round; figures are medians over rounds, and
//!   "added p50" is the median over rounds of (target p50 − direct p50 in the same
//!   round), so slow drifts of the machine cancel.
//! - Pinning (`taskset`), because on these 2-vCPU VMs a cross-core wake-up costs
//!   more than a whole proxy hop:
//!   - 1 connection ("same-core" layout): load generator, mock and proxy all on the
//!     proxy core. Latency is then the sum of the work on the path with no
//!     cross-core wake-ups, so added p50 is the proxy's own cost.
//!   - more connections ("split" layout): the proxy alone on the proxy core, load
//!     generator and mock on the load core. Throughput is then bounded by the proxy;
//!     a run where the load core was ≥ 90 % busy is flagged `load-bound` (the proxy
//!     may be faster than shown). `direct` in this layout shows the load side's
//!     ceiling.
//! - riskgate is restarted with an empty state dir for every run (open orders and
//!   daily counters start at zero); nginx and haproxy stay up and are re-pinned.
//! - Each run has a warm-up (answers checked, latency not recorded), then the
//!   measured window; CPU counters are read at the window's edges.
//! - Every answer is checked: non-2xx answers, `X-Riskgate-Decision: reject`, I/O
//!   errors and signatures the mock refused are counted and flag the run in the
//!   table; nothing is silently averaged in.
//! - CPU busy time of each used core that is not ours (other processes on the VM)
//!   and hypervisor steal are recorded per run; a run is flagged `noisy` when others
//!   used > 10 % of the proxy's core, or of the load core while the proxy was not
//!   the bottleneck. On a shared machine `--rt 10` (SCHED_FIFO for everything the
//!   bench starts, root) makes wake-ups preempt other work; without it, read the
//!   CPU-per-request columns, which hold up under noise.
//!
//! No timing assertions: this reports, it does not judge.

#[path = "e2e/loadgen.rs"]
mod loadgen;
#[path = "e2e/mock.rs"]
mod mock;
#[path = "e2e/procs.rs"]
mod procs;
#[path = "e2e/sign.rs"]
mod sign;
#[path = "e2e/targets.rs"]
mod targets;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;

use procs::{core_ticks, CoreTicks, Spawned};
use targets::Kind;

/// A run whose load core was busier than this is reported as load-bound.
const LOAD_BOUND_PCT: f64 = 90.0;
/// A run where other processes used more than this share of a used core is noisy.
const NOISY_PCT: f64 = 10.0;

#[derive(Parser, Debug, Clone, Serialize)]
#[command(about = "riskgate end-to-end load benchmark against nginx and haproxy (loopback only)")]
struct Args {
    /// Short run (~30 s): 2 rounds, 1 s windows.
    #[arg(long, env = "E2E_QUICK")]
    quick: bool,
    /// Rounds per target and connection count [default: 5, quick: 2].
    #[arg(long, env = "E2E_ROUNDS")]
    rounds: Option<usize>,
    /// Measured window per run, seconds [default: 3, quick: 1].
    #[arg(long, env = "E2E_DURATION_S")]
    duration_s: Option<f64>,
    /// Warm-up before each measured window, seconds [default: 0.5, quick: 0.25].
    #[arg(long, env = "E2E_WARMUP_S")]
    warmup_s: Option<f64>,
    /// Connection counts, comma-separated.
    #[arg(long, env = "E2E_CONNS", value_delimiter = ',', default_value = "1,32")]
    conns: Vec<usize>,
    /// Targets, comma-separated (direct is always run: it is the baseline).
    #[arg(
        long,
        env = "E2E_TARGETS",
        value_delimiter = ',',
        default_value = "direct,riskgate,nginx,haproxy"
    )]
    targets: Vec<String>,
    /// The mock skips the HMAC signature check (its cost is reported separately either way).
    #[arg(long, env = "E2E_NO_VERIFY")]
    no_verify: bool,
    /// Core for the load generator and the mock in the split layout.
    #[arg(long, env = "E2E_LOAD_CORE", default_value_t = 0)]
    load_core: usize,
    /// Core for the proxy under test (and for everything in the same-core layout).
    #[arg(long, env = "E2E_PROXY_CORE", default_value_t = 1)]
    proxy_core: usize,
    /// Runs with at most this many connections use the same-core layout.
    #[arg(long, env = "E2E_SAME_CORE_MAX_CONNS", default_value_t = 1)]
    same_core_max_conns: usize,
    /// Nice value for the bench and everything it starts (inherited), e.g. -10 on a
    /// machine shared with builds (negative values need root). 0 = leave as is.
    #[arg(
        long,
        env = "E2E_NICE",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    nice: i32,
    /// Real-time (SCHED_FIFO) priority for the bench and everything it starts, e.g. 10:
    /// wake-ups then preempt other processes at once, which a negative nice does not
    /// guarantee. Needs root; other work on the cores waits while a run is busy
    /// (the kernel keeps 5 % for it). 0 = off.
    #[arg(long, env = "E2E_RT", default_value_t = 0)]
    rt: u32,
    /// Stop starting runs after this many seconds (results so far are reported).
    #[arg(long, env = "E2E_BUDGET_S")]
    budget_s: Option<f64>,
    /// riskgate binary [default: target/release/riskgate].
    #[arg(long, env = "RISKGATE_BIN")]
    riskgate_bin: Option<PathBuf>,
    /// Where to write the JSON results [default: target/e2e-results.json].
    #[arg(long, env = "E2E_JSON")]
    json: Option<PathBuf>,
    /// Keep the temp dir (generated configs, logs) instead of deleting it.
    #[arg(long, env = "E2E_KEEP_TMP")]
    keep_tmp: bool,
    /// Internal: run as the mock upstream process.
    #[arg(long, hide = true)]
    mock_upstream: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Filters passed by `cargo bench`; ignored.
    #[arg(hide = true)]
    filters: Vec<String>,
}

/// Where each process runs for one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Layout {
    /// Load generator, mock and proxy on one core (latency: the proxy's own cost).
    SameCore,
    /// Proxy alone on its core; load generator and mock on the other (throughput).
    Split,
}

struct Cores {
    load: usize,
    mock: usize,
    proxy: usize,
}

impl Args {
    fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if self.quick { 2 } else { 5 }).max(1)
    }
    fn duration_s(&self) -> f64 {
        self.duration_s
            .unwrap_or(if self.quick { 1.0 } else { 3.0 })
    }
    fn warmup_s(&self) -> f64 {
        self.warmup_s.unwrap_or(if self.quick { 0.25 } else { 0.5 })
    }
    fn budget_s(&self) -> f64 {
        self.budget_s
            .unwrap_or(if self.quick { 60.0 } else { 240.0 })
    }
    fn layout(&self, conns: usize) -> Layout {
        if conns <= self.same_core_max_conns {
            Layout::SameCore
        } else {
            Layout::Split
        }
    }
    fn cores(&self, layout: Layout) -> Cores {
        match layout {
            Layout::SameCore => Cores {
                load: self.proxy_core,
                mock: self.proxy_core,
                proxy: self.proxy_core,
            },
            Layout::Split => Cores {
                load: self.load_core,
                mock: self.load_core,
                proxy: self.proxy_core,
            },
        }
    }
}

/// One target × connection count × round.
#[derive(Serialize, Clone, Debug)]
struct RunRecord {
    round: usize,
    target: Kind,
    conns: usize,
    layout: Layout,
    requests: u64,
    duration_s: f64,
    req_per_s: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    /// CPU of the proxy's process tree per measured request (None for direct).
    proxy_cpu_us_per_req: Option<f64>,
    mock_cpu_us_per_req: f64,
    load_cpu_us_per_req: f64,
    proxy_core_busy_pct: f64,
    load_core_busy_pct: f64,
    /// Busy time of the used cores not accounted to our processes (max over the
    /// used cores, and per core), and hypervisor steal.
    foreign_busy_pct: f64,
    foreign_by_core_pct: BTreeMap<usize, f64>,
    /// Time our runnable threads waited for a CPU (sum over threads) per second of
    /// run, in %: other work on our cores shows here, and so does our own
    /// processes queueing behind each other on a shared core.
    runq_wait_pct: f64,
    steal_pct: f64,
    ok_2xx: u64,
    non_2xx: u64,
    riskgate_rejects: u64,
    io_errors: u64,
    reconnects: u64,
    mock_bad_signature: u64,
    mock_refused_other: u64,
    first_problem: Option<String>,
    flags: Vec<String>,
}

/// Medians over rounds for one target × connection count.
#[derive(Serialize, Clone, Debug)]
struct Summary {
    target: Kind,
    conns: usize,
    layout: Layout,
    rounds: usize,
    p50_us: f64,
    p99_us: f64,
    /// Median over rounds of (p50 − direct p50 in the same round).
    added_p50_us: Option<f64>,
    added_p99_us: Option<f64>,
    req_per_s: f64,
    proxy_cpu_us_per_req: Option<f64>,
    /// Busy share of the proxy core (same-core layout: of the one core everything runs on).
    proxy_core_busy_pct: f64,
    mock_cpu_us_per_req: f64,
    load_cpu_us_per_req: f64,
    flags: Vec<String>,
}

#[derive(Serialize, Clone, Debug)]
struct Ratio {
    name: String,
    value: Option<f64>,
    note: String,
}

#[derive(Serialize)]
struct Report<'a> {
    command: String,
    args: &'a Args,
    rounds: usize,
    duration_s: f64,
    warmup_s: f64,
    machine: BTreeMap<&'static str, String>,
    versions: BTreeMap<&'static str, String>,
    calibration: BTreeMap<&'static str, f64>,
    skipped: BTreeMap<&'static str, String>,
    truncated: Option<String>,
    summary: &'a [Summary],
    ratios: &'a [Ratio],
    runs: &'a [RunRecord],
}

fn main() {
    let args = Args::parse();
    if args.mock_upstream {
        mock::run(!args.no_verify);
    }
    if let Err(e) = bench(args) {
        eprintln!("e2e: {e}");
        std::process::exit(1);
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The long-lived pieces of a bench run.
struct Setup {
    tmp: PathBuf,
    mock: Spawned,
    mock_addr: SocketAddr,
    nginx: Option<targets::Running>,
    haproxy: Option<targets::Running>,
    riskgate_bin: Option<PathBuf>,
    skipped: BTreeMap<&'static str, String>,
}

fn bench(args: Args) -> Result<(), String> {
    let started = Instant::now();
    let wanted: Vec<Kind> = {
        let mut v = vec![Kind::Direct];
        for t in &args.targets {
            let k = Kind::parse(t.trim()).ok_or_else(|| {
                format!("unknown target {t:?} (direct, riskgate, nginx, haproxy)")
            })?;
            if !v.contains(&k) {
                v.push(k);
            }
        }
        v
    };
    let cores_available = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.load_core.max(args.proxy_core) >= cores_available {
        return Err(format!(
            "cores {} and {} requested, {cores_available} available",
            args.load_core, args.proxy_core
        ));
    }
    if args.conns.is_empty() || args.conns.contains(&0) {
        return Err("--conns needs positive connection counts".into());
    }
    let tmp_dir = tempfile::Builder::new()
        .prefix("riskgate-e2e-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    // nginx workers drop privileges: let them traverse the dir.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp_dir.path(), std::fs::Permissions::from_mode(0o755));
    }
    let ticks_per_s = procs::clock_ticks_per_s();
    let self_pid = std::process::id();
    // Before anything is started: children inherit the nice value and the policy.
    if args.nice != 0 {
        if let Err(e) = procs::renice(self_pid, args.nice) {
            println!(
                "  WARNING: cannot set nice {}: {e} (running at the default priority)",
                args.nice
            );
        }
    }
    if args.rt != 0 {
        if let Err(e) = procs::set_fifo(self_pid, args.rt) {
            println!(
                "  WARNING: cannot set SCHED_FIFO {}: {e} (default policy)",
                args.rt
            );
        }
    }

    println!(
        "riskgate e2e bench: {} rounds x {:?} conns x {:?}",
        args.rounds(),
        args.conns,
        wanted.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
    println!(
        "  window {:.2} s + warm-up {:.2} s per run; mock signature check {}; budget {:.0} s; load core {}, proxy core {}; nice {}; rt {}",
        args.duration_s(),
        args.warmup_s(),
        if args.no_verify { "OFF" } else { "on" },
        args.budget_s(),
        args.load_core,
        args.proxy_core,
        args.nice,
        args.rt
    );

    // Calibration: what signing (load side) and verifying (mock side) cost per order.
    procs::pin_process(self_pid, args.load_core)?;
    let (sign_ns, verify_ns) = sign::measure_costs_ns(50_000);
    println!(
        "  HMAC-SHA256 per order: sign {:.2} us (load generator), verify {:.2} us (mock)",
        sign_ns / 1e3,
        verify_ns / 1e3
    );

    let mut setup = start_everything(&args, &wanted, tmp_dir.path())?;
    for (k, why) in &setup.skipped {
        println!("  SKIP {k}: {why}");
    }

    let mut runs: Vec<RunRecord> = Vec::new();
    let mut truncated = None;
    let per_run_s = args.duration_s() + args.warmup_s() + 0.3;
    let total_runs = args.rounds() * args.conns.len() * wanted.len();
    let mut run_index = 0usize;
    'rounds: for round in 0..args.rounds() {
        for &conns in &args.conns {
            let n = wanted.len();
            // Rotate the order per round so no target always runs first or last.
            for i in 0..n {
                let kind = wanted[(i + round) % n];
                if setup.skipped.contains_key(kind.name()) {
                    continue;
                }
                let elapsed = started.elapsed().as_secs_f64();
                if elapsed + per_run_s > args.budget_s() {
                    truncated = Some(format!(
                        "budget of {:.0} s reached after {run_index} of {total_runs} runs",
                        args.budget_s()
                    ));
                    break 'rounds;
                }
                run_index += 1;
                match one_run(
                    &args,
                    &mut setup,
                    kind,
                    conns,
                    round,
                    run_index,
                    ticks_per_s,
                ) {
                    Ok(r) => {
                        print_run(&r);
                        runs.push(r);
                    }
                    Err(why) => {
                        println!("  SKIP {} from now on: {why}", kind.name());
                        setup.skipped.insert(kind.name(), why);
                    }
                }
            }
        }
    }
    if let Some(t) = &truncated {
        println!("  TRUNCATED: {t}");
    }

    let summary = summarize(&runs, &wanted, &args);
    let ratios = ratios(&summary, &args);
    print_table(&summary, &ratios, &args, sign_ns, verify_ns, &setup.skipped);

    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        args: &args,
        rounds: args.rounds(),
        duration_s: args.duration_s(),
        warmup_s: args.warmup_s(),
        machine: machine_info(cores_available),
        versions: versions(&setup),
        calibration: BTreeMap::from([
            ("sign_ns_per_order", sign_ns),
            ("verify_ns_per_order", verify_ns),
            ("clock_ticks_per_s", ticks_per_s),
        ]),
        skipped: setup.skipped.clone(),
        truncated,
        summary: &summary,
        ratios: &ratios,
        runs: &runs,
    };
    let json_path = args
        .json
        .clone()
        .unwrap_or_else(|| manifest_dir().join("target").join("e2e-results.json"));
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    println!(
        "\nJSON: {}   (total {:.0} s)",
        json_path.display(),
        started.elapsed().as_secs_f64()
    );

    // Stop the proxies and the mock before the temp dir goes.
    drop(setup.nginx.take());
    drop(setup.haproxy.take());
    drop(setup);
    if args.keep_tmp {
        println!("temp dir kept: {}", tmp_dir.keep().display());
    }
    Ok(())
}

fn start_everything(args: &Args, wanted: &[Kind], tmp: &Path) -> Result<Setup, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut mock_args = vec!["--mock-upstream"];
    if args.no_verify {
        mock_args.push("--no-verify");
    }
    let mut mock = Spawned::start("mock", args.load_core, &exe, &mock_args, &[], None)?;
    let mock_addr = procs::loopback(mock.read_listening_port()?);
    let mut skipped = BTreeMap::new();
    let core = args.proxy_core;

    let mut start_proxy =
        |kind: Kind,
         start: fn(&Path, &Path, SocketAddr, usize) -> Result<targets::Running, String>| {
            if !wanted.contains(&kind) {
                return None;
            }
            let Some(program) = targets::find_program(kind.name()) else {
                skipped.insert(kind.name(), targets::install_hint(kind));
                return None;
            };
            match start(&program, tmp, mock_addr, core) {
                Ok(r) => Some(r),
                Err(e) => {
                    skipped.insert(kind.name(), format!("did not start: {e}"));
                    None
                }
            }
        };
    let nginx = start_proxy(Kind::Nginx, targets::start_nginx);
    let haproxy = start_proxy(Kind::Haproxy, targets::start_haproxy);

    let mut riskgate_bin = None;
    if wanted.contains(&Kind::Riskgate) {
        let bin = args
            .riskgate_bin
            .clone()
            .unwrap_or_else(|| manifest_dir().join("target/release/riskgate"));
        if !bin.is_file() {
            skipped.insert(
                "riskgate",
                format!(
                    "{} not found: build it with `cargo build --release` (benches/e2e.sh does)",
                    bin.display()
                ),
            );
        } else {
            if let Some(w) = stale_binary_warning(&bin) {
                println!("  WARNING: {w}");
            }
            riskgate_bin = Some(bin);
        }
    }
    let mut setup = Setup {
        tmp: tmp.to_path_buf(),
        mock,
        mock_addr,
        nginx,
        haproxy,
        riskgate_bin,
        skipped,
    };
    check_answers(mock_addr, "direct")
        .map_err(|e| format!("the mock does not answer as expected: {e}"))?;
    for kind in [Kind::Nginx, Kind::Haproxy] {
        let slot = match kind {
            Kind::Nginx => &mut setup.nginx,
            _ => &mut setup.haproxy,
        };
        if let Some(r) = slot {
            if let Err(e) = check_answers(r.addr, kind.name()) {
                setup
                    .skipped
                    .insert(kind.name(), format!("answers wrongly: {e}"));
                *slot = None;
            }
        }
    }
    if let Some(status) = setup.mock.exited() {
        return Err(format!("mock exited: {status}"));
    }
    Ok(setup)
}

/// A ticker read (so riskgate learns a price) and one order, which must be accepted
/// by the upstream: HTTP 2xx, no `X-Riskgate-Decision: reject`, an `orderId`.
fn check_answers(addr: SocketAddr, tag: &str) -> Result<(), String> {
    let (status, _, body) =
        loadgen::one_shot(addr, &loadgen::get_request("/api/v3/ticker/price", &addr))
            .map_err(|e| format!("GET ticker: {e}"))?;
    if status != 200 || !body.contains("BTCUSDT") {
        return Err(format!(
            "GET /api/v3/ticker/price: HTTP {status}: {}",
            first_chars(&body, 200)
        ));
    }
    let check_tag = format!(
        "chk{}{}",
        tag.chars().next().unwrap_or('x'),
        sign::now_ms() % 100_000_000
    );
    let (status, reject, body) =
        loadgen::one_shot(addr, &loadgen::one_order_request(&check_tag, &addr))
            .map_err(|e| format!("POST order: {e}"))?;
    if status != 200 || reject || !body.contains("\"orderId\"") {
        let who = if reject { " (riskgate rejection)" } else { "" };
        return Err(format!(
            "POST /api/v3/order: HTTP {status}{who}: {}",
            first_chars(&body, 300)
        ));
    }
    Ok(())
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Warns when sources are newer than the riskgate binary.
fn stale_binary_warning(bin: &Path) -> Option<String> {
    fn newest(dir: &Path) -> Option<std::time::SystemTime> {
        let mut best = None;
        for e in std::fs::read_dir(dir).ok()?.flatten() {
            let p = e.path();
            let t = if p.is_dir() {
                newest(&p)
            } else {
                e.metadata().ok()?.modified().ok()
            };
            best = best.max(t);
        }
        best
    }
    let built = std::fs::metadata(bin).ok()?.modified().ok()?;
    let src = newest(&manifest_dir().join("src"))?;
    (src > built).then(|| {
        format!(
            "{} is older than src/: rebuild with `cargo build --release`",
            bin.display()
        )
    })
}

#[derive(Clone, Copy)]
struct Snap {
    /// Run-queue wait of all our processes, ns.
    wait_ns: u64,
    load: u64,
    mock: u64,
    proxy: u64,
    cores: [CoreTicks; 2],
}

fn mock_stats(addr: SocketAddr) -> BTreeMap<String, u64> {
    loadgen::one_shot(addr, &loadgen::get_request("/__mock/stats", &addr))
        .ok()
        .and_then(|(_, _, body)| serde_json::from_str(&body).ok())
        .unwrap_or_default()
}

fn one_run(
    args: &Args,
    setup: &mut Setup,
    kind: Kind,
    conns: usize,
    round: usize,
    run_index: usize,
    ticks_per_s: f64,
) -> Result<RunRecord, String> {
    let layout = args.layout(conns);
    let cores = args.cores(layout);
    let self_pid = std::process::id();
    // This process's own threads only: its children (mock, proxies) are pinned separately.
    procs::pin_process(self_pid, cores.load)?;
    procs::pin_tree(setup.mock.pid(), cores.mock)?;

    // riskgate: a fresh process (and state dir) per run, stopped when this function
    // returns; nginx and haproxy stay up and are re-pinned.
    let mut _riskgate: Option<targets::Running> = None;
    let (addr, proxy_pid) = match kind {
        Kind::Direct => (setup.mock_addr, None),
        Kind::Nginx | Kind::Haproxy => {
            let r = if kind == Kind::Nginx {
                setup.nginx.as_ref()
            } else {
                setup.haproxy.as_ref()
            };
            let r = r.ok_or("not running")?;
            procs::pin_tree(r.process.pid(), cores.proxy)?;
            (r.addr, Some(r.process.pid()))
        }
        Kind::Riskgate => {
            let bin = setup.riskgate_bin.as_ref().ok_or("no binary")?;
            let r =
                targets::start_riskgate(bin, &setup.tmp, run_index, setup.mock_addr, cores.proxy)?;
            let log = setup.tmp.join(format!("riskgate-{run_index}/riskgate.log"));
            check_answers(r.addr, "riskgate").map_err(|e| {
                targets::with_log(
                    format!("riskgate answered, but not as a working proxy: {e}"),
                    &log,
                )
            })?;
            let out = (r.addr, Some(r.process.pid()));
            _riskgate = Some(r);
            out
        }
    };

    let mock_pid = setup.mock.pid();
    let snap = || Snap {
        wait_ns: procs::own_run_delay_ns(self_pid)
            + procs::tree_run_delay_ns(mock_pid)
            + proxy_pid.map_or(0, procs::tree_run_delay_ns),
        load: procs::own_cpu_ticks(self_pid),
        mock: procs::tree_cpu_ticks(mock_pid),
        proxy: proxy_pid.map_or(0, procs::tree_cpu_ticks),
        cores: [core_ticks(args.load_core), core_ticks(args.proxy_core)],
    };
    let stats_before = mock_stats(setup.mock_addr);
    let spec = loadgen::LoadSpec {
        addr,
        conns,
        warmup: Duration::from_secs_f64(args.warmup_s()),
        measure: Duration::from_secs_f64(args.duration_s()),
        tag: format!("e{}r{run_index}", sign::now_ms() % 1_000_000),
    };
    let mut snaps: Vec<Snap> = Vec::with_capacity(2);
    let load = loadgen::run(&spec, |_| snaps.push(snap()));
    let stats_after = mock_stats(setup.mock_addr);
    if let Some(status) = setup.mock.exited() {
        return Err(format!("the mock exited during the run: {status}"));
    }
    let [s0, s1] = [snaps[0], snaps[1]];

    let delta = |k: &str| {
        stats_after
            .get(k)
            .copied()
            .unwrap_or(0)
            .saturating_sub(stats_before.get(k).copied().unwrap_or(0))
    };
    let requests = load.measured_requests;
    let per_req_us = |ticks: u64| {
        if requests == 0 {
            0.0
        } else {
            ticks as f64 / ticks_per_s * 1e6 / requests as f64
        }
    };
    let wall_ticks = load.measured_s * ticks_per_s;
    let pct = |ticks: u64| ticks as f64 / wall_ticks * 100.0;
    let (load_ticks, mock_ticks, proxy_ticks) =
        (s1.load - s0.load, s1.mock - s0.mock, s1.proxy - s0.proxy);
    // Our CPU on each core, to find what others used there.
    let ours = |core: usize| -> u64 {
        let mut t = 0;
        if cores.load == core {
            t += load_ticks;
        }
        if cores.mock == core {
            t += mock_ticks;
        }
        if cores.proxy == core {
            t += proxy_ticks;
        }
        t
    };
    let used: Vec<usize> = match (layout, kind) {
        (Layout::SameCore, _) => vec![args.proxy_core],
        (Layout::Split, Kind::Direct) => vec![args.load_core],
        (Layout::Split, _) => vec![args.load_core, args.proxy_core],
    };
    let (mut foreign_pct, mut steal_pct) = (0.0f64, 0.0f64);
    let mut foreign_by_core = BTreeMap::new();
    for (slot, core) in [args.load_core, args.proxy_core].into_iter().enumerate() {
        if !used.contains(&core) {
            continue;
        }
        let (a, b) = (s0.cores[slot], s1.cores[slot]);
        let total = (b.total - a.total).max(1) as f64;
        let foreign = (b.busy - a.busy).saturating_sub(ours(core)) as f64;
        foreign_pct = foreign_pct.max(foreign / total * 100.0);
        foreign_by_core.insert(core, foreign / total * 100.0);
        steal_pct = steal_pct.max((b.steal - a.steal) as f64 / total * 100.0);
    }
    let h = &load.latency_ns;
    let q = |p: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(p) as f64 / 1e3
        }
    };
    let mut r = RunRecord {
        round,
        target: kind,
        conns,
        layout,
        requests,
        duration_s: load.measured_s,
        req_per_s: requests as f64 / load.measured_s,
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        p999_us: q(0.999),
        max_us: h.max() as f64 / 1e3,
        proxy_cpu_us_per_req: proxy_pid.map(|_| per_req_us(proxy_ticks)),
        mock_cpu_us_per_req: per_req_us(mock_ticks),
        load_cpu_us_per_req: per_req_us(load_ticks),
        proxy_core_busy_pct: if layout == Layout::Split {
            pct(proxy_ticks)
        } else {
            pct(load_ticks + mock_ticks + proxy_ticks)
        },
        load_core_busy_pct: pct(load_ticks + mock_ticks),
        foreign_busy_pct: foreign_pct,
        foreign_by_core_pct: foreign_by_core,
        runq_wait_pct: (s1.wait_ns - s0.wait_ns) as f64 / (load.measured_s * 1e9) * 100.0,
        steal_pct,
        ok_2xx: load.ok_2xx,
        non_2xx: load.non_2xx,
        riskgate_rejects: load.riskgate_rejects,
        io_errors: load.io_errors,
        reconnects: load.reconnects,
        mock_bad_signature: delta("bad_signature"),
        mock_refused_other: delta("bad_api_key") + delta("bad_timestamp") + delta("bad_request"),
        first_problem: load.first_problem,
        flags: Vec::new(),
    };
    r.flags = run_flags(&r, &cores);
    Ok(r)
}

fn run_flags(r: &RunRecord, cores: &Cores) -> Vec<String> {
    let mut f = Vec::new();
    if r.riskgate_rejects > 0 {
        f.push(format!("REJECTED:{}", r.riskgate_rejects));
    }
    if r.non_2xx > r.riskgate_rejects {
        f.push(format!("NON2XX:{}", r.non_2xx - r.riskgate_rejects));
    }
    if r.io_errors > 0 {
        f.push(format!("ERRORS:{}", r.io_errors));
    }
    if r.mock_bad_signature > 0 {
        f.push(format!("BAD-SIGNATURE:{}", r.mock_bad_signature));
    }
    if r.mock_refused_other > 0 {
        f.push(format!("MOCK-REFUSED:{}", r.mock_refused_other));
    }
    if r.requests == 0 {
        f.push("NO-REQUESTS".into());
    }
    if r.layout == Layout::Split
        && r.target != Kind::Direct
        && r.load_core_busy_pct >= LOAD_BOUND_PCT
    {
        f.push("load-bound".into());
    }
    // Other processes disturbed the run if they used the proxy's core, or the load
    // core while the proxy was not the bottleneck.
    let foreign = |core: usize| r.foreign_by_core_pct.get(&core).copied().unwrap_or(0.0);
    let proxy_core_foreign = foreign(cores.proxy);
    let load_core_foreign = if r.layout == Layout::Split && r.proxy_core_busy_pct < LOAD_BOUND_PCT {
        foreign(cores.load)
    } else {
        0.0
    };
    let disturbed = proxy_core_foreign.max(load_core_foreign);
    if disturbed > NOISY_PCT {
        f.push(format!("noisy:{disturbed:.0}%"));
    }
    f
}

fn print_run(r: &RunRecord) {
    let cpu = r
        .proxy_cpu_us_per_req
        .map_or("-".to_string(), |c| format!("{c:.1}"));
    println!(
        "  r{} {:>3}c {:<9} {:>8.0} req/s  p50 {:>7.1} us  p99 {:>8.1} us  cpu/req proxy {:>5} mock {:.1} load {:.1} us  busy {} foreign {}{}{}",
        r.round,
        r.conns,
        r.target.name(),
        r.req_per_s,
        r.p50_us,
        r.p99_us,
        cpu,
        r.mock_cpu_us_per_req,
        r.load_cpu_us_per_req,
        match r.layout {
            Layout::SameCore => format!("core {:.0}%", r.proxy_core_busy_pct),
            Layout::Split => format!("load core {:.0}% proxy core {:.0}%", r.load_core_busy_pct, r.proxy_core_busy_pct),
        },
        r.foreign_by_core_pct
            .iter()
            .map(|(c, p)| format!("cpu{c} {p:.0}%"))
            .collect::<Vec<_>>()
            .join(" "),
        if r.flags.is_empty() { String::new() } else { format!("  [{}]", r.flags.join(" ")) },
        r.first_problem.as_ref().map_or(String::new(), |p| format!("\n      first problem: {p}")),
    );
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn summarize(runs: &[RunRecord], wanted: &[Kind], args: &Args) -> Vec<Summary> {
    let mut out = Vec::new();
    for &conns in &args.conns {
        let direct: BTreeMap<usize, &RunRecord> = runs
            .iter()
            .filter(|r| r.target == Kind::Direct && r.conns == conns)
            .map(|r| (r.round, r))
            .collect();
        for &kind in wanted {
            let rs: Vec<&RunRecord> = runs
                .iter()
                .filter(|r| r.target == kind && r.conns == conns)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let col = |f: fn(&RunRecord) -> f64| {
                median(rs.iter().map(|r| f(r)).collect()).unwrap_or(f64::NAN)
            };
            // Added latency only means something where latency is the path's work (same-core,
            // one connection); with many connections it is queueing (conns / throughput).
            let layout = args.layout(conns);
            let paired = |f: fn(&RunRecord) -> f64| {
                (kind != Kind::Direct && layout == Layout::SameCore)
                    .then(|| {
                        median(
                            rs.iter()
                                .filter_map(|r| direct.get(&r.round).map(|d| f(r) - f(d)))
                                .collect(),
                        )
                    })
                    .flatten()
            };
            // Any flagged round flags the summary; `noisy` and `load-bound` are counted.
            let mut flags: BTreeMap<String, usize> = BTreeMap::new();
            for r in &rs {
                for f in &r.flags {
                    *flags
                        .entry(f.split(':').next().unwrap_or(f).to_string())
                        .or_default() += 1;
                }
            }
            out.push(Summary {
                target: kind,
                conns,
                layout,
                rounds: rs.len(),
                p50_us: col(|r| r.p50_us),
                p99_us: col(|r| r.p99_us),
                added_p50_us: paired(|r| r.p50_us),
                added_p99_us: paired(|r| r.p99_us),
                req_per_s: col(|r| r.req_per_s),
                proxy_cpu_us_per_req: median(
                    rs.iter().filter_map(|r| r.proxy_cpu_us_per_req).collect(),
                ),
                proxy_core_busy_pct: col(|r| r.proxy_core_busy_pct),
                mock_cpu_us_per_req: col(|r| r.mock_cpu_us_per_req),
                load_cpu_us_per_req: col(|r| r.load_cpu_us_per_req),
                flags: flags
                    .into_iter()
                    .map(|(f, n)| format!("{f}({n}/{})", rs.len()))
                    .collect(),
            });
        }
    }
    out
}

fn ratios(summary: &[Summary], args: &Args) -> Vec<Ratio> {
    let find = |k: Kind, c: usize| summary.iter().find(|s| s.target == k && s.conns == c);
    let lo = args.conns.iter().copied().min().unwrap_or(1);
    let hi = args.conns.iter().copied().max().unwrap_or(1);
    let mut out = Vec::new();
    for kind in [Kind::Riskgate, Kind::Haproxy] {
        if !summary.iter().any(|s| s.target == kind) {
            continue;
        }
        let name = kind.name();
        // A ratio built on flagged runs says so.
        let caveat = |c: usize| {
            let f: Vec<String> = [kind, Kind::Nginx]
                .iter()
                .filter_map(|&k| find(k, c))
                .flat_map(|s| {
                    s.flags
                        .iter()
                        .map(move |f| format!("{} {f}", s.target.name()))
                })
                .collect();
            if f.is_empty() {
                String::new()
            } else {
                format!("; flagged: {}", f.join(", "))
            }
        };
        let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        out.push(Ratio {
            name: format!("{name}/nginx added p50 @{lo}c"),
            value: div(
                find(kind, lo).and_then(|s| s.added_p50_us),
                find(Kind::Nginx, lo).and_then(|s| s.added_p50_us),
            ),
            note: format!(
                "lower is better; 1.0 = adds as much latency as nginx{}",
                caveat(lo)
            ),
        });
        out.push(Ratio {
            name: format!("{name}/nginx req/s @{hi}c"),
            value: div(
                find(kind, hi).map(|s| s.req_per_s),
                find(Kind::Nginx, hi).map(|s| s.req_per_s),
            ),
            note: format!("higher is better{}", caveat(hi)),
        });
        for &c in &args.conns {
            out.push(Ratio {
                name: format!("{name}/nginx CPU per request @{c}c"),
                value: div(
                    find(kind, c).and_then(|s| s.proxy_cpu_us_per_req),
                    find(Kind::Nginx, c).and_then(|s| s.proxy_cpu_us_per_req),
                ),
                note: format!("lower is better{}", caveat(c)),
            });
        }
    }
    out
}

fn print_table(
    summary: &[Summary],
    ratios: &[Ratio],
    args: &Args,
    sign_ns: f64,
    verify_ns: f64,
    skipped: &BTreeMap<&'static str, String>,
) {
    println!("\nMedians over rounds. +p50/+p99: paired with direct in the same round (same-core layout only).");
    println!("CPU columns: utime+stime per measured request, us; core_busy: the proxy's core (same-core: the shared core).");
    println!(
        "{:<9} {:>5} {:<9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9}  flags",
        "target",
        "conns",
        "layout",
        "rounds",
        "p50_us",
        "p99_us",
        "+p50_us",
        "+p99_us",
        "req/s",
        "proxy_cpu",
        "core_busy",
        "mock_cpu",
        "load_cpu"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    for s in summary {
        println!(
            "{:<9} {:>5} {:<9} {:>6} {:>9.1} {:>9.1} {:>9} {:>9} {:>9.0} {:>10} {:>9} {:>9.1} {:>9.1}  {}",
            s.target.name(),
            s.conns,
            match s.layout {
                Layout::SameCore => "same-core",
                Layout::Split => "split",
            },
            s.rounds,
            s.p50_us,
            s.p99_us,
            opt(s.added_p50_us),
            opt(s.added_p99_us),
            s.req_per_s,
            opt(s.proxy_cpu_us_per_req),
            if s.target == Kind::Direct && s.layout == Layout::Split {
                "-".to_string()
            } else {
                format!("{:.0}%", s.proxy_core_busy_pct)
            },
            s.mock_cpu_us_per_req,
            s.load_cpu_us_per_req,
            s.flags.join(" ")
        );
    }
    println!();
    for r in ratios {
        println!(
            "  {:<38} {:>7}   ({})",
            r.name,
            r.value.map_or("n/a".to_string(), |v| format!("{v:.2}x")),
            r.note
        );
    }
    if let Some(d) = summary.iter().find(|s| {
        s.target == Kind::Direct && s.conns == args.conns.iter().copied().min().unwrap_or(1)
    }) {
        println!(
            "  mock upstream: {:.1} us CPU per order (HMAC verify {:.2} us of it{}); load generator: {:.1} us per order (signing {:.2} us)",
            d.mock_cpu_us_per_req,
            verify_ns / 1e3,
            if args.no_verify { ", switched off in this run" } else { "" },
            d.load_cpu_us_per_req,
            sign_ns / 1e3
        );
    }
    for (k, why) in skipped {
        println!("  skipped {k}: {why}");
    }
    if args.rt == 0
        && summary
            .iter()
            .any(|s| s.flags.iter().any(|f| f.starts_with("noisy")))
    {
        println!(
            "  other processes disturbed some runs (noisy): on a shared machine rerun with --rt 10 (root)"
        );
    }
}

fn machine_info(cores: usize) -> BTreeMap<&'static str, String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .trim()
        .to_string();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string();
    BTreeMap::from([
        ("cpu_model", model),
        ("cores", cores.to_string()),
        ("kernel", kernel),
        ("loadavg_at_end", load),
    ])
}

fn versions(setup: &Setup) -> BTreeMap<&'static str, String> {
    let mut v = BTreeMap::new();
    if let Some(p) = targets::find_program("nginx") {
        v.insert("nginx", targets::version_of(&p, "-v"));
    }
    if let Some(p) = targets::find_program("haproxy") {
        v.insert("haproxy", targets::version_of(&p, "-v"));
    }
    if let Some(b) = &setup.riskgate_bin {
        // The binary's own version and build time, plus this checkout's HEAD when it
        // is the checkout's own build.
        let mut text = format!("{} {}", targets::version_of(b, "--version"), b.display());
        if let Ok(t) = std::fs::metadata(b).and_then(|m| m.modified()) {
            let age_s = t.elapsed().map_or(0, |d| d.as_secs());
            text.push_str(&format!(", built {age_s} s before the run"));
        }
        if b.starts_with(manifest_dir()) {
            let git = std::process::Command::new("git")
                .args([
                    "-C",
                    &manifest_dir().display().to_string(),
                    "rev-parse",
                    "--short",
                    "HEAD",
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            text.push_str(&format!(", checkout HEAD {git}"));
        }
        v.insert("riskgate", text);
    }
    v
}
