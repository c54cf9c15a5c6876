//! Child processes (started, pinned, stopped) and CPU accounting from /proc.
//!
//! CPU of a process is utime + stime of the process and all its descendants
//! (`/proc/<pid>/stat`, all threads included), in clock ticks (10 ms on Linux);
//! per-core busy time comes from `/proc/stat`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Ticks per second of /proc CPU counters (USER_HZ).
pub fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// (ppid, utime + stime in ticks) of one process, or None if it is gone.
fn stat_of(pid: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some((
        f.get(1)?.parse().ok()?,
        f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
    ))
}

/// `pid` and all its descendants.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if let Some((ppid, _)) = stat_of(p) {
                    parent_of.push((p, ppid));
                }
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// CPU ticks used so far by `pid` and its descendants.
pub fn tree_cpu_ticks(pid: u32) -> u64 {
    process_tree(pid)
        .into_iter()
        .filter_map(stat_of)
        .map(|(_, t)| t)
        .sum()
}

/// Nanoseconds the threads of `pid` (alive now) spent runnable but waiting for a
/// CPU (`/proc/<pid>/task/*/schedstat`, second field).
pub fn own_run_delay_ns(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_ascii_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// `own_run_delay_ns` over `pid` and its descendants.
pub fn tree_run_delay_ns(pid: u32) -> u64 {
    process_tree(pid).into_iter().map(own_run_delay_ns).sum()
}

/// Busy and steal ticks of one core since boot (busy excludes idle, iowait and steal).
#[derive(Clone, Copy, Default, Debug)]
pub struct CoreTicks {
    pub busy: u64,
    pub steal: u64,
    pub total: u64,
}

pub fn core_ticks(core: usize) -> CoreTicks {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let name = format!("cpu{core}");
    let Some(line) = stat
        .lines()
        .find(|l| l.split_ascii_whitespace().next() == Some(name.as_str()))
    else {
        return CoreTicks::default();
    };
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let (idle, iowait, steal) = (get(3), get(4), get(7));
    let total: u64 = v.iter().take(8).sum();
    CoreTicks {
        busy: total - idle - iowait - steal,
        steal,
        total,
    }
}

/// CPU ticks used so far by `pid` alone (all its threads, not its children).
pub fn own_cpu_ticks(pid: u32) -> u64 {
    stat_of(pid).map_or(0, |(_, t)| t)
}

/// Sets the nice value of `pid` (processes it starts afterwards inherit it).
pub fn renice(pid: u32, nice: i32) -> Result<(), String> {
    let out = Command::new("renice")
        .args(["-n", &nice.to_string(), "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("renice: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Makes `pid` SCHED_FIFO at `priority` (processes it starts afterwards inherit it).
pub fn set_fifo(pid: u32, priority: u32) -> Result<(), String> {
    let out = Command::new("chrt")
        .args(["-f", "-p", &priority.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("chrt: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Pins every thread of `pid` (not its children) to `core`.
pub fn pin_process(pid: u32, core: usize) -> Result<(), String> {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    // A process that exited meanwhile is not an error.
    if !out.status.success() && Path::new(&format!("/proc/{pid}")).exists() {
        return Err(format!(
            "taskset -a -p -c {core} {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Pins every thread of `pid` and of its descendants to `core`.
pub fn pin_tree(pid: u32, core: usize) -> Result<(), String> {
    process_tree(pid)
        .into_iter()
        .try_for_each(|p| pin_process(p, core))
}

/// A free loopback port (bound then released; the tiny race is acceptable here).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Environment variables removed for every child (riskgate overrides, log level).
pub const ENV_CLEARED: [&str; 8] = [
    "MAX_DAILY_TRADES",
    "MAX_SINGLE_POSITION_PCT",
    "MAX_ORDER_SIZE_USD",
    "CIRCUIT_BREAKER_ENABLED",
    "LIVE_TRADING_ENABLED",
    "RISK_MANAGEMENT_ENABLED",
    "RISKGATE_CONFIG",
    "RUST_LOG",
];

/// A started child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Spawned {
    pub name: String,
    pub child: Child,
    /// Held open so a child watching its stdin (the mock) sees EOF when we go away.
    _stdin: Option<ChildStdin>,
}

impl Spawned {
    /// Starts `cmd` pinned to `core` with `taskset`, stdout/stderr to `log` (if any).
    pub fn start(
        name: &str,
        core: usize,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Result<Spawned, String> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(core.to_string()).arg(program).args(args);
        // riskgate reads these; the bench's config and rule files must be what counts.
        for k in ENV_CLEARED {
            cmd.env_remove(k);
        }
        cmd.envs(env.iter().copied());
        match log {
            Some(path) => {
                let f =
                    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
                cmd.stdout(f.try_clone().map_err(|e| e.to_string())?)
                    .stderr(f);
            }
            None => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdin = child.stdin.take();
        Ok(Spawned {
            name: name.to_string(),
            child,
            _stdin: stdin,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Reads the mock's `LISTENING <port>` line from its stdout.
    pub fn read_listening_port(&mut self) -> Result<u16, String> {
        let out = self.child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))
    }

    /// Waits until `addr` accepts connections, the process exits, or `timeout` passes.
    pub fn wait_listening(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before listening on {addr}",
                    self.name
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not listen on {addr} within {timeout:?}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        // `taskset` execs the program, so the child's pid is the program's pid.
        let pids = process_tree(self.pid());
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Descendants that outlived their parent (e.g. nginx workers), by their own pids.
        for p in pids.into_iter().skip(1) {
            if Path::new(&format!("/proc/{p}")).exists() {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(p.to_string())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
