//! `riskgate`: CLI → config → app. See `lib.rs` for the crate map.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use riskgate::cli::{Cli, Command, DEFAULT_CONFIG};
use riskgate::clock::SystemClock;
use riskgate::config::{self, Env, Mode};
use riskgate::{app, rules, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run {
        config: DEFAULT_CONFIG.into(),
        i_am_sure: false,
    });
    match command {
        Command::Check { config } => check(&config),
        Command::Run { config, i_am_sure } => run(&config, i_am_sure),
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let env = Env::from_process();
    let cfg = match config::load(path, &env) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    match rules::file::load_dir(&cfg.rules_dir, &cfg.account_aliases(), &cfg.env, 1) {
        Ok(r) => {
            println!(
                "ok: {} ({} mode), {} rule file(s) in {}",
                path.display(),
                cfg.mode.as_str(),
                r.files.len(),
                cfg.rules_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &std::path::Path, i_am_sure: bool) -> ExitCode {
    telemetry::init_logging();
    let env = Env::from_process();
    let cfg = match config::load(path, &env) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let sure = i_am_sure
        || env
            .get("AM_I_SURE")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if cfg.mode == Mode::Live && !sure {
        eprintln!(
            "riskgate: refusing to start in LIVE mode: orders that pass will reach the real exchange.\n\
             Set AM_I_SURE=true or pass --i-am-sure if that is what you want."
        );
        return ExitCode::FAILURE;
    }
    let metrics = match telemetry::install_metrics() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("riskgate: cannot install metrics recorder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let running = match app::start(cfg, Arc::new(SystemClock), metrics) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("riskgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (name, addr) in &running.venue_addrs {
        println!("riskgate: venue {name} listening on http://{addr}");
    }
    println!("riskgate: admin listening on http://{}", running.admin_addr);
    wait_for_signals(&running);
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Blocks until SIGTERM or SIGINT; SIGHUP reloads the rules.
fn wait_for_signals(running: &app::RunningApp) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("riskgate: cannot wait for signals: {e}");
            return;
        }
    };
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("riskgate: cannot install signal handlers");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    if running.reload.send(tx).await.is_ok() {
                        let _ = rx.await;
                    }
                }
            }
        }
    });
}
