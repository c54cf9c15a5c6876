//! riskgate as a real subprocess (`CARGO_BIN_EXE_riskgate`), for tests that need
//! a process boundary: `kill -9`, SIGTERM, exit codes, start-up refusals.
//!
//! The config comes from `config_text` with port 0; the bound ports are read
//! from the binary's stdout lines (`riskgate: venue binance listening on
//! http://ADDR`, `riskgate: admin listening on http://ADDR`). Stderr (logs) goes
//! to a file in the test's directory and is quoted when something fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::gateway::{config_text, GatewayOptions};
use super::mock_binance::{send, RawRequest, RawResponse};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Environment variables riskgate reads; cleared so the test's own environment cannot leak in.
const RISKGATE_ENV: &[&str] = &[
    "AM_I_SURE",
    "LIVE_TRADING_ENABLED",
    "RISK_MANAGEMENT_ENABLED",
    "MAX_ORDER_SIZE_USD",
    "MAX_SINGLE_POSITION_PCT",
    "MAX_DAILY_TRADES",
    "CIRCUIT_BREAKER_ENABLED",
    "RISKGATE_CONFIG",
    "RISKGATE_ADMIN_TOKEN",
    "RISKGATE_LOG_FORMAT",
];

/// A directory with a config file, a rules directory and a state directory.
pub struct ProcessDir {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub rules_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl ProcessDir {
    /// Writes `opts` (rules and config, ports 0) into a fresh temp directory.
    pub fn new(opts: &GatewayOptions) -> ProcessDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir_all(&rules_dir).expect("rules dir");
        for (name, text) in &opts.rules {
            std::fs::write(rules_dir.join(name), text).expect("write rules");
        }
        let state_dir = opts
            .state_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("state"));
        let config = dir.path().join("riskgate.toml");
        std::fs::write(&config, config_text(opts, &rules_dir, &state_dir, 0, 0))
            .expect("write config");
        ProcessDir {
            dir,
            config,
            rules_dir,
            state_dir,
        }
    }

    pub fn journal(&self) -> PathBuf {
        self.state_dir.join("journal.log")
    }

    /// `riskgate run --config <config>` with a clean environment and the admin token set.
    pub fn command(&self) -> Command {
        let mut cmd = riskgate_command();
        cmd.arg("run").arg("--config").arg(&self.config);
        cmd.env("RISKGATE_ADMIN_TOKEN", ADMIN_TOKEN);
        cmd
    }
}

/// The riskgate binary with riskgate's environment variables removed.
pub fn riskgate_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_riskgate"));
    for v in RISKGATE_ENV {
        cmd.env_remove(v);
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// A running riskgate process. Dropping it kills the process.
pub struct Riskgate {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub stderr_path: PathBuf,
    exited: Option<ExitStatus>,
}

impl Riskgate {
    /// Spawns `cmd` and waits (bounded) for both "listening on" lines.
    pub fn spawn(mut cmd: Command, stderr_path: &Path) -> Riskgate {
        let stderr = std::fs::File::create(stderr_path).expect("stderr file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd.spawn().expect("spawn riskgate");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut addr, mut admin) = (None, None);
        while addr.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    panic!(
                        "riskgate did not print its addresses (exit {status:?}); stderr:\n{}",
                        std::fs::read_to_string(stderr_path).unwrap_or_default()
                    );
                }
            };
            let parse = |l: &str| -> Option<SocketAddr> {
                l.rsplit("http://")
                    .next()
                    .and_then(|a| a.trim().parse().ok())
            };
            if line.starts_with("riskgate: venue binance listening on ") {
                addr = parse(&line);
            } else if line.starts_with("riskgate: admin listening on ") {
                admin = parse(&line);
            }
        }
        Riskgate {
            child,
            addr: addr.expect("venue addr"),
            admin: admin.expect("admin addr"),
            stderr_path: stderr_path.to_path_buf(),
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `kill -9`: `Child::kill` sends SIGKILL.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.exited = Some(self.child.wait().expect("wait after SIGKILL"));
    }

    /// Sends SIGTERM with `kill -TERM <pid>`.
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(s);
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "riskgate did not exit within {limit:?}; stderr:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn send(&self, req: &RawRequest) -> RawResponse {
        send(self.addr, req).unwrap_or_else(|e| panic!("send: {e}\nstderr:\n{}", self.logs()))
    }

    pub fn admin(&self, method: &str, target: &str) -> RawResponse {
        let req = RawRequest::new(method, target)
            .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
        send(self.admin, &req).unwrap_or_else(|e| panic!("admin: {e}\nstderr:\n{}", self.logs()))
    }

    pub fn status(&self) -> serde_json::Value {
        self.admin("GET", "/v1/status").json()
    }

    /// Waits (bounded) until `/readyz` answers 200 (fresh reference prices).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = send(self.admin, &RawRequest::new("GET", "/readyz")) {
                if r.status == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "riskgate never became ready; stderr:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Riskgate {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` to completion (bounded) and returns (status, stdout, stderr).
pub fn run_to_exit(mut cmd: Command, limit: Duration) -> (ExitStatus, String, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn riskgate");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("riskgate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (
        status,
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
    )
}
